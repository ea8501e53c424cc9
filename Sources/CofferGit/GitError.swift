import CofferModel
internal import CGit2

/// An error from CofferGit: what failed and how to fix it, the libgit2 function that failed, and libgit2's message.
public struct GitError: CofferError, Hashable {
    /// The kind of failure, for callers that react to some of them (a growable set of names).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        /// Makes a code from its name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The code's name.
        public var description: String { rawValue }

        /// A revision, folder or object that does not exist.
        public static let notFound = Code(rawValue: "not-found")
        /// A path that holds no git repository, or a cache folder that is not the expected mirror.
        public static let notARepository = Code(rawValue: "not-a-repository")
        /// A repository with no commits yet.
        public static let emptyRepository = Code(rawValue: "empty-repository")
        /// A revision that cannot be parsed, or an abbreviated id that matches several objects.
        public static let invalidRevision = Code(rawValue: "invalid-revision")
        /// A revision that names an object which is not a commit (a tree or a blob).
        public static let notACommit = Code(rawValue: "not-a-commit")
        /// A symbolic link or a submodule where only regular files and folders are read.
        public static let unsupportedEntry = Code(rawValue: "unsupported-entry")
        /// Cloning, fetching from or pushing to a remote failed.
        public static let remote = Code(rawValue: "remote")
        /// The remote refused an update (for example a notes ref that moved on meanwhile).
        public static let rejected = Code(rawValue: "rejected")
        /// Any other failure reported by libgit2.
        public static let libgit2 = Code(rawValue: "libgit2")
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed and how to fix it.
    public var message: String
    /// The C function that failed, when the error came from libgit2.
    public var function: String?
    /// libgit2's message for the failure, read on the failing thread right after the call.
    public var reason: String?
    /// The error that caused this one when it did not come from libgit2 (such as a failed mkdir); not part
    /// of equality or hashing.
    public var underlying: (any Error)?

    /// Makes an error; `function` and `reason` are set when it comes from a libgit2 call.
    public init(code: Code, message: String, function: String? = nil, reason: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.function = function
        self.reason = reason
        self.underlying = underlying
    }

    /// The code as text.
    public var errorCode: String { code.rawValue }

    public static func == (lhs: GitError, rhs: GitError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.function == rhs.function && lhs.reason == rhs.reason
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(function)
        hasher.combine(reason)
    }

    /// The message, followed by the failing C function and libgit2's reason when there are.
    public var description: String {
        var text = message
        if let function { text += " (\(function)" + (reason.map { ": \($0)" } ?? "") + ")" }
        return text
    }

    /// Builds an error from libgit2's last error, mapping its code to ours.
    static func last(_ function: String, _ result: Int32, _ message: String) -> GitError {
        var reason: String?
        if let last = git_error_last(), let text = last.pointee.message { reason = String(cString: text) }
        let code: Code
        switch result {
        case GIT_ENOTFOUND.rawValue: code = .notFound
        case GIT_EUNBORNBRANCH.rawValue: code = .emptyRepository
        case GIT_EINVALIDSPEC.rawValue, GIT_EAMBIGUOUS.rawValue: code = .invalidRevision
        case GIT_ENONFASTFORWARD.rawValue: code = .rejected
        default: code = .libgit2
        }
        return GitError(code: code, message: message, function: function, reason: reason)
    }
}

/// Calls a libgit2 function and throws its error when it returns a negative code.
@discardableResult
func check(_ function: String, _ message: @autoclosure () -> String, _ call: () -> Int32) throws -> Int32 {
    let result = call()
    if result < 0 { throw GitError.last(function, result, message()) }
    return result
}
