import CofferModel
import Foundation

// What the platform shows of its resources: value types for `get`, `platform show` and the tests. None of
// them holds a secret value or key material.

/// A Recovery Services vault.
public struct VaultInfo: Codable, Sendable, Hashable {
    public var name: String
    public var id: String
    /// The vault's settings, normalised as the manifests write them (`subscription` nil for the default one,
    /// the tags as declared).
    public var spec: VaultSpec
    /// Every tag on the vault: the declared ones, and `managed-by: coffer` when coffer created it.
    public var tags: [String: String]
    /// Backup items registered in the vault, soft-deleted ones included.
    public var registeredItems: Int
    /// The object id of the vault's system-assigned identity, when it has one.
    public var identityPrincipalID: String?

    public init(
        name: String, id: String, spec: VaultSpec, tags: [String: String], registeredItems: Int, identityPrincipalID: String? = nil
    ) {
        self.name = name
        self.id = id
        self.spec = spec
        self.tags = tags
        self.registeredItems = registeredItems
        self.identityPrincipalID = identityPrincipalID
    }
}

/// A VM backup policy.
public struct PolicyInfo: Codable, Sendable, Hashable {
    public var name: String
    public var id: String
    public var spec: BackupPolicySpec
    public var managedBy: String?
    /// Items that use the policy.
    public var protectedItems: Int

    public init(
        name: String, id: String, spec: BackupPolicySpec, managedBy: String? = nil, protectedItems: Int
    ) {
        self.name = name
        self.id = id
        self.spec = spec
        self.managedBy = managedBy
        self.protectedItems = protectedItems
    }
}

/// A protected VM (a backup item).
public struct ProtectedItemInfo: Codable, Sendable, Hashable {
    public var vm: String
    public var id: String
    public var vmID: String
    public var vmResourceGroup: String
    public var vault: String
    public var policy: String?
    public var state: ItemState
    public var deletionPolicy: DeletionPolicy
    public var excludeDiskLuns: [Int]
    public var includeDiskLuns: [Int]
    public var managedBy: String?
    public var lastBackup: Date?
    /// `Completed` or `Failed`: how the latest backup job ended.
    public var lastBackupStatus: String?
    public var recoveryPoints: Int
    /// When a soft-deleted item is purged for good.
    public var purgeAt: Date?

    public init(
        vm: String, id: String, vmID: String, vmResourceGroup: String, vault: String, policy: String? = nil, state: ItemState,
        deletionPolicy: DeletionPolicy, excludeDiskLuns: [Int], includeDiskLuns: [Int], managedBy: String? = nil, lastBackup: Date? = nil,
        lastBackupStatus: String? = nil, recoveryPoints: Int, purgeAt: Date? = nil
    ) {
        self.vm = vm
        self.id = id
        self.vmID = vmID
        self.vmResourceGroup = vmResourceGroup
        self.vault = vault
        self.policy = policy
        self.state = state
        self.deletionPolicy = deletionPolicy
        self.excludeDiskLuns = excludeDiskLuns
        self.includeDiskLuns = includeDiskLuns
        self.managedBy = managedBy
        self.lastBackup = lastBackup
        self.lastBackupStatus = lastBackupStatus
        self.recoveryPoints = recoveryPoints
        self.purgeAt = purgeAt
    }
}

/// A Key Vault access policy.
public struct AccessPolicyInfo: Codable, Sendable, Hashable {
    public var keyVault: String
    public var id: String
    public var objectID: String
    /// `Backup Management Service`, `operator`, a disk encryption set or vault identity, or nil.
    public var principalName: String?
    public var keyPermissions: [KeyPermission]
    public var secretPermissions: [SecretPermission]
    public var managedBy: String?

    public init(
        keyVault: String, id: String, objectID: String, principalName: String? = nil, keyPermissions: [KeyPermission],
        secretPermissions: [SecretPermission], managedBy: String? = nil
    ) {
        self.keyVault = keyVault
        self.id = id
        self.objectID = objectID
        self.principalName = principalName
        self.keyPermissions = keyPermissions
        self.secretPermissions = secretPermissions
        self.managedBy = managedBy
    }
}

/// A role assigned to a principal at a key vault's scope.
public struct RoleAssignmentInfo: Codable, Sendable, Hashable {
    public var keyVault: String
    /// The ARM id: the key vault's id, then `/providers/Microsoft.Authorization/roleAssignments/NAME`.
    public var id: String
    /// The assignment's GUID.
    public var name: String
    public var objectID: String
    /// `Backup Management Service`, `operator`, a disk encryption set or vault identity, or nil.
    public var principalName: String?
    /// The role's name; the role definition's GUID when the role no longer exists.
    public var role: String
    public var roleDefinitionID: String
    public var managedBy: String?

    public init(
        keyVault: String, id: String, name: String, objectID: String, principalName: String? = nil, role: String, roleDefinitionID: String,
        managedBy: String? = nil
    ) {
        self.keyVault = keyVault
        self.id = id
        self.name = name
        self.objectID = objectID
        self.principalName = principalName
        self.role = role
        self.roleDefinitionID = roleDefinitionID
        self.managedBy = managedBy
    }
}

/// A recovery point.
public struct RecoveryPointSummary: Codable, Sendable, Hashable {
    /// One disk of the recovery point.
    public struct Disk: Codable, Sendable, Hashable {
        public var disk: DiskSlot
        public var sizeGiB: Int
        public var managed: Bool
        /// The guest-view checksum recorded at snapshot time.
        public var checksum: String
    }

    public var id: String
    public var vm: String
    public var vault: String
    public var time: Date
    /// `Scheduled` or `OnDemand`.
    public var type: String
    /// `Snapshot`, `Snapshot and vault` or `Vault`.
    public var tier: String
    /// When the point expires under its policy or its on-demand expiry; nil when it is kept for ever.
    public var expiry: Date?
    public var disks: [Disk]
    /// Whether the point holds the backed-up BEK (and KEK) of an ADE VM.
    public var hasKeyBackup: Bool
    /// Whether the point also holds the backed-up KEK (a BEK+KEK VM); false for a BEK-only VM.
    public var hasKEKBackup: Bool
    /// For an ADE VM: the key vault of its BEK (and KEK), and their URLs (never their values).
    public var keyVault: String? = nil
    public var bekSecretURL: String? = nil
    public var kekURL: String? = nil

    /// What the point's key backup holds, as `get recovery-points` names it: `BEK`, `BEK/KEK`, or nil.
    public var keyBackupContents: String? {
        guard hasKeyBackup else { return nil }
        return hasKEKBackup ? "BEK/KEK" : "BEK"
    }

    public init(
        id: String, vm: String, vault: String, time: Date, type: String, tier: String, expiry: Date? = nil, disks: [Disk],
        hasKeyBackup: Bool, hasKEKBackup: Bool, keyVault: String? = nil, bekSecretURL: String? = nil, kekURL: String? = nil
    ) {
        self.id = id
        self.vm = vm
        self.vault = vault
        self.time = time
        self.type = type
        self.tier = tier
        self.expiry = expiry
        self.disks = disks
        self.hasKeyBackup = hasKeyBackup
        self.hasKEKBackup = hasKEKBackup
        self.keyVault = keyVault
        self.bekSecretURL = bekSecretURL
        self.kekURL = kekURL
    }
}

/// A backup or restore job.
public struct JobInfo: Codable, Sendable, Hashable {
    public var id: String
    /// `Backup` or `Restore`.
    public var operation: String
    public var vm: String
    public var vault: String
    public var status: JobStatus
    public var start: Date
    public var end: Date?
    public var bytesTransferred: Int64
    public var errorCode: String?
    public var errorMessage: String?
    public var recoveryPoint: String?
    /// `Scheduled` or `OnDemand` for a backup; the mode for a restore.
    public var trigger: String?
    /// For a restore: the region it restores into (the vault's, or its pair for a cross-region restore).
    public var targetRegion: String? = nil
    /// For a restore: the resource group it restores into.
    public var targetResourceGroup: String? = nil

    public init(
        id: String, operation: String, vm: String, vault: String, status: JobStatus, start: Date, end: Date? = nil, bytesTransferred: Int64,
        errorCode: String? = nil, errorMessage: String? = nil, recoveryPoint: String? = nil, trigger: String? = nil,
        targetRegion: String? = nil, targetResourceGroup: String? = nil
    ) {
        self.id = id
        self.operation = operation
        self.vm = vm
        self.vault = vault
        self.status = status
        self.start = start
        self.end = end
        self.bytesTransferred = bytesTransferred
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.recoveryPoint = recoveryPoint
        self.trigger = trigger
        self.targetRegion = targetRegion
        self.targetResourceGroup = targetResourceGroup
    }
}

/// A key or a secret of a key vault (never its value).
public struct KeyVaultObjectInfo: Codable, Sendable, Hashable {
    public var name: String
    public var version: String
    /// `key` or `secret`.
    public var kind: String
    public var contentType: String?
    public var keyType: String?
    public var bits: Int?
    public var certificateBacked: Bool?
    public var tags: [String: String]
    public var deleted: Bool
    public var scheduledPurge: Date?
}

/// A key vault.
public struct KeyVaultInfo: Codable, Sendable, Hashable {
    public var name: String
    public var id: String
    public var subscription: String
    public var resourceGroup: String
    public var region: String
    public var enabledForDiskEncryption: Bool
    public var softDelete: Bool
    public var softDeleteRetentionDays: Int
    public var purgeProtection: Bool
    /// `AccessPolicies` or `RBAC`: which of the two lists below the key vault honours.
    public var permissionModel: KeyVaultPermissionModel
    public var objects: [KeyVaultObjectInfo]
    public var accessPolicies: [AccessPolicyInfo]
    public var roleAssignments: [RoleAssignmentInfo]
}

/// A disk of a VM.
public struct DiskInfo: Codable, Sendable, Hashable {
    public var disk: DiskSlot
    public var name: String
    public var sizeGiB: Int
    public var managed: Bool
    /// `EncryptionAtRestWithPlatformKey` or `EncryptionAtRestWithCustomerKey`.
    public var encryptionAtRest: String
    public var diskEncryptionSet: String?
}

/// A virtual machine.
public struct VirtualMachineInfo: Codable, Sendable, Hashable {
    public var name: String
    public var id: String
    public var subscription: String
    public var resourceGroup: String
    public var region: String
    public var os: String
    public var agent: String
    public var encryption: VMEncryptionKind
    public var keyVault: String?
    public var kek: String?
    public var bekSecretURL: String?
    public var aadClientID: String?
    public var disks: [DiskInfo]
    public var protectedBy: String?
    public var restoredFrom: String?
    public var securityType: VMSecurityType
}

/// A disk created by a restore (a managed disk, or a page blob for an unmanaged one).
public struct RestoredDiskInfo: Codable, Sendable, Hashable {
    public var name: String
    public var id: String
    public var resourceGroup: String
    public var region: String
    /// `ManagedDisk` or `PageBlob`.
    public var kind: String
    public var sizeGiB: Int
    public var sourceVM: String
    public var disk: DiskSlot
    public var recoveryPoint: String
    public var jobID: String
    /// For an ADE VM's disk: the secret URL of the BEK it needs (and the KEK's URL).
    public var bekSecretURL: String?
    public var kekURL: String?

    public init(
        name: String, id: String, resourceGroup: String, region: String, kind: String, sizeGiB: Int, sourceVM: String, disk: DiskSlot,
        recoveryPoint: String, jobID: String, bekSecretURL: String? = nil, kekURL: String? = nil
    ) {
        self.name = name
        self.id = id
        self.resourceGroup = resourceGroup
        self.region = region
        self.kind = kind
        self.sizeGiB = sizeGiB
        self.sourceVM = sourceVM
        self.disk = disk
        self.recoveryPoint = recoveryPoint
        self.jobID = jobID
        self.bekSecretURL = bekSecretURL
        self.kekURL = kekURL
    }
}

/// Everything the platform holds, for `coffer platform show` (never secret values).
public struct PlatformOverview: Codable, Sendable, Hashable {
    /// A subscription.
    public struct Subscription: Codable, Sendable, Hashable {
        public var name: String
        public var id: String
        public var isDefault: Bool
    }

    /// A resource group.
    public struct ResourceGroup: Codable, Sendable, Hashable {
        public var subscription: String
        public var name: String
        public var region: String
    }

    /// A disk encryption set and the identity that uses its key.
    public struct DiskEncryptionSet: Codable, Sendable, Hashable {
        public var name: String
        public var resourceGroup: String
        public var region: String
        public var keyVault: String
        public var key: String
        public var identityPrincipalID: String
    }

    public var tenant: String
    public var clock: Date
    public var operatorIdentity: World.OperatorIdentity
    public var backupManagementServiceObjectID: String
    public var subscriptions: [Subscription]
    public var regions: [String]
    public var resourceGroups: [ResourceGroup]
    /// The tenant's custom role definitions (the built-in Key Vault roles are not listed).
    public var roleDefinitions: [RoleDefinition]
    public var keyVaults: [KeyVaultInfo]
    public var diskEncryptionSets: [DiskEncryptionSet]
    public var virtualMachines: [VirtualMachineInfo]
    public var vaults: [VaultInfo]
    public var policies: [PolicyInfo]
    public var protectedItems: [ProtectedItemInfo]
    public var restoredDisks: [RestoredDiskInfo]
}
