import CofferModel
import CofferRules

/// An error from the simulated platform: the service's error code, what failed, how to fix it, and the
/// error that caused it (a storage or vault failure) when there is one.
public struct PlatformError: CofferError, Hashable {
    /// The service's error code, such as `UserErrorKeyVaultPermissionsNotConfigured`.
    public var code: String
    /// What failed.
    public var message: String
    /// How to fix it.
    public var hint: String?
    /// The job that failed, when the error ended a job.
    public var jobID: String?
    /// Whether trying again later may succeed (a busy resource), as opposed to a rule that refuses.
    public var retryable: Bool
    /// The error that caused this one; not part of equality or hashing.
    public var underlying: (any Error)?

    /// An error with the code, what failed, how to fix it, and what caused it.
    public init(
        _ code: String, _ message: String, hint: String? = nil, jobID: String? = nil, retryable: Bool = false,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.jobID = jobID
        self.retryable = retryable
        self.underlying = underlying
    }

    /// The refusal a rule of CofferRules returned, with its code, message and hint.
    init(_ violation: RuleViolation) {
        self.init(violation.code, violation.message, hint: violation.hint)
    }

    /// The service's error code.
    public var errorCode: String { code }

    public static func == (lhs: PlatformError, rhs: PlatformError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.hint == rhs.hint && lhs.jobID == rhs.jobID
            && lhs.retryable == rhs.retryable
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(hint)
        hasher.combine(jobID)
        hasher.combine(retryable)
    }

    public var description: String {
        "\(code): \(message)" + (hint.map { " (\($0))" } ?? "")
    }

    /// The same error as the provider protocol carries it.
    public var providerError: ProviderError {
        ProviderError(code: code, message: message, hint: hint, retryable: retryable, underlying: underlying)
    }
}

/// The error codes the platform emits. The codes of the service's rules are CofferRules' `ServiceCode` (the
/// ones the platform also raises itself are named here too, as the same strings). The README lists each with
/// its meaning and whether the name is the real service's or chosen where the service's is not known.
public enum PlatformErrorCode {
    // Key Vault access and key material (real service names).
    public static let keyVaultKeyDoesNotExist = ServiceCode.keyVaultKeyDoesNotExist
    public static let diskEncryptionInternalError = "DiskEncryptionInternalError"
    public static let getSaSUriError = ServiceCode.getSaSUriError
    // Key Vault access and key material (chosen names).
    public static let keyVaultSecretDoesNotExist = ServiceCode.keyVaultSecretDoesNotExist

    // Backup jobs (real service names).
    public static let backupOperationInProgress = "UserErrorBackupOperationInProgress"
    public static let datasourceNotPresent = "UserErrorBcmDatasourceNotPresent"
    public static let backupOperationFailed = "BackUpOperationFailed"
    public static let instantRPNotFound = "UserErrorInstantRpNotFound"
    public static let rpCollectionLimitReached = "UserErrorRpCollectionLimitReached"

    // Vaults, policies and protection (real service names).
    public static let invalidInput = ServiceCode.invalidInput
    public static let invalidPolicyInput = ServiceCode.invalidPolicyInput
    public static let invalidConfigureProtectionRequest = ServiceCode.invalidConfigureProtectionRequest

    // Vaults, policies and protection (chosen names).
    public static let invalidImmutabilityTransition = ServiceCode.invalidImmutabilityTransition
    public static let cmkInvalidKey = ServiceCode.cmkInvalidKey
    public static let vmAlreadyProtected = ServiceCode.vmAlreadyProtected
    public static let softDeletedItemExists = ServiceCode.softDeletedItemExists
    public static let itemNotSoftDeleted = "UserErrorBackupItemNotSoftDeleted"
    public static let backupsSuspendedNeedsImmutability = ServiceCode.backupsSuspendedNeedsImmutability
    public static let invalidProtectionStateTransition = ServiceCode.invalidProtectionStateTransition
    public static let resourceNotFound = ServiceCode.resourceNotFound
    public static let resourceAlreadyExists = "ResourceAlreadyExists"
    public static let invalidResourceName = "InvalidResourceName"
    public static let limitExceeded = ServiceCode.limitExceeded

    // Restore (chosen names, after the service's style).
    public static let restoreModeNotSupportedForEncryptedVM = "UserErrorRestoreModeNotSupportedForEncryptedVm"
    public static let fileLevelRecoveryNotSupportedForEncryptedVM = "UserErrorFileRecoveryNotSupportedForEncryptedVm"
    public static let crossRegionRestoreNotSupported = "UserErrorCrossRegionRestoreNotSupported"
    public static let crossSubscriptionRestoreNotSupported = "UserErrorCrossSubscriptionRestoreNotSupported"
    public static let replaceExistingNotSupported = "UserErrorReplaceExistingNotSupported"
    public static let recoveryPointNotFound = "UserErrorRecoveryPointNotFound"
    public static let recoveryPointIntegrityCheckFailed = "RecoveryPointIntegrityCheckFailed"
    public static let keysAlreadyPresent = "UserErrorKeyVaultObjectConflict"

    // Key Vault operations (chosen names).
    public static let keyVaultPurgeProtected = "KeyVaultPurgeProtectionEnabled"
    public static let keyVaultObjectNotDeleted = "KeyVaultObjectNotDeleted"
    /// An access policy on a key vault that uses Azure RBAC (chosen; the rule is CofferRules').
    public static let keyVaultUsesRBAC = KeyVaultAccessRules.usesRBAC
    /// A role assignment on a key vault that uses access policies (chosen; the rule is CofferRules').
    public static let keyVaultUsesAccessPolicies = KeyVaultAccessRules.usesAccessPolicies

    // Role assignments (Azure Resource Manager's names).
    public static let roleAssignmentExists = "RoleAssignmentExists"
    public static let roleAssignmentUpdateNotPermitted = "RoleAssignmentUpdateNotPermitted"
    public static let roleDefinitionDoesNotExist = KeyVaultAccessRules.roleDefinitionDoesNotExist

    // The state directory.
    public static let notInitialized = "PlatformNotInitialized"
    public static let alreadyInitialized = "PlatformAlreadyInitialized"
    public static let storageError = "PlatformStorageError"
    public static let invalidArgument = "InvalidArgument"
}
