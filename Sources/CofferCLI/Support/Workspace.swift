import CofferGit
import CofferModel
import CofferPlatform
import CofferReconciler
import Foundation

/// The pieces a reconciling command works with, opened from the state directory.
struct Workspace {
    typealias ProviderFactory = @Sendable (_ stateDirectory: String) throws -> any Provider

    let stateDirectory: String
    let store: FileStateStore
    /// Opens the provider; the simulated platform unless a test gives another.
    let makeProvider: ProviderFactory

    init(stateDirectory: String, makeProvider: @escaping ProviderFactory = openPlatformProvider) {
        self.stateDirectory = stateDirectory
        store = FileStateStore(stateDirectory: stateDirectory)
        self.makeProvider = makeProvider
    }

    /// The provider: the simulated platform in the state directory.
    func provider() throws -> any Provider {
        try makeProvider(stateDirectory)
    }

    /// Takes the state lock, waiting up to `timeout` seconds; maps a held lock to exit code 75.
    func lock(_ operation: String, timeout: Double) throws -> StateLock {
        do {
            return try StateLock.acquire(stateDirectory: stateDirectory, operation: operation, timeout: timeout)
        } catch let error as ReconcilerError where error.code == .locked {
            throw CLIError.from(error)
        }
    }
}

extension CLIError {
    /// The CLI form of an error from the layers below, keeping it as the cause; `ExitStatus` picks the exit
    /// code.
    static func from(_ error: Error) -> CLIError {
        let exitCode = ExitStatus.contract(for: error)
        switch error {
        case let error as CLIError: return error
        case let error as GitError:
            return CLIError(code: "git-\(error.code)", message: error.description, hint: nil, exitCode: exitCode, underlying: error)
        case let error as ProviderError:
            return CLIError(code: error.code, message: error.message, hint: error.hint, exitCode: exitCode, underlying: error)
        case let error as ReconcilerError:
            return CLIError(code: error.code.rawValue, message: error.message, hint: error.hint, exitCode: exitCode, underlying: error)
        default:
            return CLIError(code: "error", message: String(describing: error), hint: nil, exitCode: exitCode, underlying: error)
        }
    }
}
