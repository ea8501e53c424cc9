import CofferModel
import CofferReconciler
import Foundation

/// The pieces every use case works with, opened from the state directory: the reconciler's state store, its
/// lock, and the provider.
public struct Workspace: Sendable {
    /// Opens the provider of a state directory.
    public typealias ProviderFactory = @Sendable (_ stateDirectory: String) throws -> any Provider

    public let stateDirectory: String
    public let store: FileStateStore
    /// Opens the provider; called once per use case, under the state lock, so that a long watch sees what
    /// other processes did to the platform in between.
    public let makeProvider: ProviderFactory

    public init(stateDirectory: String, makeProvider: @escaping ProviderFactory) {
        self.stateDirectory = stateDirectory
        store = FileStateStore(stateDirectory: stateDirectory)
        self.makeProvider = makeProvider
    }

    /// A workspace whose provider is `provider`, whatever the directory.
    public init(stateDirectory: String, provider: any Provider) {
        self.init(stateDirectory: stateDirectory, makeProvider: { _ in provider })
    }

    /// Opens the provider.
    public func provider() throws -> any Provider {
        try makeProvider(stateDirectory)
    }

    /// Takes the state lock for `operation`, waiting up to `timeout` seconds (a held lock throws the
    /// reconciler's `locked` error, naming the holder).
    public func lock(_ operation: String, timeout: Double) throws -> StateLock {
        try StateLock.acquire(stateDirectory: stateDirectory, operation: operation, timeout: timeout)
    }
}
