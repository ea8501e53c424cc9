import CofferModel

/// A use case that could not go on: invalid manifests, a stale or unreadable saved plan, a plan with errors,
/// a revision that is not in the history. Errors of the layers below (the reconciler, the provider, git) pass
/// through unchanged.
public struct GitOpsError: CofferError, Hashable {
    /// What went wrong, as a stable, growable code.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The manifests do not load; `diagnostics` says why.
        public static let invalidManifests = Code(rawValue: "invalid-manifests")
        /// The plan has errors: the platform would refuse it.
        public static let planHasErrors = Code(rawValue: "plan-has-errors")
        /// A saved plan no longer matches the platform (or the desired state it carries).
        public static let stalePlan = Code(rawValue: "stale-plan")
        /// A saved plan file cannot be read, is not one, or has a format this coffer does not read.
        public static let planFile = Code(rawValue: "plan-file")
        /// A rollback names a revision that no apply from git recorded.
        public static let unknownRevision = Code(rawValue: "unknown-revision")
        /// An invariant of the use case did not hold.
        public static let `internal` = Code(rawValue: "internal")
    }

    public var code: Code
    /// What failed, for people.
    public var message: String
    /// How to fix it, when there is something to say.
    public var hint: String?
    /// The diagnostics behind an `invalidManifests` error (errors and warnings, sorted for display).
    public var diagnostics: [Diagnostic]

    public init(code: Code, message: String, hint: String? = nil, diagnostics: [Diagnostic] = []) {
        self.code = code
        self.message = message
        self.hint = hint
        self.diagnostics = diagnostics
    }

    public var errorCode: String { code.rawValue }

    public var description: String { "\(code): \(message)" }
}
