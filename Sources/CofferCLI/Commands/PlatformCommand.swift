import ArgumentParser
import CofferModel
import CofferPlatform
import Foundation

struct PlatformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "platform",
        abstract: "Create, inspect and act on the simulated platform.",
        discussion: """
            The simulated platform is Azure Backup for Azure VMs with the real service's rules and error codes: \
            subscriptions, regions, key vaults, VMs with encrypted disks, vaults, policies, jobs and recovery \
            points. It lives in the state directory. These commands create it from a world file, show it, move \
            its clock, act as a VM's guest, and make the out-of-band changes that coffer must detect.

            Examples:
              coffer platform init --world examples/reference/world.yaml
              coffer platform show
              coffer platform clock --advance 1d
              coffer platform keyvault delete-secret kv-app-eastus SECRET-NAME
            """,
        subcommands: [
            PlatformInit.self, PlatformShow.self, PlatformClock.self, PlatformWrite.self, PlatformRead.self,
            PlatformChecksum.self, PlatformKeyVault.self, PlatformVM.self,
        ]
    )
}

struct PlatformInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the simulated platform from a world file.",
        discussion: """
            Validates the world file (every problem is printed as file:line:column; exit 65 when it is invalid), \
            then creates the platform in the state directory: its database, the HSM root key (hsm.key, mode 0600), \
            key vaults with their keys and secrets, and the VMs' disks with their initial data. Without --force \
            it refuses a state directory that already holds a platform; --force replaces the platform's own \
            files and keeps the reconciler's state. The world-file format is in docs/world-file.md.

            Examples:
              coffer platform init --world examples/reference/world.yaml
              coffer platform init --world world.yaml --state /tmp/lab --force
            """)
    @OptionGroup var global: GlobalOptions
    @Option(
        help: ArgumentHelp("The world file (YAML): the platform's starting state.", valueName: "file"),
        completion: .file(extensions: ["yaml", "yml"]))
    var world: String
    @Flag(help: "Replace an existing platform in the state directory.") var force = false

    func run() throws {
        let loaded = try PlatformCLI.call { try WorldLoader.load(path: world) }
        let directory = global.stateDirectory(environment: ProcessInfo.processInfo.environment)
        let platform = try PlatformCLI.call { try Platform.create(stateDirectory: directory, world: loaded, force: force) }
        let overview = try PlatformCLI.call { try platform.overview() }
        PlatformCLI.print(
            "Created the platform of tenant '\(overview.tenant)' in \(directory): "
                + "\(PlatformCLI.count(overview.virtualMachines.count, "VM")), "
                + "\(PlatformCLI.count(overview.keyVaults.count, "key vault")), clock at \(PlatformCLI.time(overview.clock)).")
    }
}

struct PlatformShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show everything the platform holds (never secret values).",
        discussion: """
            Prints the tenant, clock and operator, the subscriptions and regions, every VM with its disks and \
            encryption, every key vault with its keys, secrets (names only) and access policies, the vaults, \
            policies and protected VMs, and the disks restores created.

            Examples:
              coffer platform show
              coffer platform show --output json | jq '.virtualMachines[].name'
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: OutputFormat.help("the whole platform as one document.")) var output: OutputFormat = .text

    func run() throws {
        let view = output.platformView
        let platform = try PlatformCLI.open(global)
        let overview = try PlatformCLI.call { try platform.overview() }
        try view.overview(overview, platform: platform)
    }
}

struct PlatformClock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock", abstract: "Show or move simulated time; runs due backups and retention.",
        discussion: """
            Without an option, prints the simulated time. Moving the clock runs, in time order, every scheduled \
            backup, snapshot expiry, retention expiry and purge that falls due, then garbage collection of the \
            vault stores, and prints the jobs it ran. The clock only moves forward.

            Examples:
              coffer platform clock
              coffer platform clock --advance 30d
              coffer platform clock --set 2026-02-01T00:00:00Z --output json
            """)
    @OptionGroup var global: GlobalOptions
    @Option(
        help: ArgumentHelp("Move the clock forward by this long: e.g. 1d, 36h, 30m, 1d12h or 2w.", valueName: "duration"),
        completion: .list(["1h", "1d", "7d", "30d"]))
    var advance: DurationArgument?
    @Option(
        help: ArgumentHelp("Set the clock to this later time: ISO 8601 (2026-02-01T00:00:00Z) or a day (2026-02-01).",
                           valueName: "time"))
    var set: DateArgument?
    @Option(help: OutputFormat.help("the clock, or what moving it did (jobs, expiries, purges).")) var output: OutputFormat = .text

    func validate() throws {
        if advance != nil && set != nil { throw ValidationError("--advance and --set cannot be used together") }
    }

    func run() throws {
        let view = output.platformView
        let platform = try PlatformCLI.open(global)
        let report: ClockReport
        let progress = ScheduledBackupProgress()
        defer { progress.finish() }
        if let advance {
            report = try PlatformCLI.call { try platform.advanceClock(by: advance.seconds, progress: progress.update) }
        } else if let set {
            report = try PlatformCLI.call { try platform.setClock(to: set.date, progress: progress.update) }
        } else {
            return try view.clock(try PlatformCLI.call { try platform.now() })
        }
        try view.clockMoved(report)
    }
}

/// The disk a guest I/O command addresses: `os` or a data disk's LUN.
struct DiskOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The disk: 'os' or a data disk's LUN (0-63).", valueName: "os|lun"), completion: CofferCompletion.disk)
    var disk: DiskArgument
}

struct PlatformWrite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write to a VM's disk as its guest does, through the VM's encryption.",
        discussion: """
            Writes either generated data (--length, with --seed) or a file's bytes (--data-file) at --offset. \
            Generated data is the SplitMix64 stream of --seed (0 by default): the little-endian bytes of its \
            successive outputs, so a test can recompute exactly what was written. An ADE VM's data is \
            encrypted with its BEK before the storage layer encrypts it at rest. Writing a file shows a \
            progress line on standard error when it is a terminal.

            Examples:
              coffer platform write win-app-01 --disk os --offset 0 --length 1M --seed 7
              coffer platform write lnx-db-01 --disk 0 --offset 16M --data-file ./page.bin
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.", completion: CofferCompletion.vm) var vm: String
    @OptionGroup var disk: DiskOptions
    @Option(help: ArgumentHelp("Byte offset on the disk (suffixes K, M, G, T; K = 1024).", valueName: "bytes")) var offset: ByteCount
    @Option(help: ArgumentHelp("Bytes of generated data to write (suffixes K, M, G, T).", valueName: "bytes")) var length: ByteCount?
    @Option(help: ArgumentHelp("Seed of the generated data, with --length (default: 0).", valueName: "n")) var seed: UInt64?
    @Option(
        name: .customLong("data-file"), help: ArgumentHelp("Write this file's bytes instead of generated data.", valueName: "file"),
        completion: .file())
    var dataFile: String?

    /// How much of a data file one guest write takes.
    static let pieceSize = 16 << 20

    func validate() throws {
        if (length == nil) == (dataFile == nil) { throw ValidationError("give exactly one of --length and --data-file") }
        if seed != nil && dataFile != nil { throw ValidationError("--seed goes with --length, not --data-file") }
    }

    func run() throws {
        let platform = try PlatformCLI.open(global)
        let slot = disk.disk.slot
        if let dataFile {
            let unreadable = CLIError(code: "InvalidArgument", message: "cannot read '\(dataFile)'", hint: "check the path", exitCode: .failure)
            guard let file = FileHandle(forReadingAtPath: dataFile) else { throw unreadable }
            defer { try? file.close() }
            // The file is written piece by piece, so that a large one is never held in memory whole and its
            // progress can be shown.
            let size = (try? FileManager.default.attributesOfItem(atPath: dataFile)[.size] as? NSNumber)?.uint64Value ?? 0
            let bar = ProgressBar(label: "write \(vm)/\(slot)")
            defer { bar.finish() }
            var written: UInt64 = 0
            while true {
                let piece: Data
                do {
                    piece = try file.read(upToCount: Self.pieceSize) ?? Data()
                } catch {
                    throw unreadable
                }
                if piece.isEmpty { break }
                try PlatformCLI.call { try platform.writeGuest(vm: vm, disk: slot, offset: offset.value + written, bytes: [UInt8](piece)) }
                written += UInt64(piece.count)
                bar.update(done: written, total: max(size, written))
            }
            bar.finish()
            PlatformCLI.print("Wrote \(written) bytes to \(vm)/\(slot) at \(offset.value).")
        } else if let length {
            try PlatformCLI.call { try platform.writeGuest(vm: vm, disk: slot, offset: offset.value, length: length.value, seed: seed ?? 0) }
            PlatformCLI.print("Wrote \(length.value) bytes (seed \(seed ?? 0)) to \(vm)/\(slot) at \(offset.value).")
        }
    }
}

struct PlatformRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Print what the guest reads from a VM's disk.",
        discussion: """
            Writes the raw bytes the guest sees (decrypted as the guest would) to standard output; a sector \
            that was never written reads as zeros. When standard output is not a terminal and standard error \
            is, a progress line is drawn on standard error.

            Examples:
              coffer platform read win-app-01 --disk os --offset 0 --length 4K | xxd | head
              coffer platform read lnx-db-01 --disk 0 --offset 0 --length 2M > lun0.bin
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.", completion: CofferCompletion.vm) var vm: String
    @OptionGroup var disk: DiskOptions
    @Option(help: ArgumentHelp("Byte offset on the disk (suffixes K, M, G, T; K = 1024).", valueName: "bytes")) var offset: ByteCount
    @Option(help: ArgumentHelp("Number of bytes to read (suffixes K, M, G, T).", valueName: "bytes")) var length: ByteCount

    func run() throws {
        let platform = try PlatformCLI.open(global)
        let slot = disk.disk.slot
        // Progress only when the bytes go elsewhere than the terminal the bar is drawn on.
        let bar = ProgressBar(label: "read \(vm)/\(slot)", enabled: ProgressBar.standardErrorIsTerminal() && isatty(STDOUT_FILENO) == 0)
        defer { bar.finish() }
        var done: UInt64 = 0
        while done < length.value {
            let piece = Int(min(length.value - done, 4 << 20))
            let bytes = try PlatformCLI.call { try platform.readGuest(vm: vm, disk: slot, offset: offset.value + done, count: piece) }
            Console.current.writeOut(Data(bytes))
            done += UInt64(piece)
            bar.update(done: done, total: length.value)
        }
    }
}

struct PlatformChecksum: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checksum", abstract: "SHA-256 of what the guest reads (the plaintext view).",
        discussion: """
            The digest covers the whole disk as its guest sees it: SHA-256 of 'coffer-guest-view-v1', the disk's \
            size, and each 4096-byte sector that is not all zeros with its number. --restored-disk checksums a \
            disk that a restore created (an ADE disk needs its BEK back in the key vault). Prints one line per \
            disk: the digest, two spaces, VM/disk.

            Examples:
              coffer platform checksum win-app-01
              coffer platform checksum lnx-db-01 --disk 0
              coffer platform checksum --restored-disk DISK-NAME
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name (or give --restored-disk instead).", completion: CofferCompletion.vm) var vm: String?
    @Option(help: ArgumentHelp("Only this disk: 'os' or a LUN (default: every disk of the VM).", valueName: "os|lun"),
            completion: CofferCompletion.disk)
    var disk: DiskArgument?
    @Option(
        name: .customLong("restored-disk"),
        help: ArgumentHelp("A disk created by a restore, by name (see 'coffer platform show').", valueName: "name"),
        completion: CofferCompletion.restoredDisk)
    var restoredDisk: String?

    func validate() throws {
        if (vm == nil) == (restoredDisk == nil) { throw ValidationError("give a VM or --restored-disk") }
        if restoredDisk != nil && disk != nil { throw ValidationError("--disk goes with a VM, not --restored-disk") }
    }

    func run() throws {
        let platform = try PlatformCLI.open(global)
        if let restoredDisk {
            let sum = try PlatformCLI.call { try platform.restoredDiskChecksum(name: restoredDisk) }
            return PlatformCLI.print("\(sum)  \(restoredDisk)")
        }
        guard let vm else { return }
        if let disk {
            let slot = disk.slot
            let sum = try PlatformCLI.call { try platform.guestChecksum(vm: vm, disk: slot) }
            return PlatformCLI.print("\(sum)  \(vm)/\(slot)")
        }
        let sums = try PlatformCLI.call { try platform.guestChecksums(vm: vm) }
        for slot in sums.keys.sorted() { PlatformCLI.print("\(sums[slot]!)  \(vm)/\(slot)") }
    }
}

struct PlatformKeyVault: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyvault", abstract: "Simulate loss of key material or out-of-band drift in a key vault.",
        discussion: """
            Deletes, purges and recovers keys and secrets (to see backups fail and restore-keys repair them), \
            and changes access policies and role assignments outside the manifests (to see plan report drift \
            and apply repair it). Names of keys and secrets are shown by 'coffer platform show'. A key vault \
            that uses access policies takes set-access and remove-access; one that uses Azure RBAC takes \
            assign-role and remove-role.

            Examples:
              coffer platform keyvault delete-key kv-app-eastus kek-win-app-01
              coffer platform keyvault recover kv-app-eastus kek-win-app-01
              coffer platform keyvault remove-access kv-app-eastus BackupManagementService
              coffer platform keyvault remove-role kv-rbac-eastus BackupManagementService \\
                  "Key Vault Administrator"
            """,
        subcommands: [
            DeleteSecret.self, DeleteKey.self, Purge.self, Recover.self, RemoveAccess.self, SetAccess.self, AssignRole.self,
            RemoveRole.self,
        ])

    struct DeleteSecret: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-secret", abstract: "Delete a secret (soft-deleted when the key vault has soft delete).",
            discussion: """
                A soft-deleted secret can be recovered until its scheduled purge date (the key vault's retention \
                days), or purged earlier unless the key vault has purge protection. An ADE VM's BEK is a secret: \
                without it, backups fail with UserErrorKeyVaultSecretDoesNotExist.

                Examples:
                  coffer platform keyvault delete-secret kv-app-eastus SECRET-NAME
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault's name.", completion: CofferCompletion.keyVault) var keyVault: String
        @Argument(help: "The secret's name.", completion: CofferCompletion.keyVaultObject(kind: "secret", deleted: false)) var name: String

        func run() throws {
            let platform = try PlatformCLI.open(global)
            try PlatformCLI.call { try platform.deleteSecret(keyVault: keyVault, name: name) }
            PlatformCLI.print("Deleted secret \(name) from key vault \(keyVault).")
        }
    }

    struct DeleteKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-key", abstract: "Delete a key (soft-deleted when the key vault has soft delete).",
            discussion: """
                A soft-deleted key can be recovered until its scheduled purge date, or purged earlier unless the \
                key vault has purge protection. Without an ADE VM's KEK, backups fail with \
                UserErrorKeyVaultKeyDoesNotExist.

                Examples:
                  coffer platform keyvault delete-key kv-app-eastus kek-win-app-01
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault's name.", completion: CofferCompletion.keyVault) var keyVault: String
        @Argument(help: "The key's name.", completion: CofferCompletion.keyVaultObject(kind: "key", deleted: false)) var name: String

        func run() throws {
            let platform = try PlatformCLI.open(global)
            try PlatformCLI.call { try platform.deleteKey(keyVault: keyVault, name: name) }
            PlatformCLI.print("Deleted key \(name) from key vault \(keyVault).")
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge", abstract: "Purge a deleted secret or key for good.",
            discussion: """
                Only a deleted object can be purged (KeyVaultObjectNotDeleted otherwise), and not before its \
                scheduled purge date when the key vault has purge protection (KeyVaultPurgeProtectionEnabled). \
                A purged BEK or KEK comes back only from a recovery point, with 'coffer restore-keys'.

                Examples:
                  coffer platform keyvault delete-key kv-app-eastus kek-win-app-01
                  coffer platform keyvault purge kv-app-eastus kek-win-app-01
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault's name.", completion: CofferCompletion.keyVault) var keyVault: String
        @Argument(help: "The deleted secret's or key's name.", completion: CofferCompletion.keyVaultObject(kind: nil, deleted: true)) var name: String

        func run() throws {
            let platform = try PlatformCLI.open(global)
            try PlatformCLI.call { try platform.purge(keyVault: keyVault, name: name) }
            PlatformCLI.print("Purged \(name) from key vault \(keyVault).")
        }
    }

    struct Recover: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recover", abstract: "Recover a soft-deleted secret or key.",
            discussion: """
                Undoes a delete while the object is soft-deleted (before its scheduled purge date).

                Examples:
                  coffer platform keyvault recover kv-app-eastus kek-win-app-01
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault's name.", completion: CofferCompletion.keyVault) var keyVault: String
        @Argument(help: "The soft-deleted secret's or key's name.", completion: CofferCompletion.keyVaultObject(kind: nil, deleted: true)) var name: String

        func run() throws {
            let platform = try PlatformCLI.open(global)
            try PlatformCLI.call { try platform.recoverDeleted(keyVault: keyVault, name: name) }
            PlatformCLI.print("Recovered \(name) in key vault \(keyVault).")
        }
    }

    struct RemoveAccess: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-access", abstract: "Remove a principal's access policy (out-of-band drift).",
            discussion: """
                A change made outside the manifests: the next plan reports it as drift and apply restores the \
                access policy the manifests declare. Until then, backups of ADE VMs whose key vault lost the \
                Backup Management Service's access fail with UserErrorKeyVaultPermissionsNotConfigured.

                Examples:
                  coffer platform keyvault remove-access kv-app-eastus BackupManagementService
                  coffer plan manifests/
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault's name.", completion: CofferCompletion.keyVault) var keyVault: String
        @Argument(help: "The principal: an object id, or BackupManagementService.", completion: CofferCompletion.principal)
        var principal: String

        func run() throws {
            let platform = try PlatformCLI.open(global)
            let who = Platform.principal(parsing: principal)
            try PlatformCLI.call { try platform.removeAccessPolicy(keyVault: keyVault, principal: who) }
            PlatformCLI.print("Removed the access policy of \(who) from key vault \(keyVault).")
        }
    }

    struct SetAccess: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-access", abstract: "Set a principal's access policy out of band (outside the manifests).",
            discussion: """
                Replaces the principal's permissions on the key vault (creating its access policy when it has \
                none). Permissions are case-insensitive here. Permissions not given are removed, so a call \
                without any leaves the principal with an empty policy.

                Examples:
                  coffer platform keyvault set-access kv-app-eastus BackupManagementService \\
                      --key-permissions Get List Backup --secret-permissions Get List Backup
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault's name.", completion: CofferCompletion.keyVault) var keyVault: String
        @Argument(help: "The principal: an object id, or BackupManagementService.", completion: CofferCompletion.principal)
        var principal: String
        @Option(
            name: .customLong("key-permissions"), parsing: .upToNextOption,
            help: ArgumentHelp("Key permissions, e.g. Get List Backup or Get,List,Backup (default: none).", valueName: "permission"),
            completion: .list(KeyPermission.allCases.map(\.rawValue)))
        var keyPermissions: [String] = []
        @Option(
            name: .customLong("secret-permissions"), parsing: .upToNextOption,
            help: ArgumentHelp("Secret permissions, e.g. Get List Backup or Get,List,Backup (default: none).", valueName: "permission"),
            completion: .list(SecretPermission.allCases.map(\.rawValue)))
        var secretPermissions: [String] = []

        /// Each option's permissions, whether given as separate words or joined by commas (`Get,List,Backup`).
        private var keyNames: [String] { Self.split(keyPermissions) }
        private var secretNames: [String] { Self.split(secretPermissions) }

        static func split(_ values: [String]) -> [String] {
            values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        func validate() throws {
            for name in keyNames where KeyPermission.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) == nil {
                throw ValidationError("'\(name)' is not a key permission: use \(KeyPermission.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            for name in secretNames where SecretPermission.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) == nil {
                throw ValidationError("'\(name)' is not a secret permission: use \(SecretPermission.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let platform = try PlatformCLI.open(global)
            let who = Platform.principal(parsing: principal)
            let keys = keyNames.compactMap { name in KeyPermission.allCases.first { $0.rawValue.lowercased() == name.lowercased() } }
            let secrets = secretNames.compactMap { name in SecretPermission.allCases.first { $0.rawValue.lowercased() == name.lowercased() } }
            try PlatformCLI.call { try platform.setAccessPolicy(keyVault: keyVault, principal: who, keyPermissions: keys, secretPermissions: secrets) }
            PlatformCLI.print("Set the access policy of \(who) on key vault \(keyVault).")
        }
    }

    struct AssignRole: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assign-role", abstract: "Assign a role on a key vault out of band (outside the manifests).",
            discussion: """
                Assigns the role to the principal at the key vault's scope, as an administrator would in the \
                portal. The key vault must use Azure RBAC (KeyVaultUsesAccessPolicies otherwise) and the role \
                must exist (RoleDefinitionDoesNotExist): a built-in Key Vault role, or a custom role of the \
                world. Azure Backup of ADE VMs needs the Backup Management Service to have Key Vault \
                Administrator, or a custom role with the same data actions on keys and secrets.

                Examples:
                  coffer platform keyvault assign-role kv-rbac-eastus BackupManagementService \\
                      "Key Vault Administrator"
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault's name.", completion: CofferCompletion.keyVault) var keyVault: String
        @Argument(help: "The principal: an object id, or BackupManagementService.", completion: CofferCompletion.principal)
        var principal: String
        @Argument(help: "The role's name, e.g. \"Key Vault Administrator\".", completion: .list(RoleDefinition.builtInKeyVaultRoles.map(\.name)))
        var role: String

        func run() throws {
            let platform = try PlatformCLI.open(global)
            let who = Platform.principal(parsing: principal)
            let assignment = try PlatformCLI.call { try platform.assignRole(keyVault: keyVault, principal: who, role: role) }
            PlatformCLI.print("Assigned \(assignment.role) to \(who) on key vault \(keyVault) (\(assignment.name)).")
        }
    }

    struct RemoveRole: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-role", abstract: "Remove a principal's role assignment on a key vault (out-of-band drift).",
            discussion: """
                A change made outside the manifests: the next plan reports it as drift and apply assigns the \
                role the manifests declare again. Until then, backups of ADE VMs whose key vault uses Azure RBAC \
                and lost the Backup Management Service's role fail with UserErrorKeyVaultPermissionsNotConfigured.

                Examples:
                  coffer platform keyvault remove-role kv-rbac-eastus BackupManagementService \\
                      "Key Vault Administrator"
                  coffer plan manifests/
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key vault's name.", completion: CofferCompletion.keyVault) var keyVault: String
        @Argument(help: "The principal: an object id, or BackupManagementService.", completion: CofferCompletion.principal)
        var principal: String
        @Argument(help: "The role's name, e.g. \"Key Vault Administrator\".", completion: .list(RoleDefinition.builtInKeyVaultRoles.map(\.name)))
        var role: String

        func run() throws {
            let platform = try PlatformCLI.open(global)
            let who = Platform.principal(parsing: principal)
            try PlatformCLI.call { try platform.removeRoleAssignment(keyVault: keyVault, principal: who, role: role) }
            PlatformCLI.print("Removed the assignment of \(role) to \(who) from key vault \(keyVault).")
        }
    }
}

struct PlatformVM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm", abstract: "Change a VM's state.",
        discussion: """
            Examples:
              coffer platform vm set-agent win-app-01 stopped
            """,
        subcommands: [SetAgent.self])

    enum AgentState: String, ExpressibleByArgument, CaseIterable { case running, stopped, absent }

    struct SetAgent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-agent", abstract: "Set the VM agent's state.",
            discussion: """
                Backups need the VM agent running: with it stopped or absent, a backup job fails with \
                UserErrorGuestAgentStatusUnavailable.

                Examples:
                  coffer platform vm set-agent win-app-01 stopped
                  coffer backup win-app-01            # fails: the agent is stopped
                  coffer platform vm set-agent win-app-01 running
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The VM's name.", completion: CofferCompletion.vm) var vm: String
        @Argument(help: "The agent's new state.") var state: AgentState

        func run() throws {
            let platform = try PlatformCLI.open(global)
            let agent = World.AgentState(rawValue: state.rawValue)!
            try PlatformCLI.call { try platform.setAgentState(vm: vm, agent) }
            PlatformCLI.print("The VM agent of \(vm) is \(state.rawValue).")
        }
    }
}
