import CofferModel

/// An error from the reconciler: a stable code (a platform error code when the platform refused a step),
/// what failed, and how to fix it.
public struct ReconcilerError: CofferError, Hashable {
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let locked = Code(rawValue: "state-locked")
        public static let stalePlan = Code(rawValue: "stale-plan")
        public static let planHasErrors = Code(rawValue: "plan-has-errors")
        public static let pruneEverything = Code(rawValue: "prune-everything-refused")
        public static let stateCorrupt = Code(rawValue: "state-corrupt")
        public static let io = Code(rawValue: "state-io")
        /// A write carried a leader's term that a newer leader has superseded.
        public static let fenced = Code(rawValue: "state-fenced")
        /// The state backend cannot be reached (a database that is down), past the retries.
        public static let unavailable = Code(rawValue: "state-unavailable")
        /// The state backend's schema is newer than this coffer, or cannot be migrated.
        public static let schema = Code(rawValue: "state-schema")
        /// A feature needs a state shared by several machines.
        public static let sharedStateRequired = Code(rawValue: "state-shared-required")
    }

    public var code: Code
    public var message: String
    public var hint: String?
    /// The error that caused this one (a failed read or decode); not part of equality or hashing.
    public var underlying: (any Error)?

    public init(code: Code, message: String, hint: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.underlying = underlying
    }

    /// The code as text.
    public var errorCode: String { code.rawValue }

    public static func == (lhs: ReconcilerError, rhs: ReconcilerError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.hint == rhs.hint
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(hint)
    }

    public var description: String { "\(code): \(message)" }
}
