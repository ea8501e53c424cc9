import CofferModel
import CofferReconciler
import Foundation

/// The pieces every use case works with: the state directory (git mirrors, saved plans, the embedded
/// platform), the backend of the reconciler's state (its store and lock: the directory's files by default, a
/// shared database for several watchers), and the provider.
public struct Workspace: Sendable {
    /// Opens the provider of a state directory.
    public typealias ProviderFactory = @Sendable (_ stateDirectory: String) throws -> any Provider

    public let stateDirectory: String
    public let backend: any StateBackend
    public var store: any ReconcilerStateStore { backend.store }
    /// Opens the provider; called once per use case, under the state lock, so that a long watch sees what
    /// other processes did to the platform in between.
    public let makeProvider: ProviderFactory

    /// `backend` defaults to the files of the state directory.
    public init(stateDirectory: String, backend: (any StateBackend)? = nil, makeProvider: @escaping ProviderFactory) {
        self.stateDirectory = stateDirectory
        self.backend = backend ?? FileStateBackend(stateDirectory: stateDirectory)
        self.makeProvider = makeProvider
    }

    /// A workspace whose provider is `provider`, whatever the directory.
    public init(stateDirectory: String, backend: (any StateBackend)? = nil, provider: any Provider) {
        self.init(stateDirectory: stateDirectory, backend: backend, makeProvider: { _ in provider })
    }

    /// Opens the provider.
    public func provider() throws -> any Provider {
        try makeProvider(stateDirectory)
    }

    /// Takes the state lock for `operation`, waiting up to `timeout` seconds (a held lock throws the
    /// reconciler's `locked` error, naming the holder).
    public func lock(_ operation: String, timeout: Double) throws -> any HeldStateLock {
        try backend.acquireLock(operation: operation, timeout: timeout)
    }
}
