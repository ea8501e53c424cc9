import ArgumentParser
import CofferGitOps
import CofferModel
import CofferPlatform
import CofferReconciler

/// The one mapping from an error thrown out of a command to the process exit code of the CLI contract
/// (`CofferExitCode`, listed in the README): every path that ends coffer with an error goes through it.
enum ExitStatus {
    /// The exit code for `error`:
    /// - a `CLIError` exits with the code it was given (a usage error 64, invalid manifests 65, else 1);
    /// - argument-parser's `ExitCode` exits with its value (`--detailed-exitcode`'s 2, a failed check's 1);
    /// - an invalid world file (`WorldError`) or invalid manifests (`GitOpsError.invalidManifests`) exit 65;
    /// - a held state lock (`ReconcilerError.locked`) exits 75;
    /// - any other coffer error exits 1;
    /// - argument-parser's own errors exit 64 when the command line was wrong, 0 for `--help` and
    ///   `--version`, and 1 otherwise.
    static func code(for error: any Error) -> Int32 {
        switch error {
        case let error as CLIError:
            return error.exitCode.rawValue
        case let exit as ExitCode:
            return exit.rawValue
        case is WorldError:
            return CofferExitCode.invalidInput.rawValue
        case let error as GitOpsError where error.code == .invalidManifests:
            return CofferExitCode.invalidInput.rawValue
        case let error as ReconcilerError where error.code == .locked:
            return CofferExitCode.locked.rawValue
        case is any CofferError:
            return CofferExitCode.failure.rawValue
        default:
            let code = CofferCommand.exitCode(for: error)
            if code == .validationFailure { return CofferExitCode.usage.rawValue }
            if code == .success { return CofferExitCode.success.rawValue }
            return code == .failure ? CofferExitCode.failure.rawValue : code.rawValue
        }
    }

    /// The contract's exit code for `error`, for an error that the CLI wraps into a `CLIError`.
    static func contract(for error: any Error) -> CofferExitCode {
        CofferExitCode(rawValue: code(for: error)) ?? .failure
    }
}
