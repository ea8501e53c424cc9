import CofferModel
import Foundation
import GRDB
import Synchronization

// The rows of the platform database. Nested values (tags, specs, disk lists) are stored as JSON by GRDB.

struct SubscriptionRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "subscription"
    var name: String
    var id: String
    var isDefault: Bool
}

struct ResourceGroupRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "resourceGroup"
    var subscription: String
    var name: String
    var region: String
}

struct KeyVaultRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "keyVault"
    var name: String
    var subscription: String
    var resourceGroup: String
    var region: String
    var enabledForDiskEncryption: Bool
    var softDelete: Bool
    var softDeleteRetentionDays: Int
    var purgeProtection: Bool
    /// ARM's `enableRbacAuthorization`: the key vault honours role assignments instead of access policies.
    var rbacAuthorization: Bool

    var permissionModel: KeyVaultPermissionModel { rbacAuthorization ? .rbac : .accessPolicies }
}

struct KeyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "keyVaultKey"
    var keyVault: String
    var name: String
    var version: String
    var keyType: String
    var bits: Int
    var certificateBacked: Bool
    /// SubjectPublicKeyInfo DER.
    var publicKey: Data
    /// The PKCS#8 private key sealed under the HSM's key-wrapping key.
    var wrappedPrivateKey: Data
    var tags: [String: String]
    var created: Date
    var deletedAt: Date?
    var scheduledPurge: Date?
}

struct SecretRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "keyVaultSecret"
    var keyVault: String
    var name: String
    var version: String
    var contentType: String?
    var tags: [String: String]
    /// The value sealed with AES-256-GCM under the HSM's secret key.
    var sealedValue: Data
    var created: Date
    var deletedAt: Date?
    var scheduledPurge: Date?
}

struct AccessPolicyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "accessPolicy"
    var keyVault: String
    var objectID: String
    var keyPermissions: [KeyPermission]
    var secretPermissions: [SecretPermission]
    var managedBy: String?
}

/// A custom role definition of the tenant (the built-in roles are CofferModel's `RoleDefinition` table).
struct RoleDefinitionRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "roleDefinition"
    /// The role definition's GUID, lower-case.
    var id: String
    var name: String
    var dataActions: [String]
    var notDataActions: [String]

    var definition: RoleDefinition { RoleDefinition(id: id, name: name, dataActions: dataActions, notDataActions: notDataActions) }
}

/// A role assignment at a key vault's scope.
struct RoleAssignmentRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "roleAssignment"
    /// The assignment's GUID (its ARM name), derived from scope, principal and role.
    var name: String
    var keyVault: String
    /// The principal's object id, lower-case.
    var objectID: String
    /// The role definition's GUID, lower-case: a built-in role's or a custom one's.
    var roleDefinitionID: String
    var managedBy: String?
}

struct DiskEncryptionSetRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "diskEncryptionSet"
    var name: String
    var subscription: String
    var resourceGroup: String
    var region: String
    var keyVault: String
    var key: String
    var identityObjectID: String
}

/// How a VM is encrypted, as stored.
struct VMEncryptionRecord: Codable, Hashable {
    /// `sse-pmk`, `sse-cmk` or `ade`.
    var type: String
    var diskEncryptionSet: String?
    var keyVault: String?
    var kek: String?
    var aadClientID: String?
    /// The secret that holds the BEK in the key vault (a GUID) and its version.
    var bekSecret: String?
    var bekVersion: String?
    /// The KEK version the BEK was wrapped with.
    var kekVersion: String?
    /// The guest's own copy of its BEK (as on BitLocker's BEK volume or Linux's BEK disk), sealed under the
    /// HSM's key so it is never stored in plaintext.
    var sealedBEK: Data?

    var kind: VMEncryptionKind {
        switch type {
        case "sse-cmk": .sseCustomerKey
        case "ade": kek == nil ? .adeBEKOnly : .adeBEKAndKEK
        default: .ssePlatformKey
        }
    }
}

struct VMRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "virtualMachine"
    var name: String
    var subscription: String
    var resourceGroup: String
    var region: String
    var os: String
    var agent: String
    var encryption: VMEncryptionRecord
    var created: Date
    /// The recovery point a VM created by a restore came from.
    var restoredFrom: String?
    /// `Standard` or `TrustedLaunch` (`VMSecurityType`).
    var securityType: String = VMSecurityType.standard.rawValue

    var security: VMSecurityType { VMSecurityType(rawValue: securityType) ?? .standard }
}

struct DiskRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "disk"
    var vm: String
    /// -1 for the OS disk.
    var lun: Int
    var name: String
    var sizeGiB: Int
    var managed: Bool
    /// The block device's directory, relative to the state directory.
    var path: String
    /// `platform` (sealed under the HSM) or `customer` (RSA-OAEP-256 under the disk encryption set's key).
    var keyWrapping: String
    var wrappedKey: Data
    var diskEncryptionSet: String?

    var slot: DiskSlot { DiskSlot(storedValue: lun) }
}

struct VaultRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "vault"
    var name: String
    var subscription: String
    var resourceGroup: String
    var region: String
    var spec: VaultSpec
    /// The system-assigned identity's object id, when the vault has one.
    var identityObjectID: String?
    /// `platform` or `customer`.
    var keyWrapping: String
    var wrappedMasterKey: Data
    /// The vault store's directory, relative to the state directory.
    var storePath: String
    /// Who created the vault (`coffer`), shown as the `managed-by` tag.
    var managedBy: String?
    var created: Date
}

struct PolicyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "policy"
    var vault: String
    var name: String
    var spec: BackupPolicySpec
    var managedBy: String?
    var created: Date
}

/// The protection states of a backup item, including those the manifests cannot ask for.
public enum ItemState: String, Codable, Sendable, Hashable, CaseIterable {
    /// Protection enabled, no recovery point yet.
    case irPending = "IRPending"
    case protected = "Protected"
    /// Stopped, data retained forever.
    case protectionStopped = "ProtectionStopped"
    /// Stopped, data retained as per policy (immutable vaults).
    case backupsSuspended = "BackupsSuspended"
    /// Stopped with data deleted: kept for the vault's soft-delete period, then purged.
    case softDeleted = "SoftDeleted"
}

struct ProtectedItemRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "protectedItem"
    var vm: String
    var vault: String
    var policy: String?
    var state: ItemState
    var deletionPolicy: DeletionPolicy
    var excludeDiskLuns: [Int]
    var includeDiskLuns: [Int]
    var managedBy: String?
    var created: Date
    /// Scheduled backups up to this time have been run (or skipped).
    var scheduledThrough: Date
    var lastBackup: Date?
    var deletedAt: Date?
    var purgeAt: Date?
}

/// How a job stands: running, done, or failed with an error code.
public enum JobStatus: String, Codable, Sendable, Hashable {
    case inProgress = "InProgress"
    case completed = "Completed"
    case failed = "Failed"
}

struct JobRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "job"
    var id: String
    /// `Backup` or `Restore`.
    var operation: String
    var vm: String
    var vault: String
    var status: JobStatus
    var start: Date
    var end: Date?
    var bytesTransferred: Int64
    var errorCode: String?
    var errorMessage: String?
    var recoveryPoint: String?
    /// Step-by-step state: snapshots taken, output paths, the trigger, and what crash recovery needs.
    var details: [String: String]
    /// Insertion order, for stable listings.
    var sequence: Int64
}

/// One disk of a recovery point.
struct RecoveryPointDisk: Codable, Hashable {
    var lun: Int
    var name: String
    var sizeGiB: Int
    var managed: Bool
    /// The device the snapshot is on, relative to the state directory.
    var devicePath: String
    var snapshot: String
    /// SHA-256 (hex) of the guest's view of the disk at snapshot time (see ``GuestChecksum``).
    var checksum: String

    var slot: DiskSlot { DiskSlot(storedValue: lun) }
    /// The disk's name inside the vault store: `os` or `lunN`.
    var storeName: String { lun < 0 ? "os" : "lun\(lun)" }
}

/// What an ADE VM's recovery point keeps about its keys: where they were, and Key Vault backup blobs of
/// the BEK secret and the KEK, sealed under the vault's key.
struct RecoveryPointEncryption: Codable, Hashable {
    var os: String
    var keyVault: String
    var secretName: String
    var secretVersion: String
    var secretURL: String
    var kekName: String?
    var kekVersion: String?
    var kekURL: String?
    /// The secret's Key Vault backup: its value, content type and tags, sealed under the vault's key.
    var secretBackup: Data
    /// The key's Key Vault backup: its material, sealed under the vault's key.
    var keyBackup: Data?
}

struct RecoveryPointRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "recoveryPoint"
    var id: String
    var vm: String
    var vault: String
    var time: Date
    /// `Scheduled` or `OnDemand`.
    var type: String
    /// The expiry given to an on-demand backup.
    var explicitExpiry: Date?
    var snapshotPresent: Bool
    var snapshotExpiry: Date
    /// The recovery point's id in the vault store once transferred.
    var vaultPoint: String?
    var transferToVault: Bool
    var disks: [RecoveryPointDisk]
    var encryption: RecoveryPointEncryption?
    var jobID: String
    var sequence: Int64

    /// The recovery point's tier: `Snapshot`, `Snapshot and vault` or `Vault`.
    var tier: String {
        switch (snapshotPresent, vaultPoint != nil) {
        case (true, false): "Snapshot"
        case (true, true): "Snapshot and vault"
        default: "Vault"
        }
    }
}

struct RestoredDiskRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "restoredDisk"
    var name: String
    var subscription: String
    var resourceGroup: String
    var region: String
    /// `ManagedDisk` or `PageBlob` (an unmanaged disk restored to a storage account).
    var kind: String
    var path: String
    var sizeGiB: Int
    var wrappedKey: Data
    var sourceVM: String
    var lun: Int
    var recoveryPoint: String
    var jobID: String
    var encryption: RecoveryPointEncryption?
    var created: Date
}

// MARK: - Hand-written decoding for the rows a refresh reads by the thousand

/// Column decoding without Codable's per-field machinery; the JSON columns use GRDB's JSON layout.
enum RowColumns {
    static let json = JSONDecoder()

    static func string(_ row: Row, _ column: String) throws -> String {
        guard let value: String = row[column] else { throw missing(column) }
        return value
    }

    static func date(_ row: Row, _ column: String) throws -> Date {
        guard let value: Date = row[column] else { throw missing(column) }
        return value
    }

    static func raw<T: RawRepresentable>(_ row: Row, _ column: String, as type: T.Type) throws -> T where T.RawValue == String {
        let text = try string(row, column)
        guard let value = T(rawValue: text) else {
            throw PlatformError(PlatformErrorCode.storageError, "column '\(column)' holds '\(text)', which is not a \(T.self)")
        }
        return value
    }

    static func integers(_ row: Row, _ column: String) throws -> [Int] {
        let text = try string(row, column)
        if text == "[]" { return [] }
        return try json.decode([Int].self, from: Data(text.utf8))
    }

    static func decoded<T: Decodable>(_ row: Row, _ column: String, as type: T.Type) throws -> T {
        try json.decode(T.self, from: Data(try string(row, column).utf8))
    }

    static func missing(_ column: String) -> PlatformError {
        PlatformError(PlatformErrorCode.storageError, "column '\(column)' is missing or null")
    }
}

/// Decoded JSON spec columns by their text. A vault's or policy's spec is read at every step that touches
/// the vault or policy (thousands in one apply), and a dictionary lookup of the same text costs a fraction
/// of decoding it again. Bounded: emptied when full.
final class DecodedSpecs<Value: Decodable & Sendable>: Sendable {
    private let values = Mutex<[String: Value]>([:])
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func decode(_ row: Row, _ column: String) throws -> Value {
        let text = try RowColumns.string(row, column)
        if let known = values.withLock({ $0[text] }) { return known }
        let value = try RowColumns.json.decode(Value.self, from: Data(text.utf8))
        values.withLock { values in
            if values.count >= capacity { values.removeAll(keepingCapacity: true) }
            values[text] = value
        }
        return value
    }
}

private let vaultSpecs = DecodedSpecs<VaultSpec>(capacity: 16_384)
private let policySpecs = DecodedSpecs<BackupPolicySpec>(capacity: 16_384)

extension VaultRow {
    init(row: Row) throws {
        name = try RowColumns.string(row, "name")
        subscription = try RowColumns.string(row, "subscription")
        resourceGroup = try RowColumns.string(row, "resourceGroup")
        region = try RowColumns.string(row, "region")
        spec = try vaultSpecs.decode(row, "spec")
        identityObjectID = row["identityObjectID"]
        keyWrapping = try RowColumns.string(row, "keyWrapping")
        guard let wrapped: Data = row["wrappedMasterKey"] else { throw RowColumns.missing("wrappedMasterKey") }
        wrappedMasterKey = wrapped
        storePath = try RowColumns.string(row, "storePath")
        managedBy = row["managedBy"]
        created = try RowColumns.date(row, "created")
    }
}

extension PolicyRow {
    init(row: Row) throws {
        vault = try RowColumns.string(row, "vault")
        name = try RowColumns.string(row, "name")
        spec = try policySpecs.decode(row, "spec")
        managedBy = row["managedBy"]
        created = try RowColumns.date(row, "created")
    }
}

extension ProtectedItemRow {
    init(row: Row) throws {
        vm = try RowColumns.string(row, "vm")
        vault = try RowColumns.string(row, "vault")
        policy = row["policy"]
        state = try RowColumns.raw(row, "state", as: ItemState.self)
        deletionPolicy = try RowColumns.raw(row, "deletionPolicy", as: DeletionPolicy.self)
        excludeDiskLuns = try RowColumns.integers(row, "excludeDiskLuns")
        includeDiskLuns = try RowColumns.integers(row, "includeDiskLuns")
        managedBy = row["managedBy"]
        created = try RowColumns.date(row, "created")
        scheduledThrough = try RowColumns.date(row, "scheduledThrough")
        lastBackup = row["lastBackup"]
        deletedAt = row["deletedAt"]
        purgeAt = row["purgeAt"]
    }
}

extension VMRow {
    init(row: Row) throws {
        name = try RowColumns.string(row, "name")
        subscription = try RowColumns.string(row, "subscription")
        resourceGroup = try RowColumns.string(row, "resourceGroup")
        region = try RowColumns.string(row, "region")
        os = try RowColumns.string(row, "os")
        agent = try RowColumns.string(row, "agent")
        let text = try RowColumns.string(row, "encryption")
        encryption = try VMEncryptionRecord(flatJSON: text) ?? RowColumns.json.decode(VMEncryptionRecord.self, from: Data(text.utf8))
        created = try RowColumns.date(row, "created")
        restoredFrom = row["restoredFrom"]
        securityType = row["securityType"] ?? VMSecurityType.standard.rawValue
    }
}

extension VMEncryptionRecord {
    /// Reads the record from the flat JSON object GRDB wrote (string values only), without JSONDecoder;
    /// nil when the text is anything else, so that the caller falls back to it.
    init?(flatJSON text: String) {
        guard let fields = FlatJSON.stringObject(text), let type = fields["type"] else { return nil }
        let known: Set<String> = ["type", "diskEncryptionSet", "keyVault", "kek", "aadClientID", "bekSecret", "bekVersion", "kekVersion", "sealedBEK"]
        guard fields.keys.allSatisfy(known.contains) else { return nil }
        var sealed: Data?
        if let base64 = fields["sealedBEK"] {
            guard let data = Data(base64Encoded: base64) else { return nil }
            sealed = data
        }
        self.init(type: type, diskEncryptionSet: fields["diskEncryptionSet"], keyVault: fields["keyVault"], kek: fields["kek"],
                  aadClientID: fields["aadClientID"], bekSecret: fields["bekSecret"], bekVersion: fields["bekVersion"],
                  kekVersion: fields["kekVersion"], sealedBEK: sealed)
    }
}

/// The smallest JSON reader the hot rows need: one object whose values are all strings.
enum FlatJSON {
    /// The object's fields, or nil when `text` is not exactly an object of string values (nested values,
    /// numbers, `null`, unusual escapes: the caller then uses JSONDecoder).
    static func stringObject(_ text: String) -> [String: String]? {
        var bytes = Array(text.utf8)[...]
        func skipSpace() { while let byte = bytes.first, byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09 { bytes.removeFirst() } }
        func expect(_ byte: UInt8) -> Bool {
            skipSpace()
            guard bytes.first == byte else { return false }
            bytes.removeFirst()
            return true
        }
        func string() -> String? {
            guard expect(0x22) else { return nil }
            var out: [UInt8] = []
            while let byte = bytes.popFirst() {
                switch byte {
                case 0x22: return String(decoding: out, as: UTF8.self)
                case 0x5c:
                    guard let escaped = bytes.popFirst() else { return nil }
                    switch escaped {
                    case 0x22, 0x5c, 0x2f: out.append(escaped)
                    case 0x6e: out.append(0x0a)
                    case 0x74: out.append(0x09)
                    default: return nil
                    }
                default:
                    guard byte >= 0x20 else { return nil }
                    out.append(byte)
                }
            }
            return nil
        }
        guard expect(0x7b) else { return nil }
        var fields: [String: String] = [:]
        if expect(0x7d) { skipSpace(); return bytes.isEmpty ? fields : nil }
        repeat {
            guard let key = string(), expect(0x3a), let value = string(), fields[key] == nil else { return nil }
            fields[key] = value
        } while expect(0x2c)
        guard expect(0x7d) else { return nil }
        skipSpace()
        return bytes.isEmpty ? fields : nil
    }
}
