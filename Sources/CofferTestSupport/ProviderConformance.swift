import CofferModel
import CofferRules

/// What a conformance run needs to know about the world behind a provider: where a vault may go, a VM it
/// may protect, a key vault it may grant access on.
public struct ConformanceWorld: Sendable {
    /// The id of the default subscription, as ids carry it.
    public var subscriptionID: String
    /// A resource group of the default subscription, in `location`.
    public var resourceGroup: String
    /// A region the platform offers, where `vm` runs.
    public var location: String
    /// A VM in `location` of the default subscription, encrypted with a platform-managed key, not protected.
    public var vm: VMReference
    /// The VM's id.
    public var vmID: String
    /// A key vault of the platform that uses access policies, and its id.
    public var keyVault: String
    public var keyVaultID: String
    /// A key vault of the platform that uses Azure RBAC, with no role assignment, and its id.
    public var rbacKeyVault: String
    public var rbacKeyVaultID: String
    /// The object id of the Backup Management Service principal.
    public var backupManagementServiceObjectID: String
    /// Whether the operator is a member of the tenant (and so grants Key Vault access by enabling protection).
    public var operatorGrantsKeyVaultAccess: Bool
    /// Whether access policies and role assignments read back carry coffer's `managed-by` tag. ARM gives
    /// them no tags (only the vault has tags), so a provider over ARM reads them untagged and the reconciler
    /// knows them as its own by its inventory alone.
    public var accessGrantsCarryOwnershipTag: Bool

    public init(
        subscriptionID: String, resourceGroup: String, location: String, vm: VMReference, vmID: String, keyVault: String,
        keyVaultID: String, rbacKeyVault: String, rbacKeyVaultID: String, backupManagementServiceObjectID: String,
        operatorGrantsKeyVaultAccess: Bool, accessGrantsCarryOwnershipTag: Bool = true
    ) {
        self.subscriptionID = subscriptionID
        self.resourceGroup = resourceGroup
        self.location = location
        self.vm = vm
        self.vmID = vmID
        self.keyVault = keyVault
        self.keyVaultID = keyVaultID
        self.rbacKeyVault = rbacKeyVault
        self.rbacKeyVaultID = rbacKeyVaultID
        self.backupManagementServiceObjectID = backupManagementServiceObjectID
        self.operatorGrantsKeyVaultAccess = operatorGrantsKeyVaultAccess
        self.accessGrantsCarryOwnershipTag = accessGrantsCarryOwnershipTag
    }
}

/// One contract for every provider: the same calls give the same results and the same error codes, on the
/// embedded platform, the in-memory fake, or a remote provider. Each check takes a fresh provider from the
/// factory and throws a `ProviderConformance.Failure` naming what differed.
public struct ProviderConformance: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var check: String
        public var message: String
        public var description: String { "\(check): \(message)" }
    }

    public let world: ConformanceWorld
    public let makeProvider: @Sendable () async throws -> any Provider

    public init(world: ConformanceWorld, makeProvider: @escaping @Sendable () async throws -> any Provider) {
        self.world = world
        self.makeProvider = makeProvider
    }

    /// Every check, by name.
    public var checks: [(name: String, run: @Sendable () async throws -> Void)] {
        [
            ("ids", { try await self.checkIDs() }), ("absent resources read as nil", { try await self.checkAbsentReads() }),
            ("vault", { try await self.checkVault() }), ("vault default policies", { try await self.checkVaultDefaultPolicies() }),
            ("backup policy", { try await self.checkPolicy() }),
            ("protected VM", { try await self.checkProtectedVM() }), ("access policy", { try await self.checkAccessPolicy() }),
            ("role assignment", { try await self.checkRoleAssignment() }), ("snapshot", { try await self.checkSnapshot() }),
        ]
    }

    /// Runs every check; throws the failures of all of them together.
    public func run() async throws {
        var failures: [Failure] = []
        for check in checks {
            do {
                try await check.run()
            } catch let failure as Failure {
                failures.append(failure)
            } catch {
                failures.append(Failure(check: check.name, message: "unexpected error: \(error)"))
            }
        }
        if !failures.isEmpty {
            throw Failure(check: "conformance", message: failures.map(\.description).joined(separator: "\n"))
        }
    }

    // MARK: The resources the checks use

    static let vaultName = "rsv-conformance"
    static let policyName = "daily-conformance"

    var vaultSpec: VaultSpec {
        VaultSpec(resourceGroup: world.resourceGroup, location: world.location, storageRedundancy: .geoRedundant, crossRegionRestore: false)
    }

    var policySpec: BackupPolicySpec {
        BackupPolicySpec(
            vault: Self.vaultName, schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)),
            instantRestoreRetentionDays: 2, retention: RetentionSpec(daily: DailyRetention(count: 30)))
    }

    var protectedSpec: ProtectedVMSpec { ProtectedVMSpec(vm: world.vm, vault: Self.vaultName, policy: Self.policyName) }

    var accessSpec: KeyVaultAccessPolicySpec {
        KeyVaultAccessPolicySpec(keyVault: world.keyVault, principal: .backupManagementService, secretPermissions: [.get, .list, .backup])
    }

    var roleSpec: KeyVaultRoleAssignmentSpec {
        KeyVaultRoleAssignmentSpec(keyVault: world.rbacKeyVault, principal: .backupManagementService, role: RoleDefinition.keyVaultAdministrator.name)
    }

    /// The tags an access policy or role assignment coffer created reads back with.
    var ownershipTags: [String: String] {
        world.accessGrantsCarryOwnershipTag ? [ObservedResource.managedByTag: ObservedResource.managedByValue] : [:]
    }

    var parents: ResourceParents { ResourceParents(vaults: [Self.vaultName: vaultSpec]) }

    var vaultID: String {
        "/subscriptions/\(world.subscriptionID)/resourceGroups/\(world.resourceGroup)/providers/Microsoft.RecoveryServices/vaults/\(Self.vaultName)"
    }

    var policyID: String { "\(vaultID)/backupPolicies/\(Self.policyName)" }

    var itemID: String {
        let group = world.vm.resourceGroup
        let vm = world.vm.name
        return "\(vaultID)/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;\(group);\(vm)/protectedItems/VM;iaasvmcontainerv2;\(group);\(vm)"
    }

    var accessID: String { "\(world.keyVaultID)/objectId/\(world.backupManagementServiceObjectID)" }

    /// The id of the Backup Management Service's Key Vault Administrator assignment on the RBAC key vault: its
    /// name derives from scope, principal and role, so it is known before the assignment exists.
    var roleID: String {
        let name = RoleDefinition.assignmentName(
            scope: world.rbacKeyVaultID, principalObjectID: world.backupManagementServiceObjectID,
            roleDefinitionID: RoleDefinition.keyVaultAdministrator.id)
        return "\(world.rbacKeyVaultID)/providers/Microsoft.Authorization/roleAssignments/\(name)"
    }

    /// A provider with the vault, its policy and the protected VM created.
    func populated(_ check: String) async throws -> any Provider {
        let provider = try await makeProvider()
        _ = try await provider.create(name: Self.vaultName, spec: .vault(vaultSpec))
        _ = try await provider.create(name: Self.policyName, spec: .backupPolicy(policySpec))
        _ = try await provider.create(name: world.vm.name, spec: .protectedVM(protectedSpec))
        return provider
    }

    // MARK: Checks

    /// Ids as ARM builds them, a child's from its vault's spec before the vault exists; nil rather than a
    /// made-up id when a parent is unknown.
    public func checkIDs() async throws {
        let check = "ids"
        let provider = try await makeProvider()
        try expect(check, try await provider.resourceID(name: Self.vaultName, spec: .vault(vaultSpec)), vaultID, "vault id")
        try expect(check, try await provider.resourceID(name: Self.policyName, spec: .backupPolicy(policySpec), parents: parents), policyID,
                   "policy id from the declared vault")
        try expect(check, try await provider.resourceID(name: world.vm.name, spec: .protectedVM(protectedSpec), parents: parents), itemID,
                   "protected item id from the declared vault")
        try expect(check, try await provider.resourceID(name: Self.policyName, spec: .backupPolicy(policySpec)), nil,
                   "policy id of a vault neither on the platform nor declared")
        try expect(check, try await provider.resourceID(name: "bms", spec: .keyVaultAccessPolicy(accessSpec)), accessID, "access policy id")
        var elsewhere = accessSpec
        elsewhere.keyVault = "kv-conformance-missing"
        try expect(check, try await provider.resourceID(name: "bms", spec: .keyVaultAccessPolicy(elsewhere)), nil,
                   "access policy id of a missing key vault")
        try expect(check, try await provider.resourceID(name: "bms-admin", spec: .keyVaultRoleAssignment(roleSpec)), roleID,
                   "role assignment id, before the assignment exists")
        var unknownRole = roleSpec
        unknownRole.role = "Key Vault Superuser"
        try expect(check, try await provider.resourceID(name: "bms-admin", spec: .keyVaultRoleAssignment(unknownRole)), nil,
                   "role assignment id of a role that does not exist")
    }

    /// Reads of what does not exist answer nil, for every kind.
    public func checkAbsentReads() async throws {
        let check = "absent resources read as nil"
        let provider = try await makeProvider()
        for (kind, id) in [(ResourceKind.recoveryServicesVault, vaultID), (.backupPolicy, policyID), (.protectedVM, itemID),
                           (.keyVaultAccessPolicy, accessID), (.keyVaultRoleAssignment, roleID), (.recoveryServicesVault, "/not/an/arm/id")] {
            try expect(check, try await provider.read(kind: kind, id: id), nil, "\(kind.rawValue) \(id)")
        }
    }

    public func checkVault() async throws {
        let check = "vault"
        let provider = try await makeProvider()
        let created = try await provider.create(name: Self.vaultName, spec: .vault(vaultSpec))
        try expect(check, created.id, vaultID, "created id")
        try expect(check, created.spec, .vault(vaultSpec), "created spec")
        try expect(check, created.name, Self.vaultName, "name")
        try expect(check, created.tags[ObservedResource.managedByTag], ObservedResource.managedByValue, "ownership tag")
        try expect(check, created.status.vault?.registeredItems, 0, "registered items")
        try expect(check, try await provider.read(kind: .recoveryServicesVault, id: vaultID), created, "read back")
        try await expectCode(check, "ResourceAlreadyExists", "a second vault of the name") {
            _ = try await provider.create(name: Self.vaultName, spec: .vault(vaultSpec))
        }
        var locallyRedundant = vaultSpec
        locallyRedundant.storageRedundancy = .locallyRedundant
        let updated = try await provider.update(id: vaultID, name: Self.vaultName, spec: .vault(locallyRedundant))
        try expect(check, updated.spec, .vault(locallyRedundant), "redundancy changed while the vault is empty")
        try await provider.delete(kind: .recoveryServicesVault, id: vaultID, deletionPolicy: .delete)
        try expect(check, try await provider.read(kind: .recoveryServicesVault, id: vaultID), nil, "read after delete")
    }

    /// A new vault comes with the service's default policies, untagged; they take protected VMs and may be
    /// deleted like any policy, and leave with their vault.
    public func checkVaultDefaultPolicies() async throws {
        let check = "vault default policies"
        let provider = try await makeProvider()
        for policy in DefaultPolicies.all {
            try expect(check, try await provider.resourceID(name: policy.name, spec: .backupPolicy(policy.spec(in: Self.vaultName)), parents: parents),
                       "\(vaultID)/backupPolicies/\(policy.name)", "\(policy.name) id from the declared vault")
        }
        _ = try await provider.create(name: Self.vaultName, spec: .vault(vaultSpec))
        for policy in DefaultPolicies.all {
            let id = "\(vaultID)/backupPolicies/\(policy.name)"
            let found = try await provider.read(kind: .backupPolicy, id: id)
            try expect(check, found?.spec, .backupPolicy(policy.spec(in: Self.vaultName)), "\(policy.name) made with the vault")
            try expect(check, found?.name, policy.name, "\(policy.name) name")
            try expect(check, found?.tags, [String: String](), "\(policy.name) is not tagged managed-by")
            try expect(check, found?.status.backupPolicy?.protectedItems, 0, "\(policy.name) protected items")
            try expect(check, try await provider.snapshot().read([ResourceReference(kind: .backupPolicy, id: id)]), [found],
                       "\(policy.name) in a snapshot")
            try await expectCode(check, "ResourceAlreadyExists", "creating a policy named \(policy.name)") {
                _ = try await provider.create(name: policy.name, spec: .backupPolicy(policy.spec(in: Self.vaultName)))
            }
        }
        let standardID = "\(vaultID)/backupPolicies/\(DefaultPolicies.standard.name)"
        let enhancedID = "\(vaultID)/backupPolicies/\(DefaultPolicies.enhanced.name)"
        var protected = protectedSpec
        protected.policy = DefaultPolicies.standard.name
        let item = try await provider.create(name: world.vm.name, spec: .protectedVM(protected))
        try expect(check, item.spec, .protectedVM(protected), "a VM protected by DefaultPolicy")
        try expect(check, try await provider.read(kind: .backupPolicy, id: standardID)?.status.backupPolicy?.protectedItems, 1,
                   "DefaultPolicy's protected items")
        try await expectCode(check, "UserErrorBackupPolicyInUse", "deleting DefaultPolicy in use") {
            try await provider.delete(kind: .backupPolicy, id: standardID, deletionPolicy: .delete)
        }
        try await provider.delete(kind: .backupPolicy, id: enhancedID, deletionPolicy: .delete)
        try expect(check, try await provider.read(kind: .backupPolicy, id: enhancedID), nil, "EnhancedPolicy after a delete")

        // A vault deleted takes its default policies with it; made again, it has them again.
        let empty = try await makeProvider()
        _ = try await empty.create(name: Self.vaultName, spec: .vault(vaultSpec))
        try await empty.delete(kind: .recoveryServicesVault, id: vaultID, deletionPolicy: .delete)
        try expect(check, try await empty.read(kind: .backupPolicy, id: standardID), nil, "DefaultPolicy after its vault's delete")
        _ = try await empty.create(name: Self.vaultName, spec: .vault(vaultSpec))
        try expect(check, try await empty.read(kind: .backupPolicy, id: enhancedID)?.spec,
                   .backupPolicy(DefaultPolicies.enhanced.spec(in: Self.vaultName)), "EnhancedPolicy of the vault made again")
    }

    public func checkPolicy() async throws {
        let check = "backup policy"
        let provider = try await makeProvider()
        let predicted = try await provider.resourceID(name: Self.policyName, spec: .backupPolicy(policySpec), parents: parents)
        try await expectCode(check, "ResourceNotFound", "a policy of a missing vault") {
            _ = try await provider.create(name: Self.policyName, spec: .backupPolicy(policySpec))
        }
        _ = try await provider.create(name: Self.vaultName, spec: .vault(vaultSpec))
        let created = try await provider.create(name: Self.policyName, spec: .backupPolicy(policySpec))
        try expect(check, created.id, predicted, "created id is the one predicted before the vault existed")
        try expect(check, created.spec, .backupPolicy(policySpec), "created spec")
        try expect(check, created.status.backupPolicy?.protectedItems, 0, "protected items")
        var longer = policySpec
        longer.retention.daily = DailyRetention(count: 45)
        _ = try await provider.update(id: policyID, name: Self.policyName, spec: .backupPolicy(longer))
        try expect(check, try await provider.read(kind: .backupPolicy, id: policyID)?.spec, .backupPolicy(longer), "read after update")
        try await provider.delete(kind: .backupPolicy, id: policyID, deletionPolicy: .delete)
        try expect(check, try await provider.read(kind: .backupPolicy, id: policyID), nil, "read after delete")
    }

    public func checkProtectedVM() async throws {
        let check = "protected VM"
        let provider = try await populated(check)
        let item = try await provider.read(kind: .protectedVM, id: itemID)
        try expect(check, item?.spec, .protectedVM(protectedSpec), "read back spec")
        try expect(check, item?.name, world.vm.name, "name")
        try expect(check, item?.status.protectedVM?.protectionStatus, .irPending, "protection status before a backup")
        try expect(check, item?.status.protectedVM?.vmID, world.vmID, "VM id")
        try expect(check, try await provider.read(kind: .recoveryServicesVault, id: vaultID)?.status.vault?.registeredItems, 1, "registered items")
        try expect(check, try await provider.read(kind: .backupPolicy, id: policyID)?.status.backupPolicy?.protectedItems, 1, "items of the policy")

        // The platform's refusals, with its codes.
        var locallyRedundant = vaultSpec
        locallyRedundant.storageRedundancy = .locallyRedundant
        try await expectCode(check, "StorageModelModifyError", "redundancy change with a registered item") {
            _ = try await provider.update(id: vaultID, name: Self.vaultName, spec: .vault(locallyRedundant))
        }
        try await expectCode(check, "UserErrorBackupPolicyInUse", "deleting a policy in use") {
            try await provider.delete(kind: .backupPolicy, id: policyID, deletionPolicy: .delete)
        }
        try await expectCode(check, "ServiceResourceNotEmpty", "deleting a vault with items") {
            try await provider.delete(kind: .recoveryServicesVault, id: vaultID, deletionPolicy: .delete)
        }
        try await expectCode(check, "ResourceNotFound", "updating a vault that does not exist") {
            _ = try await provider.update(
                id: vaultID.replacingSuffix(Self.vaultName, with: "rsv-missing"), name: "rsv-missing", spec: .vault(vaultSpec))
        }

        // Deleted retaining the data: the item stays, stopped. Deleted with its data: gone, still registered.
        try await provider.delete(kind: .protectedVM, id: itemID, deletionPolicy: .retain)
        let stopped = try await provider.read(kind: .protectedVM, id: itemID)
        try expect(check, stopped?.status.protectedVM?.protectionStatus, .protectionStopped, "status after a delete that retains")
        if case .protectedVM(let spec) = stopped?.spec {
            try expect(check, spec.protectionState, .protectionStopped, "protection state after a delete that retains")
        } else {
            throw Failure(check: check, message: "the stopped item was not read back")
        }
        try await provider.delete(kind: .protectedVM, id: itemID, deletionPolicy: .delete)
        try expect(check, try await provider.read(kind: .protectedVM, id: itemID), nil, "read after a delete with the data")
        try expect(check, try await provider.read(kind: .recoveryServicesVault, id: vaultID)?.status.vault?.registeredItems, 1,
                   "a soft-deleted item stays registered")
        // Protected again: the soft-deleted item is recovered.
        let again = try await provider.create(name: world.vm.name, spec: .protectedVM(protectedSpec))
        try expect(check, again.id, itemID, "recovered item id")
        try expect(check, again.status.protectedVM?.protectionStatus, .irPending, "recovered item status")
    }

    public func checkAccessPolicy() async throws {
        let check = "access policy"
        let provider = try await makeProvider()
        let created = try await provider.create(name: "bms", spec: .keyVaultAccessPolicy(accessSpec))
        try expect(check, created.id, accessID, "created id")
        try expect(check, created.spec, .keyVaultAccessPolicy(accessSpec), "created spec")
        try expect(check, created.tags, ownershipTags, "tags")
        try expect(check, created.status, ObservedStatus.none, "status")
        try await expectCode(check, "ResourceAlreadyExists", "a second policy for the principal") {
            _ = try await provider.create(name: "bms", spec: .keyVaultAccessPolicy(accessSpec))
        }
        let wider = KeyVaultAccessPolicySpec(
            keyVault: world.keyVault, principal: .backupManagementService, keyPermissions: [.get, .list, .backup],
            secretPermissions: [.get, .list, .backup])
        _ = try await provider.update(id: accessID, name: "bms", spec: .keyVaultAccessPolicy(wider))
        try expect(check, try await provider.read(kind: .keyVaultAccessPolicy, id: accessID)?.spec, .keyVaultAccessPolicy(wider), "read after update")
        try await provider.delete(kind: .keyVaultAccessPolicy, id: accessID, deletionPolicy: .delete)
        try expect(check, try await provider.read(kind: .keyVaultAccessPolicy, id: accessID), nil, "read after delete")
        var elsewhere = accessSpec
        elsewhere.keyVault = "kv-conformance-missing"
        try await expectCode(check, "ResourceNotFound", "an access policy on a missing key vault") {
            _ = try await provider.create(name: "bms", spec: .keyVaultAccessPolicy(elsewhere))
        }
    }

    /// A role assignment on a key vault that uses Azure RBAC: its predicted id, read back, the refusals of both
    /// permission models, of a missing role and of a duplicate, no change in place.
    public func checkRoleAssignment() async throws {
        let check = "role assignment"
        let provider = try await makeProvider()
        // Written in another case: the role is kept as Azure names it, and the id is the same.
        var lowerCase = roleSpec
        lowerCase.role = "key vault administrator"
        let created = try await provider.create(name: "bms-admin", spec: .keyVaultRoleAssignment(lowerCase))
        try expect(check, created.id, roleID, "created id")
        try expect(check, created.spec, .keyVaultRoleAssignment(roleSpec), "created spec")
        try expect(check, created.tags, ownershipTags, "tags")
        try expect(check, created.status, ObservedStatus.none, "status")
        try expect(check, try await provider.read(kind: .keyVaultRoleAssignment, id: roleID), created, "read back")
        try await expectCode(check, "RoleAssignmentExists", "the same role for the same principal again") {
            _ = try await provider.create(name: "bms-admin-again", spec: .keyVaultRoleAssignment(roleSpec))
        }
        try expect(check, try await provider.update(id: roleID, name: "bms-admin", spec: .keyVaultRoleAssignment(roleSpec)), created,
                   "an update to the same assignment")
        var otherRole = roleSpec
        otherRole.role = RoleDefinition.keyVaultSecretsUser.name
        try await expectCode(check, "RoleAssignmentUpdateNotPermitted", "changing an assignment's role in place") {
            _ = try await provider.update(id: roleID, name: "bms-admin", spec: .keyVaultRoleAssignment(otherRole))
        }
        // Each permission model refuses the other's grant.
        var onAccessPolicies = roleSpec
        onAccessPolicies.keyVault = world.keyVault
        try await expectCode(check, "KeyVaultUsesAccessPolicies", "a role assignment on a key vault that uses access policies") {
            _ = try await provider.create(name: "bms-admin", spec: .keyVaultRoleAssignment(onAccessPolicies))
        }
        var onRBAC = accessSpec
        onRBAC.keyVault = world.rbacKeyVault
        try await expectCode(check, "KeyVaultUsesRbacAuthorization", "an access policy on a key vault that uses Azure RBAC") {
            _ = try await provider.create(name: "bms", spec: .keyVaultAccessPolicy(onRBAC))
        }
        var unknownRole = roleSpec
        unknownRole.role = "Key Vault Superuser"
        try await expectCode(check, "RoleDefinitionDoesNotExist", "a role that does not exist") {
            _ = try await provider.create(name: "bms-superuser", spec: .keyVaultRoleAssignment(unknownRole))
        }
        var elsewhere = roleSpec
        elsewhere.keyVault = "kv-conformance-missing"
        try await expectCode(check, "ResourceNotFound", "a role assignment on a missing key vault") {
            _ = try await provider.create(name: "bms-admin", spec: .keyVaultRoleAssignment(elsewhere))
        }
        try await provider.delete(kind: .keyVaultRoleAssignment, id: roleID, deletionPolicy: .delete)
        try expect(check, try await provider.read(kind: .keyVaultRoleAssignment, id: roleID), nil, "read after delete")
    }

    /// A snapshot answers as the provider's own reads do, stays as it was when taken, and carries the facts.
    public func checkSnapshot() async throws {
        let check = "snapshot"
        let provider = try await populated(check)
        _ = try await provider.create(name: "bms", spec: .keyVaultAccessPolicy(accessSpec))
        let snapshot = try await provider.snapshot()
        let declarations = [
            ResourceDeclaration(name: Self.vaultName, spec: .vault(vaultSpec)),
            ResourceDeclaration(name: Self.policyName, spec: .backupPolicy(policySpec)),
            ResourceDeclaration(name: world.vm.name, spec: .protectedVM(protectedSpec)),
            ResourceDeclaration(name: "bms", spec: .keyVaultAccessPolicy(accessSpec)),
        ]
        let ids = try await snapshot.resourceIDs(declarations, parents: ResourceParents())
        try expect(check, ids, [vaultID, policyID, itemID, accessID], "ids")
        let requests = [
            ResourceReference(kind: .recoveryServicesVault, id: vaultID), ResourceReference(kind: .backupPolicy, id: policyID),
            ResourceReference(kind: .protectedVM, id: itemID), ResourceReference(kind: .keyVaultAccessPolicy, id: accessID),
            ResourceReference(kind: .backupPolicy, id: vaultID + "/backupPolicies/missing"),
        ]
        var direct: [ObservedResource?] = []
        for request in requests { direct.append(try await provider.read(kind: request.kind, id: request.id)) }
        try expect(check, try await snapshot.read(requests), direct, "batch read equals single reads")

        let missingVM = VMReference(resourceGroup: world.vm.resourceGroup, name: "vm-conformance-missing")
        let machines = try await snapshot.virtualMachines([world.vm, missingVM])
        try expect(check, machines.count, 2, "VM answers")
        try expect(check, machines.first??.id, world.vmID, "VM id")
        try expect(check, machines.first??.protectedBy, Self.vaultName, "VM protected by")
        try expect(check, machines.last ?? nil, nil, "a missing VM")
        let keyVaults = try await snapshot.keyVaults(named: [world.keyVault, "kv-conformance-missing"])
        try expect(check, keyVaults.first??.id, world.keyVaultID, "key vault id")
        try expect(check, keyVaults.first??.backupManagementServiceObjectID, world.backupManagementServiceObjectID, "backup service object id")
        try expect(check, keyVaults.first??.accessPolicies.contains { $0.objectID == world.backupManagementServiceObjectID }, true,
                   "key vault access policies")
        try expect(check, keyVaults.last ?? nil, nil, "a missing key vault")
        try expect(check, keyVaults.first??.permissionModel, .accessPolicies, "the permission model of a key vault with access policies")
        _ = try await provider.create(name: "bms-admin", spec: .keyVaultRoleAssignment(roleSpec))
        let rbac = try await provider.snapshot().keyVaults(named: [world.rbacKeyVault]).first ?? nil
        try expect(check, rbac?.permissionModel, .rbac, "the permission model of a key vault with Azure RBAC")
        try expect(check, rbac?.roleAssignments,
                   [KeyVaultFacts.RoleAssignmentEntry(objectID: world.backupManagementServiceObjectID, role: .keyVaultAdministrator)],
                   "the role assignments of a key vault with Azure RBAC")
        try expect(check, snapshot.operatorGrantsKeyVaultAccess, world.operatorGrantsKeyVaultAccess, "operator grants access")

        // A value: what changes afterwards does not change it.
        try await provider.delete(kind: .keyVaultAccessPolicy, id: accessID, deletionPolicy: .delete)
        try expect(check, try await snapshot.read([ResourceReference(kind: .keyVaultAccessPolicy, id: accessID)]).first ?? nil, direct[3],
                   "the snapshot after a delete")
    }

    // MARK: Expectations

    func expect<T: Equatable>(_ check: String, _ actual: T, _ expected: T, _ what: String) throws {
        guard actual == expected else {
            throw Failure(check: check, message: "\(what): got \(String(describing: actual)), expected \(String(describing: expected))")
        }
    }

    func expectCode(_ check: String, _ code: String, _ what: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ProviderError {
            guard error.code == code else { throw Failure(check: check, message: "\(what): got \(error.code) (\(error.message)), expected \(code)") }
            return
        } catch {
            throw Failure(check: check, message: "\(what): got \(error), expected a ProviderError \(code)")
        }
        throw Failure(check: check, message: "\(what): succeeded, expected \(code)")
    }
}

extension String {
    fileprivate func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
