import ArgumentParser
import CofferARMClient
import CofferModel
import CofferPlatform
import Foundation

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a VM from a recovery point.",
        discussion: """
            restore-disks creates managed disks (page blobs for unmanaged disks); create-vm creates a new VM \
            (not for ADE-encrypted VMs); replace-existing replaces the VM's disks (unencrypted managed VMs only). \
            --target-region restores to the vault's paired region (cross-region restore), into the resource group \
            --target-resource-group of that region; an ADE VM's BEK and KEK must be in a key vault of that region \
            first ('coffer restore-keys --target-key-vault'). files reads bytes the \
            guest had at the recovery point (item-level recovery; not for ADE-encrypted VMs) to standard output. \
            The instant-restore snapshot is used while it exists, else the vault copy; a restore from the vault \
            shows a progress line per disk on standard error when it is a terminal.

            Examples:
              coffer get recovery-points --vm lnx-db-01
              coffer restore lnx-db-01 --recovery-point 4410925368201957 \\
                  --mode restore-disks
              coffer restore-keys lnx-db-01 --recovery-point 4410925368201957 \\
                  --target-key-vault kv-app-westus
              coffer restore lnx-db-01 --recovery-point 4410925368201957 \\
                  --mode restore-disks --target-region westus --target-resource-group rg-restore-westus
              coffer restore lnx-web-01 --recovery-point 1279333600592080 \\
                  --mode create-vm --target-name lnx-web-02
              coffer restore lnx-web-01 --recovery-point 1279333600592080 \\
                  --mode files --disk os --offset 0 --length 4K > sector0.bin
            """)
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case restoreDisks = "restore-disks"
        case createVM = "create-vm"
        case replaceExisting = "replace-existing"
        case files
    }
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.", completion: CofferCompletion.vm) var vm: String
    @Option(
        name: .customLong("recovery-point"), help: ArgumentHelp("The recovery point's id (see 'coffer get recovery-points'), or 'latest' for the VM's newest.", valueName: "id"),
        completion: CofferCompletion.recoveryPoint)
    var recoveryPoint: String
    @Option(help: ArgumentHelp("What to restore.", valueName: "mode")) var mode: Mode
    @Option(
        name: .customLong("target-resource-group"),
        help: ArgumentHelp(
            "Where restored disks or the new VM go (default: the VM's resource group). A cross-region restore needs one in the target region.",
            valueName: "rg"),
        completion: CofferCompletion.resourceGroup)
    var targetResourceGroup: String?
    @Option(
        name: .customLong("target-region"),
        help: ArgumentHelp("Restore in the vault's paired region (cross-region restore; default: the vault's region).", valueName: "region"),
        completion: CofferCompletion.region)
    var targetRegion: String?
    @Option(
        name: .customLong("target-subscription"),
        help: ArgumentHelp(
            "The subscription (name or id) to restore into (default: the vault's). The service refuses another one for ADE VMs, and for any VM when the vault does not allow cross-subscription restore.",
            valueName: "subscription"))
    var targetSubscription: String?
    @Option(
        name: .customLong("target-name"), help: ArgumentHelp(
            "create-vm: the new VM's name (default: VM-restored); restore-disks: the disks' name prefix (default: VM).",
            valueName: "name"))
    var targetName: String?
    @Option(help: ArgumentHelp("With --mode files: the disk, 'os' or a LUN.", valueName: "os|lun"), completion: CofferCompletion.disk)
    var disk: DiskArgument?
    @Option(help: ArgumentHelp("With --mode files: the byte offset (suffixes K, M, G, T).", valueName: "bytes")) var offset: ByteCount?
    @Option(help: ArgumentHelp("With --mode files: the number of bytes (suffixes K, M, G, T).", valueName: "bytes")) var length: ByteCount?
    @Option(help: OutputFormat.help("the job, the region and tier it restored from, and the disks or VM it created."))
    var output: OutputFormat = .text
    @OptionGroup var remote: EndpointOptions

    func validate() throws {
        if mode == .files {
            guard disk != nil, offset != nil, length != nil else {
                throw ValidationError("--mode files needs --disk, --offset and --length")
            }
        } else if disk != nil || offset != nil || length != nil {
            throw ValidationError("--disk, --offset and --length go with --mode files")
        }
    }

    func run() async throws {
        let view = output.jobView
        if let result = try await remote.withClient({ client -> RestoreResult? in
            guard let client else { return nil }
            return try await restoreRemotely(client)
        }) {
            guard result.job.status == .completed else { throw RemoteListing.failure(result.job) }
            let restoreMode: RestoreMode = mode == .createVM ? .createVM : mode == .replaceExisting ? .replaceExisting : .restoreDisks
            return try view.restored(result, vm: vm, recoveryPoint: recoveryPoint, mode: restoreMode)
        }
        let platform = try PlatformCLI.open(global)
        if mode == .files, let disk, let offset, let length {
            let slot = disk.slot
            let bytes = try PlatformCLI.call {
                try platform.recoverItems(vm: vm, recoveryPoint: recoveryPoint, disk: slot, offset: offset.value, count: Int(length.value))
            }
            Console.current.writeOut(Data(bytes))
            return
        }
        let restoreMode: RestoreMode = switch mode {
        case .createVM: .createVM
        case .replaceExisting: .replaceExisting
        default: .restoreDisks
        }
        let target = RestoreTarget(resourceGroup: targetResourceGroup, region: targetRegion, name: targetName, subscription: targetSubscription)
        let bar = ProgressBar(label: "restore \(vm)", part: "disk")
        defer { bar.finish() }
        let result = try PlatformCLI.call {
            try platform.restore(vm: vm, recoveryPoint: recoveryPoint, mode: restoreMode, target: target) { bar.update(done: $0, total: $1) }
        }
        bar.finish()
        try view.restored(result, vm: vm, recoveryPoint: recoveryPoint, mode: restoreMode)
    }

    /// The restore through an ARM endpoint: the service's restore request, the job followed to its end, and
    /// the restored disks read back.
    func restoreRemotely(_ client: ARMClientProvider) async throws -> RestoreResult {
        func unsupported(_ what: String, _ why: String) -> CLIError {
            CLIError(code: "usage", message: "\(what) is not available over --endpoint: \(why)", hint: "run it against the embedded platform",
                     exitCode: .usage)
        }
        if mode == .files {
            throw unsupported("--mode files", "ARM's item-level recovery mounts the point over iSCSI, which coffer does not speak")
        }
        if targetRegion != nil {
            throw unsupported("--target-region", "a cross-region restore goes through the secondary region's API, which coffer's client does not call yet")
        }
        if mode == .restoreDisks, targetName != nil {
            throw unsupported("--target-name with restore-disks", "ARM's restore request does not name the disks it creates")
        }
        let type: RemoteRestoreType = switch mode {
        case .createVM: .alternateLocation
        case .replaceExisting: .originalLocation
        default: .restoreDisks
        }
        let (remoteJob, point, vaultRegion) = try await client.restore(
            vm: vm, recoveryPoint: recoveryPoint, type: type, targetResourceGroup: targetResourceGroup, targetSubscription: targetSubscription,
            targetName: targetName)
        let job = RemoteListing.job(remoteJob)
        var disks: [RestoredDiskInfo] = []
        if mode == .restoreDisks {
            let group = remoteJob.targetResourceGroup ?? targetResourceGroup ?? ""
            for (slot, name) in remoteJob.restoredDisks {
                let found = try await client.disk(named: name, resourceGroup: group, subscription: targetSubscription)
                disks.append(
                    RestoredDiskInfo(
                        name: name, id: found?.id ?? "", resourceGroup: group, region: found?.region ?? remoteJob.targetRegion ?? vaultRegion,
                        kind: point.managed ? "ManagedDisk" : "PageBlob", sizeGiB: found?.sizeGiB ?? 0, sourceVM: vm,
                        disk: DiskSlot(parsing: slot) ?? .os, recoveryPoint: point.id, jobID: job.id, bekSecretURL: point.bekSecretURL,
                        kekURL: point.kekURL))
            }
        }
        return RestoreResult(
            job: job, source: point.tier.hasPrefix("Snapshot") ? "Snapshot" : "Vault", region: remoteJob.targetRegion ?? vaultRegion, disks: disks,
            vm: mode == .createVM ? (targetName ?? "\(vm)-restored") : mode == .replaceExisting ? vm : nil)
    }
}

struct RestoreKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-keys", abstract: "Put a recovery point's backed-up BEK and KEK back into the key vault.",
        discussion: """
            Recovers the secret and key when they are soft-deleted, restores them from the recovery point's sealed \
            Key Vault backups (same names and versions) when they were purged, and leaves them when present. \
            Run it before using the disks that a restore of an ADE VM created. --target-key-vault restores them \
            into another key vault of the VM's subscription and geography, enabled for disk encryption: a \
            cross-region restore needs them in a key vault of the target region.

            Examples:
              coffer restore-keys win-app-01 --recovery-point 0103164590867673
              coffer restore-keys win-app-01 --recovery-point 0103164590867673 --output json
              coffer restore-keys win-app-01 --recovery-point 0103164590867673 --target-key-vault kv-app-westus
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The VM's name.", completion: CofferCompletion.vm) var vm: String
    @Option(
        name: .customLong("recovery-point"), help: ArgumentHelp("The recovery point's id (see 'coffer get recovery-points'), or 'latest' for the VM's newest.", valueName: "id"),
        completion: CofferCompletion.recoveryPoint)
    var recoveryPoint: String
    @Option(
        name: .customLong("target-key-vault"),
        help: ArgumentHelp("Restore them into this key vault (default: the one they were backed up from).", valueName: "name"),
        completion: CofferCompletion.keyVault)
    var targetKeyVault: String?
    @Option(help: OutputFormat.help("one entry per secret or key and what was done with it.")) var output: OutputFormat = .text
    @OptionGroup var remote: EndpointOptions

    func run() async throws {
        let view = output.jobView
        if let actions = try await remote.withClient({ client -> [KeyRestoreAction]? in
            guard let client else { return nil }
            let answer = try await client.recoveryPointAction(
                "restoreKeys", vm: vm, recoveryPoint: recoveryPoint, body: targetKeyVault.map { ["targetKeyVault": $0] } ?? [:])
            return try RemoteListing.decode(RemoteListing.Actions.self, answer.json, what: "restore-keys").value
        }) {
            return try view.restoredKeys(actions)
        }
        let platform = try PlatformCLI.open(global)
        let actions = try PlatformCLI.call { try platform.restoreKeys(vm: vm, recoveryPoint: recoveryPoint, targetKeyVault: targetKeyVault) }
        try view.restoredKeys(actions)
    }
}
