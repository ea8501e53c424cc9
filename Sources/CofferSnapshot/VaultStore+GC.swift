#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CofferSystem

extension VaultStore {
    /// A pack whose dead bytes exceed this share of its size is rewritten; others keep their dead bytes.
    static let rewriteThreshold = 0.5

    /// Removes chunks that no recovery point references, safely against a crash at any step: chunks leave
    /// the index before their space is reclaimed. Live chunks of mostly-dead packs are authenticated and
    /// copied to new packs; the new index is committed atomically; only then are old packs deleted. A run
    /// after a crash removes what the crashed one left and finishes or repeats its work.
    public func collectGarbage() throws -> GCReport {
        return try presentingSystemErrors {
            try exclusive {
                var report = GCReport()
                report.leftoversRemoved = try removeLeftovers()
                let index = currentIndex

                // Every chunk some recovery point references; a point that cannot be read stops the collection.
                // Map pages count as live chunks; a page already reached is not read again, so pages that
                // points share (everything under which nothing changed) are read once.
                var live = Set<ChunkID>()
                let points = try pointIDs()
                let reader = PackReader(directory: packsDirectory, storeID: storeID)
                for id in points {
                    let record: RecoveryPointRecord
                    do {
                        record = try loadPoint(id)
                    } catch {
                        throw SnapshotError(
                            code: .corrupted,
                            message: "garbage collection stopped before deleting anything: recovery point \(id) cannot "
                                + "be read, so the chunks it needs are unknown; restore its file or delete the point",
                            underlying: error)
                    }
                    do {
                        for disk in record.disks {
                            try walk(disk.map, disk: disk.name, reader: reader, enter: { live.insert($0).inserted }) {
                                for (_, chunk) in $0 { live.insert(chunk) }
                            }
                        }
                    } catch {
                        throw SnapshotError(
                            code: .corrupted,
                            message: "garbage collection stopped before deleting anything: the block map of recovery "
                                + "point \(id) cannot be read, so the chunks it needs are unknown; run verify on it",
                            underlying: error)
                    }
                }
                report.recoveryPoints = points.count

                // Live bytes and entries per pack.
                var liveBytes = [UInt64](repeating: 0, count: index.packs.count)
                var liveEntries = [[(id: ChunkID, entry: IndexEntry)]](repeating: [], count: index.packs.count)
                for (id, entry) in index.entries {
                    if live.contains(id) {
                        liveBytes[Int(entry.pack)] += UInt64(entry.length)
                        liveEntries[Int(entry.pack)].append((id, entry))
                    } else {
                        report.chunksRemoved += 1
                    }
                }
                report.chunksLive = index.entries.count - report.chunksRemoved

                var keep: [Int] = []
                var rewrite: [Int] = []
                var drop: [Int] = []
                var sizes = [UInt64](repeating: 0, count: index.packs.count)
                for pack in index.packs.indices {
                    let file = FileSystem.join(packsDirectory, index.packs[pack] + Pack.fileExtension)
                    guard FileSystem.exists(file) else {
                        if liveBytes[pack] == 0 {
                            drop.append(pack)
                            continue
                        }
                        throw SnapshotError(
                            code: .corrupted,
                            message: "garbage collection stopped before deleting anything: pack \(index.packs[pack]) "
                                + "holds live chunks but is missing; run verify to find the recovery points that need it")
                    }
                    sizes[pack] = try SystemFile.open(file, flags: O_RDONLY).size()
                    let dead = sizes[pack] - UInt64(Pack.headerSize) - min(liveBytes[pack], sizes[pack] - UInt64(Pack.headerSize))
                    if liveBytes[pack] == 0 {
                        drop.append(pack)
                    } else if Double(dead) > Self.rewriteThreshold * Double(sizes[pack]) {
                        rewrite.append(pack)
                    } else {
                        keep.append(pack)
                        report.bytesGarbageKept += dead
                    }
                }
                if report.chunksRemoved == 0 && rewrite.isEmpty && drop.isEmpty { return report }

                // The new index: kept packs renumbered, then the packs that receive relocated chunks.
                var next = ChunkIndex()
                next.generation = index.generation + 1
                for pack in keep {
                    let number = UInt32(next.packs.count)
                    next.packs.append(index.packs[pack])
                    for (id, entry) in liveEntries[pack] {
                        next.entries[id] = IndexEntry(pack: number, offset: entry.offset, length: entry.length)
                    }
                }
                let session = PackSession(store: self, firstNumber: UInt32(next.packs.count), stepPrefix: "gc.pack")
                for pack in rewrite {
                    for (id, entry) in liveEntries[pack].sorted(by: { $0.entry.offset < $1.entry.offset }) {
                        let sealed = try reader.sealedChunk(pack: index.packs[pack], entry: entry, id: id)
                        do {
                            try authenticate(sealed, id: id)
                        } catch {
                            throw SnapshotError(
                                code: .corrupted,
                                message: "garbage collection stopped before deleting anything: live chunk \(id) in pack "
                                    + "\(index.packs[pack]) fails authentication; run verify to find the recovery points "
                                    + "that use it",
                                underlying: error)
                        }
                        next.entries[id] = try session.append(id: id, sealed: sealed)
                        report.chunksRelocated += 1
                    }
                }
                try session.finish()
                next.packs += session.names
                var written: UInt64 = 0
                for name in session.names {
                    written += try SystemFile.open(FileSystem.join(packsDirectory, name + Pack.fileExtension), flags: O_RDONLY)
                        .size()
                }

                // The commit point: dead chunks leave the index before any pack is deleted.
                try writeIndex(next, step: "gc.index")

                var freed: UInt64 = 0
                for pack in drop + rewrite {
                    try FileSystem.remove(FileSystem.join(packsDirectory, index.packs[pack] + Pack.fileExtension), missingOK: true)
                    freed += sizes[pack]
                    try faultInjector?("gc.pack.delete")
                }
                try FileSystem.syncDirectory(packsDirectory)
                try faultInjector?("gc.packs.sync-directory")
                report.packsDeleted = drop.count + rewrite.count
                report.packsRewritten = rewrite.count
                report.bytesReclaimed = Int64(freed) - Int64(written)
                return report
            }
        }
    }
}
