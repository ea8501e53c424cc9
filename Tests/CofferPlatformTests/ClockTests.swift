import CofferModel
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

@Suite struct ClockTests {
    @Test func aMonthOfDailyBackupsWithRetentionSnapshotExpiryAndGC() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        // Every third day the guest overwrites the same 128 KiB of its data disk; the clock moves a month.
        var seedAt: [(Date, UInt64)] = []
        var reclaimed: Int64 = 0
        var jobs: [JobInfo] = []
        for step in 0..<11 {
            let seed = UInt64(1000 + step)
            try platform.writeGuest(vm: "lnx-pmk", disk: .lun(0), offset: 1 << 20, length: 128 << 10, seed: seed)
            seedAt.append((try platform.now(), seed))
            let report = try platform.advanceClock(by: step < 10 ? 3 * 86400 : 86400)
            jobs += report.jobs
            reclaimed += report.reclaimedBytes.values.reduce(0, +)
        }
        #expect(try platform.now() == Fixtures.date("2026-02-05T00:00:00Z"))
        #expect(jobs.count == 31)
        #expect(jobs.allSatisfy { $0.status == .completed && $0.trigger == "Scheduled" })
        let points = try platform.recoveryPoints(vm: "lnx-pmk")
        // Daily 7 (Jan 29 – Feb 4) and weekly 4 on Sunday (Jan 11, 18, 25; Feb 1 is also daily).
        #expect(points.map(\.time) == dates("2026-01-11T02:00:00Z", "2026-01-18T02:00:00Z", "2026-01-25T02:00:00Z",
                                            "2026-01-29T02:00:00Z", "2026-01-30T02:00:00Z", "2026-01-31T02:00:00Z",
                                            "2026-02-01T02:00:00Z", "2026-02-02T02:00:00Z", "2026-02-03T02:00:00Z",
                                            "2026-02-04T02:00:00Z"))
        // Instant-restore snapshots live 2 days.
        #expect(points.map(\.tier) == Array(repeating: "Vault", count: 8) + ["Snapshot and vault", "Snapshot and vault"])
        #expect(points[0].expiry == Fixtures.date("2026-02-08T02:00:00Z"))
        #expect(points[4].expiry == Fixtures.date("2026-02-06T02:00:00Z"))
        #expect(reclaimed > 0)
        // Each point recorded what the guest had then (computed here independently), and kept points restore
        // to it: a weekly one, a daily one from the vault tier, and the latest.
        for point in points {
            let seed = seedAt.last { $0.0 < point.time }!.1
            let expected = TestWorld.expectedChecksum(size: 1 << 30, writes: [(1 << 20, GuestData.bytes(seed: seed, count: 128 << 10))])
            #expect(point.disks[1].checksum == expected)
        }
        for point in [points[0], points[5], points[9]] {
            let result = try platform.verify(vm: "lnx-pmk", recoveryPoint: point.id)
            #expect(result.ok)
            #expect(result.disks[1].actual == point.disks[1].checksum)
        }
        // Protection stopped with data retained for ever: nothing expires any more.
        try platform.stopProtection(vm: "lnx-pmk", mode: .retainForever)
        try platform.advanceClock(by: 400 * 86400)
        #expect(try platform.recoveryPoints(vm: "lnx-pmk").count == 10)
        #expect(try platform.recoveryPoints(vm: "lnx-pmk").allSatisfy { $0.tier == "Vault" && $0.expiry == nil })
    }

    @Test func theLatestPointOutlivesItsRetention() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        var spec = TestWorld.vaultSpec
        spec.immutability = .unlocked
        try TestWorld.withVault(platform, spec: spec)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        try platform.backup(vm: "lnx-pmk", retainUntil: Fixtures.date("2026-01-10T00:00:00Z"))
        try platform.backup(vm: "lnx-pmk", retainUntil: Fixtures.date("2026-01-10T00:00:00Z"))
        try platform.stopProtection(vm: "lnx-pmk", mode: .retainAsPerPolicy)
        let report = try platform.advanceClock(by: 30 * 86400)
        #expect(report.jobs.isEmpty)
        #expect(report.expiredRecoveryPoints.count == 1)
        #expect(try platform.recoveryPoints(vm: "lnx-pmk").count == 1)
    }

    @Test func hourlyEnhancedBackupsTransferTheLastOfEachWindow() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec)
        let hourly = BackupPolicySpec(
            vault: "rsv-east", policyType: .enhanced,
            schedule: BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 24),
            instantRestoreRetentionDays: 1, retention: RetentionSpec(daily: DailyRetention(count: 7)))
        try platform.createPolicy(name: "hourly", spec: hourly)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "hourly")
        let report = try platform.advanceClock(by: 86400)
        #expect(report.jobs.map(\.start) == dates("2026-01-05T04:00:00Z", "2026-01-05T08:00:00Z", "2026-01-05T12:00:00Z",
                                                  "2026-01-05T16:00:00Z", "2026-01-05T20:00:00Z", "2026-01-06T00:00:00Z"))
        let tiers = try platform.recoveryPoints(vm: "lnx-pmk").map(\.tier)
        #expect(tiers == ["Snapshot and vault", "Snapshot", "Snapshot", "Snapshot", "Snapshot", "Snapshot"])
        // A day later the untransferred snapshots of the first day expired with their points; the transferred
        // point stays in the vault.
        try platform.advanceClock(by: 86400)
        let points = try platform.recoveryPoints(vm: "lnx-pmk")
        #expect(points.map(\.time) == dates("2026-01-05T04:00:00Z", "2026-01-06T04:00:00Z", "2026-01-06T08:00:00Z", "2026-01-06T12:00:00Z",
                                            "2026-01-06T16:00:00Z", "2026-01-06T20:00:00Z", "2026-01-07T00:00:00Z"))
        #expect(points.map(\.tier) == ["Vault", "Snapshot and vault", "Snapshot", "Snapshot", "Snapshot", "Snapshot", "Snapshot"])
    }

    /// A policy in a zone the former hand table did not know is created, and its 02:00 runs at 02:00 in Turkey
    /// (+03:00): 23:00 UTC the day before. A misspelt zone is refused with the platform's code.
    @Test func aPolicyInTurkeyStandardTimeRunsAtTurkishTime() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec)
        var spec = TestWorld.dailyPolicy
        spec.timeZone = "W. Europe Standart Time"
        expectCode("BMSUserErrorInvalidPolicyInput") { try platform.createPolicy(name: "istanbul", spec: spec) }
        spec.timeZone = "Turkey Standard Time"
        let policy = try platform.createPolicy(name: "istanbul", spec: spec)
        #expect(policy.spec.timeZone == "Turkey Standard Time")
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "istanbul")
        let report = try platform.advanceClock(by: 2 * 86400)  // from 2026-01-05T00:00:00Z
        #expect(report.jobs.map(\.start) == dates("2026-01-05T23:00:00Z", "2026-01-06T23:00:00Z"))
        #expect(try platform.recoveryPoints(vm: "lnx-pmk").map(\.time) == dates("2026-01-05T23:00:00Z", "2026-01-06T23:00:00Z"))
    }

    @Test func failedScheduledBackupsAreRecordedAndTheScheduleGoesOn() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-ade", vault: "rsv-east", policy: "daily")
        let first = try platform.advanceClock(by: 86400)
        #expect(first.jobs.map(\.errorCode) == ["UserErrorKeyVaultPermissionsNotConfigured"])
        try TestWorld.grantBackupAccess(platform)
        let second = try platform.advanceClock(by: 86400)
        #expect(second.jobs.map(\.status) == [.completed])
        #expect(try platform.protectedItem(vm: "lnx-ade")?.state == .protected)
    }

    @Test func theClockOnlyMovesForwardAndSetAcceptsATime() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        expectCode("InvalidArgument") { try platform.setClock(to: Fixtures.date("2026-01-01T00:00:00Z")) }
        expectCode("InvalidArgument") { try platform.advanceClock(by: -1) }
        let report = try platform.setClock(to: Fixtures.date("2026-03-01T12:00:00Z"))
        #expect(report.from == Fixtures.date("2026-01-05T00:00:00Z"))
        #expect(try platform.now() == Fixtures.date("2026-03-01T12:00:00Z"))
    }

    @Test func deletedKeyVaultObjectsArePurgedAfterTheirRetentionUnlessProtected() throws {
        let (platform, directory) = try TestWorld.platform(purgeProtection: true)
        defer { withExtendedLifetime(directory) {} }
        try platform.deleteKey(keyVault: "kv-east", name: "kek")
        expectCode("KeyVaultPurgeProtectionEnabled") { try platform.purge(keyVault: "kv-east", name: "kek") }
        let deleted = try #require(try platform.keyVaultInfo(named: "kv-east").objects.first { $0.name == "kek" })
        #expect(deleted.deleted && deleted.scheduledPurge == Fixtures.date("2026-04-05T00:00:00Z"))
        try platform.advanceClock(by: 90 * 86400)
        #expect(try platform.keyVaultInfo(named: "kv-east").objects.contains { $0.name == "kek" } == false)
        // Without purge protection a deleted object can be purged at once; a live one cannot.
        expectCode("KeyVaultObjectNotDeleted") { try platform.purge(keyVault: "kv-east", name: "vault-cmk") }
        expectCode("ResourceNotFound") { try platform.purge(keyVault: "kv-east", name: "nothing") }
        try platform.deleteKey(keyVault: "kv-des", name: "des-key")
        expectCode("KeyVaultPurgeProtectionEnabled") { try platform.purge(keyVault: "kv-des", name: "des-key") }
    }
}
