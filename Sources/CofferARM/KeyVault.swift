public import CofferModel

/// A key vault on the management plane (`Microsoft.KeyVault/vaults`): its settings and access policies,
/// never a key's or secret's value.
public struct KeyVaultResource: Codable, Sendable, Hashable {
    public static let type = "Microsoft.KeyVault/vaults"

    public var id: String
    public var name: String
    public var type: String = Self.type
    public var location: String
    public var tags: [String: String]
    public var properties: Properties

    public struct Properties: Codable, Sendable, Hashable {
        public var tenantId: String
        public var sku: SKU
        public var accessPolicies: [AccessPolicyEntry]
        public var vaultUri: String
        public var enabledForDeployment: Bool
        public var enabledForDiskEncryption: Bool
        public var enabledForTemplateDeployment: Bool
        public var enableSoftDelete: Bool
        public var softDeleteRetentionInDays: Int
        /// Absent when off, as the service answers (it cannot be set to false).
        public var enablePurgeProtection: Bool?
        public var enableRbacAuthorization: Bool
        public var provisioningState = "Succeeded"
        public var publicNetworkAccess = "Enabled"

        public init(
            tenantId: String, accessPolicies: [AccessPolicyEntry], vaultUri: String, enabledForDiskEncryption: Bool,
            enableSoftDelete: Bool, softDeleteRetentionInDays: Int, enablePurgeProtection: Bool, enableRbacAuthorization: Bool = false
        ) {
            self.tenantId = tenantId
            self.sku = SKU(family: "A", name: "standard")
            self.accessPolicies = accessPolicies
            self.vaultUri = vaultUri
            self.enabledForDeployment = false
            self.enabledForDiskEncryption = enabledForDiskEncryption
            self.enabledForTemplateDeployment = false
            self.enableSoftDelete = enableSoftDelete
            self.softDeleteRetentionInDays = softDeleteRetentionInDays
            self.enablePurgeProtection = enablePurgeProtection ? true : nil
            self.enableRbacAuthorization = enableRbacAuthorization
        }
    }

    public struct SKU: Codable, Sendable, Hashable {
        public var family: String
        public var name: String
    }

    public init(id: String, name: String, location: String, tags: [String: String] = [:], properties: Properties) {
        self.id = id
        self.name = name
        self.location = location
        self.tags = tags
        self.properties = properties
    }

    public static func vaultURI(_ name: String) -> String { "https://\(name.lowercased()).vault.azure.net/" }
}

/// One access policy of a key vault: a principal's permissions, in the API's lower-case names.
public struct AccessPolicyEntry: Codable, Sendable, Hashable {
    public var tenantId: String?
    public var objectId: String?
    public var applicationId: String?
    public var permissions: Permissions?

    public struct Permissions: Codable, Sendable, Hashable {
        public var keys: [String]?
        public var secrets: [String]?
        public var certificates: [String]?
        public var storage: [String]?

        public init(keys: [String]?, secrets: [String]?, certificates: [String]? = nil, storage: [String]? = nil) {
            self.keys = keys
            self.secrets = secrets
            self.certificates = certificates
            self.storage = storage
        }
    }

    public init(tenantId: String?, objectId: String?, applicationId: String? = nil, permissions: Permissions?) {
        self.tenantId = tenantId
        self.objectId = objectId
        self.applicationId = applicationId
        self.permissions = permissions
    }

    /// The entry for an access policy the platform holds.
    public init(tenantID: String, objectID: String, keys: [KeyPermission], secrets: [SecretPermission]) {
        self.init(
            tenantId: tenantID, objectId: objectID,
            permissions: Permissions(keys: keys.map { $0.rawValue.lowercased() }, secrets: secrets.map { $0.rawValue.lowercased() }, certificates: [], storage: []))
    }

    /// The permissions asked for: names in any case, `all` for every one. Certificate and storage
    /// permissions are refused when given: the platform does not simulate them.
    public func requested(field: String) throws(ARMError) -> (objectID: String, keys: [KeyPermission], secrets: [SecretPermission]) {
        guard let objectId, !objectId.isEmpty else {
            throw ARMError(status: 400, code: "BadRequest", message: "An access policy needs its objectId.", target: "\(field).objectId")
        }
        let keys = try Self.permissions(KeyPermission.self, permissions?.keys ?? [], field: "\(field).permissions.keys")
        let secrets = try Self.permissions(SecretPermission.self, permissions?.secrets ?? [], field: "\(field).permissions.secrets")
        for (name, list) in [("certificates", permissions?.certificates), ("storage", permissions?.storage)] where !(list ?? []).isEmpty {
            throw ARMError(
                status: 400, code: "BadRequest",
                message: "coffer serve simulates key and secret permissions only; '\(field).permissions.\(name)' must be empty.",
                target: "\(field).permissions.\(name)")
        }
        return (objectId, keys, secrets)
    }

    static func permissions<T: RawRepresentable & CaseIterable & Comparable & Hashable>(_ type: T.Type, _ names: [String], field: String) throws(ARMError) -> [T]
    where T.RawValue == String {
        var result = Set<T>()
        for name in names {
            if name.lowercased() == "all" {
                result.formUnion(T.allCases)
                continue
            }
            guard let match = T.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                throw ARMError(
                    status: 400, code: "BadRequest", message: "'\(name.prefix(40))' is not a permission of '\(field)'.", target: field)
            }
            result.insert(match)
        }
        return result.sorted()
    }
}

/// `PUT {keyVault}/accessPolicies/{add|replace|remove}`: the body in, and the answer out.
public struct AccessPolicyUpdateResource: Codable, Sendable, Hashable {
    public var id: String?
    public var name: String?
    public var type: String?
    public var location: String?
    public var properties: Properties?

    public struct Properties: Codable, Sendable, Hashable {
        public var accessPolicies: [AccessPolicyEntry]?
        public init(accessPolicies: [AccessPolicyEntry]?) { self.accessPolicies = accessPolicies }
    }

    public init(id: String?, name: String?, location: String?, accessPolicies: [AccessPolicyEntry]) {
        self.id = id
        self.name = name
        self.type = "Microsoft.KeyVault/vaults/accessPolicies"
        self.location = location
        self.properties = Properties(accessPolicies: accessPolicies)
    }
}

/// The three kinds of access policy update.
public enum AccessPolicyUpdateKind: String, Sendable, Hashable, CaseIterable {
    /// Adds the given permissions to each principal's (creating its policy).
    case add
    /// Sets each principal's permissions to exactly the given ones.
    case replace
    /// Takes the given permissions away; a policy left with none is removed.
    case remove
}

/// A key or a secret as the management plane lists them: name and attributes, never the value.
public struct KeyVaultObjectResource: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var type: String
    public var properties: Properties

    public struct Properties: Codable, Sendable, Hashable {
        public var attributes: Attributes
        /// Keys: `RSA`.
        public var kty: String?
        public var keySize: Int?
        public var keyUri: String?
        public var keyUriWithVersion: String?
        public var secretUri: String?
        public var secretUriWithVersion: String?
        public var contentType: String?

        public init(attributes: Attributes) { self.attributes = attributes }
    }

    public struct Attributes: Codable, Sendable, Hashable {
        public var enabled: Bool
        public var recoveryLevel: String
        public init(enabled: Bool, recoveryLevel: String) {
            self.enabled = enabled
            self.recoveryLevel = recoveryLevel
        }
    }

    public init(id: String, name: String, type: String, properties: Properties) {
        self.id = id
        self.name = name
        self.type = type
        self.properties = properties
    }
}

/// A subscription (`/subscriptions/{id}`).
public struct SubscriptionResource: Codable, Sendable, Hashable {
    public var id: String
    public var subscriptionId: String
    public var displayName: String
    public var state = "Enabled"
    public var tenantId: String
    public var authorizationSource = "RoleBased"

    public init(subscriptionId: String, displayName: String, tenantId: String) {
        self.id = ResourceIDs.subscription(subscriptionId)
        self.subscriptionId = subscriptionId
        self.displayName = displayName
        self.tenantId = tenantId
    }
}

/// A resource group (`/subscriptions/{s}/resourceGroups/{name}`).
public struct ResourceGroupResource: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var type = "Microsoft.Resources/resourceGroups"
    public var location: String
    public var properties = Properties()

    public struct Properties: Codable, Sendable, Hashable {
        public var provisioningState = "Succeeded"
    }

    public init(subscription: String, name: String, location: String) {
        self.id = ResourceIDs.resourceGroup(subscription: subscription, name: name)
        self.name = name
        self.location = location
    }
}

/// The body of a key vault PUT (Vaults_CreateOrUpdate) or PATCH (Vaults_Update). Every field is optional:
/// what the body leaves out keeps its current value. The settings the platform does not model are taken only
/// at the value it serves (a full PUT echoes a GET, as `az keyvault set-policy` does).
public struct KeyVaultUpdateRequest: Decodable, Sendable, Hashable {
    public var location: String?
    public var tags: [String: String]?
    public var properties: Properties?

    public struct Properties: Decodable, Sendable, Hashable {
        public var tenantId: String?
        public var sku: SKU?
        public var accessPolicies: [AccessPolicyEntry]?
        /// Assigned by the service; ignored.
        public var vaultUri: String?
        public var enabledForDeployment: Bool?
        public var enabledForDiskEncryption: Bool?
        public var enabledForTemplateDeployment: Bool?
        public var enableSoftDelete: Bool?
        public var softDeleteRetentionInDays: Int?
        public var enablePurgeProtection: Bool?
        public var enableRbacAuthorization: Bool?
        /// `default` or `recover`; a key vault that exists takes `default` only.
        public var createMode: String?
        public var publicNetworkAccess: String?
        public var networkAcls: NetworkRuleSet?
    }

    public struct SKU: Decodable, Sendable, Hashable {
        public var family: String?
        public var name: String?
    }

    /// Network rules: only "allow everything" (no rules, default action `Allow`) is simulated.
    public struct NetworkRuleSet: Decodable, Sendable, Hashable {
        public var bypass: String?
        public var defaultAction: String?
        public var ipRules: [Rule]?
        public var virtualNetworkRules: [Rule]?
    }

    public struct Rule: Decodable, Sendable, Hashable {
        public var value: String?
        public var id: String?
    }

    /// The settings asked for over `current`. `tenantID` and `region` are the key vault's; a different tenant,
    /// location, SKU or a setting the platform does not model (deployment, template deployment, tags,
    /// network rules, private access) is 400 `BadRequest` naming the field.
    public func settings(over current: KeyVaultSettings, tenantID: String, region: String) throws(ARMError) -> KeyVaultSettings {
        var settings = current
        if let location, String(location.lowercased().filter { $0 != " " }) != region.lowercased() {
            throw Self.refused("location", "a key vault's location cannot change (it is \(region), not '\(location.prefix(40))')")
        }
        if let tags, !tags.isEmpty {
            throw Self.refused("tags", "key vault tags are not simulated; send none")
        }
        guard let properties else { return settings }
        if let tenant = properties.tenantId, tenant.lowercased() != tenantID.lowercased() {
            throw Self.refused("properties.tenantId", "'\(tenant.prefix(64))' is not the key vault's tenant (\(tenantID))")
        }
        if let family = properties.sku?.family, family.uppercased() != "A" {
            throw Self.refused("properties.sku.family", "'\(family.prefix(20))' is not a key vault SKU family (A)")
        }
        if let name = properties.sku?.name, name.lowercased() != "standard" {
            throw Self.refused("properties.sku.name", "only the standard SKU is simulated, not '\(name.prefix(20))'")
        }
        for (field, value) in [("enabledForDeployment", properties.enabledForDeployment), ("enabledForTemplateDeployment", properties.enabledForTemplateDeployment)] {
            if value == true { throw Self.refused("properties.\(field)", "\(field) is not simulated; it stays false") }
        }
        if let mode = properties.createMode, mode.lowercased() != "default" {
            throw Self.refused("properties.createMode", "the key vault exists; createMode '\(mode.prefix(20))' recovers a deleted one, which is not simulated")
        }
        if let access = properties.publicNetworkAccess, access.lowercased() != "enabled" {
            throw Self.refused("properties.publicNetworkAccess", "private access is not simulated; publicNetworkAccess stays Enabled")
        }
        if let rules = properties.networkAcls {
            let open = (rules.defaultAction ?? "Allow").lowercased() == "allow" && (rules.ipRules ?? []).isEmpty && (rules.virtualNetworkRules ?? []).isEmpty
            if !open { throw Self.refused("properties.networkAcls", "network rules are not simulated; the key vault allows every network") }
        }
        if let value = properties.enabledForDiskEncryption { settings.enabledForDiskEncryption = value }
        if let value = properties.enableSoftDelete { settings.softDelete = value }
        if let value = properties.softDeleteRetentionInDays { settings.softDeleteRetentionDays = value }
        if let value = properties.enablePurgeProtection { settings.purgeProtection = value }
        if let value = properties.enableRbacAuthorization { settings.rbacAuthorization = value }
        return settings
    }

    static func refused(_ field: String, _ detail: String) -> ARMError {
        ARMError(status: 400, code: "BadRequest", message: "Invalid value of '\(field)': \(detail).", target: field)
    }
}
