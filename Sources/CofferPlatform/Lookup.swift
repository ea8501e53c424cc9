import CofferModel
import Foundation
import GRDB

/// The row lookups that describing a resource needs (its vault, VM, subscription, key vault, counts),
/// inside one read transaction, each answer remembered for the rest of it.
///
/// A lookup made for one resource asks SQLite row by row. A lookup made with `preloaded` reads the tables
/// a refresh touches whole, in a handful of queries, plus the per-VM job and recovery-point aggregates, so
/// that describing N resources costs a few scans instead of ten queries per resource.
///
/// A preloaded lookup never touches the database again, so it may outlive its transaction and be read from
/// several threads (it is not changed after `preloaded` returns).
final class Lookup: @unchecked Sendable {
    let db: Database
    private let complete: Bool
    /// Whether the tables were loaded whole (and the lookup is read-only and needs no database).
    var isPreloaded: Bool { complete }

    private var subscriptionRows: [SubscriptionRow]?
    private var subscriptionsByName: [String: SubscriptionRow] = [:]
    private var subscriptionsByID: [String: SubscriptionRow] = [:]
    private var vaults: [String: VaultRow?] = [:]
    private var vms: [String: VMRow?] = [:]
    private var items: [String: ProtectedItemRow?] = [:]
    private var policies: [String: PolicyRow?] = [:]
    private var keyVaults: [String: KeyVaultRow?] = [:]
    private var accessPolicyRows: [String: AccessPolicyRow?] = [:]
    private var accessPoliciesByVault: [String: [AccessPolicyRow]] = [:]
    private var roleAssignmentsByVault: [String: [RoleAssignmentRow]] = [:]
    private var customRoleRows: [RoleDefinition]?
    private var certificateBackedKeys: [String: Bool] = [:]
    private var lastBackupStatuses: [String: String?] = [:]
    private var pointCounts: [String: Int] = [:]
    private var itemsPerVault: [String: Int] = [:]
    private var itemsPerPolicy: [String: Int] = [:]
    private var diskFacts: [String: [DiskFacts]] = [:]
    private var activeKeys: [String: [KeyVaultFacts.KeyEntry]] = [:]
    private var activeSecrets: [String: [String]] = [:]
    private var encryptionSets: [String: DiskEncryptionSetRow?] = [:]
    private var vmsByKeyVault: [String: [String]] = [:]
    private var groups: Set<String>?
    private var regions: [String]?

    /// Row by row, for a few resources.
    init(_ db: Database) {
        self.db = db
        complete = false
    }

    /// Whole tables at once, for many resources.
    static func preloaded(_ db: Database) throws -> Lookup {
        let lookup = Lookup(db, complete: true)
        try lookup.preload()
        return lookup
    }

    private init(_ db: Database, complete: Bool) {
        self.db = db
        self.complete = complete
    }

    private static func key(_ name: String) -> String { name.lowercased() }
    private static func key(_ first: String, _ second: String) -> String { first.lowercased() + "\u{1}" + second.lowercased() }

    private func preload() throws {
        _ = try subscriptions()
        for row in try VaultRow.fetchAll(db, sql: "SELECT * FROM vault") { vaults[Self.key(row.name)] = row }
        for row in try VMRow.fetchAll(db, sql: "SELECT * FROM virtualMachine") { vms[Self.key(row.name)] = row }
        for row in try ProtectedItemRow.fetchAll(db, sql: "SELECT * FROM protectedItem") { items[Self.key(row.vm)] = row }
        for row in try PolicyRow.fetchAll(db, sql: "SELECT * FROM policy") { policies[Self.key(row.vault, row.name)] = row }
        for row in try KeyVaultRow.fetchAll(db, sql: "SELECT * FROM keyVault") { keyVaults[Self.key(row.name)] = row }
        for row in try AccessPolicyRow.fetchAll(db, sql: "SELECT * FROM accessPolicy ORDER BY keyVault, objectID") {
            accessPolicyRows[Self.key(row.keyVault, row.objectID)] = row
            accessPoliciesByVault[row.keyVault, default: []].append(row)
        }
        for row in try RoleAssignmentRow.fetchAll(db, sql: "SELECT * FROM roleAssignment ORDER BY keyVault, objectID, roleDefinitionID") {
            roleAssignmentsByVault[row.keyVault, default: []].append(row)
        }
        _ = try customRoles()
        for row in try Row.fetchAll(db, sql: "SELECT keyVault, name, certificateBacked FROM keyVaultKey") {
            certificateBackedKeys[Self.key(row["keyVault"], row["name"])] = row["certificateBacked"]
        }
        // The newest finished backup job of each VM (sequence is unique and increasing).
        let statuses = try Row.fetchAll(
            db,
            sql: """
                SELECT job.vm AS vm, job.status AS status FROM job
                JOIN (SELECT vm, max(sequence) AS sequence FROM job WHERE operation = 'Backup' AND status != 'InProgress' GROUP BY vm) newest
                  ON job.vm = newest.vm AND job.sequence = newest.sequence
                """)
        for row in statuses { lastBackupStatuses[row["vm"]] = .some(row["status"]) }
        for row in try Row.fetchAll(db, sql: "SELECT vm, count(*) AS n FROM recoveryPoint GROUP BY vm") { pointCounts[row["vm"]] = row["n"] }
        for row in try Row.fetchAll(db, sql: "SELECT vault, count(*) AS n FROM protectedItem GROUP BY vault") { itemsPerVault[row["vault"]] = row["n"] }
        for row in try Row.fetchAll(db, sql: "SELECT vault, policy, count(*) AS n FROM protectedItem WHERE policy IS NOT NULL AND state IN \(Platform.policyUserStates) GROUP BY vault, policy") {
            itemsPerPolicy[Self.key(row["vault"], row["policy"])] = row["n"]
        }
        for row in try Row.fetchAll(db, sql: "SELECT vm, lun, sizeGiB FROM disk ORDER BY vm, lun") {
            diskFacts[Self.key(row["vm"]), default: []].append(DiskFacts(lun: row["lun"], sizeGiB: row["sizeGiB"]))
        }
        for row in try Row.fetchAll(db, sql: "SELECT keyVault, name, certificateBacked FROM keyVaultKey WHERE deletedAt IS NULL ORDER BY name") {
            activeKeys[Self.key(row["keyVault"]), default: []].append(.init(name: row["name"], certificateBacked: row["certificateBacked"]))
        }
        for row in try Row.fetchAll(db, sql: "SELECT keyVault, name FROM keyVaultSecret WHERE deletedAt IS NULL ORDER BY name") {
            activeSecrets[Self.key(row["keyVault"]), default: []].append(row["name"])
        }
        for row in try DiskEncryptionSetRow.fetchAll(db) { encryptionSets[Self.key(row.name)] = row }
        for case let row? in vms.values {
            for keyVault in try encryptionKeyVaults(of: row) { vmsByKeyVault[Self.key(keyVault), default: []].append(row.name) }
        }
        _ = try resourceGroups()
        _ = try availableRegions()
    }

    /// The memoised answer for `key`, else (when the tables are not preloaded) `fetch`'s, remembered.
    private func remembered<T>(_ table: inout [String: T?], _ key: String, _ fetch: () throws -> T?) rethrows -> T? {
        if let known = table[key] { return known }
        if complete { return nil }
        let value = try fetch()
        table[key] = .some(value)
        return value
    }

    // MARK: Rows

    func subscriptions() throws -> [SubscriptionRow] {
        if let subscriptionRows { return subscriptionRows }
        let rows = try SubscriptionRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM subscription ORDER BY isDefault DESC, name"))
        subscriptionRows = rows
        for row in rows {
            subscriptionsByName[row.name] = row
            subscriptionsByID[row.id.lowercased()] = row
        }
        return rows
    }

    /// The subscription with this name or id; the default one for nil. Throws when there is none.
    func subscription(_ nameOrID: String?) throws -> SubscriptionRow {
        let rows = try subscriptions()
        guard let nameOrID else {
            guard let first = rows.first else { throw PlatformError(PlatformErrorCode.storageError, "the platform has no subscription") }
            return first
        }
        if let row = subscriptionsByName[nameOrID] ?? subscriptionsByID[nameOrID.lowercased()] { return row }
        throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no subscription '\(nameOrID)'",
                            hint: "use a subscription of the world: \(rows.map(\.name).sorted().joined(separator: ", "))")
    }

    /// The subscription by its exact name (as rows store it), or nil.
    func subscription(named name: String) throws -> SubscriptionRow? {
        _ = try subscriptions()
        return subscriptionsByName[name]
    }

    func vault(_ name: String) throws -> VaultRow? {
        try remembered(&vaults, Self.key(name)) {
            try VaultRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM vault WHERE lower(name) = lower(?)"), arguments: [name])
        }
    }

    func vm(_ name: String) throws -> VMRow? {
        try remembered(&vms, Self.key(name)) {
            try VMRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM virtualMachine WHERE lower(name) = lower(?)"), arguments: [name])
        }
    }

    func item(vm: String) throws -> ProtectedItemRow? {
        try remembered(&items, Self.key(vm)) {
            try Platform.item(db, vm: vm)
        }
    }

    func policy(vault: String, name: String) throws -> PolicyRow? {
        try remembered(&policies, Self.key(vault, name)) {
            try PolicyRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM policy WHERE lower(vault) = lower(?) AND lower(name) = lower(?)"),
                                   arguments: [vault, name])
        }
    }

    func keyVault(_ name: String) throws -> KeyVaultRow? {
        try remembered(&keyVaults, Self.key(name)) {
            try KeyVaultRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM keyVault WHERE lower(name) = lower(?)"), arguments: [name])
        }
    }

    func accessPolicy(keyVault: String, objectID: String) throws -> AccessPolicyRow? {
        try remembered(&accessPolicyRows, Self.key(keyVault, objectID)) {
            try KeyVaultStore.accessPolicy(db, keyVault: keyVault, objectID: objectID)
        }
    }

    /// The access policies of a key vault (by its exact name), ordered by object id.
    func accessPolicies(keyVault: String) throws -> [AccessPolicyRow] {
        if complete { return accessPoliciesByVault[keyVault] ?? [] }
        return try AccessPolicyRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM accessPolicy WHERE keyVault = ? ORDER BY objectID"), arguments: [keyVault])
    }

    /// The role assignments at a key vault's scope (by its exact name), by principal then role.
    func roleAssignments(keyVault: String) throws -> [RoleAssignmentRow] {
        if complete { return roleAssignmentsByVault[keyVault] ?? [] }
        return try KeyVaultStore.roleAssignments(db, keyVault: keyVault)
    }

    /// The tenant's custom role definitions, by name.
    func customRoles() throws -> [RoleDefinition] {
        if let customRoleRows { return customRoleRows }
        let roles = try KeyVaultStore.customRoles(db)
        customRoleRows = roles
        return roles
    }

    /// Whether the key exists and belongs to a certificate.
    func keyIsCertificateBacked(keyVault: String, name: String) throws -> Bool {
        let key = Self.key(keyVault, name)
        if let known = certificateBackedKeys[key] { return known }
        if complete { return false }
        let backed = try KeyVaultStore.key(db, keyVault: keyVault, name: name)?.certificateBacked ?? false
        certificateBackedKeys[key] = backed
        return backed
    }

    /// The disks of a VM, the OS disk first.
    func disks(vm: String) throws -> [DiskFacts] {
        if complete { return diskFacts[Self.key(vm)] ?? [] }
        return try Platform.disks(db, vm: vm).map { DiskFacts(lun: $0.lun, sizeGiB: $0.sizeGiB) }
    }

    /// The keys of a key vault that are not deleted.
    func keys(keyVault: String) throws -> [KeyVaultFacts.KeyEntry] {
        if complete { return activeKeys[Self.key(keyVault)] ?? [] }
        return try Row.fetchAll(
            db.cachedStatement(sql: "SELECT name, certificateBacked FROM keyVaultKey WHERE lower(keyVault) = lower(?) AND deletedAt IS NULL ORDER BY name"),
            arguments: [keyVault]
        ).map { .init(name: $0["name"], certificateBacked: $0["certificateBacked"]) }
    }

    /// The names of the secrets of a key vault that are not deleted.
    func secrets(keyVault: String) throws -> [String] {
        if complete { return activeSecrets[Self.key(keyVault)] ?? [] }
        return try String.fetchAll(
            db.cachedStatement(sql: "SELECT name FROM keyVaultSecret WHERE lower(keyVault) = lower(?) AND deletedAt IS NULL ORDER BY name"), arguments: [keyVault])
    }

    func diskEncryptionSet(_ name: String) throws -> DiskEncryptionSetRow? {
        try remembered(&encryptionSets, Self.key(name)) {
            try DiskEncryptionSetRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM diskEncryptionSet WHERE lower(name) = lower(?)"), arguments: [name])
        }
    }

    /// The key vaults that hold a VM's disk keys: its ADE key vault, and its disk encryption set's.
    func encryptionKeyVaults(of vm: VMRow) throws -> [String] {
        var names: [String] = []
        if let keyVault = vm.encryption.keyVault { names.append(keyVault) }
        if let set = vm.encryption.diskEncryptionSet, let row = try diskEncryptionSet(set) { names.append(row.keyVault) }
        return names
    }

    /// The VMs whose disk keys live in a key vault.
    ///
    /// Only the VMs whose encryption record names the key vault, or a disk encryption set of it, are read and
    /// decoded (a substring test in SQLite, then the exact test here): a key vault's facts cost what its own
    /// VMs cost, not a decode of every VM of the platform.
    func encryptedVMs(keyVault: String) throws -> [String] {
        if complete { return (vmsByKeyVault[Self.key(keyVault)] ?? []).sorted() }
        let sets = try String.fetchAll(
            db.cachedStatement(sql: "SELECT name FROM diskEncryptionSet WHERE lower(keyVault) = lower(?)"), arguments: [keyVault])
        let needles = ([keyVault] + sets).map { $0.lowercased() }
        let test = needles.map { _ in "instr(lower(encryption), ?) > 0" }.joined(separator: " OR ")
        var names: [String] = []
        for row in try VMRow.fetchAll(db, sql: "SELECT * FROM virtualMachine WHERE \(test) ORDER BY name", arguments: StatementArguments(needles))
        where try encryptionKeyVaults(of: row).contains(where: { $0.lowercased() == keyVault.lowercased() }) {
            names.append(row.name)
        }
        return names
    }

    /// The resource groups, as "subscription name\u{1}group name", lower-cased.
    func resourceGroups() throws -> Set<String> {
        if let groups { return groups }
        let rows = try ResourceGroupRow.fetchAll(db)
        let all = Set(rows.map { Self.key($0.subscription, $0.name) })
        groups = all
        return all
    }

    func resourceGroupExists(subscription: String, name: String) throws -> Bool {
        try resourceGroups().contains(Self.key(subscription, name))
    }

    /// The regions the world uses.
    func availableRegions() throws -> [String] {
        if let regions { return regions }
        let all = try String.fetchAll(db, sql: "SELECT name FROM regionInUse ORDER BY name")
        regions = all
        return all
    }

    // MARK: Aggregates

    /// The status of the VM's newest finished backup job.
    func lastBackupStatus(vm: String) throws -> String? {
        if let known = lastBackupStatuses[vm] { return known }
        if complete { return nil }
        let status = try String.fetchOne(
            db.cachedStatement(sql: "SELECT status FROM job WHERE vm = ? AND operation = 'Backup' AND status != 'InProgress' ORDER BY sequence DESC LIMIT 1"),
            arguments: [vm])
        lastBackupStatuses[vm] = .some(status)
        return status
    }

    func recoveryPointCount(vm: String) throws -> Int {
        if complete { return pointCounts[vm] ?? 0 }
        return try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM recoveryPoint WHERE vm = ?"), arguments: [vm]) ?? 0
    }

    /// Backup items registered in the vault (by its exact name), soft-deleted ones included.
    func registeredItems(vault: String) throws -> Int {
        if complete { return itemsPerVault[vault] ?? 0 }
        return try Platform.registeredItems(db, vault: vault)
    }

    /// Items that use the policy (vault and policy by their exact names).
    func itemsUsing(vault: String, policy: String) throws -> Int {
        if complete { return itemsPerPolicy[Self.key(vault, policy)] ?? 0 }
        return try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM protectedItem WHERE vault = ? AND policy = ? AND state IN \(Platform.policyUserStates)"), arguments: [vault, policy]) ?? 0
    }
}
