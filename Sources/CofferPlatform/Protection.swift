import CofferModel
import CofferRules
import CofferSnapshot
import Foundation
import GRDB

/// How to stop protecting a VM.
public enum StopProtectionMode: String, Codable, Sendable, Hashable {
    /// Stop protection and retain data for ever (`ProtectionStopped`).
    case retainForever
    /// Stop protection and retain data as per policy (`BackupsSuspended`; immutable vaults only).
    case retainAsPerPolicy
}

extension Platform {
    // MARK: Protection

    /// Enables protection of a VM in a vault under a policy. For an ADE VM enabled by a member of the tenant
    /// whose key vault uses access policies, the Backup Management Service is granted the access policy it
    /// needs, as the portal does; a guest must grant it. On a key vault that uses Azure RBAC nothing is
    /// granted: the role must be assigned (a KeyVaultRoleAssignment), whoever the operator is. Protection is
    /// enabled either way; the backups fail until the access is there.
    @discardableResult
    public func enableProtection(
        vm: String, vault: String, policy: String, excludeDiskLuns: [Int] = [], includeDiskLuns: [Int] = [],
        deletionPolicy: DeletionPolicy = .retain, managedBy: String? = nil
    ) throws -> ProtectedItemInfo {
        try pool.write { db in
            try Self.itemInfo(
                db,
                try Self.enableProtection(
                    db, vm: vm, vault: vault, policy: policy, excludeDiskLuns: excludeDiskLuns, includeDiskLuns: includeDiskLuns,
                    deletionPolicy: deletionPolicy, managedBy: managedBy))
        }
    }

    /// `enableProtection`'s write, in the caller's transaction: the new item's row.
    static func enableProtection(
        _ db: Database, vm: String, vault: String, policy: String, excludeDiskLuns: [Int], includeDiskLuns: [Int],
        deletionPolicy: DeletionPolicy, managedBy: String?
    ) throws -> ProtectedItemRow {
        let vmRow = try Self.vm(db, vm)
        let vaultRow = try Self.vault(db, vault)
        let policyRow = try Self.policy(db, vault: vaultRow.name, name: policy)
        let lookup = Lookup(db)
        let facts = try Self.virtualMachineFacts(lookup, vmRow)
        if let existing = try Self.item(db, vm: vmRow.name), existing.vault == vaultRow.name {
            if existing.state == .softDeleted {
                throw PlatformError(PlatformErrorCode.softDeletedItemExists,
                                    "VM '\(vmRow.name)' has a soft-deleted backup item in vault '\(vaultRow.name)'",
                                    hint: "undelete it, then resume protection")
            }
            throw PlatformError(PlatformErrorCode.resourceAlreadyExists,
                                "VM '\(vmRow.name)' is already protected in vault '\(vaultRow.name)'",
                                hint: "change its policy instead, or import the existing item")
        }
        try Self.refuse(
            ProtectionRules.enable(
                vm: facts, vmSubscription: vmRow.subscription, vault: vaultRow.name, vaultSubscription: vaultRow.subscription,
                vaultRegion: vaultRow.region, vaultItems: try Self.registeredItems(db, vault: vaultRow.name),
                vaultSubscriptionName: vaultRow.subscription)
                + ProtectionRules.diskSelection(vm: facts, policyType: policyRow.spec.policyType, exclude: excludeDiskLuns, include: includeDiskLuns)
                + [ProtectionRules.securityType(vm: facts, policyType: policyRow.spec.policyType, policyName: policyRow.name)].compactMap { $0 })
        let identity = try Self.operatorIdentity(db)
        if vmRow.encryption.type == "ade", identity.type == .member, let keyVault = vmRow.encryption.keyVault,
            try Self.keyVault(db, keyVault).permissionModel == .accessPolicies
        {
            let needed = KeyVaultAccessRules.backupRequirement(for: vmRow.encryption.kind)
            try KeyVaultStore.grant(db, keyVault: keyVault, objectID: Self.backupManagementServiceObjectID,
                                    keys: needed.keys, secrets: needed.secrets)
        }
        let now = try Self.now(db)
        let row = ProtectedItemRow(
            vm: vmRow.name, vault: vaultRow.name, policy: policyRow.name, state: .irPending, deletionPolicy: deletionPolicy,
            excludeDiskLuns: excludeDiskLuns.sorted(), includeDiskLuns: includeDiskLuns.sorted(), managedBy: managedBy,
            created: now, scheduledThrough: now, lastBackup: nil, deletedAt: nil, purgeAt: nil)
        try row.insert(db)
        return row
    }

    /// Selective disk backup (`ProtectionRules.diskSelection`).
    static func checkDiskSelection(_ db: Database, vm: VMRow, policy: PolicyRow, exclude: [Int], include: [Int]) throws {
        let facts = try virtualMachineFacts(Lookup(db), vm)
        try refuse(ProtectionRules.diskSelection(vm: facts, policyType: policy.spec.policyType, exclude: exclude, include: include))
    }

    /// Moves a protected VM to another policy of its vault (Standard to Enhanced is allowed, not the reverse),
    /// and changes its disk selection.
    @discardableResult
    public func changeProtection(vm: String, policy: String, excludeDiskLuns: [Int]? = nil, includeDiskLuns: [Int]? = nil,
                                 deletionPolicy: DeletionPolicy? = nil) throws -> ProtectedItemInfo {
        try pool.write { db in
            guard var row = try Self.item(db, vm: vm), row.state != .softDeleted else {
                throw Self.notProtected(vm)
            }
            let vmRow = try Self.vm(db, row.vm)
            let vault = try Self.vault(db, row.vault)
            let newPolicy = try Self.policy(db, vault: row.vault, name: policy)
            if let oldName = row.policy, oldName != newPolicy.name {
                let old = try PolicyRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM policy WHERE vault = ? AND name = ?"), arguments: [row.vault, oldName])
                try Self.refuse(
                    ProtectionRules.changePolicy(
                        vm: row.vm, from: old?.spec, to: newPolicy.spec, named: newPolicy.name, vaultImmutability: vault.spec.immutability))
            }
            if row.policy?.lowercased() != newPolicy.name.lowercased(),
                let violation = ProtectionRules.securityType(
                    vm: try Self.virtualMachineFacts(Lookup(db), vmRow), policyType: newPolicy.spec.policyType, policyName: newPolicy.name)
            {
                throw PlatformError(violation)
            }
            let exclude = excludeDiskLuns ?? row.excludeDiskLuns
            let include = includeDiskLuns ?? row.includeDiskLuns
            try Self.checkDiskSelection(db, vm: vmRow, policy: newPolicy, exclude: exclude, include: include)
            row.policy = newPolicy.name
            row.excludeDiskLuns = exclude.sorted()
            row.includeDiskLuns = include.sorted()
            if let deletionPolicy { row.deletionPolicy = deletionPolicy }
            try row.update(db)
            return try Self.itemInfo(db, row)
        }
    }

    /// Stops protection, keeping the data for ever or as per policy.
    @discardableResult
    public func stopProtection(vm: String, mode: StopProtectionMode) throws -> ProtectedItemInfo {
        try pool.write { db in
            guard var row = try Self.item(db, vm: vm), row.state != .softDeleted else { throw Self.notProtected(vm) }
            let vault = try Self.vault(db, row.vault)
            switch mode {
            case .retainForever:
                if row.state == .protectionStopped { return try Self.itemInfo(db, row) }
                row.state = .protectionStopped
            case .retainAsPerPolicy:
                try Self.refuse(
                    ProtectionRules.suspend(
                        vm: row.vm, vault: vault.name, vaultImmutability: vault.spec.immutability,
                        status: ProtectionStatus(rawValue: row.state.rawValue) ?? .protected))
                row.state = .backupsSuspended
            }
            try row.update(db)
            return try Self.itemInfo(db, row)
        }
    }

    /// Resumes protection of a stopped or suspended VM, under its policy or another one.
    @discardableResult
    public func resumeProtection(vm: String, policy: String? = nil) throws -> ProtectedItemInfo {
        try pool.write { db in
            guard var row = try Self.item(db, vm: vm) else { throw Self.notProtected(vm) }
            guard row.state == .protectionStopped || row.state == .backupsSuspended else {
                throw PlatformError(PlatformErrorCode.invalidProtectionStateTransition,
                                    row.state == .softDeleted
                                        ? "the backup item of VM '\(row.vm)' is soft-deleted; undelete it first"
                                        : "protection of VM '\(row.vm)' is not stopped (\(row.state.rawValue))")
            }
            guard let name = policy ?? row.policy else {
                throw PlatformError(PlatformErrorCode.invalidConfigureProtectionRequest, "resuming protection of VM '\(row.vm)' needs a policy")
            }
            let policyRow = try Self.policy(db, vault: row.vault, name: name)
            let facts = try Self.virtualMachineFacts(Lookup(db), try Self.vm(db, row.vm))
            if let violation = ProtectionRules.securityType(vm: facts, policyType: policyRow.spec.policyType, policyName: policyRow.name) {
                throw PlatformError(violation)
            }
            let points = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM recoveryPoint WHERE vm = ?"), arguments: [row.vm]) ?? 0
            row.policy = policyRow.name
            row.state = points > 0 ? .protected : .irPending
            row.scheduledThrough = try Self.now(db)
            try row.update(db)
            return try Self.itemInfo(db, row)
        }
    }

    /// Stops protection and deletes the data: the item is soft-deleted for the vault's soft-delete period,
    /// then purged with its recovery points. Refused on an immutable vault while recovery points exist.
    @discardableResult
    public func deleteProtection(vm: String) throws -> ProtectedItemInfo {
        try pool.write { db in
            guard var row = try Self.item(db, vm: vm) else { throw Self.notProtected(vm) }
            if row.state == .softDeleted { return try Self.itemInfo(db, row) }
            let vault = try Self.vault(db, row.vault)
            let points = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM recoveryPoint WHERE vm = ?"), arguments: [row.vm]) ?? 0
            if let violation = ProtectionRules.deleteData(
                vm: row.vm, vault: vault.name, vaultImmutability: vault.spec.immutability, recoveryPoints: points)
            {
                throw PlatformError(violation)
            }
            let now = try Self.now(db)
            row.state = .softDeleted
            row.deletedAt = now
            row.purgeAt = now.addingTimeInterval(TimeInterval(vault.spec.softDeleteRetentionDays) * 86400)
            try row.update(db)
            return try Self.itemInfo(db, row)
        }
    }

    /// Undeletes a soft-deleted item: it returns with protection stopped and its data retained.
    @discardableResult
    public func undeleteProtection(vm: String) throws -> ProtectedItemInfo {
        try pool.write { db in
            guard var row = try Self.item(db, vm: vm) else { throw Self.notProtected(vm) }
            guard row.state == .softDeleted else {
                throw PlatformError(PlatformErrorCode.itemNotSoftDeleted, "the backup item of VM '\(row.vm)' is not soft-deleted")
            }
            row.state = .protectionStopped
            row.deletedAt = nil
            row.purgeAt = nil
            try row.update(db)
            return try Self.itemInfo(db, row)
        }
    }

    /// Every backup item, soft-deleted ones included.
    public func protectedItems() throws -> [ProtectedItemInfo] {
        try pool.read { db in
            let rows = try ProtectedItemRow.fetchAll(db, sql: "SELECT * FROM protectedItem ORDER BY vault, vm")
            // Many items: read the tables they refer to whole, instead of a handful of queries per item.
            let lookup = rows.count > 16 ? try Lookup.preloaded(db) : Lookup(db)
            return try rows.map { try Self.itemInfo(lookup, $0) }
        }
    }

    /// The backup items of one vault (its name as the platform spells it), by VM: what it costs is that
    /// vault's items', not every vault's.
    public func protectedItems(vault: String) throws -> [ProtectedItemInfo] {
        try pool.read { db in
            let rows = try ProtectedItemRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM protectedItem WHERE vault = ? ORDER BY vm"), arguments: [vault])
            let lookup = Lookup(db)
            return try rows.map { try Self.itemInfo(lookup, $0) }
        }
    }

    /// The backup item of a VM, or nil.
    public func protectedItem(vm: String) throws -> ProtectedItemInfo? {
        try pool.read { db in try Self.item(db, vm: vm).map { try Self.itemInfo(db, $0) } }
    }

    static func notProtected(_ vm: String) -> PlatformError {
        PlatformError(PlatformErrorCode.datasourceNotPresent, "VM '\(vm)' is not protected",
                      hint: "enable protection first (a ProtectedVM manifest, then 'coffer apply')")
    }

    static func itemInfo(_ db: Database, _ row: ProtectedItemRow) throws -> ProtectedItemInfo { try itemInfo(Lookup(db), row) }

    static func itemInfo(_ lookup: Lookup, _ row: ProtectedItemRow) throws -> ProtectedItemInfo {
        guard let vault = try lookup.vault(row.vault) else { throw Self.noVault(row.vault) }
        let vmRow = try lookup.vm(row.vm)
        let vaultSubscription = try lookup.subscription(named: vault.subscription)
        let vmSubscription = try lookup.subscription(named: vmRow?.subscription ?? vault.subscription)
        let vaultID = vaultID(subscriptionID: vaultSubscription?.id ?? "", resourceGroup: vault.resourceGroup, name: vault.name)
        let group = vmRow?.resourceGroup ?? ""
        let lastStatus = try lookup.lastBackupStatus(vm: row.vm)
        let points = try lookup.recoveryPointCount(vm: row.vm)
        return ProtectedItemInfo(
            vm: row.vm, id: protectedItemID(vaultID: vaultID, vmResourceGroup: group, vm: row.vm),
            vmID: Self.vmID(subscriptionID: vmSubscription?.id ?? "", resourceGroup: group, name: row.vm), vmResourceGroup: group,
            vault: row.vault, policy: row.policy, state: row.state, deletionPolicy: row.deletionPolicy,
            excludeDiskLuns: row.excludeDiskLuns, includeDiskLuns: row.includeDiskLuns, managedBy: row.managedBy,
            lastBackup: row.lastBackup, lastBackupStatus: lastStatus, recoveryPoints: points, purgeAt: row.purgeAt)
    }
}
