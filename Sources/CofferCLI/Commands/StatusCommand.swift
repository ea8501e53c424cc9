import ArgumentParser
import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the last reconciled revision of a source, when, its result, and drift found since.",
        discussion: """
            Reads the history: for the current source (the source of the newest record, or the one --repo, \
            --ref and --path name) it prints the last revision reconciled (applied, or found to need no \
            change: 'coffer watch' and 'coffer apply --repo' record every revision they reconcile), when, its \
            result, and whether a drift check found changes made outside of coffer since (repaired, or only \
            reported with --report-only). Exits 1 when the history has no record of the source.

            Examples:
              coffer status
              coffer status --repo /srv/backup-config --ref main --path manifests
              coffer status --output json
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var stateBackend: StateBackendOptions
    @Option(help: ArgumentHelp("The repository, as watch or apply --repo was given it (default: the newest record's source).", valueName: "dir|url"),
            completion: .directory)
    var repo: String?
    @Option(help: ArgumentHelp("The ref followed (default: any ref of --repo).", valueName: "ref")) var ref: String?
    @Option(help: ArgumentHelp("The manifests' folder inside the repository (default: any folder of --repo).", valueName: "subdir")) var path: String?
    @Option(help: OutputFormat.help("the last reconciled revision's record and the drift checks since.")) var output: OutputFormat = .text

    func validate() throws {
        if repo == nil && (ref != nil || path != nil) { throw ValidationError("--ref and --path need --repo") }
    }

    func run() throws {
        let view = output.historyView
        let source = repo.map { ApplySource(repository: $0, ref: ref, subdirectory: path) }
        let found = try stateBackend.withBackend { backend in
            try Workspace(stateDirectory: global.stateDirectory(environment: ProcessInfo.processInfo.environment), backend: backend).status(of: source)
        }
        guard let status = found else {
            throw CLIError(
                code: "NoReconciledRevision",
                message: repo.map { "the history has no revision reconciled from \($0)" } ?? "the history has no revision reconciled yet",
                hint: "run coffer apply or coffer watch first; coffer history lists what was recorded", exitCode: .failure)
        }
        try view.status(status)
    }
}
