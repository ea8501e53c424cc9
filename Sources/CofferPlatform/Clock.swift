import CofferCrypto
import CofferModel
import CofferSnapshot
import Foundation
import GRDB

/// What moving the clock did, in time order.
public struct ClockReport: Codable, Sendable, Hashable {
    public var from: Date
    public var to: Date
    /// Scheduled backup jobs run (completed or failed).
    public var jobs: [JobInfo]
    /// Recovery points whose instant-restore snapshot expired (they stay in the vault tier).
    public var expiredSnapshots: [String]
    /// Recovery points deleted by retention.
    public var expiredRecoveryPoints: [String]
    /// VMs whose soft-deleted backup items were purged.
    public var purgedItems: [String]
    /// Bytes the vault stores' garbage collection reclaimed, by vault.
    public var reclaimedBytes: [String: Int64]
}

extension Platform {
    // MARK: The clock

    /// Moves the platform clock forward by `interval`, running in time order the scheduled backups, snapshot
    /// expiry, retention, purges of soft-deleted items and key-vault objects that fall due, then garbage
    /// collection of the vault stores. `progress` hears (VM, bytes done, total) of each scheduled backup.
    @discardableResult
    public func advanceClock(
        by interval: TimeInterval, progress: ((_ vm: String, _ done: UInt64, _ total: UInt64) -> Void)? = nil
    ) throws -> ClockReport {
        guard interval > 0 else {
            throw PlatformError(PlatformErrorCode.invalidArgument, "the clock only moves forward", hint: "give a positive duration such as 1d")
        }
        return try setClock(to: try now().addingTimeInterval(interval), progress: progress)
    }

    /// Moves the platform clock forward to `target` (see ``advanceClock(by:)``).
    @discardableResult
    public func setClock(
        to target: Date, progress: ((_ vm: String, _ done: UInt64, _ total: UInt64) -> Void)? = nil
    ) throws -> ClockReport {
        guard let lock = try tryLock("clock") else {
            throw PlatformError(PlatformErrorCode.backupOperationInProgress, "another process is moving the platform clock",
                                hint: "wait for it to finish, then retry", retryable: true)
        }
        defer { withExtendedLifetime(lock) {} }
        let start = try now()
        guard target >= start else {
            throw PlatformError(PlatformErrorCode.invalidArgument,
                                "the clock only moves forward: \(formatISO8601(target)) is before the platform's time \(formatISO8601(start))")
        }
        var report = ClockReport(from: start, to: target, jobs: [], expiredSnapshots: [], expiredRecoveryPoints: [], purgedItems: [],
                                 reclaimedBytes: [:])
        var touchedVaults = Set<String>()
        while let (time, events) = try nextEvents(upTo: target) {
            try pool.write { db in try Self.setNow(db, time) }
            for event in events {
                switch event {
                case .keyVaultPurge:
                    try pool.write { db in try KeyVaultStore.purgeExpired(db, now: time) }
                case .itemPurge(let vm):
                    touchedVaults.formUnion(try purgeItem(vm: vm))
                    report.purgedItems.append(vm)
                case .snapshotExpiry(let point):
                    if let vault = try expireSnapshot(point) { touchedVaults.insert(vault) }
                    report.expiredSnapshots.append(point)
                case .pointExpiry(let point):
                    if let vault = try deleteRecoveryPoint(point) { touchedVaults.insert(vault) }
                    report.expiredRecoveryPoints.append(point)
                case .backup(let vm, let transfer):
                    try pool.write { db in
                        try db.execute(sql: "UPDATE protectedItem SET scheduledThrough = ? WHERE vm = ?", arguments: [time, vm])
                    }
                    do {
                        report.jobs.append(try runBackup(vm: vm, trigger: "Scheduled", time: time, explicitExpiry: nil,
                                                         transferToVault: transfer,
                                                         progress: progress.map { report in { report(vm, $0, $1) } }))
                    } catch let error as PlatformError {
                        if let id = error.jobID, let job = try job(id: id) { report.jobs.append(job) }
                    }
                }
            }
        }
        try pool.write { db in try Self.setNow(db, target) }
        for vault in touchedVaults.sorted() {
            report.reclaimedBytes[vault] = try collectGarbage(vault: vault)
        }
        return report
    }

    enum ClockEvent: Hashable {
        case keyVaultPurge
        case itemPurge(String)
        case snapshotExpiry(String)
        case pointExpiry(String)
        case backup(String, transfer: Bool)

        var order: Int {
            switch self {
            case .keyVaultPurge: 0
            case .itemPurge: 1
            case .snapshotExpiry: 2
            case .pointExpiry: 3
            case .backup: 4
            }
        }
    }

    /// The earliest time at or before `target` when something falls due, with everything due then.
    func nextEvents(upTo target: Date) throws -> (Date, [ClockEvent])? {
        try pool.read { db in
            var due: [(Date, ClockEvent)] = []
            if let purge = try KeyVaultStore.nextPurge(db) { due.append((purge, .keyVaultPurge)) }
            let items = try ProtectedItemRow.fetchAll(db, sql: "SELECT * FROM protectedItem ORDER BY vm")
            var policies: [String: PolicyRow] = [:]
            for policy in try PolicyRow.fetchAll(db) { policies["\(policy.vault)/\(policy.name)"] = policy }
            for item in items {
                if item.state == .softDeleted, let purgeAt = item.purgeAt { due.append((purgeAt, .itemPurge(item.vm))) }
                guard item.state == .protected || item.state == .irPending, let name = item.policy,
                    let policy = policies["\(item.vault)/\(name)"]
                else { continue }
                let calendar = PolicyCalendar(timeZone: policy.spec.timeZone)
                // Every schedule runs at least once a week: the next run is within eight days.
                if let next = calendar.occurrences(of: policy.spec.schedule, after: item.scheduledThrough,
                                                   upTo: item.scheduledThrough.addingTimeInterval(8 * 86400)).first {
                    due.append((next.time, .backup(item.vm, transfer: next.transferToVault)))
                }
            }
            let points = try RecoveryPointRow.fetchAll(db, sql: "SELECT * FROM recoveryPoint ORDER BY sequence")
            var latest: [String: String] = [:]
            for point in points { latest[point.vm] = point.id }
            let itemsByVM = Dictionary(uniqueKeysWithValues: items.map { ($0.vm, $0) })
            for point in points {
                let isLatest = latest[point.vm] == point.id
                let item = itemsByVM[point.vm]
                if item?.state == .softDeleted { continue }  // purged with the item
                let policy = item.flatMap { item in item.policy.flatMap { policies["\(item.vault)/\($0)"] } }
                if let expiry = Self.expiry(of: point, item: item, policy: policy), !isLatest {
                    due.append((expiry, .pointExpiry(point.id)))
                    if point.snapshotPresent && point.snapshotExpiry < expiry {
                        due.append((point.snapshotExpiry, .snapshotExpiry(point.id)))
                    }
                } else if point.snapshotPresent && point.vaultPoint != nil {
                    due.append((point.snapshotExpiry, .snapshotExpiry(point.id)))
                }
            }
            guard let earliest = due.map(\.0).min(), earliest <= target else { return nil }
            let events = due.filter { $0.0 == earliest }.map(\.1)
            return (earliest, Array(Set(events)).sorted { ($0.order, "\($0)") < ($1.order, "\($1)") })
        }
    }

    /// When a recovery point expires: an on-demand one at its given expiry, a scheduled one when the policy's
    /// retention rules no longer select it (a point no rule keeps, such as an hourly snapshot that is not
    /// transferred, lives as long as its snapshot). Nil when it is kept for ever (protection stopped with
    /// data retained for ever).
    static func expiry(of point: RecoveryPointRow, item: ProtectedItemRow?, policy: PolicyRow?) -> Date? {
        guard let item else { return nil }
        switch item.state {
        case .protectionStopped: return nil
        case .softDeleted: return item.purgeAt
        default: break
        }
        if point.type == "OnDemand" { return point.explicitExpiry }
        guard let policy else { return nil }
        if !point.transferToVault { return point.snapshotExpiry }
        let kept = PolicyCalendar(timeZone: policy.spec.timeZone).expiry(of: point.time, retention: policy.spec.retention)
        return kept.map { max($0, point.snapshotExpiry) } ?? point.snapshotExpiry
    }

    /// Deletes the instant-restore snapshot of a recovery point; the point lives on in the vault tier.
    /// Returns the vault, for garbage collection.
    func expireSnapshot(_ id: String) throws -> String? {
        guard let point = try pool.read({ db in try RecoveryPointRow.fetchOne(db, key: id) }) else { return nil }
        try deleteSnapshots(of: point)
        try pool.write { db in try db.execute(sql: "UPDATE recoveryPoint SET snapshotPresent = 0 WHERE id = ?", arguments: [id]) }
        if point.vaultPoint == nil { return try deleteRecoveryPoint(id) }
        return nil
    }

    func deleteSnapshots(of point: RecoveryPointRow) throws {
        guard point.snapshotPresent else { return }
        for disk in point.disks {
            guard let row = try pool.read({ db in try DiskRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM disk WHERE path = ?"), arguments: [disk.devicePath]) })
            else { continue }  // the disk was replaced and removed
            let device = try openDevice(row)
            let snapshot = SnapshotID(disk.snapshot)
            if try device.snapshots().contains(snapshot) { try device.deleteSnapshot(snapshot) }
        }
    }

    /// Deletes a recovery point: its snapshots, its vault-tier point, then its record. Returns the vault.
    @discardableResult
    func deleteRecoveryPoint(_ id: String) throws -> String? {
        guard let point = try pool.read({ db in try RecoveryPointRow.fetchOne(db, key: id) }) else { return nil }
        try deleteSnapshots(of: point)
        if let vaultPoint = point.vaultPoint {
            let vault = try pool.read { db in try Self.vault(db, point.vault) }
            let store = try openStore(vault, masterKey: try pool.read { db in try Self.vaultMasterKey(db, vault, hsm: hsm) })
            if (try? store.recoveryPoint(RecoveryPointID(vaultPoint))) != nil {
                try store.deleteRecoveryPoint(RecoveryPointID(vaultPoint))
            }
        }
        try pool.write { db in try db.execute(sql: "DELETE FROM recoveryPoint WHERE id = ?", arguments: [id]) }
        return point.vault
    }

    /// Purges a soft-deleted item and its recovery points. Returns the vaults touched.
    func purgeItem(vm: String) throws -> Set<String> {
        let points = try pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM recoveryPoint WHERE vm = ? ORDER BY sequence", arguments: [vm])
        }
        var vaults = Set<String>()
        for point in points { if let vault = try deleteRecoveryPoint(point) { vaults.insert(vault) } }
        try pool.write { db in try db.execute(sql: "DELETE FROM protectedItem WHERE vm = ?", arguments: [vm]) }
        return vaults
    }

    /// Runs the vault store's garbage collection; returns the bytes reclaimed.
    func collectGarbage(vault name: String) throws -> Int64 {
        guard let vault = try pool.read({ db in try VaultRow.fetchOne(db, key: name) }) else { return 0 }
        let store = try openStore(vault, masterKey: try pool.read { db in try Self.vaultMasterKey(db, vault, hsm: hsm) })
        return try store.collectGarbage().bytesReclaimed
    }

    // MARK: Recovery points

    /// The recovery points of a VM (all VMs when nil), oldest first.
    public func recoveryPoints(vm: String? = nil) throws -> [RecoveryPointSummary] {
        try pool.read { db in
            let points: [RecoveryPointRow]
            if let vm {
                points = try RecoveryPointRow.fetchAll(db, sql: "SELECT * FROM recoveryPoint WHERE lower(vm) = lower(?) ORDER BY sequence",
                                                       arguments: [vm])
            } else {
                points = try RecoveryPointRow.fetchAll(db, sql: "SELECT * FROM recoveryPoint ORDER BY sequence")
            }
            return try points.map { try Self.summary(db, $0) }
        }
    }

    /// When the VM's oldest recovery point was taken; nil when it has none.
    public func oldestRecoveryPointTime(vm: String) throws -> Date? {
        try pool.read { db in
            try RecoveryPointRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM recoveryPoint WHERE lower(vm) = lower(?) ORDER BY time LIMIT 1"), arguments: [vm])?.time
        }
    }

    static func summary(_ db: Database, _ point: RecoveryPointRow) throws -> RecoveryPointSummary {
        let item = try Self.item(db, vm: point.vm)
        let policy = try item.flatMap { item in try item.policy.flatMap { try PolicyRow.fetchOne(db, key: ["vault": item.vault, "name": $0]) } }
        return RecoveryPointSummary(
            id: point.id, vm: point.vm, vault: point.vault, time: point.time, type: point.type, tier: point.tier,
            expiry: expiry(of: point, item: item, policy: policy),
            disks: point.disks.map { .init(disk: $0.slot, sizeGiB: $0.sizeGiB, managed: $0.managed, checksum: $0.checksum) },
            hasKeyBackup: point.encryption != nil, hasKEKBackup: point.encryption?.keyBackup != nil, keyVault: point.encryption?.keyVault,
            bekSecretURL: point.encryption?.secretURL, kekURL: point.encryption?.kekURL)
    }
}
