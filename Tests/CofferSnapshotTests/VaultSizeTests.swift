import CofferCrypto
import CofferTestSupport
import Foundation
import Testing

@testable import CofferSnapshot

/// Disks of real sizes (4 TiB, sparse): every cost follows what was written or changed, not the disk's size.
@Suite struct VaultSizeTests {
    static let fourTiB: UInt64 = 4 << 40
    static let blockSize = 65536

    /// A 4 TiB device with `count` 64 KiB blocks of random data written at scattered places.
    static func scatteredDisk(
        _ fixture: VaultFixture, count: Int, seed: UInt64 = 1, key: SecureBytes? = nil
    ) throws -> (BlockDevice, [UInt64]) {
        let device = try BlockDevice.create(
            at: fixture.directory.path("disk"), size: fourTiB, blockSize: blockSize, atRestKey: key)
        var random = SeededGenerator(seed: seed)
        var blocks = Set<UInt64>()
        while blocks.count < count { blocks.insert(UInt64.random(in: 0..<(fourTiB / UInt64(blockSize)), using: &random)) }
        for block in blocks { try device.write(random.bytes(blockSize), at: block * UInt64(blockSize)) }
        return (device, blocks.sorted())
    }

    /// Every file's size under a directory.
    static func totalBytes(_ path: String) throws -> Int {
        try filesUnder(path).reduce(0) { $0 + (try fileSize(path + "/" + $1)) }
    }

    /// The map pages of a recovery point's disk.
    static func mapPages(_ store: VaultStore, _ id: RecoveryPointID) throws -> Set<ChunkID> {
        var pages = Set<ChunkID>()
        try store.shared {
            let record = try store.loadPoint(id)
            let reader = PackReader(directory: store.packsDirectory, storeID: store.storeID)
            try store.walk(record.disks[0].map, disk: "os", reader: reader, enter: { pages.insert($0).inserted }) { _ in }
        }
        return pages
    }

    @Test func tenScatteredWritesOnA4TiBDiskBackUpRestoreAndCollectInUnderAMebibyte() throws {
        let fixture = try VaultFixture()
        let atRest = testKey(64, seed: 3)
        let (device, blocks) = try Self.scatteredDisk(fixture, count: 10, key: atRest)
        // The device itself costs what was written: its metadata is a few runs, not a map of 64 Mi blocks.
        #expect(try device.allocatedBytes() < 1 << 20)
        let snapshot = try device.takeSnapshot()
        #expect(try fileSize(fixture.directory.path("disk") + "/device.meta") < 4096)
        #expect(try device.changedBlocks(from: nil, to: snapshot) == blocks)

        let clock = ContinuousClock()
        let start = clock.now
        let (rp, statistics) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: [:])
        #expect(statistics.blocksRead == 10 && statistics.chunksNew == 10)
        #expect(statistics.holes == Int(Self.fourTiB) / Self.blockSize - 10)
        #expect(statistics.bytesUploaded < 1 << 20)
        #expect(try Self.totalBytes(fixture.storePath) < 1 << 20)
        let info = try fixture.store.recoveryPoint(rp)
        #expect(info.disks["os"]?.storedBlocks == 10 && info.disks["os"]?.blockCount == 64 << 20)

        // Restore writes a sparse disk: the ten blocks, byte for byte, and nothing else allocated.
        let restored = try fixture.store.restore(rp, disk: "os", to: fixture.directory.path("restored"), atRestKey: atRest)
        #expect(try restored.allocatedBytes() < 1 << 20)
        for block in blocks {
            #expect(try restored.read(at: block * UInt64(Self.blockSize), count: Self.blockSize)
                == device.read(snapshot: snapshot, at: block * UInt64(Self.blockSize), count: Self.blockSize))
        }
        let restoredSnapshot = try restored.takeSnapshot()
        #expect(try restored.changedBlocks(from: nil, to: restoredSnapshot) == blocks)

        let report = try fixture.store.verify(rp)
        #expect(report.isValid && report.chunksChecked == 10 && report.mapPagesChecked >= 3)
        try fixture.store.deleteRecoveryPoint(rp)
        let gc = try fixture.store.collectGarbage()
        #expect(gc.chunksRemoved == 10 + statistics.mapPagesNew && gc.chunksLive == 0)
        // Backup, restore, verify and collection of a nearly empty 4 TiB disk: well under a second together.
        #expect(clock.now - start < .seconds(5))
    }

    @Test(arguments: [1, 10, 100, 400])
    func aPointCostsAConstantPlusASmallMultipleOfItsWrittenBlocks(count: Int) throws {
        let fixture = try VaultFixture()
        let (device, _) = try Self.scatteredDisk(fixture, count: count, seed: UInt64(count))
        let snapshot = try device.takeSnapshot()
        let (rp, statistics) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: [:])
        let chunkBytes = count * (Self.blockSize + Pack.entryHeaderSize + Seal.overhead)
        let mapBytes = Int(statistics.bytesUploaded) - chunkBytes
        // A scattered block costs at most a leaf and an inner page of its own (each 13 bytes of header, a
        // 34-byte entry, 28 of sealing and a 36-byte pack entry header) and a 34-byte entry in the root.
        #expect(mapBytes > 0 && mapBytes <= 512 + 256 * count, "\(mapBytes) bytes of map for \(count) blocks")
        #expect(try fileSize(fixture.storePath + "/points/\(rp.rawValue).point") < 512)
        #expect(try fixture.packBytes() == Pack.headerSize + Int(statistics.bytesUploaded))
    }

    @Test func twoPointsDifferingByOneBlockShareAllButTheirPathsPages() throws {
        let fixture = try VaultFixture()
        let (device, blocks) = try Self.scatteredDisk(fixture, count: 1200)
        let s1 = try device.takeSnapshot()
        let (rp1, first) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: [:])
        let pages1 = try Self.mapPages(fixture.store, rp1)
        #expect(pages1.count == first.mapPagesNew && pages1.count > 1000)

        var random = SeededGenerator(seed: 99)
        try device.write(random.bytes(Self.blockSize), at: blocks[700] * UInt64(Self.blockSize))
        let s2 = try device.takeSnapshot()
        #expect(try device.changedBlocks(from: s1, to: s2) == [blocks[700]])
        let start = ContinuousClock.now
        let (rp2, second) = try fixture.store.backup(
            [DiskSource(name: "os", device: device, snapshot: s2, base: (s1, rp1))], metadata: [:])
        let elapsed = ContinuousClock.now - start
        let pages2 = try Self.mapPages(fixture.store, rp2)
        // A 4 TiB disk's map is three levels deep: the leaf, its parent and the root change, nothing else.
        let height = MapPage.height(blockCount: Int(Self.fourTiB) / Self.blockSize)
        #expect(height == 2)
        #expect(pages2.subtracting(pages1).count == height + 1)
        #expect(pages1.subtracting(pages2).count == height + 1)
        #expect(second.mapPagesNew == height + 1 && second.chunksNew == 1 && second.blocksRead == 1)
        #expect(elapsed < .seconds(1), "incremental backup took \(elapsed)")

        let restored = try fixture.store.restore(rp2, disk: "os", to: fixture.directory.path("restored"))
        for block in [blocks[0], blocks[700], blocks[1199]] {
            let offset = block * UInt64(Self.blockSize)
            #expect(try restored.read(at: offset, count: Self.blockSize) == device.read(snapshot: s2, at: offset, count: Self.blockSize))
        }
        #expect(try fixture.store.verify(rp2).chunksChecked == 1200)
        // Deleting the first point frees its one changed chunk and its three pages, nothing else.
        try fixture.store.deleteRecoveryPoint(rp1)
        let gc = try fixture.store.collectGarbage()
        #expect(gc.chunksRemoved == 1 + height + 1)
        #expect(try fixture.store.verify(rp2).isValid)
    }

    @Test(arguments: [0, 1])
    func aFlippedByteInAMapPageFailsLoudly(level: Int) throws {
        let fixture = try VaultFixture()
        let (device, _) = try Self.scatteredDisk(fixture, count: 5)
        let s1 = try device.takeSnapshot()
        let (rp, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: [:])
        // Damage the root (which every reader needs) or a leaf (the last page the walk enters).
        let store = fixture.store
        var target = ChunkID.hole
        try store.shared {
            guard case .tree(let root, _, _) = try store.loadPoint(rp).disks[0].map else { return }
            target = root
            if level == 1 {
                let reader = PackReader(directory: store.packsDirectory, storeID: store.storeID)
                try store.walk(try store.loadPoint(rp).disks[0].map, disk: "os", reader: reader, enter: { target = $0; return true }) { _ in }
            }
        }
        let entry = try #require(try store.readIndex().entries[target])
        let pack = fixture.storePath + "/packs/" + (try store.readIndex().packs[Int(entry.pack)]) + ".pack"
        try flipBit(in: pack, at: Int(entry.offset) + Pack.entryHeaderSize + 12 + 5)

        expectError(.corrupted) { try store.restore(rp, disk: "os", to: fixture.directory.path("restored")) }
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.path("restored")))
        expectError(.corrupted) { try store.verify(rp) }
        expectError(.corrupted) { try store.collectGarbage() }
        if level == 0 {
            // An incremental backup reads the base's root: it stops rather than build on a damaged map.
            try device.write([1, 2, 3], at: 0)
            let s2 = try device.takeSnapshot()
            expectError(.corrupted) {
                try store.backup([DiskSource(name: "os", device: device, snapshot: s2, base: (s1, rp))], metadata: [:])
            }
        }
    }

    /// A store as the previous format left it (recovery points listing every block's chunk) still lists,
    /// restores, verifies, collects, and serves as the base of an incremental backup in the new format.
    @Test func formatOnePointsAreStillRead() throws {
        let fixture = try VaultFixture()
        let device = try fixture.device("disk", blocks: 64)
        var random = SeededGenerator(seed: 5)
        try device.write(random.bytes(20 * 4096), at: 0)
        try device.write(random.bytes(4096), at: 50 * 4096)
        let s1 = try device.takeSnapshot()
        let (tree, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: ["k": "v"])
        // The same point as format 1 wrote it: every block's chunk, holes as zeros.
        let store = fixture.store
        let legacy = RecoveryPointID("rp-legacy")
        try store.exclusive {
            var record = try store.loadPoint(tree)
            var chunks = [ChunkID](repeating: .hole, count: 64)
            let reader = PackReader(directory: store.packsDirectory, storeID: store.storeID)
            try store.walk(record.disks[0].map, disk: "os", reader: reader) { for (block, id) in $0 { chunks[block] = id } }
            record.id = legacy
            record.disks[0].map = .flat(chunks)
            try store.writePoint(record)
        }
        try store.deleteRecoveryPoint(tree)
        let pointFile = fixture.storePath + "/points/rp-legacy.point"
        #expect(try fileSize(pointFile) > 64 * 32)
        _ = try store.collectGarbage()
        #expect(try store.recoveryPoints().map(\.id) == [legacy])
        #expect(try store.recoveryPoint(legacy).disks["os"]?.storedBlocks == 21)
        #expect(try store.verify(legacy) == VerifyReport(chunksChecked: 21, bytesChecked: 21 * 4096, mapPagesChecked: 0, problems: []))
        #expect(try contents(of: store.restore(legacy, disk: "os", to: fixture.directory.path("r1"))) == contents(of: device, snapshot: s1))

        try device.write(random.bytes(4096), at: 30 * 4096)
        let s2 = try device.takeSnapshot()
        let (rp2, statistics) = try store.backup(
            [DiskSource(name: "os", device: device, snapshot: s2, base: (s1, legacy))], metadata: [:])
        #expect(statistics.blocksRead == 1 && statistics.chunksNew == 1 && statistics.mapPagesNew == 1)
        #expect(try fileSize(fixture.storePath + "/points/\(rp2.rawValue).point") < 512)
        #expect(try contents(of: store.restore(rp2, disk: "os", to: fixture.directory.path("r2"))) == contents(of: device, snapshot: s2))
        try store.deleteRecoveryPoint(legacy)
        #expect(try store.collectGarbage().chunksRemoved == 0)
        #expect(try store.verify(rp2).isValid)
    }
}
