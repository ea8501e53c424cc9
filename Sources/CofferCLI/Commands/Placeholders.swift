import ArgumentParser

// Commands of the CLI contract whose capabilities have not landed yet. Each keeps its final flags, so the
// surface is visible and stable, and fails with a clear 'not implemented yet' and exit 1.

/// Where plan and apply read manifests from: paths, or a git repository.
struct ManifestSourceOptions: ParsableArguments {
    @Argument(help: "Manifest files or directories.") var paths: [String] = []
    @Option(help: ArgumentHelp("Read manifests from this git repository (path or file:// URL).", valueName: "dir"))
    var repo: String?
    @Option(help: ArgumentHelp("The revision to read (branch, tag or commit).", valueName: "rev")) var ref: String?
    @Option(help: ArgumentHelp("The manifests' folder inside the repository.", valueName: "subdir")) var path: String?

    func validate() throws {
        if repo != nil && !paths.isEmpty { throw ValidationError("give manifest paths or --repo, not both") }
        if repo == nil && (ref != nil || path != nil) { throw ValidationError("--ref and --path need --repo") }
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show what apply would change, without changing anything.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var source: ManifestSourceOptions
    @Option var output: OutputFormat = .text
    @Flag(name: .customLong("detailed-exitcode"), help: "Exit 2 when the plan has changes.") var detailedExitcode = false
    @Option(help: ArgumentHelp("Save the plan to this file for 'apply --plan'.", valueName: "planfile")) var out: String?
    @Flag(help: "Plan deletes of owned resources that left the manifests.") var prune = false
    func validate() throws {
        if source.repo == nil && source.paths.isEmpty { throw ValidationError("give manifest paths or --repo") }
    }
    func run() throws { throw CLIError.notImplemented("plan") }
}

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Make the platform match the manifests, or apply a saved plan.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var source: ManifestSourceOptions
    @Option(help: ArgumentHelp("Apply exactly this saved plan.", valueName: "planfile")) var plan: String?
    @Flag(name: .customLong("auto-approve"), help: "Apply without asking.") var autoApprove = false
    @Flag(help: "Delete owned resources that left the manifests.") var prune = false
    @Option var output: OutputFormat = .text
    func validate() throws {
        if plan != nil && (source.repo != nil || !source.paths.isEmpty) {
            throw ValidationError("give --plan or manifests, not both")
        }
        if plan == nil && source.repo == nil && source.paths.isEmpty {
            throw ValidationError("give manifest paths, --repo or --plan")
        }
    }
    func run() throws { throw CLIError.notImplemented("apply") }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List applied revisions: when, commit, plan summary, result.")
    @OptionGroup var global: GlobalOptions
    @Option var output: OutputFormat = .text
    func run() throws { throw CLIError.notImplemented("history") }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "The semantic difference between two revisions' desired states.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The older revision.") var from: String
    @Argument(help: "The newer revision.") var to: String
    @Option(help: ArgumentHelp("The git repository.", valueName: "dir")) var repo: String = "."
    @Option(help: ArgumentHelp("The manifests' folder inside the repository.", valueName: "subdir")) var path: String?
    @Option var output: OutputFormat = .text
    func run() throws { throw CLIError.notImplemented("diff") }
}

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Plan and apply the manifests of an earlier applied revision.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The revision to go back to.") var revision: String
    @Flag(name: .customLong("auto-approve"), help: "Apply without asking.") var autoApprove = false
    func run() throws { throw CLIError.notImplemented("rollback") }
}

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Follow a git branch and keep the platform converged.")
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The repository: a path or a file:// URL.", valueName: "dir|url")) var repo: String
    @Option(help: ArgumentHelp("The branch, tag or commit to follow.", valueName: "ref")) var ref = "main"
    @Option(help: ArgumentHelp("The manifests' folder inside the repository.", valueName: "subdir")) var path: String?
    @Option(help: ArgumentHelp("How often to poll, e.g. 30s or 1m.", valueName: "duration")) var interval = "30s"
    @Flag(help: "Reconcile once and exit.") var once = false
    @Option var output: OutputFormat = .text
    func run() throws { throw CLIError.notImplemented("watch") }
}
