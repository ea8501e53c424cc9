#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system failure: a stable code, a message that says what failed and how to fix it, the path, and
/// the failed system call (or other error) that caused it. The modules above present it as their own error
/// (`SnapshotError`, `PlatformError`, `ReconcilerError`) with this one as the cause.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    /// A stable code for what went wrong; the names are those of `SnapshotError`'s codes.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code's text, such as `not-found`.
        public var rawValue: String
        /// Makes a code from its text.
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The path does not exist (`ENOENT`).
        public static let notFound = Code(rawValue: "not-found")
        /// Something already exists at the path (`EEXIST`).
        public static let alreadyExists = Code(rawValue: "already-exists")
        /// A file is shorter than its reader needs: it was truncated.
        public static let corrupted = Code(rawValue: "corrupted")
        /// Any other failed system call.
        public static let io = Code(rawValue: "io")
    }

    /// What went wrong, for programs.
    public var code: Code
    /// What failed and how to fix it, for people.
    public var message: String
    /// The file or directory the operation worked on.
    public var path: String
    /// What caused this error: a `SystemCallError`, or a Foundation error.
    public var underlying: (any Error)?

    /// Makes an error from its code, message, path and cause.
    public init(code: Code, message: String, path: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.underlying = underlying
    }

    /// The failed system call, when a system call failed.
    public var systemCall: SystemCallError? { underlying as? SystemCallError }

    public var description: String {
        var text = "\(code): \(message)"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}

/// A failed system call: the C function and `errno`.
///
/// The corresponding C function is named in `function`.
public struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C function that failed, such as `pwrite`.
    public var function: String
    /// The value of `errno` right after the call.
    public var errno: Int32

    /// Makes an error from a function name and an `errno` value.
    public init(function: String, errno: Int32) {
        self.function = function
        self.errno = errno
    }

    /// The system's text for `errno` (`strerror`).
    public var reason: String { systemErrorText(errno) }

    public var description: String { "\(function): \(systemErrorText(errno)) (errno \(errno))" }
}

/// The text of an `errno` value.
func systemErrorText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// An I/O error for a failed system call on `path`, reading `errno` at once.
func ioError(_ function: String, _ what: String, path: String, errno code: Int32 = errno) -> SystemError {
    let hint: String
    switch code {
    case ENOSPC: hint = "; free disk space and retry"
    case EACCES, EPERM: hint = "; check the permissions of \(path)"
    case ENOENT: hint = "; check that the path exists"
    case EROFS: hint = "; the file system is read-only"
    default: hint = ""
    }
    return SystemError(
        code: code == ENOENT ? .notFound : .io, message: "could not \(what) \(path)\(hint)", path: path,
        underlying: SystemCallError(function: function, errno: code))
}
