import CofferCrypto
import CofferTestSupport
import Foundation
import Testing

@testable import CofferSnapshot

/// The sparse block map: a device of any size up to 32 TiB costs what was written, snapshots and
/// changed-block tracking cost what differs, and devices in the previous (flat map) format still open.
@Suite struct BlockMapTests {
    @Test func aFourTiBDeviceCostsWhatWasWrittenAndItsSnapshotsWhatChanged() throws {
        let directory = try TemporaryDirectory()
        let blockSize = 65536
        let device = try BlockDevice.create(at: directory.path("disk"), size: 4 << 40, blockSize: blockSize)
        var random = SeededGenerator(seed: 8)
        var previous: SnapshotID?
        for round in 0..<10 {
            let block = UInt64(round) * 6_700_001 % (64 << 20)
            try device.write(random.bytes(blockSize), at: block * UInt64(blockSize))
            let snapshot = try device.takeSnapshot()
            #expect(try fileSize(directory.path("disk/snapshots/\(snapshot.rawValue).map")) < 1024)
            let reads = device.dataReadCount
            if let previous { #expect(try device.changedBlocks(from: previous, to: snapshot) == [block]) }
            #expect(try device.changedBlocks(from: nil, to: snapshot).count == round + 1)
            #expect(device.dataReadCount == reads)
            previous = snapshot
        }
        #expect(try fileSize(directory.path("disk/device.meta")) < 1024)
        #expect(try device.allocatedBytes() < 2 << 20)
        // The largest disk: 32 TiB of 64 KiB blocks.
        let largest = try BlockDevice.create(at: directory.path("large"), size: 32 << 40, blockSize: blockSize)
        try largest.write([7], at: (32 << 40) - 1)
        try largest.flush()
        #expect(try largest.read(at: (32 << 40) - 2, count: 2) == [0, 7])
    }

    @Test func mapsShareUnchangedPagesAndCompareOnlyWhatDiffers() {
        var live = BlockMap(blockCount: 1 << 24)
        for block in stride(from: 0, to: 1 << 24, by: 5000) { live[block] = UInt32(block / 5000 + 1) }
        let frozen = live
        live[10_000_001] = 9999
        live[0] = 0
        // Two pages differ (the first is gone, its only block cleared); every other page is the same object.
        let shared = frozen.pages.filter { key, page in live.pages[key] === page }.count
        #expect(shared == frozen.pages.count - 2)
        #expect(BlockMap.difference(from: frozen, to: live) == [0, 10_000_001])
        #expect(frozen[0] == 1 && frozen[10_000_001] == 0 && live.writtenCount == frozen.writtenCount)
        var writer = ByteWriter()
        live.encode(into: &writer)
        var reader = ByteReader(writer.bytes, what: "map")
        let decoded = try? BlockMap.decode(from: &reader, blockCount: 1 << 24)
        #expect(decoded.map { BlockMap.difference(from: $0, to: live) } == [])
    }

    /// A device written by the previous format (a 32-bit slot for every block, in `device.meta` and in
    /// each snapshot's map) opens, reads, keeps copy-on-write, and is rewritten in the new format.
    @Test func aFormatOneDeviceStillOpens() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("disk")
        var random = SeededGenerator(seed: 12)
        let block3 = random.bytes(4096)
        let block0 = random.bytes(4096)
        do {
            let device = try BlockDevice.create(at: path, size: 8 * 4096, blockSize: 4096)
            try device.write(block3, at: 3 * 4096)  // slot 1
            try device.write(block0, at: 0)  // slot 2
            try device.flush()
        }
        // Rewrite the metadata as format 1 wrote it, with a snapshot sharing both slots.
        let current = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + "/device.meta")))
        let header = Array(current[12..<84])  // size, block size, flags, device id, key check, next sequence
        let deviceID = Array(current[28..<44])
        let map: [UInt32] = [2, 0, 0, 1, 0, 0, 0, 0]
        func sealed(_ body: [UInt8]) -> Data { Data(body + SHA256.hash(body)) }
        func words(_ values: [UInt32]) -> [UInt8] { values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } } }
        func string(_ text: String) -> [UInt8] { words([UInt32(text.utf8.count)]) + Array(text.utf8) }
        let snapshot = "snap-000001-legacy"
        let meta = Array("CFDEVMD1".utf8) + words([1]) + header + words([8]) + words(map) + words([1]) + string(snapshot)
        try sealed(meta).write(to: URL(fileURLWithPath: path + "/device.meta"))
        let created = withUnsafeBytes(of: Int64(1_700_000_000_000).littleEndian) { Array($0) }
        let snap = Array("CFSNAPM1".utf8) + words([1]) + deviceID + string(snapshot) + created + words([8]) + words(map)
        try sealed(snap).write(to: URL(fileURLWithPath: path + "/snapshots/\(snapshot).map"))

        let device = try BlockDevice.open(at: path)
        #expect(try device.snapshots() == [SnapshotID(snapshot)])
        #expect(try device.read(at: 0, count: 4096) == block0 && device.read(at: 3 * 4096, count: 4096) == block3)
        #expect(try device.changedBlocks(from: nil, to: SnapshotID(snapshot)) == [0, 3])
        #expect(try device.changedBlocks(since: SnapshotID(snapshot)) == [])
        // Slots the snapshot shares are not written in place.
        try device.write([9, 9], at: 0)
        #expect(try device.read(snapshot: SnapshotID(snapshot), at: 0, count: 4096) == block0)
        #expect(try device.changedBlocks(since: SnapshotID(snapshot)) == [0])
        try device.flush()
        let rewritten = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + "/device.meta")))
        #expect(rewritten[8] == 2)
        _ = consume device
        let reopened = try BlockDevice.open(at: path)
        #expect(try reopened.read(at: 0, count: 3) == [9, 9, block0[2]])
        #expect(try reopened.read(snapshot: SnapshotID(snapshot), at: 3 * 4096, count: 4096) == block3)
    }
}
