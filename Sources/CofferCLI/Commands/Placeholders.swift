import ArgumentParser

// Commands of the CLI contract whose capabilities have not landed yet. Each keeps its final flags, so the
// surface is visible and stable, and fails with a clear 'not implemented yet' and exit 1.

struct PlatformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "platform",
        abstract: "Create, inspect and act on the simulated platform.",
        subcommands: [
            PlatformInit.self, PlatformShow.self, PlatformClock.self, PlatformWrite.self, PlatformRead.self,
            PlatformChecksum.self, PlatformKeyVault.self, PlatformVM.self,
        ]
    )
}

struct PlatformInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the simulated platform from a world file.")
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The world file (YAML).", valueName: "file")) var world: String
    @Flag(help: "Replace an existing platform.") var force = false
    func run() throws { throw CLIError.notImplemented("platform init") }
}

struct PlatformShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show everything the platform holds (never secret values).")
    @OptionGroup var global: GlobalOptions
    @Option var output: OutputFormat = .text
    func run() throws { throw CLIError.notImplemented("platform show") }
}

struct PlatformClock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock", abstract: "Show or move simulated time; runs due backups and retention.")
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Move the clock forward, e.g. 1d, 36h, 30m.", valueName: "duration"))
    var advance: String?
    @Option(help: ArgumentHelp("Set the clock to an ISO 8601 time.", valueName: "iso8601")) var set: String?
    func validate() throws {
        if advance != nil && set != nil { throw ValidationError("--advance and --set cannot be used together") }
    }
    func run() throws { throw CLIError.notImplemented("platform clock") }
}

/// The disk a guest I/O command addresses: `os` or a data disk's LUN.
struct DiskOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The disk: 'os' or a data disk's LUN.", valueName: "os|lun")) var disk: String
}

struct PlatformWrite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write to a VM's disk as its guest does, through the VM's encryption.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @OptionGroup var disk: DiskOptions
    @Option(help: "Byte offset on the disk.") var offset: UInt64
    @Option(help: "Bytes of generated data to write.") var length: UInt64?
    @Option(help: "Seed of the generated data.") var seed: UInt64?
    @Option(name: .customLong("data-file"), help: ArgumentHelp("Write this file's bytes.", valueName: "file"))
    var dataFile: String?
    func validate() throws {
        if (length == nil) == (dataFile == nil) { throw ValidationError("give exactly one of --length and --data-file") }
    }
    func run() throws { throw CLIError.notImplemented("platform write") }
}

struct PlatformRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Print what the guest reads from a VM's disk.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @OptionGroup var disk: DiskOptions
    @Option(help: "Byte offset on the disk.") var offset: UInt64
    @Option(help: "Number of bytes.") var length: UInt64
    func run() throws { throw CLIError.notImplemented("platform read") }
}

struct PlatformChecksum: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checksum", abstract: "SHA-256 of what the guest reads (the plaintext view).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(help: ArgumentHelp("Only this disk: 'os' or a LUN.", valueName: "os|lun")) var disk: String?
    func run() throws { throw CLIError.notImplemented("platform checksum") }
}

struct PlatformKeyVault: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyvault", abstract: "Simulate loss of key material or out-of-band drift in a key vault.",
        subcommands: [DeleteSecret.self, DeleteKey.self, Purge.self, RemoveAccess.self])

    struct DeleteSecret: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-secret", abstract: "Delete a secret.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault.") var keyVault: String
        @Argument(help: "The secret's name.") var name: String
        func run() throws { throw CLIError.notImplemented("platform keyvault delete-secret") }
    }

    struct DeleteKey: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-key", abstract: "Delete a key.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault.") var keyVault: String
        @Argument(help: "The key's name.") var name: String
        func run() throws { throw CLIError.notImplemented("platform keyvault delete-key") }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge", abstract: "Purge a deleted secret or key for good.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault.") var keyVault: String
        @Argument(help: "The secret's or key's name.") var name: String
        func run() throws { throw CLIError.notImplemented("platform keyvault purge") }
    }

    struct RemoveAccess: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-access", abstract: "Remove a principal's access policy (out-of-band drift).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault.") var keyVault: String
        @Argument(help: "The principal: an object id or 'BackupManagementService'.") var principal: String
        func run() throws { throw CLIError.notImplemented("platform keyvault remove-access") }
    }
}

struct PlatformVM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm", abstract: "Change a VM's state.", subcommands: [SetAgent.self])

    enum AgentState: String, ExpressibleByArgument, CaseIterable { case running, stopped, absent }

    struct SetAgent: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-agent", abstract: "Set the VM agent's state.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The VM's name.") var vm: String
        @Argument(help: "running, stopped or absent.") var state: AgentState
        func run() throws { throw CLIError.notImplemented("platform vm set-agent") }
    }
}

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

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "List resources on the platform.")
    enum What: String, ExpressibleByArgument, CaseIterable {
        case vaults, policies
        case protectedVMs = "protected-vms"
        case accessPolicies = "access-policies"
        case recoveryPoints = "recovery-points"
        case jobs
    }
    @OptionGroup var global: GlobalOptions
    @Argument(help: "vaults, policies, protected-vms, access-policies, recovery-points or jobs.") var what: What
    @Option var output: OutputFormat = .text
    func run() throws { throw CLIError.notImplemented("get") }
}

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "backup", abstract: "Back up a VM now (on demand).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(name: .customLong("retain-until"), help: ArgumentHelp("Keep the recovery point until this date (default 30 days).", valueName: "date"))
    var retainUntil: String?
    @Option var output: OutputFormat = .text
    func run() throws { throw CLIError.notImplemented("backup") }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore a VM from a recovery point.")
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case restoreDisks = "restore-disks"
        case createVM = "create-vm"
        case replaceExisting = "replace-existing"
    }
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(name: .customLong("recovery-point"), help: ArgumentHelp("The recovery point's id.", valueName: "id"))
    var recoveryPoint: String
    @Option(help: "restore-disks, create-vm or replace-existing.") var mode: Mode
    @Option(name: .customLong("target-resource-group"), help: ArgumentHelp(valueName: "rg")) var targetResourceGroup: String?
    @Option(name: .customLong("target-region"), help: ArgumentHelp(valueName: "region")) var targetRegion: String?
    @Option(name: .customLong("target-name"), help: ArgumentHelp(valueName: "name")) var targetName: String?
    @Option var output: OutputFormat = .text
    func run() throws { throw CLIError.notImplemented("restore") }
}

struct RestoreKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-keys", abstract: "Put a recovery point's backed-up BEK and KEK back into the key vault.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(name: .customLong("recovery-point"), help: ArgumentHelp("The recovery point's id.", valueName: "id"))
    var recoveryPoint: String
    func run() throws { throw CLIError.notImplemented("restore-keys") }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Test-restore a recovery point to scratch and compare checksums.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(name: .customLong("recovery-point"), help: ArgumentHelp("The recovery point (default: the latest).", valueName: "id"))
    var recoveryPoint: String?
    @Option var output: OutputFormat = .text
    func run() throws { throw CLIError.notImplemented("verify") }
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
