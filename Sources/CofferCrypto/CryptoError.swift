import CofferModel
internal import COpenSSL

/// An error from CofferCrypto: what failed, the OpenSSL function that failed, and OpenSSL's reason.
public struct CryptoError: CofferError, Hashable {
    /// A stable code for what went wrong.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code as text, such as `invalid-key`.
        public var rawValue: String
        /// Makes a code from its text.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The code as text.
        public var description: String { rawValue }

        /// A key of the wrong length or shape (such as XTS halves that are equal).
        public static let invalidKey = Code(rawValue: "invalid-key")
        /// Input of a length the algorithm cannot take.
        public static let invalidInput = Code(rawValue: "invalid-input")
        /// Authenticated decryption failed: the data, tag, nonce or associated data changed.
        public static let authenticationFailed = Code(rawValue: "authentication-failed")
        /// An RSA-OAEP unwrap failed: the data was wrapped for another key or with another digest, or changed.
        public static let unwrapFailed = Code(rawValue: "unwrap-failed")
        /// OpenSSL reported a failure.
        public static let openSSL = Code(rawValue: "openssl")
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// What failed and how to fix it.
    public var message: String
    /// The C function that failed, when the error came from OpenSSL.
    public var function: String?
    /// OpenSSL's reason string from its error queue, when it gave one.
    public var reason: String?

    /// Makes an error; `function` and `reason` are for errors that came from OpenSSL.
    public init(code: Code, message: String, function: String? = nil, reason: String? = nil) {
        self.code = code
        self.message = message
        self.function = function
        self.reason = reason
    }

    /// The code as text.
    public var errorCode: String { code.rawValue }

    /// The code, the message, and the OpenSSL function and reason when there are any.
    public var description: String {
        var text = "\(code): \(message)"
        if let function { text += " (\(function)" + (reason.map { ": \($0)" } ?? "") + ")" }
        return text
    }

    /// An error for a failed OpenSSL call, draining OpenSSL's thread-local error queue at once so that its
    /// reason belongs to this call. The reason kept is the first one queued: the root cause.
    static func openSSL(_ function: String, _ message: String, code: Code = .openSSL) -> CryptoError {
        var reason: String?
        var packed = ERR_get_error()
        while packed != 0 {
            if reason == nil, let text = ERR_reason_error_string(packed) {
                reason = String(cString: text)
            }
            packed = ERR_get_error()
        }
        return CryptoError(code: code, message: message, function: function, reason: reason)
    }
}

/// Drops errors that earlier calls on this thread left in OpenSSL's queue, so that a failure's reason is its
/// own. Peeking first keeps the common case (an empty queue) cheap, as `ERR_clear_error` walks every slot.
@inline(__always)
func clearStaleOpenSSLErrors() {
    if ERR_peek_error() != 0 { ERR_clear_error() }
}
