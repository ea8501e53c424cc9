import CofferModel
import CofferSnapshot
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

/// Throws a simulated crash once, at the armed step.
final class FaultSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var armed: String?
    private(set) var fired: [String] = []

    struct Crash: Error {}

    func arm(_ step: String) { lock.withLock { armed = step } }

    func hook(_ step: String) throws {
        try lock.withLock {
            guard step == armed else { return }
            armed = nil
            fired.append(step)
            throw Crash()
        }
    }
}

@Suite struct CrashTests {
    /// After a crash: a new process opens the platform, the next job succeeds, every committed recovery point
    /// verifies, and no snapshot is left that no recovery point records.
    func checkRecovered(_ directory: TemporaryDirectory, vm: String) throws {
        let platform = try Platform(stateDirectory: directory.path)
        let job = try platform.backup(vm: vm)
        #expect(job.status == .completed)
        #expect(try platform.jobs().filter { $0.status == .inProgress }.isEmpty)
        for point in try platform.recoveryPoints(vm: vm) {
            let result = try platform.verify(vm: vm, recoveryPoint: point.id)
            #expect(result.ok, "\(point.id) \(point.tier): \(result)")
        }
        let known = try platform.knownSnapshots()
        for disk in try platform.pool.read({ db in try Platform.disks(db, vm: vm) }) {
            let device = try platform.openDevice(disk)
            for snapshot in try device.snapshots() {
                #expect(known.contains("\(disk.path)|\(snapshot.rawValue)"), "orphan snapshot \(snapshot) on \(disk.path)")
            }
        }
    }

    @Test(arguments: ["backup.job-recorded", "backup.snapshot.os", "backup.snapshot.0", "backup.snapshot.1",
                      "backup.snapshot-recovery-point", "backup.transferred", "backup.completed"])
    func aBackupKilledAfterAnyStep(step: String) throws {
        let faults = FaultSwitch()
        let (platform, directory) = try TestWorld.platform(faultHook: { try faults.hook($0) })
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        try platform.backup(vm: "lnx-pmk")
        try platform.writeGuest(vm: "lnx-pmk", disk: .lun(1), offset: 0, length: 100_000, seed: 5)
        faults.arm(step)
        #expect(throws: SimulatedCrash.self) { try platform.backup(vm: "lnx-pmk") }
        #expect(faults.fired == [step])
        try checkRecovered(directory, vm: "lnx-pmk")
        let jobs = try Platform(stateDirectory: directory.path).jobs(vm: "lnx-pmk")
        #expect(jobs.map(\.status) == [.completed, step == "backup.completed" ? .completed : .failed, .completed])
        if step != "backup.completed" { #expect(jobs[1].errorCode == "BackUpOperationFailed") }
    }

    @Test(arguments: ["backup.snapshot.0", "backup.snapshot-recovery-point", "backup.transferred"])
    func anADEBackupKilledAfterAStep(step: String) throws {
        let faults = FaultSwitch()
        let (platform, directory) = try TestWorld.platform(faultHook: { try faults.hook($0) })
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try TestWorld.grantBackupAccess(platform)
        try platform.enableProtection(vm: "win-ade", vault: "rsv-east", policy: "daily")
        faults.arm(step)
        #expect(throws: SimulatedCrash.self) { try platform.backup(vm: "win-ade") }
        try checkRecovered(directory, vm: "win-ade")
        // A point whose transfer committed before the crash is linked to its vault copy.
        if step == "backup.transferred" {
            let points = try Platform(stateDirectory: directory.path).recoveryPoints(vm: "win-ade")
            #expect(points.map(\.tier) == ["Snapshot and vault", "Snapshot and vault"])
        }
    }

    @Test(arguments: ["restore.job-recorded", "restore.disk.os", "restore.disk.0", "restore.completed"])
    func aRestoreKilledAfterAnyStep(step: String) throws {
        let faults = FaultSwitch()
        let (platform, directory) = try TestWorld.platform(faultHook: { try faults.hook($0) })
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        let point = try #require(try platform.backup(vm: "lnx-pmk").recoveryPoint)
        faults.arm(step)
        #expect(throws: SimulatedCrash.self) {
            try platform.restore(vm: "lnx-pmk", recoveryPoint: point, mode: .restoreDisks, target: RestoreTarget(resourceGroup: "rg-west", region: "westus"))
        }
        let reopened = try Platform(stateDirectory: directory.path)
        let restored = try reopened.restore(vm: "lnx-pmk", recoveryPoint: point, mode: .restoreDisks,
                                            target: RestoreTarget(resourceGroup: "rg-west", region: "westus"))
        #expect(restored.job.status == .completed)
        // What the killed restore committed is kept; what it left half-done is gone.
        let registered = Set(try reopened.restoredDisks().map { "restored/\($0.resourceGroup)/\($0.name)" })
        let onDisk = Set((try? FileManager.default.contentsOfDirectory(atPath: directory.path("restored/rg-west"))) ?? []).map { "restored/rg-west/\($0)" }
        #expect(Set(onDisk) == registered)
        #expect(registered.count == (step == "restore.completed" ? 6 : 3))
        for disk in try reopened.restoredDisks() {
            let recorded = try #require(try reopened.recoveryPoints(vm: "lnx-pmk").first?.disks.first { $0.disk == disk.disk })
            #expect(try reopened.restoredDiskChecksum(name: disk.name) == recorded.checksum)
        }
        try checkRecovered(directory, vm: "lnx-pmk")
    }
}
