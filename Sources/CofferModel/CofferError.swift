/// What every module's public error type offers: a stable code, what failed, how to fix it, and the error
/// that caused it. Callers (the CLI's exit codes and printing, logs) read these without knowing the module.
public protocol CofferError: Error, Sendable, CustomStringConvertible {
    /// The stable code as text, such as `state-locked` or `UserErrorKeyVaultPermissionsNotConfigured`.
    var errorCode: String { get }
    /// What failed.
    var message: String { get }
    /// How to fix it, when there is something to say.
    var hint: String? { get }
    /// The error that caused this one, kept as it was thrown rather than flattened to text.
    var underlying: (any Error)? { get }
}

extension CofferError {
    public var hint: String? { nil }
    public var underlying: (any Error)? { nil }

    /// The code and the message, followed by the cause when there is one.
    public var description: String {
        "\(errorCode): \(message)" + (underlying.map { " (\($0))" } ?? "")
    }

    /// This error's causes, nearest first: `underlying`, then its own `underlying`, and so on.
    public var causes: [any Error] {
        var chain: [any Error] = []
        var next = underlying
        while let error = next, chain.count < 32 {
            chain.append(error)
            next = (error as? any CofferError)?.underlying
        }
        return chain
    }
}
