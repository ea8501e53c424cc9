import ArgumentParser
import CofferGitOps
import CofferManifest
import CofferModel
import CofferReconciler
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where plan and apply read manifests from: paths, or a git repository.
struct ManifestSourceOptions: ParsableArguments {
    @Argument(help: "Manifest files or directories (read recursively); or give --repo.", completion: CofferCompletion.manifests)
    var paths: [String] = []
    @Option(
        help: ArgumentHelp("Read manifests from this git repository instead: a path, or a file:// URL to clone.", valueName: "dir|url"),
        completion: .directory)
    var repo: String?
    @Option(help: ArgumentHelp("With --repo: the revision to read, a branch, tag or commit (default: HEAD).", valueName: "rev"))
    var ref: String?
    @Option(help: ArgumentHelp("With --repo: the manifests' folder inside the repository (default: its root).", valueName: "subdir"))
    var path: String?

    func validate() throws {
        if repo != nil && !paths.isEmpty { throw ValidationError("give manifest paths or --repo, not both") }
        if repo == nil && (ref != nil || path != nil) { throw ValidationError("--ref and --path need --repo") }
    }

    var source: ManifestSource? {
        if let repo { return .git(repository: repo, ref: ref ?? "HEAD", path: path) }
        return paths.isEmpty ? nil : .paths(paths)
    }
}

/// Options shared by the commands that reconcile.
struct ReconcileOptions: ParsableArguments {
    @Flag(help: "Delete owned resources that left the manifests (protected VMs follow their deletionPolicy).")
    var prune = false
    @Flag(name: .customLong("prune-all"), help: "With --prune: allow deleting every owned resource (refused otherwise).") var pruneAll = false
    @Option(
        name: .customLong("lock-timeout"),
        help: ArgumentHelp("How long to wait for the state lock, e.g. 30s; 0s fails at once with exit 75.", valueName: "duration"),
        completion: .list(["0s", "30s", "1m", "5m"]))
    var lockTimeout = DurationArgument(argument: "0s")!

    var planOptions: PlanOptions { PlanOptions(prune: prune, allowPruneAll: pruneAll) }
}

/// The CLI form of an error of a reconciling command; the diagnostics of invalid manifests are shown first.
func reconcileFailure(_ error: Error, view: any ReconcileView) -> CLIError {
    if let error = error as? GitOpsError, error.code == .invalidManifests {
        do { try view.invalidManifests(error.diagnostics) } catch { return CLIError.from(error) }
    }
    return CLIError.from(error)
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show what apply would change, without changing anything.",
        discussion: """
            Loads the manifests (from paths, or from a commit with --repo), reads the platform, and prints \
            each change with the reason for it: changes made outside of coffer first, then creates, updates, \
            replacements and (with --prune) deletions. Checks the platform would refuse, such as a key vault \
            the Backup Management Service cannot read, are reported as errors now. The state lock is held \
            while the platform is read.
            Exit codes: 0 no changes, 1 error, 2 changes present (with --detailed-exitcode), 65 invalid manifests, \
            75 state locked.

            Examples:
              coffer plan manifests/
              coffer plan manifests/ --detailed-exitcode
              coffer plan manifests/ --out tonight.plan
              coffer plan --repo . --ref main --path manifests --output json
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var source: ManifestSourceOptions
    @OptionGroup var reconcile: ReconcileOptions
    @OptionGroup var remote: EndpointOptions
    @OptionGroup var stateBackend: StateBackendOptions
    @Option(help: OutputFormat.help("summary, resource_changes, drift and diagnostics (see docs/json.md).")) var output: OutputFormat = .text
    @Flag(name: .customLong("detailed-exitcode"), help: "Exit 2 when the plan has changes (0 when it has none).") var detailedExitcode = false
    @Option(
        help: ArgumentHelp("Also save the plan to this file, for 'apply --plan' (it holds no secret values).", valueName: "file"),
        completion: .file())
    var out: String?

    func validate() throws {
        if source.source == nil { throw ValidationError("give manifest paths or --repo") }
    }

    func run() async throws {
        try await remote.withWorkspace(global: global, backend: stateBackend) { workspace in try await run(workspace) }
    }

    func run(_ workspace: Workspace) async throws {
        let view = output.reconcileView
        let planned: PlannedChanges
        do {
            planned = try await workspace.plan(source.source!, options: reconcile.planOptions, lockTimeout: reconcile.lockTimeout.seconds) {
                view.manifestWarnings($0.result.diagnostics)
            }
        } catch {
            throw reconcileFailure(error, view: view)
        }
        let plan = planned.plan
        try view.plan(plan)
        if let out {
            try SavedPlan(planned).write(to: out, workspace: workspace)
            view.savedPlan(out)
        }
        if plan.hasErrors {
            throw CLIError(code: "plan-has-errors", message: "the plan has errors: the platform would refuse it", hint: "fix the errors above", exitCode: .failure)
        }
        if detailedExitcode && plan.hasChanges { throw ExitCode(CofferExitCode.changesPresent.rawValue) }
    }
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Make the platform match the manifests, or apply a saved plan.",
        discussion: """
            Plans as 'coffer plan' does, asks for approval ('yes') on a terminal, then applies the steps in \
            dependency order, recording each one: an apply that fails or is killed continues from where it \
            stopped next time. Without a terminal, apply needs --auto-approve (else exit 64). With --plan it \
            applies exactly that plan, from the desired state saved in it (the manifests are not read again), \
            and refuses it when the platform changed since it was made. Each apply is recorded in the history, \
            and in a git note on the commit with --repo.

            Examples:
              coffer apply manifests/
              coffer apply manifests/ --auto-approve --prune
              coffer apply --plan tonight.plan
              coffer apply --repo . --ref main --path manifests --auto-approve --output json
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var source: ManifestSourceOptions
    @OptionGroup var reconcile: ReconcileOptions
    @OptionGroup var remote: EndpointOptions
    @OptionGroup var stateBackend: StateBackendOptions
    @Option(
        help: ArgumentHelp("Apply exactly this plan, saved by 'coffer plan --out' (instead of manifests).", valueName: "file"),
        completion: .file())
    var plan: String?
    @Flag(name: .customLong("auto-approve"), help: "Apply without asking for approval (needed without a terminal).") var autoApprove = false
    @Option(help: ArgumentHelp("Run up to this many independent steps at once (dependency order is kept).", valueName: "n"))
    var parallelism: Int = Applier.defaultParallelism
    @Option(help: OutputFormat.help("the result, summary and every step (the plan goes to standard error as text)."))
    var output: OutputFormat = .text

    func validate() throws {
        if plan != nil && source.source != nil { throw ValidationError("give --plan or manifests, not both") }
        if plan == nil && source.source == nil { throw ValidationError("give manifest paths, --repo or --plan") }
        if parallelism < 1 || parallelism > 256 { throw ValidationError("--parallelism takes 1 to 256") }
    }

    func run() async throws {
        try await remote.withWorkspace(global: global, backend: stateBackend) { workspace in try await run(workspace) }
    }

    func run(_ workspace: Workspace) async throws {
        let view = output.reconcileView
        let input: ApplyInput
        if let plan {
            do {
                input = .savedPlan(try SavedPlan.read(from: plan, workspace: workspace))
            } catch {
                throw CLIError.from(error)
            }
        } else {
            input = .manifests(source.source!, reconcile.planOptions)
        }
        try await ApplyRun(
            workspace: workspace, input: input, autoApprove: autoApprove, view: view, lockTimeout: reconcile.lockTimeout.seconds,
            parallelism: parallelism
        ).run()
    }
}

/// One apply as `apply`, `apply --plan` and `rollback` show it: the plan, the approval, each step, and the
/// outcome, through the command's view.
struct ApplyRun {
    var workspace: Workspace
    var input: ApplyInput
    var autoApprove: Bool
    var view: any ReconcileView
    var lockTimeout: Double
    var parallelism: Int = Applier.defaultParallelism

    @discardableResult
    func run() async throws -> ApplyOutcome? {
        var hooks = ApplyHooks()
        if let killAt = ProcessInfo.processInfo.environment["COFFER_CRASH_AT_STEP_BOUNDARY"].flatMap(Double.init) {
            // Crash testing: die like `kill -9` at this step boundary (step k before it runs, k + 0.5 after).
            hooks.faultPoint = { point in if point == killAt { kill(getpid(), SIGKILL) } }
        }
        do {
            // The observer never skips: there is always an outcome.
            guard
                let applied = try await workspace.apply(
                    input, lockTimeout: lockTimeout, observer: ApplyViewObserver(view: view, autoApprove: autoApprove), hooks: hooks,
                    parallelism: parallelism)
            else { return nil }
            let outcome = applied.outcome
            try view.outcome(outcome, summary: applied.planned.plan.summary)
            if let error = outcome.error {
                throw CLIError(code: error.code, message: error.message, hint: error.hint ?? "fix the cause and apply again: finished steps are not repeated",
                               exitCode: ExitStatus.contract(for: error), underlying: error)
            }
            return outcome
        } catch {
            throw reconcileFailure(error, view: view)
        }
    }
}

/// Hands an apply's events to the command's view: the manifests' warnings, the plan (not again for a saved
/// plan), the approval, and each step.
struct ApplyViewObserver: ApplyObserver {
    var view: any ReconcileView
    var autoApprove: Bool

    func manifestsLoaded(_ manifests: LoadedManifests) {
        view.manifestWarnings(manifests.result.diagnostics)
    }

    func planned(_ planned: PlannedChanges, fromSavedPlan: Bool) throws -> ApplyDecision {
        guard !fromSavedPlan else { return .apply }
        try view.applyPlan(planned.plan)
        return .apply
    }

    func approve(_ plan: Plan) throws {
        try view.approve(autoApprove: autoApprove)
    }

    func stepFinished(_ record: StepRecord) {
        view.step(record)
    }
}
