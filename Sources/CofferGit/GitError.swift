import CGit2

/// An error from CofferGit: what failed, the libgit2 function that failed, and libgit2's own message.
public struct GitError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let notFound = Code(rawValue: "not-found")
        public static let notARepository = Code(rawValue: "not-a-repository")
        public static let emptyRepository = Code(rawValue: "empty-repository")
        public static let invalidRevision = Code(rawValue: "invalid-revision")
        public static let unsupportedEntry = Code(rawValue: "unsupported-entry")
        public static let libgit2 = Code(rawValue: "libgit2")
    }

    public var code: Code
    public var message: String
    /// The C function that failed, when the error came from libgit2.
    public var function: String?
    /// libgit2's message for the failure, read on the failing thread right after the call.
    public var reason: String?

    public init(code: Code, message: String, function: String? = nil, reason: String? = nil) {
        self.code = code
        self.message = message
        self.function = function
        self.reason = reason
    }

    public var description: String {
        var text = message
        if let function { text += " (\(function)" + (reason.map { ": \($0)" } ?? "") + ")" }
        return text
    }

    /// Builds an error from libgit2's last error, mapping its class and code to ours.
    static func last(_ function: String, _ result: Int32, _ message: String) -> GitError {
        var reason: String?
        if let last = git_error_last(), let text = last.pointee.message { reason = String(cString: text) }
        let code: Code
        switch result {
        case GIT_ENOTFOUND.rawValue: code = .notFound
        case GIT_EUNBORNBRANCH.rawValue: code = .emptyRepository
        case GIT_EINVALIDSPEC.rawValue, GIT_EAMBIGUOUS.rawValue: code = .invalidRevision
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
