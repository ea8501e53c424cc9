import CofferGit
import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation

extension Workspace {
    /// The workspace of a state directory, with the simulated platform in it as the provider.
    init(stateDirectory: String, backend: (any StateBackend)? = nil) {
        self.init(stateDirectory: stateDirectory, backend: backend, makeProvider: openPlatformProvider)
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
        case let error as GitOpsError:
            return CLIError(code: error.code.rawValue, message: error.message, hint: error.hint, exitCode: exitCode, underlying: error)
        default:
            return CLIError(code: "error", message: String(describing: error), hint: nil, exitCode: exitCode, underlying: error)
        }
    }
}
