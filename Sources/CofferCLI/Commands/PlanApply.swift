import ArgumentParser
import CofferGit
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
    var lockTimeout = "0s"

    var planOptions: PlanOptions { PlanOptions(prune: prune, allowPruneAll: pruneAll) }

    func validate() throws {
        if parseDuration(lockTimeout) == nil { throw ValidationError("--lock-timeout: not a duration: \(lockTimeout)") }
    }
}

/// A plan saved by `plan --out`, applied by `apply --plan`. It holds no secret values: before/after are
/// masked and the specs to apply are taken from the manifests again, which must be unchanged.
struct SavedPlan: Codable {
    var format_version: String
    var created: Date
    var source: ManifestSource
    var prune: Bool
    var pruneAll: Bool
    var plan: Plan
}

/// Loads manifests, printing diagnostics; exits 65 when they are invalid.
func loadManifests(_ source: ManifestSource, stateDirectory: String, output: OutputFormat) throws -> (DesiredState, ManifestSource.Loaded) {
    let loaded = try source.load(stateDirectory: stateDirectory)
    let diagnostics = loaded.result.diagnostics
    guard let state = loaded.result.state else {
        if output == .json {
            let document: [String: Any] = [
                "format_version": "1", "valid": false, "diagnostics": diagnostics.sortedForDisplay().map(DiagnosticRendering.json),
            ]
            print(String(decoding: try jsonData(document), as: UTF8.self))
        } else {
            printError(DiagnosticRendering.render(diagnostics, terminal: .forStandardError()))
        }
        throw CLIError(
            code: "invalid-manifests", message: "the manifests have \(diagnostics.filter { $0.severity == .error }.count) error(s); nothing was planned",
            hint: "fix them (coffer validate shows the same list)", exitCode: .invalidInput)
    }
    if !diagnostics.isEmpty && output == .text {
        printError(DiagnosticRendering.render(diagnostics, terminal: .forStandardError()))
    }
    return (state, loaded)
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
        let workspace = Workspace(stateDirectory: global.stateDirectory(environment: ProcessInfo.processInfo.environment))
        let manifestSource = source.source!
        let lock = try workspace.lock("plan", timeout: parseDuration(reconcile.lockTimeout) ?? 0)
        defer { lock.release() }
        let plan: Plan
        do {
            let store = workspace.store
            plan = try await Planner(provider: try workspace.provider()).plan(options: reconcile.planOptions) {
                try loadManifests(manifestSource, stateDirectory: workspace.stateDirectory, output: output).0
            } inventory: {
                try store.inventory()
            }
        } catch {
            throw CLIError.from(error)
        }
        try printPlan(plan, output: output)
        if let out {
            var saved = SavedPlan(format_version: "1", created: Date(), source: manifestSource, prune: reconcile.prune, pruneAll: reconcile.pruneAll, plan: plan)
            saved.plan.changes = saved.plan.changes.map { var change = $0; change.spec = nil; return change }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(saved).write(to: URL(fileURLWithPath: out))
            if output == .text { print("\nSaved the plan to \(out). Apply exactly this plan with: coffer apply --plan \(out)") }
        }
        if plan.hasErrors {
            throw CLIError(code: "plan-has-errors", message: "the plan has errors: the platform would refuse it", hint: "fix the errors above", exitCode: .failure)
        }
        if detailedExitcode && plan.hasChanges { throw ExitCode(CofferExitCode.changesPresent.rawValue) }
    }
}

/// Prints a plan and its diagnostics in the chosen format.
func printPlan(_ plan: Plan, output: OutputFormat) throws {
    switch output {
    case .json:
        print(String(decoding: try jsonData(try PlanRendering.jsonObject(plan)), as: UTF8.self))
    case .text:
        if !plan.diagnostics.isEmpty {
            printError(DiagnosticRendering.render(plan.diagnostics, terminal: .forStandardError()))
            printError("")
        }
        print(PlanRendering.text(plan, terminal: .forStandardOutput()))
    }
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Make the platform match the manifests, or apply a saved plan.",
        discussion: """
            Plans as 'coffer plan' does, asks for approval ('yes') on a terminal, then applies the steps in \
            dependency order, recording each one: an apply that fails or is killed continues from where it \
            stopped next time. Without a terminal, apply needs --auto-approve (else exit 64). With --plan it \
            applies exactly that plan, and refuses it when the manifests or the platform changed since it was \
            made. Each apply is recorded in the history, and in a git note on the commit with --repo.

            Examples:
              coffer apply manifests/
              coffer apply manifests/ --auto-approve --prune
              coffer apply --plan tonight.plan
              coffer apply --repo . --ref main --path manifests --auto-approve --output json
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var source: ManifestSourceOptions
    @OptionGroup var reconcile: ReconcileOptions
    @Option(
        help: ArgumentHelp("Apply exactly this plan, saved by 'coffer plan --out' (instead of manifests).", valueName: "file"),
        completion: .file())
    var plan: String?
    @Flag(name: .customLong("auto-approve"), help: "Apply without asking for approval (needed without a terminal).") var autoApprove = false
    @Option(help: OutputFormat.help("the result, summary and every step (the plan goes to standard error as text)."))
    var output: OutputFormat = .text

    func validate() throws {
        if plan != nil && source.source != nil { throw ValidationError("give --plan or manifests, not both") }
        if plan == nil && source.source == nil { throw ValidationError("give manifest paths, --repo or --plan") }
    }

    func run() async throws {
        let workspace = Workspace(stateDirectory: global.stateDirectory(environment: ProcessInfo.processInfo.environment))
        var options = reconcile.planOptions
        var manifestSource = source.source
        var saved: SavedPlan?
        if let plan {
            guard let data = FileManager.default.contents(atPath: plan) else {
                throw CLIError(code: "plan-file", message: "cannot read the plan file '\(plan)'", hint: "make it with coffer plan --out FILE", exitCode: .failure)
            }
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            guard let decoded = try? decoder.decode(SavedPlan.self, from: data), decoded.format_version == "1" else {
                throw CLIError(code: "plan-file", message: "'\(plan)' is not a coffer plan file", hint: "make it with coffer plan --out FILE", exitCode: .failure)
            }
            saved = decoded
            manifestSource = decoded.source
            options = PlanOptions(prune: decoded.prune, allowPruneAll: decoded.pruneAll)
        }
        try await ApplyRun(
            workspace: workspace, source: manifestSource!, options: options, saved: saved?.plan, autoApprove: autoApprove || saved != nil,
            output: output, lockTimeout: parseDuration(reconcile.lockTimeout) ?? 0
        ).run()
    }
}

/// One apply: load, lock, plan (or check a saved plan), approve, apply, record, note.
struct ApplyRun {
    var workspace: Workspace
    var source: ManifestSource
    var options: PlanOptions
    var saved: Plan?
    var autoApprove: Bool
    var output: OutputFormat
    var lockTimeout: Double
    var quiet = false

    @discardableResult
    func run() async throws -> ApplyOutcome? {
        let lock = try workspace.lock("apply", timeout: lockTimeout)
        defer { lock.release() }
        do {
            let provider = try workspace.provider()
            var loadedManifests: ManifestSource.Loaded?
            let store = workspace.store
            // The inventory the plan is made from, handed from the planner's loading task to the apply that
            // follows under the same lock, so that it is not read twice.
            let planned = LockedBox<[ResourceAddress: InventoryEntry]?>(nil)
            let plan = try await Planner(provider: provider).plan(options: options) {
                let (desired, loaded) = try loadManifests(source, stateDirectory: workspace.stateDirectory, output: output)
                loadedManifests = loaded
                return desired
            } inventory: {
                let inventory = try store.inventory()
                planned.value = inventory
                return inventory
            }
            guard let loaded = loadedManifests else { throw CLIError(code: "internal", message: "the manifests were not loaded", hint: nil, exitCode: .failure) }
            if let saved {
                let stripped = plan.changes.map { var change = $0; change.spec = nil; return change }
                guard saved.desiredFingerprint == plan.desiredFingerprint, saved.observedFingerprint == plan.observedFingerprint, saved.changes == stripped else {
                    throw CLIError(
                        code: ReconcilerError.Code.stalePlan.rawValue,
                        message: saved.desiredFingerprint != plan.desiredFingerprint
                            ? "the saved plan is stale: the manifests changed since it was made"
                            : "the saved plan is stale: the platform changed since it was made",
                        hint: "make a new plan with coffer plan --out FILE", exitCode: .failure)
                }
            } else if !quiet {
                try printPlan(plan, output: output == .json ? .text : output, toStandardError: output == .json)
            }
            if plan.hasErrors {
                throw CLIError(code: "plan-has-errors", message: "the plan has errors; nothing was applied", hint: "fix the errors above", exitCode: .failure)
            }
            let needsApproval = plan.changes.contains { $0.action != .noOp }
            if needsApproval && !autoApprove {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw CLIError(
                        code: "approval-required", message: "apply needs approval and there is no terminal to ask",
                        hint: "review the plan, then run again with --auto-approve (or apply a saved plan with --plan)", exitCode: .usage)
                }
                print("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", terminator: "")
                guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                    throw CLIError(code: "apply-cancelled", message: "apply cancelled", hint: nil, exitCode: .failure)
                }
            }
            let terminal = Terminal.forStandardOutput()
            let textOutput = output == .text && !quiet
            var applier = Applier(provider: provider, store: workspace.store) { record in
                guard textOutput else { return }
                switch record.status {
                case .succeeded: print("\(record.address): \(record.action.rawValue) complete")
                case .failed: print(terminal.paint("\(record.address): \(record.action.rawValue) failed: \(record.errorCode ?? ""): \(record.message ?? "")", .red))
                case .skipped: print("\(record.address): skipped (\(record.message ?? ""))")
                case .started: break
                }
            }
            if let killAt = ProcessInfo.processInfo.environment["COFFER_CRASH_AT_STEP_BOUNDARY"].flatMap(Double.init) {
                // Crash testing: die like `kill -9` at this step boundary (step k before it runs, k + 0.5 after).
                applier.faultPoint = { point in if point == killAt { kill(getpid(), SIGKILL) } }
            }
            let outcome = try await applier.apply(plan, source: loaded.applySource, inventory: planned.value)
            if case .git(let repository, _, _) = source, let commit = loaded.commit {
                try? noteApply(repository: repository, commit: commit, outcome: outcome, summary: plan.summary)
            }
            try report(outcome, summary: plan.summary, terminal: terminal)
            if let error = outcome.error {
                throw CLIError(code: error.code, message: error.message, hint: error.hint ?? "fix the cause and apply again: finished steps are not repeated", exitCode: .failure)
            }
            return outcome
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.from(error)
        }
    }

    private func report(_ outcome: ApplyOutcome, summary: PlanSummary, terminal: Terminal) throws {
        if output == .json {
            let document: [String: Any] = [
                "format_version": "1",
                "result": outcome.result.rawValue,
                "summary": ["add": summary.add, "change": summary.change, "replace": summary.replace, "destroy": summary.destroy],
                "steps": outcome.steps.map { step -> [String: Any] in
                    ["address": step.address.description, "action": step.action.rawValue, "status": step.status.rawValue,
                     "error_code": step.errorCode ?? NSNull(), "message": step.message ?? NSNull()]
                },
                "resumed": outcome.resumed.map { ["address": $0.address.description, "action": $0.action.rawValue, "status": $0.status.rawValue] },
                "error": outcome.error.map { ["code": $0.code, "message": $0.message] } ?? NSNull(),
            ]
            print(String(decoding: try jsonData(document), as: UTF8.self))
            return
        }
        guard !quiet else { return }
        if !outcome.resumed.isEmpty {
            print("Repaired an apply that was interrupted during: " + Set(outcome.resumed.map(\.address.description)).sorted().joined(separator: ", "))
        }
        switch outcome.result {
        case .succeeded:
            print(terminal.paint("\nApply complete! Resources: \(summary.add + summary.replace) added, \(summary.change) changed, \(summary.destroy + summary.replace) destroyed.", .green))
        case .noChanges:
            print("\nApply complete! No changes were needed.")
        case .failed:
            print(terminal.paint("\nApply failed. Finished steps are recorded; the next apply continues from the platform as it is.", .red))
        }
    }

    /// Adds a note to the commit in the repository: what was applied, when, and how it went.
    private func noteApply(repository: String, commit: String, outcome: ApplyOutcome, summary: PlanSummary) throws {
        let repo = try GitSource.open(repository, stateDirectory: workspace.stateDirectory, fetch: false)
        let time = ISO8601DateFormatter().string(from: Date())
        var lines = ["coffer apply \(outcome.result.rawValue) at \(time)", summary.line]
        if let error = outcome.error { lines.append("error[\(error.code)]: \(error.message)") }
        try repo.addNote(to: commit, message: lines.joined(separator: "\n"))
    }
}

extension ApplyRun {
    fileprivate func printPlan(_ plan: Plan, output: OutputFormat, toStandardError: Bool) throws {
        if toStandardError {
            printError(PlanRendering.text(plan, terminal: .forStandardError()))
        } else {
            try CofferCLI.printPlan(plan, output: output)
        }
    }
}
