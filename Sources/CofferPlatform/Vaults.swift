import CofferCrypto
import CofferModel
import CofferSnapshot
import Foundation
import GRDB

extension Platform {
    // MARK: Recovery Services vaults

    /// Creates a Recovery Services vault with its own vault store; `managedBy` tags it (`managed-by: coffer`).
    @discardableResult
    public func createVault(name: String, spec: VaultSpec, managedBy: String? = nil) throws -> VaultInfo {
        try pool.write { db in
            if let problem = Naming.vaultNameProblem(name) {
                throw PlatformError(PlatformErrorCode.invalidResourceName, "invalid vault name '\(name)': \(problem)")
            }
            if try VaultRow.fetchOne(db, sql: "SELECT * FROM vault WHERE lower(name) = lower(?)", arguments: [name]) != nil {
                throw PlatformError(PlatformErrorCode.resourceAlreadyExists, "a Recovery Services vault named '\(name)' already exists",
                                    hint: "vault names are unique in the platform; choose another name or import the existing vault")
            }
            let subscription = try Self.subscription(db, spec.subscription)
            try Self.checkPlacement(db, subscription: subscription.name, resourceGroup: spec.resourceGroup, region: spec.location)
            var spec = spec
            spec.location = spec.location.lowercased()
            try Self.checkVaultSettings(spec)
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
            if old.systemAssignedIdentity && !new.systemAssignedIdentity && old.encryption != nil {
                throw PlatformError(PlatformErrorCode.identityInUse,
                                    "the identity of vault '\(row.name)' encrypts its backup data with a customer key and cannot be removed")
            }
            try Self.checkVaultSettings(new)
            let items = try Self.registeredItems(db, vault: row.name)
            if new.storageRedundancy != old.storageRedundancy && items > 0 {
                throw PlatformError(PlatformErrorCode.storageModelModifyError,
                                    "Storage Redundancy option is locked when the first machine is registered to the vault '\(row.name)' (\(items) item(s))",
                                    hint: "create a new vault with the redundancy you need, or remove every backup item first")
            }
            if old.crossRegionRestore && !new.crossRegionRestore {
                throw PlatformError(PlatformErrorCode.crossRegionRestoreCannotBeDisabled,
                                    "cross-region restore cannot be turned off once enabled (vault '\(row.name)')",
                                    hint: "create a new vault without cross-region restore")
            }
            if old.immutability == .locked && new.immutability != .locked {
                throw PlatformError(PlatformErrorCode.immutabilityLocked,
                                    "the immutability of vault '\(row.name)' is Locked, which cannot be undone")
            }
            if old.immutability == .disabled && new.immutability == .locked {
                throw PlatformError(PlatformErrorCode.invalidImmutabilityTransition,
                                    "immutability goes from Disabled to Unlocked, and only then to Locked (vault '\(row.name)')",
                                    hint: "set it to Unlocked first")
            }
            if old.softDeleteState == .alwaysOn && new.softDeleteState != .alwaysOn {
                throw PlatformError(PlatformErrorCode.softDeleteStateAlwaysOn,
                                    "soft delete of vault '\(row.name)' is AlwaysOn, which cannot be changed")
            }
            if old.encryption != nil && old.sku != new.sku {
                throw PlatformError(PlatformErrorCode.invalidInput, "the SKU of a vault encrypted with a customer key cannot change")
            }
            switch (old.encryption, new.encryption) {
            case (nil, nil):
                break
            case (_?, nil):
                throw PlatformError(PlatformErrorCode.cmkCannotBeDisabled,
                                    "encryption with a customer key cannot be turned off (vault '\(row.name)')")
            case (nil, let wanted?):
                if items > 0 {
                    throw PlatformError(PlatformErrorCode.cmkRequiresEmptyVault,
                                        "customer-key encryption can be set only on a vault with no registered items ('\(row.name)' has \(items))",
                                        hint: "create a new vault with the customer key, then protect VMs in it")
                }
                try Self.checkCustomerKey(db, wanted, vaultRegion: row.region, identity: new.systemAssignedIdentity)
                try rewrapVaultKey(db, &row, encryption: wanted)
            case (let had?, let wanted?):
                if had.infrastructureEncryption != wanted.infrastructureEncryption {
                    throw PlatformError(PlatformErrorCode.invalidInput, "infrastructure encryption is fixed once set (vault '\(row.name)')")
                }
                if had != wanted {
                    // Key rotation: re-wrap the vault key under the new key.
                    try Self.checkCustomerKey(db, wanted, vaultRegion: row.region, identity: new.systemAssignedIdentity)
                    try rewrapVaultKey(db, &row, encryption: wanted)
                }
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
            let items = try Self.registeredItems(db, vault: row.name)
            if items > 0 {
                throw PlatformError(PlatformErrorCode.serviceResourceNotEmpty,
                                    "Vault cannot be deleted as there are existing resources within the vault '\(row.name)': \(items) backup item(s), soft-deleted ones included",
                                    hint: "stop protection and delete the data of every item, wait for (or undo) soft delete, then retry")
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
            try VaultRow.fetchOne(db, sql: "SELECT * FROM vault WHERE lower(name) = lower(?)", arguments: [name]).map {
                try Self.vaultInfo(db, $0)
            }
        }
    }

    // MARK: Rules and keys

    static func registeredItems(_ db: Database, vault: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM protectedItem WHERE vault = ?", arguments: [vault]) ?? 0
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
        guard try ResourceGroupRow.fetchOne(db, sql: "SELECT * FROM resourceGroup WHERE subscription = ? AND lower(name) = lower(?)",
                                            arguments: [subscription, resourceGroup]) != nil else {
            throw PlatformError(PlatformErrorCode.resourceNotFound,
                                "resource group '\(resourceGroup)' does not exist in subscription '\(subscription)'",
                                hint: "use a resource group of the world file")
        }
        guard Regions.region(named: region) != nil else {
            throw PlatformError(PlatformErrorCode.invalidInput, "'\(region)' is not an Azure region")
        }
        guard try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM regionInUse WHERE name = ?", arguments: [region.lowercased()]) == true else {
            throw PlatformError(PlatformErrorCode.invalidInput, "region '\(region)' is not available in this platform",
                                hint: "use one of the world's regions: \(try String.fetchAll(db, sql: "SELECT name FROM regionInUse ORDER BY name").joined(separator: ", "))")
        }
    }

    /// The rules a vault's settings must follow on their own.
    static func checkVaultSettings(_ spec: VaultSpec) throws {
        guard (14...180).contains(spec.softDeleteRetentionDays) else {
            throw PlatformError(PlatformErrorCode.invalidInput,
                                "soft-delete retention is 14 to 180 days, not \(spec.softDeleteRetentionDays)")
        }
        if spec.storageRedundancy == .geoRedundant && Regions.pair(of: spec.location) == nil {
            throw PlatformError(PlatformErrorCode.geoRedundancyNotAvailable,
                                "region '\(spec.location)' has no paired region, so geo-redundant storage is not available",
                                hint: "use LocallyRedundant or ZoneRedundant storage")
        }
        if spec.crossRegionRestore && spec.storageRedundancy != .geoRedundant {
            throw PlatformError(PlatformErrorCode.crossRegionRestoreRequiresGeoRedundancy,
                                "cross-region restore needs GeoRedundant storage, not \(spec.storageRedundancy.rawValue)",
                                hint: "set storageRedundancy: GeoRedundant or turn cross-region restore off")
        }
        if spec.encryption != nil && !spec.systemAssignedIdentity {
            throw PlatformError(PlatformErrorCode.cmkInvalidKey,
                                "encryption with a customer key needs the vault's system-assigned identity",
                                hint: "set systemAssignedIdentity: true")
        }
    }

    /// A customer key for backup data must be an RSA key, enabled, in a key vault of the vault's region with
    /// soft delete and purge protection.
    static func checkCustomerKey(_ db: Database, _ encryption: VaultEncryption, vaultRegion: String, identity: Bool) throws {
        let keyVault = try Self.keyVault(db, encryption.keyVault)
        guard keyVault.region == vaultRegion.lowercased() else {
            throw PlatformError(PlatformErrorCode.cmkInvalidKey,
                                "the key vault '\(keyVault.name)' is in \(keyVault.region); a vault's customer key must be in its region (\(vaultRegion))")
        }
        guard keyVault.softDelete && keyVault.purgeProtection else {
            throw PlatformError(PlatformErrorCode.cmkInvalidKey,
                                "the key vault '\(keyVault.name)' needs soft delete and purge protection to hold a vault's customer key")
        }
        guard try KeyVaultStore.activeKey(db, keyVault: keyVault.name, name: encryption.key) != nil else {
            throw PlatformError(PlatformErrorCode.cmkInvalidKey, "key vault '\(keyVault.name)' has no enabled key '\(encryption.key)'")
        }
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
        let failure = { (why: String) in
            PlatformError(PlatformErrorCode.getSaSUriError,
                          "Backup failed in allocating storage from protection service: \(why)",
                          hint: "give the identity of vault '\(row.name)' (\(row.identityObjectID ?? "none")) Get, WrapKey and UnwrapKey on key vault '\(encryption.keyVault)', and keep the key '\(encryption.key)'")
        }
        guard let identity = row.identityObjectID,
            try KeyVaultStore.hasPermissions(db, keyVault: encryption.keyVault, objectID: identity, keys: [.get, .wrapKey, .unwrapKey], secrets: [])
        else {
            throw failure("the vault's identity has no access to key vault '\(encryption.keyVault)'")
        }
        guard let kvKey = try KeyVaultStore.activeKey(db, keyVault: encryption.keyVault, name: encryption.key) else {
            throw failure("the customer key '\(encryption.key)' is not in key vault '\(encryption.keyVault)'")
        }
        do {
            return try KeyVaultStore.privateKey(kvKey, hsm: hsm).unwrap([UInt8](row.wrappedMasterKey), digest: .sha256)
        } catch {
            throw failure("the vault's key does not unwrap with the current version of '\(encryption.key)'")
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
