import CofferCrypto
import CofferTestSupport
import Foundation
import Testing

@testable import CofferSnapshot

/// A scratch directory with a vault store and devices in it.
final class VaultFixture {
    let directory: TemporaryDirectory
    let masterKey = testKey(32, seed: 100)
    var store: VaultStore

    init() throws {
        directory = try TemporaryDirectory()
        store = try VaultStore.create(at: directory.path("vault"), masterKey: masterKey)
    }

    var storePath: String { directory.path("vault") }

    func reopen() throws -> VaultStore {
        store = try VaultStore.open(at: storePath, masterKey: masterKey)
        return store
    }

    func device(_ name: String, blocks: Int, blockSize: Int = 4096, key: SecureBytes? = nil) throws -> BlockDevice {
        try BlockDevice.create(at: directory.path(name), size: UInt64(blocks * blockSize), blockSize: blockSize, atRestKey: key)
    }

    /// The packs of the store by name, and their total size.
    func packBytes() throws -> Int {
        try filesUnder(storePath + "/packs").reduce(0) { $0 + (try fileSize(storePath + "/packs/" + $1)) }
    }
}

@Suite struct VaultStoreTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func restoresByteForByteAndKeepsHolesSparse(sourceEncrypted: Bool, targetEncrypted: Bool) throws {
        let fixture = try VaultFixture()
        let blockSize = 16384
        let sourceKey = sourceEncrypted ? testKey(64, seed: 11) : nil
        let device = try fixture.device("disk", blocks: 64, blockSize: blockSize, key: sourceKey)
        var random = SeededGenerator(seed: 12)
        try device.write(random.bytes(20 * blockSize), at: 0)  // blocks 0..<20
        try device.write([UInt8](repeating: 0, count: 4 * blockSize), at: UInt64(20 * blockSize))  // written zeros
        try device.write(random.bytes(blockSize / 2), at: UInt64(30 * blockSize + 100))  // part of block 30
        try device.write(random.bytes(blockSize), at: UInt64(63 * blockSize))
        let snapshot = try device.takeSnapshot()
        let expected = try contents(of: device, snapshot: snapshot)
        try device.write(random.bytes(blockSize), at: 0)  // after the snapshot: not in the backup

        var reported: [(UInt64, UInt64)] = []
        let (id, statistics) = try fixture.store.backup(
            [DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: ["vm": "vm-web-01"]
        ) { reported.append(($0, $1)) }
        #expect(statistics.blocksRead == 26)
        #expect(statistics.bytesRead == UInt64(26 * blockSize))
        #expect(statistics.chunksNew == 22)
        #expect(statistics.chunksReused == 0)
        #expect(statistics.holes == 42)
        // The chunks, and one map page (a leaf of 22 entries of 34 bytes after a 13-byte header), each sealed.
        #expect(statistics.mapPagesNew == 1)
        #expect(statistics.bytesUploaded == UInt64(22 * (blockSize + 36 + 28) + (13 + 22 * 34 + 36 + 28)))
        #expect(reported.first! == (0, UInt64(26 * blockSize)) && reported.last! == (UInt64(26 * blockSize), UInt64(26 * blockSize)))
        #expect(zip(reported, reported.dropFirst()).allSatisfy { $0.0 <= $1.0 })

        let info = try fixture.store.recoveryPoint(id)
        #expect(info.metadata == ["vm": "vm-web-01"])
        #expect(info.disks["os"] == RecoveryPointInfo.Disk(size: 64 * 16384, blockSize: blockSize, blockCount: 64, storedBlocks: 22, snapshot: snapshot))

        let targetKey = targetEncrypted ? testKey(64, seed: 13) : nil
        let restored = try fixture.store.restore(id, disk: "os", to: fixture.directory.path("restored"), atRestKey: targetKey)
        #expect(restored.isEncryptedAtRest == targetEncrypted)
        #expect(try contents(of: restored) == expected)
        // Holes stay holes: only the 22 stored blocks take space.
        let data = try allocatedBytes(ofFile: fixture.directory.path("restored/data"))
        #expect(data >= UInt64(22 * blockSize) && data <= UInt64(23 * blockSize))
        _ = consume restored
        let reopened = try BlockDevice.open(at: fixture.directory.path("restored"), atRestKey: targetKey)
        #expect(try contents(of: reopened) == expected)
    }

    @Test func incrementalBackupReadsAndUploadsExactlyTheChangedBlocks() throws {
        let fixture = try VaultFixture()
        let device = try fixture.device("disk", blocks: 128)
        var random = SeededGenerator(seed: 14)
        try device.write(random.bytes(128 * 4096), at: 0)
        let s1 = try device.takeSnapshot()
        let (rp1, first) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: [:])
        #expect(first.blocksRead == 128 && first.chunksNew == 128 && first.blocksUnchanged == 0)

        let changed = [3, 17, 64, 90, 127]
        for block in changed { try device.write(random.bytes(4096), at: UInt64(block * 4096)) }
        let s2 = try device.takeSnapshot()
        let packsBefore = try fixture.packBytes()
        let reads = device.dataReadCount
        let (rp2, second) = try fixture.store.backup(
            [DiskSource(name: "os", device: device, snapshot: s2, base: (s1, rp1))], metadata: [:])
        #expect(second.blocksRead == 5)
        #expect(second.bytesRead == 5 * 4096)
        #expect(second.blocksUnchanged == 123)
        #expect(second.chunksNew == 5)
        #expect(second.chunksReused == 0)
        // The five chunks and the map's one page (a leaf of 128 entries), rewritten.
        let leaf = 13 + 128 * 34 + 36 + 28
        #expect(second.mapPagesNew == 1)
        #expect(second.bytesUploaded == UInt64(5 * (4096 + 36 + 28) + leaf))
        #expect(try fixture.packBytes() - packsBefore == 44 + 5 * (4096 + 36 + 28) + leaf)
        #expect(device.dataReadCount - reads <= 5, "only the changed blocks are read")

        // A block changed to the contents of another block is read but not stored again.
        try device.write(try device.read(at: 0, count: 4096), at: 50 * 4096)
        let s3 = try device.takeSnapshot()
        let (rp3, third) = try fixture.store.backup(
            [DiskSource(name: "os", device: device, snapshot: s3, base: (s2, rp2))], metadata: [:])
        #expect(third.blocksRead == 1 && third.chunksNew == 0 && third.chunksReused == 1)

        for (point, snapshot) in [(rp1, s1), (rp2, s2), (rp3, s3)] {
            let restored = try fixture.store.restore(point, disk: "os", to: fixture.directory.path("r-\(point)"))
            #expect(try contents(of: restored) == contents(of: device, snapshot: snapshot))
        }
    }

    @Test func identicalBlocksAreStoredOnceAcrossDisksAndBackups() throws {
        let fixture = try VaultFixture()
        var random = SeededGenerator(seed: 15)
        let content = random.bytes(16 * 4096)
        let repeated = random.bytes(4096)
        let a = try fixture.device("a", blocks: 32)
        let b = try fixture.device("b", blocks: 32)
        try a.write(content, at: 0)
        try b.write(content, at: 4096)  // the same blocks, at other positions
        for block in [20, 21, 25] { try a.write(repeated, at: UInt64(block * 4096)) }
        let sa = try a.takeSnapshot()
        let sb = try b.takeSnapshot()
        let disks = [DiskSource(name: "os", device: a, snapshot: sa), DiskSource(name: "lun0", device: b, snapshot: sb)]
        let (rp1, first) = try fixture.store.backup(disks, metadata: [:])
        #expect(first.blocksRead == 19 + 16)
        #expect(first.chunksNew == 17)
        #expect(first.chunksReused == 18)
        let packs = try fixture.packBytes()

        let (rp2, second) = try fixture.store.backup(disks, metadata: [:])
        #expect(second.chunksNew == 0 && second.chunksReused == 35 && second.bytesUploaded == 0)
        #expect(try fixture.packBytes() == packs)
        for rp in [rp1, rp2] {
            #expect(try contents(of: fixture.store.restore(rp, disk: "lun0", to: fixture.directory.path("b-\(rp)"))) == contents(of: b, snapshot: sb))
            #expect(try contents(of: fixture.store.restore(rp, disk: "os", to: fixture.directory.path("a-\(rp)"))) == contents(of: a, snapshot: sa))
        }
        #expect(try fixture.store.verify(rp1).chunksChecked == 17)
    }

    @Test func chunkIdentifiersAreKeyedPerStore() throws {
        let fixture = try VaultFixture()
        let other = try VaultStore.create(at: fixture.directory.path("other"), masterKey: fixture.masterKey)
        let device = try fixture.device("disk", blocks: 4)
        try device.write([UInt8](repeating: 0x5a, count: 4096), at: 0)
        let snapshot = try device.takeSnapshot()
        _ = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: [:])
        _ = try other.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: [:])
        let mine = Set(try fixture.store.readIndex().entries.keys)
        let theirs = Set(try other.readIndex().entries.keys)
        #expect(mine.count == 2 && theirs.count == 2)  // the chunk and the map page
        #expect(mine.isDisjoint(with: theirs))
        #expect(!mine.contains(ChunkID(SHA256.hash([UInt8](repeating: 0x5a, count: 4096)))))
    }

    @Test func keysAndArgumentsAreChecked() throws {
        let fixture = try VaultFixture()
        expectError(.wrongKey) { try VaultStore.open(at: fixture.storePath, masterKey: testKey(32, seed: 101)) }
        expectError(.invalidArgument) { try VaultStore.open(at: fixture.storePath, masterKey: testKey(64, seed: 100)) }
        expectError(.alreadyExists) { try VaultStore.create(at: fixture.storePath, masterKey: fixture.masterKey) }
        expectError(.notFound) { try VaultStore.open(at: fixture.directory.path("none"), masterKey: fixture.masterKey) }

        let device = try fixture.device("disk", blocks: 8)
        try device.write([1], at: 0)
        let s1 = try device.takeSnapshot()
        let s2 = try device.takeSnapshot()
        let (rp, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: [:])
        expectError(.invalidArgument) { try fixture.store.backup([], metadata: [:]) }
        expectError(.invalidArgument) {
            try fixture.store.backup(
                [DiskSource(name: "os", device: device, snapshot: s1), DiskSource(name: "os", device: device, snapshot: s2)],
                metadata: [:])
        }
        // The base must be the snapshot the base recovery point was made from, of a disk it holds.
        expectError(.invalidArgument) {
            try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s2, base: (s2, rp))], metadata: [:])
        }
        expectError(.invalidArgument) {
            try fixture.store.backup([DiskSource(name: "lun1", device: device, snapshot: s2, base: (s1, rp))], metadata: [:])
        }
        // Nor can the base come from another device.
        let other = try fixture.device("other", blocks: 8)
        let o2 = try other.takeSnapshot()
        expectError(.invalidArgument) {
            try fixture.store.backup([DiskSource(name: "os", device: other, snapshot: o2, base: (s1, rp))], metadata: [:])
        }
        expectError(.notFound) {
            try fixture.store.backup(
                [DiskSource(name: "os", device: device, snapshot: s2, base: (s1, RecoveryPointID("rp-none")))], metadata: [:])
        }
        expectError(.notFound) { try fixture.store.restore(rp, disk: "lun7", to: fixture.directory.path("x")) }
        expectError(.notFound) { try fixture.store.recoveryPoint(RecoveryPointID("../../etc/passwd")) }
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.path("x")))
    }

    @Test func recoveryPointsAreListedAndDeletedAtomically() throws {
        let fixture = try VaultFixture()
        let device = try fixture.device("disk", blocks: 8)
        var ids: [RecoveryPointID] = []
        for i in 0..<3 {
            try device.write([UInt8(i + 1)], at: 0)
            let snapshot = try device.takeSnapshot()
            ids.append(try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: ["n": "\(i)"]).0)
        }
        #expect(try fixture.store.recoveryPoints().map(\.metadata["n"]) == ["0", "1", "2"])
        #expect(try Set(fixture.store.recoveryPoints().map(\.id)) == Set(ids))
        try fixture.store.deleteRecoveryPoint(ids[1])
        #expect(try fixture.store.recoveryPoints().map(\.id).contains(ids[1]) == false)
        #expect(try fixture.store.recoveryPoints().count == 2)
        expectError(.notFound) { try fixture.store.deleteRecoveryPoint(ids[1]) }
        expectError(.notFound) { try fixture.store.verify(ids[1]) }
        // Deleting only unlinks: the chunks (and each point's map page) stay until garbage collection.
        #expect(try fixture.store.readIndex().entries.count == 6)
    }

    // MARK: Authentication of everything read back

    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case packHeader, entryIdentifier, entryLength, nonce, ciphertext, tag, index, recoveryPoint
        var testDescription: String { rawValue }
    }

    @Test(arguments: Damage.allCases)
    func aFlippedBitIsDetectedByRestoreAndVerify(damage: Damage) throws {
        let fixture = try VaultFixture()
        let blockSize = 4096
        let device = try fixture.device("disk", blocks: 8, blockSize: blockSize)
        var random = SeededGenerator(seed: 16)
        try device.write(random.bytes(3 * blockSize), at: 0)
        let snapshot = try device.takeSnapshot()
        let (id, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: [:])
        #expect(try fixture.store.verify(id).isValid)

        let pack = fixture.storePath + "/packs/" + filesUnder(fixture.storePath + "/packs")[0]
        let entry = 44 + (blockSize + 64)  // the second entry
        switch damage {
        case .packHeader: try flipBit(in: pack, at: 20)
        case .entryIdentifier: try flipBit(in: pack, at: entry + 7)
        case .entryLength: try flipBit(in: pack, at: entry + 33)
        case .nonce: try flipBit(in: pack, at: entry + 36 + 5)
        case .ciphertext: try flipBit(in: pack, at: entry + 36 + 12 + 1000)
        case .tag: try flipBit(in: pack, at: entry + blockSize + 63)
        case .index: try flipBit(in: fixture.storePath + "/index", at: try fileSize(fixture.storePath + "/index") / 2)
        case .recoveryPoint:
            let file = fixture.storePath + "/points/" + filesUnder(fixture.storePath + "/points")[0]
            try flipBit(in: file, at: try fileSize(file) - 40)
        }

        // Restore fails loudly and leaves nothing behind.
        expectError(.corrupted) { try fixture.store.restore(id, disk: "os", to: fixture.directory.path("restored")) }
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.path("restored")))
        switch damage {
        case .index, .recoveryPoint, .packHeader:
            // The point's map page is in the damaged pack too: a map that cannot be read throws.
            expectError(.corrupted) { try fixture.store.verify(id) }
        default:
            let report = try fixture.store.verify(id)
            #expect(!report.problems.isEmpty)
            #expect(report.chunksChecked + report.problems.count == 3)
        }
        if damage == .index {
            // A store opened afresh refuses every operation, backups included.
            let reopened = try VaultStore.open(at: fixture.storePath, masterKey: fixture.masterKey)
            expectError(.corrupted) { try reopened.verify(id) }
            expectError(.corrupted) { try reopened.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: [:]) }
            expectError(.corrupted) { try reopened.collectGarbage() }
        }
        if damage == .recoveryPoint {
            expectError(.corrupted) { try fixture.store.recoveryPoint(id) }
            expectError(.corrupted) { try fixture.store.recoveryPoints() }
        }
    }

    @Test func verifyCatchesAChunkStoredUnderTheWrongIdentifier() throws {
        // Only a holder of the data key can seal a chunk for an identifier; verify still recomputes them all.
        let fixture = try VaultFixture()
        let device = try fixture.device("disk", blocks: 2)
        try device.write([UInt8](repeating: 1, count: 4096), at: 0)
        let snapshot = try device.takeSnapshot()
        let (id, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: [:])
        let (chunk, entry) = try #require(try fixture.store.readIndex().entries.first { $0.value.length == 4096 + 64 })
        let forged = try AES256GCM.seal([UInt8](repeating: 2, count: 4096), key: fixture.store.keys.data, associatedData: chunk.bytes).combined
        let pack = fixture.storePath + "/packs/" + (try fixture.store.readIndex()).packs[Int(entry.pack)] + ".pack"
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: pack))
        try handle.seek(toOffset: entry.offset + 36)
        try handle.write(contentsOf: Data(forged))
        try handle.close()
        let report = try fixture.store.verify(id)
        #expect(report.problems.count == 1 && report.problems[0].contains("does not hash to its identifier"))
    }

    // MARK: Garbage collection

    @Test func garbageCollectionRemovesUnreferencedChunksAndRewritesMostlyDeadPacks() throws {
        let fixture = try VaultFixture()
        let device = try fixture.device("disk", blocks: 16)
        var random = SeededGenerator(seed: 17)
        try device.write(random.bytes(16 * 4096), at: 0)
        let s1 = try device.takeSnapshot()
        let (rp1, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: [:])
        try device.write(random.bytes(12 * 4096), at: 4 * 4096)  // 12 of 16 blocks change
        let s2 = try device.takeSnapshot()
        let (rp2, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s2, base: (s1, rp1))], metadata: [:])
        #expect(try fixture.store.collectGarbage().chunksRemoved == 0)

        try fixture.store.deleteRecoveryPoint(rp1)
        let before = try fixture.packBytes()
        let report = try fixture.store.collectGarbage()
        #expect(report.recoveryPoints == 1)
        // 12 chunks and rp1's map page (a leaf of 16 entries) die; rp2's leaf lives.
        let leaf = 13 + 16 * 34 + 64
        #expect(report.chunksRemoved == 13)
        #expect(report.chunksLive == 17)
        #expect(report.packsRewritten == 1 && report.chunksRelocated == 4 && report.packsDeleted == 1)
        #expect(report.bytesReclaimed == Int64(before - (try fixture.packBytes())))
        #expect(try fixture.packBytes() == 2 * 44 + 16 * (4096 + 64) + leaf)
        #expect(try fixture.store.readIndex().entries.count == 17)
        #expect(try fixture.store.verify(rp2) == VerifyReport(chunksChecked: 16, bytesChecked: 16 * 4096, mapPagesChecked: 1, problems: []))
        let restored = try fixture.store.restore(rp2, disk: "os", to: fixture.directory.path("r"))
        #expect(try contents(of: restored) == contents(of: device, snapshot: s2))

        // Converged: a second run has nothing to do.
        let again = try fixture.store.collectGarbage()
        #expect(again.chunksRemoved == 0 && again.packsDeleted == 0 && again.leftoversRemoved == 0)
    }

    @Test func garbageCollectionKeepsMostlyLivePacksInPlace() throws {
        let fixture = try VaultFixture()
        let device = try fixture.device("disk", blocks: 16)
        var random = SeededGenerator(seed: 18)
        try device.write(random.bytes(16 * 4096), at: 0)
        let s1 = try device.takeSnapshot()
        let (rp1, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: [:])
        try device.write(random.bytes(2 * 4096), at: 0)
        let s2 = try device.takeSnapshot()
        let (rp2, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s2, base: (s1, rp1))], metadata: [:])
        try fixture.store.deleteRecoveryPoint(rp1)
        let packs = filesUnder(fixture.storePath + "/packs")
        let report = try fixture.store.collectGarbage()
        // Two chunks and rp1's map page die; the pack stays, holding them as garbage.
        #expect(report.chunksRemoved == 3 && report.packsRewritten == 0 && report.packsDeleted == 0)
        let garbage: UInt64 = 2 * (4096 + 64) + (13 + 16 * 34 + 64)
        #expect(report.bytesGarbageKept == garbage)
        #expect(filesUnder(fixture.storePath + "/packs") == packs)
        #expect(try fixture.store.readIndex().entries.count == 17)
        #expect(try fixture.store.verify(rp2).isValid)
        // The dead chunks left the index: backing their blocks up again stores them anew.
        try device.write(try device.read(snapshot: s1, at: 0, count: 2 * 4096), at: 0)
        let s3 = try device.takeSnapshot()
        let (_, third) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s3, base: (s2, rp2))], metadata: [:])
        #expect(third.chunksNew == 2)
    }

    @Test func garbageCollectionRemovesLeftoversAndStopsOnAnUnreadablePoint() throws {
        let fixture = try VaultFixture()
        let device = try fixture.device("disk", blocks: 4)
        try device.write([UInt8](repeating: 3, count: 4 * 4096), at: 0)
        let s1 = try device.takeSnapshot()
        let (rp1, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: [:])
        try device.write([UInt8](repeating: 4, count: 4096), at: 0)
        let s2 = try device.takeSnapshot()
        let (rp2, _) = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s2)], metadata: [:])
        try fixture.directory.write("unreferenced", to: "vault/packs/" + String(repeating: "ab", count: 16) + ".pack")
        try fixture.directory.write("half", to: "vault/.index.tmp-0011")
        try fixture.directory.write("half", to: "vault/points/.rp-x.point.tmp-0011")
        let report = try fixture.store.collectGarbage()
        #expect(report.leftoversRemoved == 3 && report.chunksRemoved == 0)
        #expect(filesUnder(fixture.storePath).allSatisfy { !$0.contains(".tmp-") })

        try fixture.store.deleteRecoveryPoint(rp2)
        let file = fixture.storePath + "/points/\(rp1).point"
        try flipBit(in: file, at: 60)
        let packs = filesUnder(fixture.storePath + "/packs")
        let index = try Data(contentsOf: URL(fileURLWithPath: fixture.storePath + "/index"))
        expectError(.corrupted) { try fixture.store.collectGarbage() }
        #expect(filesUnder(fixture.storePath + "/packs") == packs)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.storePath + "/index")) == index)
    }

    @Test func identifiersAreTheirText() throws {
        let snapshot = SnapshotID("snap-000003-9f2c41d0")
        let point = RecoveryPointID(rawValue: "rp-20250301T020000Z-5c1e9a7b03d2f6e4")
        #expect(snapshot == SnapshotID(rawValue: "snap-000003-9f2c41d0") && snapshot != SnapshotID("snap-000004-9f2c41d0"))
        #expect("\(snapshot)" == "snap-000003-9f2c41d0" && point.description == point.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = try encoder.encode(Pair(snapshot: snapshot, point: point))
        #expect(String(decoding: json, as: UTF8.self)
            == #"{"point":"rp-20250301T020000Z-5c1e9a7b03d2f6e4","snapshot":"snap-000003-9f2c41d0"}"#)
        #expect(try JSONDecoder().decode(Pair.self, from: json) == Pair(snapshot: snapshot, point: point))
    }

    struct Pair: Codable, Equatable {
        var snapshot: SnapshotID
        var point: RecoveryPointID
    }
}
