import ArgumentParser
import CofferModel

/// The version printed by `coffer --version`.
public let cofferVersion = "0.1.0"

/// The root of the command tree: `coffer`.
public struct CofferCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "coffer",
        abstract: "Declarative, GitOps-style backup configuration for encrypted virtual machines.",
        discussion: """
            coffer reads YAML manifests that declare Recovery Services vaults, backup policies, protected VMs \
            and Key Vault access policies, shows what would change (plan), makes the platform match (apply), \
            and follows a git branch to keep it converged (watch). The platform is a simulation of Azure \
            Backup for Azure VMs, created from a world file with 'coffer platform init'.

            State directory: --state DIR on every command, else $COFFER_STATE, else ./.coffer.
            Exit codes: 0 success, 1 failure, 2 changes present (plan --detailed-exitcode), 64 usage error, \
            65 invalid manifests or world file, 75 state locked.
            Output: --output json documents carry "format_version": "1"; text is coloured on a terminal only, \
            and never when NO_COLOR is set.

            Examples:
              coffer platform init --world examples/reference/world.yaml
              coffer validate manifests/
              coffer plan manifests/
              coffer apply manifests/ --auto-approve
              coffer backup win-app-01
              source <(coffer --generate-completion-script bash)    # see docs/cli.md
            """,
        version: cofferVersion,
        groupedSubcommands: [
            CommandGroup(
                name: "Manifests and reconciling",
                subcommands: [
                    ValidateCommand.self, PlanCommand.self, ApplyCommand.self, HistoryCommand.self, StatusCommand.self, DiffCommand.self,
                    RollbackCommand.self, WatchCommand.self, LockCommand.self, SchemaCommand.self,
                ]),
            CommandGroup(
                name: "Backup and restore",
                subcommands: [
                    GetCommand.self, BackupCommand.self, RestoreCommand.self, RestoreKeysCommand.self, VerifyCommand.self, UndeleteCommand.self,
                ]),
            CommandGroup(name: "The simulated platform", subcommands: [PlatformCommand.self, ServeCommand.self]),
        ]
    )

    public init() {}
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The state directory: the platform, the reconciler's state and its lock (default: $COFFER_STATE, else ./.coffer).",
            valueName: "dir"),
        completion: .directory)
    var state: String?

    /// The state directory in force: `--state`, else `$COFFER_STATE`, else `./.coffer`.
    func stateDirectory(environment: [String: String]) -> String {
        if let state { return state }
        if let fromEnvironment = environment["COFFER_STATE"], !fromEnvironment.isEmpty { return fromEnvironment }
        return ".coffer"
    }
}

/// The output format of commands that have one.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text
    case json

    /// The help of an `--output` option: `json` says what the document holds.
    static func help(_ json: String) -> ArgumentHelp {
        ArgumentHelp("text for people, or json: \(json)", valueName: "format")
    }
}

/// An error that the CLI prints as `error[CODE]: message` with a hint, and exits with.
struct CLIError: CofferError {
    var code: String
    var message: String
    var hint: String?
    /// The exit code; for an error from the layers below, `ExitStatus` chose it.
    var exitCode: CofferExitCode
    /// The error from the layers below that this one presents, when there is one.
    var underlying: (any Error)?

    init(code: String, message: String, hint: String?, exitCode: CofferExitCode, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.exitCode = exitCode
        self.underlying = underlying
    }

    var errorCode: String { code }

    var description: String {
        "error[\(code)]: \(message)" + (hint.map { "\n  = hint: \($0)" } ?? "")
    }
}
