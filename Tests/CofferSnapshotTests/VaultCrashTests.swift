import CofferCrypto
import CofferTestSupport
import Foundation
import Testing

@testable import CofferSnapshot

/// Crashes injected after every write step of a backup and of a garbage collection: each must leave a store
/// whose committed recovery points all verify, and the next run must succeed and converge.
@Suite struct VaultCrashTests {
    /// A store with one recovery point of 32 written blocks, a second snapshot with 10 changed blocks, and
    /// packs of at most three chunks so that a backup writes several. The disk is 32 blocks of 4 KiB (a map of
    /// one page), or `large`: 4 TiB of 64 KiB blocks with the 32 scattered (a map of three levels, a leaf
    /// per block).
    struct Scene {
        let fixture: VaultFixture
        let device: BlockDevice
        let places: [UInt64]
        let s1: SnapshotID
        let s2: SnapshotID
        let rp1: RecoveryPointID

        init(changedBlocks: Range<Int> = 0..<10, large: Bool = false) throws {
            fixture = try VaultFixture()
            let blockSize = large ? 65536 : 4096
            fixture.store.packSizeLimit = Pack.headerSize + 3 * (blockSize + 64)
            device = large
                ? try BlockDevice.create(at: fixture.directory.path("disk"), size: 4 << 40, blockSize: blockSize)
                : try fixture.device("disk", blocks: 32)
            places = large ? (0..<32).map { UInt64($0) * 2_000_003 % (64 << 20) } : (0..<32).map { UInt64($0) }
            var random = SeededGenerator(seed: 21)
            for place in places { try device.write(random.bytes(blockSize), at: place * UInt64(blockSize)) }
            s1 = try device.takeSnapshot()
            rp1 = try fixture.store.backup([DiskSource(name: "os", device: device, snapshot: s1)], metadata: [:]).0
            for k in changedBlocks { try device.write(random.bytes(blockSize), at: places[k] * UInt64(blockSize)) }
            s2 = try device.takeSnapshot()
        }

        /// Restores `rp` and checks it holds s2's written blocks, and nothing else takes space.
        func expectRestores(_ store: VaultStore, _ rp: RecoveryPointID, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let restored = try store.restore(rp, disk: "os", to: fixture.directory.path("r"))
            let blockSize = device.blockSize
            for place in places {
                let offset = place * UInt64(blockSize)
                #expect(try restored.read(at: offset, count: blockSize) == device.read(snapshot: s2, at: offset, count: blockSize),
                        sourceLocation: sourceLocation)
            }
            #expect(try restored.allocatedBytes() <= UInt64(places.count * blockSize + (1 << 20)), sourceLocation: sourceLocation)
            _ = consume restored
            try BlockDevice.destroy(at: fixture.directory.path("r"))
        }

        var incremental: [DiskSource] { [DiskSource(name: "os", device: device, snapshot: s2, base: (s1, rp1))] }

        /// Every pack file is named by the index, and no temporary file is left.
        func expectTidy(sourceLocation: SourceLocation = #_sourceLocation) throws {
            let store = try VaultStore.open(at: fixture.storePath, masterKey: fixture.masterKey)
            let named = Set(try store.readIndex().packs.map { $0 + ".pack" })
            #expect(Set(filesUnder(fixture.storePath + "/packs")) == named, sourceLocation: sourceLocation)
            #expect(filesUnder(fixture.storePath).allSatisfy { !$0.contains(".tmp-") }, sourceLocation: sourceLocation)
        }
    }

    /// Runs `operation` once recording its steps, then once per step on a fresh scene with a crash after it.
    private func crashAfterEveryStep(
        prepare: () throws -> Scene, operation: (Scene) throws -> Void, check: (Scene, Int, [String]) throws -> Void
    ) throws -> [String] {
        var steps: [String] = []
        do {
            let scene = try prepare()
            scene.fixture.store.faultInjector = { steps.append($0) }
            try operation(scene)
        }
        for k in steps.indices {
            let scene = try prepare()
            var calls = 0
            scene.fixture.store.faultInjector = { step in
                defer { calls += 1 }
                if calls == k { throw InjectedCrash(step: step) }
            }
            #expect(throws: InjectedCrash.self, "crash after step \(k) \(steps[k])") { try operation(scene) }
            try check(scene, k, steps)
        }
        return steps
    }

    @Test func aBackupCrashedAfterAnyStepLeavesTheOldStateOrTheNewAndTheNextBackupConverges() throws {
        let steps = try crashAfterEveryStep(prepare: { try Scene() }) { scene in
            _ = try scene.fixture.store.backup(scene.incremental, metadata: ["try": "1"])
        } check: { scene, k, steps in
            let store = try scene.fixture.reopen()
            let points = try store.recoveryPoints()
            let committed = k >= steps.firstIndex(of: "backup.point.rename")!
            #expect(points.count == (committed ? 2 : 1), "after step \(k) \(steps[k])")
            for point in points { #expect(try store.verify(point.id).isValid, "after step \(k) \(steps[k])") }

            // The next backup succeeds; chunks an interrupted one indexed are reused, not stored again.
            let indexed = k >= steps.firstIndex(of: "backup.index.rename")!
            let (rp, statistics) = try store.backup(scene.incremental, metadata: ["try": "2"])
            #expect(statistics.chunksNew == (indexed ? 0 : 10), "after step \(k) \(steps[k])")
            #expect(try store.verify(rp).isValid)
            #expect(try contents(of: store.restore(rp, disk: "os", to: scene.fixture.directory.path("r"))) == contents(of: scene.device, snapshot: scene.s2))
            _ = try store.collectGarbage()
            try scene.expectTidy()
            let again = try store.collectGarbage()
            #expect(again.chunksRemoved == 0 && again.packsDeleted == 0 && again.leftoversRemoved == 0)
        }
        // Four packs of at most three chunks, then the index, then the recovery point.
        #expect(steps.filter { $0 == "backup.pack.create" }.count == 4)
        #expect(steps.suffix(8) == [
            "backup.index.write", "backup.index.sync", "backup.index.rename", "backup.index.sync-directory",
            "backup.point.write", "backup.point.sync", "backup.point.rename", "backup.point.sync-directory",
        ])
    }

    @Test func aCollectionCrashedAfterAnyStepIsFinishedByTheNextRun() throws {
        // Blocks 0..<20 change: rp1's packs 0-5 die, pack 6 is mostly dead (rewritten), packs 7-10 stay.
        func prepare() throws -> Scene {
            let scene = try Scene(changedBlocks: 0..<20)
            _ = try scene.fixture.store.backup(scene.incremental, metadata: [:])
            try scene.fixture.store.deleteRecoveryPoint(scene.rp1)
            return scene
        }
        var clean: (report: GCReport, packs: Int)?
        do {
            let scene = try prepare()
            clean = (try scene.fixture.store.collectGarbage(), try scene.fixture.packBytes())
        }
        #expect(clean!.report.packsDeleted == 7 && clean!.report.packsRewritten == 1 && clean!.report.chunksRelocated == 1)
        let steps = try crashAfterEveryStep(prepare: prepare) { scene in
            _ = try scene.fixture.store.collectGarbage()
        } check: { scene, k, steps in
            let store = try scene.fixture.reopen()
            let points = try store.recoveryPoints()
            #expect(points.count == 1)
            #expect(try store.verify(points[0].id).isValid, "after step \(k) \(steps[k])")
            _ = try store.collectGarbage()
            try scene.expectTidy()
            #expect(try scene.fixture.packBytes() == clean!.packs, "after step \(k) \(steps[k])")
            #expect(try store.readIndex().entries.count == 32 + 1)  // the chunks and rp2's map page
            let again = try store.collectGarbage()
            #expect(again.chunksRemoved == 0 && again.packsDeleted == 0 && again.leftoversRemoved == 0)
            #expect(try contents(of: store.restore(points[0].id, disk: "os", to: scene.fixture.directory.path("r"))) == contents(of: scene.device, snapshot: scene.s2))
        }
        #expect(steps.contains("gc.index.rename") && steps.filter { $0 == "gc.pack.delete" }.count == 7)
    }

    /// The same on a 4 TiB disk whose map has three levels: the new map pages go into the backup's packs
    /// before the index and the point; a crash after any step leaves committed points that verify.
    @Test func aBackupOfALargeSparseDiskCrashedAfterAnyStepConverges() throws {
        let steps = try crashAfterEveryStep(prepare: { try Scene(large: true) }) { scene in
            _ = try scene.fixture.store.backup(scene.incremental, metadata: ["try": "1"])
        } check: { scene, k, steps in
            let store = try scene.fixture.reopen()
            let points = try store.recoveryPoints()
            let committed = k >= steps.firstIndex(of: "backup.point.rename")!
            #expect(points.count == (committed ? 2 : 1), "after step \(k) \(steps[k])")
            for point in points { #expect(try store.verify(point.id).isValid, "after step \(k) \(steps[k])") }
            let indexed = k >= steps.firstIndex(of: "backup.index.rename")!
            let (rp, statistics) = try store.backup(scene.incremental, metadata: ["try": "2"])
            #expect(statistics.chunksNew == (indexed ? 0 : 10), "after step \(k) \(steps[k])")
            // Ten leaves, the inner pages above them and the root: new unless the crashed run indexed them.
            #expect(indexed ? statistics.mapPagesNew == 0 : statistics.mapPagesNew > 10, "after step \(k) \(steps[k])")
            #expect(try store.verify(rp).isValid)
            try scene.expectRestores(store, rp)
            _ = try store.collectGarbage()
            try scene.expectTidy()
            let again = try store.collectGarbage()
            #expect(again.chunksRemoved == 0 && again.packsDeleted == 0 && again.leftoversRemoved == 0)
        }
        #expect(steps.filter { $0 == "backup.pack.create" }.count >= 4)
    }

    @Test func aCollectionOfLargeSparseDisksCrashedAfterAnyStepIsFinishedByTheNextRun() throws {
        func prepare() throws -> Scene {
            let scene = try Scene(changedBlocks: 0..<20, large: true)
            _ = try scene.fixture.store.backup(scene.incremental, metadata: [:])
            try scene.fixture.store.deleteRecoveryPoint(scene.rp1)
            return scene
        }
        var clean: (report: GCReport, packs: Int, entries: Int)?
        do {
            let scene = try prepare()
            let report = try scene.fixture.store.collectGarbage()
            clean = (report, try scene.fixture.packBytes(), try scene.fixture.store.readIndex().entries.count)
        }
        // rp1's twenty changed chunks die, with its map pages on their paths.
        #expect(clean!.report.chunksRemoved > 20 && clean!.report.packsDeleted > 0)
        let steps = try crashAfterEveryStep(prepare: prepare) { scene in
            _ = try scene.fixture.store.collectGarbage()
        } check: { scene, k, steps in
            let store = try scene.fixture.reopen()
            let points = try store.recoveryPoints()
            #expect(points.count == 1)
            #expect(try store.verify(points[0].id).isValid, "after step \(k) \(steps[k])")
            _ = try store.collectGarbage()
            try scene.expectTidy()
            #expect(try scene.fixture.packBytes() == clean!.packs, "after step \(k) \(steps[k])")
            #expect(try store.readIndex().entries.count == clean!.entries)
            let again = try store.collectGarbage()
            #expect(again.chunksRemoved == 0 && again.packsDeleted == 0 && again.leftoversRemoved == 0)
            try scene.expectRestores(store, points[0].id)
        }
        #expect(steps.contains("gc.index.rename"))
    }
}
