public import CofferModel

/// An error of `coffer serve` itself (its certificate, its tokens, its listener), as opposed to the ARM errors
/// it answers requests with.
public struct ServeError: CofferError {
    public enum Code: String, Sendable, Hashable {
        /// The state directory has no platform to serve.
        case notInitialized = "serve-not-initialized"
        /// The certificate or its key could not be made, read or written.
        case certificate = "serve-certificate"
        /// The token file could not be read or written, or is damaged.
        case tokens = "serve-tokens"
        /// No token has this id.
        case tokenNotFound = "serve-token-not-found"
        /// `--listen` is not `HOST:PORT`.
        case invalidListenAddress = "serve-invalid-listen-address"
        /// The listener could not be opened (address in use, permission).
        case listen = "serve-listen"
        case invalidArgument = "serve-invalid-argument"
        /// `--faults` is not a fault spec.
        case invalidFaults = "serve-invalid-faults"
    }

    public var code: Code
    public var message: String
    public var hint: String?
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, hint: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.underlying = underlying
    }

    public var errorCode: String { code.rawValue }
    public var description: String { "\(code.rawValue): \(message)" + (hint.map { " (\($0))" } ?? "") }
}
