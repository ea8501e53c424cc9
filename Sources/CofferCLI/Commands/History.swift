import ArgumentParser
import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List applied revisions, newest first: when, commit, plan summary, result.",
        discussion: """
            Every apply (by apply, rollback or watch) is recorded in the state directory: its time, where the \
            manifests came from (paths, or repository, ref and commit), the plan's summary and the result. \
            Commits listed here are what 'coffer rollback' accepts.

            Examples:
              coffer history
              coffer history --limit 5 --output json
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var stateBackend: StateBackendOptions
    @Option(help: ArgumentHelp("Show at most this many applies, newest first (default: all).", valueName: "n")) var limit: Int?
    @Option(help: OutputFormat.help("an array of applies, newest first.")) var output: OutputFormat = .text

    func run() throws {
        let view = output.historyView
        try stateBackend.withBackend { backend in
            let workspace = Workspace(stateDirectory: global.stateDirectory(environment: ProcessInfo.processInfo.environment), backend: backend)
            let records = try workspace.history(limit: limit)
            try view.history(records)
        }
    }
}

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Plan and apply the manifests of an earlier applied revision.",
        discussion: """
            The revision is looked up in the history (a commit id or its prefix), and its manifests are read \
            from the repository it was applied from. The plan is shown first, and applied as 'coffer apply' \
            would (approval on a terminal, else --auto-approve). A running watch puts its branch back at its \
            next commit or drift check: revert the commit in git to make a rollback stick.

            Examples:
              coffer history
              coffer rollback 3f2a9c1e7b
              coffer rollback 3f2a9c1e7b --auto-approve --prune
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The revision to go back to: a commit id (or prefix) from coffer history.", completion: CofferCompletion.appliedCommit)
    var revision: String
    @Flag(name: .customLong("auto-approve"), help: "Apply without asking for approval (needed without a terminal).") var autoApprove = false
    @OptionGroup var reconcile: ReconcileOptions
    @OptionGroup var stateBackend: StateBackendOptions
    @Option(help: OutputFormat.help("the apply's result, summary and steps, as 'coffer apply' prints them.")) var output: OutputFormat = .text

    func run() async throws {
        let view = output.reconcileView
        try await stateBackend.withBackend { backend in
            let workspace = Workspace(stateDirectory: global.stateDirectory(environment: ProcessInfo.processInfo.environment), backend: backend)
            let (record, source) = try rollbackTarget(workspace)
            view.rollingBack(to: record)
            try await ApplyRun(
                workspace: workspace, input: .manifests(source, reconcile.planOptions), autoApprove: autoApprove, view: view,
                lockTimeout: reconcile.lockTimeout.seconds
            ).run()
        }
    }

    private func rollbackTarget(_ workspace: Workspace) throws -> (record: HistoryRecord, source: ManifestSource) {
        do {
            return try workspace.rollbackTarget(revision)
        } catch let error as GitOpsError {
            throw CLIError.from(error)
        }
    }
}
