/// The service's error codes that the rules return, once: the platform refuses with them and the plan
/// reports them, so the two say the same thing.
public enum ServiceCode {
    // Vaults.
    public static let invalidInput = "BMSUserErrorInvalidInput"
    public static let resourceNotFound = "ResourceNotFound"
    public static let storageModelModifyError = "StorageModelModifyError"
    public static let softDeleteStateAlwaysOn = "BMSUserErrorSoftDeleteStateAlwaysOn"
    public static let serviceResourceNotEmpty = "ServiceResourceNotEmpty"
    public static let crossRegionRestoreRequiresGeoRedundancy = "UserErrorCrossRegionRestoreRequiresGeoRedundancy"
    public static let crossRegionRestoreCannotBeDisabled = "UserErrorCrossRegionRestoreCannotBeDisabled"
    public static let geoRedundancyNotAvailable = "UserErrorGeoRedundancyNotAvailableInRegion"
    public static let immutabilityLocked = "UserErrorImmutabilityLocked"
    public static let invalidImmutabilityTransition = "UserErrorInvalidImmutabilityTransition"
    public static let cmkRequiresEmptyVault = "UserErrorCmkEncryptionRequiresEmptyVault"
    public static let cmkCannotBeDisabled = "UserErrorCmkEncryptionCannotBeDisabled"
    public static let cmkInvalidKey = "UserErrorCmkInvalidKey"
    public static let identityInUse = "UserErrorManagedIdentityInUse"
    public static let getSaSUriError = "BCMProtGetSaSUriAsyncError"
    public static let limitExceeded = "UserErrorLimitExceeded"

    // Policies.
    public static let invalidPolicyInput = "BMSUserErrorInvalidPolicyInput"
    public static let policyInUse = "UserErrorBackupPolicyInUse"
    public static let policyTypeChangeNotAllowed = "UserErrorPolicyTypeChangeNotAllowed"
    public static let deleteBackupItemOnImmutableItem = "UserErrorDeleteBackupItemOnImmutableItem"

    // Protection.
    public static let invalidConfigureProtectionRequest = "BMSUserErrorInvalidConfigureProtectionRequest"
    public static let vmAlreadyProtected = "UserErrorVmAlreadyProtectedInAnotherVault"
    public static let vmAndVaultMismatch = "UserErrorVmAndVaultNotInSameSubscriptionAndRegion"
    public static let softDeletedItemExists = "UserErrorSoftDeletedBackupItemExists"
    public static let backupsSuspendedNeedsImmutability = "UserErrorBackupsSuspendedRequiresImmutableVault"
    public static let invalidProtectionStateTransition = "UserErrorInvalidProtectionStateTransition"
    public static let encryptedVMNotSupportedWithDiskExclusion = "UserErrorEncryptedVmNotSupportedWithDiskEx"
    /// A Trusted Launch VM protected, or moved, under a Standard policy. Azure's documentation states the
    /// rule (the portal, and the REST API before 2025-01-01, back a Trusted Launch VM up with an Enhanced
    /// policy only) without naming the service's code, and the reference names none: this name is coffer's.
    public static let trustedLaunchVMNeedsEnhancedPolicy = "UserErrorTrustedLaunchVMRequiresEnhancedPolicy"
    /// Compute refuses to turn a VM into a Trusted Launch VM while a Standard backup policy protects it
    /// (409, "cannot be upgraded to Trusted Launch as it is configured for Azure Backup using standard
    /// policy"); compute's generic code.
    public static let operationNotAllowed = "OperationNotAllowed"

    // Backups.
    /// The service's throttle of an operation tried more often than it allows in a day; coffer gives it to
    /// the fourth on-demand backup of a day (the reference gives the limit, not the code: this one is the
    /// service's answer to backups and restores beyond their daily limit, seen in public issue threads).
    public static let onDemandBackupLimitReached = "CloudDosAbsoluteLimitReached"
    public static let guestAgentStatusUnavailable = "UserErrorGuestAgentStatusUnavailable"
    public static let unsupportedDiskSize = "UserErrorUnsupportedDiskSize"
    public static let keyVaultPermissionsNotConfigured = "UserErrorKeyVaultPermissionsNotConfigured"
    public static let keyVaultKeyDoesNotExist = "UserErrorKeyVaultKeyDoesNotExist"
    public static let keyVaultSecretDoesNotExist = "UserErrorKeyVaultSecretDoesNotExist"
    public static let certificateBackedKeyNotSupported = "UserErrorCertificateBackedKeyNotSupported"
    /// A disk encryption set's identity cannot use its key: the disks it encrypts cannot be read, by the VM
    /// or by a backup. The reference names no code for it; coffer uses compute's `KeyVaultAccessForbidden`.
    public static let keyVaultAccessForbidden = "KeyVaultAccessForbidden"

    // Key vaults.
    public static let keyVaultNotFound = "KeyVaultNotFound"
    /// Key Vault's management plane answers a setting it refuses (soft delete or purge protection turned
    /// off, a retention out of range or changed) with the generic `BadRequest`.
    public static let keyVaultBadRequest = "BadRequest"
}
