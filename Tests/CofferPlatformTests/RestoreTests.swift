import CofferModel
import CofferSnapshot
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

@Suite struct RestoreTests {
    /// A platform with rsv-east (GRS, CRR) protecting `vms`, each backed up once.
    func backedUp(_ vms: [String], operatorType: World.OperatorType = .guest) throws -> (Platform, TemporaryDirectory) {
        let (platform, directory) = try TestWorld.platform(operatorType: operatorType)
        try TestWorld.withVault(platform)
        try TestWorld.grantBackupAccess(platform)
        for vm in vms {
            try platform.enableProtection(vm: vm, vault: "rsv-east", policy: "daily")
            try platform.backup(vm: vm)
        }
        return (platform, directory)
    }

    @Test func restoreDisksOfAnADEVMKeepsTheirEncryption() throws {
        let (platform, directory) = try backedUp(["win-ade"])
        defer { withExtendedLifetime(directory) {} }
        let point = try #require(try platform.recoveryPoints(vm: "win-ade").first)
        try platform.writeGuest(vm: "win-ade", disk: .os, offset: 0, bytes: [UInt8](repeating: 0xee, count: 4096))
        let result = try platform.restore(vm: "win-ade", recoveryPoint: point.id, mode: .restoreDisks)
        #expect(result.source == "Snapshot")
        #expect(result.job.status == .completed && result.job.operation == "Restore" && result.job.trigger == "restore-disks")
        #expect(result.disks.map(\.kind) == ["ManagedDisk", "ManagedDisk"])
        #expect(result.disks.allSatisfy { $0.bekSecretURL != nil && $0.kekURL != nil && $0.resourceGroup == "rg" && $0.region == "eastus" })
        for (disk, recorded) in zip(result.disks, point.disks) {
            #expect(try platform.restoredDiskChecksum(name: disk.name) == recorded.checksum)
        }
        #expect(try platform.readRestoredDisk(name: result.disks[0].name, offset: 0, count: 16) == GuestData.bytes(seed: 1, count: 16))
        for mode in [RestoreMode.createVM, .replaceExisting] {
            expectCode("UserErrorRestoreModeNotSupportedForEncryptedVm") { try platform.restore(vm: "win-ade", recoveryPoint: point.id, mode: mode) }
        }
        expectCode("UserErrorFileRecoveryNotSupportedForEncryptedVm") {
            _ = try platform.recoverItems(vm: "win-ade", recoveryPoint: point.id, disk: .os, offset: 0, count: 1)
        }
        expectCode("UserErrorCrossSubscriptionRestoreNotSupported") {
            try platform.restore(vm: "win-ade", recoveryPoint: point.id, mode: .restoreDisks, target: RestoreTarget(resourceGroup: "rg-other", subscription: "other"))
        }
        expectCode("UserErrorRecoveryPointNotFound") { try platform.restore(vm: "win-ade", recoveryPoint: "123", mode: .restoreDisks) }
    }

    @Test func latestNamesTheNewestRecoveryPoint() throws {
        let (platform, directory) = try backedUp(["win-ade", "lnx-pmk"])
        defer { withExtendedLifetime(directory) {} }
        expectCode("UserErrorRecoveryPointNotFound") { _ = try platform.verify(vm: "win-cmk", recoveryPoint: "latest") }
        try platform.writeGuest(vm: "win-ade", disk: .os, offset: 0, bytes: [UInt8](repeating: 0x5a, count: 4096))
        try platform.backup(vm: "win-ade")
        let newest = try #require(try platform.recoveryPoints(vm: "win-ade").last)
        let result = try platform.restore(vm: "win-ade", recoveryPoint: "latest", mode: .restoreDisks)
        #expect(result.job.recoveryPoint == newest.id)
        #expect(try platform.restoredDiskChecksum(name: result.disks[0].name) == newest.disks[0].checksum)
    }

    @Test func createVMAndReplaceExistingForUnencryptedVMs() throws {
        let (platform, directory) = try backedUp(["lnx-pmk", "win-cmk", "lnx-unmanaged"])
        defer { withExtendedLifetime(directory) {} }
        let point = try #require(try platform.recoveryPoints(vm: "lnx-pmk").first)
        let created = try platform.restore(vm: "lnx-pmk", recoveryPoint: point.id, mode: .createVM,
                                           target: RestoreTarget(resourceGroup: "rg-eu", name: "lnx-copy"))
        #expect(created.vm == "lnx-copy")
        let copy = try #require(try platform.virtualMachines().first { $0.name == "lnx-copy" })
        #expect(copy.resourceGroup == "rg-eu" && copy.region == "eastus" && copy.restoredFrom == point.id && copy.disks.count == 3)
        #expect(try platform.guestChecksums(vm: "lnx-copy") == (try platform.guestChecksums(vm: "lnx-pmk")))
        expectCode("ResourceAlreadyExists") {
            try platform.restore(vm: "lnx-pmk", recoveryPoint: point.id, mode: .createVM, target: RestoreTarget(name: "lnx-copy"))
        }
        // Replace existing: the guest gets its disks back as they were.
        let before = try platform.guestChecksum(vm: "win-cmk", disk: .os)
        try platform.writeGuest(vm: "win-cmk", disk: .os, offset: 0, length: 50_000, seed: 99)
        #expect(try platform.guestChecksum(vm: "win-cmk", disk: .os) != before)
        let cmkPoint = try #require(try platform.recoveryPoints(vm: "win-cmk").first)
        let replaced = try platform.restore(vm: "win-cmk", recoveryPoint: cmkPoint.id, mode: .replaceExisting)
        #expect(replaced.vm == "win-cmk")
        #expect(try platform.guestChecksum(vm: "win-cmk", disk: .os) == before)
        #expect(try platform.virtualMachines().first { $0.name == "win-cmk" }?.disks.first?.encryptionAtRest == "EncryptionAtRestWithCustomerKey")
        // The older snapshot still serves its point, and the next backup works on the new disk.
        #expect(try platform.verify(vm: "win-cmk", recoveryPoint: cmkPoint.id).ok)
        #expect(try platform.backup(vm: "win-cmk").status == .completed)
        // Unmanaged disks: replace is refused, restore-disks makes page blobs.
        let unmanaged = try #require(try platform.recoveryPoints(vm: "lnx-unmanaged").first)
        expectCode("UserErrorReplaceExistingNotSupported") { try platform.restore(vm: "lnx-unmanaged", recoveryPoint: unmanaged.id, mode: .replaceExisting) }
        let blobs = try platform.restore(vm: "lnx-unmanaged", recoveryPoint: unmanaged.id, mode: .restoreDisks)
        #expect(blobs.disks.map(\.kind) == ["PageBlob"])
        // Item-level recovery reads what the guest had.
        #expect(try platform.recoverItems(vm: "lnx-pmk", recoveryPoint: point.id, disk: .os, offset: 100, count: 50)
                == Array(GuestData.bytes(seed: 4, count: 150)[100...]))
    }

    @Test func crossRegionRestoreGoesToThePairedRegionOnly() throws {
        let (platform, directory) = try backedUp(["lnx-ade", "lnx-pmk"])
        defer { withExtendedLifetime(directory) {} }
        let ade = try #require(try platform.recoveryPoints(vm: "lnx-ade").first)
        expectCode("UserErrorCrossRegionRestoreNotSupported") {
            try platform.restore(vm: "lnx-ade", recoveryPoint: ade.id, mode: .restoreDisks, target: RestoreTarget(resourceGroup: "rg-eu", region: "westeurope"))
        }
        // A resource group of the target region, and the BEK in a key vault of that region, are needed first.
        expectCode("BMSUserErrorInvalidInput") {
            try platform.restore(vm: "lnx-ade", recoveryPoint: ade.id, mode: .restoreDisks, target: RestoreTarget(region: "westus"))
        }
        expectCode("BMSUserErrorInvalidInput") {
            try platform.restore(vm: "lnx-ade", recoveryPoint: ade.id, mode: .restoreDisks, target: RestoreTarget(resourceGroup: "rg", region: "westus"))
        }
        expectCode("DiskEncryptionInternalError") {
            try platform.restore(vm: "lnx-ade", recoveryPoint: ade.id, mode: .restoreDisks, target: RestoreTarget(resourceGroup: "rg-west", region: "westus"))
        }
        #expect(try platform.jobs().filter { $0.operation == "Restore" }.isEmpty)
        #expect(try platform.restoreKeys(vm: "lnx-ade", recoveryPoint: ade.id, targetKeyVault: "kv-west").map { [$0.kind, $0.keyVault, $0.action] }
                == [["secret", "kv-west", "restored"]])
        let result = try platform.restore(vm: "lnx-ade", recoveryPoint: ade.id, mode: .restoreDisks,
                                          target: RestoreTarget(resourceGroup: "rg-west", region: "westus"))
        #expect(result.source == "Vault")
        #expect(result.region == "westus")
        #expect(result.disks.allSatisfy { $0.resourceGroup == "rg-west" && $0.bekSecretURL?.hasPrefix("https://kv-west.vault.azure.net/secrets/") == true })
        #expect(try platform.restoredDiskChecksum(name: result.disks[0].name) == ade.disks[0].checksum)
        let pmk = try #require(try platform.recoveryPoints(vm: "lnx-pmk").first)
        expectCode("UserErrorReplaceExistingNotSupported") {
            try platform.restore(vm: "lnx-pmk", recoveryPoint: pmk.id, mode: .replaceExisting, target: RestoreTarget(region: "westus"))
        }
        let vm = try platform.restore(vm: "lnx-pmk", recoveryPoint: pmk.id, mode: .createVM, target: RestoreTarget(resourceGroup: "rg-west", region: "westus"))
        #expect(try platform.virtualMachines().first { $0.name == vm.vm }?.region == "westus")
        // Without cross-region restore on the vault, and for a snapshot-only point.
        try platform.createVault(name: "rsv-lrs", spec: VaultSpec(resourceGroup: "rg", location: "eastus"))
        try platform.createPolicy(name: "daily", spec: { var p = TestWorld.dailyPolicy; p.vault = "rsv-lrs"; return p }())
        try platform.enableProtection(vm: "win-cmk", vault: "rsv-lrs", policy: "daily")
        try platform.backup(vm: "win-cmk")
        let cmk = try #require(try platform.recoveryPoints(vm: "win-cmk").first)
        expectCode("UserErrorCrossRegionRestoreNotSupported") {
            try platform.restore(vm: "win-cmk", recoveryPoint: cmk.id, mode: .restoreDisks, target: RestoreTarget(resourceGroup: "rg-west", region: "westus"))
        }
    }

    @Test func crossRegionRestoreOfADEVMsStaysInTheGeography() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try platform.createVault(name: "rsv-br", spec: VaultSpec(resourceGroup: "rg-br", location: "brazilsouth", crossRegionRestore: true))
        try platform.createPolicy(name: "daily", spec: { var p = TestWorld.dailyPolicy; p.vault = "rsv-br"; return p }())
        try TestWorld.grantBackupAccess(platform, keyVault: "kv-br")
        for vm in ["lnx-br", "lnx-br-pmk"] {
            try platform.enableProtection(vm: vm, vault: "rsv-br", policy: "daily")
            try platform.backup(vm: vm)
        }
        let target = RestoreTarget(resourceGroup: "rg-scus", region: "southcentralus")
        let ade = try #require(try platform.recoveryPoints(vm: "lnx-br").first)
        expectCode("UserErrorCrossRegionRestoreNotSupported") { try platform.restore(vm: "lnx-br", recoveryPoint: ade.id, mode: .restoreDisks, target: target) }
        let pmk = try #require(try platform.recoveryPoints(vm: "lnx-br-pmk").first)
        #expect(try platform.restore(vm: "lnx-br-pmk", recoveryPoint: pmk.id, mode: .restoreDisks, target: target).region == "southcentralus")
    }

    /// A cross-region restore of an ADE point needs its BEK and KEK in a key vault of the target region:
    /// restore-keys --target-key-vault puts them there (a key vault of the subscription and geography, enabled
    /// for disk encryption), and the restore is refused at restore time until both are there.
    @Test func restoreKeysIntoAKeyVaultOfThePairedRegion() throws {
        let (platform, directory) = try backedUp(["win-ade"])
        defer { withExtendedLifetime(directory) {} }
        let point = try #require(try platform.recoveryPoints(vm: "win-ade").first)
        let target = RestoreTarget(resourceGroup: "rg-west", region: "westus")
        expectCode("InvalidArgument") { try platform.restoreKeys(vm: "win-ade", recoveryPoint: point.id, targetKeyVault: "kv-br") }
        expectCode("InvalidArgument") { try platform.restoreKeys(vm: "win-ade", recoveryPoint: point.id, targetKeyVault: "kv-des") }
        expectCode("ResourceNotFound") { try platform.restoreKeys(vm: "win-ade", recoveryPoint: point.id, targetKeyVault: "kv-nowhere") }
        #expect(try platform.keyVaultInfo(named: "kv-west").objects.isEmpty)
        let actions = try platform.restoreKeys(vm: "win-ade", recoveryPoint: point.id, targetKeyVault: "kv-west")
        #expect(actions.map { [$0.kind, $0.keyVault, $0.action] } == [["key", "kv-west", "restored"], ["secret", "kv-west", "restored"]])
        // The secret without its KEK in the target region: refused, naming the key.
        try platform.deleteKey(keyVault: "kv-west", name: "kek")
        let error = try #require(throws: PlatformError.self) { try platform.restore(vm: "win-ade", recoveryPoint: point.id, mode: .restoreDisks, target: target) }
        #expect(error.code == "UserErrorKeyVaultKeyDoesNotExist" && error.message.contains("'kv-west'") && error.jobID == nil)
        #expect(try platform.restoreKeys(vm: "win-ade", recoveryPoint: point.id, targetKeyVault: "kv-west").map(\.action) == ["recovered", "present"])
        let result = try platform.restore(vm: "win-ade", recoveryPoint: point.id, mode: .restoreDisks, target: target)
        #expect(result.disks.allSatisfy { $0.region == "westus" && $0.kekURL?.hasPrefix("https://kv-west.vault.azure.net/keys/kek/") == true })
        for (index, disk) in result.disks.enumerated() {
            #expect(try platform.restoredDiskChecksum(name: disk.name) == point.disks[index].checksum)
        }
        // The key vault of the VM's own region is untouched, and a restore there still unlocks with it.
        #expect(try platform.restoredDiskChecksum(name: try platform.restore(vm: "win-ade", recoveryPoint: point.id, mode: .restoreDisks).disks[0].name)
                == point.disks[0].checksum)
    }

    @Test func restoreKeysRecoversOrRestoresTheBEKAndKEK() throws {
        let (platform, directory) = try backedUp(["win-ade"])
        defer { withExtendedLifetime(directory) {} }
        let point = try #require(try platform.recoveryPoints(vm: "win-ade").first)
        let secret = try #require(try platform.virtualMachines().first { $0.name == "win-ade" }?.bekSecretURL?.split(separator: "/").dropLast().last.map(String.init))
        let restored = try platform.restore(vm: "win-ade", recoveryPoint: point.id, mode: .restoreDisks)
        #expect(try platform.restoreKeys(vm: "win-ade", recoveryPoint: point.id).map(\.action) == ["present", "present"])
        // Soft-deleted: recovered.
        try platform.deleteSecret(keyVault: "kv-east", name: secret)
        try platform.deleteKey(keyVault: "kv-east", name: "kek")
        expectCode("DiskEncryptionInternalError") { _ = try platform.restoredDiskChecksum(name: restored.disks[0].name) }
        #expect(try platform.restoreKeys(vm: "win-ade", recoveryPoint: point.id).map(\.action) == ["recovered", "recovered"])
        #expect(try platform.restoredDiskChecksum(name: restored.disks[0].name) == point.disks[0].checksum)
        // Purged: restored from the recovery point's sealed backups, same names and versions.
        let before = try platform.keyVaultInfo(named: "kv-east").objects.filter { $0.name == secret || $0.name == "kek" }
        try platform.deleteSecret(keyVault: "kv-east", name: secret)
        try platform.deleteKey(keyVault: "kv-east", name: "kek")
        try platform.purge(keyVault: "kv-east", name: secret)
        try platform.purge(keyVault: "kv-east", name: "kek")
        expectCode("DiskEncryptionInternalError") { _ = try platform.restoredDiskChecksum(name: restored.disks[1].name) }
        let actions = try platform.restoreKeys(vm: "win-ade", recoveryPoint: point.id)
        #expect(actions == [KeyRestoreAction(kind: "key", keyVault: "kv-east", name: "kek", action: "restored"),
                            KeyRestoreAction(kind: "secret", keyVault: "kv-east", name: secret, action: "restored")])
        let after = try platform.keyVaultInfo(named: "kv-east").objects.filter { $0.name == secret || $0.name == "kek" }
        #expect(after == before)
        #expect(try platform.restoredDiskChecksum(name: restored.disks[1].name) == point.disks[1].checksum)
        // The VM backs up again with its keys back.
        #expect(try platform.backup(vm: "win-ade").status == .completed)
        expectCode("InvalidArgument") {
            try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
            try platform.backup(vm: "lnx-pmk")
            _ = try platform.restoreKeys(vm: "lnx-pmk", recoveryPoint: try platform.recoveryPoints(vm: "lnx-pmk")[0].id)
        }
    }

    @Test func aSnapshotOnlyPointWithoutItsSnapshotCannotBeRestored() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec)
        try platform.createPolicy(name: "hourly", spec: BackupPolicySpec(
            vault: "rsv-east", policyType: .enhanced,
            schedule: BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 12, hourDuration: 24),
            instantRestoreRetentionDays: 3, retention: RetentionSpec(daily: DailyRetention(count: 7))))
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "hourly")
        try platform.advanceClock(by: 9 * 3600)
        let point = try #require(try platform.recoveryPoints(vm: "lnx-pmk").first)
        #expect(point.tier == "Snapshot")
        // The snapshot disappears behind the service's back.
        let row = try platform.pool.read { db in try RecoveryPointRow.fetchOne(db, key: point.id)! }
        let disk = try platform.pool.read { db in try Platform.disk(db, vm: "lnx-pmk", slot: .os) }
        try platform.openDevice(disk).deleteSnapshot(SnapshotID(row.disks[0].snapshot))
        expectCode("UserErrorInstantRpNotFound") { try platform.restore(vm: "lnx-pmk", recoveryPoint: point.id, mode: .restoreDisks) }
    }

    @Test func restoreKeysRefusesAnotherVersionUnderTheName() throws {
        let (platform, directory) = try backedUp(["lnx-ade"])
        defer { withExtendedLifetime(directory) {} }
        let point = try #require(try platform.recoveryPoints(vm: "lnx-ade").first)
        let secret = try #require(try platform.virtualMachines().first { $0.name == "lnx-ade" }?.bekSecretURL?.split(separator: "/").dropLast().last.map(String.init))
        _ = try platform.pool.write { db in
            try KeyVaultStore.setSecret(db, hsm: platform.hsm, keyVault: "kv-east", name: secret, value: Array("other".utf8),
                                        contentType: "BEK", tags: [:], now: try Platform.now(db))
        }
        expectCode("UserErrorKeyVaultObjectConflict") { _ = try platform.restoreKeys(vm: "lnx-ade", recoveryPoint: point.id) }
    }

    @Test func verifyFindsADamagedVaultCopy() throws {
        let (platform, directory) = try backedUp(["lnx-pmk"])
        defer { withExtendedLifetime(directory) {} }
        #expect(try platform.verify(vm: "lnx-pmk").ok)
        try Fixtures.flipByte(inFileAt: try Fixtures.file(in: directory.path("vaults/rsv-east/store/packs"), endingWith: ".pack"))
        let result = try platform.verify(vm: "lnx-pmk")
        #expect(!result.ok)
        #expect(!result.problems.isEmpty)
        // The scratch space is gone.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: directory.path("scratch")))?.isEmpty ?? true)
    }

    @Test func aDamagedVaultCopyFailsTheRestoreAsAnIntegrityErrorNotARetry() throws {
        let (platform, directory) = try backedUp(["lnx-pmk"])
        defer { withExtendedLifetime(directory) {} }
        let point = try #require(try platform.recoveryPoints(vm: "lnx-pmk").first)
        try Fixtures.flipByte(inFileAt: try Fixtures.file(in: directory.path("vaults/rsv-east/store/packs"), endingWith: ".pack"))
        // Cross-region restore reads the vault tier.
        let error = try #require(throws: PlatformError.self) {
            try platform.restore(vm: "lnx-pmk", recoveryPoint: point.id, mode: .restoreDisks,
                                 target: RestoreTarget(resourceGroup: "rg-west", region: "westus"))
        }
        #expect(error.code == "RecoveryPointIntegrityCheckFailed")
        #expect(!error.retryable)
        #expect(error.message.contains("failed authentication"))
        #expect(!(error.hint ?? "").contains("retry"))
        #expect((error.underlying as? SnapshotError)?.code == .corrupted)
        #expect(error.jobID != nil)
        let job = try #require(try platform.jobs().first { $0.id == error.jobID })
        #expect(job.status == .failed && job.errorCode == "RecoveryPointIntegrityCheckFailed")
    }
}
