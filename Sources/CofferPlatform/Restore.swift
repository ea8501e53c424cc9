import CofferCrypto
import CofferModel
import CofferRules
import CofferSnapshot
import Foundation
import GRDB

/// How to restore a recovery point.
public enum RestoreMode: String, Codable, Sendable, Hashable, CaseIterable {
    /// Restore the disks as new managed disks (or page blobs for unmanaged disks).
    case restoreDisks = "restore-disks"
    /// Create a new VM from the recovery point (not for ADE VMs).
    case createVM = "create-vm"
    /// Replace the disks of the existing VM (unencrypted managed VMs only).
    case replaceExisting = "replace-existing"
}

/// Where a restore puts what it creates.
public struct RestoreTarget: Sendable, Hashable {
    public var resourceGroup: String?
    public var region: String?
    public var name: String?
    /// The target subscription; nil for the vault's (cross-subscription restore is refused).
    public var subscription: String?

    /// A target; nil fields default to the VM's resource group, the vault's region and generated names.
    public init(resourceGroup: String? = nil, region: String? = nil, name: String? = nil, subscription: String? = nil) {
        self.resourceGroup = resourceGroup
        self.region = region
        self.name = name
        self.subscription = subscription
    }
}

/// What a restore made.
public struct RestoreResult: Codable, Sendable, Hashable {
    public var job: JobInfo
    /// `Snapshot` (instant restore) or `Vault`.
    public var source: String
    public var region: String
    /// The disks a restore-disks job created.
    public var disks: [RestoredDiskInfo]
    /// The VM a create-vm or replace-existing job made or changed.
    public var vm: String?

    public init(
        job: JobInfo, source: String, region: String, disks: [RestoredDiskInfo], vm: String? = nil
    ) {
        self.job = job
        self.source = source
        self.region = region
        self.disks = disks
        self.vm = vm
    }
}

/// What `restore-keys` did with each backed-up key-vault object.
public struct KeyRestoreAction: Codable, Sendable, Hashable {
    /// `secret` or `key`.
    public var kind: String
    public var keyVault: String
    public var name: String
    /// `present` (already there), `recovered` (a soft-deleted object was recovered) or `restored` (put back from
    /// the recovery point's backup).
    public var action: String
}

/// The outcome of a test restore.
public struct VerifyResult: Codable, Sendable, Hashable {
    /// The comparison for one disk.
    public struct Disk: Codable, Sendable, Hashable {
        public var disk: DiskSlot
        /// The checksum recorded at snapshot time.
        public var expected: String
        /// The checksum of the test restore.
        public var actual: String
        public var matches: Bool
    }

    public var vm: String
    public var recoveryPoint: String
    /// `Vault` or `Snapshot`: the tier that was restored.
    public var source: String
    public var disks: [Disk]
    public var chunksChecked: Int
    public var problems: [String]
    /// Whether every disk matched and the vault copy had no problem.
    public var ok: Bool { problems.isEmpty && disks.allSatisfy(\.matches) }
}

extension Platform {
    // MARK: Restore

    /// Restores a recovery point of a VM: its disks, a new VM, or the VM's own disks, in the vault's region
    /// or (cross-region restore) its paired region, refusing what the service refuses.
    @discardableResult
    public func restore(
        vm name: String, recoveryPoint id: String, mode: RestoreMode, target: RestoreTarget = RestoreTarget(),
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> RestoreResult {
        let (vm, point, vault) = try pool.read { db -> (VMRow, RecoveryPointRow, VaultRow) in
            let vm = try Self.vm(db, name)
            let point = try Self.recoveryPoint(db, vm: vm.name, id: id)
            return (vm, point, try Self.vault(db, point.vault))
        }
        let plan = try planRestore(vm: vm, point: point, vault: vault, mode: mode, target: target)
        guard let lock = try tryLock("vm-\(vm.name.lowercased())") else {
            throw PlatformError(PlatformErrorCode.backupOperationInProgress, "another backup or restore of VM '\(vm.name)' is in progress",
                                hint: "wait for it to finish, then retry", retryable: true)
        }
        defer { withExtendedLifetime(lock) {} }
        try recoverInterruptedJobs(vm: vm.name)

        let now = try now()
        let job = try pool.write { db -> JobRow in
            var details = ["mode": mode.rawValue, "region": plan.region, "resourceGroup": plan.resourceGroup,
                           "pid": String(getpid())]
            for (index, output) in plan.outputs.enumerated() { details["output.\(index)"] = output.path }
            let job = JobRow(id: Self.guid(), operation: "Restore", vm: vm.name, vault: vault.name, status: .inProgress, start: now,
                             end: nil, bytesTransferred: 0, errorCode: nil, errorMessage: nil, recoveryPoint: point.id,
                             details: details, sequence: try Self.nextSequence(db))
            try job.insert(db)
            return job
        }
        try fault("restore.job-recorded")
        do {
            return try performRestore(job: job, vm: vm, point: point, vault: vault, mode: mode, plan: plan, now: now, progress: progress)
        } catch let crash as SimulatedCrash {
            throw crash
        } catch {
            for output in plan.outputs where FileManager.default.fileExists(atPath: absolute(output.path)) {
                try? FileManager.default.removeItem(atPath: absolute(output.path))
            }
            let failure = Self.integrityFailure(error, vm: vm.name, recoveryPoint: point.id, vault: vault.name)
                ?? error as? PlatformError
                ?? PlatformError(PlatformErrorCode.backupOperationFailed, "the restore failed: \(error)", hint: "retry in a few minutes",
                                 underlying: error)
            throw try failJob(job.id, with: failure, at: now)
        }
    }

    /// The error for a restore whose vault data failed authentication or a consistency check (a changed or
    /// damaged pack, index or recovery point), or nil for any other failure. Retrying cannot help, so it is
    /// not retryable and says so; the vault store's error is kept as the cause.
    static func integrityFailure(_ error: any Error, vm: String, recoveryPoint: String, vault: String) -> PlatformError? {
        guard isVaultDataDamaged(error) else { return nil }
        return PlatformError(
            PlatformErrorCode.recoveryPointIntegrityCheckFailed,
            "the data of recovery point \(recoveryPoint) of VM '\(vm)' in vault '\(vault)' failed authentication: "
                + "it was changed or damaged (\(error))",
            hint: "restore another recovery point; 'coffer verify VM --recovery-point ID' checks one without restoring it",
            underlying: error)
    }

    /// Whether an error from the vault store (or a cause of it) says that the store's data failed
    /// authentication or a consistency check: the store's `corrupted`, or an AES-GCM box that did not open.
    /// A backup asks it only of errors thrown by vault store calls, so that a damaged disk of the VM is never
    /// taken for a damaged vault.
    static func isVaultDataDamaged(_ error: any Error) -> Bool {
        let chain = [error] + ((error as? any CofferError)?.causes ?? [])
        return chain.contains { cause in
            if let snapshot = cause as? SnapshotError { return snapshot.code == .corrupted }
            if let crypto = cause as? CryptoError { return crypto.code == .authenticationFailed }
            return false
        }
    }

    struct RestoreOutput {
        var disk: RecoveryPointDisk
        /// The new device's directory, relative to the state directory.
        var path: String
        var name: String
    }

    struct RestorePlan {
        var region: String
        var subscription: String
        var resourceGroup: String
        /// Restore from the instant-restore snapshot rather than the vault.
        var fromSnapshot: Bool
        var newVMName: String?
        var outputs: [RestoreOutput]
        /// A cross-region restore of an ADE point: the key vault of the target region that holds its BEK (and
        /// KEK), which the restored disks then refer to.
        var keyVault: String?
    }

    /// The VM's recovery point with this id; `latest` names its newest one.
    static func recoveryPoint(_ db: Database, vm: String, id: String) throws -> RecoveryPointRow {
        if id == "latest" {
            guard let point = try RecoveryPointRow.fetchOne(
                db, sql: "SELECT * FROM recoveryPoint WHERE lower(vm) = lower(?) ORDER BY sequence DESC LIMIT 1", arguments: [vm])
            else {
                throw PlatformError(PlatformErrorCode.recoveryPointNotFound, "VM '\(vm)' has no recovery point yet",
                                    hint: "back it up first: 'coffer backup \(vm)'")
            }
            return point
        }
        guard let point = try RecoveryPointRow.fetchOne(db, key: id), point.vm.lowercased() == vm.lowercased() else {
            throw PlatformError(PlatformErrorCode.recoveryPointNotFound, "VM '\(vm)' has no recovery point '\(id)'",
                                hint: "list them with 'coffer get recovery-points'")
        }
        return point
    }

    /// Checks a restore against the service's rules and decides what it creates.
    func planRestore(vm: VMRow, point: RecoveryPointRow, vault: VaultRow, mode: RestoreMode, target: RestoreTarget) throws -> RestorePlan {
        try pool.read { db in
            let isADE = point.encryption != nil || vm.encryption.type == "ade"
            if isADE && mode != .restoreDisks {
                throw PlatformError(PlatformErrorCode.restoreModeNotSupportedForEncryptedVM,
                                    mode == .createVM
                                        ? "creating a VM from a recovery point is not supported for ADE-encrypted VM '\(vm.name)'"
                                        : "replacing the disks of ADE-encrypted VM '\(vm.name)' is not supported (only unencrypted managed VMs)",
                                    hint: "restore the disks (--mode restore-disks), then create a VM from them with the original key vault")
            }
            let subscription = try Self.subscription(db, target.subscription ?? vault.subscription).name
            if subscription != vault.subscription {
                throw PlatformError(PlatformErrorCode.crossSubscriptionRestoreNotSupported,
                                    isADE ? "ADE-encrypted VMs are restored within the same subscription only"
                                        : "cross-subscription restore is not enabled on vault '\(vault.name)'",
                                    hint: "restore into subscription '\(vault.subscription)'")
            }
            let region = (target.region ?? vault.region).lowercased()
            let crossRegion = region != vault.region
            if crossRegion {
                guard Regions.region(named: region) != nil else {
                    throw PlatformError(PlatformErrorCode.invalidArgument, "'\(region)' is not an Azure region")
                }
                guard let pair = Regions.pair(of: vault.region), pair.name == region else {
                    let pairName = Regions.pair(of: vault.region)?.name
                    throw PlatformError(PlatformErrorCode.crossRegionRestoreNotSupported,
                                        pairName == nil
                                            ? "region '\(vault.region)' has no paired region: cross-region restore is not possible"
                                            : "cross-region restore goes to the paired region of '\(vault.region)' only ('\(pairName!)'), not '\(region)'",
                                        hint: pairName.map { "use --target-region \($0)" })
                }
                guard vault.spec.storageRedundancy == .geoRedundant, vault.spec.crossRegionRestore else {
                    throw PlatformError(PlatformErrorCode.crossRegionRestoreNotSupported,
                                        "vault '\(vault.name)' does not have cross-region restore (it needs GeoRedundant storage with cross-region restore on)",
                                        hint: "enable crossRegionRestore on the vault")
                }
                if isADE, Regions.region(named: vault.region)?.geography != pair.geography {
                    throw PlatformError(PlatformErrorCode.crossRegionRestoreNotSupported,
                                        "the pair of '\(vault.region)' ('\(region)') is in another geography: ADE-encrypted VMs cannot be restored there",
                                        hint: "restore in '\(vault.region)'")
                }
                if mode == .replaceExisting {
                    throw PlatformError(PlatformErrorCode.replaceExistingNotSupported,
                                        "a cross-region restore creates a VM or restores disks; it cannot replace existing disks")
                }
                guard point.vaultPoint != nil else {
                    throw PlatformError(PlatformErrorCode.crossRegionRestoreNotSupported,
                                        "recovery point '\(point.id)' is in the snapshot tier only; only vault-tier points are replicated to '\(region)'",
                                        hint: "choose a recovery point whose tier includes the vault")
                }
            }
            let disks = try Self.disks(db, vm: vm.name)
            if mode == .replaceExisting {
                if disks.contains(where: { !$0.managed }) {
                    throw PlatformError(PlatformErrorCode.replaceExistingNotSupported,
                                        "replace existing is supported for managed disks only; VM '\(vm.name)' has unmanaged disks",
                                        hint: "restore the disks instead")
                }
                if target.resourceGroup != nil || target.name != nil {
                    throw PlatformError(PlatformErrorCode.invalidArgument, "replace existing restores in place: give no target resource group or name")
                }
            }
            if crossRegion && target.resourceGroup == nil {
                throw PlatformError(PlatformErrorCode.invalidInput,
                                    "a cross-region restore to '\(region)' needs a target resource group in '\(region)'",
                                    hint: "give --target-resource-group (targetResourceGroupId over ARM), a resource group of \(region)")
            }
            let group = target.resourceGroup ?? vm.resourceGroup
            guard let groupRow = try ResourceGroupRow.fetchOne(
                db, sql: "SELECT * FROM resourceGroup WHERE subscription = ? AND lower(name) = lower(?)", arguments: [subscription, group])
            else {
                throw PlatformError(PlatformErrorCode.resourceNotFound, "resource group '\(group)' does not exist in subscription '\(subscription)'",
                                    hint: "give an existing --target-resource-group")
            }
            if crossRegion && groupRow.region.lowercased() != region {
                throw PlatformError(PlatformErrorCode.invalidInput,
                                    "resource group '\(groupRow.name)' is in '\(groupRow.region)': a cross-region restore puts its disks in a resource group of '\(region)'",
                                    hint: "give --target-resource-group (targetResourceGroupId over ARM), a resource group of \(region)")
            }
            var keyVault: String?
            if crossRegion, let encryption = point.encryption {
                keyVault = try Self.keyVaultHoldingKeys(db, encryption, vm: vm.name, point: point.id, subscription: subscription, region: region)
            }
            let fromSnapshot = point.snapshotPresent && !crossRegion
            if !fromSnapshot && point.vaultPoint == nil {
                throw PlatformError(PlatformErrorCode.instantRPNotFound, "the snapshot of recovery point '\(point.id)' is gone and it has no vault tier")
            }
            let suffix = String(point.id.suffix(6))
            var outputs: [RestoreOutput] = []
            var newVMName: String?
            switch mode {
            case .restoreDisks:
                for disk in point.disks {
                    var name = "\(target.name ?? vm.name)-\(disk.storeName)-\(suffix)"
                    var attempt = 1
                    while try RestoredDiskRow.fetchOne(db, key: name) != nil {
                        attempt += 1
                        name = "\(target.name ?? vm.name)-\(disk.storeName)-\(suffix)-\(attempt)"
                    }
                    outputs.append(RestoreOutput(disk: disk, path: "restored/\(groupRow.name)/\(name)", name: name))
                }
            case .createVM:
                let newName = target.name ?? "\(vm.name)-restored"
                if let problem = Naming.vmNameProblem(newName, windows: vm.os == "windows") {
                    throw PlatformError(PlatformErrorCode.invalidResourceName, "invalid VM name '\(newName)': \(problem)")
                }
                if try VMRow.fetchOne(db, sql: "SELECT * FROM virtualMachine WHERE lower(name) = lower(?)", arguments: [newName]) != nil {
                    throw PlatformError(PlatformErrorCode.resourceAlreadyExists, "a VM named '\(newName)' already exists",
                                        hint: "give another --target-name")
                }
                newVMName = newName
                for disk in point.disks {
                    outputs.append(RestoreOutput(disk: disk, path: "disks/\(newName)/\(disk.storeName)", name: disk.storeName))
                }
            case .replaceExisting:
                let sequence = (try PlatformStore.meta(db, "sequence").flatMap { Int($0) } ?? 0) + 1
                for disk in point.disks {
                    outputs.append(RestoreOutput(disk: disk, path: "disks/\(vm.name)/\(disk.storeName)-r\(sequence)", name: disk.storeName))
                }
            }
            return RestorePlan(region: region, subscription: subscription, resourceGroup: groupRow.name, fromSnapshot: fromSnapshot,
                               newVMName: newVMName, outputs: outputs, keyVault: keyVault)
        }
    }

    func performRestore(
        job: JobRow, vm: VMRow, point: RecoveryPointRow, vault: VaultRow, mode: RestoreMode, plan: RestorePlan, now: Date,
        progress: ((UInt64, UInt64) -> Void)?
    ) throws -> RestoreResult {
        let store: VaultStore? = plan.fromSnapshot ? nil
            : try openStore(vault, masterKey: try pool.read { db in try Self.vaultMasterKey(db, vault, hsm: hsm) })
        let set: DiskEncryptionSetRow? = mode == .replaceExisting
            ? try pool.read { db in try vm.encryption.diskEncryptionSet.flatMap { try DiskEncryptionSetRow.fetchOne(db, key: $0) } }
            : nil
        var wrappedKeys: [(String, Data)] = []
        var bytes: Int64 = 0
        for output in plan.outputs {
            let key = try Disks.randomXTSKey()
            let wrapped = try pool.read { db in
                try Disks.wrapKey(key, path: output.path, diskEncryptionSet: set, db: db, hsm: hsm)
            }
            wrappedKeys.append(wrapped)
            let absolutePath = absolute(output.path)
            try FileManager.default.createDirectory(atPath: (absolutePath as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            let device: BlockDevice
            if let store, let vaultPoint = point.vaultPoint {
                device = try store.restore(RecoveryPointID(vaultPoint), disk: output.disk.storeName, to: absolutePath, atRestKey: key,
                                           progress: progress)
            } else {
                device = try copySnapshot(output.disk, to: absolutePath, atRestKey: key)
            }
            bytes += Int64(try device.allocatedBytes())
            try fault("restore.disk.\(output.disk.slot)")
        }
        let source = plan.fromSnapshot ? "Snapshot" : "Vault"
        let result = try pool.write { db -> RestoreResult in
            var restored: [RestoredDiskInfo] = []
            switch mode {
            case .restoreDisks:
                for (index, output) in plan.outputs.enumerated() {
                    let row = RestoredDiskRow(
                        name: output.name, subscription: plan.subscription, resourceGroup: plan.resourceGroup, region: plan.region,
                        kind: output.disk.managed ? "ManagedDisk" : "PageBlob", path: output.path, sizeGiB: output.disk.sizeGiB,
                        wrappedKey: wrappedKeys[index].1, sourceVM: vm.name, lun: output.disk.lun, recoveryPoint: point.id,
                        jobID: job.id, encryption: point.encryption.map { Self.encryption($0, in: plan.keyVault) }, created: now)
                    try row.insert(db)
                    restored.append(try Self.restoredDiskInfo(db, row))
                }
            case .createVM:
                let newName = plan.newVMName!
                try VMRow(name: newName, subscription: plan.subscription, resourceGroup: plan.resourceGroup, region: plan.region,
                          os: vm.os, agent: World.AgentState.running.rawValue, encryption: VMEncryptionRecord(type: "sse-pmk"),
                          created: now, restoredFrom: point.id, securityType: vm.securityType).insert(db)
                for (index, output) in plan.outputs.enumerated() {
                    try DiskRow(vm: newName, lun: output.disk.lun,
                                name: output.disk.lun < 0 ? "\(newName)_OsDisk_1" : "\(newName)_DataDisk_\(output.disk.lun)",
                                sizeGiB: output.disk.sizeGiB, managed: output.disk.managed, path: output.path,
                                keyWrapping: wrappedKeys[index].0, wrappedKey: wrappedKeys[index].1, diskEncryptionSet: nil).insert(db)
                }
            case .replaceExisting:
                for (index, output) in plan.outputs.enumerated() {
                    try db.execute(sql: "UPDATE disk SET path = ?, keyWrapping = ?, wrappedKey = ? WHERE vm = ? AND lun = ?",
                                   arguments: [output.path, wrappedKeys[index].0, wrappedKeys[index].1, vm.name, output.disk.lun])
                }
            }
            try db.execute(sql: "UPDATE job SET status = ?, \"end\" = ?, bytesTransferred = ? WHERE id = ?",
                           arguments: [JobStatus.completed.rawValue, now, bytes, job.id])
            return RestoreResult(job: Self.jobInfo(try JobRow.fetchOne(db, key: job.id)!), source: source, region: plan.region,
                                 disks: restored, vm: mode == .restoreDisks ? nil : (plan.newVMName ?? vm.name))
        }
        try fault("restore.completed")
        return result
    }

    /// Copies the blocks of a recovery point's snapshot to a new device: an instant restore.
    func copySnapshot(_ disk: RecoveryPointDisk, to path: String, atRestKey: SecureBytes) throws -> BlockDevice {
        guard let row = try pool.read({ db in try DiskRow.fetchOne(db, sql: "SELECT * FROM disk WHERE path = ?", arguments: [disk.devicePath]) })
        else {
            throw PlatformError(PlatformErrorCode.instantRPNotFound, "the disk that held the snapshot of \(disk.name) is gone")
        }
        let source = try openDevice(row)
        let snapshot = SnapshotID(disk.snapshot)
        guard try source.snapshots().contains(snapshot) else {
            throw PlatformError(PlatformErrorCode.instantRPNotFound, "the snapshot of disk \(disk.name) was deleted",
                                hint: "restore from a vault-tier recovery point")
        }
        let device = try BlockDevice.create(at: path, size: source.size, blockSize: source.blockSize, atRestKey: atRestKey)
        let blockSize = UInt64(source.blockSize)
        for block in try source.changedBlocks(from: nil, to: snapshot) {
            let data = try source.read(snapshot: snapshot, at: block * blockSize, count: source.blockSize)
            try device.write(data, at: block * blockSize)
        }
        try device.flush()
        return device
    }

    /// The key vault of `region` (in `subscription`) that holds the BEK secret (and KEK) of an ADE recovery
    /// point, with the versions the point backed up: a cross-region restore of the point is refused without
    /// one, at restore time, instead of leaving disks that cannot be unlocked. The codes are the reference's
    /// for an encrypted VM's restore whose secret (`DiskEncryptionInternalError`) or key
    /// (`UserErrorKeyVaultKeyDoesNotExist`) is missing.
    static func keyVaultHoldingKeys(
        _ db: Database, _ encryption: RecoveryPointEncryption, vm: String, point: String, subscription: String, region: String
    ) throws -> String {
        let candidates = try KeyVaultRow.fetchAll(
            db, sql: "SELECT * FROM keyVault WHERE subscription = ? AND lower(region) = lower(?) ORDER BY name", arguments: [subscription, region])
        var secretOnly: String?
        for keyVault in candidates {
            guard let secret = try KeyVaultStore.activeSecret(db, keyVault: keyVault.name, name: encryption.secretName),
                secret.version == encryption.secretVersion
            else { continue }
            guard let kek = encryption.kekName else { return keyVault.name }
            if let key = try KeyVaultStore.activeKey(db, keyVault: keyVault.name, name: kek), key.version == encryption.kekVersion {
                return keyVault.name
            }
            secretOnly = secretOnly ?? keyVault.name
        }
        let hint = "put them in a key vault of \(region) first: 'coffer restore-keys \(vm) --recovery-point \(point) --target-key-vault KV'"
        if let secretOnly, let kek = encryption.kekName {
            throw PlatformError(PlatformErrorCode.keyVaultKeyDoesNotExist,
                                "key vault '\(secretOnly)' in \(region) holds the BEK of recovery point \(point) but not its KEK '\(kek)' (version \(encryption.kekVersion ?? "?"))",
                                hint: hint)
        }
        throw PlatformError(PlatformErrorCode.diskEncryptionInternalError,
                            "no key vault in \(region) holds the BEK\(encryption.kekName == nil ? "" : " and KEK") of recovery point \(point) of ADE VM '\(vm)': "
                                + "a cross-region restore needs them in the target region, else the restored disks cannot be unlocked",
                            hint: hint)
    }

    /// A point's encryption as its restored disks refer to it: in `keyVault` when the keys were restored there.
    static func encryption(_ encryption: RecoveryPointEncryption, in keyVault: String?) -> RecoveryPointEncryption {
        guard let keyVault, keyVault.lowercased() != encryption.keyVault.lowercased() else { return encryption }
        var moved = encryption
        moved.keyVault = keyVault
        moved.secretURL = secretURL(keyVault: keyVault, name: encryption.secretName, version: encryption.secretVersion)
        if let kek = encryption.kekName, let version = encryption.kekVersion {
            moved.kekURL = keyURL(keyVault: keyVault, name: kek, version: version)
        }
        return moved
    }

    // MARK: Restored disks

    /// Every disk restores created.
    public func restoredDisks() throws -> [RestoredDiskInfo] {
        try pool.read { db in
            try RestoredDiskRow.fetchAll(db, sql: "SELECT * FROM restoredDisk ORDER BY created, name").map { try Self.restoredDiskInfo(db, $0) }
        }
    }

    static func restoredDiskInfo(_ db: Database, _ row: RestoredDiskRow) throws -> RestoredDiskInfo {
        let subscription = try SubscriptionRow.fetchOne(db, key: row.subscription)
        let provider = row.kind == "ManagedDisk" ? "Microsoft.Compute/disks" : "Microsoft.Storage/storageAccounts/blobs"
        return RestoredDiskInfo(
            name: row.name, id: resourceGroupID(subscriptionID: subscription?.id ?? "", resourceGroup: row.resourceGroup)
                + "/providers/\(provider)/\(row.name)",
            resourceGroup: row.resourceGroup, region: row.region, kind: row.kind, sizeGiB: row.sizeGiB, sourceVM: row.sourceVM,
            disk: DiskSlot(storedValue: row.lun), recoveryPoint: row.recoveryPoint, jobID: row.jobID,
            bekSecretURL: row.encryption?.secretURL, kekURL: row.encryption?.kekURL)
    }

    /// Opens a restored disk as a guest would see it: an ADE disk needs its BEK secret (and KEK) back in the
    /// key vault, else it cannot be unlocked (`DiskEncryptionInternalError`).
    func restoredVolume(name: String) throws -> (GuestVolume, BlockDevice) {
        let (row, bek) = try pool.read { db -> (RestoredDiskRow, SecureBytes?) in
            guard let row = try RestoredDiskRow.fetchOne(db, sql: "SELECT * FROM restoredDisk WHERE lower(name) = lower(?)", arguments: [name]) else {
                throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no restored disk '\(name)'",
                                    hint: "list restored disks with 'coffer platform show'")
            }
            return (row, try row.encryption.map { try bekFromKeyVault(db, $0) })
        }
        let key = try hsm.open(row.wrappedKey, purpose: "disks", context: Disks.keyContext(path: row.path))
        let device = try BlockDevice.open(at: absolute(row.path), atRestKey: key)
        return (GuestVolume(device: device, cipher: try Self.xts(bek)), device)
    }

    /// An ADE disk's BEK as the guest would unlock it: the secret from the key vault, unwrapped with the KEK
    /// when it is a wrapped BEK.
    func bekFromKeyVault(_ db: Database, _ encryption: RecoveryPointEncryption) throws -> SecureBytes {
        guard let secret = try KeyVaultStore.activeSecret(db, keyVault: encryption.keyVault, name: encryption.secretName),
            secret.version == encryption.secretVersion
        else {
            throw PlatformError(PlatformErrorCode.diskEncryptionInternalError,
                                "the BEK secret \(encryption.secretURL) is not in key vault '\(encryption.keyVault)': the disk cannot be unlocked",
                                hint: "put the key and secret back first: 'coffer restore-keys VM --recovery-point ID'")
        }
        let value = try KeyVaultStore.secretValue(secret, hsm: hsm)
        var kek: RSAPrivateKey?
        if let kekName = encryption.kekName {
            guard let key = try KeyVaultStore.activeKey(db, keyVault: encryption.keyVault, name: kekName),
                key.version == encryption.kekVersion
            else {
                throw PlatformError(PlatformErrorCode.keyVaultKeyDoesNotExist,
                                    "the KEK \(encryption.kekURL ?? kekName) is not in key vault '\(encryption.keyVault)': the BEK cannot be unwrapped",
                                    hint: "put the key back first: 'coffer restore-keys VM --recovery-point ID'")
            }
            kek = try KeyVaultStore.privateKey(key, hsm: hsm)
        }
        return try Self.bek(fromSecretValue: value, contentType: secret.contentType, kek: kek)
    }

    /// Decodes a BEK secret's value: base64 of the BEK, or of its RSA-OAEP (SHA-1) wrapping under the KEK.
    static func bek(fromSecretValue value: SecureBytes, contentType: String?, kek: RSAPrivateKey?) throws -> SecureBytes {
        guard var decoded = Data(base64Encoded: Data(value.bytes)).map({ [UInt8]($0) }) else {
            throw PlatformError(PlatformErrorCode.diskEncryptionInternalError, "the BEK secret's value is not base64")
        }
        defer { wipe(&decoded) }
        if contentType == "Wrapped BEK" {
            guard let kek else {
                throw PlatformError(PlatformErrorCode.diskEncryptionInternalError, "a wrapped BEK needs its KEK")
            }
            return try kek.unwrap(decoded, digest: .sha1)
        }
        return SecureBytes(decoded)
    }

    /// What the guest would read from a restored disk.
    public func readRestoredDisk(name: String, offset: UInt64, count: Int) throws -> [UInt8] {
        try restoredVolume(name: name).0.read(at: offset, count: count)
    }

    /// The ``GuestChecksum`` of a restored disk.
    public func restoredDiskChecksum(name: String) throws -> String {
        let (volume, device) = try restoredVolume(name: name)
        return try GuestChecksum.compute(volume: volume, blocks: try Self.writtenBlocks(device), blockSize: device.blockSize)
    }

    // MARK: Keys

    /// Puts the BEK secret and KEK that a recovery point backed up back into their key vault: recovers them
    /// when they are soft-deleted, restores them from the backup when they were purged, and leaves them when
    /// they are there.
    @discardableResult
    public func restoreKeys(vm name: String, recoveryPoint id: String, targetKeyVault: String? = nil) throws -> [KeyRestoreAction] {
        try pool.write { db in
            let vm = try Self.vm(db, name)
            let point = try Self.recoveryPoint(db, vm: vm.name, id: id)
            guard let encryption = point.encryption else {
                throw PlatformError(PlatformErrorCode.invalidArgument,
                                    "recovery point '\(point.id)' of VM '\(vm.name)' holds no keys (the VM is not ADE-encrypted)")
            }
            let vault = try Self.vault(db, point.vault)
            let masterKey = try Self.vaultMasterKey(db, vault, hsm: hsm)
            let keyVault = try Self.keyVault(db, targetKeyVault ?? encryption.keyVault)
            if targetKeyVault != nil {
                try Self.checkKeyRestoreTarget(keyVault, vm: vm, vault: vault)
            }
            var actions: [KeyRestoreAction] = []
            if let keyBackup = encryption.keyBackup, let kekName = encryption.kekName {
                let existing = try KeyVaultStore.key(db, keyVault: keyVault.name, name: kekName)
                let action: String
                if let existing, existing.version != encryption.kekVersion {
                    throw PlatformError(PlatformErrorCode.keysAlreadyPresent,
                                        "key vault '\(keyVault.name)' holds another version of key '\(kekName)'",
                                        hint: "delete and purge it, or restore the backup into another key vault")
                } else if let existing, existing.deletedAt != nil {
                    try KeyVaultStore.recover(db, keyVault: keyVault.name, name: kekName, isKey: true)
                    action = "recovered"
                } else if existing != nil {
                    action = "present"
                } else {
                    let blob = try KeyVaultBackupBlob.open(keyBackup, kind: "key", vault: vault.name, vaultMasterKey: masterKey)
                    let privateKey = try blob.privateKey(vaultMasterKey: masterKey)
                    try KeyRow(keyVault: keyVault.name, name: blob.name, version: blob.version, keyType: blob.keyType ?? "RSA",
                               bits: blob.bits ?? privateKey.bits, certificateBacked: blob.certificateBacked ?? false,
                               publicKey: blob.publicKey ?? Data(privateKey.publicKey.derRepresentation),
                               wrappedPrivateKey: Data(try privateKey.exportWrapped(under: hsm.key("keys"))), tags: blob.tags,
                               created: try Self.now(db), deletedAt: nil, scheduledPurge: nil).insert(db)
                    action = "restored"
                }
                actions.append(KeyRestoreAction(kind: "key", keyVault: keyVault.name, name: kekName, action: action))
            }
            let existing = try KeyVaultStore.secret(db, keyVault: keyVault.name, name: encryption.secretName)
            let action: String
            if let existing, existing.version != encryption.secretVersion {
                throw PlatformError(PlatformErrorCode.keysAlreadyPresent,
                                    "key vault '\(keyVault.name)' holds another version of secret '\(encryption.secretName)'",
                                    hint: "delete and purge it, or restore the backup into another key vault")
            } else if let existing, existing.deletedAt != nil {
                try KeyVaultStore.recover(db, keyVault: keyVault.name, name: encryption.secretName, isKey: false)
                action = "recovered"
            } else if existing != nil {
                action = "present"
            } else {
                let blob = try KeyVaultBackupBlob.open(encryption.secretBackup, kind: "secret", vault: vault.name, vaultMasterKey: masterKey)
                guard var value = blob.secretValue.map({ [UInt8]($0) }) else {
                    throw PlatformError(PlatformErrorCode.storageError, "the secret backup of '\(blob.name)' holds no value")
                }
                defer { wipe(&value) }
                try KeyVaultStore.setSecret(db, hsm: hsm, keyVault: keyVault.name, name: blob.name, value: value,
                                            contentType: blob.contentType, tags: blob.tags, version: blob.version, now: try Self.now(db))
                action = "restored"
            }
            actions.append(KeyRestoreAction(kind: "secret", keyVault: keyVault.name, name: encryption.secretName, action: action))
            return actions
        }
    }

    /// Where Key Vault lets a recovery point's key backups be restored, and ADE can use them: a key vault of
    /// the VM's subscription, in the same geography as the vault (Key Vault restores a backup within its
    /// subscription and geography), enabled for disk encryption (ADE reads the keys through it).
    static func checkKeyRestoreTarget(_ keyVault: KeyVaultRow, vm: VMRow, vault: VaultRow) throws {
        if keyVault.subscription != vm.subscription {
            throw PlatformError(PlatformErrorCode.invalidArgument,
                                "key vault '\(keyVault.name)' is in subscription '\(keyVault.subscription)': Key Vault restores a backup in its own subscription ('\(vm.subscription)') only",
                                hint: "choose a key vault of subscription '\(vm.subscription)'")
        }
        let geography = Regions.region(named: vault.region)?.geography
        if Regions.region(named: keyVault.region)?.geography != geography {
            throw PlatformError(PlatformErrorCode.invalidArgument,
                                "key vault '\(keyVault.name)' is in \(keyVault.region), outside the geography of \(vault.region): Key Vault restores a backup within its geography only",
                                hint: "choose a key vault of \(vault.region) or of its paired region")
        }
        if !keyVault.enabledForDiskEncryption {
            throw PlatformError(PlatformErrorCode.invalidArgument,
                                "key vault '\(keyVault.name)' is not enabled for disk encryption: ADE could not read the keys restored there",
                                hint: "turn on enabledForDiskEncryption on the key vault, or choose another one")
        }
    }

    // MARK: Verify and item-level recovery

    /// Test-restores a recovery point to scratch space under the state directory, decrypts it as the guest
    /// would (an ADE VM's BEK comes from the recovery point's own key backup), and compares each disk's
    /// checksum with the one recorded at snapshot time. The latest point when `recoveryPoint` is nil.
    /// `progress` hears (bytes done, total) of each disk read from the vault copy, from zero for each disk.
    public func verify(
        vm name: String, recoveryPoint id: String? = nil, progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> VerifyResult {
        let (vm, point, vault) = try pool.read { db -> (VMRow, RecoveryPointRow, VaultRow) in
            let vm = try Self.vm(db, name)
            let point = try Self.recoveryPoint(db, vm: vm.name, id: id ?? "latest")
            return (vm, point, try Self.vault(db, point.vault))
        }
        guard let lock = try tryLock("vm-\(vm.name.lowercased())") else {
            throw PlatformError(PlatformErrorCode.backupOperationInProgress, "a backup or restore of VM '\(vm.name)' is in progress",
                                hint: "wait for it to finish, then retry", retryable: true)
        }
        defer { withExtendedLifetime(lock) {} }
        let masterKey = try pool.read { db in try Self.vaultMasterKey(db, vault, hsm: hsm) }
        let bek = try point.encryption.map { try backedUpBEK($0, vault: vault, masterKey: masterKey) }
        let scratch = "scratch/verify-\(Self.guid())"
        defer { try? FileManager.default.removeItem(atPath: absolute(scratch)) }
        try FileManager.default.createDirectory(atPath: absolute(scratch), withIntermediateDirectories: true)
        var result = VerifyResult(vm: vm.name, recoveryPoint: point.id, source: point.vaultPoint != nil ? "Vault" : "Snapshot",
                                  disks: [], chunksChecked: 0, problems: [])
        var store: VaultStore?
        if let vaultPoint = point.vaultPoint {
            let opened: VaultStore
            do {
                opened = try openStore(vault, masterKey: masterKey)
            } catch {
                // A damaged index is the recovery point's integrity failing, not a failure to try again.
                throw Self.integrityFailure(error, vm: vm.name, recoveryPoint: point.id, vault: vault.name) ?? error
            }
            let report = try opened.verify(RecoveryPointID(vaultPoint))
            result.chunksChecked = report.chunksChecked
            result.problems = report.problems
            store = opened
        }
        for disk in point.disks {
            let path = absolute("\(scratch)/\(disk.storeName)")
            let key = try Disks.randomXTSKey()
            let device: BlockDevice
            if let store, let vaultPoint = point.vaultPoint {
                do {
                    device = try store.restore(RecoveryPointID(vaultPoint), disk: disk.storeName, to: path, atRestKey: key, progress: progress)
                } catch {
                    result.problems.append("disk \(disk.slot): the vault copy cannot be restored: \(error)")
                    result.disks.append(.init(disk: disk.slot, expected: disk.checksum, actual: "", matches: false))
                    continue
                }
            } else {
                device = try copySnapshot(disk, to: path, atRestKey: key)
            }
            let volume = GuestVolume(device: device, cipher: try Self.xts(bek))
            let actual = try GuestChecksum.compute(volume: volume, blocks: try Self.writtenBlocks(device), blockSize: device.blockSize)
            result.disks.append(.init(disk: disk.slot, expected: disk.checksum, actual: actual, matches: actual == disk.checksum))
        }
        return result
    }

    /// The BEK from a recovery point's own key backup (unwrapped with the backed-up KEK when wrapped).
    func backedUpBEK(_ encryption: RecoveryPointEncryption, vault: VaultRow, masterKey: SecureBytes) throws -> SecureBytes {
        let secret = try KeyVaultBackupBlob.open(encryption.secretBackup, kind: "secret", vault: vault.name, vaultMasterKey: masterKey)
        guard let value = secret.secretValue else {
            throw PlatformError(PlatformErrorCode.storageError, "the secret backup holds no value")
        }
        var kek: RSAPrivateKey?
        if let keyBackup = encryption.keyBackup {
            kek = try KeyVaultBackupBlob.open(keyBackup, kind: "key", vault: vault.name, vaultMasterKey: masterKey)
                .privateKey(vaultMasterKey: masterKey)
        }
        return try Self.bek(fromSecretValue: SecureBytes([UInt8](value)), contentType: secret.contentType, kek: kek)
    }

    /// Item-level (file) recovery: what the guest had at `offset` on a disk at the recovery point. Refused
    /// for ADE-encrypted VMs, which the service recovers only whole.
    public func recoverItems(vm name: String, recoveryPoint id: String, disk slot: DiskSlot, offset: UInt64, count: Int) throws -> [UInt8] {
        let (vm, point, vault) = try pool.read { db -> (VMRow, RecoveryPointRow, VaultRow) in
            let vm = try Self.vm(db, name)
            let point = try Self.recoveryPoint(db, vm: vm.name, id: id)
            return (vm, point, try Self.vault(db, point.vault))
        }
        if point.encryption != nil || vm.encryption.type == "ade" {
            throw PlatformError(PlatformErrorCode.fileLevelRecoveryNotSupportedForEncryptedVM,
                                "file-level recovery is not supported for ADE-encrypted VM '\(vm.name)'",
                                hint: "restore the disks (--mode restore-disks) and read them instead")
        }
        guard let disk = point.disks.first(where: { $0.slot == slot }) else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "recovery point '\(point.id)' has no disk '\(slot)'")
        }
        let scratch = "scratch/items-\(Self.guid())"
        defer { try? FileManager.default.removeItem(atPath: absolute(scratch)) }
        try FileManager.default.createDirectory(atPath: absolute(scratch), withIntermediateDirectories: true)
        let path = absolute("\(scratch)/\(disk.storeName)")
        let key = try Disks.randomXTSKey()
        let device: BlockDevice
        if point.snapshotPresent {
            device = try copySnapshot(disk, to: path, atRestKey: key)
        } else {
            let store = try openStore(vault, masterKey: try pool.read { db in try Self.vaultMasterKey(db, vault, hsm: hsm) })
            device = try store.restore(RecoveryPointID(point.vaultPoint!), disk: disk.storeName, to: path, atRestKey: key)
        }
        return try GuestVolume(device: device, cipher: nil).read(at: offset, count: count)
    }
}
