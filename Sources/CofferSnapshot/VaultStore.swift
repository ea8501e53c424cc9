#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CofferCrypto
import CofferSystem
import Foundation

/// The vault's encrypted, deduplicated chunk store: a directory of content-addressed chunks in pack files,
/// an authenticated index, and recovery points each committed by one atomic write.
///
/// Layout: `config` (store identifier, HMAC-authenticated under a key derived from the master key),
/// `index` (every chunk's pack, offset and length; AES-256-GCM sealed), `packs/NAME.pack` (sealed chunks,
/// up to about 64 MiB each), `points/ID.point` (a recovery point: each disk's chunk identifiers and the
/// caller's metadata; AES-256-GCM sealed), `lock` (`flock`: exclusive for backup and garbage collection,
/// shared for restore and verify). A chunk is one block; its identifier is HMAC-SHA256 of its plaintext
/// under a store key, so equal blocks are stored once and equal content in two stores does not show; it is
/// sealed with AES-256-GCM under the store's data key with its identifier as associated data.
public final class VaultStore: @unchecked Sendable {
    /// The directory that holds the store.
    public let path: String
    let storeID: [UInt8]
    let keys: VaultKeys
    private let lock = NSLock()
    /// Guarded by `lock` and the file lock: the index as last read or written.
    private var index = ChunkIndex()
    /// Called after each named write step of backup and garbage collection; tests throw from it to
    /// simulate a crash right after that step.
    var faultInjector: ((String) throws -> Void)?
    /// The size at which a pack is closed and a new one started.
    var packSizeLimit = 64 << 20
    /// Bytes of blocks hashed and sealed together on all cores; memory use is a small multiple of it.
    var batchBytes = 4 << 20

    static let masterKeyLength = 32
    private static let configName = "config"
    private static let indexName = "index"
    private static let packsName = "packs"
    private static let pointsName = "points"
    private static let lockName = "lock"
    private static let pointExtension = ".point"
    private static let configMagic = Array("CFVAULT1".utf8)

    var packsDirectory: String { FileSystem.join(path, Self.packsName) }
    var pointsDirectory: String { FileSystem.join(path, Self.pointsName) }
    var indexPath: String { FileSystem.join(path, Self.indexName) }

    // MARK: Creating and opening

    /// Creates an empty store in a new (or empty) directory, its keys derived from a 32-byte master key.
    public static func create(at path: String, masterKey: SecureBytes) throws -> VaultStore {
        return try presentingSystemErrors {
            try checkMasterKey(masterKey)
            if FileSystem.exists(path) {
                guard FileSystem.isDirectory(path), try FileSystem.list(path).isEmpty else {
                    throw SnapshotError(
                        code: .alreadyExists, message: "\(path) exists and is not an empty directory; choose another path")
                }
            } else {
                try FileSystem.makeDirectory(path)
            }
            try FileSystem.makeDirectory(FileSystem.join(path, packsName))
            try FileSystem.makeDirectory(FileSystem.join(path, pointsName))
            let storeID = try randomIdentifier()
            let keys = try VaultKeys(master: masterKey, storeID: storeID)
            let store = VaultStore(path: path, storeID: storeID, keys: keys)
            try store.writeIndex(ChunkIndex(), step: "create.index")
            // The config file is written last: a directory without one is not a store yet.
            var writer = ByteWriter()
            writer.append(bytes: configMagic)
            writer.append(UInt32(1))
            writer.append(bytes: storeID)
            writer.append(Int64((Date().timeIntervalSince1970 * 1000).rounded()))
            writer.append(bytes: HMACSHA256.authenticationCode(for: writer.bytes, key: keys.config))
            try FileSystem.writeAtomically(writer.bytes, to: FileSystem.join(path, configName))
            try FileSystem.syncDirectory(FileSystem.parent(path))
            return try open(at: path, masterKey: masterKey)
        }
    }

    /// Opens a store with its master key; a wrong key is refused before anything is read.
    public static func open(at path: String, masterKey: SecureBytes) throws -> VaultStore {
        return try presentingSystemErrors {
            try checkMasterKey(masterKey)
            let configPath = FileSystem.join(path, configName)
            guard FileSystem.exists(configPath) else {
                throw SnapshotError(
                    code: .notFound, message: "no vault store at \(path) (no \(configName) file); create one first")
            }
            let bytes = try SystemFile.open(configPath, flags: O_RDONLY).readAll()
            var reader = ByteReader(bytes, what: configPath)
            try reader.expect(magic: configMagic)
            guard try reader.uint32() == 1 else { throw reader.malformed("unknown format version") }
            let storeID = try reader.bytes(16)
            _ = try reader.int64()
            let body = Array(bytes[..<reader.offset])
            let mac = try reader.bytes(32)
            try reader.expectEnd()
            let keys = try VaultKeys(master: masterKey, storeID: storeID)
            guard HMACSHA256.authenticationCode(for: body, key: keys.config) == mac else {
                throw SnapshotError(
                    code: .wrongKey,
                    message: "the master key does not open the vault store at \(path) (or its config file was changed); "
                        + "give the key the store was created with")
            }
            // The index is read, and authenticated, at the start of every operation.
            return VaultStore(path: path, storeID: storeID, keys: keys)
        }
    }

    private init(path: String, storeID: [UInt8], keys: VaultKeys) {
        self.path = path
        self.storeID = storeID
        self.keys = keys
    }

    private static func checkMasterKey(_ key: SecureBytes) throws {
        guard key.count == masterKeyLength else {
            throw SnapshotError(
                code: .invalidArgument, message: "a vault master key is \(masterKeyLength) bytes, not \(key.count)")
        }
    }

    // MARK: Backup

    /// Backs up snapshots of disks into one new recovery point, reading only the blocks that changed since
    /// each disk's base and storing only chunks the store does not hold; `progress` gets (bytes done, bytes
    /// to read). Packs and the index are durable before the recovery point is committed by one atomic write.
    public func backup(
        _ disks: [DiskSource], metadata: [String: String], progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> (RecoveryPointID, BackupStatistics) {
        return try presentingSystemErrors {
            try exclusive {
                _ = try removeLeftovers()
                guard !disks.isEmpty else {
                    throw SnapshotError(code: .invalidArgument, message: "a backup needs at least one disk")
                }
                var names = Set<String>()
                for disk in disks {
                    guard !disk.name.isEmpty, names.insert(disk.name).inserted else {
                        throw SnapshotError(
                            code: .invalidArgument, message: "disk names must be unique and not empty; \"\(disk.name)\" is not")
                    }
                }
                var statistics = BackupStatistics()
                var bases: [RecoveryPointID: RecoveryPointRecord] = [:]
                let reader = PackReader(directory: packsDirectory, storeID: storeID)
                var plans: [DiskPlan] = []
                for source in disks {
                    let device = source.device
                    var plan = DiskPlan(
                        source: source, read: [], kept: [], root: .hole, storedBlocks: 0,
                        builder: MapBuilder(
                            store: self, reader: reader, disk: source.name,
                            height: MapPage.height(blockCount: device.blockCount)))
                    guard let base = source.base else {
                        plan.read = try device.changedBlocks(from: nil, to: source.snapshot)
                        plans.append(plan)
                        continue
                    }
                    if bases[base.recoveryPoint] == nil { bases[base.recoveryPoint] = try loadPoint(base.recoveryPoint) }
                    let baseMap = try baseMap(bases[base.recoveryPoint]!, for: source)
                    let changed = try device.changedBlocks(from: base.snapshot, to: source.snapshot)
                    let changedSet = Set(changed)
                    // A base chunk the index does not hold is read again rather than trusted.
                    var missing: [UInt64] = []
                    switch baseMap {
                    case .flat(let chunks):
                        // A format 1 base: its map is rebuilt as a tree from the chunks it lists.
                        for (block, id) in chunks.enumerated() where !id.isHole && !changedSet.contains(UInt64(block)) {
                            if index.entries[id] == nil { missing.append(UInt64(block)) } else { plan.kept.append((block, id)) }
                        }
                    case .tree(let root, let height, let storedBlocks):
                        guard height == plan.builder.height else {
                            throw SnapshotError(
                                code: .corrupted,
                                message: "recovery point \(base.recoveryPoint) gives disk \(source.name) a map of height "
                                    + "\(height), not \(plan.builder.height)")
                        }
                        (plan.root, plan.storedBlocks) = (root, storedBlocks)
                        // Only the leaves the changes rewrite are read: their other chunks are checked here.
                        for (block, id) in try plan.builder.baseLeaves(root: root, covering: changed)
                        where index.entries[id] == nil && !changedSet.contains(UInt64(block)) {
                            missing.append(UInt64(block))
                        }
                    }
                    plan.read = missing.isEmpty ? changed : (changed + missing).sorted()
                    statistics.blocksUnchanged += device.blockCount - plan.read.count
                    plans.append(plan)
                }
                let total = plans.reduce(UInt64(0)) { $0 + UInt64($1.read.count) * UInt64($1.source.device.blockSize) }
                var done: UInt64 = 0
                progress?(0, total)

                let session = PackSession(store: self, firstNumber: UInt32(index.packs.count), stepPrefix: "backup.pack")
                let pending = SharedBox<[ChunkID: IndexEntry]>([:])
                var scheduled = Set<ChunkID>()
                var recorded: [RecoveryPointRecord.Disk] = []
                let (idKey, dataKey) = (keys.id, keys.data)
                for var plan in plans {
                    var read: [(block: Int, id: ChunkID)] = []
                    try store(plan.read, of: plan.source, into: &read, session: session, pending: pending,
                        scheduled: &scheduled, statistics: &statistics) { bytes in
                        done += bytes
                        progress?(done, total)
                    }
                    // The chunks read (a hole removes a block) and, from a format 1 base, the ones kept.
                    let changes = plan.kept.isEmpty ? read : (plan.kept + read).sorted { $0.block < $1.block }
                    let index = self.index
                    let (root, delta) = try plan.builder.apply(changes, to: plan.root) { _, page in
                        let id = ChunkID(HMACSHA256.authenticationCode(for: page, key: idKey))
                        if index.entries[id] != nil || !scheduled.insert(id).inserted { return id }
                        let box = try page.withUnsafeBytes { try Seal.box($0, key: dataKey, associatedData: id.bytes) }
                        pending.value[id] = try session.append(id: id, sealed: box.nonce + box.ciphertext + box.tag)
                        statistics.mapPagesNew += 1
                        statistics.bytesUploaded += UInt64(Pack.entryHeaderSize + Seal.overhead + page.count)
                        return id
                    }
                    plan.storedBlocks += delta
                    let device = plan.source.device
                    statistics.holes += device.blockCount - plan.storedBlocks
                    recorded.append(
                        RecoveryPointRecord.Disk(
                            name: plan.source.name, size: device.size, blockSize: device.blockSize,
                            snapshot: plan.source.snapshot, device: device.identifier,
                            map: .tree(root: root, height: plan.builder.height, storedBlocks: plan.storedBlocks)))
                }
                try session.finish()
                if !pending.value.isEmpty {
                    try commitIndex(adding: pending.value, packs: session.names, step: "backup.index")
                }
                let record = RecoveryPointRecord(
                    id: Self.newRecoveryPointID(), created: Date(), metadata: metadata, disks: recorded)
                try writePoint(record)
                return (record.id, statistics)
            }
        }
    }

    /// One disk of a backup: the blocks to read, the base's map (its root and stored blocks, or, from a
    /// format 1 base, the chunks it keeps) and the builder of the new map.
    private struct DiskPlan {
        var source: DiskSource
        var read: [UInt64]
        var kept: [(block: Int, id: ChunkID)]
        var root: ChunkID
        var storedBlocks: Int
        var builder: MapBuilder
    }

    /// The map of `source`'s disk in its base recovery point, after checking that the base was made from
    /// the base snapshot of a disk of the same shape.
    private func baseMap(_ base: RecoveryPointRecord, for source: DiskSource) throws -> DiskMap {
        guard let (snapshot, id) = source.base else { preconditionFailure() }
        guard let disk = base.disks.first(where: { $0.name == source.name }) else {
            throw SnapshotError(
                code: .invalidArgument,
                message: "recovery point \(id) has no disk named \(source.name); back it up without a base")
        }
        guard disk.device == source.device.identifier else {
            throw SnapshotError(
                code: .invalidArgument,
                message: "recovery point \(id) backed up disk \(source.name) from another block device than "
                    + "\(source.device.path); back it up without a base")
        }
        guard disk.snapshot == snapshot else {
            throw SnapshotError(
                code: .invalidArgument,
                message: "recovery point \(id) backed up disk \(source.name) from snapshot \(disk.snapshot), not "
                    + "\(snapshot); give the snapshot the base recovery point was made from")
        }
        guard disk.size == source.device.size, disk.blockSize == source.device.blockSize else {
            throw SnapshotError(
                code: .invalidArgument,
                message: "disk \(source.name) changed size or block size since recovery point \(id); back it up "
                    + "without a base")
        }
        return disk.map
    }

    /// Reads `blocks` of a snapshot in batches; decrypts, identifies and seals them on all cores; and
    /// appends the new chunks to packs on a background thread while the next batch is prepared. Memory: one
    /// batch of blocks and two of sealed entries.
    private func store(
        _ blocks: [UInt64], of source: DiskSource, into chunks: inout [(block: Int, id: ChunkID)], session: PackSession,
        pending: SharedBox<[ChunkID: IndexEntry]>, scheduled: inout Set<ChunkID>,
        statistics: inout BackupStatistics, advanced: (UInt64) -> Void
    ) throws {
        guard !blocks.isEmpty else { return }
        let device = source.device
        let blockSize = device.blockSize
        let entryLength = Pack.entryHeaderSize + Seal.overhead + blockSize
        let batch = max(1, min(blocks.count, batchBytes / blockSize))
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * blockSize, alignment: 64)
        let outputs = (0..<2).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: batch * entryLength, alignment: 64)
        }
        let writer = BackgroundStage(label: "coffer.vault.pack-writer")
        defer {
            try? writer.wait()
            input.deallocate()
            for output in outputs { output.deallocate() }
        }
        var ids = [ChunkID](repeating: .hole, count: batch)
        var current = 0
        let (idKey, dataKey) = (keys.id, keys.data)
        for start in stride(from: 0, to: blocks.count, by: batch) {
            let slice = blocks[start..<min(start + batch, blocks.count)]
            let count = slice.count
            let plaintext = UnsafeMutableRawBufferPointer(rebasing: input[0..<count * blockSize])
            let written = try device.readStoredBlocks(snapshot: source.snapshot, blocks: slice, into: plaintext)
            try ids.withUnsafeMutableBufferPointer { ids in
                try parallelForEach(count) { i in
                    let block = UnsafeMutableRawBufferPointer(rebasing: plaintext[i * blockSize..<(i + 1) * blockSize])
                    if written[i] { try device.decryptStored(block, block: slice[slice.startIndex + i]) }
                    let view = UnsafeRawBufferPointer(block)
                    ids[i] = isAllZero(view) ? .hole : ChunkID(HMACSHA256.authenticationCode(for: view, key: idKey))
                }
            }
            var toSeal: [Int] = []
            for i in 0..<count {
                let id = ids[i]
                chunks.append((Int(slice[slice.startIndex + i]), id))
                if id.isHole { continue }
                if index.entries[id] != nil || !scheduled.insert(id).inserted {
                    statistics.chunksReused += 1
                } else {
                    toSeal.append(i)
                }
            }
            if !toSeal.isEmpty {
                let output = outputs[current]
                let batchIDs = ids
                try parallelForEach(toSeal.count) { k in
                    let i = toSeal[k]
                    let block = UnsafeRawBufferPointer(rebasing: plaintext[i * blockSize..<(i + 1) * blockSize])
                    let box = try Seal.box(block, key: dataKey, associatedData: batchIDs[i].bytes)
                    writeEntry(
                        id: batchIDs[i], nonce: box.nonce, ciphertext: box.ciphertext, tag: box.tag,
                        into: UnsafeMutableRawBufferPointer(rebasing: output[k * entryLength..<(k + 1) * entryLength]))
                }
                let newIDs = toSeal.map { ids[$0] }
                let region = UnsafeRawBufferPointer(rebasing: output[0..<toSeal.count * entryLength])
                try writer.submit {
                    let placed = try session.append(entries: region, ids: newIDs, entryLength: entryLength)
                    for (id, entry) in zip(newIDs, placed) { pending.value[id] = entry }
                }
                current ^= 1
                statistics.chunksNew += toSeal.count
                statistics.bytesUploaded += UInt64(toSeal.count * entryLength)
            }
            statistics.blocksRead += count
            statistics.bytesRead += UInt64(count * blockSize)
            advanced(UInt64(count * blockSize))
        }
        try writer.wait()
    }

    /// A time-ordered identifier: `rp-` UTC time `-` 16 random hexadecimal digits.
    private static func newRecoveryPointID() -> RecoveryPointID {
        var seconds = time_t(Date().timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let stamp = String(
            format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
        return RecoveryPointID("rp-\(stamp)-\(Hex.random(8))")
    }

    // MARK: Recovery points

    /// Every recovery point in the store, oldest first; throws if any of them fails authentication.
    public func recoveryPoints() throws -> [RecoveryPointInfo] {
        return try presentingSystemErrors {
            try pointIDs().map { try loadPoint($0).info }.sorted { ($0.created, $0.id.rawValue) < ($1.created, $1.id.rawValue) }
        }
    }

    /// One recovery point's description.
    public func recoveryPoint(_ id: RecoveryPointID) throws -> RecoveryPointInfo {
        return try presentingSystemErrors {
            try loadPoint(id).info
        }
    }

    /// Deletes a recovery point with one atomic unlink; garbage collection later reclaims chunks that no
    /// other recovery point references.
    public func deleteRecoveryPoint(_ id: RecoveryPointID) throws {
        try presentingSystemErrors {
            let file = try pointPath(id)
            guard FileSystem.exists(file) else { throw notFound(id) }
            try FileSystem.remove(file)
            try FileSystem.syncDirectory(pointsDirectory)
        }
    }

    func pointIDs() throws -> [RecoveryPointID] {
        try FileSystem.list(pointsDirectory).compactMap { name in
            guard !FileSystem.isTemporary(name), name.hasSuffix(Self.pointExtension) else { return nil }
            return RecoveryPointID(String(name.dropLast(Self.pointExtension.count)))
        }
    }

    private func pointPath(_ id: RecoveryPointID) throws -> String {
        guard isSafeFileName(id.rawValue) else { throw notFound(id) }
        return FileSystem.join(pointsDirectory, id.rawValue + Self.pointExtension)
    }

    private func notFound(_ id: RecoveryPointID) -> SnapshotError {
        SnapshotError(
            code: .notFound, message: "the vault store at \(path) has no recovery point \(id); list them with recoveryPoints()")
    }

    private func pointAssociatedData(_ id: RecoveryPointID) -> [UInt8] {
        RecoveryPointRecord.fileMagic + storeID + Array(id.rawValue.utf8)
    }

    /// Reads, authenticates and decodes a recovery point.
    func loadPoint(_ id: RecoveryPointID) throws -> RecoveryPointRecord {
        let file = try pointPath(id)
        guard FileSystem.exists(file) else { throw notFound(id) }
        let plaintext = try Seal.openFile(
            try SystemFile.open(file, flags: O_RDONLY).readAll(), magic: RecoveryPointRecord.fileMagic, key: keys.point,
            associatedData: pointAssociatedData(id), what: "recovery point \(id)")
        let record = try RecoveryPointRecord.decode(plaintext, what: "recovery point \(id)")
        guard record.id == id else {
            throw SnapshotError(code: .corrupted, message: "recovery point file \(file) holds \(record.id)")
        }
        return record
    }

    /// The commit point of a backup: one atomic write of the sealed recovery point.
    func writePoint(_ record: RecoveryPointRecord) throws {
        let parts = try Seal.fileParts(
            magic: RecoveryPointRecord.fileMagic, plaintext: record.encode(), key: keys.point,
            associatedData: pointAssociatedData(record.id))
        try FileSystem.writeAtomically(parts: parts, to: try pointPath(record.id)) {
            try faultInjector?("backup.point.\($0)")
        }
    }

    // MARK: Restore and verify

    /// Restores one disk of a recovery point to a new block device at `path`, byte for byte, leaving holes
    /// unwritten (sparse); every chunk is authenticated before it is written. On failure nothing is left at
    /// `path`.
    public func restore(
        _ id: RecoveryPointID, disk name: String, to path: String, atRestKey: SecureBytes? = nil,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> BlockDevice {
        return try presentingSystemErrors {
            try shared {
                let record = try loadPoint(id)
                guard let disk = record.disks.first(where: { $0.name == name }) else {
                    throw SnapshotError(
                        code: .notFound,
                        message: "recovery point \(id) has no disk named \(name); it has "
                            + record.disks.map(\.name).joined(separator: ", "))
                }
                var device: BlockDevice? = try BlockDevice.create(
                    at: path, size: disk.size, blockSize: disk.blockSize, atRestKey: atRestKey)
                do {
                    try restore(disk, into: device!, progress: progress)
                    try device!.flush()
                    return device!
                } catch {
                    device = nil
                    try? FileSystem.removeTree(path)
                    throw error
                }
            }
        }
    }

    /// Restores a disk batch by batch: reserves the blocks' slots on the device, then on all cores reads
    /// each chunk, opens it (AES-256-GCM with the chunk identifier as associated data: only the store's data
    /// key could have sealed that chunk for that identifier), re-encrypts it for the device in place and
    /// writes it into its slot; the batch's slots then enter the device's map, and its writeback is started
    /// on a background thread. `verify` also recomputes every identifier.
    private func restore(
        _ disk: RecoveryPointRecord.Disk, into device: BlockDevice, progress: ((UInt64, UInt64) -> Void)?
    ) throws {
        let reader = PackReader(directory: packsDirectory, storeID: storeID)
        let blockSize = disk.blockSize
        let entryLength = Pack.entryHeaderSize + Seal.overhead + blockSize
        let batch = max(1, batchBytes / blockSize)
        let total = UInt64(disk.map.storedBlocks) * UInt64(blockSize)
        var done: UInt64 = 0
        progress?(0, total)
        let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * entryLength, alignment: 64)
        let writeback = BackgroundStage(label: "coffer.vault.restore-writeback")
        defer {
            try? writeback.wait()
            sealed.deallocate()
        }
        let dataKey = keys.data
        // The map is walked a page at a time; its written blocks are restored in batches.
        func restoreBatch(_ work: [(block: Int, id: ChunkID)]) throws {
            var locations: [IndexEntry] = []
            for (block, id) in work {
                guard let entry = index.entries[id] else {
                    throw SnapshotError(
                        code: .corrupted,
                        message: "chunk \(id) (block \(block) of disk \(disk.name)) is not in the store's index; "
                            + "the index or the recovery point was damaged")
                }
                guard entry.length == UInt32(entryLength) else {
                    throw SnapshotError(
                        code: .corrupted,
                        message: "the index gives chunk \(id) a length of \(entry.length), not \(entryLength)")
                }
                locations.append(entry)
            }
            // Each pack is opened (and its header checked) here; the entries are read on all cores.
            var files: [UInt32: SystemFile] = [:]
            for location in locations where files[location.pack] == nil {
                files[location.pack] = try reader.file(index.packs[Int(location.pack)])
            }
            let packs = index.packs
            let reservation = try device.reserveSlots(blocks: work.map(\.block))
            do {
                try parallelForEach(work.count) { k in
                    let (block, id) = work[k]
                    let target = UnsafeMutableRawBufferPointer(rebasing: sealed[k * entryLength..<(k + 1) * entryLength])
                    try files[locations[k].pack]!.readExactly(into: target, at: locations[k].offset)
                    let entry = UnsafeRawBufferPointer(target)
                    try checkEntryHeader(entry, id: id, pack: packs[Int(locations[k].pack)], offset: locations[k].offset)
                    // Opened where it was read, re-encrypted for the device there, and written from there.
                    let box = UnsafeMutableRawBufferPointer(rebasing: target[Pack.entryHeaderSize...])
                    let text = try Seal.openInPlace(box, key: dataKey, associatedData: id.bytes, what: "chunk \(id)")
                    guard text.count == blockSize else {
                        throw SnapshotError(
                            code: .corrupted, message: "chunk \(id) holds \(text.count) bytes, not \(blockSize)")
                    }
                    let buffer = UnsafeMutableRawBufferPointer(rebasing: box[text])
                    try device.encryptForStorage(buffer, block: UInt64(block))
                    try device.writeStored(UnsafeRawBufferPointer(buffer), slot: reservation.slots[k])
                }
            } catch {
                device.release(reservation)
                throw error
            }
            device.commit(reservation)
            let range = reservation.range
            try writeback.submit { device.writeBehind(range) }
            done += UInt64(work.count * blockSize)
            progress?(done, total)
        }
        var work: [(block: Int, id: ChunkID)] = []
        try walk(disk.map, disk: disk.name, reader: reader) { entries in
            work += entries
            while work.count >= batch {
                try restoreBatch(Array(work[..<batch]))
                work.removeFirst(batch)
            }
        }
        if !work.isEmpty { try restoreBatch(work) }
        try writeback.wait()
    }

    /// Checks that a pack entry read at `offset` of `pack` names `id` and has the length the index gives.
    private func checkEntryHeader(_ entry: UnsafeRawBufferPointer, id: ChunkID, pack: String, offset: UInt64) throws {
        let storedID = ChunkID(raw: entry)
        let storedLength = UInt32(littleEndian: entry.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
        guard storedID == id, Int(storedLength) == entry.count - Pack.entryHeaderSize else {
            throw SnapshotError(
                code: .corrupted,
                message: "the entry of chunk \(id) at offset \(offset) of pack \(pack) has a damaged header")
        }
    }

    /// The sealed box of chunk `id`, found through the index.
    func readSealed(_ id: ChunkID, reader: PackReader, context: String) throws -> [UInt8] {
        guard let entry = index.entries[id] else {
            throw SnapshotError(
                code: .corrupted,
                message: "chunk \(id) (\(context)) is not in the store's index; the index or the recovery point "
                    + "was damaged")
        }
        return try reader.sealedChunk(pack: index.packs[Int(entry.pack)], entry: entry, id: id)
    }

    /// Reads, authenticates and checks every distinct chunk of a recovery point: opens it with AES-256-GCM
    /// and recomputes its HMAC identifier. Problems with chunks are collected in the report; a recovery
    /// point file that fails authentication throws.
    public func verify(_ id: RecoveryPointID) throws -> VerifyReport {
        return try presentingSystemErrors {
            try shared {
                let record = try loadPoint(id)
                var report = VerifyReport()
                var seen = Set<ChunkID>()
                var pages = Set<ChunkID>()
                let reader = PackReader(directory: packsDirectory, storeID: storeID)
                let (idKey, dataKey) = (keys.id, keys.data)
                for disk in record.disks {
                    let blockSize = disk.blockSize
                    var unique: [(id: ChunkID, block: Int)] = []
                    // Every map page is read, authenticated and its identifier recomputed; a damaged one throws.
                    try walk(disk.map, disk: disk.name, reader: reader, checkIDs: true, enter: { pages.insert($0).inserted }) {
                        for (block, chunk) in $0 where seen.insert(chunk).inserted { unique.append((chunk, block)) }
                    }
                    let batch = max(1, batchBytes / blockSize)
                    for start in stride(from: 0, to: unique.count, by: batch) {
                        let work = Array(unique[start..<min(start + batch, unique.count)])
                        var sealed = [[UInt8]?](repeating: nil, count: work.count)
                        var problems = [String?](repeating: nil, count: work.count)
                        for (k, item) in work.enumerated() {
                            do {
                                sealed[k] = try readSealed(item.id, reader: reader, context: "block \(item.block) of disk \(disk.name)")
                            } catch {
                                problems[k] = "block \(item.block) of disk \(disk.name): \(error)"
                            }
                        }
                        try problems.withUnsafeMutableBufferPointer { problems in
                            try parallelForEach(work.count) { k in
                                guard let box = sealed[k] else { return }
                                let item = work[k]
                                do {
                                    let plaintext = try Seal.open(
                                        box, key: dataKey, associatedData: item.id.bytes, what: "chunk \(item.id)")
                                    if plaintext.count != blockSize {
                                        problems[k] = "block \(item.block) of disk \(disk.name): chunk \(item.id) holds "
                                            + "\(plaintext.count) bytes, not \(blockSize)"
                                    } else if ChunkID(HMACSHA256.authenticationCode(for: plaintext, key: idKey)) != item.id {
                                        problems[k] = "block \(item.block) of disk \(disk.name): chunk \(item.id) does not "
                                            + "hash to its identifier"
                                    }
                                } catch {
                                    problems[k] = "block \(item.block) of disk \(disk.name): \(error)"
                                }
                            }
                        }
                        for problem in problems {
                            if let problem {
                                report.problems.append(problem)
                            } else {
                                report.chunksChecked += 1
                                report.bytesChecked += UInt64(blockSize)
                            }
                        }
                    }
                }
                report.mapPagesChecked = pages.count
                return report
            }
        }
    }

    // MARK: Index

    private func indexAssociatedData() -> [UInt8] { ChunkIndex.fileMagic + storeID }

    /// Reads and authenticates the index. Every operation starts with it, under the file lock, so that no
    /// operation works from a stale or unauthenticated copy; the cost is of the order of the index write
    /// every backup makes anyway.
    func reloadIndex() throws {
        let plaintext = try Seal.openFile(
            try SystemFile.open(indexPath, flags: O_RDONLY).readAll(), magic: ChunkIndex.fileMagic, key: keys.index,
            associatedData: indexAssociatedData(), what: "the index of the vault store at \(path)")
        index = ChunkIndex()
        index = try ChunkIndex.decode(plaintext, what: "the index of the vault store at \(path)")
    }

    /// Replaces the index atomically; the new one is in use from then on.
    func writeIndex(_ next: ChunkIndex, step: String) throws {
        try writeIndex(next.encode(), step: step)
        index = next
    }

    /// Replaces the index atomically with this one plus `entries` in the new `packs`, then adds them to the
    /// index in memory, in place.
    func commitIndex(adding entries: [ChunkID: IndexEntry], packs: [String], step: String) throws {
        try writeIndex(index.encode(generation: index.generation + 1, adding: entries, packs: packs), step: step)
        index.generation += 1
        index.packs += packs
        index.entries.reserveCapacity(index.entries.count + entries.count)
        for (id, entry) in entries { index.entries[id] = entry }
    }

    private func writeIndex(_ plaintext: [UInt8], step: String) throws {
        let parts = try Seal.fileParts(
            magic: ChunkIndex.fileMagic, plaintext: plaintext, key: keys.index, associatedData: indexAssociatedData())
        try FileSystem.writeAtomically(parts: parts, to: indexPath) {
            try faultInjector?("\(step).\($0)")
        }
    }

    /// The index as the last operation left it (callers hold the lock).
    var currentIndex: ChunkIndex { index }

    /// The index, freshly read and authenticated.
    func readIndex() throws -> ChunkIndex { try shared { index } }

    /// Checks that a sealed chunk opens under the data key with its identifier.
    func authenticate(_ sealed: [UInt8], id: ChunkID) throws {
        _ = try Seal.open(sealed, key: keys.data, associatedData: id.bytes, what: "chunk \(id)")
    }

    // MARK: Locking and leftovers

    /// Runs `body` holding this instance's lock and the store's exclusive file lock, on a fresh index.
    func exclusive<T>(_ body: () throws -> T) throws -> T {
        try locked(exclusive: true, body)
    }

    /// Runs `body` holding this instance's lock and the store's shared file lock, on a fresh index.
    func shared<T>(_ body: () throws -> T) throws -> T {
        try locked(exclusive: false, body)
    }

    private func locked<T>(exclusive: Bool, _ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let file = try SystemFile.open(FileSystem.join(path, Self.lockName), flags: O_RDWR | O_CREAT)
        _ = try file.lock(exclusive: exclusive, wait: true)
        defer { file.unlock() }
        try reloadIndex()
        return try body()
    }

    /// Removes what an interrupted backup or collection left: temporary files and packs the index does not
    /// name. Runs only under the exclusive lock, when no other writer can be mid-way.
    func removeLeftovers() throws -> Int {
        var removed = 0
        for directory in [path, pointsDirectory] {
            for name in try FileSystem.list(directory) where FileSystem.isTemporary(name) {
                try FileSystem.remove(FileSystem.join(directory, name), missingOK: true)
                removed += 1
            }
        }
        let referenced = Set(index.packs)
        for name in try FileSystem.list(packsDirectory) {
            if let pack = Pack.name(ofFile: name), referenced.contains(pack) { continue }
            try FileSystem.remove(FileSystem.join(packsDirectory, name), missingOK: true)
            removed += 1
        }
        if removed > 0 {
            for directory in [path, pointsDirectory, packsDirectory] { try FileSystem.syncDirectory(directory) }
        }
        return removed
    }
}

/// Appends chunks to pack files, starting a new pack when one reaches the size limit.
final class PackSession {
    private let store: VaultStore
    private let stepPrefix: String
    private let firstNumber: UInt32
    private var current: PackWriter?
    /// The names of the packs written, in order; pack `firstNumber + i` is `names[i]`.
    private(set) var names: [String] = []

    init(store: VaultStore, firstNumber: UInt32, stepPrefix: String) {
        self.store = store
        self.firstNumber = firstNumber
        self.stepPrefix = stepPrefix
    }

    /// Appends `ids.count` entries of `entryLength` bytes each, laid out back to back in `region`, starting
    /// a new pack whenever one would pass the size limit; returns where each entry went.
    func append(entries region: UnsafeRawBufferPointer, ids: [ChunkID], entryLength: Int) throws -> [IndexEntry] {
        precondition(region.count == ids.count * entryLength)
        var placed: [IndexEntry] = []
        placed.reserveCapacity(ids.count)
        var k = 0
        while k < ids.count {
            if let writer = current, writer.entryCount > 0, writer.size + UInt64(entryLength) > UInt64(store.packSizeLimit) {
                try writer.finish()
                current = nil
            }
            if current == nil {
                let prefix = stepPrefix
                let store = self.store
                current = try PackWriter(directory: store.packsDirectory, storeID: store.storeID) {
                    try store.faultInjector?("\(prefix).\($0)")
                }
                names.append(current!.name)
            }
            let writer = current!
            let room = (UInt64(store.packSizeLimit) - min(UInt64(store.packSizeLimit), writer.size)) / UInt64(entryLength)
            let count = min(ids.count - k, max(1, Int(room)))
            let start = writer.size
            try writer.append(entries: UnsafeRawBufferPointer(rebasing: region[k * entryLength..<(k + count) * entryLength]), count: count)
            let number = firstNumber + UInt32(names.count - 1)
            for j in 0..<count {
                placed.append(IndexEntry(pack: number, offset: start + UInt64(j * entryLength), length: UInt32(entryLength)))
            }
            k += count
        }
        return placed
    }

    /// Appends one sealed chunk.
    func append(id: ChunkID, sealed: [UInt8]) throws -> IndexEntry {
        var entry = [UInt8](repeating: 0, count: Pack.entryHeaderSize + sealed.count)
        return try entry.withUnsafeMutableBytes { entry in
            entry.storeBytes(of: id, toByteOffset: 0, as: ChunkID.self)
            entry.storeBytes(of: UInt32(sealed.count).littleEndian, toByteOffset: 32, as: UInt32.self)
            sealed.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: entry[Pack.entryHeaderSize...]).copyMemory(from: $0) }
            return try append(entries: UnsafeRawBufferPointer(entry), ids: [id], entryLength: entry.count)[0]
        }
    }

    /// Makes every pack durable, including their names in the directory.
    func finish() throws {
        try current?.finish()
        current = nil
        if !names.isEmpty {
            try FileSystem.syncDirectory(store.packsDirectory)
            try store.faultInjector?("\(stepPrefix).sync-directory")
        }
    }
}

/// Whether every byte is zero.
func isAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let words = bytes.count / 8
    var i = 0
    while i + 8 <= words {
        var any: UInt64 = 0
        for j in 0..<8 { any |= bytes.loadUnaligned(fromByteOffset: (i + j) * 8, as: UInt64.self) }
        if any != 0 { return false }
        i += 8
    }
    while i < words {
        if bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 { return false }
        i += 1
    }
    for j in (words * 8)..<bytes.count where bytes[j] != 0 { return false }
    return true
}
