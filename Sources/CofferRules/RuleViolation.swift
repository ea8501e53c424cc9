public import CofferModel

/// A rule of the service that an operation breaks: the service's own error code, what breaks it, how to fix
/// it, and the spec field it concerns, so that the platform can refuse with the code and the plan can point
/// at the manifest line.
public struct RuleViolation: CofferError, Hashable, Codable {
    /// The service's error code (`UserErrorKeyVaultPermissionsNotConfigured`, `ServiceResourceNotEmpty`, ...).
    public var code: String
    public var message: String
    public var hint: String?
    /// The field of the resource's spec the violation is about (`spec.vault`, `spec.crossRegionRestore`), or
    /// nil when it is about the resource as a whole.
    public var field: String?

    public init(_ code: String, _ message: String, hint: String? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.field = field
    }

    public var errorCode: String { code }
}
