public import CofferModel

/// What a reconciler needs to know about the platform behind an endpoint that no ARM resource body carries:
/// the tenant's default subscription, the operator's membership of the tenant, the Backup Management
/// Service's object id in the tenant, the regions offered, the tenant's custom roles, the disk encryption
/// sets with their keys and identities, and which Key Vault keys belong to certificates.
///
/// `coffer serve` answers it at `GET /providers/Coffer.Platform/facts` (api-version of Microsoft.Resources).
/// Against Azure itself these facts come from other services (Microsoft Graph for the operator and the
/// service principal, `Microsoft.Compute/diskEncryptionSets`, the Key Vault data plane), which coffer does not
/// call: it is tested against the emulator only.
public struct PlatformFactsResource: Codable, Sendable, Hashable {
    public static let path = "/providers/Coffer.Platform/facts"

    public struct DiskEncryptionSet: Codable, Sendable, Hashable {
        public var name: String
        public var keyVault: String
        public var key: String
        public var identityObjectId: String
        public init(name: String, keyVault: String, key: String, identityObjectId: String) {
            self.name = name
            self.keyVault = keyVault
            self.key = key
            self.identityObjectId = identityObjectId
        }
    }

    public struct KeyName: Codable, Sendable, Hashable {
        public var keyVault: String
        public var name: String
        public init(keyVault: String, name: String) {
            self.keyVault = keyVault
            self.name = name
        }
    }

    public var tenantId: String
    /// The subscription used when a manifest names none.
    public var defaultSubscriptionId: String
    /// `Member` or `Guest`.
    public var operatorUserType: String
    public var backupManagementServiceObjectId: String
    /// The regions offered, as the platform lists them.
    public var regions: [String]
    /// The tenant's custom role definitions, by name.
    public var customRoles: [RoleDefinition]
    public var diskEncryptionSets: [DiskEncryptionSet]
    /// Keys (not deleted) that belong to a certificate.
    public var certificateBackedKeys: [KeyName]
    /// The platform's time (ISO 8601, UTC): the simulated clock, which a plan needs to say when soft-deleted
    /// data is purged. Against Azure it would be the wall clock.
    public var platformTime: String?
    /// The operator's object id in the tenant (who `coffer get access-policies` names "operator").
    public var operatorObjectId: String?

    public init(
        tenantId: String, defaultSubscriptionId: String, operatorUserType: String, backupManagementServiceObjectId: String,
        regions: [String], customRoles: [RoleDefinition], diskEncryptionSets: [DiskEncryptionSet], certificateBackedKeys: [KeyName],
        platformTime: String? = nil, operatorObjectId: String? = nil
    ) {
        self.platformTime = platformTime
        self.operatorObjectId = operatorObjectId
        self.tenantId = tenantId
        self.defaultSubscriptionId = defaultSubscriptionId
        self.operatorUserType = operatorUserType
        self.backupManagementServiceObjectId = backupManagementServiceObjectId
        self.regions = regions
        self.customRoles = customRoles
        self.diskEncryptionSets = diskEncryptionSets
        self.certificateBackedKeys = certificateBackedKeys
    }
}

/// A page of a list as a client reads it: `value` and the absolute `nextLink` of the next page, if any.
public struct ARMPage<Element: Decodable & Sendable>: Decodable, Sendable {
    public var value: [Element]
    public var nextLink: String?
}

extension RoleAssignmentCreateResource {
    /// The body of a PUT that assigns the role with this definition id to a principal.
    public init(roleDefinitionId: String, principalId: String) {
        self.init()
        var properties = Properties()
        properties.roleDefinitionId = roleDefinitionId
        properties.principalId = principalId
        self.properties = properties
    }
}
