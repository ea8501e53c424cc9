import CofferCrypto
import CofferModel
import CofferRules
import CofferSnapshot
import Foundation
import GRDB

/// A simulated crash: an error thrown by the fault hook, which jobs pass on without running any of their
/// failure handling, as a killed process would.
struct SimulatedCrash: Error, CustomStringConvertible {
    var step: String
    var underlying: any Error
    var description: String { "simulated crash after step '\(step)': \(underlying)" }
}

extension Platform {
    // MARK: Backup jobs

    /// An on-demand backup's retention when none is given.
    static let defaultOnDemandRetention: TimeInterval = 30 * 86400
    /// The most instant-restore (snapshot-tier) recovery points a VM's restore point collection holds.
    static let maximumInstantRecoveryPoints = 18

    /// Runs an on-demand backup ("Backup now") of a protected VM: a snapshot (an instant-restore recovery
    /// point at once), then a transfer of the changed blocks to the vault. Returns the completed job; a job
    /// that fails throws its error code, and the failed job is recorded.
    @discardableResult
    public func backup(vm: String, retainUntil: Date? = nil, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> JobInfo {
        let now = try now()
        let expiry = retainUntil ?? now.addingTimeInterval(Self.defaultOnDemandRetention)
        guard expiry > now else {
            throw PlatformError(PlatformErrorCode.invalidArgument,
                                "the retain-until date \(formatISO8601(expiry)) is not after the platform's time \(formatISO8601(now))",
                                hint: "give a later date")
        }
        guard expiry <= now.addingTimeInterval(99 * 365.25 * 86400) else {
            throw PlatformError(PlatformErrorCode.invalidArgument, "a recovery point is kept at most 99 years")
        }
        try checkOnDemandLimit(vm: vm, now: now)
        return try runBackup(vm: vm, trigger: "OnDemand", time: now, explicitExpiry: expiry, transferToVault: true, progress: progress)
    }

    /// Refuses an on-demand backup beyond the day's limit (`BackupRules.onDemand`): the request fails before
    /// any job starts, as the service's throttle does. An item that is not actively protected is left to
    /// `runBackup`, which refuses it with its own code.
    func checkOnDemandLimit(vm name: String, now: Date) throws {
        try pool.read { db in
            let vm = try Self.vm(db, name)
            guard let item = try Self.item(db, vm: vm.name), item.state == .protected || item.state == .irPending,
                let policyName = item.policy, let policy = try PolicyRow.fetchOne(db, key: ["vault": item.vault, "name": policyName])
            else { return }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let day = calendar.startOfDay(for: now)
            let taken = try JobRow.fetchAll(
                db, sql: "SELECT * FROM job WHERE vm = ? AND operation = 'Backup' AND start >= ?", arguments: [vm.name, day]
            ).filter { $0.status == .completed && $0.details["trigger"] == "OnDemand" }.count
            if let violation = BackupRules.onDemand(vm: vm.name, policyType: policy.spec.policyType, takenToday: taken) {
                throw PlatformError(violation)
            }
        }
    }

    /// Calls the fault hook after a named step; what it throws becomes a ``SimulatedCrash``.
    func fault(_ step: String) throws {
        do {
            try faultHook?(step)
        } catch {
            throw SimulatedCrash(step: step, underlying: error)
        }
    }

    /// Runs one backup job under the VM's job lock.
    func runBackup(
        vm name: String, trigger: String, time: Date, explicitExpiry: Date?, transferToVault: Bool,
        progress: ((UInt64, UInt64) -> Void)?
    ) throws -> JobInfo {
        let (vmRow, item) = try pool.read { db -> (VMRow, ProtectedItemRow?) in
            let vmRow = try Self.vm(db, name)
            return (vmRow, try Self.item(db, vm: vmRow.name))
        }
        guard let item, item.state == .protected || item.state == .irPending, let policyName = item.policy else {
            throw PlatformError(PlatformErrorCode.datasourceNotPresent,
                                "VM '\(vmRow.name)' is not actively protected\(item.map { " (its backup item is \($0.state.rawValue))" } ?? "")",
                                hint: item == nil ? "enable protection first" : "resume protection first")
        }
        guard let lock = try tryLock("vm-\(vmRow.name.lowercased())") else {
            throw PlatformError(PlatformErrorCode.backupOperationInProgress,
                                "another backup or restore of VM '\(vmRow.name)' is in progress",
                                hint: "wait for it to finish, then retry", retryable: true)
        }
        defer { withExtendedLifetime(lock) {} }
        try recoverInterruptedJobs(vm: vmRow.name)

        let job = try pool.write { db -> JobRow in
            let job = JobRow(id: Self.guid(), operation: "Backup", vm: vmRow.name, vault: item.vault, status: .inProgress, start: time,
                             end: nil, bytesTransferred: 0, errorCode: nil, errorMessage: nil, recoveryPoint: nil,
                             details: ["trigger": trigger, "pid": String(getpid())], sequence: try Self.nextSequence(db))
            try job.insert(db)
            return job
        }
        try fault("backup.job-recorded")
        do {
            return try performBackup(job: job, vm: vmRow, item: item, policyName: policyName, time: time,
                                     explicitExpiry: explicitExpiry, transferToVault: transferToVault, progress: progress)
        } catch let crash as SimulatedCrash {
            throw crash
        } catch {
            let failure = error as? PlatformError
                ?? PlatformError(PlatformErrorCode.backupOperationFailed, "the backup failed: \(error)", hint: "retry in a few minutes",
                                   underlying: error)
            throw try failJob(job.id, with: failure, at: time)
        }
    }

    /// Records that a job failed with `failure`'s code and message, and returns the failure naming the job.
    func failJob(_ id: String, with failure: PlatformError, at end: Date) throws -> PlatformError {
        try pool.write { db in
            try db.execute(sql: "UPDATE job SET status = ?, \"end\" = ?, errorCode = ?, errorMessage = ? WHERE id = ?",
                           arguments: [JobStatus.failed.rawValue, end, failure.code, failure.message, id])
        }
        var withJob = failure
        withJob.jobID = id
        return withJob
    }

    /// The preconditions that fail a backup job with the service's codes (`BackupRules.preconditions`).
    func checkBackupPreconditions(_ db: Database, vm: VMRow, disks: [DiskRow]) throws {
        let lookup = Lookup(db)
        let facts = try Self.virtualMachineFacts(lookup, vm)
        let keyVault = try facts.keyVault.flatMap { try Self.keyVaultFacts(lookup, $0) }
        let setKeyVault = try facts.diskEncryptionSet.flatMap { try Self.keyVaultFacts(lookup, $0.keyVault) }
        try Self.refuse(BackupRules.preconditions(vm: facts, keyVault: keyVault, diskEncryptionSetKeyVault: setKeyVault))
    }

    /// Refuses a backup that would take the VM past ``maximumInstantRecoveryPoints`` snapshot-tier recovery
    /// points, before any snapshot is taken. Counted are the VM's points whose snapshot is present and not
    /// expired at `time`: the clock deletes expired snapshots before a backup due at the same time, and a
    /// snapshot it keeps past its expiry (that of the latest point, or of a point whose protection was stopped)
    /// is not counted. The message names the count and when the first of them expires.
    ///
    /// Enhanced policies are not held to it: they keep up to 30 days of snapshots, several a day, in a
    /// collection the service sizes for that, so a policy the service accepts never fails here.
    static func checkInstantRecoveryPointLimit(_ db: Database, vm: String, item: ProtectedItemRow, policy: PolicyRow, time: Date) throws {
        guard policy.spec.policyType == .standard else { return }
        let points = try RecoveryPointRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM recoveryPoint WHERE vm = ? ORDER BY sequence"), arguments: [vm])
        let instant = points.filter { $0.snapshotPresent && $0.snapshotExpiry > time }
        guard instant.count >= maximumInstantRecoveryPoints, let oldest = instant.first else { return }
        // A snapshot goes at its expiry, or earlier with its point when retention deletes that first (never
        // the latest point's).
        let latest = points.last?.id
        func end(_ point: RecoveryPointRow) -> Date {
            guard point.id != latest, let expiry = expiry(of: point, item: item, policy: policy) else { return point.snapshotExpiry }
            return min(point.snapshotExpiry, expiry)
        }
        let first = instant.map(end).min()!
        throw PlatformError(
            PlatformErrorCode.rpCollectionLimitReached,
            "VM '\(vm)' holds \(instant.count) instant-restore recovery points, the most its restore point collection keeps (\(maximumInstantRecoveryPoints)); the oldest, taken \(formatISO8601(oldest.time)), expires \(formatISO8601(end(oldest)))",
            hint: "retry after \(formatISO8601(first)), when the first snapshot expires, or shorten instantRestoreRetentionDays of policy '\(policy.name)' so that fewer snapshots are kept at once")
    }

    func performBackup(
        job: JobRow, vm: VMRow, item: ProtectedItemRow, policyName: String, time: Date, explicitExpiry: Date?,
        transferToVault: Bool, progress: ((UInt64, UInt64) -> Void)?
    ) throws -> JobInfo {
        let (vault, policy, allDisks, masterKey) = try pool.read { db -> (VaultRow, PolicyRow, [DiskRow], SecureBytes) in
            let vault = try Self.vault(db, item.vault)
            let policy = try Self.policy(db, vault: vault.name, name: policyName)
            let disks = try Self.disks(db, vm: vm.name)
            try checkBackupPreconditions(db, vm: vm, disks: disks)
            try Self.checkDiskSelection(db, vm: vm, policy: policy, exclude: item.excludeDiskLuns, include: item.includeDiskLuns)
            try Self.checkInstantRecoveryPointLimit(db, vm: vm.name, item: item, policy: policy, time: time)
            return (vault, policy, disks, try Self.vaultMasterKey(db, vault, hsm: hsm))
        }
        let disks = allDisks.filter { disk in
            guard disk.lun >= 0 else { return true }
            if !item.includeDiskLuns.isEmpty { return item.includeDiskLuns.contains(disk.lun) }
            return !item.excludeDiskLuns.contains(disk.lun)
        }

        // Snapshot phase: one snapshot per disk, each recorded in the job as it is taken.
        let cipher = try Self.xts(Self.guestBEK(vm, hsm: hsm))
        var devices: [(DiskRow, BlockDevice, SnapshotID)] = []
        let known = try knownSnapshots()
        for disk in disks {
            let device = try openDevice(disk)
            try sweepSnapshots(device, path: disk.path, known: known)
            let snapshot = try device.takeSnapshot()
            try pool.write { db in
                var details = try JobRow.fetchOne(db, key: job.id)!.details
                details["snapshot.\(disk.lun)"] = "\(disk.path)|\(snapshot.rawValue)"
                try db.execute(sql: "UPDATE job SET details = ? WHERE id = ?", arguments: [Self.json(details), job.id])
            }
            devices.append((disk, device, snapshot))
            try fault("backup.snapshot.\(disk.slot)")
        }
        var pointDisks: [RecoveryPointDisk] = []
        for (disk, device, snapshot) in devices {
            let volume = GuestVolume(device: device, snapshot: snapshot, cipher: cipher)
            let checksum = try GuestChecksum.compute(volume: volume, blocks: try device.changedBlocks(from: nil, to: snapshot),
                                                     blockSize: device.blockSize)
            pointDisks.append(RecoveryPointDisk(lun: disk.lun, name: disk.name, sizeGiB: disk.sizeGiB, managed: disk.managed,
                                                devicePath: disk.path, snapshot: snapshot.rawValue, checksum: checksum))
        }
        let encryption = try keyBackups(vm: vm, vault: vault, masterKey: masterKey)

        // The instant-restore recovery point exists as soon as the snapshots do.
        let pointID = Self.recoveryPointID()
        let snapshotExpiry = time.addingTimeInterval(TimeInterval(policy.spec.instantRestoreRetentionDays) * 86400)
        try pool.write { db in
            let point = RecoveryPointRow(
                id: pointID, vm: vm.name, vault: vault.name, time: time, type: job.details["trigger"] ?? "OnDemand",
                explicitExpiry: explicitExpiry, snapshotPresent: true, snapshotExpiry: snapshotExpiry, vaultPoint: nil,
                transferToVault: transferToVault, disks: pointDisks, encryption: encryption, jobID: job.id,
                sequence: try Self.nextSequence(db))
            try point.insert(db)
            try db.execute(sql: "UPDATE job SET recoveryPoint = ? WHERE id = ?", arguments: [pointID, job.id])
            try db.execute(sql: "UPDATE protectedItem SET state = ?, lastBackup = ? WHERE vm = ?",
                           arguments: [ItemState.protected.rawValue, time, vm.name])
        }
        try fault("backup.snapshot-recovery-point")

        var bytes: Int64 = 0
        if transferToVault {
            let store = try onVaultStore(vm: vm.name, vault: vault.name) { try openStore(vault, masterKey: masterKey) }
            let base = try incrementalBase(vm: vm.name, vault: vault.name, excluding: pointID)
            var sources: [DiskSource] = []
            for (index, (disk, device, snapshot)) in devices.enumerated() {
                var source = DiskSource(name: pointDisks[index].storeName, device: device, snapshot: snapshot)
                if let previous = base[disk.lun], previous.devicePath == disk.path,
                    try device.snapshots().contains(SnapshotID(previous.snapshot)) {
                    source.base = (SnapshotID(previous.snapshot), RecoveryPointID(previous.vaultPoint))
                }
                sources.append(source)
            }
            var metadata = [
                "coffer.recoveryPoint": pointID, "coffer.vm": vm.name, "coffer.vault": vault.name,
                "coffer.time": formatISO8601(time), "coffer.os": vm.os,
            ]
            for disk in pointDisks { metadata["coffer.checksum.\(disk.storeName)"] = disk.checksum }
            if let encryption { metadata["coffer.encryption"] = try Self.json(encryption) }
            let (storePoint, statistics) = try onVaultStore(vm: vm.name, vault: vault.name) {
                try store.backup(sources, metadata: metadata, progress: progress)
            }
            try fault("backup.transferred")
            bytes = Int64(statistics.bytesUploaded)
            try pool.write { db in
                try db.execute(sql: "UPDATE recoveryPoint SET vaultPoint = ? WHERE id = ?", arguments: [storePoint.rawValue, pointID])
            }
        }
        let completed = try pool.write { db -> JobRow in
            try db.execute(sql: "UPDATE job SET status = ?, \"end\" = ?, bytesTransferred = ? WHERE id = ?",
                           arguments: [JobStatus.completed.rawValue, time, bytes, job.id])
            return try JobRow.fetchOne(db, key: job.id)!
        }
        try fault("backup.completed")
        return Self.jobInfo(completed)
    }

    /// Runs a call on the vault's store. When the store's own data fails authentication or a consistency
    /// check (its index, or the base recovery point, was changed or damaged), the backup fails with the
    /// integrity error, not a retry: trying again reads the same damaged data. The store's error is kept as
    /// the cause. Any other failure passes unchanged; the VM's disks were opened, and their metadata
    /// authenticated, before the store is called, so a damaged disk fails there, never as the vault's data.
    func onVaultStore<T>(vm: String, vault: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            guard Self.isVaultDataDamaged(error) else { throw error }
            throw PlatformError(
                PlatformErrorCode.recoveryPointIntegrityCheckFailed,
                "the data of vault '\(vault)' failed authentication in the backup of VM '\(vm)': it was changed or damaged (\(error))",
                hint: "retrying cannot help; 'coffer verify \(vm) --recovery-point ID' checks a recovery point in the vault",
                underlying: error)
        }
    }

    /// For each LUN, the latest transferred recovery point of the VM whose snapshot is still there: the base
    /// of an incremental transfer.
    func incrementalBase(vm: String, vault: String, excluding: String) throws
        -> [Int: (devicePath: String, snapshot: String, vaultPoint: String)]
    {
        try pool.read { db in
            let points = try RecoveryPointRow.fetchAll(
                db, sql: "SELECT * FROM recoveryPoint WHERE vm = ? AND vault = ? AND id != ? AND vaultPoint IS NOT NULL AND snapshotPresent ORDER BY sequence DESC",
                arguments: [vm, vault, excluding])
            var base: [Int: (String, String, String)] = [:]
            for point in points {
                for disk in point.disks where base[disk.lun] == nil {
                    base[disk.lun] = (disk.devicePath, disk.snapshot, point.vaultPoint!)
                }
            }
            return base
        }
    }

    /// The Key Vault backups an ADE VM's recovery point keeps: the BEK secret and the KEK, sealed under the
    /// vault's key (the service calls Key Vault's backup operations with the permissions checked before).
    func keyBackups(vm: VMRow, vault: VaultRow, masterKey: SecureBytes) throws -> RecoveryPointEncryption? {
        guard vm.encryption.type == "ade", let keyVault = vm.encryption.keyVault, let secretName = vm.encryption.bekSecret else {
            return nil
        }
        return try pool.read { db in
            guard let secret = try KeyVaultStore.activeSecret(db, keyVault: keyVault, name: secretName) else {
                throw PlatformError(PlatformErrorCode.keyVaultSecretDoesNotExist, "the BEK secret '\(secretName)' is not in key vault '\(keyVault)'")
            }
            let value = try KeyVaultStore.secretValue(secret, hsm: hsm)
            var encryption = RecoveryPointEncryption(
                os: vm.os, keyVault: secret.keyVault, secretName: secret.name, secretVersion: secret.version,
                secretURL: Self.secretURL(keyVault: secret.keyVault, name: secret.name, version: secret.version),
                secretBackup: try KeyVaultBackupBlob.sealSecret(secret, value: value, vault: vault.name, vaultMasterKey: masterKey))
            if let kek = vm.encryption.kek {
                guard let key = try KeyVaultStore.activeKey(db, keyVault: keyVault, name: kek) else {
                    throw PlatformError(PlatformErrorCode.keyVaultKeyDoesNotExist, "the KEK '\(kek)' is not in key vault '\(keyVault)'")
                }
                encryption.kekName = key.name
                encryption.kekVersion = key.version
                encryption.kekURL = Self.keyURL(keyVault: key.keyVault, name: key.name, version: key.version)
                encryption.keyBackup = try KeyVaultBackupBlob.sealKey(key, privateKey: try KeyVaultStore.privateKey(key, hsm: hsm),
                                                                      vault: vault.name, vaultMasterKey: masterKey)
            }
            return encryption
        }
    }

    // MARK: Crash recovery

    /// Finishes what interrupted jobs of a VM left (called with the VM's job lock held, so no job of the VM is
    /// running): links a recovery point whose transfer committed in the vault store, deletes snapshots no
    /// recovery point records, removes partial restore output, and marks the jobs failed.
    func recoverInterruptedJobs(vm: String) throws {
        let jobs = try pool.read { db in
            try JobRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM job WHERE vm = ? AND status = ? ORDER BY sequence"), arguments: [vm, JobStatus.inProgress.rawValue])
        }
        for job in jobs {
            if job.operation == "Backup" {
                try recoverBackup(job)
            } else {
                try recoverRestore(job)
            }
            try pool.write { db in
                try db.execute(sql: "UPDATE job SET status = ?, \"end\" = start, errorCode = ?, errorMessage = ? WHERE id = ?",
                               arguments: [JobStatus.failed.rawValue, PlatformErrorCode.backupOperationFailed,
                                           "the job was interrupted before it finished; what it committed was kept", job.id])
            }
        }
    }

    func recoverBackup(_ job: JobRow) throws {
        let point = try pool.read { db in try job.recoveryPoint.flatMap { try RecoveryPointRow.fetchOne(db, key: $0) } }
        if let point, point.transferToVault, point.vaultPoint == nil {
            let vault = try pool.read { db in try Self.vault(db, point.vault) }
            let masterKey = try pool.read { db in try Self.vaultMasterKey(db, vault, hsm: hsm) }
            let store = try openStore(vault, masterKey: masterKey)
            if let committed = try store.recoveryPoints().first(where: { $0.metadata["coffer.recoveryPoint"] == point.id }) {
                try pool.write { db in
                    try db.execute(sql: "UPDATE recoveryPoint SET vaultPoint = ? WHERE id = ?", arguments: [committed.id.rawValue, point.id])
                    try db.execute(sql: "UPDATE job SET bytesTransferred = 0 WHERE id = ?", arguments: [job.id])
                }
            }
        }
    }

    /// The snapshots recovery points record, as `path|id`.
    func knownSnapshots() throws -> Set<String> {
        try pool.read { db in
            var known = Set<String>()
            for point in try RecoveryPointRow.fetchAll(db, sql: "SELECT * FROM recoveryPoint WHERE snapshotPresent") {
                for disk in point.disks { known.insert("\(disk.devicePath)|\(disk.snapshot)") }
            }
            return known
        }
    }

    /// Deletes the snapshots of a disk that no recovery point records: left by a job or a checksum that was
    /// interrupted between taking a snapshot and recording it. Called with the VM's job lock held.
    func sweepSnapshots(_ device: BlockDevice, path: String, known: Set<String>) throws {
        for snapshot in try device.snapshots() where !known.contains("\(path)|\(snapshot.rawValue)") {
            try device.deleteSnapshot(snapshot)
        }
    }

    func recoverRestore(_ job: JobRow) throws {
        for (key, path) in job.details where key.hasPrefix("output.") {
            let registered = try pool.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM restoredDisk WHERE path = ?", arguments: [path]) ?? 0)
                    + (try Int.fetchOne(db, sql: "SELECT count(*) FROM disk WHERE path = ?", arguments: [path]) ?? 0)
            }
            if registered == 0 && FileManager.default.fileExists(atPath: absolute(path)) {
                try FileManager.default.removeItem(atPath: absolute(path))
            }
        }
    }

    // MARK: Jobs

    /// Every job, oldest first.
    public func jobs(vm: String? = nil) throws -> [JobInfo] {
        try pool.read { db in
            let rows: [JobRow]
            if let vm {
                rows = try JobRow.fetchAll(db, sql: "SELECT * FROM job WHERE lower(vm) = lower(?) ORDER BY sequence", arguments: [vm])
            } else {
                rows = try JobRow.fetchAll(db, sql: "SELECT * FROM job ORDER BY sequence")
            }
            return rows.map(Self.jobInfo)
        }
    }

    /// The job with this id, or nil.
    public func job(id: String) throws -> JobInfo? {
        try pool.read { db in try JobRow.fetchOne(db, key: id).map(Self.jobInfo) }
    }

    static func jobInfo(_ row: JobRow) -> JobInfo {
        JobInfo(id: row.id, operation: row.operation, vm: row.vm, vault: row.vault, status: row.status, start: row.start, end: row.end,
                bytesTransferred: row.bytesTransferred, errorCode: row.errorCode, errorMessage: row.errorMessage,
                recoveryPoint: row.recoveryPoint, trigger: row.details["trigger"] ?? row.details["mode"],
                targetRegion: row.operation == "Restore" ? row.details["region"] : nil,
                targetResourceGroup: row.operation == "Restore" ? row.details["resourceGroup"] : nil)
    }

    /// A recovery point id: 16 random decimal digits, like the service's.
    static func recoveryPointID() -> String {
        String((0..<16).map { _ in "0123456789".randomElement()! })
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
