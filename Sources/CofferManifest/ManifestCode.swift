/// The stable, greppable codes of the diagnostics CofferManifest reports (`Diagnostic.code`).
public enum ManifestCode: String, Sendable, Hashable, CaseIterable {
    // Files and encodings.
    case pathNotFound = "path-not-found"
    case unreadableFile = "unreadable-file"
    case notARegularFile = "not-a-regular-file"
    case noManifests = "no-manifests"
    case fileTooLarge = "file-too-large"
    case totalTooLarge = "total-too-large"
    case tooManyFiles = "too-many-files"
    case invalidUTF8 = "invalid-utf8"
    case unsupportedEncoding = "unsupported-encoding"
    case nulByte = "nul-byte"
    case controlCharacter = "control-character"

    // YAML.
    case yamlSyntax = "yaml-syntax"
    case yamlAnchor = "yaml-anchor"
    case yamlAlias = "yaml-alias"
    case yamlTag = "yaml-tag"
    case yamlMergeKey = "yaml-merge-key"
    case nonScalarKey = "non-scalar-key"
    case duplicateKey = "duplicate-key"
    case tooDeep = "too-deep"
    case tooManyNodes = "too-many-nodes"
    case tooManyDocuments = "too-many-documents"

    // Documents and fields.
    case unknownAPIVersion = "unknown-api-version"
    case unknownKind = "unknown-kind"
    case unknownField = "unknown-field"
    case missingField = "missing-field"
    case wrongType = "wrong-type"
    case invalidValue = "invalid-value"
    case invalidName = "invalid-name"
    case outOfRange = "out-of-range"
    case conflictingFields = "conflicting-fields"
    case notApplicable = "not-applicable"
    case duplicateValue = "duplicate-value"

    // Rules of one resource.
    case crrRequiresGRS = "crr-requires-grs"
    case encryptionRequiresIdentity = "encryption-requires-identity"
    case hourlyRequiresEnhanced = "hourly-requires-enhanced"
    case dailyRetentionRequired = "daily-retention-required"
    case weeklyForbidsDailyRetention = "weekly-forbids-daily-retention"
    case weeklyRetentionRequired = "weekly-retention-required"
    case weekdayNotScheduled = "weekday-not-scheduled"
    case retentionShorterThanSnapshots = "retention-shorter-than-snapshots"
    case retentionAbovePortalLimit = "retention-above-portal-limit"
    case noPermissions = "no-permissions"

    // Rules across resources.
    case duplicateResource = "duplicate-resource"
    case danglingReference = "dangling-reference"
    case policyInOtherVault = "policy-in-other-vault"
    case duplicateProtectedVM = "duplicate-protected-vm"
    case suspendRequiresImmutability = "suspend-requires-immutability"
    case duplicateAccessPolicy = "duplicate-access-policy"

    // The report itself.
    case tooManyDiagnostics = "too-many-diagnostics"

    /// Whether diagnostics with this code are warnings (they do not make the manifests invalid).
    public var isWarning: Bool {
        switch self {
        case .duplicateValue, .retentionShorterThanSnapshots, .retentionAbovePortalLimit, .noPermissions: true
        default: false
        }
    }
}
