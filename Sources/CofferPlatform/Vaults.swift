import CofferCrypto
import CofferModel
import CofferRules
import CofferSnapshot
import Foundation
import GRDB

extension Platform {
    // MARK: Recovery Services vaults

    /// Creates a Recovery Services vault with its own vault store and, as the service does, its default
    /// policies (`DefaultPolicies`: DefaultPolicy and EnhancedPolicy, untagged); `managedBy` tags the vault
    /// (`managed-by: coffer`).
    @discardableResult
    public func createVault(name: String, spec: VaultSpec, managedBy: String? = nil) throws -> VaultInfo {
        try pool.write { db in
            if let problem = Naming.vaultNameProblem(name) {
                throw PlatformError(PlatformErrorCode.invalidResourceName, "invalid vault name '\(name)': \(problem)")
            }
            if try VaultRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM vault WHERE lower(name) = lower(?)"), arguments: [name]) != nil {
                throw PlatformError(PlatformErrorCode.resourceAlreadyExists, "a Recovery Services vault named '\(name)' already exists",
                                    hint: "vault names are unique in the platform; choose another name or import the existing vault")
            }
            let subscription = try Self.subscription(db, spec.subscription)
            try Self.checkPlacement(db, subscription: subscription.name, resourceGroup: spec.resourceGroup, region: spec.location)
            var spec = spec
            spec.location = spec.location.lowercased()
            try Self.refuse(VaultRules.create(spec))
            if spec.immutability == .locked {
                throw PlatformError(PlatformErrorCode.invalidImmutabilityTransition,
                                    "a vault cannot be created with immutability Locked",
                                    hint: "create it Unlocked, then lock it")
            }
            if let encryption = spec.encryption {
                try Self.checkCustomerKey(db, encryption, vaultRegion: spec.location, identity: spec.systemAssignedIdentity)
            }
            let storePath = "vaults/\(name)/store"
            let masterKey = try SecureBytes(randomCount: 32)
            let identity = spec.systemAssignedIdentity ? Self.guid() : nil
            let (wrapping, wrapped) = try Self.wrapVaultKey(db, masterKey, vault: name, encryption: spec.encryption, hsm: hsm)
            let absoluteStore = absolute(storePath)
            if FileManager.default.fileExists(atPath: absoluteStore) { try FileManager.default.removeItem(atPath: absoluteStore) }
            try FileManager.default.createDirectory(atPath: (absoluteStore as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            _ = try VaultStore.create(at: absoluteStore, masterKey: masterKey)
            let row = VaultRow(name: name, subscription: subscription.name, resourceGroup: spec.resourceGroup, region: spec.location,
                               spec: spec, identityObjectID: identity, keyWrapping: wrapping, wrappedMasterKey: wrapped,
                               storePath: storePath, managedBy: managedBy, created: try Self.now(db))
            try row.insert(db)
            // The service makes a new vault's default policies with it; they are its own, not coffer's.
            for policy in DefaultPolicies.all {
                try PolicyRow(vault: name, name: policy.name, spec: policy.spec(in: name), managedBy: nil, created: row.created).insert(db)
            }
            return try Self.vaultInfo(db, row)
        }
    }

    /// Changes a vault's settings, refusing what the service refuses.
    @discardableResult
    public func updateVault(name: String, spec new: VaultSpec) throws -> VaultInfo {
        try pool.write { db in
            var row = try Self.vault(db, name)
            let old = row.spec
            var new = new
            new.location = new.location.lowercased()
            let newSubscription = try Self.subscription(db, new.subscription).name
            guard newSubscription == row.subscription, new.resourceGroup.lowercased() == row.resourceGroup.lowercased(),
                new.location == row.region
            else {
                throw PlatformError(PlatformErrorCode.invalidInput,
                                    "a vault's subscription, resource group and region cannot change (vault '\(row.name)')",
                                    hint: "create a new vault where it is needed")
            }
            let items = try Self.registeredItems(db, vault: row.name)
            try Self.refuse(VaultRules.update(name: row.name, from: old, to: new, registeredItems: items))
            if old.immutability == .disabled && new.immutability == .locked {
                throw PlatformError(PlatformErrorCode.invalidImmutabilityTransition,
                                    "immutability goes from Disabled to Unlocked, and only then to Locked (vault '\(row.name)')",
                                    hint: "set it to Unlocked first")
            }
            switch (old.encryption, new.encryption) {
            case (nil, let wanted?):
                try Self.checkCustomerKey(db, wanted, vaultRegion: row.region, identity: new.systemAssignedIdentity)
                try rewrapVaultKey(db, &row, encryption: wanted)
            case (let had?, let wanted?):
                if had != wanted {
                    // Key rotation: re-wrap the vault key under the new key.
                    try Self.checkCustomerKey(db, wanted, vaultRegion: row.region, identity: new.systemAssignedIdentity)
                    try rewrapVaultKey(db, &row, encryption: wanted)
                }
            default:
                break
            }
            if new.systemAssignedIdentity && row.identityObjectID == nil { row.identityObjectID = Self.guid() }
            if !new.systemAssignedIdentity { row.identityObjectID = nil }
            new.subscription = old.subscription
            row.spec = new
            try row.update(db)
            return try Self.vaultInfo(db, row)
        }
    }

    /// Deletes a vault; refused while it holds backup items, soft-deleted ones included.
    public func deleteVault(name: String) throws {
        let storePath = try pool.write { db -> String in
            let row = try Self.vault(db, name)
            if let violation = VaultRules.delete(name: row.name, registeredItems: try Self.registeredItems(db, vault: row.name)) {
                throw PlatformError(violation)
            }
            try db.execute(sql: "DELETE FROM policy WHERE vault = ?", arguments: [row.name])
            try db.execute(sql: "DELETE FROM vault WHERE name = ?", arguments: [row.name])
            return row.storePath
        }
        try? FileManager.default.removeItem(atPath: (absolute(storePath) as NSString).deletingLastPathComponent)
    }

    /// Every vault, by name.
    public func vaults() throws -> [VaultInfo] {
        try pool.read { db in try VaultRow.fetchAll(db, sql: "SELECT * FROM vault ORDER BY name").map { try Self.vaultInfo(db, $0) } }
    }

    /// The vault with this name, or nil.
    public func vault(named name: String) throws -> VaultInfo? {
        try pool.read { db in
            try VaultRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM vault WHERE lower(name) = lower(?)"), arguments: [name]).map {
                try Self.vaultInfo(db, $0)
            }
        }
    }

    // MARK: Rules and keys

    static func registeredItems(_ db: Database, vault: String) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM protectedItem WHERE vault = ?"), arguments: [vault]) ?? 0
    }

    static func vaultInfo(_ db: Database, _ row: VaultRow) throws -> VaultInfo { try vaultInfo(Lookup(db), row) }

    static func vaultInfo(_ lookup: Lookup, _ row: VaultRow) throws -> VaultInfo {
        let subscription = try lookup.subscription(named: row.subscription)
        let isDefault = subscription?.isDefault ?? false
        var spec = row.spec
        spec.subscription = isDefault ? nil : row.subscription
        spec.resourceGroup = row.resourceGroup
        spec.location = row.region
        var tags = spec.tags
        if let managedBy = row.managedBy { tags[ObservedResource.managedByTag] = managedBy }
        return VaultInfo(
            name: row.name, id: vaultID(subscriptionID: subscription?.id ?? row.subscription, resourceGroup: row.resourceGroup, name: row.name),
            spec: spec, tags: tags, registeredItems: try lookup.registeredItems(vault: row.name), identityPrincipalID: row.identityObjectID)
    }

    /// The resource group must exist in the subscription and the region must be one the world uses.
    static func checkPlacement(_ db: Database, subscription: String, resourceGroup: String, region: String) throws {
        let lookup = Lookup(db)
        try refuse(
            VaultRules.placement(
                subscription: subscription, resourceGroup: resourceGroup, region: region,
                resourceGroupExists: try lookup.resourceGroupExists(subscription: subscription, name: resourceGroup),
                availableRegions: try lookup.availableRegions()))
    }

    /// A customer key for backup data must be an RSA key, enabled, in a key vault of the vault's region with
    /// soft delete and purge protection.
    static func checkCustomerKey(_ db: Database, _ encryption: VaultEncryption, vaultRegion: String, identity: Bool) throws {
        try refuse(VaultRules.customerKey(encryption, vaultRegion: vaultRegion, keyVault: try keyVaultFacts(Lookup(db), encryption.keyVault)))
    }

    /// Throws the first of `violations`, as the service refuses with its first problem.
    static func refuse(_ violations: [RuleViolation]) throws {
        if let first = violations.first { throw PlatformError(first) }
    }

    static func vaultKeyContext(_ vault: String) -> String { "vault:\(vault.lowercased())" }

    /// Wraps a vault's master key: under the HSM (platform key), or RSA-OAEP-256 under the customer key.
    static func wrapVaultKey(_ db: Database, _ key: SecureBytes, vault: String, encryption: VaultEncryption?, hsm: HSM)
        throws -> (String, Data)
    {
        guard let encryption else {
            return ("platform", try hsm.seal(key, purpose: "vaults", context: vaultKeyContext(vault)))
        }
        guard let kvKey = try KeyVaultStore.activeKey(db, keyVault: encryption.keyVault, name: encryption.key) else {
            throw PlatformError(PlatformErrorCode.cmkInvalidKey, "key vault '\(encryption.keyVault)' has no key '\(encryption.key)'")
        }
        return ("customer", Data(try KeyVaultStore.publicKey(kvKey).wrap(key, digest: .sha256)))
    }

    func rewrapVaultKey(_ db: Database, _ row: inout VaultRow, encryption: VaultEncryption) throws {
        let key = try Self.vaultMasterKey(db, row, hsm: hsm)
        let (wrapping, wrapped) = try Self.wrapVaultKey(db, key, vault: row.name, encryption: encryption, hsm: hsm)
        row.keyWrapping = wrapping
        row.wrappedMasterKey = wrapped
    }

    /// A vault's master key. With a customer key the vault's identity must still have Get, WrapKey and
    /// UnwrapKey on the key vault and the key must exist, or the service cannot reach its storage
    /// (`BCMProtGetSaSUriAsyncError`).
    static func vaultMasterKey(_ db: Database, _ row: VaultRow, hsm: HSM) throws -> SecureBytes {
        guard row.keyWrapping == "customer", let encryption = row.spec.encryption else {
            return try hsm.open(row.wrappedMasterKey, purpose: "vaults", context: vaultKeyContext(row.name))
        }
        if let violation = BackupRules.vaultKey(
            vault: row.name, encryption: encryption, identity: row.identityObjectID, keyVault: try keyVaultFacts(Lookup(db), encryption.keyVault))
        {
            throw PlatformError(violation)
        }
        guard let kvKey = try KeyVaultStore.activeKey(db, keyVault: encryption.keyVault, name: encryption.key) else {
            throw PlatformError(PlatformErrorCode.getSaSUriError, "the customer key '\(encryption.key)' is not in key vault '\(encryption.keyVault)'")
        }
        do {
            return try KeyVaultStore.privateKey(kvKey, hsm: hsm).unwrap([UInt8](row.wrappedMasterKey), digest: .sha256)
        } catch {
            throw PlatformError(PlatformErrorCode.getSaSUriError,
                                "Backup failed in allocating storage from protection service: the vault's key does not unwrap with the current version of '\(encryption.key)'",
                                underlying: error)
        }
    }

    /// Opens a vault's store.
    func openStore(_ row: VaultRow, masterKey: SecureBytes) throws -> VaultStore {
        do {
            return try VaultStore.open(at: absolute(row.storePath), masterKey: masterKey)
        } catch {
            throw PlatformError(PlatformErrorCode.storageError, "cannot open the store of vault '\(row.name)': \(error)",
                                underlying: error)
        }
    }
}
