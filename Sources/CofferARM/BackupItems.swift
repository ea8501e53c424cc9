/// A protected Azure VM on the wire (`.../protectionContainers/{c}/protectedItems/{i}`): what a PUT sends to
/// enable, change, stop or resume protection, and what GET answers.
public struct ProtectedItemResource: Codable, Sendable, Hashable {
    public static let type = "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems"
    /// The discriminator the service answers with for an Azure VM (SDK 11 reads it as the base
    /// `ProtectedItem`; reference/arm-api.md, section 3.3).
    public static let itemType = "Microsoft.Compute/virtualMachines"

    public var id: String?
    public var name: String?
    public var type: String?
    public var properties: Properties?

    public struct Properties: Codable, Sendable, Hashable {
        public var protectedItemType: String?
        public var backupManagementType: String?
        public var workloadType: String?
        public var containerName: String?
        public var sourceResourceId: String?
        public var policyId: String?
        public var policyName: String?
        public var friendlyName: String?
        public var virtualMachineId: String?
        /// `IRPending`, `Protected`, `ProtectionStopped`, `BackupsSuspended`, `ProtectionError`.
        public var protectionState: String?
        public var protectionStatus: String?
        public var healthStatus: String?
        public var lastBackupStatus: String?
        public var lastBackupTime: String?
        public var lastRecoveryPoint: String?
        public var protectedItemDataId: String?
        public var isScheduledForDeferredDelete: Bool?
        public var deferredDeleteTimeInUTC: String?
        public var isRehydrate: Bool?
        public var extendedInfo: ExtendedInfo?
        public var extendedProperties: ExtendedProperties?
        public init() {}
    }

    public struct ExtendedInfo: Codable, Sendable, Hashable {
        public var oldestRecoveryPoint: String?
        public var recoveryPointCount: Int?
        public var policyInconsistent: Bool?
        public init(oldestRecoveryPoint: String?, recoveryPointCount: Int?, policyInconsistent: Bool?) {
            self.oldestRecoveryPoint = oldestRecoveryPoint
            self.recoveryPointCount = recoveryPointCount
            self.policyInconsistent = policyInconsistent
        }
    }

    public struct ExtendedProperties: Codable, Sendable, Hashable {
        public var diskExclusionProperties: DiskExclusionProperties?
        public init(diskExclusionProperties: DiskExclusionProperties?) { self.diskExclusionProperties = diskExclusionProperties }
    }

    public struct DiskExclusionProperties: Codable, Sendable, Hashable {
        public var diskLunList: [Int]?
        public var isInclusionList: Bool?
        public init(diskLunList: [Int]?, isInclusionList: Bool?) {
            self.diskLunList = diskLunList
            self.isInclusionList = isInclusionList
        }
    }

    public init() {}
}

/// A protectable Azure VM (`backupProtectableItems`): one the vault's region and subscription hold that no
/// vault protects yet.
public struct ProtectableItemResource: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var type: String = "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectableItems"
    public var properties: Properties

    public struct Properties: Codable, Sendable, Hashable {
        public var protectableItemType = "Microsoft.Compute/virtualMachines"
        public var backupManagementType = "AzureIaasVM"
        public var workloadType = "VM"
        public var friendlyName: String
        public var virtualMachineId: String
        public var protectionState = "NotProtected"
    }

    public init(id: String, name: String, friendlyName: String, virtualMachineId: String) {
        self.id = id
        self.name = name
        self.properties = Properties(friendlyName: friendlyName, virtualMachineId: virtualMachineId)
    }
}

/// "Backup now" (`POST {item}/backup`): `{"properties": {"objectType": "IaasVMBackupRequest",
/// "recoveryPointExpiryTimeInUTC": ...}}`.
public struct BackupRequestResource: Codable, Sendable, Hashable {
    public var properties: Properties?

    public struct Properties: Codable, Sendable, Hashable {
        public var objectType: String?
        public var recoveryPointExpiryTimeInUTC: String?
    }

    /// An Azure VM's Backup now request, its point kept until `expiry` (ISO 8601, UTC; the service's default,
    /// 30 days, when nil).
    public init(expiry: String?) {
        properties = Properties(objectType: "IaasVMBackupRequest", recoveryPointExpiryTimeInUTC: expiry)
    }
}

/// A backup job (`backupJobs/{id}`) as an `AzureIaaSVMJob`.
public struct JobResource: Codable, Sendable, Hashable {
    public static let type = "Microsoft.RecoveryServices/vaults/backupJobs"

    public var id: String
    public var name: String
    public var type: String = Self.type
    public var properties: Properties

    public struct Properties: Codable, Sendable, Hashable {
        public var jobType = "AzureIaaSVMJob"
        public var entityFriendlyName: String
        public var backupManagementType = "AzureIaasVM"
        /// `Backup`, `Restore`, `ConfigureBackup`, `DisableBackup`, `DeleteBackupData`.
        public var operation: String
        /// `InProgress`, `Completed`, `Failed`, `CompletedWithWarnings`, `Cancelled`.
        public var status: String
        public var startTime: String
        public var endTime: String?
        /// ISO 8601 duration, `PT12S`.
        public var duration: String
        public var activityId: String
        public var virtualMachineVersion = "Compute"
        public var isUserTriggered: Bool
        public var actionsInfo: [String]
        public var errorDetails: [ErrorInfo]?
        public var extendedInfo: ExtendedInfo?

        public init(
            entityFriendlyName: String, operation: String, status: String, startTime: String, endTime: String?, duration: String,
            activityId: String, isUserTriggered: Bool, actionsInfo: [String], errorDetails: [ErrorInfo]?, extendedInfo: ExtendedInfo?
        ) {
            self.entityFriendlyName = entityFriendlyName
            self.operation = operation
            self.status = status
            self.startTime = startTime
            self.endTime = endTime
            self.duration = duration
            self.activityId = activityId
            self.isUserTriggered = isUserTriggered
            self.actionsInfo = actionsInfo
            self.errorDetails = errorDetails
            self.extendedInfo = extendedInfo
        }
    }

    /// A job's error: the model's `errorCode` is a number, and the service's symbolic code
    /// (`UserErrorKeyVaultPermissionsNotConfigured`) travels in `errorString` and `errorTitle`
    /// (reference/arm-api.md, section 3.2).
    public struct ErrorInfo: Codable, Sendable, Hashable {
        public var errorCode: Int
        public var errorString: String
        public var errorTitle: String
        public var recommendations: [String]

        public init(errorCode: Int, errorString: String, errorTitle: String, recommendations: [String]) {
            self.errorCode = errorCode
            self.errorString = errorString
            self.errorTitle = errorTitle
            self.recommendations = recommendations
        }
    }

    public struct ExtendedInfo: Codable, Sendable, Hashable {
        public var tasksList: [Task]
        public var propertyBag: [String: String]
        public var progressPercentage: Double?

        public init(tasksList: [Task], propertyBag: [String: String], progressPercentage: Double?) {
            self.tasksList = tasksList
            self.propertyBag = propertyBag
            self.progressPercentage = progressPercentage
        }
    }

    public struct Task: Codable, Sendable, Hashable {
        public var taskId: String
        public var status: String
        public init(taskId: String, status: String) {
            self.taskId = taskId
            self.status = status
        }
    }

    public init(id: String, name: String, properties: Properties) {
        self.id = id
        self.name = name
        self.properties = properties
    }

    /// A stable number for a symbolic error code, for `errorCode` (the service's numbers are not
    /// published): FNV-1a of the code, folded into 1...999,999.
    public static func numericCode(_ code: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in code.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int(hash % 999_999) + 1
    }
}

/// An Azure VM recovery point (`recoveryPoints/{id}`) as an `IaasVMRecoveryPoint`. It never carries key
/// material: `keyAndSecret` names the BEK secret and KEK by URL, and the sealed backups of their values stay
/// in the vault (`secretData` and `keyBackupData` are left out).
public struct RecoveryPointResource: Codable, Sendable, Hashable {
    public static let type = "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints"

    public var id: String
    public var name: String
    public var type: String = Self.type
    public var properties: Properties

    public struct Properties: Codable, Sendable, Hashable {
        public var objectType = "IaasVMRecoveryPoint"
        /// `CrashConsistent`, `FileSystemConsistent`, `AppConsistent`.
        public var recoveryPointType: String
        public var recoveryPointTime: String
        public var isSourceVMEncrypted: Bool
        public var isManagedVirtualMachine: Bool
        public var osType: String
        public var recoveryPointTierDetails: [TierInformation]
        public var recoveryPointProperties: PointProperties
        public var recoveryPointAdditionalInfo: String?
        /// Where an ADE VM's BEK (and KEK) are: their URLs and key vaults, never the backed-up values.
        public var keyAndSecret: KeyAndSecret?

        public init(
            recoveryPointType: String, recoveryPointTime: String, isSourceVMEncrypted: Bool, isManagedVirtualMachine: Bool, osType: String,
            recoveryPointTierDetails: [TierInformation], recoveryPointProperties: PointProperties, recoveryPointAdditionalInfo: String?
        ) {
            self.recoveryPointType = recoveryPointType
            self.recoveryPointTime = recoveryPointTime
            self.isSourceVMEncrypted = isSourceVMEncrypted
            self.isManagedVirtualMachine = isManagedVirtualMachine
            self.osType = osType
            self.recoveryPointTierDetails = recoveryPointTierDetails
            self.recoveryPointProperties = recoveryPointProperties
            self.recoveryPointAdditionalInfo = recoveryPointAdditionalInfo
        }
    }

    /// `keyAndSecret` of an ADE VM's point: `encryptionMechanism` (`SinglePass` without an Azure AD app,
    /// `DualPass` with one), the BEK's secret and, with a KEK, the key. The backups themselves
    /// (`secretData`, `keyBackupData`) stay in the vault.
    public struct KeyAndSecret: Codable, Sendable, Hashable {
        public var encryptionMechanism: String
        public var bekDetails: BEKDetails
        public var kekDetails: KEKDetails?

        public struct BEKDetails: Codable, Sendable, Hashable {
            public var secretUrl: String
            public var secretVaultId: String
            public init(secretUrl: String, secretVaultId: String) {
                self.secretUrl = secretUrl
                self.secretVaultId = secretVaultId
            }
        }

        public struct KEKDetails: Codable, Sendable, Hashable {
            public var keyUrl: String
            public var keyVaultId: String
            public init(keyUrl: String, keyVaultId: String) {
                self.keyUrl = keyUrl
                self.keyVaultId = keyVaultId
            }
        }

        public init(encryptionMechanism: String, bekDetails: BEKDetails, kekDetails: KEKDetails?) {
            self.encryptionMechanism = encryptionMechanism
            self.bekDetails = bekDetails
            self.kekDetails = kekDetails
        }
    }

    public struct TierInformation: Codable, Sendable, Hashable {
        /// `InstantRP`, `HardenedRP`, `ArchivedRP`.
        public var type: String
        /// `Valid`, `Deleted`, `Rehydrated`.
        public var status: String
        public init(type: String, status: String) {
            self.type = type
            self.status = status
        }
    }

    public struct PointProperties: Codable, Sendable, Hashable {
        public var expiryTime: String?
        public var ruleName: String?
        public init(expiryTime: String?, ruleName: String?) {
            self.expiryTime = expiryTime
            self.ruleName = ruleName
        }
    }

    public init(id: String, name: String, properties: Properties) {
        self.id = id
        self.name = name
        self.properties = properties
    }
}

/// The status of a long-running operation (`operationsStatus/{id}`, `backupOperations/{id}`,
/// `backupPolicies/{p}/operations/{id}`): what a client polls until `Succeeded` or `Failed`.
public struct OperationStatusResource: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    /// `InProgress`, `Succeeded`, `Failed`, `Canceled`.
    public var status: String
    public var startTime: String
    public var endTime: String?
    public var error: ARMErrorDetail?
    public var properties: Properties?

    /// The job a finished operation started (`OperationStatusJobExtendedInfo`): how a client finds the job of
    /// a "Backup now" or a restore.
    public struct Properties: Codable, Sendable, Hashable {
        public var objectType = "OperationStatusJobExtendedInfo"
        public var jobId: String
        public init(jobId: String) { self.jobId = jobId }
    }

    public init(id: String, name: String, status: String, startTime: String, endTime: String?, error: ARMErrorDetail?, jobID: String?) {
        self.id = id
        self.name = name
        self.status = status
        self.startTime = startTime
        self.endTime = endTime
        self.error = error
        self.properties = jobID.map(Properties.init(jobId:))
    }
}

/// A page of a list: `{"value": [...], "nextLink": "https://..."}`.
public struct ARMList<Element: Encodable & Sendable>: Encodable, Sendable {
    public var value: [Element]
    public var nextLink: String?

    public init(value: [Element], nextLink: String?) {
        self.value = value
        self.nextLink = nextLink
    }
}

/// A restore (`POST {item}/recoveryPoints/{rp}/restore`) of an Azure VM: `IaasVMRestoreRequest`. Only the
/// fields the simulation acts on are read; the others (storage account, network, zones) are accepted and
/// ignored.
public struct RestoreRequestResource: Codable, Sendable, Hashable {
    public var properties: Properties?

    public struct Properties: Codable, Sendable, Hashable {
        public var objectType: String?
        public var recoveryPointId: String?
        /// `RestoreDisks`, `AlternateLocation`, `OriginalLocation`.
        public var recoveryType: String?
        public var sourceResourceId: String?
        public var region: String?
        public var targetResourceGroupId: String?
        public var targetVirtualMachineId: String?
        public var storageAccountId: String?

        public init() {}
    }

    public init(properties: Properties?) { self.properties = properties }
}
