import CofferModel
import Foundation
import GRDB

/// The write side of the provider: how a create, update or delete of each manifest kind is carried out on
/// the platform, step by step as azurerm does it (a Locked vault created Unlocked then locked, a
/// soft-deleted item recovered and resumed, protection stopped or resumed to reach the wanted state). Each
/// recipe runs the platform's own operations, so the service's rules and error codes apply.
extension Platform {
    func createResource(name: String, spec: ResourceSpec) throws -> ObservedResource {
        try providing {
            switch spec {
            case .vault(let vault):
                var first = vault
                // The service cannot create a vault Locked: create it Unlocked, then lock it (as azurerm does).
                if vault.immutability == .locked { first.immutability = .unlocked }
                try createVault(name: name, spec: first, managedBy: ObservedResource.managedByValue)
                if vault.immutability == .locked { try updateVault(name: name, spec: vault) }
                return try observed(kind: .recoveryServicesVault, name: name)
            case .backupPolicy(let policy):
                try createPolicy(name: name, spec: policy, managedBy: ObservedResource.managedByValue)
                return try observedPolicy(vault: policy.vault, name: name)
            case .protectedVM(let protected):
                // The common case in one write: a VM with no soft-deleted item in the vault, protected as
                // asked. The item as the reconciler observes it is read after, outside the writer, which
                // every step's write waits for.
                if protected.protectionState == .protected, let vm = try pool.write({ db -> String? in
                    let vm = try Self.checkedVM(db, protected.vm)
                    if let existing = try Self.item(db, vm: vm), existing.state == .softDeleted,
                        existing.vault.lowercased() == protected.vault.lowercased() {
                        return nil
                    }
                    _ = try Self.enableProtection(
                        db, vm: vm, vault: protected.vault, policy: protected.policy, excludeDiskLuns: protected.excludeDiskLuns,
                        includeDiskLuns: protected.includeDiskLuns, deletionPolicy: protected.deletionPolicy,
                        managedBy: ObservedResource.managedByValue)
                    return vm
                }) {
                    return try observedItem(vm: vm)
                }
                let vm = try checkedVM(protected.vm)
                if protected.protectionState == .backupsSuspended, try self.vault(named: protected.vault)?.spec.immutability == .disabled {
                    throw PlatformError(PlatformErrorCode.backupsSuspendedNeedsImmutability,
                                        "stop protection and retain data as per policy needs an immutable vault; '\(protected.vault)' has immutability Disabled",
                                        hint: "use protectionState ProtectionStopped, or make the vault immutable")
                }
                if let existing = try protectedItem(vm: vm), existing.state == .softDeleted,
                    existing.vault.lowercased() == protected.vault.lowercased() {
                    // Recover the soft-deleted item and resume it, as azurerm's recover_soft_deleted_backup_protected_vm does.
                    try undeleteProtection(vm: vm)
                    try changeProtection(vm: vm, policy: protected.policy, excludeDiskLuns: protected.excludeDiskLuns,
                                         includeDiskLuns: protected.includeDiskLuns, deletionPolicy: protected.deletionPolicy)
                    try resumeProtection(vm: vm, policy: protected.policy)
                    try pool.write { db in
                        try db.execute(sql: "UPDATE protectedItem SET managedBy = ? WHERE vm = ?", arguments: [ObservedResource.managedByValue, vm])
                    }
                } else {
                    try enableProtection(vm: vm, vault: protected.vault, policy: protected.policy,
                                         excludeDiskLuns: protected.excludeDiskLuns, includeDiskLuns: protected.includeDiskLuns,
                                         deletionPolicy: protected.deletionPolicy, managedBy: ObservedResource.managedByValue)
                }
                try applyProtectionState(vm: vm, wanted: protected.protectionState, policy: protected.policy)
                return try observedItem(vm: vm)
            case .keyVaultAccessPolicy(let access):
                let objectID = Self.objectID(of: access.principal)
                try pool.write { db in
                    let keyVault = try Self.keyVault(db, access.keyVault)
                    try KeyVaultStore.checkAccessPolicyAccepted(db, keyVault: keyVault.name)
                    if try KeyVaultStore.accessPolicy(db, keyVault: keyVault.name, objectID: objectID) != nil {
                        throw PlatformError(PlatformErrorCode.resourceAlreadyExists,
                                            "key vault '\(keyVault.name)' already has an access policy for '\(access.principal)'",
                                            hint: "import it (coffer adopts it when it matches) or update it")
                    }
                    let count = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM accessPolicy WHERE keyVault = ?"), arguments: [keyVault.name]) ?? 0
                    if count >= 1024 {
                        throw PlatformError(PlatformErrorCode.limitExceeded, "key vault '\(keyVault.name)' already holds 1024 access policies")
                    }
                    try AccessPolicyRow(keyVault: keyVault.name, objectID: objectID, keyPermissions: access.keyPermissions,
                                        secretPermissions: access.secretPermissions, managedBy: ObservedResource.managedByValue).insert(db)
                }
                return try observedAccessPolicy(keyVault: access.keyVault, objectID: objectID)
            case .keyVaultRoleAssignment(let assignment):
                let row = try pool.write { db in
                    try KeyVaultStore.assignRole(db, keyVault: assignment.keyVault, objectID: Self.objectID(of: assignment.principal),
                                                 role: assignment.role, managedBy: ObservedResource.managedByValue)
                }
                return try observedRoleAssignment(keyVault: row.keyVault, name: row.name)
            }
        }
    }

    func updateResource(id: String, name: String, spec: ResourceSpec) throws -> ObservedResource {
        try providing {
            switch spec {
            case .vault(let vault):
                let current = try self.vault(named: name)?.spec
                if current?.immutability == .disabled && vault.immutability == .locked {
                    // Disabled goes through Unlocked to Locked.
                    var step = vault
                    step.immutability = .unlocked
                    try updateVault(name: name, spec: step)
                }
                try updateVault(name: name, spec: vault)
                return try observed(kind: .recoveryServicesVault, name: name)
            case .backupPolicy(let policy):
                try updatePolicy(name: name, spec: policy)
                return try observedPolicy(vault: policy.vault, name: name)
            case .protectedVM(let protected):
                let vm = try checkedVM(protected.vm)
                guard let item = try protectedItem(vm: vm), item.state != .softDeleted else { throw Self.notProtected(vm) }
                guard item.vault.lowercased() == protected.vault.lowercased() else {
                    throw PlatformError(PlatformErrorCode.vmAlreadyProtected,
                                        "VM '\(vm)' is protected in vault '\(item.vault)'; moving it to '\(protected.vault)' needs a new item",
                                        hint: "stop protection and delete its data in '\(item.vault)', then protect it in '\(protected.vault)'")
                }
                let stopped = item.state == .protectionStopped || item.state == .backupsSuspended
                if stopped && protected.protectionState == .protected {
                    try resumeProtection(vm: vm, policy: protected.policy)
                }
                try changeProtection(vm: vm, policy: protected.policy, excludeDiskLuns: protected.excludeDiskLuns,
                                     includeDiskLuns: protected.includeDiskLuns, deletionPolicy: protected.deletionPolicy)
                try applyProtectionState(vm: vm, wanted: protected.protectionState, policy: protected.policy)
                return try observedItem(vm: vm)
            case .keyVaultAccessPolicy(let access):
                try setAccessPolicy(keyVault: access.keyVault, principal: access.principal, keyPermissions: access.keyPermissions,
                                    secretPermissions: access.secretPermissions)
                return try observedAccessPolicy(keyVault: access.keyVault, objectID: Self.objectID(of: access.principal))
            case .keyVaultRoleAssignment:
                // An assignment's scope, principal and role cannot change (ARM's RoleAssignmentUpdateNotPermitted):
                // only one that already says what `spec` says can be "updated", to itself.
                guard let keyVault = Self.segment(id, after: "vaults"), let name = Self.segment(id, after: "roleAssignments") else {
                    throw Self.badID(id)
                }
                let current = try observedRoleAssignment(keyVault: keyVault, name: name.lowercased())
                // The same scope, principal and role give the same GUID: the id `spec` would have.
                let wanted = try pool.read { db in try Self.resourceID(Lookup(db), name: name, spec: spec, parents: ResourceParents()) }
                guard wanted?.lowercased() == current.id.lowercased() else {
                    throw PlatformError(PlatformErrorCode.roleAssignmentUpdateNotPermitted,
                                        "the scope, principal and role of role assignment '\(name)' cannot be changed",
                                        hint: "delete the assignment and create a new one")
                }
                return current
            }
        }
    }

    func deleteResource(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) throws {
        try providing {
            switch kind {
            case .recoveryServicesVault:
                guard let name = Self.segment(id, after: "vaults") else { throw Self.badID(id) }
                try deleteVault(name: name)
            case .backupPolicy:
                guard let vault = Self.segment(id, after: "vaults"), let name = Self.segment(id, after: "backupPolicies") else {
                    throw Self.badID(id)
                }
                try deletePolicy(vault: vault, name: name)
            case .protectedVM:
                guard let item = Self.segment(id, after: "protectedItems"), let vm = item.split(separator: ";").last.map(String.init) else {
                    throw Self.badID(id)
                }
                switch deletionPolicy {
                case .retain: try stopProtection(vm: vm, mode: .retainForever)
                case .delete: try deleteProtection(vm: vm)
                }
            case .keyVaultAccessPolicy:
                guard let keyVault = Self.segment(id, after: "vaults"), let objectID = Self.segment(id, after: "objectId") else {
                    throw Self.badID(id)
                }
                try removeAccessPolicy(keyVault: keyVault, principal: .objectID(objectID))
            case .keyVaultRoleAssignment:
                guard let keyVault = Self.segment(id, after: "vaults"), let name = Self.segment(id, after: "roleAssignments") else {
                    throw Self.badID(id)
                }
                try pool.write { db in
                    let vault = try Self.keyVault(db, keyVault)
                    guard let row = try KeyVaultStore.roleAssignments(db, keyVault: vault.name).first(where: { $0.name == name.lowercased() }) else {
                        throw PlatformError(PlatformErrorCode.resourceNotFound, "key vault '\(vault.name)' has no role assignment '\(name)'")
                    }
                    try row.delete(db)
                }
            }
        }
    }

    /// The VM a reference names, checking its resource group and subscription.
    func checkedVM(_ reference: VMReference) throws -> String {
        try pool.read { db in try Self.checkedVM(db, reference) }
    }

    static func checkedVM(_ db: Database, _ reference: VMReference) throws -> String {
        let row = try Self.vm(db, reference.name)
        let subscription = try Self.subscription(db, reference.subscription)
        guard row.resourceGroup.lowercased() == reference.resourceGroup.lowercased(), row.subscription == subscription.name else {
            throw PlatformError(PlatformErrorCode.resourceNotFound,
                                "there is no VM '\(reference.name)' in resource group '\(reference.resourceGroup)' of subscription '\(subscription.name)'",
                                hint: "VM '\(row.name)' is in resource group '\(row.resourceGroup)' of subscription '\(row.subscription)'")
        }
        return row.name
    }

    func applyProtectionState(vm: String, wanted: ProtectionState, policy: String) throws {
        guard let item = try protectedItem(vm: vm) else { return }
        switch wanted {
        case .protected:
            if item.state == .protectionStopped || item.state == .backupsSuspended { try resumeProtection(vm: vm, policy: policy) }
        case .protectionStopped:
            if item.state != .protectionStopped { try stopProtection(vm: vm, mode: .retainForever) }
        case .backupsSuspended:
            if item.state != .backupsSuspended { try stopProtection(vm: vm, mode: .retainAsPerPolicy) }
        }
    }
}
