import CofferModel
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

/// The whole story: two ADE VMs (Windows BitLocker with a KEK, Linux dm-crypt with a BEK only), a guest
/// operator, backups failing until the Backup Management Service gets Key Vault access, a month of daily
/// backups with guest writes between, the keys lost from the key vault, restore-keys, restore of the disks
/// in the paired region, and verification of every byte.
@Suite struct ScenarioTests {
    @Test func theWholeStory() throws {
        let (platform, directory) = try TestWorld.platform(operatorType: .guest)
        defer { withExtendedLifetime(directory) {} }
        let vms = ["win-ade", "lnx-ade"]
        try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec)
        try platform.createPolicy(name: "daily", spec: TestWorld.dailyPolicy)
        for vm in vms { try platform.enableProtection(vm: vm, vault: "rsv-east", policy: "daily") }

        // A guest enabled protection: the service has no Key Vault access, so the first night's backups fail.
        let night = try platform.advanceClock(by: 86400)
        #expect(night.jobs.count == 2)
        #expect(night.jobs.allSatisfy { $0.status == .failed && $0.errorCode == "UserErrorKeyVaultPermissionsNotConfigured" })
        try platform.setAccessPolicy(keyVault: "kv-east", principal: .backupManagementService, keyPermissions: [.get, .list, .backup],
                                     secretPermissions: [.get, .list, .backup])

        // A month of daily backups; the guests write every few days.
        var written: [String: [(offset: UInt64, bytes: [UInt8])]] = [
            "win-ade": [(0, GuestData.bytes(seed: 1, count: 200_000))],
            "lnx-ade": [(4096, GuestData.bytes(seed: 3, count: 100_000))],
        ]
        var completed = 0
        for step in 0..<6 {
            for vm in vms {
                let offset = UInt64(8 << 20) + UInt64(step) * 40_000
                let bytes = GuestData.bytes(seed: UInt64(500 + step), count: 50_000)
                try platform.writeGuest(vm: vm, disk: .os, offset: offset, bytes: bytes)
                written[vm]!.append((offset, bytes))
            }
            let report = try platform.advanceClock(by: 5 * 86400)
            #expect(report.jobs.allSatisfy { $0.status == .completed })
            completed += report.jobs.count
        }
        #expect(completed == 60)
        for vm in vms {
            let expected = TestWorld.expectedChecksum(size: 1 << 30, writes: written[vm]!)
            #expect(try platform.guestChecksum(vm: vm, disk: .os) == expected)
            #expect(try platform.recoveryPoints(vm: vm).last?.disks.first?.checksum == expected)
        }

        // The keys are lost: deleted and purged from the key vault. Backups now fail.
        let secrets = try vms.map { vm in
            try #require(try platform.virtualMachines().first { $0.name == vm }?.bekSecretURL?.split(separator: "/").dropLast().last.map(String.init))
        }
        for secret in secrets {
            try platform.deleteSecret(keyVault: "kv-east", name: secret)
            try platform.purge(keyVault: "kv-east", name: secret)
        }
        try platform.deleteKey(keyVault: "kv-east", name: "kek")
        try platform.purge(keyVault: "kv-east", name: "kek")
        expectCode("UserErrorKeyVaultSecretDoesNotExist") { try platform.backup(vm: "win-ade") }

        // Restore the disks of the latest points in the paired region: refused while no key vault there holds
        // their keys; restore-keys puts them into kv-west from the points' sealed backups.
        var restored: [String: RestoreResult] = [:]
        for vm in vms {
            let point = try #require(try platform.recoveryPoints(vm: vm).last)
            let target = RestoreTarget(resourceGroup: "rg-west", region: "westus")
            expectCode("DiskEncryptionInternalError") { try platform.restore(vm: vm, recoveryPoint: point.id, mode: .restoreDisks, target: target) }
            #expect(try platform.restoreKeys(vm: vm, recoveryPoint: point.id, targetKeyVault: "kv-west").allSatisfy { $0.action == "restored" })
            let result = try platform.restore(vm: vm, recoveryPoint: point.id, mode: .restoreDisks, target: target)
            #expect(result.region == "westus" && result.source == "Vault")
            restored[vm] = result
        }

        // restore-keys puts the BEKs and the KEK back into kv-east from the recovery points' sealed backups.
        let winPoint = try #require(try platform.recoveryPoints(vm: "win-ade").last)
        #expect(try platform.restoreKeys(vm: "win-ade", recoveryPoint: winPoint.id).map(\.action) == ["restored", "restored"])
        let lnxPoint = try #require(try platform.recoveryPoints(vm: "lnx-ade").last)
        #expect(try platform.restoreKeys(vm: "lnx-ade", recoveryPoint: lnxPoint.id).map(\.action) == ["restored"])

        // The restored disks (keys in kv-west) decrypt to exactly what the guests had written at the recovery point.
        for vm in vms {
            let disks = restored[vm]!.disks
            let os = try #require(disks.first { $0.disk == .os })
            #expect(try platform.restoredDiskChecksum(name: os.name) == TestWorld.expectedChecksum(size: 1 << 30, writes: written[vm]!))
            let last = written[vm]!.last!
            #expect(try platform.readRestoredDisk(name: os.name, offset: last.offset, count: last.bytes.count) == last.bytes)
            if vm == "win-ade" {
                let data = try #require(disks.first { $0.disk == .lun(0) })
                #expect(try platform.restoredDiskChecksum(name: data.name)
                        == TestWorld.expectedChecksum(size: 1 << 30, writes: [(1 << 20, GuestData.bytes(seed: 2, count: 70_000))]))
            }
            // The oldest and the latest recovery points verify with their own key backups.
            let points = try platform.recoveryPoints(vm: vm)
            #expect(points.count == 10)
            for point in [points.first!, points.last!] {
                #expect(try platform.verify(vm: vm, recoveryPoint: point.id).ok, "\(vm) \(point.id)")
            }
        }
        // With the keys back, backups run again.
        #expect(try platform.backup(vm: "win-ade").status == .completed)
    }
}
