import CofferCrypto
import CofferTestSupport
import Foundation
import Testing

@testable import CofferSnapshot

@Suite struct BlockDeviceTests {
    @Test(arguments: [false, true])
    func readsBackWritesAtAnyOffsetAndLength(encrypted: Bool) throws {
        let directory = try TemporaryDirectory()
        let key = encrypted ? testKey(64, seed: 1) : nil
        let size = 256 * 1024
        let device = try BlockDevice.create(at: directory.path("disk"), size: UInt64(size), blockSize: 16384, atRestKey: key)
        var model = [UInt8](repeating: 0, count: size)
        var random = SeededGenerator(seed: 42)
        // Whole blocks, partial blocks, writes across block and sector boundaries, single bytes, the last byte.
        var writes: [(Int, Int)] = [(0, 16384), (100, 50), (16000, 1000), (4095, 2), (65536 * 2 + 7, 40000), (size - 1, 1)]
        for _ in 0..<40 {
            let offset = Int.random(in: 0..<size, using: &random)
            writes.append((offset, Int.random(in: 1...min(50000, size - offset), using: &random)))
        }
        for (offset, length) in writes {
            let bytes = random.bytes(length)
            try device.write(bytes, at: UInt64(offset))
            model.replaceSubrange(offset..<offset + length, with: bytes)
            let back = try device.read(at: UInt64(offset), count: length)
            #expect(back == bytes)
        }
        #expect(try contents(of: device) == model)
        for _ in 0..<40 {
            let offset = Int.random(in: 0..<size, using: &random)
            let length = Int.random(in: 0...min(70000, size - offset), using: &random)
            #expect(try device.read(at: UInt64(offset), count: length) == Array(model[offset..<offset + length]))
        }
        try device.flush()
        let path = device.path
        _ = consume device
        let reopened = try BlockDevice.open(at: path, atRestKey: key)
        #expect(try contents(of: reopened) == model)
    }

    /// A device closed while another thread starts a process opens again, and is destroyed, at once: the
    /// child shares the device's descriptor (and its lock) only until its exec closes it.
    @Test func aDeviceClosedWhileProcessesStartOpensAgain() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("disk")
        _ = try BlockDevice.create(at: path, size: 1 << 20)
        let stop = SharedFlag()
        let spawner = Thread {
            while !stop.isSet {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/true")
                guard (try? process.run()) != nil else { return }
                process.waitUntilExit()
            }
        }
        spawner.start()
        defer { stop.set() }
        let end = Date().addingTimeInterval(1.5)
        while Date() < end {
            let device = try BlockDevice.open(at: path)
            _ = consume device
        }
        try BlockDevice.destroy(at: path)
    }

    @Test func neverWrittenBlocksReadAsZerosAndTakeNoSpace() throws {
        let directory = try TemporaryDirectory()
        let size: UInt64 = 256 << 20
        let device = try BlockDevice.create(at: directory.path("disk"), size: size, atRestKey: testKey(64, seed: 2))
        #expect(try device.read(at: 0, count: 300_000) == [UInt8](repeating: 0, count: 300_000))
        try device.write([1, 2, 3], at: 100 << 20)
        try device.flush()
        #expect(try device.read(at: (100 << 20) - 2, count: 7) == [0, 0, 1, 2, 3, 0, 0])
        #expect(try device.read(at: size - 65536, count: 65536) == [UInt8](repeating: 0, count: 65536))
        // One block of data in a 256 MiB disk: the data file holds one 64 KiB slot, by stat's allocated blocks.
        let dataBytes = try allocatedBytes(ofFile: directory.path("disk/data"))
        #expect(dataBytes >= 65536 && dataBytes <= 2 * 65536)
        #expect(try device.allocatedBytes() < 65536 + 64 * 1024)
    }

    @Test func atRestLayerIsAESXTSOverLogicalSectors() throws {
        let directory = try TemporaryDirectory()
        let key = testKey(64, seed: 3)
        let device = try BlockDevice.create(at: directory.path("disk"), size: 1 << 20, blockSize: 65536, atRestKey: key)
        let text = Array(String(repeating: "coffer plaintext marker ", count: 4096).utf8.prefix(65536))
        // Logical block 5 lands in slot 1 (offset 0 of the data file).
        try device.write(text, at: 5 * 65536)
        try device.flush()
        let stored = try Array(Data(contentsOf: URL(fileURLWithPath: directory.path("disk/data"))).prefix(65536))
        #expect(stored.count == 65536)
        #expect(stored != text)
        #expect(!Data(stored).contains(Data("coffer plaintext marker".utf8)))
        // dm-crypt's aes-xts-plain64 with 4096-byte sectors over the logical layout decrypts it.
        let xts = try AES256XTS(key: key, sectorSize: .bytes4096)
        var decrypted = stored
        try decrypted.withUnsafeMutableBytes { try xts.decryptSectors($0, firstSector: 5 * 65536 / 4096) }
        #expect(decrypted == text)
        // And the file holds nothing in the clear.
        let all = try Data(contentsOf: URL(fileURLWithPath: directory.path("disk/data")))
        #expect(!all.contains(Data("coffer plaintext marker".utf8)))
    }

    @Test func keysAreCheckedOnOpen() throws {
        let directory = try TemporaryDirectory()
        let encrypted = directory.path("encrypted")
        let plain = directory.path("plain")
        do {
            let device = try BlockDevice.create(at: encrypted, size: 1 << 20, atRestKey: testKey(64, seed: 4))
            try device.write([9], at: 0)
            _ = try BlockDevice.create(at: plain, size: 1 << 20)
        }
        expectError(.wrongKey) { try BlockDevice.open(at: encrypted, atRestKey: testKey(64, seed: 5)) }
        expectError(.wrongKey) { try BlockDevice.open(at: encrypted) }
        expectError(.invalidArgument) { try BlockDevice.open(at: plain, atRestKey: testKey(64, seed: 4)) }
        expectError(.invalidArgument) { try BlockDevice.create(at: directory.path("short"), size: 1 << 20, atRestKey: testKey(32, seed: 4)) }
        let reopened = try BlockDevice.open(at: encrypted, atRestKey: testKey(64, seed: 4))
        #expect(try reopened.read(at: 0, count: 2) == [9, 0])
    }

    @Test func refusesBadArgumentsAndASecondOpen() throws {
        let directory = try TemporaryDirectory()
        expectError(.invalidArgument) { try BlockDevice.create(at: directory.path("a"), size: 1 << 20, blockSize: 3000) }
        expectError(.invalidArgument) { try BlockDevice.create(at: directory.path("b"), size: 1 << 20, blockSize: 2048) }
        expectError(.invalidArgument) { try BlockDevice.create(at: directory.path("c"), size: 100_000, blockSize: 65536) }
        expectError(.invalidArgument) { try BlockDevice.create(at: directory.path("d"), size: 0) }
        let device = try BlockDevice.create(at: directory.path("disk"), size: 1 << 20)
        expectError(.alreadyExists) { try BlockDevice.create(at: directory.path("disk"), size: 1 << 20) }
        expectError(.busy) { try BlockDevice.open(at: directory.path("disk")) }
        expectError(.busy) { try BlockDevice.destroy(at: directory.path("disk")) }
        expectError(.invalidArgument) { try device.read(at: (1 << 20) - 10, count: 11) }
        expectError(.invalidArgument) { try device.write([1, 2], at: (1 << 20) - 1) }
        expectError(.invalidArgument) { try device.read(at: UInt64.max - 2, count: 10) }
        expectError(.notFound) { try device.read(snapshot: SnapshotID("snap-000009-00000000"), at: 0, count: 1) }
        expectError(.notFound) { try BlockDevice.open(at: directory.path("nothing")) }
        _ = consume device
        try BlockDevice.destroy(at: directory.path("disk"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("disk")))
    }

    @Test(arguments: [false, true])
    func snapshotsNeverChangeAndCostNoData(encrypted: Bool) throws {
        let directory = try TemporaryDirectory()
        let key = encrypted ? testKey(64, seed: 6) : nil
        let blockSize = 16384
        let device = try BlockDevice.create(at: directory.path("disk"), size: 64 * 16384, blockSize: blockSize, atRestKey: key)
        var random = SeededGenerator(seed: 7)
        let first = random.bytes(32 * blockSize)
        try device.write(first, at: 0)
        try device.flush()
        let dataBefore = try allocatedBytes(ofFile: directory.path("disk/data"))
        let s1 = try device.takeSnapshot()
        // A snapshot copies the map, not the data.
        #expect(try allocatedBytes(ofFile: directory.path("disk/data")) == dataBefore)

        // Overwrites of whole blocks, partial blocks and a range across blocks go to new slots.
        var live = first + [UInt8](repeating: 0, count: 32 * blockSize)
        for (offset, length) in [(0, blockSize), (3 * blockSize + 100, 10), (10 * blockSize - 5, 3 * blockSize), (40 * blockSize, 7)] {
            let bytes = random.bytes(length)
            try device.write(bytes, at: UInt64(offset))
            live.replaceSubrange(offset..<offset + length, with: bytes)
        }
        let s2 = try device.takeSnapshot()
        try device.write(random.bytes(blockSize), at: 0)
        #expect(try contents(of: device, snapshot: s1) == first + [UInt8](repeating: 0, count: 32 * blockSize))
        #expect(try contents(of: device, snapshot: s2) == live)
        #expect(try device.snapshots() == [s1, s2])

        // Reopening rebuilds the reference counts: a write after reopening must not touch the snapshots.
        try device.flush()
        let path = device.path
        _ = consume device
        let reopened = try BlockDevice.open(at: path, atRestKey: key)
        #expect(try reopened.snapshots() == [s1, s2])
        for offset in stride(from: 0, to: 64 * blockSize, by: 5 * blockSize) {
            try reopened.write(random.bytes(blockSize), at: UInt64(offset))
        }
        #expect(try contents(of: reopened, snapshot: s1) == first + [UInt8](repeating: 0, count: 32 * blockSize))
        #expect(try contents(of: reopened, snapshot: s2) == live)
    }

    @Test func deletingSnapshotsFreesTheirSpace() throws {
        let directory = try TemporaryDirectory()
        let blockSize = 65536
        let device = try BlockDevice.create(at: directory.path("disk"), size: 64 * 65536, blockSize: blockSize)
        var random = SeededGenerator(seed: 8)
        try device.write(random.bytes(64 * blockSize), at: 0)
        let s1 = try device.takeSnapshot()
        try device.write(random.bytes(64 * blockSize), at: 0)  // every block copied on write
        let s2 = try device.takeSnapshot()
        let kept = try contents(of: device, snapshot: s2)
        try device.write(random.bytes(32 * blockSize), at: 0)
        try device.flush()
        let full = try allocatedBytes(ofFile: directory.path("disk/data"))
        #expect(full >= UInt64(160 * blockSize))

        try device.deleteSnapshot(s1)
        let afterFirst = try allocatedBytes(ofFile: directory.path("disk/data"))
        #expect(afterFirst <= full - UInt64(64 * blockSize))
        #expect(try contents(of: device, snapshot: s2) == kept)
        expectError(.notFound) { try device.deleteSnapshot(s1) }

        // Freed slots are reused before the file grows.
        try device.write(random.bytes(32 * blockSize), at: 0)
        try device.flush()
        #expect(try allocatedBytes(ofFile: directory.path("disk/data")) == afterFirst)

        try device.deleteSnapshot(s2)
        #expect(try allocatedBytes(ofFile: directory.path("disk/data")) <= UInt64(64 * blockSize))
        #expect(try device.snapshots() == [])
        #expect(filesUnder(directory.path("disk/snapshots")) == [])
    }

    @Test func changedBlocksComeFromMetadataAlone() throws {
        let directory = try TemporaryDirectory()
        let blockSize = 4096
        let device = try BlockDevice.create(at: directory.path("disk"), size: 256 * 4096, blockSize: blockSize)
        var random = SeededGenerator(seed: 9)
        for block in [0, 1, 2, 7, 100, 255] { try device.write(random.bytes(blockSize), at: UInt64(block * blockSize)) }
        let s1 = try device.takeSnapshot()
        try device.write(random.bytes(10), at: UInt64(7 * blockSize + 5))  // partial write
        try device.write(random.bytes(2 * blockSize), at: UInt64(50 * blockSize - 1))  // touches 49, 50, 51
        try device.write(random.bytes(blockSize), at: 0)
        let s2 = try device.takeSnapshot()
        try device.write([1], at: UInt64(200 * blockSize))
        try device.write([1], at: 0)

        let reads = device.dataReadCount
        #expect(try device.changedBlocks(from: nil, to: s1) == [0, 1, 2, 7, 100, 255])
        #expect(try device.changedBlocks(from: s1, to: s2) == [0, 7, 49, 50, 51])
        #expect(try device.changedBlocks(from: s2, to: s2) == [])
        #expect(try device.changedBlocks(since: s2) == [0, 200])
        #expect(try device.changedBlocks(since: s1) == [0, 7, 49, 50, 51, 200])
        #expect(device.dataReadCount == reads, "changed-block tracking must not read block contents")
        // A block rewritten with the same bytes still counts as changed (may differ), never the reverse.
        let same = try device.read(at: UInt64(100 * blockSize), count: blockSize)
        try device.write(same, at: UInt64(100 * blockSize))
        #expect(try device.changedBlocks(since: s2) == [0, 100, 200])
    }

    /// Opens a device this test just closed. Other tests in the process start subprocesses; between the
    /// spawn and its exec the child holds copies of every descriptor (close-on-exec ones too), and with them
    /// the device's lock, for a few milliseconds: wait those out, a bounded number of times.
    private func reopenAfterClose(_ path: String) throws -> BlockDevice {
        for _ in 0..<50 {
            do {
                return try BlockDevice.open(at: path)
            } catch let error as SnapshotError where error.code == .busy {
                usleep(20_000)
            }
        }
        return try BlockDevice.open(at: path)
    }

    @Test func aSnapshotInterruptedAtAnyStepLeavesTheOldStateOrTheNew() throws {
        // Record the steps of one snapshot, then crash after each of them in turn.
        var steps: [String] = []
        do {
            let directory = try TemporaryDirectory()
            let device = try makeDeviceForCrash(at: directory.path("disk"))
            device.faultInjector = { steps.append($0) }
            _ = try device.takeSnapshot()
        }
        #expect(steps.contains("snapshot.map.rename") && steps.contains("device.meta.rename"))
        for k in steps.indices {
            let directory = try TemporaryDirectory()
            var device: BlockDevice? = try makeDeviceForCrash(at: directory.path("disk"))
            let before = try contents(of: device!)
            var calls = 0
            device!.faultInjector = { step in
                defer { calls += 1 }
                if calls == k { throw InjectedCrash(step: step) }
            }
            #expect(throws: InjectedCrash.self) { try device!.takeSnapshot() }
            device!.faultInjector = { _ in throw InjectedCrash(step: "deinit") }  // no flush at "crash"
            device = nil
            let reopened = try reopenAfterClose(directory.path("disk"))
            let snapshots = try reopened.snapshots()
            let committed = k >= steps.firstIndex(of: "device.meta.rename")!
            #expect(snapshots.count == (committed ? 1 : 0), "after step \(k) \(steps[k])")
            #expect(try contents(of: reopened) == before)
            if let s = snapshots.first { #expect(try contents(of: reopened, snapshot: s) == before) }
            // No leftover temporary or orphan map files.
            #expect(filesUnder(directory.path("disk")).allSatisfy { !$0.contains(".tmp-") })
            #expect(filesUnder(directory.path("disk/snapshots")).count == snapshots.count)
            // And the device works on.
            let s = try reopened.takeSnapshot()
            try reopened.write([7], at: 0)
            #expect(try reopened.read(snapshot: s, at: 0, count: Int(reopened.size)) == before)
        }
    }

    private func makeDeviceForCrash(at path: String) throws -> BlockDevice {
        let device = try BlockDevice.create(at: path, size: 16 * 4096, blockSize: 4096)
        var random = SeededGenerator(seed: 10)
        try device.write(random.bytes(8 * 4096), at: 0)
        try device.flush()
        return device
    }

    @Test func blocksTouchedByARange() {
        let geometry = BlockGeometry(blockSize: 4096)
        #expect(geometry.blocks(offset: 0, length: 1) == 0..<1)
        #expect(geometry.blocks(offset: 4095, length: 2) == 0..<2)
        #expect(geometry.blocks(offset: 4096, length: 4096) == 1..<2)
        #expect(geometry.blocks(offset: 100, length: 0) == 0..<0)
    }
}

/// A flag one thread sets and another reads.
private final class SharedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
