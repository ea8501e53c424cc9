/// The stable, greppable codes of the diagnostics CofferManifest reports (`Diagnostic.code`).
public enum ManifestCode: String, Sendable, Hashable, CaseIterable {
    // Files and encodings.
    /// A path given does not exist.
    case pathNotFound = "path-not-found"
    /// A file or directory cannot be read or listed.
    case unreadableFile = "unreadable-file"
    /// A path given is a device, socket or pipe.
    case notARegularFile = "not-a-regular-file"
    /// No .yaml/.yml file among the paths.
    case noManifests = "no-manifests"
    /// A file is over maxFileBytes; it is not read.
    case fileTooLarge = "file-too-large"
    /// The files are over maxTotalBytes together; the rest are not read.
    case totalTooLarge = "total-too-large"
    /// More than maxFiles files.
    case tooManyFiles = "too-many-files"
    /// A byte sequence that is not UTF-8.
    case invalidUTF8 = "invalid-utf8"
    /// A UTF-16 or UTF-32 byte-order mark.
    case unsupportedEncoding = "unsupported-encoding"
    /// A NUL byte (binary or UTF-16 text).
    case nulByte = "nul-byte"
    /// A control character YAML forbids.
    case controlCharacter = "control-character"

    // YAML.
    /// The file is not valid YAML (libyaml's message, with a hint for tabs, indentation, quoting).
    case yamlSyntax = "yaml-syntax"
    /// An anchor (&name); the first of a file is shown with the file's count.
    case yamlAnchor = "yaml-anchor"
    /// An alias (*name); never resolved.
    case yamlAlias = "yaml-alias"
    /// An explicit tag (!!str, !foo).
    case yamlTag = "yaml-tag"
    /// A merge key (<<).
    case yamlMergeKey = "yaml-merge-key"
    /// A mapping or sequence used as a key.
    case nonScalarKey = "non-scalar-key"
    /// A key repeated in a mapping (names the first).
    case duplicateKey = "duplicate-key"
    /// Nesting deeper than maxDepth.
    case tooDeep = "too-deep"
    /// More than maxNodes nodes in the load.
    case tooManyNodes = "too-many-nodes"
    /// More than maxDocuments documents in the load.
    case tooManyDocuments = "too-many-documents"

    // Documents and fields.
    /// The apiVersion is not coffer.dev/v1.
    case unknownAPIVersion = "unknown-api-version"
    /// The kind is not one of the five.
    case unknownKind = "unknown-kind"
    /// A field the kind does not have ("did you mean" by edit distance).
    case unknownField = "unknown-field"
    /// A required field, or one another field requires, is missing.
    case missingField = "missing-field"
    /// A value of the wrong type (quoted number, yes, unquoted number for a string, null …).
    case wrongType = "wrong-type"
    /// Not one of the allowed values, or not a time / VM id / Windows time-zone id ("did you mean").
    case invalidValue = "invalid-value"
    /// A name breaks the platform's naming rule.
    case invalidName = "invalid-name"
    /// A number or time outside its range (retention counts, instant-restore days, soft-delete days, times,
    /// hour intervals).
    case outOfRange = "out-of-range"
    /// Fields that exclude each other (vm id and name, both LUN lists, both retention formats, two
    /// principals).
    case conflictingFields = "conflicting-fields"
    /// A schedule field of another frequency (weekdays on Daily, hourInterval on Weekly).
    case notApplicable = "not-applicable"
    /// A value repeated in a list that is a set (a warning).
    case duplicateValue = "duplicate-value"

    // Rules of one resource.
    /// Cross-region restore without GeoRedundant storage.
    case crrRequiresGRS = "crr-requires-grs"
    /// Vault encryption without identity.
    case encryptionRequiresIdentity = "encryption-requires-identity"
    /// An Hourly schedule on a Standard policy.
    case hourlyRequiresEnhanced = "hourly-requires-enhanced"
    /// A Daily or Hourly schedule without daily retention.
    case dailyRetentionRequired = "daily-retention-required"
    /// A Weekly schedule with daily retention.
    case weeklyForbidsDailyRetention = "weekly-forbids-daily-retention"
    /// A Weekly schedule without weekly retention.
    case weeklyRetentionRequired = "weekly-retention-required"
    /// A Weekly schedule's retention keeps a day it does not back up on.
    case weekdayNotScheduled = "weekday-not-scheduled"
    /// Daily retention shorter than instant-restore retention (a warning).
    case retentionShorterThanSnapshots = "retention-shorter-than-snapshots"
    /// An access policy that grants nothing (a warning).
    case noPermissions = "no-permissions"

    // Rules across resources.
    /// The same Kind/name twice (names the first).
    case duplicateResource = "duplicate-resource"
    /// A vault or policy that no document declares (a ProtectedVM may name DefaultPolicy or EnhancedPolicy
    /// undeclared).
    case danglingReference = "dangling-reference"
    /// A ProtectedVM's policy lives in another vault.
    case policyInOtherVault = "policy-in-other-vault"
    /// One VM protected by two ProtectedVMs.
    case duplicateProtectedVM = "duplicate-protected-vm"
    /// BackupsSuspended in a vault with immutability Disabled.
    case suspendRequiresImmutability = "suspend-requires-immutability"
    /// Two access policies for one principal on one key vault.
    case duplicateAccessPolicy = "duplicate-access-policy"
    /// The same role assigned twice to one principal on one key vault.
    case duplicateRoleAssignment = "duplicate-role-assignment"

    // The report itself.
    /// More than maxDiagnostics problems; counts the rest.
    case tooManyDiagnostics = "too-many-diagnostics"

    /// Whether diagnostics with this code are warnings (they do not make the manifests invalid).
    public var isWarning: Bool {
        switch self {
        case .duplicateValue, .retentionShorterThanSnapshots, .noPermissions: true
        default: false
        }
    }
}
