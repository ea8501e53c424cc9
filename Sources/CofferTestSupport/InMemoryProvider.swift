import CofferModel
import CofferRules
import Foundation

/// A deterministic, in-memory provider for reconciler and CLI tests: it stores specs as the platform reads
/// them back, applies the platform's rules that the reconciler meets (with the platform's error codes),
/// builds ids as the platform does, creates a vault with its default policies (`DefaultPolicies`), counts
/// calls, and can be told to fail a named resource with an error code. `ProviderConformance` checks that it
/// answers as the embedded platform does.
public final class InMemoryProvider: Provider, @unchecked Sendable {
    private let lock = NSLock()
    private var resources: [String: ObservedResource] = [:]
    private var vms: [VMReference: VirtualMachineFacts] = [:]
    private var keyVaults: [String: KeyVaultFacts] = [:]
    private var failures: [String: ProviderError] = [:]
    private var calls: [String] = []
    /// Registered items a vault holds besides the protected VMs stored here (items of other workloads).
    private var extraRegisteredItems: [String: Int] = [:]
    /// Protected items deleted with their data: gone for reads, but still registered in their vault and
    /// using their policy for the vault's soft-delete period (which never ends here), as on the platform.
    private var softDeleted: Set<String> = []
    /// The name of the default subscription.
    public let defaultSubscription: String
    /// The id of each subscription by name; a subscription not listed has its name as id.
    public var subscriptionIDs: [String: String]
    public var operatorIsMember = false
    /// The resource groups that exist, as "subscription/name" (subscription as given, nil for the default);
    /// nil means every resource group exists.
    public var resourceGroups: Set<String>? = nil
    /// The regions the provider offers; nil means every Azure region.
    public var regions: [String]? = nil

    public init(defaultSubscription: String = "sub-prod", subscriptionIDs: [String: String] = [:]) {
        self.defaultSubscription = defaultSubscription
        self.subscriptionIDs = subscriptionIDs
    }

    // MARK: Test controls

    /// Makes every create, update or delete of the resource with this name fail with `error`.
    public func fail(name: String, with error: ProviderError?) { locked { failures[name] = error } }

    public func addVM(_ facts: VirtualMachineFacts) { locked { vms[facts.reference.normalised(defaultSubscription)] = facts } }

    public func addKeyVault(_ facts: KeyVaultFacts) { locked { keyVaults[facts.name.lowercased()] = facts } }

    /// Replaces a stored resource's spec, as an out-of-band change would.
    public func tamper(id: String, _ change: (inout ResourceSpec) -> Void) {
        locked {
            guard var resource = resources[id] else { return }
            change(&resource.spec)
            resources[id] = resource
        }
    }

    /// Removes a resource behind the reconciler's back.
    public func remove(id: String) {
        locked {
            resources[id] = nil
            softDeleted.remove(id)
        }
    }

    /// Puts a resource on the platform that coffer did not create, exactly as given (a seeded vault has no
    /// default policies unless they are seeded too). A vault's `registeredItems` in `status` counts items
    /// besides the protected VMs stored here.
    /// With `managedByCoffer`, it carries coffer's tag, as a resource created by an earlier coffer whose
    /// inventory was lost would.
    public func seed(
        name: String, spec: ResourceSpec, status: ObservedStatus = .none, managedByCoffer: Bool = false,
        parents: ResourceParents = ResourceParents()
    ) throws {
        try locked {
            guard let id = try unlockedResourceID(name: name, spec: spec, parents: parents) else {
                throw ProviderError(code: "ResourceNotFound", message: "the vault or key vault of \(name) does not exist")
            }
            let tags = managedByCoffer ? [ObservedResource.managedByTag: ObservedResource.managedByValue] : [:]
            if let vault = status.vault { extraRegisteredItems[name.lowercased()] = vault.registeredItems }
            resources[id] = ObservedResource(id: id, spec: stored(spec), name: name, tags: tags, status: status)
        }
    }

    /// The mutating calls made so far, as `create Kind/name`, `update ...`, `delete ...`.
    public var mutations: [String] { locked { calls } }

    /// Every stored resource, sorted by id, with its status.
    public var all: [ObservedResource] {
        locked { resources.keys.sorted().filter { !softDeleted.contains($0) }.map { describe(resources[$0]!) } }
    }

    // MARK: Provider

    public func resourceID(name: String, spec: ResourceSpec, parents: ResourceParents) async throws -> String? {
        try locked { try unlockedResourceID(name: name, spec: spec, parents: parents) }
    }

    public func read(kind: ResourceKind, id: String) async throws -> ObservedResource? {
        locked { unlockedRead(kind: kind, id: id) }
    }

    public func create(name: String, spec: ResourceSpec) async throws -> ObservedResource {
        try locked {
            calls.append("create \(spec.kind.rawValue)/\(name)")
            if let failure = failures[name] { throw failure }
            // Which grant a key vault accepts, and which roles exist: the rules the platform applies.
            switch spec {
            case .keyVaultAccessPolicy(let access):
                if let facts = keyVaults[access.keyVault.lowercased()], let violation = KeyVaultAccessRules.accessPolicyViolation(on: facts) {
                    throw ProviderError(code: violation.code, message: violation.message, hint: violation.hint)
                }
            case .keyVaultRoleAssignment(let assignment):
                if let facts = keyVaults[assignment.keyVault.lowercased()],
                    let violation = KeyVaultAccessRules.roleAssignmentViolation(on: facts, role: assignment.role)
                {
                    throw ProviderError(code: violation.code, message: violation.message, hint: violation.hint)
                }
            default:
                break
            }
            guard let id = try unlockedResourceID(name: name, spec: spec, parents: ResourceParents()) else {
                switch spec {
                case .keyVaultAccessPolicy(let access): throw Self.notFound("there is no key vault '\(access.keyVault)'")
                case .keyVaultRoleAssignment(let assignment): throw Self.notFound("there is no key vault '\(assignment.keyVault)'")
                case .backupPolicy(let policy): throw Self.notFound("there is no vault '\(policy.vault)'")
                case .protectedVM(let protected): throw Self.notFound("there is no vault '\(protected.vault)'")
                case .vault: throw Self.notFound("there is no subscription for \(name)")
                }
            }
            if softDeleted.contains(id), case .protectedVM = spec {
                // Recover the soft-deleted item and resume it, as the platform's create does.
                softDeleted.remove(id)
                resources[id] = nil
            }
            guard resources[id] == nil else {
                if case .keyVaultRoleAssignment = spec {
                    throw ProviderError(code: "RoleAssignmentExists", message: "The role assignment already exists: \(id)")
                }
                throw ProviderError(code: "ResourceAlreadyExists", message: "\(id) already exists")
            }
            switch spec {
            case .vault:
                if resources.values.contains(where: { $0.spec.kind == .recoveryServicesVault && $0.name.lowercased() == name.lowercased() }) {
                    throw ProviderError(code: "ResourceAlreadyExists", message: "a Recovery Services vault named '\(name)' already exists")
                }
            case .backupPolicy(let policy):
                guard vault(named: policy.vault) != nil else { throw Self.notFound("there is no vault '\(policy.vault)'") }
            case .protectedVM(let protected):
                guard vms[protected.vm.normalised(defaultSubscription)] != nil else { throw Self.notFound("there is no VM \(protected.vm)") }
                guard vault(named: protected.vault) != nil else { throw Self.notFound("there is no vault '\(protected.vault)'") }
                guard policy(vault: protected.vault, name: protected.policy) != nil else {
                    throw Self.notFound("vault '\(protected.vault)' has no policy '\(protected.policy)'")
                }
                if let other = item(vm: protected.vm) {
                    throw ProviderError(code: "UserErrorVmAlreadyProtectedInAnotherVault", message: "VM '\(protected.vm.name)' is protected in \(other.id)")
                }
            case .keyVaultAccessPolicy, .keyVaultRoleAssignment:
                break
            }
            let tags = [ObservedResource.managedByTag: ObservedResource.managedByValue]
            resources[id] = ObservedResource(id: id, spec: stored(spec), name: name, tags: tags)
            if case .vault = spec {
                // The service makes a new vault's default policies with it, untagged: they are the vault's own.
                for policy in DefaultPolicies.all {
                    let policyID = "\(id)/backupPolicies/\(policy.name)"
                    resources[policyID] = ObservedResource(id: policyID, spec: .backupPolicy(policy.spec(in: name)), name: policy.name)
                }
            }
            return describe(resources[id]!)
        }
    }

    public func update(id: String, name: String, spec: ResourceSpec) async throws -> ObservedResource {
        try locked {
            calls.append("update \(spec.kind.rawValue)/\(name)")
            if let failure = failures[name] { throw failure }
            guard var resource = resources[id], !softDeleted.contains(id) else {
                throw Self.notFound("\(id) does not exist")
            }
            if case .vault(let old) = resource.spec, case .vault(let new) = spec, old.storageRedundancy != new.storageRedundancy,
                registeredItems(vault: name) > 0
            {
                throw ProviderError(code: "StorageModelModifyError", message: "Storage Redundancy option is locked")
            }
            if case .keyVaultRoleAssignment = resource.spec, stored(spec) != resource.spec {
                throw ProviderError(code: "RoleAssignmentUpdateNotPermitted", message: "the scope, principal and role of \(id) cannot be changed")
            }
            resource.spec = stored(spec)
            resources[id] = resource
            return describe(resource)
        }
    }

    public func delete(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) async throws {
        try locked {
            let name = resources[id]?.name ?? id
            calls.append("delete \(kind.rawValue)/\(name) \(deletionPolicy.rawValue)")
            if let failure = failures[name] { throw failure }
            guard let resource = resources[id], resource.spec.kind == kind, !softDeleted.contains(id) else {
                throw Self.notFound("\(id) does not exist")
            }
            switch resource.spec {
            case .vault:
                let items = registeredItems(vault: resource.name)
                if items > 0 {
                    throw ProviderError(code: "ServiceResourceNotEmpty", message: "vault '\(resource.name)' has \(items) registered item(s)")
                }
                // Its policies go with it, as on the platform.
                resources = resources.filter { _, other in
                    if case .backupPolicy(let policy) = other.spec { policy.vault.lowercased() != resource.name.lowercased() } else { true }
                }
            case .backupPolicy(let policy):
                if itemsUsing(vault: policy.vault, policy: resource.name) > 0 {
                    throw ProviderError(code: "UserErrorBackupPolicyInUse", message: "policy '\(resource.name)' protects items")
                }
            case .protectedVM(var protected) where deletionPolicy == .retain:
                // Stop protection and retain the data: the item stays, stopped.
                protected.protectionState = .protectionStopped
                resources[id]?.spec = .protectedVM(protected)
                return
            case .protectedVM:
                // Stop protection and delete the data: the item is soft-deleted, still registered.
                softDeleted.insert(id)
                return
            case .keyVaultAccessPolicy, .keyVaultRoleAssignment:
                break
            }
            resources[id] = nil
        }
    }

    public func snapshot() async throws -> any ProviderSnapshot {
        locked {
            let described = resources.filter { !softDeleted.contains($0.key) }.mapValues { describe($0) }
            // A VM is protected by the vault of its item, soft-deleted ones included, as the platform says.
            var protection: [String: VMProtectionFacts] = [:]
            for (id, resource) in resources {
                guard case .protectedVM(let protected) = resource.spec else { continue }
                let status: ProtectionStatus = switch (softDeleted.contains(id), protected.protectionState) {
                case (true, _): .softDeleted
                case (false, .protectionStopped): .protectionStopped
                case (false, .backupsSuspended): .backupsSuspended
                case (false, .protected): resource.status.protectedVM?.protectionStatus ?? .protected
                }
                protection[protected.vm.name.lowercased()] = VMProtectionFacts(
                    vault: protected.vault, policy: protected.policy, status: status,
                    recoveryPoints: resource.status.protectedVM?.recoveryPoints ?? 0)
            }
            let vms = vms.mapValues { facts in
                var facts = facts
                if let item = protection[facts.reference.name.lowercased()] { facts.protection = item }
                return facts
            }
            // A key vault's access policies: those it was given, and those created through the provider.
            var keyVaults = keyVaults
            for (id, resource) in resources where !softDeleted.contains(id) {
                guard case .keyVaultAccessPolicy(let access) = resource.spec, var facts = keyVaults[access.keyVault.lowercased()] else { continue }
                let objectID: String = switch access.principal {
                case .backupManagementService: facts.backupManagementServiceObjectID
                case .objectID(let id): id
                }
                facts.accessPolicies.removeAll { $0.objectID == objectID }
                facts.accessPolicies.append(
                    .init(objectID: objectID, keyPermissions: access.keyPermissions, secretPermissions: access.secretPermissions))
                facts.accessPolicies.sort { $0.objectID < $1.objectID }
                keyVaults[access.keyVault.lowercased()] = facts
            }
            // And its role assignments: those it was given, and those created through the provider.
            for (id, resource) in resources.sorted(by: { $0.key < $1.key }) where !softDeleted.contains(id) {
                guard case .keyVaultRoleAssignment(let assignment) = resource.spec, var facts = keyVaults[assignment.keyVault.lowercased()],
                    let role = facts.roleDefinition(assignment.role)
                else { continue }
                facts.roleAssignments.append(.init(objectID: facts.objectID(of: assignment.principal), role: role))
                keyVaults[assignment.keyVault.lowercased()] = facts
            }
            return InMemorySnapshot(
                defaultSubscription: defaultSubscription, subscriptionIDs: subscriptionIDs, resources: described, vms: vms,
                keyVaults: keyVaults, operatorGrantsKeyVaultAccess: operatorIsMember,
                resourceGroups: resourceGroups.map { Set($0.map { $0.lowercased() }) }, regions: regions)
        }
    }

    // MARK: Rules and ids, the lock held

    private static func notFound(_ message: String) -> ProviderError { ProviderError(code: "ResourceNotFound", message: message) }

    fileprivate func subscriptionID(_ nameOrID: String?) -> String {
        let name = nameOrID ?? defaultSubscription
        return subscriptionIDs[name] ?? name
    }

    private func vault(named name: String) -> ObservedResource? {
        resources.values.first { $0.spec.kind == .recoveryServicesVault && $0.name.lowercased() == name.lowercased() }
    }

    private func policy(vault: String, name: String) -> ObservedResource? {
        resources.values.first {
            if case .backupPolicy(let policy) = $0.spec { policy.vault.lowercased() == vault.lowercased() && $0.name.lowercased() == name.lowercased() } else { false }
        }
    }

    private func item(vm: VMReference) -> ObservedResource? {
        resources.filter { !softDeleted.contains($0.key) }.values.first {
            if case .protectedVM(let protected) = $0.spec { protected.vm.name.lowercased() == vm.name.lowercased() } else { false }
        }
    }

    private func registeredItems(vault: String) -> Int {
        (extraRegisteredItems[vault.lowercased()] ?? 0)
            + resources.values.count { if case .protectedVM(let protected) = $0.spec { protected.vault.lowercased() == vault.lowercased() } else { false } }
    }

    /// Items that use a policy, as the platform counts them: protected or suspended, not stopped for ever
    /// nor soft-deleted.
    private func itemsUsing(vault: String, policy: String) -> Int {
        resources.count { id, resource in
            if case .protectedVM(let protected) = resource.spec, !softDeleted.contains(id), protected.protectionState != .protectionStopped {
                protected.vault.lowercased() == vault.lowercased() && protected.policy.lowercased() == policy.lowercased()
            } else { false }
        }
    }

    /// The spec as the platform reads it back: a vault in the default subscription has none, a protected
    /// VM's reference names its subscription only when it is not the default.
    private func stored(_ spec: ResourceSpec) -> ResourceSpec {
        switch spec {
        case .vault(var vault):
            if vault.subscription == defaultSubscription { vault.subscription = nil }
            vault.tags[ObservedResource.managedByTag] = nil
            return .vault(vault)
        case .protectedVM(var protected):
            if protected.vm.subscription == defaultSubscription { protected.vm.subscription = nil }
            return .protectedVM(protected)
        case .keyVaultRoleAssignment(var assignment):
            // The role by its own name, as the platform reads it back.
            if let role = keyVaults[assignment.keyVault.lowercased()]?.roleDefinition(assignment.role) { assignment.role = role.name }
            return .keyVaultRoleAssignment(assignment)
        default:
            return spec
        }
    }

    /// A stored resource with its status as the platform computes it now.
    fileprivate func describe(_ resource: ObservedResource) -> ObservedResource {
        var described = resource
        switch resource.spec {
        case .vault:
            let identity = resource.status.vault?.identityPrincipalID
            described.status = .vault(VaultStatus(registeredItems: registeredItems(vault: resource.name), identityPrincipalID: identity))
        case .backupPolicy(let policy):
            described.status = .backupPolicy(BackupPolicyStatus(protectedItems: itemsUsing(vault: policy.vault, policy: resource.name)))
        case .protectedVM(let protected):
            var status = resource.status.protectedVM
                ?? ProtectedItemStatus(protectionStatus: .irPending, vmID: vms[protected.vm.normalised(defaultSubscription)]?.id ?? "")
            switch protected.protectionState {
            case .protected: if status.protectionStatus == .protectionStopped || status.protectionStatus == .backupsSuspended { status.protectionStatus = .irPending }
            case .protectionStopped: status.protectionStatus = .protectionStopped
            case .backupsSuspended: status.protectionStatus = .backupsSuspended
            }
            described.status = .protectedVM(status)
        case .keyVaultAccessPolicy, .keyVaultRoleAssignment:
            described.status = .none
        }
        return described
    }

    fileprivate func unlockedRead(kind: ResourceKind, id: String) -> ObservedResource? {
        guard !softDeleted.contains(id) else { return nil }
        return resources[id].flatMap { $0.spec.kind == kind ? describe($0) : nil }
    }

    fileprivate func unlockedResourceID(name: String, spec: ResourceSpec, parents: ResourceParents) throws -> String? {
        try Self.resourceID(
            name: name, spec: spec, parents: parents, subscriptionID: subscriptionID,
            vault: { vault(named: $0).flatMap { resource in if case .vault(let spec) = resource.spec { (resource.name, spec) } else { nil } } },
            keyVault: { keyVaults[$0.lowercased()] })
    }

    /// Ids as ARM (and the platform) build them: a child's from its vault's, the platform's vault first,
    /// else the declared one.
    fileprivate static func resourceID(
        name: String, spec: ResourceSpec, parents: ResourceParents, subscriptionID: (String?) -> String,
        vault: (String) -> (String, VaultSpec)?, keyVault: (String) -> KeyVaultFacts?
    ) -> String? {
        func vaultID(_ name: String, _ spec: VaultSpec) -> String {
            "/subscriptions/\(subscriptionID(spec.subscription))/resourceGroups/\(spec.resourceGroup)/providers/Microsoft.RecoveryServices/vaults/\(name)"
        }
        func parentID(_ name: String) -> String? {
            if let (stored, spec) = vault(name) { return vaultID(stored, spec) }
            if let spec = parents.vault(name) { return vaultID(name, spec) }
            return nil
        }
        switch spec {
        case .vault(let spec):
            return vaultID(name, spec)
        case .backupPolicy(let policy):
            return parentID(policy.vault).map { "\($0)/backupPolicies/\(name)" }
        case .protectedVM(let protected):
            let group = protected.vm.resourceGroup
            let vm = protected.vm.name
            let container = "iaasvmcontainer;iaasvmcontainerv2;\(group);\(vm)"
            return parentID(protected.vault).map {
                "\($0)/backupFabrics/Azure/protectionContainers/\(container)/protectedItems/VM;iaasvmcontainerv2;\(group);\(vm)"
            }
        case .keyVaultAccessPolicy(let access):
            guard let facts = keyVault(access.keyVault) else { return nil }
            let objectID: String
            switch access.principal {
            case .backupManagementService: objectID = facts.backupManagementServiceObjectID
            case .objectID(let id): objectID = id
            }
            return "\(facts.id)/objectId/\(objectID)"
        case .keyVaultRoleAssignment(let assignment):
            guard let facts = keyVault(assignment.keyVault), let role = facts.roleDefinition(assignment.role) else { return nil }
            let name = RoleDefinition.assignmentName(
                scope: facts.id, principalObjectID: facts.objectID(of: assignment.principal), roleDefinitionID: role.id)
            return "\(facts.id)/providers/Microsoft.Authorization/roleAssignments/\(name)"
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// The in-memory provider at one moment: copies of its resources and facts.
struct InMemorySnapshot: ProviderSnapshot {
    let defaultSubscription: String
    let subscriptionIDs: [String: String]
    let resources: [String: ObservedResource]
    let vms: [VMReference: VirtualMachineFacts]
    let keyVaults: [String: KeyVaultFacts]
    let operatorGrantsKeyVaultAccess: Bool
    let resourceGroups: Set<String>?
    let regions: [String]?

    func resourceIDs(_ declarations: [ResourceDeclaration], parents: ResourceParents) async throws -> [String?] {
        try declarations.map { declaration in
            try InMemoryProvider.resourceID(
                name: declaration.name, spec: declaration.spec, parents: parents,
                subscriptionID: { subscriptionIDs[$0 ?? defaultSubscription] ?? ($0 ?? defaultSubscription) },
                vault: { name in
                    resources.values.first { $0.spec.kind == .recoveryServicesVault && $0.name.lowercased() == name.lowercased() }
                        .flatMap { resource in if case .vault(let spec) = resource.spec { (resource.name, spec) } else { nil } }
                },
                keyVault: { keyVaults[$0.lowercased()] })
        }
    }

    func read(_ requests: [ResourceReference]) async throws -> [ObservedResource?] {
        requests.map { request in resources[request.id].flatMap { $0.spec.kind == request.kind ? $0 : nil } }
    }

    func virtualMachines(_ references: [VMReference]) async throws -> [VirtualMachineFacts?] {
        references.map { vms[$0.normalised(defaultSubscription)] }
    }

    func keyVaults(named names: [String]) async throws -> [KeyVaultFacts?] {
        names.map { keyVaults[$0.lowercased()] }
    }

    func resourceGroupsExist(_ groups: [ResourceGroupReference]) async throws -> [Bool] {
        groups.map { group in
            resourceGroups.map { $0.contains("\(group.subscription ?? defaultSubscription)/\(group.name)".lowercased()) } ?? true
        }
    }

    func availableRegions() async throws -> [String] {
        regions ?? Regions.names
    }
}

extension VMReference {
    func normalised(_ subscription: String) -> VMReference {
        VMReference(subscription: self.subscription ?? subscription, resourceGroup: resourceGroup, name: name)
    }
}
