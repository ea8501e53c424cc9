import CofferCrypto
import CofferModel
import CofferRules
import Foundation
import GRDB

/// A key or a secret of a key vault: one row per name, soft-deleted in place.
protocol KeyVaultObjectRow: FetchableRecord, TableRecord {
    /// When the object was soft-deleted; nil while it is active.
    var deletedAt: Date? { get }
}

extension KeyRow: KeyVaultObjectRow {}
extension SecretRow: KeyVaultObjectRow {}

/// Key Vault: RSA keys and secrets stored sealed under the HSM, soft delete, purge protection, and the grants
/// of its two permission models (access policies, or role assignments when it uses Azure RBAC).
enum KeyVaultStore {
    // MARK: Keys

    @discardableResult
    static func createKey(
        _ db: Database, hsm: HSM, keyVault: String, name: String, keyType: String = "RSA", bits: Int,
        certificateBacked: Bool = false, tags: [String: String] = [:], now: Date
    ) throws -> KeyRow {
        let key = try RSAPrivateKey(bits: bits)
        let row = KeyRow(
            keyVault: keyVault, name: name, version: Platform.objectVersion(), keyType: keyType, bits: bits,
            certificateBacked: certificateBacked, publicKey: Data(key.publicKey.derRepresentation),
            wrappedPrivateKey: Data(try key.exportWrapped(under: hsm.key("keys"))), tags: tags, created: now,
            deletedAt: nil, scheduledPurge: nil)
        try row.insert(db)
        return row
    }

    /// The key, whether deleted or not; nil when there is none (never created, or purged).
    static func key(_ db: Database, keyVault: String, name: String) throws -> KeyRow? {
        try object(db, keyVault: keyVault, name: name)
    }

    /// The key when it exists and is not deleted.
    static func activeKey(_ db: Database, keyVault: String, name: String) throws -> KeyRow? {
        try activeObject(db, keyVault: keyVault, name: name)
    }

    static func privateKey(_ row: KeyRow, hsm: HSM) throws -> RSAPrivateKey {
        try RSAPrivateKey.importWrapped([UInt8](row.wrappedPrivateKey), under: hsm.key("keys"))
    }

    static func publicKey(_ row: KeyRow) throws -> RSAPublicKey {
        try RSAPublicKey(der: [UInt8](row.publicKey))
    }

    // MARK: Secrets

    static func secretContext(keyVault: String, name: String, version: String) -> String {
        "secret:\(keyVault.lowercased())/\(name.lowercased())/\(version)"
    }

    @discardableResult
    static func setSecret(
        _ db: Database, hsm: HSM, keyVault: String, name: String, value: [UInt8], contentType: String?,
        tags: [String: String], version: String = Platform.objectVersion(), now: Date
    ) throws -> SecretRow {
        let sealed = try hsm.seal(value, purpose: "secrets", context: secretContext(keyVault: keyVault, name: name, version: version))
        let row = SecretRow(keyVault: keyVault, name: name, version: version, contentType: contentType, tags: tags,
                            sealedValue: sealed, created: now, deletedAt: nil, scheduledPurge: nil)
        try row.save(db)
        return row
    }

    /// The secret, whether deleted or not; nil when there is none (never created, or purged).
    static func secret(_ db: Database, keyVault: String, name: String) throws -> SecretRow? {
        try object(db, keyVault: keyVault, name: name)
    }

    /// The secret when it exists and is not deleted.
    static func activeSecret(_ db: Database, keyVault: String, name: String) throws -> SecretRow? {
        try activeObject(db, keyVault: keyVault, name: name)
    }

    // MARK: Keys and secrets alike

    /// The key or secret named `name` (case-insensitively), whether deleted or not.
    static func object<Object: KeyVaultObjectRow>(_ db: Database, keyVault: String, name: String) throws -> Object? {
        try Object.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(Object.databaseTableName) WHERE lower(keyVault) = lower(?) AND lower(name) = lower(?)"),
                            arguments: [keyVault, name])
    }

    /// The key or secret named `name` when it exists and is not deleted.
    static func activeObject<Object: KeyVaultObjectRow>(_ db: Database, keyVault: String, name: String) throws -> Object? {
        guard let row: Object = try object(db, keyVault: keyVault, name: name), row.deletedAt == nil else { return nil }
        return row
    }

    static func secretValue(_ row: SecretRow, hsm: HSM) throws -> SecureBytes {
        try hsm.open(row.sealedValue, purpose: "secrets",
                     context: secretContext(keyVault: row.keyVault, name: row.name, version: row.version))
    }

    // MARK: Access policies

    static func accessPolicy(_ db: Database, keyVault: String, objectID: String) throws -> AccessPolicyRow? {
        try AccessPolicyRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM accessPolicy WHERE lower(keyVault) = lower(?) AND lower(objectID) = lower(?)"),
                                     arguments: [keyVault, objectID])
    }

    /// Whether `objectID` holds at least these permissions on the key vault, under the key vault's permission
    /// model (CofferRules' `KeyVaultAccessRules`: its access policy, or the data actions of its roles).
    static func hasPermissions(
        _ db: Database, keyVault: String, objectID: String, keys: Set<KeyPermission>, secrets: Set<SecretPermission>
    ) throws -> Bool {
        guard let facts = try Platform.keyVaultFacts(Lookup(db), keyVault) else { return keys.isEmpty && secrets.isEmpty }
        return KeyVaultAccessRules.shortfall(of: objectID, on: facts, keys: keys, secrets: secrets) == nil
    }

    /// The key vault's facts, for the rules; throws when there is no such key vault.
    static func facts(_ db: Database, _ keyVault: String) throws -> KeyVaultFacts {
        guard let facts = try Platform.keyVaultFacts(Lookup(db), keyVault) else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no key vault '\(keyVault)'",
                                hint: "list key vaults with 'coffer platform show'")
        }
        return facts
    }

    /// Refuses an access policy on a key vault that uses Azure RBAC (it would be ignored).
    static func checkAccessPolicyAccepted(_ db: Database, keyVault: String) throws {
        if let violation = KeyVaultAccessRules.accessPolicyViolation(on: try facts(db, keyVault)) {
            throw PlatformError(violation)
        }
    }

    /// Adds permissions to a principal's policy, creating it when needed.
    static func grant(
        _ db: Database, keyVault: String, objectID: String, keys: Set<KeyPermission>, secrets: Set<SecretPermission>,
        managedBy: String? = nil
    ) throws {
        var policy = try accessPolicy(db, keyVault: keyVault, objectID: objectID)
            ?? AccessPolicyRow(keyVault: keyVault, objectID: objectID.lowercased(), keyPermissions: [], secretPermissions: [],
                               managedBy: managedBy)
        policy.keyPermissions = Array(Set(policy.keyPermissions).union(keys)).sorted()
        policy.secretPermissions = Array(Set(policy.secretPermissions).union(secrets)).sorted()
        try policy.save(db)
    }

    // MARK: Role assignments

    /// The tenant's custom role definitions, by name.
    static func customRoles(_ db: Database) throws -> [RoleDefinition] {
        try RoleDefinitionRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM roleDefinition ORDER BY name")).map(\.definition)
    }

    /// The role with this name or GUID: a built-in Key Vault role, else a custom one; nil when none.
    static func role(_ db: Database, _ nameOrID: String) throws -> RoleDefinition? {
        if let builtIn = RoleDefinition.builtIn(nameOrID) { return builtIn }
        return try RoleDefinitionRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM roleDefinition WHERE lower(name) = lower(?) OR id = lower(?)"),
                                              arguments: [nameOrID, nameOrID])?.definition
    }

    /// The ARM id of a key vault: the scope of its role assignments.
    static func keyVaultID(_ db: Database, _ row: KeyVaultRow) throws -> String {
        Platform.keyVaultID(subscriptionID: try Platform.subscription(db, row.subscription).id, resourceGroup: row.resourceGroup, name: row.name)
    }

    /// The role assignments at a key vault's scope (by its exact name), by principal then role.
    static func roleAssignments(_ db: Database, keyVault: String) throws -> [RoleAssignmentRow] {
        try RoleAssignmentRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM roleAssignment WHERE keyVault = ? ORDER BY objectID, roleDefinitionID"),
                                       arguments: [keyVault])
    }

    /// The assignment of `roleDefinitionID` to `objectID` at the key vault's scope, if there is one.
    static func roleAssignment(_ db: Database, keyVault: String, objectID: String, roleDefinitionID: String) throws -> RoleAssignmentRow? {
        try RoleAssignmentRow.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM roleAssignment WHERE lower(keyVault) = lower(?) AND lower(objectID) = lower(?) AND roleDefinitionID = lower(?)"),
            arguments: [keyVault, objectID, roleDefinitionID])
    }

    /// Assigns `role` to `objectID` at the key vault's scope, with the GUID its scope, principal and role
    /// give it. Refused on a key vault that uses access policies (`KeyVaultUsesAccessPolicies`), for a role
    /// that does not exist (`RoleDefinitionDoesNotExist`), and when the assignment exists
    /// (`RoleAssignmentExists`, ARM's code).
    @discardableResult
    static func assignRole(_ db: Database, keyVault: String, objectID: String, role: String, managedBy: String?) throws -> RoleAssignmentRow {
        let vault = try Platform.keyVault(db, keyVault)
        let facts = try facts(db, vault.name)
        if let violation = KeyVaultAccessRules.roleAssignmentViolation(on: facts, role: role) { throw PlatformError(violation) }
        guard let definition = facts.roleDefinition(role) else { throw PlatformError(PlatformErrorCode.resourceNotFound, "no role '\(role)'") }
        if try roleAssignment(db, keyVault: vault.name, objectID: objectID, roleDefinitionID: definition.id) != nil {
            throw PlatformError(PlatformErrorCode.roleAssignmentExists, "The role assignment already exists: '\(definition.name)' for \(objectID) on key vault '\(vault.name)'",
                                hint: "import it (coffer adopts a matching assignment) or remove the duplicate")
        }
        let row = RoleAssignmentRow(
            name: RoleDefinition.assignmentName(scope: facts.id, principalObjectID: objectID, roleDefinitionID: definition.id),
            keyVault: vault.name, objectID: objectID.lowercased(), roleDefinitionID: definition.id, managedBy: managedBy)
        try row.insert(db)
        return row
    }

    // MARK: Soft delete

    /// Deletes a key or a secret: soft-deleted (recoverable until its scheduled purge) when the key vault has
    /// soft delete, else gone.
    static func delete(_ db: Database, keyVault vault: KeyVaultRow, name: String, isKey: Bool, now: Date) throws {
        let table = isKey ? "keyVaultKey" : "keyVaultSecret"
        let what = isKey ? "key" : "secret"
        guard let deletedAt = try Date?.fetchOne(
            db, sql: "SELECT deletedAt FROM \(table) WHERE keyVault = ? AND lower(name) = lower(?)", arguments: [vault.name, name])
        else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "key vault '\(vault.name)' has no \(what) '\(name)'")
        }
        guard deletedAt == nil else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "the \(what) '\(name)' of key vault '\(vault.name)' is already deleted",
                                hint: "purge it with 'coffer platform keyvault purge \(vault.name) \(name)'")
        }
        if vault.softDelete {
            let purge = now.addingTimeInterval(TimeInterval(vault.softDeleteRetentionDays) * 86400)
            try db.execute(sql: "UPDATE \(table) SET deletedAt = ?, scheduledPurge = ? WHERE keyVault = ? AND lower(name) = lower(?)",
                           arguments: [now, purge, vault.name, name])
        } else {
            try db.execute(sql: "DELETE FROM \(table) WHERE keyVault = ? AND lower(name) = lower(?)", arguments: [vault.name, name])
        }
    }

    /// Purges deleted keys and secrets named `name`; refused under purge protection before the scheduled
    /// purge date. Returns how many objects were purged.
    static func purge(_ db: Database, keyVault vault: KeyVaultRow, name: String, now: Date) throws -> Int {
        var purged = 0
        for table in ["keyVaultKey", "keyVaultSecret"] {
            guard let row = try Row.fetchOne(db, sql: "SELECT deletedAt, scheduledPurge FROM \(table) WHERE keyVault = ? AND lower(name) = lower(?)",
                                             arguments: [vault.name, name]) else { continue }
            let deletedAt: Date? = row["deletedAt"]
            guard deletedAt != nil else {
                throw PlatformError(PlatformErrorCode.keyVaultObjectNotDeleted,
                                    "'\(name)' in key vault '\(vault.name)' is not deleted; only deleted objects can be purged",
                                    hint: "delete it first with 'coffer platform keyvault delete-secret' or 'delete-key'")
            }
            let scheduled: Date? = row["scheduledPurge"]
            if vault.purgeProtection, let scheduled, scheduled > now {
                throw PlatformError(PlatformErrorCode.keyVaultPurgeProtected,
                                    "key vault '\(vault.name)' has purge protection: '\(name)' cannot be purged before \(formatISO8601(scheduled))",
                                    hint: "wait for the retention period to end, or recover the object")
            }
            try db.execute(sql: "DELETE FROM \(table) WHERE keyVault = ? AND lower(name) = lower(?)", arguments: [vault.name, name])
            purged += 1
        }
        guard purged > 0 else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "key vault '\(vault.name)' has no deleted key or secret '\(name)'")
        }
        return purged
    }

    /// Recovers a soft-deleted key or secret.
    static func recover(_ db: Database, keyVault: String, name: String, isKey: Bool) throws {
        let table = isKey ? "keyVaultKey" : "keyVaultSecret"
        try db.execute(sql: "UPDATE \(table) SET deletedAt = NULL, scheduledPurge = NULL WHERE keyVault = ? AND lower(name) = lower(?)",
                       arguments: [keyVault, name])
    }

    /// Purges every deleted object whose scheduled purge date has come.
    static func purgeExpired(_ db: Database, now: Date) throws {
        try db.execute(sql: "DELETE FROM keyVaultKey WHERE scheduledPurge IS NOT NULL AND scheduledPurge <= ?", arguments: [now])
        try db.execute(sql: "DELETE FROM keyVaultSecret WHERE scheduledPurge IS NOT NULL AND scheduledPurge <= ?", arguments: [now])
    }

    static func nextPurge(_ db: Database) throws -> Date? {
        let keys = try Date.fetchOne(db, sql: "SELECT min(scheduledPurge) FROM keyVaultKey")
        let secrets = try Date.fetchOne(db, sql: "SELECT min(scheduledPurge) FROM keyVaultSecret")
        return [keys, secrets].compactMap { $0 }.min()
    }
}

/// A Key Vault backup of a secret or a key, as the backup service keeps it in a recovery point: sealed
/// with AES-256-GCM under a key derived from the Recovery Services vault's key, never in plaintext.
struct KeyVaultBackupBlob: Codable {
    var keyVault: String
    var name: String
    var version: String
    var contentType: String?
    var tags: [String: String]
    /// A secret's value (inside the sealed blob only).
    var secretValue: Data?
    /// A key's type, size, public key and private key (PKCS#8 sealed under the same backup key).
    var keyType: String?
    var bits: Int?
    var certificateBacked: Bool?
    var publicKey: Data?
    var privateKey: Data?

    static func backupKey(vaultMasterKey: SecureBytes) throws -> SecureBytes {
        try HKDFSHA256.deriveKey(from: vaultMasterKey, info: Array("coffer key vault backup".utf8), count: 32)
    }

    static func context(vault: String, kind: String) -> [UInt8] { Array("kv-backup:\(vault.lowercased()):\(kind)".utf8) }

    /// Seals a secret's backup.
    static func sealSecret(_ row: SecretRow, value: SecureBytes, vault: String, vaultMasterKey: SecureBytes) throws -> Data {
        let blob = KeyVaultBackupBlob(keyVault: row.keyVault, name: row.name, version: row.version, contentType: row.contentType,
                                      tags: row.tags, secretValue: Data(value.bytes))
        var json = try JSONEncoder().encode(blob)
        defer { json.resetBytes(in: 0..<json.count) }
        let box = try AES256GCM.seal([UInt8](json), key: backupKey(vaultMasterKey: vaultMasterKey),
                                     associatedData: context(vault: vault, kind: "secret"))
        return Data(box.combined)
    }

    /// Seals a key's backup.
    static func sealKey(_ row: KeyRow, privateKey: RSAPrivateKey, vault: String, vaultMasterKey: SecureBytes) throws -> Data {
        let backupKey = try backupKey(vaultMasterKey: vaultMasterKey)
        let blob = KeyVaultBackupBlob(
            keyVault: row.keyVault, name: row.name, version: row.version, contentType: nil, tags: row.tags,
            keyType: row.keyType, bits: row.bits, certificateBacked: row.certificateBacked, publicKey: row.publicKey,
            privateKey: Data(try privateKey.exportWrapped(under: backupKey)))
        let json = try JSONEncoder().encode(blob)
        let box = try AES256GCM.seal([UInt8](json), key: backupKey, associatedData: context(vault: vault, kind: "key"))
        return Data(box.combined)
    }

    /// Opens a sealed backup; throws when it was changed or sealed under another vault's key.
    static func open(_ sealed: Data, kind: String, vault: String, vaultMasterKey: SecureBytes) throws -> KeyVaultBackupBlob {
        let box = try AES256GCM.SealedBox(combined: [UInt8](sealed))
        var json = try AES256GCM.open(box, key: backupKey(vaultMasterKey: vaultMasterKey), associatedData: context(vault: vault, kind: kind))
        defer { wipe(&json) }
        return try JSONDecoder().decode(KeyVaultBackupBlob.self, from: Data(json))
    }

    /// The private key inside a key backup.
    func privateKey(vaultMasterKey: SecureBytes) throws -> RSAPrivateKey {
        guard let privateKey else {
            throw PlatformError(PlatformErrorCode.storageError, "the key backup of '\(name)' holds no key material")
        }
        return try RSAPrivateKey.importWrapped([UInt8](privateKey), under: Self.backupKey(vaultMasterKey: vaultMasterKey))
    }
}

extension Platform {
    // MARK: Key Vault operations (simulating loss of key material and out-of-band drift)

    /// Deletes a secret from a key vault (soft-deleted when the key vault has soft delete).
    public func deleteSecret(keyVault: String, name: String) throws {
        try pool.write { db in
            let vault = try Self.keyVault(db, keyVault)
            try KeyVaultStore.delete(db, keyVault: vault, name: name, isKey: false, now: try Self.now(db))
        }
    }

    /// Deletes a key from a key vault (soft-deleted when the key vault has soft delete).
    public func deleteKey(keyVault: String, name: String) throws {
        try pool.write { db in
            let vault = try Self.keyVault(db, keyVault)
            try KeyVaultStore.delete(db, keyVault: vault, name: name, isKey: true, now: try Self.now(db))
        }
    }

    /// Purges a deleted secret or key for good (refused under purge protection until its retention ends).
    public func purge(keyVault: String, name: String) throws {
        _ = try pool.write { db in
            let vault = try Self.keyVault(db, keyVault)
            return try KeyVaultStore.purge(db, keyVault: vault, name: name, now: try Self.now(db))
        }
    }

    /// Recovers a soft-deleted secret or key.
    public func recoverDeleted(keyVault: String, name: String) throws {
        try pool.write { db in
            let vault = try Self.keyVault(db, keyVault)
            var recovered = false
            if let key = try KeyVaultStore.key(db, keyVault: vault.name, name: name), key.deletedAt != nil {
                try KeyVaultStore.recover(db, keyVault: vault.name, name: name, isKey: true)
                recovered = true
            }
            if let secret = try KeyVaultStore.secret(db, keyVault: vault.name, name: name), secret.deletedAt != nil {
                try KeyVaultStore.recover(db, keyVault: vault.name, name: name, isKey: false)
                recovered = true
            }
            guard recovered else {
                throw PlatformError(PlatformErrorCode.resourceNotFound, "key vault '\(vault.name)' has no deleted key or secret '\(name)'")
            }
        }
    }

    /// Sets the access policy of a principal on a key vault (replacing its permissions). Refused on a key
    /// vault that uses Azure RBAC (`KeyVaultUsesRbacAuthorization`).
    public func setAccessPolicy(
        keyVault: String, principal: Principal, keyPermissions: [KeyPermission], secretPermissions: [SecretPermission]
    ) throws {
        try pool.write { db in
            let vault = try Self.keyVault(db, keyVault)
            try KeyVaultStore.checkAccessPolicyAccepted(db, keyVault: vault.name)
            let objectID = Self.objectID(of: principal)
            var row = try KeyVaultStore.accessPolicy(db, keyVault: vault.name, objectID: objectID)
                ?? AccessPolicyRow(keyVault: vault.name, objectID: objectID, keyPermissions: [], secretPermissions: [], managedBy: nil)
            row.keyPermissions = Array(Set(keyPermissions)).sorted()
            row.secretPermissions = Array(Set(secretPermissions)).sorted()
            try row.save(db)
        }
    }

    /// Changes a key vault's settings, refusing what Key Vault refuses (`KeyVaultRules`: soft delete and purge
    /// protection one-way, the retention fixed once soft delete is on), and, when `accessPolicies` is given,
    /// makes its access policies exactly that list: a principal's permissions are set as listed (as
    /// `accessPolicies/replace` does), and a principal left out loses its policy. A key vault's full PUT
    /// (what `az keyvault set-policy` sends) is this. An access policy that is added or changed is refused on
    /// a key vault that uses Azure RBAC after the change (`KeyVaultUsesRbacAuthorization`). One transaction:
    /// a refusal changes nothing.
    @discardableResult
    public func updateKeyVault(name: String, settings: KeyVaultSettings, accessPolicies: [AccessPolicyGrant]? = nil) throws -> KeyVaultInfo {
        try pool.write { db in
            var row = try Self.keyVault(db, name)
            let old = KeyVaultSettings(
                enabledForDiskEncryption: row.enabledForDiskEncryption, softDelete: row.softDelete,
                softDeleteRetentionDays: row.softDeleteRetentionDays, purgeProtection: row.purgeProtection,
                rbacAuthorization: row.rbacAuthorization)
            try Self.refuse(KeyVaultRules.update(name: row.name, from: old, to: settings))
            if settings != old {
                row.enabledForDiskEncryption = settings.enabledForDiskEncryption
                row.softDelete = settings.softDelete
                row.softDeleteRetentionDays = settings.softDeleteRetentionDays
                row.purgeProtection = settings.purgeProtection
                row.rbacAuthorization = settings.rbacAuthorization
                try row.update(db)
            }
            if let accessPolicies {
                var wanted: [String: (keys: Set<KeyPermission>, secrets: Set<SecretPermission>)] = [:]
                for grant in accessPolicies {
                    let objectID = Self.objectID(of: grant.principal)
                    var entry = wanted[objectID] ?? ([], [])
                    entry.keys.formUnion(grant.keyPermissions)
                    entry.secrets.formUnion(grant.secretPermissions)
                    wanted[objectID] = entry
                }
                let current = try AccessPolicyRow.fetchAll(
                    db, sql: "SELECT * FROM accessPolicy WHERE keyVault = ? ORDER BY objectID", arguments: [row.name])
                let currentByID = Dictionary(current.map { ($0.objectID.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
                var changed: [AccessPolicyRow] = []
                for (objectID, permissions) in wanted.sorted(by: { $0.key < $1.key }) {
                    var policy = currentByID[objectID]
                        ?? AccessPolicyRow(keyVault: row.name, objectID: objectID, keyPermissions: [], secretPermissions: [], managedBy: nil)
                    let keys = permissions.keys.sorted()
                    let secrets = permissions.secrets.sorted()
                    guard currentByID[objectID] == nil || policy.keyPermissions.sorted() != keys || policy.secretPermissions.sorted() != secrets else {
                        continue
                    }
                    policy.keyPermissions = keys
                    policy.secretPermissions = secrets
                    changed.append(policy)
                }
                if !changed.isEmpty { try KeyVaultStore.checkAccessPolicyAccepted(db, keyVault: row.name) }
                for policy in changed { try policy.save(db) }
                for policy in current where wanted[policy.objectID.lowercased()] == nil {
                    try db.execute(sql: "DELETE FROM accessPolicy WHERE keyVault = ? AND lower(objectID) = lower(?)",
                                   arguments: [row.name, policy.objectID])
                }
            }
            return try Self.keyVaultInfo(db, row)
        }
    }

    /// Removes a principal's access policy from a key vault, as out-of-band drift would.
    public func removeAccessPolicy(keyVault: String, principal: Principal) throws {
        try pool.write { db in
            let vault = try Self.keyVault(db, keyVault)
            let objectID = Self.objectID(of: principal)
            guard try KeyVaultStore.accessPolicy(db, keyVault: vault.name, objectID: objectID) != nil else {
                throw PlatformError(PlatformErrorCode.resourceNotFound,
                                    "key vault '\(vault.name)' has no access policy for '\(principal)'")
            }
            try db.execute(sql: "DELETE FROM accessPolicy WHERE keyVault = ? AND lower(objectID) = lower(?)",
                           arguments: [vault.name, objectID])
        }
    }

    /// Assigns a role to a principal at a key vault's scope (on a key vault that uses Azure RBAC), as an
    /// administrator would outside coffer.
    @discardableResult
    public func assignRole(keyVault: String, principal: Principal, role: String) throws -> RoleAssignmentInfo {
        try pool.write { db in
            let row = try KeyVaultStore.assignRole(db, keyVault: keyVault, objectID: Self.objectID(of: principal), role: role, managedBy: nil)
            return try Self.roleAssignmentInfo(db, row)
        }
    }

    /// Removes a principal's assignment of a role at a key vault's scope, as out-of-band drift would.
    public func removeRoleAssignment(keyVault: String, principal: Principal, role: String) throws {
        try pool.write { db in
            let vault = try Self.keyVault(db, keyVault)
            let objectID = Self.objectID(of: principal)
            guard let definition = try KeyVaultStore.role(db, role),
                let row = try KeyVaultStore.roleAssignment(db, keyVault: vault.name, objectID: objectID, roleDefinitionID: definition.id)
            else {
                throw PlatformError(PlatformErrorCode.resourceNotFound,
                                    "key vault '\(vault.name)' has no assignment of role '\(role)' to '\(principal)'")
            }
            try row.delete(db)
        }
    }

    /// The object id of a principal in the platform's tenant.
    static func objectID(of principal: Principal) -> String {
        switch principal {
        case .backupManagementService: backupManagementServiceObjectID
        case .objectID(let id): id.lowercased()
        }
    }

    /// Parses a principal as the CLI takes it: `BackupManagementService` (any spacing or case) or an object id.
    public static func principal(parsing text: String) -> Principal {
        let squashed = text.replacingOccurrences(of: " ", with: "").lowercased()
        if squashed == "backupmanagementservice" || text.lowercased() == Principal.backupManagementServiceAppID
            || text.lowercased() == backupManagementServiceObjectID {
            return .backupManagementService
        }
        return .objectID(text.lowercased())
    }
}

/// One principal's access policy as a key vault's full PUT or PATCH lists it.
public struct AccessPolicyGrant: Sendable, Hashable {
    public var principal: Principal
    public var keyPermissions: [KeyPermission]
    public var secretPermissions: [SecretPermission]

    public init(principal: Principal, keyPermissions: [KeyPermission], secretPermissions: [SecretPermission]) {
        self.principal = principal
        self.keyPermissions = keyPermissions
        self.secretPermissions = secretPermissions
    }
}
