import CofferCrypto
import CofferModel
import CofferSnapshot
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

@Suite struct BackupTests {
    @Test func anOnDemandBackupMakesASnapshotThenAVaultPoint() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try TestWorld.grantBackupAccess(platform)
        try platform.enableProtection(vm: "win-ade", vault: "rsv-east", policy: "daily")
        let job = try platform.backup(vm: "win-ade")
        #expect(job.status == .completed && job.operation == "Backup" && job.trigger == "OnDemand")
        #expect(job.bytesTransferred > 270_000)
        let point = try #require(try platform.recoveryPoints(vm: "win-ade").first)
        #expect(point.id == job.recoveryPoint)
        #expect(point.tier == "Snapshot and vault")
        #expect(point.hasKeyBackup && point.hasKEKBackup && point.keyBackupContents == "BEK/KEK")
        #expect(point.expiry == (try platform.now()).addingTimeInterval(30 * 86400))
        #expect(point.disks.map(\.checksum) == [try platform.guestChecksum(vm: "win-ade", disk: .os),
                                                 try platform.guestChecksum(vm: "win-ade", disk: .lun(0))])
        // The vault point carries the checksums and the sealed key backups in its metadata.
        let (store, masterKey) = try platform.pool.read { db -> (VaultRow, CofferCrypto.SecureBytes) in
            let vault = try Platform.vault(db, "rsv-east")
            return (vault, try Platform.vaultMasterKey(db, vault, hsm: platform.hsm))
        }
        let info = try #require(try platform.openStore(store, masterKey: masterKey).recoveryPoints().first)
        #expect(info.metadata["coffer.recoveryPoint"] == point.id)
        #expect(info.metadata["coffer.checksum.os"] == point.disks[0].checksum)
        let encryption = try #require(info.metadata["coffer.encryption"])
        #expect(encryption.contains("secretBackup") && encryption.contains("keyBackup"))
        // An explicit retain-until date, and a second backup that moves only what changed.
        try platform.writeGuest(vm: "win-ade", disk: .os, offset: 300_000, bytes: GuestData.bytes(seed: 9, count: 5000))
        let until = Fixtures.date("2026-06-01T00:00:00Z")
        let second = try platform.backup(vm: "win-ade", retainUntil: until)
        #expect(second.bytesTransferred > 0 && second.bytesTransferred <= 2 * 65536)
        #expect(try platform.recoveryPoints(vm: "win-ade").last?.expiry == until)
        expectCode("InvalidArgument") { try platform.backup(vm: "win-ade", retainUntil: Fixtures.date("2026-01-01T00:00:00Z")) }
    }

    /// The snapshots on each disk of a VM.
    func diskSnapshotCounts(_ platform: Platform, vm: String) throws -> [Int] {
        try platform.pool.read { db in try Platform.disks(db, vm: vm) }.map { try platform.openDevice($0).snapshots().count }
    }

    /// An Enhanced policy keeps more snapshots than 18, as the service accepts: none of them is refused.
    @Test func anEnhancedPolicyIsNotHeldToEighteenInstantRestorePoints() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        var enhanced = TestWorld.dailyPolicy
        enhanced.policyType = .enhanced
        enhanced.instantRestoreRetentionDays = 7
        try platform.createPolicy(name: "enhanced", spec: enhanced)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "enhanced")
        for index in 0..<20 {
            if index > 0 { try platform.advanceClock(by: 300) }
            #expect(try platform.backup(vm: "lnx-pmk").status == .completed)
        }
        #expect(try platform.recoveryPoints(vm: "lnx-pmk").filter { $0.tier.hasPrefix("Snapshot") }.count == 20)
    }

    @Test func aVMHoldsAtMostEighteenInstantRestorePoints() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        var fiveDays = TestWorld.dailyPolicy
        fiveDays.instantRestoreRetentionDays = 5
        try platform.createPolicy(name: "daily-5", spec: fiveDays)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily-5")
        // Each day three Backup now, five minutes apart from midnight (the most a day), and the 02:00
        // scheduled backup: four snapshots a day, each kept five days.
        let start = try platform.now()
        #expect(start == Fixtures.date("2026-01-05T00:00:00Z"))
        func backUpOnDemand(_ count: Int, day: Int) throws {
            for index in 0..<count {
                let time = start.addingTimeInterval(Double(day) * 86400 + Double(index) * 300)
                if time > (try platform.now()) { try platform.setClock(to: time) }
                #expect(try platform.backup(vm: "lnx-pmk").status == .completed)
            }
        }
        for day in 0..<4 {
            try backUpOnDemand(3, day: day)
            let report = try platform.setClock(to: start.addingTimeInterval(Double(day) * 86400 + 2 * 3600))
            #expect(report.jobs.map(\.status) == [.completed])
        }
        try backUpOnDemand(2, day: 4)
        let snapshotTier = { try platform.recoveryPoints(vm: "lnx-pmk").filter { $0.tier.hasPrefix("Snapshot") }.count }
        #expect(try snapshotTier() == 18)
        let perDisk = try diskSnapshotCounts(platform, vm: "lnx-pmk")

        // The nineteenth fails with the service's code; its job is recorded failed and it wrote nothing.
        try platform.advanceClock(by: 300)
        do {
            try platform.backup(vm: "lnx-pmk")
            Issue.record("the nineteenth backup succeeded")
        } catch let error as PlatformError {
            #expect(error.code == "UserErrorRpCollectionLimitReached")
            #expect(error.message.contains("holds 18 instant-restore recovery points"), "\(error.message)")
            #expect(error.message.contains("expires 2026-01-10T00:00:00Z"), "\(error.message)")
            #expect(error.hint?.contains("instantRestoreRetentionDays") == true)
            #expect(error.hint?.contains("2026-01-10T00:00:00Z") == true)
            #expect(!error.retryable)
            let jobID = try #require(error.jobID)
            let job = try #require(try platform.job(id: jobID))
            #expect(job.status == .failed && job.errorCode == "UserErrorRpCollectionLimitReached" && job.recoveryPoint == nil)
        }
        #expect(try snapshotTier() == 18)
        #expect(try platform.recoveryPoints(vm: "lnx-pmk").count == 18)
        #expect(try diskSnapshotCounts(platform, vm: "lnx-pmk") == perDisk)

        // Scheduled backups obey the same rule: the 02:00 job fails and is recorded.
        let oldestExpiry = start.addingTimeInterval(5 * 86400)
        let report = try platform.setClock(to: oldestExpiry.addingTimeInterval(-1))
        #expect(report.jobs.map(\.trigger) == ["Scheduled"])
        #expect(report.jobs.map(\.errorCode) == ["UserErrorRpCollectionLimitReached"])
        expectCode("UserErrorRpCollectionLimitReached") { try platform.backup(vm: "lnx-pmk") }
        #expect(try snapshotTier() == 18)

        // Once the oldest snapshot expires, one backup fits again, and the collection is full once more.
        let expired = try platform.setClock(to: oldestExpiry)
        #expect(expired.expiredSnapshots.count == 1)
        #expect(try snapshotTier() == 17)
        #expect(try platform.backup(vm: "lnx-pmk").status == .completed)
        #expect(try snapshotTier() == 18)
        expectCode("UserErrorRpCollectionLimitReached") { try platform.backup(vm: "lnx-pmk") }
        #expect(try platform.recoveryPoints(vm: "lnx-pmk").count == 19)
        #expect(try platform.jobs(vm: "lnx-pmk").filter { $0.status == .failed }.count == 4)
    }

    /// Three Backup now a day under a Standard policy: the fourth is refused before any job starts, and the
    /// next day takes three again. Failed backups do not count; an Enhanced policy is not held to it.
    @Test func aStandardPolicyTakesThreeOnDemandBackupsADay() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        for _ in 0..<3 {
            #expect(try platform.backup(vm: "lnx-pmk").status == .completed)
            try platform.advanceClock(by: 600)
        }
        let jobs = try platform.jobs(vm: "lnx-pmk").count
        let error = try #require(throws: PlatformError.self) { try platform.backup(vm: "lnx-pmk") }
        #expect(error.code == "CloudDosAbsoluteLimitReached")
        #expect(error.message.contains("backed up on demand 3 times today"), "\(error.message)")
        #expect(error.hint?.contains("tomorrow") == true)
        #expect(try platform.jobs(vm: "lnx-pmk").count == jobs)
        // The next day (UTC), after the 02:00 scheduled backup, three more.
        try platform.setClock(to: Fixtures.date("2026-01-06T00:00:00Z"))
        #expect(try platform.backup(vm: "lnx-pmk").status == .completed)

        var enhanced = TestWorld.dailyPolicy
        enhanced.policyType = .enhanced
        enhanced.instantRestoreRetentionDays = 7
        try platform.createPolicy(name: "enhanced", spec: enhanced)
        try platform.changeProtection(vm: "lnx-pmk", policy: "enhanced")
        for _ in 0..<3 {
            try platform.advanceClock(by: 600)
            #expect(try platform.backup(vm: "lnx-pmk").status == .completed)
        }
    }

    @Test func preconditionsFailTheJobWithTheServiceCodes() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        expectCode("UserErrorBcmDatasourceNotPresent") { try platform.backup(vm: "lnx-pmk") }
        for vm in ["lnx-pmk", "win-ade", "lnx-big", "win-cert"] {
            try platform.enableProtection(vm: vm, vault: "rsv-east", policy: "daily")
        }
        try platform.setAgentState(vm: "lnx-pmk", .stopped)
        expectCode("UserErrorGuestAgentStatusUnavailable") { try platform.backup(vm: "lnx-pmk") }
        try platform.setAgentState(vm: "lnx-pmk", .absent)
        expectCode("UserErrorGuestAgentStatusUnavailable") { try platform.backup(vm: "lnx-pmk") }
        try platform.setAgentState(vm: "lnx-pmk", .running)
        #expect(try platform.backup(vm: "lnx-pmk").status == .completed)
        expectCode("UserErrorUnsupportedDiskSize") { try platform.backup(vm: "lnx-big") }
        // Without the access policy; then with secrets only, which a KEK VM needs keys for too.
        expectCode("UserErrorKeyVaultPermissionsNotConfigured") { try platform.backup(vm: "win-ade") }
        try platform.setAccessPolicy(keyVault: "kv-east", principal: .backupManagementService, keyPermissions: [],
                                     secretPermissions: [.get, .list, .backup])
        expectCode("UserErrorKeyVaultPermissionsNotConfigured") { try platform.backup(vm: "win-ade") }
        try TestWorld.grantBackupAccess(platform)
        expectCode("UserErrorCertificateBackedKeyNotSupported") { try platform.backup(vm: "win-cert") }
        let secret = try #require(try platform.virtualMachines().first { $0.name == "win-ade" }?.bekSecretURL?.split(separator: "/").dropLast().last)
        try platform.deleteSecret(keyVault: "kv-east", name: String(secret))
        expectCode("UserErrorKeyVaultSecretDoesNotExist") { try platform.backup(vm: "win-ade") }
        try platform.recoverDeleted(keyVault: "kv-east", name: String(secret))
        try platform.deleteKey(keyVault: "kv-east", name: "kek")
        expectCode("UserErrorKeyVaultKeyDoesNotExist") { try platform.backup(vm: "win-ade") }
        try platform.recoverDeleted(keyVault: "kv-east", name: "kek")
        #expect(try platform.backup(vm: "win-ade").status == .completed)
        // Every failed attempt is a failed job with its code.
        let failed = try platform.jobs().filter { $0.status == .failed }.map { $0.errorCode ?? "" }
        #expect(failed == ["UserErrorGuestAgentStatusUnavailable", "UserErrorGuestAgentStatusUnavailable", "UserErrorUnsupportedDiskSize",
                           "UserErrorKeyVaultPermissionsNotConfigured", "UserErrorKeyVaultPermissionsNotConfigured",
                           "UserErrorCertificateBackedKeyNotSupported", "UserErrorKeyVaultSecretDoesNotExist",
                           "UserErrorKeyVaultKeyDoesNotExist"])
        #expect(try platform.protectedItem(vm: "lnx-big")?.lastBackupStatus == "Failed")
    }

    @Test func aSecondBackupWhileOneIsInProgressIsRefused() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        nonisolated(unsafe) var nested: (any Error)?
        nonisolated(unsafe) var asked = false
        try platform.backup(vm: "lnx-pmk") { _, _ in
            guard !asked else { return }
            asked = true
            do { try platform.backup(vm: "lnx-pmk") } catch { nested = error }
        }
        #expect(asked)
        #expect((nested as? PlatformError)?.code == "UserErrorBackupOperationInProgress")
        #expect((nested as? PlatformError)?.retryable == true)
        // Once the first finished, the next one runs.
        #expect(try platform.backup(vm: "lnx-pmk").status == .completed)
    }

    @Test func everyDiskKindIsBackedUp() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try TestWorld.grantBackupAccess(platform)
        for vm in ["lnx-ade", "win-cmk", "lnx-unmanaged"] {
            try platform.enableProtection(vm: vm, vault: "rsv-east", policy: "daily")
            #expect(try platform.backup(vm: vm).status == .completed)
            let result = try platform.verify(vm: vm)
            #expect(result.ok, "\(vm): \(result)")
            #expect(result.source == "Vault")
            #expect(result.chunksChecked > 0)
        }
        // A BEK-only VM's points hold its BEK and no KEK; a VM without ADE holds neither.
        let bekOnly = try #require(try platform.recoveryPoints(vm: "lnx-ade").last)
        #expect(bekOnly.hasKeyBackup && !bekOnly.hasKEKBackup && bekOnly.keyBackupContents == "BEK")
        let cmk = try #require(try platform.recoveryPoints(vm: "win-cmk").last)
        #expect(!cmk.hasKeyBackup && cmk.keyBackupContents == nil)
    }

    /// A platform with rsv-east protecting lnx-pmk, backed up once (snapshot and vault).
    func backedUpOnce() throws -> (Platform, TemporaryDirectory) {
        let (platform, directory) = try TestWorld.platform()
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        try platform.backup(vm: "lnx-pmk")
        return (platform, directory)
    }

    /// Backs up lnx-pmk expecting the integrity error for damaged vault data, not a retry.
    func expectIntegrityFailure(_ platform: Platform) throws {
        let error = try #require(throws: PlatformError.self) { try platform.backup(vm: "lnx-pmk") }
        #expect(error.code == "RecoveryPointIntegrityCheckFailed")
        #expect(!error.retryable)
        #expect(error.message.contains("the data of vault 'rsv-east' failed authentication"))
        #expect(!(error.hint ?? "").contains("retry in"))
        #expect((error.underlying as? SnapshotError)?.code == .corrupted)
        let job = try #require(try platform.jobs().first { $0.id == error.jobID })
        #expect(job.status == .failed && job.operation == "Backup")
        #expect(job.errorCode == "RecoveryPointIntegrityCheckFailed")
        #expect(job.errorMessage?.contains("failed authentication") == true)
    }

    @Test func aDamagedVaultIndexFailsTheBackupAsAnIntegrityErrorNotARetry() throws {
        let (platform, directory) = try backedUpOnce()
        defer { withExtendedLifetime(directory) {} }
        try Fixtures.flipByte(inFileAt: directory.path("vaults/rsv-east/store/index"))
        try platform.writeGuest(vm: "lnx-pmk", disk: .os, offset: 0, bytes: [UInt8](repeating: 0x5a, count: 4096))
        try expectIntegrityFailure(platform)
    }

    @Test func aDamagedBaseRecoveryPointFailsTheBackupAsAnIntegrityErrorNotARetry() throws {
        let (platform, directory) = try backedUpOnce()
        defer { withExtendedLifetime(directory) {} }
        // The next backup is incremental from this recovery point, so it reads it.
        try Fixtures.flipByte(inFileAt: try Fixtures.file(in: directory.path("vaults/rsv-east/store/points"), endingWith: ".point"))
        try expectIntegrityFailure(platform)
    }

    @Test func aDamagedDiskOfTheVMFailsTheBackupAsBefore() throws {
        let (platform, directory) = try backedUpOnce()
        defer { withExtendedLifetime(directory) {} }
        let disk = try #require(try platform.pool.read { db in try Platform.disks(db, vm: "lnx-pmk") }.first)
        try Fixtures.flipByte(inFileAt: directory.path("\(disk.path)/device.meta"))
        let error = try #require(throws: PlatformError.self) { try platform.backup(vm: "lnx-pmk") }
        // The disk's own failure, with its cause, not the vault's integrity error.
        #expect(error.code == "PlatformStorageError")
        #expect(error.message.hasPrefix("cannot open disk \(disk.name) of VM lnx-pmk: "))
        #expect((error.underlying as? SnapshotError)?.code == .corrupted)
        let job = try #require(try platform.jobs().first { $0.id == error.jobID })
        #expect(job.status == .failed && job.errorCode == "PlatformStorageError")
    }
}
