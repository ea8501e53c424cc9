import CofferModel
import CofferSystem

/// An error from CofferSnapshot: a stable code, a message that says what failed and how to fix it, and the
/// underlying cause (a system call or a CofferCrypto error) when there is one.
public struct SnapshotError: CofferError {
    /// A stable code for what went wrong.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code's text, such as `corrupted`.
        public var rawValue: String
        /// Makes a code from its text.
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The caller passed a value that cannot work (a range past the end of a disk, a bad block size).
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        /// A device, snapshot, store, recovery point or disk does not exist.
        public static let notFound = Code(rawValue: "not-found")
        /// Something already exists where a new device or store was to be created.
        public static let alreadyExists = Code(rawValue: "already-exists")
        /// Stored data failed authentication or a consistency check: it was changed or damaged.
        public static let corrupted = Code(rawValue: "corrupted")
        /// The key given does not open this device or store.
        public static let wrongKey = Code(rawValue: "wrong-key")
        /// Another process, or another open instance, holds the device.
        public static let busy = Code(rawValue: "busy")
        /// A system call failed (open, read, write, fsync, rename...).
        public static let io = Code(rawValue: "io")
        /// A cryptographic operation failed for a reason other than authentication.
        public static let crypto = Code(rawValue: "crypto")
    }

    /// What went wrong, for programs.
    public var code: Code
    /// What failed and how to fix it, for people.
    public var message: String
    /// What caused this error, such as a failed system call or a `CryptoError`.
    public var underlying: (any Error)?

    /// Makes an error from its code, message and cause.
    public init(code: Code, message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The code as text.
    public var errorCode: String { code.rawValue }

    /// A file-system failure from CofferSystem, with the same code, message and cause.
    init(_ error: SystemError) {
        self.init(code: Code(rawValue: error.code.rawValue), message: error.message, underlying: error.underlying)
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}

/// Runs `body`, presenting a file-system failure from CofferSystem as a `SnapshotError`: every public entry
/// point of the module goes through it, so that callers see one error type.
func presentingSystemErrors<T>(_ body: () throws -> T) rethrows -> T {
    do {
        return try body()
    } catch let error as SystemError {
        throw SnapshotError(error)
    }
}
