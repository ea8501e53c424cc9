public import CofferModel

/// A Recovery Services vault on the wire (`Microsoft.RecoveryServices/vaults`, Vaults_CreateOrUpdate and
/// Vaults_Get). Every field is optional when decoding: what a request leaves out keeps its default (create)
/// or its current value (update).
public struct VaultResource: Codable, Sendable, Hashable {
    public static let type = "Microsoft.RecoveryServices/vaults"

    public var id: String?
    public var name: String?
    public var type: String?
    public var location: String?
    public var tags: [String: String]?
    public var etag: String?
    public var sku: SKU?
    public var identity: Identity?
    public var properties: Properties?

    public struct SKU: Codable, Sendable, Hashable {
        public var name: String?
        public var tier: String?
        public init(name: String?, tier: String? = nil) {
            self.name = name
            self.tier = tier
        }
    }

    public struct Identity: Codable, Sendable, Hashable {
        /// `SystemAssigned`, `None` (user-assigned identities are not simulated).
        public var type: String?
        public var principalId: String?
        public var tenantId: String?
        public init(type: String?, principalId: String? = nil, tenantId: String? = nil) {
            self.type = type
            self.principalId = principalId
            self.tenantId = tenantId
        }
    }

    public struct Properties: Codable, Sendable, Hashable {
        public var provisioningState: String?
        public var publicNetworkAccess: String?
        public var redundancySettings: RedundancySettings?
        public var securitySettings: SecuritySettings?
        public var encryption: Encryption?
        public init() {}
    }

    public struct RedundancySettings: Codable, Sendable, Hashable {
        /// `GeoRedundant`, `LocallyRedundant`, `ZoneRedundant`.
        public var standardTierStorageRedundancy: String?
        /// `Enabled`, `Disabled`.
        public var crossRegionRestore: String?
        public init(standardTierStorageRedundancy: String?, crossRegionRestore: String?) {
            self.standardTierStorageRedundancy = standardTierStorageRedundancy
            self.crossRegionRestore = crossRegionRestore
        }
    }

    public struct SecuritySettings: Codable, Sendable, Hashable {
        public var softDeleteSettings: SoftDeleteSettings?
        public var immutabilitySettings: ImmutabilitySettings?
        public init(softDeleteSettings: SoftDeleteSettings?, immutabilitySettings: ImmutabilitySettings?) {
            self.softDeleteSettings = softDeleteSettings
            self.immutabilitySettings = immutabilitySettings
        }
    }

    public struct SoftDeleteSettings: Codable, Sendable, Hashable {
        /// `Enabled`, `AlwaysON` (`Disabled` is refused: Recovery Services vaults can no longer turn it off).
        public var softDeleteState: String?
        public var softDeleteRetentionPeriodInDays: Int?
        public var enhancedSecurityState: String?
        public init(softDeleteState: String?, softDeleteRetentionPeriodInDays: Int?, enhancedSecurityState: String? = nil) {
            self.softDeleteState = softDeleteState
            self.softDeleteRetentionPeriodInDays = softDeleteRetentionPeriodInDays
            self.enhancedSecurityState = enhancedSecurityState
        }
    }

    public struct ImmutabilitySettings: Codable, Sendable, Hashable {
        /// `Disabled`, `Unlocked`, `Locked`.
        public var state: String?
        public init(state: String?) { self.state = state }
    }

    public struct Encryption: Codable, Sendable, Hashable {
        public var keyVaultProperties: KeyVaultProperties?
        public var kekIdentity: KEKIdentity?
        /// `Enabled`, `Disabled`.
        public var infrastructureEncryption: String?
        public init(keyVaultProperties: KeyVaultProperties?, kekIdentity: KEKIdentity?, infrastructureEncryption: String?) {
            self.keyVaultProperties = keyVaultProperties
            self.kekIdentity = kekIdentity
            self.infrastructureEncryption = infrastructureEncryption
        }
    }

    public struct KeyVaultProperties: Codable, Sendable, Hashable {
        /// `https://KEYVAULT.vault.azure.net/keys/NAME[/VERSION]`.
        public var keyUri: String?
        public init(keyUri: String?) { self.keyUri = keyUri }
    }

    public struct KEKIdentity: Codable, Sendable, Hashable {
        public var useSystemAssignedIdentity: Bool?
        public init(useSystemAssignedIdentity: Bool?) { self.useSystemAssignedIdentity = useSystemAssignedIdentity }
    }

    public init() {}
}

extension VaultResource {
    /// The body that answers for a vault: its id, name, tags, identity and settings as the spec holds them.
    public init(id: String, name: String, spec: VaultSpec, tags: [String: String], identityPrincipalID: String?, tenantID: String) {
        self.init()
        self.id = id
        self.name = name
        self.type = Self.type
        self.location = spec.location
        self.tags = tags
        self.etag = nil
        self.sku = SKU(name: spec.sku.rawValue, tier: "Standard")
        self.identity = identityPrincipalID.map { Identity(type: "SystemAssigned", principalId: $0, tenantId: tenantID) }
            ?? Identity(type: "None")
        var properties = Properties()
        properties.provisioningState = "Succeeded"
        properties.publicNetworkAccess = spec.publicNetworkAccess ? "Enabled" : "Disabled"
        properties.redundancySettings = RedundancySettings(
            standardTierStorageRedundancy: spec.storageRedundancy.rawValue,
            crossRegionRestore: spec.crossRegionRestore ? "Enabled" : "Disabled")
        properties.securitySettings = SecuritySettings(
            softDeleteSettings: SoftDeleteSettings(
                softDeleteState: spec.softDeleteState == .alwaysOn ? "AlwaysON" : "Enabled",
                softDeleteRetentionPeriodInDays: spec.softDeleteRetentionDays,
                enhancedSecurityState: "Enabled"),
            immutabilitySettings: ImmutabilitySettings(state: spec.immutability.rawValue))
        properties.encryption = spec.encryption.map { encryption in
            Encryption(
                keyVaultProperties: KeyVaultProperties(keyUri: "https://\(encryption.keyVault).vault.azure.net/keys/\(encryption.key)"),
                kekIdentity: KEKIdentity(useSystemAssignedIdentity: true),
                infrastructureEncryption: encryption.infrastructureEncryption ? "Enabled" : "Disabled")
        }
        self.properties = properties
    }

    /// The spec a PUT asks for: what the body gives, over `existing` (an update) or the service's
    /// defaults (a create). `subscription` and `resourceGroup` come from the path. Invalid values are
    /// 400 `BMSUserErrorInvalidInput` naming the field.
    public func spec(subscription: String?, resourceGroup: String, existing: VaultSpec?) throws(ARMError) -> VaultSpec {
        guard let location = location ?? existing?.location, !location.isEmpty else {
            throw ARMError(status: 400, code: "LocationRequired", message: "The location property is required for this definition.", target: "location")
        }
        var spec = existing ?? VaultSpec(subscription: subscription, resourceGroup: resourceGroup, location: location)
        spec.subscription = subscription
        spec.resourceGroup = resourceGroup
        spec.location = location
        if let name = sku?.name {
            spec.sku = try Self.enumValue(VaultSKU.self, name, field: "sku.name")
        }
        if let tags { spec.tags = tags }
        if let identity {
            switch identity.type?.lowercased() {
            case "systemassigned": spec.systemAssignedIdentity = true
            case "none", nil: spec.systemAssignedIdentity = false
            default:
                throw Self.invalid("identity.type", "'\(identity.type ?? "")' is not supported; use SystemAssigned or None")
            }
        }
        guard let properties else { return spec }
        if let access = properties.publicNetworkAccess {
            spec.publicNetworkAccess = try Self.enabled(access, field: "properties.publicNetworkAccess")
        }
        if let redundancy = properties.redundancySettings {
            if let storage = redundancy.standardTierStorageRedundancy {
                spec.storageRedundancy = try Self.enumValue(StorageRedundancy.self, storage, field: "properties.redundancySettings.standardTierStorageRedundancy")
            }
            if let crossRegion = redundancy.crossRegionRestore {
                spec.crossRegionRestore = try Self.enabled(crossRegion, field: "properties.redundancySettings.crossRegionRestore")
            }
        }
        if let security = properties.securitySettings {
            if let softDelete = security.softDeleteSettings {
                switch softDelete.softDeleteState?.lowercased() {
                case nil: break
                case "enabled": spec.softDeleteState = .enabled
                case "alwayson": spec.softDeleteState = .alwaysOn
                case "disabled" where existing?.softDeleteState == .alwaysOn:
                    // Refused by the platform's rule, with the code the service gives an AlwaysON vault.
                    spec.softDeleteState = .enabled
                case "disabled":
                    throw ARMError(
                        status: 400, code: "BMSUserErrorSoftDeleteDisableNotAllowed",
                        message: "Soft delete cannot be disabled on a Recovery Services vault; it is Enabled or AlwaysON.",
                        target: "properties.securitySettings.softDeleteSettings.softDeleteState")
                default:
                    throw Self.invalid("properties.securitySettings.softDeleteSettings.softDeleteState",
                                       "'\(softDelete.softDeleteState ?? "")' is not one of Enabled, AlwaysON")
                }
                if let days = softDelete.softDeleteRetentionPeriodInDays { spec.softDeleteRetentionDays = days }
            }
            if let state = security.immutabilitySettings?.state {
                spec.immutability = try Self.enumValue(Immutability.self, state, field: "properties.securitySettings.immutabilitySettings.state")
            }
        }
        if let encryption = properties.encryption {
            guard let uri = encryption.keyVaultProperties?.keyUri, let key = KeyURI(uri) else {
                throw Self.invalid("properties.encryption.keyVaultProperties.keyUri", "give the key's URI, https://KEYVAULT.vault.azure.net/keys/NAME")
            }
            var infrastructure = spec.encryption?.infrastructureEncryption ?? false
            if let value = encryption.infrastructureEncryption {
                infrastructure = try Self.enabled(value, field: "properties.encryption.infrastructureEncryption")
            }
            spec.encryption = VaultEncryption(keyVault: key.keyVault, key: key.name, infrastructureEncryption: infrastructure)
        }
        return spec
    }

    static func invalid(_ field: String, _ detail: String) -> ARMError {
        ARMError(status: 400, code: "BMSUserErrorInvalidInput", message: "Invalid value of '\(field)': \(detail).", target: field)
    }

    static func enabled(_ value: String, field: String) throws(ARMError) -> Bool {
        switch value.lowercased() {
        case "enabled": return true
        case "disabled": return false
        default: throw invalid(field, "'\(value)' is not one of Enabled, Disabled")
        }
    }

    static func enumValue<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ value: String, field: String) throws(ARMError) -> T
    where T.RawValue == String {
        guard let match = T.allCases.first(where: { $0.rawValue.lowercased() == value.lowercased() }) else {
            throw invalid(field, "'\(value)' is not one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return match
    }
}

/// A Key Vault key URI: `https://KEYVAULT.vault.azure.net/keys/NAME[/VERSION]` (the key vault lower-cased, as
/// host names are).
public struct KeyURI: Sendable, Hashable {
    public var keyVault: String
    public var name: String

    public init?(_ text: String) {
        let lowered = text.lowercased()
        guard lowered.hasPrefix("https://") else { return nil }
        let rest = text.dropFirst("https://".count)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 3, parts.count <= 4, parts[1].lowercased() == "keys" else { return nil }
        let keyVault = parts[0].prefix { $0 != "." }
        guard !keyVault.isEmpty, parts[0].dropFirst(keyVault.count).lowercased() == ".vault.azure.net" else { return nil }
        self.keyVault = keyVault.lowercased()
        name = parts[2]
    }
}

/// The body of a `backupconfig/vaultconfig` PUT or PATCH (BackupResourceVaultConfigs_Put, _Update): the
/// vault's soft-delete settings. What the body leaves out keeps its current value, for both methods.
public struct VaultConfigRequest: Decodable, Sendable, Hashable {
    public var properties: Properties?

    public struct Properties: Decodable, Sendable, Hashable {
        /// `Enabled`, `AlwaysON`; `Disabled` is refused.
        public var softDeleteFeatureState: String?
        public var softDeleteRetentionPeriodInDays: Int?
        /// Always `Enabled` on the platform.
        public var enhancedSecurityState: String?
        public var storageModelType: String?
        public var storageType: String?
        public var storageTypeState: String?
        public var isSoftDeleteFeatureStateEditable: Bool?
        public var resourceGuardOperationRequests: [String]?
    }

    /// The spec the request asks for over `current`. Soft delete cannot be turned off: `Disabled` on an
    /// AlwaysON vault asks for `Enabled`, which the platform's rules refuse with
    /// `BMSUserErrorSoftDeleteStateAlwaysOn`; on an Enabled vault it is `BMSUserErrorSoftDeleteDisableNotAllowed`.
    /// The storage type is the storage configuration's, and the platform's rules decide on its change.
    public func spec(over current: VaultSpec) throws(ARMError) -> VaultSpec {
        var spec = current
        guard let properties else { return spec }
        if let state = properties.softDeleteFeatureState {
            switch state.lowercased() {
            case "enabled": spec.softDeleteState = .enabled
            case "alwayson": spec.softDeleteState = .alwaysOn
            case "disabled":
                guard current.softDeleteState == .alwaysOn else {
                    throw ARMError(
                        status: 400, code: "BMSUserErrorSoftDeleteDisableNotAllowed",
                        message: "Soft delete cannot be disabled on a Recovery Services vault; it is Enabled or AlwaysON.",
                        target: "properties.softDeleteFeatureState")
                }
                spec.softDeleteState = .enabled
            default:
                throw VaultResource.invalid("properties.softDeleteFeatureState", "'\(state.prefix(40))' is not one of Enabled, AlwaysON")
            }
        }
        if let days = properties.softDeleteRetentionPeriodInDays { spec.softDeleteRetentionDays = days }
        if let enhanced = properties.enhancedSecurityState, enhanced.lowercased() != "enabled" {
            throw VaultResource.invalid("properties.enhancedSecurityState", "enhanced security is always Enabled on the platform, not '\(enhanced.prefix(40))'")
        }
        if !(properties.resourceGuardOperationRequests ?? []).isEmpty {
            throw VaultResource.invalid("properties.resourceGuardOperationRequests", "resource guards are not simulated; leave the list empty")
        }
        spec.storageRedundancy = try StorageConfigRequest.storageType(
            properties.storageModelType, properties.storageType, current: spec.storageRedundancy)
        return spec
    }
}

/// The body of a `backupstorageconfig/vaultstorageconfig` PUT or PATCH (BackupResourceStorageConfigsNonCRR_Update,
/// _Patch): the vault's storage redundancy and cross-region restore. What the body leaves out keeps its
/// current value.
public struct StorageConfigRequest: Decodable, Sendable, Hashable {
    public var properties: Properties?

    public struct Properties: Decodable, Sendable, Hashable {
        public var storageModelType: String?
        public var storageType: String?
        /// Read-only (`Locked` once an item is registered); ignored.
        public var storageTypeState: String?
        public var crossRegionRestoreFlag: Bool?
        /// Not simulated: only `Invalid` (unset) is taken.
        public var dedupState: String?
        public var xcoolState: String?
    }

    /// The spec the request asks for over `current`; the platform's rules decide whether the change is allowed
    /// (`StorageModelModifyError` once items are registered, cross-region restore on GeoRedundant storage only).
    public func spec(over current: VaultSpec) throws(ARMError) -> VaultSpec {
        var spec = current
        guard let properties else { return spec }
        spec.storageRedundancy = try Self.storageType(properties.storageModelType, properties.storageType, current: spec.storageRedundancy)
        if let crossRegion = properties.crossRegionRestoreFlag { spec.crossRegionRestore = crossRegion }
        for (name, value) in [("dedupState", properties.dedupState), ("xcoolState", properties.xcoolState)] {
            if let value, value.lowercased() != "invalid" {
                throw VaultResource.invalid("properties.\(name)", "'\(value.prefix(40))' is not simulated; leave it out")
            }
        }
        return spec
    }

    /// The redundancy `storageModelType` and `storageType` ask for (they must agree when both are given);
    /// `Invalid` or absent keeps `current`.
    static func storageType(_ model: String?, _ type: String?, current: StorageRedundancy) throws(ARMError) -> StorageRedundancy {
        var result: StorageRedundancy?
        for (field, value) in [("properties.storageModelType", model), ("properties.storageType", type)] {
            guard let value, value.lowercased() != "invalid" else { continue }
            let parsed = try VaultResource.enumValue(StorageRedundancy.self, value, field: field)
            if let result, result != parsed {
                throw VaultResource.invalid(field, "storageModelType and storageType disagree (\(result.rawValue), \(parsed.rawValue))")
            }
            result = parsed
        }
        return result ?? current
    }
}
