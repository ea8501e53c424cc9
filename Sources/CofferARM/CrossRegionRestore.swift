/// Cross-region restore as the passive stamp speaks it (api-version 2021-11-15, the
/// `azure-mgmt-recoveryservicesbackup-passivestamp` SDK): the Azure AD properties of the secondary region,
/// the access token a recovery point gives for a restore there, the restore request that carries it, and
/// the body of the POSTs that list and read cross-region restore jobs.

/// `GET .../locations/{region}/backupAadProperties`: the identity the secondary region's service uses. The
/// client sends the same resource back as the body of `accessToken`.
public struct AADPropertiesResource: Codable, Sendable, Hashable {
    public var id: String?
    public var name: String?
    public var type: String?
    public var properties: Properties?

    public struct Properties: Codable, Sendable, Hashable {
        public var servicePrincipalClientId: String?
        public var tenantId: String?
        public var authority: String?
        public var audience: String?
        public var servicePrincipalObjectId: String?

        public init(
            servicePrincipalClientId: String?, tenantId: String?, authority: String?, audience: String?, servicePrincipalObjectId: String?
        ) {
            self.servicePrincipalClientId = servicePrincipalClientId
            self.tenantId = tenantId
            self.authority = authority
            self.audience = audience
            self.servicePrincipalObjectId = servicePrincipalObjectId
        }
    }

    public init(id: String?, name: String?, type: String?, properties: Properties?) {
        self.id = id
        self.name = name
        self.type = type
        self.properties = properties
    }
}

/// `POST {item}/recoveryPoints/{rp}/accessToken`: a `WorkloadCrrAccessToken` for one recovery point of one
/// item of one vault. `accessTokenString` is an opaque handle the server resolves; the other fields describe
/// the point and are informational (the server trusts only the handle). It carries no key material.
public struct CrrAccessTokenResource: Codable, Sendable, Hashable {
    public static let objectType = "WorkloadCrrAccessToken"

    public var id: String?
    public var name: String?
    public var type: String?
    public var properties: CrrAccessToken?

    public init(id: String?, name: String?, type: String?, properties: CrrAccessToken?) {
        self.id = id
        self.name = name
        self.type = type
        self.properties = properties
    }
}

/// The fields of a `WorkloadCrrAccessToken` (every one optional on decoding, as the client may send back
/// any subset).
public struct CrrAccessToken: Codable, Sendable, Hashable {
    public var objectType: String?
    public var accessTokenString: String?
    public var subscriptionId: String?
    public var resourceGroupName: String?
    /// The vault's name.
    public var resourceName: String?
    /// The vault's id.
    public var resourceId: String?
    public var recoveryPointId: String?
    public var recoveryPointTime: String?
    public var containerName: String?
    public var containerType: String?
    public var backupManagementType: String?
    public var datasourceType: String?
    public var datasourceName: String?
    public var datasourceId: String?
    public var datasourceContainerName: String?
    public var coordinatorServiceStampUri: String?
    public var protectionServiceStampUri: String?
    /// Tier name to status (`HardenedRP: Valid`).
    public var rpTierInformation: [String: String]?
    public var rpOriginalSAOption: Bool?
    public var rpIsManagedVirtualMachine: Bool?
    /// The vault's (primary) region.
    public var bMSActiveRegion: String?
    public var protectableObjectUniqueName: String?
    public var protectableObjectFriendlyName: String?
    public var protectableObjectWorkloadType: String?
    public var protectableObjectProtectionState: String?
    public var containerId: String?
    public var policyName: String?
    public var policyId: String?

    public init() {}
}

/// `POST .../locations/{region}/backupCrossRegionRestore`: the access token and an `IaasVMRestoreRequest`.
public struct CrossRegionRestoreRequest: Codable, Sendable, Hashable {
    public var crossRegionRestoreAccessDetails: CrrAccessToken?
    public var restoreRequest: RestoreRequestResource.Properties?

    public init(crossRegionRestoreAccessDetails: CrrAccessToken?, restoreRequest: RestoreRequestResource.Properties?) {
        self.crossRegionRestoreAccessDetails = crossRegionRestoreAccessDetails
        self.restoreRequest = restoreRequest
    }
}

/// The body of `POST .../locations/{region}/backupCrrJobs` (the vault) and `.../backupCrrJob` (the vault and
/// the job's name).
public struct CrrJobRequest: Codable, Sendable, Hashable {
    public var resourceId: String?
    public var jobName: String?

    public init(resourceId: String?, jobName: String?) {
        self.resourceId = resourceId
        self.jobName = jobName
    }
}
