import CofferModel
import Foundation
import GRDB

/// The platform as the reconciler drives it: the five manifest kinds read, created, updated and deleted
/// through the same rules as the rest of the platform, with failures as `ProviderError`s carrying the
/// service's error codes. What coffer creates is marked `managed-by: coffer`.
///
/// This file is the read side (reads, snapshots, facts) and the ids; the create, update and delete recipes
/// are in `PlatformProvider+Recipes.swift`. The platform itself is synchronous (GRDB): each `async` call
/// runs the platform's synchronous operations on the caller's task; a read or a snapshot is one read
/// transaction.
///
/// Ids are ARM-style. Vault names are unique in the platform, so a policy or protected item is found by
/// its vault's name and its own; the id of a child whose vault does not exist yet is built from the vault
/// the desired state declares (`ResourceParents`), as it will be once created.
extension Platform: Provider {
    /// Runs `body`, turning platform errors into provider errors.
    func providing<T>(_ body: () throws -> T) throws -> T {
        try Self.providing(body)
    }

    static func providing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PlatformError {
            throw error.providerError
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError(code: PlatformErrorCode.storageError, message: "the platform failed: \(error)", retryable: true,
                                underlying: error)
        }
    }

    public func resourceID(name: String, spec: ResourceSpec, parents: ResourceParents) async throws -> String? {
        try providing { try pool.read { db in try Self.resourceID(Lookup(db), name: name, spec: spec, parents: parents) } }
    }

    /// The tables a plan reads, loaded whole in one read transaction (`Lookup.preloaded`), with the
    /// operator's identity from the same transaction. The planner takes it while it loads the manifests.
    public func snapshot() async throws -> any ProviderSnapshot {
        try providing {
            try pool.read { db in
                PlatformSnapshot(
                    lookup: try Lookup.preloaded(db), operatorGrantsKeyVaultAccess: try Self.operatorIdentity(db).type == .member,
                    platformTime: formatISO8601(try Self.now(db)))
            }
        }
    }

    /// The id of a resource, its parents looked up in `lookup`, else in `parents`. Nil when a parent is
    /// unknown: a vault neither on the platform nor in `parents`, or a key vault the platform does not have
    /// (a key vault is not coffer's to create, so its resource group cannot be known; the plan reports it
    /// as missing).
    static func resourceID(_ lookup: Lookup, name: String, spec: ResourceSpec, parents: ResourceParents) throws -> String? {
        switch spec {
        case .vault(let vault):
            let subscription = try lookup.subscription(vault.subscription)
            return Self.vaultID(subscriptionID: subscription.id, resourceGroup: vault.resourceGroup, name: name)
        case .backupPolicy(let policy):
            return try Self.vaultID(lookup, policy.vault, parents: parents).map { Self.policyID(vaultID: $0, name: name) }
        case .protectedVM(let protected):
            return try Self.vaultID(lookup, protected.vault, parents: parents).map {
                Self.protectedItemID(vaultID: $0, vmResourceGroup: protected.vm.resourceGroup, vm: protected.vm.name)
            }
        case .keyVaultAccessPolicy(let access):
            guard let row = try lookup.keyVault(access.keyVault) else { return nil }
            let subscription = try lookup.subscription(row.subscription)
            let keyVaultID = Self.keyVaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name)
            return Self.accessPolicyID(keyVaultID: keyVaultID, objectID: Self.objectID(of: access.principal))
        case .keyVaultRoleAssignment(let assignment):
            // The assignment's GUID derives from its scope, principal and role, so its id is known before it
            // exists; a role the platform does not know gives no id (the plan reports the role as missing).
            guard let row = try lookup.keyVault(assignment.keyVault) else { return nil }
            let subscription = try lookup.subscription(row.subscription)
            let keyVaultID = Self.keyVaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name)
            guard let role = try Self.role(lookup, assignment.role) else { return nil }
            let name = RoleDefinition.assignmentName(
                scope: keyVaultID, principalObjectID: Self.objectID(of: assignment.principal), roleDefinitionID: role.id)
            return Self.roleAssignmentID(keyVaultID: keyVaultID, name: name)
        }
    }

    /// The role with this name or GUID: built-in, else one of the tenant's custom roles.
    static func role(_ lookup: Lookup, _ nameOrID: String) throws -> RoleDefinition? {
        if let builtIn = RoleDefinition.builtIn(nameOrID) { return builtIn }
        let wanted = nameOrID.lowercased()
        return try lookup.customRoles().first { $0.name.lowercased() == wanted || $0.id == wanted }
    }

    /// The id of the vault named `vault`: the platform's when it exists, else the one its declared spec
    /// gives it (subscription, resource group, name); nil when neither knows it.
    static func vaultID(_ lookup: Lookup, _ vault: String, parents: ResourceParents) throws -> String? {
        if let row = try lookup.vault(vault) {
            let subscription = try lookup.subscription(row.subscription)
            return vaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name)
        }
        guard let spec = parents.vault(vault) else { return nil }
        let subscription = try lookup.subscription(spec.subscription)
        return vaultID(subscriptionID: subscription.id, resourceGroup: spec.resourceGroup, name: vault)
    }

    /// The segment after `marker` in an id (case-insensitive), up to the next `/`.
    static func segment(_ id: String, after marker: String) -> String? {
        // A byte scan: Foundation's case-insensitive search, or splitting the id, costs more than the rest
        // of a read. Markers are ASCII; letters compare case-insensitively.
        let wanted = Array(marker.utf8)
        var id = id
        return id.withUTF8 { bytes -> String? in
            let slash: UInt8 = 0x2f
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != slash { end += 1 }
                if end - start == wanted.count, end < bytes.count,
                    (0..<wanted.count).allSatisfy({ Self.asciiLower(bytes[start + $0]) == Self.asciiLower(wanted[$0]) })
                {
                    let valueStart = end + 1
                    var valueEnd = valueStart
                    while valueEnd < bytes.count && bytes[valueEnd] != slash { valueEnd += 1 }
                    return valueEnd > valueStart ? String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self) : nil
                }
                start = end + 1
            }
            return nil
        }
    }

    private static func asciiLower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte }

    public func read(kind: ResourceKind, id: String) async throws -> ObservedResource? {
        try providing { try pool.read { db in try Self.read(Lookup(db), kind: kind, id: id) } }
    }

    public func create(name: String, spec: ResourceSpec) async throws -> ObservedResource {
        try createResource(name: name, spec: spec)
    }

    public func update(id: String, name: String, spec: ResourceSpec) async throws -> ObservedResource {
        try updateResource(id: id, name: name, spec: spec)
    }

    public func delete(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) async throws {
        try deleteResource(kind: kind, id: id, deletionPolicy: deletionPolicy)
    }

    static func read(_ lookup: Lookup, kind: ResourceKind, id: String) throws -> ObservedResource? {
        switch kind {
        case .recoveryServicesVault:
            guard let name = Self.segment(id, after: "vaults"), let row = try lookup.vault(name) else { return nil }
            return try Self.observedVault(lookup, row)
        case .backupPolicy:
            guard let vault = Self.segment(id, after: "vaults"), let name = Self.segment(id, after: "backupPolicies"),
                let row = try lookup.policy(vault: vault, name: name)
            else { return nil }
            return try Self.observedPolicy(lookup, row)
        case .protectedVM:
            guard let vault = Self.segment(id, after: "vaults"), let item = Self.segment(id, after: "protectedItems"),
                let vm = item.split(separator: ";").last.map(String.init),
                let row = try lookup.item(vm: vm), row.vault.lowercased() == vault.lowercased(), row.state != .softDeleted
            else { return nil }
            return try Self.observedItem(lookup, row)
        case .keyVaultAccessPolicy:
            guard let keyVault = Self.segment(id, after: "vaults"), let objectID = Self.segment(id, after: "objectId"),
                let row = try lookup.accessPolicy(keyVault: keyVault, objectID: objectID)
            else { return nil }
            return try Self.observedAccessPolicy(lookup, row)
        case .keyVaultRoleAssignment:
            guard let keyVault = Self.segment(id, after: "vaults"), let name = Self.segment(id, after: "roleAssignments"),
                let vault = try lookup.keyVault(keyVault),
                let row = try lookup.roleAssignments(keyVault: vault.name).first(where: { $0.name == name.lowercased() })
            else { return nil }
            return try Self.observedRoleAssignment(lookup, row)
        }
    }

    static func virtualMachine(_ lookup: Lookup, _ reference: VMReference) throws -> VirtualMachineFacts? {
        guard let row = try lookup.vm(reference.name),
            row.resourceGroup.lowercased() == reference.resourceGroup.lowercased(),
            try lookup.subscription(reference.subscription).name == row.subscription
        else { return nil }
        return try virtualMachineFacts(lookup, row)
    }

    /// What the rules need to know about a VM: its placement, encryption, agent, disks and backup item.
    static func virtualMachineFacts(_ lookup: Lookup, _ row: VMRow) throws -> VirtualMachineFacts {
        let subscription = try lookup.subscription(row.subscription)
        var certificateBacked = false
        if let kek = row.encryption.kek, let keyVault = row.encryption.keyVault {
            certificateBacked = try lookup.keyIsCertificateBacked(keyVault: keyVault, name: kek)
        }
        let set = try row.encryption.diskEncryptionSet.flatMap { try lookup.diskEncryptionSet($0) }.map {
            DiskEncryptionSetFacts(name: $0.name, keyVault: $0.keyVault, key: $0.key, identityObjectID: $0.identityObjectID)
        }
        let protection = try lookup.item(vm: row.name).map {
            VMProtectionFacts(
                vault: $0.vault, policy: $0.policy, status: ProtectionStatus(rawValue: $0.state.rawValue) ?? .protected,
                recoveryPoints: try lookup.recoveryPointCount(vm: row.name))
        }
        return VirtualMachineFacts(
            id: Self.vmID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name),
            reference: VMReference(subscription: subscription.isDefault ? nil : subscription.name, resourceGroup: row.resourceGroup,
                                   name: row.name),
            subscription: row.subscription, region: row.region, os: row.os, encryption: row.encryption.kind,
            keyVault: row.encryption.keyVault, bekSecret: row.encryption.bekSecret, kek: row.encryption.kek,
            kekIsCertificateBacked: certificateBacked, agentState: row.agent, disks: try lookup.disks(vm: row.name),
            diskEncryptionSet: set, protection: protection, securityType: row.security)
    }

    /// A key vault's facts for the rules and the plan: its permission model, its access policies, its role
    /// assignments with their roles resolved (an assignment whose custom role is gone grants nothing), and
    /// the custom roles that can be assigned on it. The VMs whose disk keys it holds only when asked
    /// (`withEncryptedVMs`, for the plan's snapshot): finding them reads VMs, which the platform's own checks
    /// of a key vault do not need.
    static func keyVaultFacts(_ lookup: Lookup, _ name: String, withEncryptedVMs: Bool = false) throws -> KeyVaultFacts? {
        guard let row = try lookup.keyVault(name) else { return nil }
        let subscription = try lookup.subscription(row.subscription)
        let policies = try lookup.accessPolicies(keyVault: row.name)
        let customRoles = try lookup.customRoles()
        let assignments = try lookup.roleAssignments(keyVault: row.name).compactMap { assignment -> KeyVaultFacts.RoleAssignmentEntry? in
            let role = RoleDefinition.builtIn(assignment.roleDefinitionID) ?? customRoles.first { $0.id == assignment.roleDefinitionID }
            return role.map { KeyVaultFacts.RoleAssignmentEntry(objectID: assignment.objectID, role: $0) }
        }
        var encrypted: [VMReference] = []
        for vm in withEncryptedVMs ? try lookup.encryptedVMs(keyVault: row.name) : [] {
            guard let vmRow = try lookup.vm(vm) else { continue }
            let vmSubscription = try lookup.subscription(vmRow.subscription)
            encrypted.append(VMReference(subscription: vmSubscription.isDefault ? nil : vmSubscription.name, resourceGroup: vmRow.resourceGroup, name: vmRow.name))
        }
        return KeyVaultFacts(
            id: Self.keyVaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name), name: row.name,
            subscription: row.subscription, region: row.region, permissionModel: row.permissionModel,
            accessPolicies: policies.map { .init(objectID: $0.objectID, keyPermissions: $0.keyPermissions, secretPermissions: $0.secretPermissions) },
            roleAssignments: assignments, customRoles: customRoles,
            backupManagementServiceObjectID: Self.backupManagementServiceObjectID, softDelete: row.softDelete,
            purgeProtection: row.purgeProtection, keys: try lookup.keys(keyVault: row.name), secrets: try lookup.secrets(keyVault: row.name),
            encryptedVMs: encrypted)
    }

    // MARK: Helpers

    static func badID(_ id: String) -> PlatformError {
        PlatformError(PlatformErrorCode.invalidArgument, "'\(id)' is not an id of this kind of resource")
    }

    func observed(kind: ResourceKind, name: String) throws -> ObservedResource {
        try pool.read { db in try Self.observedVault(Lookup(db), try Self.vault(db, name)) }
    }

    func observedPolicy(vault: String, name: String) throws -> ObservedResource {
        try pool.read { db in try Self.observedPolicy(Lookup(db), try Self.policy(db, vault: vault, name: name)) }
    }

    func observedItem(vm: String) throws -> ObservedResource {
        try pool.read { db in
            guard let row = try Self.item(db, vm: vm) else { throw Self.notProtected(vm) }
            return try Self.observedItem(Lookup(db), row)
        }
    }

    func observedAccessPolicy(keyVault: String, objectID: String) throws -> ObservedResource {
        try pool.read { db in
            guard let row = try KeyVaultStore.accessPolicy(db, keyVault: keyVault, objectID: objectID) else {
                throw PlatformError(PlatformErrorCode.resourceNotFound, "key vault '\(keyVault)' has no access policy for '\(objectID)'")
            }
            return try Self.observedAccessPolicy(Lookup(db), row)
        }
    }

    func observedRoleAssignment(keyVault: String, name: String) throws -> ObservedResource {
        try pool.read { db in
            let vault = try Self.keyVault(db, keyVault)
            guard let row = try KeyVaultStore.roleAssignments(db, keyVault: vault.name).first(where: { $0.name == name }) else {
                throw PlatformError(PlatformErrorCode.resourceNotFound, "key vault '\(keyVault)' has no role assignment '\(name)'")
            }
            return try Self.observedRoleAssignment(Lookup(db), row)
        }
    }

    static func managedTags(_ managedBy: String?) -> [String: String] {
        managedBy.map { [ObservedResource.managedByTag: $0] } ?? [:]
    }

    static func observedVault(_ lookup: Lookup, _ row: VaultRow) throws -> ObservedResource {
        let info = try vaultInfo(lookup, row)
        return ObservedResource(id: info.id, spec: .vault(info.spec), name: info.name, tags: info.tags,
                                status: .vault(VaultStatus(registeredItems: info.registeredItems, identityPrincipalID: info.identityPrincipalID)))
    }

    static func observedPolicy(_ lookup: Lookup, _ row: PolicyRow) throws -> ObservedResource {
        let info = try policyInfo(lookup, row)
        return ObservedResource(id: info.id, spec: .backupPolicy(info.spec), name: info.name, tags: managedTags(row.managedBy),
                                status: .backupPolicy(BackupPolicyStatus(protectedItems: info.protectedItems)))
    }

    static func observedItem(_ lookup: Lookup, _ row: ProtectedItemRow) throws -> ObservedResource {
        let info = try itemInfo(lookup, row)
        let vm = try lookup.vm(row.vm)
        let subscription = try vm.map { try lookup.subscription($0.subscription) }
        let state: ProtectionState = switch row.state {
        case .protectionStopped: .protectionStopped
        case .backupsSuspended: .backupsSuspended
        default: .protected
        }
        let spec = ProtectedVMSpec(
            vm: VMReference(subscription: subscription?.isDefault == false ? subscription?.name : nil, resourceGroup: info.vmResourceGroup,
                            name: row.vm),
            vault: row.vault, policy: row.policy ?? "", protectionState: state, deletionPolicy: row.deletionPolicy,
            excludeDiskLuns: row.excludeDiskLuns, includeDiskLuns: row.includeDiskLuns)
        let status = ProtectedItemStatus(
            protectionStatus: ProtectionStatus(rawValue: row.state.rawValue) ?? .protected, recoveryPoints: info.recoveryPoints, vmID: info.vmID,
            lastBackupStatus: info.lastBackupStatus, lastBackupTime: info.lastBackup.map(formatISO8601))
        return ObservedResource(id: info.id, spec: .protectedVM(spec), name: row.vm, tags: managedTags(row.managedBy), status: .protectedVM(status))
    }

    static func observedAccessPolicy(_ lookup: Lookup, _ row: AccessPolicyRow) throws -> ObservedResource {
        guard let keyVault = try lookup.keyVault(row.keyVault) else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no key vault '\(row.keyVault)'")
        }
        let subscription = try lookup.subscription(keyVault.subscription)
        let id = accessPolicyID(keyVaultID: keyVaultID(subscriptionID: subscription.id, resourceGroup: keyVault.resourceGroup, name: keyVault.name),
                                objectID: row.objectID)
        let principal: Principal = row.objectID == backupManagementServiceObjectID ? .backupManagementService : .objectID(row.objectID)
        let spec = KeyVaultAccessPolicySpec(keyVault: keyVault.name, principal: principal, keyPermissions: row.keyPermissions,
                                            secretPermissions: row.secretPermissions)
        return ObservedResource(id: id, spec: .keyVaultAccessPolicy(spec), name: row.objectID, tags: managedTags(row.managedBy))
    }

    /// A role assignment read back: its role by name (the role's GUID when the role no longer exists), the
    /// Backup Management Service's object id as `.backupManagementService`; its name is the assignment's GUID.
    static func observedRoleAssignment(_ lookup: Lookup, _ row: RoleAssignmentRow) throws -> ObservedResource {
        guard let keyVault = try lookup.keyVault(row.keyVault) else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no key vault '\(row.keyVault)'")
        }
        let subscription = try lookup.subscription(keyVault.subscription)
        let keyVaultID = keyVaultID(subscriptionID: subscription.id, resourceGroup: keyVault.resourceGroup, name: keyVault.name)
        let principal: Principal = row.objectID == backupManagementServiceObjectID ? .backupManagementService : .objectID(row.objectID)
        let role = try Self.role(lookup, row.roleDefinitionID)?.name ?? row.roleDefinitionID
        let spec = KeyVaultRoleAssignmentSpec(keyVault: keyVault.name, principal: principal, role: role)
        return ObservedResource(id: roleAssignmentID(keyVaultID: keyVaultID, name: row.name), spec: .keyVaultRoleAssignment(spec),
                                name: row.name, tags: managedTags(row.managedBy))
    }
}

/// The platform at one moment, for a plan: the tables a refresh reads, loaded whole in one read transaction.
/// The lookup never touches the database again, so every batch is answered on every core.
struct PlatformSnapshot: ProviderSnapshot {
    let lookup: Lookup
    let operatorGrantsKeyVaultAccess: Bool
    let platformTime: String?

    func resourceIDs(_ resources: [ResourceDeclaration], parents: ResourceParents) async throws -> [String?] {
        try Platform.providing {
            try resources.concurrentMap { try Platform.resourceID(lookup, name: $0.name, spec: $0.spec, parents: parents) }
        }
    }

    func read(_ requests: [ResourceReference]) async throws -> [ObservedResource?] {
        try Platform.providing { try requests.concurrentMap { try Platform.read(lookup, kind: $0.kind, id: $0.id) } }
    }

    func virtualMachines(_ references: [VMReference]) async throws -> [VirtualMachineFacts?] {
        try Platform.providing { try references.concurrentMap { try Platform.virtualMachine(lookup, $0) } }
    }

    func keyVaults(named names: [String]) async throws -> [KeyVaultFacts?] {
        try Platform.providing { try names.map { try Platform.keyVaultFacts(lookup, $0, withEncryptedVMs: true) } }
    }

    func resourceGroupsExist(_ groups: [ResourceGroupReference]) async throws -> [Bool] {
        try Platform.providing {
            try groups.map { group in
                guard let subscription = try? lookup.subscription(group.subscription) else { return false }
                return try lookup.resourceGroupExists(subscription: subscription.name, name: group.name)
            }
        }
    }

    func availableRegions() async throws -> [String] {
        try Platform.providing { try lookup.availableRegions() }
    }
}
