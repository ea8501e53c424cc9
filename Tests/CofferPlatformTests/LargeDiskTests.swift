import CofferModel
import CofferSnapshot
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

/// A VM with a 4095 GiB data disk (the largest Azure VM backup takes) and a few scattered writes: every
/// operation costs what was written or changed, never the provisioned size.
@Suite struct LargeDiskTests {
    /// The files under a directory and their total size.
    static func totalBytes(_ path: String) throws -> Int {
        let files = FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []
        return try files.reduce(0) { total, name in
            let attributes = try FileManager.default.attributesOfItem(atPath: path + "/" + name)
            guard attributes[.type] as? FileAttributeType == .typeRegular else { return total }
            return total + ((attributes[.size] as? NSNumber)?.intValue ?? 0)
        }
    }

    @Test func tenScatteredWritesOnA4095GiBDiskTransferAndStoreUnderAMebibyte() throws {
        var world = TestWorld.world()
        world.virtualMachines = [
            .init(name: "lnx-4t", os: .linux, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 30),
                  dataDisks: [.init(lun: 0, sizeGiB: 4095)]),
        ]
        let directory = try TemporaryDirectory(prefix: "coffer-large")
        let platform = try Platform.create(stateDirectory: directory.path("state"), world: world)
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-4t", vault: "rsv-east", policy: "daily")

        // Ten scattered 64 KiB guest writes (640 KiB) over the 4095 GiB disk.
        let disk: UInt64 = 4095 << 30
        var writes: [(offset: UInt64, bytes: [UInt8])] = []
        for k in 0..<10 {
            let offset = (UInt64(k) * 409 << 30) + UInt64(k) * 7 * 65536
            writes.append((offset, GuestData.bytes(seed: UInt64(100 + k), count: 65536)))
            try platform.writeGuest(vm: "lnx-4t", disk: .lun(0), offset: offset, bytes: writes[k].bytes)
        }
        let clock = ContinuousClock()
        var start = clock.now
        let first = try platform.backup(vm: "lnx-4t")
        #expect(first.status == .completed)
        #expect(first.bytesTransferred > 640 << 10 && first.bytesTransferred < 1 << 20)
        let store = directory.path("state/vaults/rsv-east/store")
        #expect(try Self.totalBytes(store) < 1 << 20)
        #expect(clock.now - start < .seconds(5))

        // One more block changes: the next backup moves that block and a few map pages.
        let extra = (UInt64(5) * 409 << 30) + 3 * 65536
        try platform.writeGuest(vm: "lnx-4t", disk: .lun(0), offset: extra, bytes: GuestData.bytes(seed: 200, count: 65536))
        writes.append((extra, GuestData.bytes(seed: 200, count: 65536)))
        let second = try platform.backup(vm: "lnx-4t")
        #expect(second.status == .completed && second.bytesTransferred < 80 << 10)

        // The point holds exactly what the guest wrote.
        let point = try #require(try platform.recoveryPoints(vm: "lnx-4t").last)
        #expect(point.disks[1].checksum == TestWorld.expectedChecksum(size: disk, writes: writes))
        start = clock.now
        let result = try platform.verify(vm: "lnx-4t", recoveryPoint: point.id)
        #expect(result.ok, "\(result)")
        #expect(clock.now - start < .seconds(5))

        // A week of scheduled backups and retention: 15 points of a few pages each.
        start = clock.now
        _ = try platform.advanceClock(by: 7 * 86400)
        #expect(clock.now - start < .seconds(20))
        #expect(try platform.recoveryPoints(vm: "lnx-4t").count >= 8)
        #expect(try Self.totalBytes(store) < 2 << 20)
    }
}
