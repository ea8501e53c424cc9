import CofferModel
import CofferRules

/// The plan played forward on what refresh observed, step by step in the order apply runs it, calling the
/// service's rules (CofferRules) at each step on the platform as the earlier steps leave it, and then the
/// backup rules on every VM the plan leaves protected. What a rule refuses becomes an error at the manifest
/// line the step comes from, with the service's code: the apply, or tonight's backup, would fail there.
///
/// It knows what refresh read: the declared and owned resources, the VMs the manifests protect and those
/// whose disk keys live in a key vault the plan touches, those key vaults, the resource groups of new vaults
/// and the regions on offer. The causes no plan can know are in the README ("What the plan cannot know").
struct PlanSimulation {
    struct Vault {
        var name: String
        var spec: VaultSpec
        /// The subscription segment of the vault's id, to compare with a VM's.
        var subscriptionID: String
        var items: Int
        var identity: String?
    }

    struct Policy {
        var name: String
        var spec: BackupPolicySpec
        /// Items under the policy (protected, pending or suspended).
        var users: Int
        var knownUsers: Set<String>
    }

    struct Item {
        var vm: String
        var vault: String
        var policy: String?
        var status: ProtectionStatus
        var recoveryPoints: Int
        var exclude: [Int]
        var include: [Int]

        var isActive: Bool { status == .protected || status == .irPending || status == .backupsSuspended }
        var backsUp: Bool { status == .protected || status == .irPending }
    }

    private(set) var vaults: [String: Vault] = [:]
    private(set) var policies: [String: Policy] = [:]
    private(set) var items: [String: Item] = [:]
    private(set) var machines: [String: VirtualMachineFacts] = [:]
    private(set) var keyVaults: [String: KeyVaultFacts] = [:]
    let observed: ObservedState
    private var diagnostics: [Diagnostic] = []
    private let declared: [ResourceAddress: DesiredResource]
    /// Where each owned resource was last declared (`InventoryEntry.provenance`).
    private let provenance: [ResourceAddress: String]

    private static func key(_ name: String) -> String { name.lowercased() }
    private static func key(_ vault: String, _ policy: String) -> String { vault.lowercased() + "\u{1}" + policy.lowercased() }

    init(desired: DesiredState, observed: ObservedState, provenance: [ResourceAddress: String] = [:]) {
        self.observed = observed
        self.provenance = provenance
        declared = Dictionary(desired.resources.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        for facts in observed.virtualMachines.values { machines[Self.key(facts.reference.name)] = facts }
        for facts in observed.keyVaults.values { keyVaults[Self.key(facts.name)] = facts }
        for (address, resource) in observed.byAddress {
            switch resource.spec {
            case .vault(let spec):
                let id = observed.ids[address] ?? resource.id
                vaults[Self.key(resource.name)] = Vault(
                    name: resource.name, spec: spec, subscriptionID: PlanChecks.subscriptionSegment(of: id) ?? "",
                    items: resource.status.vault?.registeredItems ?? 0, identity: resource.status.vault?.identityPrincipalID)
            case .backupPolicy(let spec):
                policies[Self.key(spec.vault, resource.name)] = Policy(
                    name: resource.name, spec: spec, users: resource.status.backupPolicy?.protectedItems ?? 0, knownUsers: [])
            case .protectedVM(let spec):
                let status = resource.status.protectedVM
                items[Self.key(spec.vm.name)] = Item(
                    vm: spec.vm.name, vault: spec.vault, policy: spec.policy, status: status?.protectionStatus ?? .protected,
                    recoveryPoints: status?.recoveryPoints ?? 0, exclude: spec.excludeDiskLuns, include: spec.includeDiskLuns)
            case .keyVaultAccessPolicy, .keyVaultRoleAssignment:
                break
            }
        }
        // The vaults' default policies that protected VMs name without declaring them.
        for resource in observed.vaultDefaultPolicies {
            guard case .backupPolicy(let spec) = resource.spec, policies[Self.key(spec.vault, resource.name)] == nil else { continue }
            policies[Self.key(spec.vault, resource.name)] = Policy(
                name: resource.name, spec: spec, users: resource.status.backupPolicy?.protectedItems ?? 0, knownUsers: [])
        }
        // Items of VMs that refresh read facts for but that no declared or owned resource covers.
        for facts in observed.virtualMachines.values {
            guard let protection = facts.protection, items[Self.key(facts.reference.name)] == nil else { continue }
            items[Self.key(facts.reference.name)] = Item(
                vm: facts.reference.name, vault: protection.vault, policy: protection.policy, status: protection.status,
                recoveryPoints: protection.recoveryPoints, exclude: [], include: [])
        }
        for item in items.values where item.isActive {
            if let policy = item.policy { policies[Self.key(item.vault, policy)]?.knownUsers.insert(Self.key(item.vm)) }
        }
    }

    /// Plays `changes` forward and returns the errors (and warnings) the rules give.
    static func check(
        desired: DesiredState, observed: ObservedState, changes: [ResourceChange], provenance: [ResourceAddress: String] = [:]
    ) -> [Diagnostic] {
        var simulation = PlanSimulation(desired: desired, observed: observed, provenance: provenance)
        let before = simulation.backupFailures()
        for change in changes where change.action != .noOp {
            simulation.play(change)
        }
        simulation.checkBackups(failingBefore: before)
        return simulation.diagnostics
    }

    // MARK: Steps

    private mutating func play(_ change: ResourceChange) {
        let address = change.address
        switch change.action {
        case .noOp:
            return
        case .create:
            guard let spec = change.spec else { return }
            create(address, spec)
        case .update:
            guard let spec = change.spec, let current = observed.byAddress[address]?.spec else { return }
            update(address, from: current, to: spec)
        case .replace:
            guard let spec = change.spec, let current = observed.byAddress[address]?.spec else { return }
            let policy: DeletionPolicy = if case .protectedVM(let old) = current { old.deletionPolicy } else { .retain }
            if let violation = delete(address, current, deletionPolicy: policy) {
                report(
                    violation, at: address, field: change.replacePaths.first.map { "spec.\($0)" },
                    summary: "\(address): replacing it (\(change.replacePaths.joined(separator: ", ")) cannot change in place) deletes it first, which fails: \(violation.message)",
                    hint: replacementHint(address, current: current, wanted: spec, violation: violation))
                return
            }
            create(address, spec)
        case .delete:
            guard let current = observed.byAddress[address]?.spec else { return }
            if let violation = delete(address, current, deletionPolicy: change.deletionPolicy ?? .retain) {
                // A resource that left the manifests has no line left: the summary names where it was.
                let was = declared[address] == nil ? provenance[address].map { " (declared at \($0), removed since)" } ?? "" : ""
                report(violation, at: address, field: nil, summary: "\(address)\(was): deleting it fails: \(violation.message)", hint: violation.hint)
            }
        }
    }

    private mutating func create(_ address: ResourceAddress, _ spec: ResourceSpec) {
        switch spec {
        case .vault(let vault):
            var violations = VaultRules.create(vault)
            let group = ResourceGroupReference(subscription: vault.subscription, name: vault.resourceGroup)
            violations += VaultRules.placement(
                subscription: vault.subscription ?? "the default subscription", resourceGroup: vault.resourceGroup, region: vault.location,
                resourceGroupExists: observed.resourceGroups[group] ?? true, availableRegions: observed.regions ?? [vault.location.lowercased()])
            if let encryption = vault.encryption {
                violations += VaultRules.customerKey(encryption, vaultRegion: vault.location, keyVault: keyVaults[Self.key(encryption.keyVault)])
            }
            report(violations, at: address)
            let id = observed.ids[address] ?? ""
            vaults[Self.key(address.name)] = Vault(
                name: address.name, spec: vault, subscriptionID: PlanChecks.subscriptionSegment(of: id) ?? "", items: 0, identity: nil)
            // The service makes a new vault's default policies with it.
            for policy in DefaultPolicies.all {
                policies[Self.key(address.name, policy.name)] = Policy(name: policy.name, spec: policy.spec(in: address.name), users: 0, knownUsers: [])
            }
        case .backupPolicy(let policy):
            policies[Self.key(policy.vault, address.name)] = Policy(name: address.name, spec: policy, users: 0, knownUsers: [])
        case .keyVaultAccessPolicy(let access):
            grant(access)
        case .keyVaultRoleAssignment(let assignment):
            assign(assignment)
        case .protectedVM(let protected):
            protect(address, protected)
        }
    }

    private mutating func update(_ address: ResourceAddress, from current: ResourceSpec, to spec: ResourceSpec) {
        switch (current, spec) {
        case (.vault(let old), .vault(let new)):
            guard var vault = vaults[Self.key(address.name)] else { return }
            var violations = VaultRules.update(name: vault.name, from: old, to: new, registeredItems: vault.items)
            if let encryption = new.encryption, encryption != old.encryption {
                violations += VaultRules.customerKey(encryption, vaultRegion: new.location, keyVault: keyVaults[Self.key(encryption.keyVault)])
            }
            report(violations, at: address)
            vault.spec = new
            if !new.systemAssignedIdentity { vault.identity = nil }
            vaults[Self.key(address.name)] = vault
        case (.backupPolicy(let old), .backupPolicy(let new)):
            let immutability = vaults[Self.key(new.vault)]?.spec.immutability ?? .disabled
            report(BackupPolicyRules.update(name: address.name, from: old, to: new, vaultImmutability: immutability), at: address)
            policies[Self.key(new.vault, address.name)]?.spec = new
        case (.keyVaultAccessPolicy, .keyVaultAccessPolicy(let new)):
            grant(new)
        case (.keyVaultRoleAssignment(let old), .keyVaultRoleAssignment(let new)):
            unassign(old)
            assign(new)
        case (.protectedVM, .protectedVM(let new)):
            changeProtection(address, to: new)
        default:
            return
        }
    }

    /// The rule a delete breaks, if any; otherwise the state without the resource.
    private mutating func delete(_ address: ResourceAddress, _ current: ResourceSpec, deletionPolicy: DeletionPolicy) -> RuleViolation? {
        switch current {
        case .vault:
            guard let vault = vaults[Self.key(address.name)] else { return nil }
            if let violation = VaultRules.delete(name: vault.name, registeredItems: vault.items) { return violation }
            vaults[Self.key(address.name)] = nil
            policies = policies.filter { $0.value.spec.vault.lowercased() != address.name.lowercased() }
        case .backupPolicy(let spec):
            guard let policy = policies[Self.key(spec.vault, address.name)] else { return nil }
            if policy.users > 0 {
                let users = policy.knownUsers.count == policy.users
                    ? policy.knownUsers.compactMap { items[$0]?.vm } : ["\(policy.users) item(s)"]
                return BackupPolicyRules.delete(name: policy.name, users: users)
            }
            policies[Self.key(spec.vault, address.name)] = nil
        case .keyVaultAccessPolicy(let access):
            guard var keyVault = keyVaults[Self.key(access.keyVault)] else { return nil }
            let objectID = keyVault.objectID(of: access.principal)
            keyVault.accessPolicies.removeAll { $0.objectID.lowercased() == objectID.lowercased() }
            keyVaults[Self.key(access.keyVault)] = keyVault
        case .keyVaultRoleAssignment(let assignment):
            unassign(assignment)
        case .protectedVM(let spec):
            guard var item = items[Self.key(spec.vm.name)], item.status != .softDeleted else { return nil }
            let vault = vaults[Self.key(item.vault)]
            switch deletionPolicy {
            case .retain:
                if item.status != .protectionStopped { release(&item) }
                item.status = .protectionStopped
            case .delete:
                if let violation = ProtectionRules.deleteData(
                    vm: item.vm, vault: item.vault, vaultImmutability: vault?.spec.immutability ?? .disabled,
                    recoveryPoints: item.recoveryPoints)
                {
                    return violation
                }
                if item.isActive { release(&item) }
                item.status = .softDeleted
            }
            items[Self.key(spec.vm.name)] = item
        }
        return nil
    }

    /// An item leaves its policy (stopped or deleted): the policy may be deleted once it has no users.
    private mutating func release(_ item: inout Item) {
        guard let name = item.policy, var policy = policies[Self.key(item.vault, name)] else { return }
        policy.users = max(0, policy.users - 1)
        policy.knownUsers.remove(Self.key(item.vm))
        policies[Self.key(item.vault, name)] = policy
    }

    private mutating func use(_ vault: String, _ name: String, vm: String) {
        guard var policy = policies[Self.key(vault, name)] else { return }
        if !policy.knownUsers.contains(Self.key(vm)) {
            policy.users += 1
            policy.knownUsers.insert(Self.key(vm))
        }
        policies[Self.key(vault, name)] = policy
    }

    private mutating func grant(_ access: KeyVaultAccessPolicySpec) {
        guard var keyVault = keyVaults[Self.key(access.keyVault)] else { return }
        let objectID = keyVault.objectID(of: access.principal)
        keyVault.accessPolicies.removeAll { $0.objectID.lowercased() == objectID.lowercased() }
        keyVault.accessPolicies.append(
            .init(objectID: objectID, keyPermissions: access.keyPermissions, secretPermissions: access.secretPermissions))
        keyVaults[Self.key(access.keyVault)] = keyVault
    }

    private mutating func assign(_ assignment: KeyVaultRoleAssignmentSpec) {
        guard var keyVault = keyVaults[Self.key(assignment.keyVault)], let role = keyVault.roleDefinition(assignment.role) else { return }
        let objectID = keyVault.objectID(of: assignment.principal)
        keyVault.roleAssignments.removeAll { $0.objectID.lowercased() == objectID.lowercased() && $0.role.id == role.id }
        keyVault.roleAssignments.append(.init(objectID: objectID, role: role))
        keyVaults[Self.key(assignment.keyVault)] = keyVault
    }

    private mutating func unassign(_ assignment: KeyVaultRoleAssignmentSpec) {
        guard var keyVault = keyVaults[Self.key(assignment.keyVault)], let role = keyVault.roleDefinition(assignment.role) else { return }
        let objectID = keyVault.objectID(of: assignment.principal)
        keyVault.roleAssignments.removeAll { $0.objectID.lowercased() == objectID.lowercased() && $0.role.id == role.id }
        keyVaults[Self.key(assignment.keyVault)] = keyVault
    }

    private mutating func protect(_ address: ResourceAddress, _ spec: ProtectedVMSpec) {
        guard let vm = machines[Self.key(spec.vm.name)] else { return }  // VMNotFound, from PlanChecks
        guard let vault = vaults[Self.key(spec.vault)] else {
            report(
                [RuleViolation(ServiceCode.resourceNotFound, "there is no vault '\(spec.vault)'", hint: "declare the vault, or check its name", field: "spec.vault")],
                at: address)
            return
        }
        let policy = policies[Self.key(spec.vault, spec.policy)]
        if policy == nil {
            report(
                [RuleViolation(ServiceCode.resourceNotFound, "vault '\(vault.name)' has no policy '\(spec.policy)'", hint: "declare the policy, or check its name", field: "spec.policy")],
                at: address)
        }
        var violations = ProtectionRules.enable(
            vm: vm, vmSubscription: PlanChecks.subscriptionSegment(of: vm.id) ?? vm.subscription, vault: vault.name,
            vaultSubscription: vault.subscriptionID.isEmpty ? (vault.spec.subscription ?? vm.subscription) : vault.subscriptionID,
            vaultRegion: vault.spec.location, vaultItems: vault.items, vaultSubscriptionName: vault.spec.subscription)
        if let policy {
            violations += ProtectionRules.diskSelection(
                vm: vm, policyType: policy.spec.policyType, exclude: spec.excludeDiskLuns, include: spec.includeDiskLuns)
            if let violation = ProtectionRules.securityType(vm: vm, policyType: policy.spec.policyType, policyName: policy.name) {
                violations.append(violation)
            }
        }
        if spec.protectionState == .backupsSuspended {
            violations += ProtectionRules.suspend(
                vm: vm.reference.name, vault: vault.name, vaultImmutability: vault.spec.immutability, status: .protected)
        }
        report(violations, at: address)
        let recovered = items[Self.key(spec.vm.name)].map { $0.status == .softDeleted && $0.vault.lowercased() == vault.name.lowercased() } ?? false
        if !recovered { vaults[Self.key(spec.vault)]?.items += 1 }
        // A member of the key vault's tenant has the platform grant the Backup Management Service its access
        // policy; on a key vault that uses Azure RBAC nothing is granted.
        if observed.operatorGrantsKeyVaultAccess, vm.encryption.isADE, let name = vm.keyVault, var keyVault = keyVaults[Self.key(name)],
            keyVault.permissionModel == .accessPolicies
        {
            let need = KeyVaultAccessRules.backupRequirement(for: vm.encryption)
            let id = keyVault.backupManagementServiceObjectID
            var entry = keyVault.accessPolicy(of: id) ?? .init(objectID: id, keyPermissions: [], secretPermissions: [])
            entry.keyPermissions = Array(Set(entry.keyPermissions).union(need.keys)).sorted { $0.rawValue < $1.rawValue }
            entry.secretPermissions = Array(Set(entry.secretPermissions).union(need.secrets)).sorted { $0.rawValue < $1.rawValue }
            keyVault.accessPolicies.removeAll { $0.objectID.lowercased() == id.lowercased() }
            keyVault.accessPolicies.append(entry)
            keyVaults[Self.key(name)] = keyVault
        }
        let status: ProtectionStatus = switch spec.protectionState {
        case .protected: .irPending
        case .protectionStopped: .protectionStopped
        case .backupsSuspended: .backupsSuspended
        }
        let previous = items[Self.key(spec.vm.name)]
        items[Self.key(spec.vm.name)] = Item(
            vm: vm.reference.name, vault: vault.name, policy: spec.policy, status: status,
            recoveryPoints: recovered ? previous?.recoveryPoints ?? 0 : 0, exclude: spec.excludeDiskLuns, include: spec.includeDiskLuns)
        if status != .protectionStopped { use(vault.name, spec.policy, vm: vm.reference.name) }
    }

    private mutating func changeProtection(_ address: ResourceAddress, to new: ProtectedVMSpec) {
        guard var item = items[Self.key(new.vm.name)], let vm = machines[Self.key(new.vm.name)] else { return }
        let vault = vaults[Self.key(item.vault)]
        let immutability = vault?.spec.immutability ?? .disabled
        var violations: [RuleViolation] = []
        let newPolicy = policies[Self.key(item.vault, new.policy)]
        if let newPolicy, item.policy?.lowercased() != new.policy.lowercased() {
            let oldPolicy = item.policy.flatMap { policies[Self.key(item.vault, $0)]?.spec }
            violations += ProtectionRules.changePolicy(
                vm: item.vm, from: oldPolicy, to: newPolicy.spec, named: newPolicy.name, vaultImmutability: immutability)
        }
        if let newPolicy {
            violations += ProtectionRules.diskSelection(
                vm: vm, policyType: newPolicy.spec.policyType, exclude: new.excludeDiskLuns, include: new.includeDiskLuns)
            // Checked whenever the item's policy is set: a new one, or the one a stopped protection resumes with.
            let policyChanges = item.policy?.lowercased() != new.policy.lowercased()
            let resumes = new.protectionState == .protected && (item.status == .protectionStopped || item.status == .backupsSuspended)
            if policyChanges || resumes,
                let violation = ProtectionRules.securityType(vm: vm, policyType: newPolicy.spec.policyType, policyName: newPolicy.name)
            {
                violations.append(violation)
            }
        }
        if new.protectionState == .backupsSuspended && item.status != .backupsSuspended {
            // A protection stopped for ever is resumed first by the providers when the spec asks for it.
            violations += ProtectionRules.suspend(
                vm: item.vm, vault: item.vault, vaultImmutability: immutability, status: item.status == .protectionStopped ? .protected : item.status)
        }
        report(violations, at: address)
        if item.isActive { release(&item) }
        item.policy = new.policy
        item.exclude = new.excludeDiskLuns
        item.include = new.includeDiskLuns
        item.status = switch new.protectionState {
        case .protected: item.recoveryPoints > 0 ? .protected : .irPending
        case .protectionStopped: .protectionStopped
        case .backupsSuspended: .backupsSuspended
        }
        items[Self.key(new.vm.name)] = item
        if item.isActive { use(item.vault, new.policy, vm: item.vm) }
    }

    // MARK: Backups

    /// The first rule the next backup of each VM the state protects breaks, by VM.
    private func backupFailures() -> [String: RuleViolation] {
        var failures: [String: RuleViolation] = [:]
        for (key, item) in items where item.backsUp {
            guard let vm = machines[key] else { continue }
            if let violation = backupViolations(vm, item).first { failures[key] = violation }
        }
        return failures
    }

    private func backupViolations(_ vm: VirtualMachineFacts, _ item: Item) -> [RuleViolation] {
        var violations = BackupRules.preconditions(
            vm: vm, keyVault: vm.keyVault.flatMap { keyVaults[Self.key($0)] },
            diskEncryptionSetKeyVault: vm.diskEncryptionSet.flatMap { keyVaults[Self.key($0.keyVault)] })
        if let policy = item.policy.flatMap({ policies[Self.key(item.vault, $0)] }) {
            violations += ProtectionRules.diskSelection(vm: vm, policyType: policy.spec.policyType, exclude: item.exclude, include: item.include)
        }
        if let vault = vaults[Self.key(item.vault)], let encryption = vault.spec.encryption,
            let violation = BackupRules.vaultKey(
                vault: vault.name, encryption: encryption, identity: vault.identity, keyVault: keyVaults[Self.key(encryption.keyVault)])
        {
            violations.append(violation)
        }
        return violations
    }

    /// Every VM the plan leaves protected backs up: a failure is an error at its ProtectedVM when the
    /// manifests declare it; a VM the manifests do not declare is an error when the plan breaks its backups
    /// and a warning when they fail already.
    private mutating func checkBackups(failingBefore: [String: RuleViolation]) {
        for (key, item) in items.sorted(by: { $0.key < $1.key }) where item.backsUp {
            guard let vm = machines[key] else { continue }
            let violations = backupViolations(vm, item)
            guard let first = violations.first else { continue }
            let address = ResourceAddress(kind: .protectedVM, name: item.vm)
            let declaredAddress = declared.keys.first { address in
                if case .protectedVM(let spec)? = declared[address]?.spec { return spec.vm.name.lowercased() == key }
                return false
            }
            if let declaredAddress {
                // A rule the step that protects the VM broke already is reported once, at that step.
                let reported = Set(diagnostics.filter { $0.summary.hasPrefix("\(declaredAddress):") }.map(\.code))
                for violation in violations where !reported.contains(violation.code) {
                    report(
                        violation, at: declaredAddress, field: violation.field,
                        summary: "\(declaredAddress): backups of \(vm.reference.name) will fail: \(violation.message)", hint: violation.hint)
                }
            } else if failingBefore[key] == nil {
                report(
                    first, at: address, field: nil,
                    summary: "backups of VM \(vm.reference.name) (vault '\(item.vault)', not in these manifests) will fail after this plan: \(first.message)",
                    hint: first.hint)
            } else {
                diagnostics.append(
                    Diagnostic(
                        severity: .warning, code: first.code,
                        summary: "backups of VM \(vm.reference.name) (vault '\(item.vault)', not in these manifests) fail: \(first.message)",
                        hint: first.hint, location: nil))
            }
        }
    }

    // MARK: Reporting

    private mutating func report(_ violations: [RuleViolation], at address: ResourceAddress) {
        for violation in violations {
            report(violation, at: address, field: violation.field, summary: "\(address): \(violation.message)", hint: violation.hint)
        }
    }

    private mutating func report(_ violation: RuleViolation, at address: ResourceAddress, field: String?, summary: String, hint: String?) {
        let resource = declared[address]
        let location = field.flatMap { resource?.location(of: $0) } ?? resource?.location
        let diagnostic = Diagnostic.error(violation.code, summary, at: location, hint: hint)
        if !diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
    }

    private func replacementHint(_ address: ResourceAddress, current: ResourceSpec, wanted: ResourceSpec, violation: RuleViolation) -> String? {
        switch (current, wanted) {
        case (.backupPolicy(let old), .backupPolicy(let new)) where old.policyType != new.policyType && violation.code == ServiceCode.policyInUse:
            "a policy's type is fixed: keep '\(address.name)' \(old.policyType.rawValue), declare a new \(new.policyType.rawValue) policy, move the VMs to it, then remove '\(address.name)'"
        case (.vault, .vault):
            "a vault with backup items cannot be replaced: keep its \(wanted == current ? "settings" : "placement"), or create a new vault and move protection to it"
        default:
            violation.hint
        }
    }
}
