import CofferModel
import CofferRules
@testable import CofferPlatform
import CofferTestSupport

/// Seeded mutations of the reference world and the shipped manifests: what users do to them, and what
/// happens to the platform behind their back.
struct Mutations {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func pick<T>(_ choices: [T]) -> T { choices[Int(generator.next() % UInt64(choices.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { generator.next() % 100 < percent }

    static let vaults = ["rsv-prod-eastus", "rsv-prod-westeurope", "rsv-other"]
    static let policies = ["daily-standard-eastus", "hourly-enhanced-eastus", "daily-standard-westeurope", "hourly-enhanced-westeurope"]
    static let vms = ["win-app-01", "lnx-db-01", "lnx-web-01", "win-cmk-01"]
    /// Every Azure region the platform knows, and one it does not.
    static let regions = Regions.names + ["marsnorth"]

    /// One to four mutations.
    mutating func make() -> [PlanTruth.Mutation] {
        (0..<(1 + Int(generator.next() % 4))).map { _ in one() }
    }

    mutating func one() -> PlanTruth.Mutation {
        switch generator.next() % 20 {
        case 0:
            let vm = pick(Self.vms), vault = pick(Self.vaults), policy = pick(Self.policies)
            return .init(description: "protect \(vm) in \(vault) with \(policy)") { resources in
                Self.edit(&resources, .protectedVM, vm) { spec in
                    guard case .protectedVM(var protected) = spec else { return }
                    protected.vault = vault
                    protected.policy = policy
                    spec = .protectedVM(protected)
                }
            }
        case 1:
            let vm = pick(Self.vms), policy = pick(Self.policies)
            return .init(description: "move \(vm) to policy \(policy)") { resources in
                Self.edit(&resources, .protectedVM, vm) { spec in
                    guard case .protectedVM(var protected) = spec else { return }
                    protected.policy = policy
                    spec = .protectedVM(protected)
                }
            }
        case 2:
            let index = Int(generator.next() % 64)
            return .init(description: "remove resource #\(index) and prune", manifests: { resources in
                guard !resources.isEmpty else { return }
                resources.remove(at: index % resources.count)
            }, prune: true)
        case 3:
            let vault = pick(Self.vaults), crr = chance(50), redundancy = pick(StorageRedundancy.allCases)
            return .init(description: "vault \(vault): crossRegionRestore \(crr), \(redundancy.rawValue)") { resources in
                Self.vault(&resources, vault) { $0.crossRegionRestore = crr; $0.storageRedundancy = redundancy }
            }
        case 4:
            let vault = pick(Self.vaults), immutability = pick(Immutability.allCases), state = pick(SoftDeleteState.allCases)
            let days = pick([13, 14, 30, 180, 181])
            return .init(description: "vault \(vault): immutability \(immutability.rawValue), soft delete \(state.rawValue) \(days) days") { resources in
                Self.vault(&resources, vault) { $0.immutability = immutability; $0.softDeleteState = state; $0.softDeleteRetentionDays = days }
            }
        case 5:
            let vault = pick(Self.vaults), region = pick(Self.regions), group = pick(["rg-backup-eastus", "rg-backup-westeurope", "rg-missing"])
            return .init(description: "vault \(vault) in \(region), resource group \(group)") { resources in
                Self.vault(&resources, vault) { $0.location = region; $0.resourceGroup = group }
            }
        case 6:
            let vault = pick(Self.vaults), keyVault = pick(["kv-app-eastus", "kv-app-westeurope", "kv-missing"])
            let key = pick(["kek-win-app-01", "des-key-cmk", "no-such-key"]), identity = chance(80)
            return .init(description: "vault \(vault): customer key \(keyVault)/\(key), identity \(identity)") { resources in
                Self.vault(&resources, vault) {
                    $0.systemAssignedIdentity = identity
                    $0.encryption = VaultEncryption(keyVault: keyVault, key: key)
                }
            }
        case 7:
            let policy = pick(Self.policies), type = pick(PolicyType.allCases), days = pick([0, 1, 2, 5, 6, 7, 30, 31])
            return .init(description: "policy \(policy): \(type.rawValue), instant restore \(days) days") { resources in
                Self.policy(&resources, policy) { $0.policyType = type; $0.instantRestoreRetentionDays = days }
            }
        case 8:
            let policy = pick(Self.policies), tier = pick(RetentionTier.allCases)
            let limit = PolicyLimits.retention(tier)
            let count = pick([limit.counts.lowerBound - 1, limit.counts.lowerBound, 10, limit.counts.upperBound, limit.counts.upperBound + 1])
            return .init(description: "policy \(policy): \(tier.rawValue) retention \(count)") { resources in
                Self.policy(&resources, policy) { spec in
                    switch tier {
                    case .daily: if spec.retention.daily != nil { spec.retention.daily?.count = count }
                    case .weekly: if spec.retention.weekly != nil { spec.retention.weekly?.count = count }
                    case .monthly: if spec.retention.monthly != nil { spec.retention.monthly?.count = count }
                    case .yearly: if spec.retention.yearly != nil { spec.retention.yearly?.count = count }
                    }
                }
            }
        case 9:
            let policy = pick(Self.policies), zone = pick(["UTC", "W. Australia Standard Time", "Israel Standard Time", "Mars Standard Time"])
            let time = pick(["02:00", "02:30", "02:15"]), interval = pick([3, 4, 6, 12, 13]), duration = pick([3, 4, 12, 24, 25])
            return .init(description: "policy \(policy): \(zone) at \(time), every \(interval) h for \(duration) h when hourly") { resources in
                Self.policy(&resources, policy) { spec in
                    spec.timeZone = zone
                    spec.schedule.time = TimeOfDay(parsing: time)!
                    if spec.schedule.frequency == .hourly {
                        spec.schedule.hourInterval = interval
                        spec.schedule.hourDuration = duration
                    }
                }
            }
        case 10:
            let vm = pick(Self.vms), luns = pick([[0], [1], [7]]), exclude = chance(50)
            let state = pick(ProtectionState.allCases), deletion = pick(DeletionPolicy.allCases)
            return .init(description: "\(vm): \(exclude ? "exclude" : "include") \(luns), \(state.rawValue), \(deletion.rawValue)") { resources in
                Self.edit(&resources, .protectedVM, vm) { spec in
                    guard case .protectedVM(var protected) = spec else { return }
                    if exclude { protected.excludeDiskLuns = luns } else { protected.includeDiskLuns = luns }
                    protected.protectionState = state
                    protected.deletionPolicy = deletion
                    spec = .protectedVM(protected)
                }
            }
        case 11:
            let keys = pick([[], [KeyPermission.get, .list, .backup], [.get]])
            let secrets = pick([[], [SecretPermission.get, .list, .backup], [.get, .list]])
            return .init(description: "access policy: keys \(keys.map(\.rawValue)), secrets \(secrets.map(\.rawValue))") { resources in
                for index in resources.indices {
                    guard case .keyVaultAccessPolicy(var access) = resources[index].spec else { continue }
                    access.keyPermissions = keys
                    access.secretPermissions = secrets
                    resources[index].spec = .keyVaultAccessPolicy(access)
                }
            }
        case 12:
            let vm = pick(Self.vms), state = pick([World.AgentState.stopped, .absent])
            return .init(description: "out of band: agent of \(vm) \(state.rawValue)", platform: { try $0.setAgentState(vm: vm, state) })
        case 13:
            let vm = pick(["win-app-01", "lnx-db-01"]), key = chance(50)
            return .init(description: "out of band: delete the \(key ? "KEK" : "BEK secret") of \(vm)", platform: { platform in
                let vmFacts = try platform.pool.read { db in try Platform.virtualMachineFacts(Lookup(db), try Platform.vm(db, vm)) }
                guard let keyVault = vmFacts.keyVault else { return }
                if key, let kek = vmFacts.kek { try platform.deleteKey(keyVault: keyVault, name: kek) }
                if !key, let secret = vmFacts.bekSecret { try platform.deleteSecret(keyVault: keyVault, name: secret) }
            })
        case 14:
            let keyVault = pick(["kv-app-eastus", "kv-app-westeurope"]), principal = pick(["bms", "des"])
            return .init(description: "out of band: remove the \(principal) access on \(keyVault)", platform: { platform in
                if principal == "bms" {
                    try platform.removeAccessPolicy(keyVault: keyVault, principal: .backupManagementService)
                } else {
                    for policy in try platform.accessPolicies() where policy.keyVault == keyVault && policy.principalName?.hasPrefix("disk encryption set") == true {
                        try platform.removeAccessPolicy(keyVault: keyVault, principal: .objectID(policy.objectID))
                    }
                }
            })
        case 16:
            let policy = pick(["daily-standard-eastus", "hourly-enhanced-eastus", "DefaultPolicy", "EnhancedPolicy"])
            return .init(description: "protect lnx-api-01 (RBAC key vault) in rsv-prod-eastus with \(policy)") { resources in
                Self.add(
                    &resources, .protectedVM, "lnx-api-01",
                    .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app-eastus", name: "lnx-api-01"), vault: "rsv-prod-eastus", policy: policy)))
            }
        case 17:
            let keyVault = pick(["kv-rbac-eastus", "kv-app-eastus"])
            let role = pick(["Key Vault Administrator", "Key Vault Secrets User", "Key Vault Reader", "No Such Role"])
            return .init(description: "assign \(role) to the Backup Management Service on \(keyVault)") { resources in
                Self.add(
                    &resources, .keyVaultRoleAssignment, "backup-role",
                    .keyVaultRoleAssignment(KeyVaultRoleAssignmentSpec(keyVault: keyVault, principal: .backupManagementService, role: role)))
            }
        case 18:
            // The manifests still declare the VM: the plan recovers the soft-deleted item (a rehydrate).
            let vm = pick(Self.vms)
            return .init(description: "out of band: stop protection of \(vm) and delete its data (soft delete)", platform: { platform in
                try platform.deleteProtection(vm: vm)
            })
        case 19:
            // Compute refuses it for a VM that a Standard policy protects; the plan must then catch a move
            // (or a protection) of the VM under a Standard policy.
            let vm = pick(Self.vms + ["lnx-api-01"])
            return .init(description: "out of band: \(vm) becomes a Trusted Launch VM", platform: { try $0.setSecurityType(vm: vm, .trustedLaunch) })
        default:
            let vault = pick(Self.vaults)
            return .init(description: "add vault \(vault) if missing") { resources in
                guard !resources.contains(where: { $0.address == ResourceAddress(kind: .recoveryServicesVault, name: vault) }) else { return }
                resources.append(
                    DesiredResource(
                        address: ResourceAddress(kind: .recoveryServicesVault, name: vault),
                        spec: .vault(VaultSpec(resourceGroup: "rg-backup-eastus", location: "eastus"))))
            }
        }
    }

    static func add(_ resources: inout [DesiredResource], _ kind: ResourceKind, _ name: String, _ spec: ResourceSpec) {
        let address = ResourceAddress(kind: kind, name: name)
        resources.removeAll { $0.address == address }
        resources.append(DesiredResource(address: address, spec: spec))
    }

    static func edit(_ resources: inout [DesiredResource], _ kind: ResourceKind, _ name: String, _ change: (inout ResourceSpec) -> Void) {
        guard let index = resources.firstIndex(where: { $0.address == ResourceAddress(kind: kind, name: name) }) else { return }
        change(&resources[index].spec)
    }

    static func vault(_ resources: inout [DesiredResource], _ name: String, _ change: @escaping (inout VaultSpec) -> Void) {
        edit(&resources, .recoveryServicesVault, name) { spec in
            guard case .vault(var vault) = spec else { return }
            change(&vault)
            spec = .vault(vault)
        }
    }

    static func policy(_ resources: inout [DesiredResource], _ name: String, _ change: @escaping (inout BackupPolicySpec) -> Void) {
        edit(&resources, .backupPolicy, name) { spec in
            guard case .backupPolicy(var policy) = spec else { return }
            change(&policy)
            spec = .backupPolicy(policy)
        }
    }
}
