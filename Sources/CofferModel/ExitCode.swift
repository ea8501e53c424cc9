/// The process exit codes of the CLI contract (DESIGN.md); other tools depend on them.
public enum CofferExitCode: Int32, Sendable {
    /// Success; for `plan`, no changes.
    case success = 0
    /// The operation failed.
    case failure = 1
    /// The plan succeeded and has changes (with `--detailed-exitcode` only).
    case changesPresent = 2
    /// The command line was wrong.
    case usage = 64
    /// The manifests or the world file are invalid.
    case invalidInput = 65
    /// The state is locked by another process.
    case locked = 75
}
