import Foundation
import GRDB
import GRDBSQLite

/// The platform's SQLite database (through GRDB, in WAL mode) in the state directory.
public final class PlatformStore: Sendable {
    /// The file name of the database inside the state directory.
    public static let fileName = "platform.sqlite"

    let pool: DatabasePool
    /// A connection of its own that only asks SQLite whether the database changed (`changeStamp`); opened
    /// on first use.
    private let watcher: DatabaseWatcher

    /// Opens (creating when needed) the platform database in `directory`, and migrates it to the current schema.
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        watcher = DatabaseWatcher(path: path)
    }

    /// A number that differs from the last one returned whenever a transaction that changed the database
    /// committed in between, from this process (through any `Platform`) or another: SQLite's
    /// `PRAGMA data_version` on a connection that never writes. Cheap (no I/O: SQLite reads the WAL index in
    /// shared memory), so a reader may ask before every read and reuse what it computed at the same stamp.
    public func changeStamp() throws -> Int64 {
        try watcher.dataVersion()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-meta") { db in
            try db.create(table: "meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v2-platform") { db in
            try db.create(table: "subscription") { t in
                t.primaryKey("name", .text)
                t.column("id", .text).notNull().unique()
                t.column("isDefault", .boolean).notNull()
            }
            try db.create(table: "resourceGroup") { t in
                t.column("subscription", .text).notNull()
                t.column("name", .text).notNull()
                t.column("region", .text).notNull()
                t.primaryKey(["subscription", "name"])
            }
            try db.create(table: "regionInUse") { t in
                t.primaryKey("name", .text)
            }
            try db.create(table: "keyVault") { t in
                t.primaryKey("name", .text)
                t.column("subscription", .text).notNull()
                t.column("resourceGroup", .text).notNull()
                t.column("region", .text).notNull()
                t.column("enabledForDiskEncryption", .boolean).notNull()
                t.column("softDelete", .boolean).notNull()
                t.column("softDeleteRetentionDays", .integer).notNull()
                t.column("purgeProtection", .boolean).notNull()
            }
            try db.create(table: "keyVaultKey") { t in
                t.column("keyVault", .text).notNull().references("keyVault", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("version", .text).notNull()
                t.column("keyType", .text).notNull()
                t.column("bits", .integer).notNull()
                t.column("certificateBacked", .boolean).notNull()
                t.column("publicKey", .blob).notNull()
                t.column("wrappedPrivateKey", .blob).notNull()
                t.column("tags", .text).notNull()
                t.column("created", .datetime).notNull()
                t.column("deletedAt", .datetime)
                t.column("scheduledPurge", .datetime)
                t.primaryKey(["keyVault", "name"])
            }
            try db.create(table: "keyVaultSecret") { t in
                t.column("keyVault", .text).notNull().references("keyVault", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("version", .text).notNull()
                t.column("contentType", .text)
                t.column("tags", .text).notNull()
                t.column("sealedValue", .blob).notNull()
                t.column("created", .datetime).notNull()
                t.column("deletedAt", .datetime)
                t.column("scheduledPurge", .datetime)
                t.primaryKey(["keyVault", "name"])
            }
            try db.create(table: "accessPolicy") { t in
                t.column("keyVault", .text).notNull().references("keyVault", onDelete: .cascade)
                t.column("objectID", .text).notNull()
                t.column("keyPermissions", .text).notNull()
                t.column("secretPermissions", .text).notNull()
                t.column("managedBy", .text)
                t.primaryKey(["keyVault", "objectID"])
            }
            try db.create(table: "diskEncryptionSet") { t in
                t.primaryKey("name", .text)
                t.column("subscription", .text).notNull()
                t.column("resourceGroup", .text).notNull()
                t.column("region", .text).notNull()
                t.column("keyVault", .text).notNull()
                t.column("key", .text).notNull()
                t.column("identityObjectID", .text).notNull()
            }
            try db.create(table: "virtualMachine") { t in
                t.primaryKey("name", .text)
                t.column("subscription", .text).notNull()
                t.column("resourceGroup", .text).notNull()
                t.column("region", .text).notNull()
                t.column("os", .text).notNull()
                t.column("agent", .text).notNull()
                t.column("encryption", .text).notNull()
                t.column("created", .datetime).notNull()
                t.column("restoredFrom", .text)
            }
            try db.create(table: "disk") { t in
                t.column("vm", .text).notNull().references("virtualMachine", onDelete: .cascade)
                t.column("lun", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("sizeGiB", .integer).notNull()
                t.column("managed", .boolean).notNull()
                t.column("path", .text).notNull()
                t.column("keyWrapping", .text).notNull()
                t.column("wrappedKey", .blob).notNull()
                t.column("diskEncryptionSet", .text)
                t.primaryKey(["vm", "lun"])
            }
            try db.create(table: "vault") { t in
                t.primaryKey("name", .text)
                t.column("subscription", .text).notNull()
                t.column("resourceGroup", .text).notNull()
                t.column("region", .text).notNull()
                t.column("spec", .text).notNull()
                t.column("identityObjectID", .text)
                t.column("keyWrapping", .text).notNull()
                t.column("wrappedMasterKey", .blob).notNull()
                t.column("storePath", .text).notNull()
                t.column("managedBy", .text)
                t.column("created", .datetime).notNull()
            }
            try db.create(table: "policy") { t in
                t.column("vault", .text).notNull().references("vault", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("spec", .text).notNull()
                t.column("managedBy", .text)
                t.column("created", .datetime).notNull()
                t.primaryKey(["vault", "name"])
            }
            try db.create(table: "protectedItem") { t in
                t.primaryKey("vm", .text)
                t.column("vault", .text).notNull().references("vault")
                t.column("policy", .text)
                t.column("state", .text).notNull()
                t.column("deletionPolicy", .text).notNull()
                t.column("excludeDiskLuns", .text).notNull()
                t.column("includeDiskLuns", .text).notNull()
                t.column("managedBy", .text)
                t.column("created", .datetime).notNull()
                t.column("scheduledThrough", .datetime).notNull()
                t.column("lastBackup", .datetime)
                t.column("deletedAt", .datetime)
                t.column("purgeAt", .datetime)
            }
            try db.create(table: "job") { t in
                t.primaryKey("id", .text)
                t.column("operation", .text).notNull()
                t.column("vm", .text).notNull()
                t.column("vault", .text).notNull()
                t.column("status", .text).notNull()
                t.column("start", .datetime).notNull()
                t.column("end", .datetime)
                t.column("bytesTransferred", .integer).notNull()
                t.column("errorCode", .text)
                t.column("errorMessage", .text)
                t.column("recoveryPoint", .text)
                t.column("details", .text).notNull()
                t.column("sequence", .integer).notNull()
            }
            try db.create(table: "recoveryPoint") { t in
                t.primaryKey("id", .text)
                t.column("vm", .text).notNull()
                t.column("vault", .text).notNull()
                t.column("time", .datetime).notNull()
                t.column("type", .text).notNull()
                t.column("explicitExpiry", .datetime)
                t.column("snapshotPresent", .boolean).notNull()
                t.column("snapshotExpiry", .datetime).notNull()
                t.column("vaultPoint", .text)
                t.column("transferToVault", .boolean).notNull()
                t.column("disks", .text).notNull()
                t.column("encryption", .text)
                t.column("jobID", .text).notNull()
                t.column("sequence", .integer).notNull()
            }
            try db.create(table: "restoredDisk") { t in
                t.primaryKey("name", .text)
                t.column("subscription", .text).notNull()
                t.column("resourceGroup", .text).notNull()
                t.column("region", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("path", .text).notNull()
                t.column("sizeGiB", .integer).notNull()
                t.column("wrappedKey", .blob).notNull()
                t.column("sourceVM", .text).notNull()
                t.column("lun", .integer).notNull()
                t.column("recoveryPoint", .text).notNull()
                t.column("jobID", .text).notNull()
                t.column("encryption", .text)
                t.column("created", .datetime).notNull()
            }
        }
        // Lookups are case-insensitive (`lower(name) = lower(?)`), as Azure resource names are; these
        // expression indexes keep each lookup logarithmic instead of a scan, so planning and applying many
        // resources grows linearly.
        migrator.registerMigration("v3-lookup-indexes") { db in
            let indexes = [
                "vault_lower_name ON vault(lower(name))",
                "keyVault_lower_name ON keyVault(lower(name))",
                "virtualMachine_lower_name ON virtualMachine(lower(name))",
                "diskEncryptionSet_lower_name ON diskEncryptionSet(lower(name))",
                "restoredDisk_lower_name ON restoredDisk(lower(name))",
                "restoredDisk_path ON restoredDisk(path)",
                "subscription_lower_id ON subscription(lower(id))",
                "resourceGroup_lower_name ON resourceGroup(subscription, lower(name))",
                "policy_lower_name ON policy(lower(vault), lower(name))",
                "policy_vault_lower_name ON policy(vault, lower(name))",
                "protectedItem_lower_vm ON protectedItem(lower(vm))",
                "protectedItem_vault_policy ON protectedItem(vault, policy)",
                "accessPolicy_lower ON accessPolicy(lower(keyVault), lower(objectID))",
                "keyVaultKey_lower ON keyVaultKey(lower(keyVault), lower(name))",
                "keyVaultKey_vault_lower ON keyVaultKey(keyVault, lower(name))",
                "keyVaultSecret_lower ON keyVaultSecret(lower(keyVault), lower(name))",
                "keyVaultSecret_vault_lower ON keyVaultSecret(keyVault, lower(name))",
                "disk_path ON disk(path)",
                "job_vm ON job(vm, sequence)",
                "job_lower_vm ON job(lower(vm), sequence)",
                "recoveryPoint_vm ON recoveryPoint(vm, sequence)",
                "recoveryPoint_lower_vm ON recoveryPoint(lower(vm), sequence)",
            ]
            for index in indexes { try db.execute(sql: "CREATE INDEX \(index)") }
        }
        // Azure RBAC for key vaults: the permission model (existing key vaults keep access policies), the
        // tenant's custom role definitions, and role assignments at a key vault's scope.
        migrator.registerMigration("v4-key-vault-rbac") { db in
            try db.alter(table: "keyVault") { t in
                t.add(column: "rbacAuthorization", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "roleDefinition") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("dataActions", .text).notNull()
                t.column("notDataActions", .text).notNull()
            }
            try db.create(table: "roleAssignment") { t in
                t.primaryKey("name", .text)
                t.column("keyVault", .text).notNull().references("keyVault", onDelete: .cascade)
                t.column("objectID", .text).notNull()
                t.column("roleDefinitionID", .text).notNull()
                t.column("managedBy", .text)
            }
            try db.execute(sql: "CREATE UNIQUE INDEX roleDefinition_lower_name ON roleDefinition(lower(name))")
            try db.execute(sql: "CREATE UNIQUE INDEX roleAssignment_scope ON roleAssignment(lower(keyVault), lower(objectID), roleDefinitionID)")
        }
        // A VM's security type (existing VMs are Standard).
        migrator.registerMigration("v5-vm-security-type") { db in
            try db.alter(table: "virtualMachine") { t in
                t.add(column: "securityType", .text).notNull().defaults(to: "Standard")
            }
        }
        return migrator
    }

    /// The SQLite journal mode in force; `wal` for a pool.
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db.cachedStatement(sql: "PRAGMA journal_mode")) ?? "" }
    }

    /// Sets a metadata value.
    public func setMeta(_ key: String, _ value: String) throws {
        try pool.write { db in try Self.setMeta(db, key, value) }
    }

    /// A metadata value, or nil when it was never set.
    public func meta(_ key: String) throws -> String? {
        try pool.read { db in try Self.meta(db, key) }
    }

    static func setMeta(_ db: Database, _ key: String, _ value: String) throws {
        try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       arguments: [key, value])
    }

    static func meta(_ db: Database, _ key: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key])
    }
}

/// The connection behind `PlatformStore.changeStamp`: read-only, used for `PRAGMA data_version` alone (the
/// value is per connection: it changes when another connection commits, never for the connection's own
/// writes, which is why this one makes none).
///
/// Serve reads it before every request, so it is SQLite's C API directly: one prepared statement stepped
/// under a lock, no queue to hop to.
final class DatabaseWatcher: @unchecked Sendable {
    private let path: String
    private let lock = NSLock()
    // Guarded by `lock`:
    private var connection: OpaquePointer?
    private var statement: OpaquePointer?

    init(path: String) {
        self.path = path
    }

    deinit {
        sqlite3_finalize(statement)
        sqlite3_close_v2(connection)
    }

    struct SQLiteFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Opens the connection and prepares the statement, once. The caller holds `lock`.
    private func prepared() throws -> OpaquePointer {
        if let statement { return statement }
        if connection == nil {
            var handle: OpaquePointer?
            let opened = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
            guard opened == SQLITE_OK, let handle else {
                let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(opened)"
                sqlite3_close_v2(handle)
                throw SQLiteFailure(description: "cannot open \(path): \(message)")
            }
            sqlite3_busy_timeout(handle, 10_000)
            connection = handle
        }
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(connection, "PRAGMA data_version", -1, &prepared, nil) == SQLITE_OK, let prepared else {
            throw SQLiteFailure(description: String(cString: sqlite3_errmsg(connection)))
        }
        statement = prepared
        return prepared
    }

    func dataVersion() throws -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        let statement = try prepared()
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else {
            throw SQLiteFailure(description: String(cString: sqlite3_errmsg(connection)))
        }
        return sqlite3_column_int64(statement, 0)
    }
}
