#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CofferCrypto
import CofferSystem
import Foundation

/// A virtual disk of fixed-size blocks kept in a directory, with copy-on-write snapshots that cost metadata,
/// not a copy, and changed-block tracking from metadata alone.
///
/// The directory holds `data`, a sparse pool of block-sized slots; `device.meta`, the live block map
/// (logical block → slot, 0 for a block never written; sparse, see `BlockMap`) with the list of snapshots;
/// and `snapshots/ID.map`, one frozen block map per snapshot. A write to a block whose slot a snapshot shares goes to a new slot, so
/// a snapshot never changes. Metadata is replaced atomically (temporary file, fsync, rename, fsync of the
/// directory) after the data it points to is durable; like a disk with a volatile write cache, writes are
/// durable once `flush()`, `takeSnapshot()` or `deleteSnapshot(_:)` returns (and, at best effort, when the
/// device is freed). One open instance per device at a time: an exclusive lock on the data file refuses a
/// second.
///
/// With an at-rest key every block is stored AES-256-XTS-encrypted (`aes-xts-plain64`, 4096-byte sectors,
/// tweak = the sector's number in the logical layout of the disk); reads return the plaintext. The key is
/// given on every open and never stored; a key check value (HMAC-SHA256 under the key) refuses a wrong one.
public final class BlockDevice: @unchecked Sendable {
    /// The default block size, 64 KiB: chosen by measurement (see the module README and BENCHMARKS.md).
    public static let defaultBlockSize = 65536
    /// The smallest block size, one 4096-byte sector.
    public static let minimumBlockSize = 4096
    /// The largest block size, 16 MiB.
    public static let maximumBlockSize = 16 << 20

    /// The directory that holds the device.
    public let path: String
    /// The size of the disk in bytes.
    public let size: UInt64
    /// The size of a block in bytes, a power of two.
    public let blockSize: Int
    /// Whether blocks are stored encrypted under an at-rest key.
    public var isEncryptedAtRest: Bool { cipher != nil }

    let blockCount: Int
    let geometry: BlockGeometry
    /// The device's random identifier, which recovery points record so that a base is never taken from
    /// another device.
    var identifier: [UInt8] { deviceID }
    private let deviceID: [UInt8]
    private let keyCheck: [UInt8]
    private let cipher: AtRestCipher?
    private let data: SystemFile
    private let lock = NSLock()

    // Everything below is guarded by `lock`.
    private var live: BlockMap
    private var snapshotOrder: [SnapshotID]
    private var snapshotRecords: [SnapshotID: SnapshotRecord]
    /// References to each slot (index 0 unused): one for the live map and one per snapshot map holding it.
    private var references: [UInt32]
    /// Free slots, highest first, so that `popLast()` reuses the lowest.
    private var freeSlots: [UInt32]
    private var nextSequence: UInt64
    private var mapDirty = false
    private var dataDirty = false
    private var scratch: [UInt8]
    private var previousWriteback: Range<UInt64>?
    /// How many reads of the data file this instance has made; changed-block tracking must not add any.
    private(set) var dataReadCount = 0
    /// Called after each named step of a metadata commit; tests throw from it to simulate a crash.
    var faultInjector: ((String) throws -> Void)?

    struct SnapshotRecord {
        var id: SnapshotID
        var created: Date
        var map: BlockMap
    }

    private static let metadataName = "device.meta"
    private static let dataName = "data"
    private static let snapshotsName = "snapshots"
    private static let metadataMagic = Array("CFDEVMD1".utf8)
    private static let snapshotMagic = Array("CFSNAPM1".utf8)
    /// Format 2 stores block maps as runs of written blocks; format 1 (one slot per block) is still read.
    private static let formatVersion: UInt32 = 2

    // MARK: Creating and opening

    /// Creates an empty device (every block reads as zeros and takes no space) in a new directory at `path`.
    public static func create(
        at path: String, size: UInt64, blockSize: Int = defaultBlockSize, atRestKey: SecureBytes? = nil
    ) throws -> BlockDevice {
        return try presentingSystemErrors {
            guard blockSize >= minimumBlockSize, blockSize <= maximumBlockSize, blockSize & (blockSize - 1) == 0 else {
                throw SnapshotError(
                    code: .invalidArgument,
                    message: "block size \(blockSize) is not a power of two from \(minimumBlockSize) to \(maximumBlockSize)")
            }
            guard size > 0, size % UInt64(blockSize) == 0 else {
                throw SnapshotError(
                    code: .invalidArgument,
                    message: "disk size \(size) is not a positive multiple of the block size \(blockSize); round it up")
            }
            let blockCount = size / UInt64(blockSize)
            guard blockCount < UInt64(UInt32.max / 4) else {
                throw SnapshotError(
                    code: .invalidArgument,
                    message: "a disk of \(size) bytes has \(blockCount) blocks of \(blockSize) bytes, more than a "
                        + "device can map; use a larger block size")
            }
            var keyCheck = [UInt8](repeating: 0, count: 32)
            let deviceID = try randomIdentifier()
            if let atRestKey {
                _ = try AtRestCipher(key: atRestKey)
                keyCheck = AtRestCipher.keyCheck(atRestKey, deviceID: deviceID)
            }
            try FileSystem.makeDirectory(path)
            try FileSystem.makeDirectory(FileSystem.join(path, snapshotsName))
            _ = try SystemFile.open(FileSystem.join(path, dataName), flags: O_RDWR | O_CREAT | O_EXCL)
            let header = Header(
                size: size, blockSize: blockSize, encrypted: atRestKey != nil, deviceID: deviceID, keyCheck: keyCheck)
            let metadata = encodeMetadata(
                header: header, nextSequence: 1, live: BlockMap(blockCount: Int(blockCount)), snapshots: [])
            try FileSystem.writeAtomically(metadata, to: FileSystem.join(path, metadataName))
            try FileSystem.syncDirectory(path)
            try FileSystem.syncDirectory(FileSystem.parent(path))
            return try open(at: path, atRestKey: atRestKey)
        }
    }

    /// Opens an existing device; `atRestKey` must be the key it was created with (nil when it has none).
    public static func open(at path: String, atRestKey: SecureBytes? = nil) throws -> BlockDevice {
        return try presentingSystemErrors {
            guard FileSystem.isDirectory(path), FileSystem.exists(FileSystem.join(path, metadataName)) else {
                throw SnapshotError(
                    code: .notFound,
                    message: "no block device at \(path) (expected a directory with \(metadataName)); "
                        + "create one with BlockDevice.create")
            }
            let data = try SystemFile.open(FileSystem.join(path, dataName), flags: O_RDWR)
            guard try lockSoon(data) else {
                throw SnapshotError(
                    code: .busy,
                    message: "the block device at \(path) is already open, in this process or another; "
                        + "close the other instance first")
            }
            return try BlockDevice(path: path, data: data, atRestKey: atRestKey)
        }
    }

    /// Takes the device's exclusive lock, waiting up to half a second for it. An open device holds the lock
    /// through its data file's descriptor; a process that starts another (fork, then exec) lends every
    /// descriptor to the child until the exec closes it (`O_CLOEXEC`), so a device just closed can look open
    /// for that moment. A device open for longer is refused.
    private static func lockSoon(_ data: SystemFile) throws -> Bool {
        for attempt in 0..<100 {
            if try data.lock(exclusive: true, wait: false) { return true }
            if attempt < 99 { usleep(5_000) }
        }
        return false
    }

    /// Removes a device and all its snapshots; refuses while the device is open.
    public static func destroy(at path: String) throws {
        try presentingSystemErrors {
            guard FileSystem.exists(FileSystem.join(path, metadataName)) else {
                throw SnapshotError(code: .notFound, message: "no block device at \(path)")
            }
            let data = try SystemFile.open(FileSystem.join(path, dataName), flags: O_RDWR)
            guard try lockSoon(data) else {
                throw SnapshotError(
                    code: .busy, message: "the block device at \(path) is open; close it before destroying it")
            }
            try FileSystem.removeTree(path)
        }
    }

    private init(path: String, data: SystemFile, atRestKey: SecureBytes?) throws {
        self.path = path
        self.data = data
        let metadataPath = FileSystem.join(path, Self.metadataName)
        let metadata = try Self.decodeMetadata(try SystemFile.open(metadataPath, flags: O_RDONLY).readAll(), path: metadataPath)
        let header = metadata.header
        size = header.size
        blockSize = header.blockSize
        blockCount = Int(header.size / UInt64(header.blockSize))
        geometry = BlockGeometry(blockSize: header.blockSize)
        deviceID = header.deviceID
        keyCheck = header.keyCheck
        switch (header.encrypted, atRestKey) {
        case (false, nil):
            cipher = nil
        case (false, .some):
            throw SnapshotError(
                code: .invalidArgument,
                message: "the block device at \(path) is not encrypted at rest; open it without an at-rest key")
        case (true, nil):
            throw SnapshotError(
                code: .wrongKey,
                message: "the block device at \(path) is encrypted at rest; open it with its at-rest key")
        case (true, .some(let key)):
            let candidate = try AtRestCipher(key: key)
            guard AtRestCipher.keyCheck(key, deviceID: header.deviceID) == header.keyCheck else {
                throw SnapshotError(
                    code: .wrongKey,
                    message: "the at-rest key does not open the block device at \(path); give the key it was "
                        + "created with")
            }
            cipher = candidate
        }
        live = metadata.live
        nextSequence = metadata.nextSequence
        snapshotOrder = metadata.snapshots
        snapshotRecords = [:]
        references = []
        freeSlots = []
        scratch = [UInt8](repeating: 0, count: header.blockSize)

        let snapshotDirectory = FileSystem.join(path, Self.snapshotsName)
        for id in metadata.snapshots {
            let file = FileSystem.join(snapshotDirectory, id.rawValue + ".map")
            guard FileSystem.exists(file) else {
                throw SnapshotError(
                    code: .corrupted,
                    message: "the block device at \(path) lists snapshot \(id) but \(file) is missing")
            }
            let record = try Self.decodeSnapshot(
                try SystemFile.open(file, flags: O_RDONLY).readAll(), path: file, deviceID: deviceID,
                blockCount: blockCount)
            guard record.id == id else {
                throw SnapshotError(code: .corrupted, message: "\(file) holds snapshot \(record.id), not \(id)")
            }
            snapshotRecords[id] = record
        }
        // Maps read from files share no page: share equal ones so that comparisons skip them.
        var previous = live
        for id in metadata.snapshots.reversed() {
            snapshotRecords[id]!.map.share(equalPagesOf: previous)
            previous = snapshotRecords[id]!.map
        }
        try recoverSpace(snapshotDirectory: snapshotDirectory)
    }

    deinit {
        try? flush()
    }

    /// Derives reference counts from the maps, removes files a crash left behind (snapshot maps that were
    /// never committed, temporary files), frees the disk space of every unreferenced slot and trims the
    /// data file after the last slot in use.
    private func recoverSpace(snapshotDirectory: String) throws {
        let fileSize = try data.size()
        let slotsInFile = Int((fileSize + UInt64(blockSize) - 1) / UInt64(blockSize))
        var counts = [UInt32](repeating: 0, count: slotsInFile + 1)
        var highest = 0
        // Each distinct page is counted once, times the maps that share it: opening costs the distinct pages,
        // not the snapshots times the written blocks.
        var holders: [ObjectIdentifier: (page: BlockMap.Page, maps: UInt32)] = [:]
        for map in [live] + snapshotOrder.map({ snapshotRecords[$0]!.map }) {
            for page in map.pages.values { holders[ObjectIdentifier(page), default: (page, 0)].maps += 1 }
        }
        for (page, maps) in holders.values {
            for slot in page.slots where slot != 0 {
                let index = Int(slot)
                guard index <= slotsInFile else {
                    throw SnapshotError(
                        code: .corrupted,
                        message: "the block device at \(path) maps a block to slot \(slot), but its data file holds "
                            + "only \(slotsInFile) slots; the data file was truncated or replaced")
                }
                counts[index] += maps
                highest = max(highest, index)
            }
        }
        for name in try FileSystem.list(snapshotDirectory) {
            let id = SnapshotID(String(name.dropLast(".map".count)))
            if FileSystem.isTemporary(name) || !(name.hasSuffix(".map") && snapshotRecords[id] != nil) {
                try FileSystem.remove(FileSystem.join(snapshotDirectory, name), missingOK: true)
            }
        }
        for name in try FileSystem.list(path) where FileSystem.isTemporary(name) {
            try FileSystem.remove(FileSystem.join(path, name), missingOK: true)
        }
        // Slots past the last one in use are dropped; holes are punched in the free ones below it.
        if slotsInFile > highest {
            try data.truncate(to: UInt64(highest) * UInt64(blockSize))
        }
        counts.removeLast(slotsInFile - highest)
        references = counts
        var run: Range<Int>? = nil
        for slot in stride(from: highest, through: 1, by: -1) where counts[slot] == 0 {
            freeSlots.append(UInt32(slot))
        }
        for slot in 1..<(highest + 1) {
            if counts[slot] == 0 {
                run = run.map { $0.lowerBound..<(slot + 1) } ?? slot..<(slot + 1)
            } else if let current = run {
                try punch(current)
                run = nil
            }
        }
        if let run { try punch(run) }
    }

    private func punch(_ slots: Range<Int>) throws {
        try data.punchHole(
            offset: UInt64(slots.lowerBound - 1) * UInt64(blockSize), length: UInt64(slots.count) * UInt64(blockSize))
    }

    // MARK: Reading and writing

    /// Reads `count` bytes at `offset` of the live disk; blocks never written read as zeros.
    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        return try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            return try readRange(map: live, offset: offset, count: count)
        }
    }

    /// Reads `count` bytes at `offset` of the disk as it was when `snapshot` was taken.
    public func read(snapshot: SnapshotID, at offset: UInt64, count: Int) throws -> [UInt8] {
        return try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            return try readRange(map: try record(snapshot).map, offset: offset, count: count)
        }
    }

    /// Writes `bytes` at `offset`; a write that covers part of a block reads, changes and rewrites it.
    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try presentingSystemErrors {
            try checkRange(offset: offset, count: bytes.count)
            lock.lock()
            defer { lock.unlock() }
            try bytes.withUnsafeBytes { source in
                var done = 0
                for block in geometry.blocks(offset: offset, length: bytes.count) {
                    let blockStart = block * UInt64(blockSize)
                    let from = Int(max(offset, blockStart) - blockStart)
                    let to = Int(min(offset + UInt64(bytes.count), blockStart + UInt64(blockSize)) - blockStart)
                    let piece = UnsafeRawBufferPointer(rebasing: source[done..<done + (to - from)])
                    try writePiece(block: Int(block), at: from, piece)
                    done += to - from
                }
            }
        }
    }

    /// Makes every write so far durable: syncs the data file, then commits the block map atomically.
    public func flush() throws {
        try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            try commit()
        }
    }

    /// The disk space the device really uses: its data file's allocated blocks plus its metadata files.
    public func allocatedBytes() throws -> UInt64 {
        return try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            var total = try data.allocatedBytes()
            let snapshotDirectory = FileSystem.join(path, Self.snapshotsName)
            for file in [FileSystem.join(path, Self.metadataName)]
                + (try FileSystem.list(snapshotDirectory)).map({ FileSystem.join(snapshotDirectory, $0) })
            {
                total += try SystemFile.open(file, flags: O_RDONLY).allocatedBytes()
            }
            return total
        }
    }

    private func checkRange(offset: UInt64, count: Int) throws {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw SnapshotError(
                code: .invalidArgument,
                message: "the range of \(count) bytes at offset \(offset) goes past the end of the \(size)-byte disk")
        }
    }

    private func slotOffset(_ slot: UInt32) -> UInt64 { UInt64(slot - 1) * UInt64(blockSize) }

    private func readRange(map: BlockMap, offset: UInt64, count: Int) throws -> [UInt8] {
        try checkRange(offset: offset, count: count)
        var result = [UInt8](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { destination in
            var done = 0
            for block in geometry.blocks(offset: offset, length: count) {
                let blockStart = block * UInt64(blockSize)
                let from = Int(max(offset, blockStart) - blockStart)
                let to = Int(min(offset + UInt64(count), blockStart + UInt64(blockSize)) - blockStart)
                let slot = map[Int(block)]
                if slot != 0 {
                    let piece = UnsafeMutableRawBufferPointer(rebasing: destination[done..<done + (to - from)])
                    try readPlain(slot: slot, block: Int(block), range: from..<to, into: piece)
                }
                done += to - from
            }
        }
        return result
    }

    /// Reads the plaintext of bytes `range` of a block stored in `slot`.
    private func readPlain(
        slot: UInt32, block: Int, range: Range<Int>, into destination: UnsafeMutableRawBufferPointer
    ) throws {
        dataReadCount += 1
        let base = slotOffset(slot)
        guard let cipher else {
            try data.readExactly(into: destination, at: base + UInt64(range.lowerBound))
            return
        }
        let sector = AtRestCipher.sectorSize
        let low = range.lowerBound / sector * sector
        let high = (range.upperBound + sector - 1) / sector * sector
        let deviceOffset = UInt64(block) * UInt64(blockSize) + UInt64(low)
        if low == range.lowerBound && high == range.upperBound {
            try data.readExactly(into: destination, at: base + UInt64(low))
            try cipher.decrypt(destination, deviceOffset: deviceOffset)
            return
        }
        var sectors = [UInt8](repeating: 0, count: high - low)
        try sectors.withUnsafeMutableBytes { buffer in
            try data.readExactly(into: buffer, at: base + UInt64(low))
            try cipher.decrypt(buffer, deviceOffset: deviceOffset)
            destination.copyMemory(
                from: UnsafeRawBufferPointer(rebasing: buffer[(range.lowerBound - low)..<(range.upperBound - low)]))
        }
    }

    /// Writes `piece` at byte `at` of `block`: in place when the block's slot is its own, otherwise (never
    /// written, or shared with a snapshot) to a new slot holding the whole block.
    private func writePiece(block: Int, at inBlock: Int, _ piece: UnsafeRawBufferPointer) throws {
        let slot = live[block]
        if slot != 0 && references[Int(slot)] == 1 {
            try writeInPlace(slot: slot, block: block, at: inBlock, piece)
        } else {
            try scratch.withUnsafeMutableBytes { buffer in
                if piece.count == blockSize {
                    buffer.copyMemory(from: piece)
                } else {
                    if slot == 0 {
                        buffer.initializeMemory(as: UInt8.self, repeating: 0)
                    } else {
                        try readPlain(slot: slot, block: block, range: 0..<blockSize, into: buffer)
                    }
                    UnsafeMutableRawBufferPointer(rebasing: buffer[inBlock..<inBlock + piece.count]).copyMemory(from: piece)
                }
                try encryptForStorage(buffer, block: UInt64(block))
                try writeNewSlot(block: block, stored: UnsafeRawBufferPointer(buffer))
            }
        }
        dataDirty = true
    }

    /// Stores a whole block, given in stored form (see `encryptForStorage`), in a newly allocated slot and
    /// points the live map at it.
    private func writeNewSlot(block: Int, stored buffer: UnsafeRawBufferPointer) throws {
        let newSlot = try allocateSlot()
        do {
            try data.write(buffer, at: slotOffset(newSlot))
        } catch {
            freeSlots.append(newSlot)
            freeSlots.sort(by: >)
            throw error
        }
        let old = live[block]
        references[Int(newSlot)] = 1
        live[block] = newSlot
        if old != 0 { references[Int(old)] -= 1 }
        mapDirty = true
        dataDirty = true
    }

    private func writeInPlace(slot: UInt32, block: Int, at inBlock: Int, _ piece: UnsafeRawBufferPointer) throws {
        let base = slotOffset(slot)
        guard let cipher else {
            try data.write(piece, at: base + UInt64(inBlock))
            return
        }
        let sector = AtRestCipher.sectorSize
        let low = inBlock / sector * sector
        let high = (inBlock + piece.count + sector - 1) / sector * sector
        try scratch.withUnsafeMutableBytes { whole in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: whole[0..<(high - low)])
            if low != inBlock || high != inBlock + piece.count {
                try readPlain(slot: slot, block: block, range: low..<high, into: buffer)
            }
            UnsafeMutableRawBufferPointer(rebasing: buffer[(inBlock - low)..<(inBlock - low + piece.count)])
                .copyMemory(from: piece)
            try cipher.encrypt(buffer, deviceOffset: UInt64(block) * UInt64(blockSize) + UInt64(low))
            try data.write(UnsafeRawBufferPointer(buffer), at: base + UInt64(low))
        }
    }

    private func allocateSlot() throws -> UInt32 {
        if let slot = freeSlots.popLast() { return slot }
        guard references.count < Int(UInt32.max) else {
            throw SnapshotError(
                code: .invalidArgument,
                message: "the block device at \(path) has no free slot left; delete snapshots to free some")
        }
        if references.isEmpty { references.append(0) }
        references.append(0)
        return UInt32(references.count - 1)
    }

    // MARK: Block-level access for the vault store

    /// Reads whole blocks of a snapshot, one after another, into `buffer` (`blocks.count × blockSize` bytes)
    /// in stored form: still encrypted when the device has an at-rest key, so that callers can decrypt them
    /// on several cores with `decryptStored`. Consecutive blocks in consecutive slots are read with one call.
    /// Returns, per block, whether it was ever written; blocks never written are zeros in the clear.
    func readStoredBlocks(
        snapshot: SnapshotID, blocks: ArraySlice<UInt64>, into buffer: UnsafeMutableRawBufferPointer
    ) throws -> [Bool] {
        precondition(buffer.count == blocks.count * blockSize)
        lock.lock()
        defer { lock.unlock() }
        let map = try record(snapshot).map
        var written = [Bool](repeating: false, count: blocks.count)
        var index = blocks.startIndex
        var position = 0
        while index < blocks.endIndex {
            let block = Int(blocks[index])
            precondition(block < blockCount)
            let slot = map[block]
            var run = 1
            if slot != 0 {
                while index + run < blocks.endIndex, Int(blocks[index + run]) == block + run, block + run < blockCount,
                    map[block + run] == slot + UInt32(run)
                {
                    run += 1
                }
            }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[position..<position + run * blockSize])
            if slot == 0 {
                target.initializeMemory(as: UInt8.self, repeating: 0)
            } else {
                dataReadCount += 1
                try data.readExactly(into: target, at: slotOffset(slot))
                for k in 0..<run { written[index - blocks.startIndex + k] = true }
            }
            index += run
            position += run * blockSize
        }
        return written
    }

    /// Turns a written block in stored form into plaintext, in place; safe to call from several threads.
    func decryptStored(_ buffer: UnsafeMutableRawBufferPointer, block: UInt64) throws {
        if let cipher { try cipher.decrypt(buffer, deviceOffset: block * UInt64(blockSize)) }
    }

    /// Turns a plaintext block into its stored form, in place (encrypted under the at-rest key, whose tweak
    /// depends on the logical block alone); safe to call from several threads.
    func encryptForStorage(_ buffer: UnsafeMutableRawBufferPointer, block: UInt64) throws {
        if let cipher { try cipher.encrypt(buffer, deviceOffset: block * UInt64(blockSize)) }
    }

    /// Slots reserved for whole-block writes from several threads: a block's own slot where it has one, a
    /// new one otherwise. The map changes only when the reservation is committed.
    struct SlotReservation {
        var blocks: [Int]
        var slots: [UInt32]
        var fresh: [Bool]
        /// The bytes of the data file the slots cover.
        var range: Range<UInt64>
    }

    /// Reserves a slot for each of `blocks`, new ones in ascending order with their disk space preallocated,
    /// so that `writeStored(_:slot:)` can fill them from several threads.
    func reserveSlots(blocks: [Int]) throws -> SlotReservation {
        lock.lock()
        defer { lock.unlock() }
        var reservation = SlotReservation(blocks: blocks, slots: [], fresh: [], range: 0..<0)
        reservation.slots.reserveCapacity(blocks.count)
        var low = UInt64.max
        var high: UInt64 = 0
        do {
            for block in blocks {
                precondition(block < blockCount)
                let slot = live[block]
                if slot != 0 && references[Int(slot)] == 1 {
                    reservation.slots.append(slot)
                    reservation.fresh.append(false)
                } else {
                    reservation.slots.append(try allocateSlot())
                    reservation.fresh.append(true)
                }
                low = min(low, slotOffset(reservation.slots.last!))
                high = max(high, slotOffset(reservation.slots.last!) + UInt64(blockSize))
            }
        } catch {
            releaseLocked(reservation)
            throw error
        }
        if low < high {
            reservation.range = low..<high
            data.preallocate(offset: low, length: high - low)
        }
        return reservation
    }

    /// Writes one whole block, in stored form, into a reserved slot; safe to call from several threads for
    /// distinct slots.
    func writeStored(_ block: UnsafeRawBufferPointer, slot: UInt32) throws {
        precondition(block.count == blockSize && slot != 0)
        try data.write(block, at: slotOffset(slot))
    }

    /// Points the map at the reserved slots once every block is written.
    func commit(_ reservation: SlotReservation) {
        lock.lock()
        defer { lock.unlock() }
        for (k, block) in reservation.blocks.enumerated() where reservation.fresh[k] {
            let old = live[block]
            references[Int(reservation.slots[k])] = 1
            live[block] = reservation.slots[k]
            if old != 0 { references[Int(old)] -= 1 }
            mapDirty = true
        }
        dataDirty = true
    }

    /// Gives back the new slots of a reservation that will not be committed.
    func release(_ reservation: SlotReservation) {
        lock.lock()
        defer { lock.unlock() }
        releaseLocked(reservation)
    }

    private func releaseLocked(_ reservation: SlotReservation) {
        for (k, slot) in reservation.slots.enumerated() where reservation.fresh[k] { freeSlots.append(slot) }
        freeSlots.sort(by: >)
    }

    /// Write-behind for bulk writes: starts writing the data file's dirty pages at `range` (bytes of the
    /// data file, as a `SlotReservation` gives them) and waits for those of the previous call, so that the
    /// disk stays busy and the next flush waits less.
    func writeBehind(_ range: Range<UInt64>) {
        lock.lock()
        let previous = previousWriteback
        previousWriteback = range
        lock.unlock()
        // Not under the lock: waiting for the disk must not hold up the device.
        data.startWriteback(offset: range.lowerBound, length: UInt64(range.count))
        if let previous { data.awaitWriteback(offset: previous.lowerBound, length: UInt64(previous.count)) }
    }

    // MARK: Snapshots

    /// Freezes the disk as it is now: shares the block map's pages (the live map copies a page when it next
    /// changes it) and every slot, no data copied; costs the written blocks' metadata.
    public func takeSnapshot() throws -> SnapshotID {
        return try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            let id = SnapshotID(String(format: "snap-%06llu-", nextSequence) + Hex.random(4))
            let record = SnapshotRecord(id: id, created: Date(), map: live)
            nextSequence += 1
            live.forEachWritten { _, slot in references[Int(slot)] += 1 }
            snapshotOrder.append(id)
            snapshotRecords[id] = record
            let file = snapshotFile(id)
            var committed = false
            do {
                try syncData()
                try FileSystem.writeAtomically(encodeSnapshot(record), to: file) { try faultInjector?("snapshot.map.\($0)") }
                try commit(force: true) { if $0 == "rename" { committed = true } }
            } catch {
                // Once the metadata naming the snapshot is in place the snapshot exists, error or not; before
                // that, the map file is an orphan that the next open removes.
                if !committed {
                    snapshotOrder.removeLast()
                    snapshotRecords[id] = nil
                    live.forEachWritten { _, slot in references[Int(slot)] -= 1 }
                }
                throw error
            }
            return id
        }
    }

    /// The device's snapshots, oldest first.
    public func snapshots() throws -> [SnapshotID] {
        lock.lock()
        defer { lock.unlock() }
        return snapshotOrder
    }

    /// When a snapshot was taken.
    public func snapshotDate(_ id: SnapshotID) throws -> Date {
        return try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            return try record(id).created
        }
    }

    /// Deletes a snapshot: commits the list without it, then frees (punches holes in) the slots that no
    /// other map references.
    public func deleteSnapshot(_ id: SnapshotID) throws {
        try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            let record = try record(id)
            let position = snapshotOrder.firstIndex(of: id)!
            snapshotOrder.remove(at: position)
            snapshotRecords[id] = nil
            do {
                try commit(force: true)
            } catch {
                snapshotOrder.insert(id, at: position)
                snapshotRecords[id] = record
                throw error
            }
            // Committed: what follows only reclaims space, and opening the device redoes it after a crash.
            try? FileSystem.remove(snapshotFile(id), missingOK: true)
            var freed: [Int] = []
            record.map.forEachWritten { _, slot in
                references[Int(slot)] -= 1
                if references[Int(slot)] == 0 { freed.append(Int(slot)) }
            }
            freed.sort()
            var start = 0
            while start < freed.count {
                var end = start + 1
                while end < freed.count && freed[end] == freed[end - 1] + 1 { end += 1 }
                try? punch(freed[start]..<(freed[end - 1] + 1))
                start = end
            }
            freeSlots.append(contentsOf: freed.map { UInt32($0) })
            freeSlots.sort(by: >)
        }
    }

    /// Blocks whose contents may differ, from metadata only; base nil = every written block of `snapshot`. A
    /// block changed when its slot differs: a slot a snapshot shares is never written in place, and a slot is
    /// reused only after no map references it.
    public func changedBlocks(from base: SnapshotID?, to snapshot: SnapshotID) throws -> [UInt64] {
        return try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            let target = try record(snapshot).map
            return BlockMap.difference(from: try base.map { try record($0).map }, to: target)
        }
    }

    /// Blocks of the live disk whose contents may differ from `base`, from metadata only.
    public func changedBlocks(since base: SnapshotID) throws -> [UInt64] {
        return try presentingSystemErrors {
            lock.lock()
            defer { lock.unlock() }
            return BlockMap.difference(from: try record(base).map, to: live)
        }
    }

    private func record(_ id: SnapshotID) throws -> SnapshotRecord {
        guard let record = snapshotRecords[id] else {
            throw SnapshotError(
                code: .notFound,
                message: "the block device at \(path) has no snapshot \(id); list them with snapshots()")
        }
        return record
    }

    private func snapshotFile(_ id: SnapshotID) -> String {
        FileSystem.join(FileSystem.join(path, Self.snapshotsName), id.rawValue + ".map")
    }

    // MARK: Committing metadata

    private func syncData() throws {
        if dataDirty {
            try data.sync()
            try faultInjector?("data.sync")
            dataDirty = false
        }
    }

    /// Syncs the data file, then replaces `device.meta` atomically when the map changed (or `force`).
    private func commit(force: Bool = false, onStep: (String) -> Void = { _ in }) throws {
        try syncData()
        guard mapDirty || force else { return }
        let header = Header(
            size: size, blockSize: blockSize, encrypted: cipher != nil, deviceID: deviceID, keyCheck: keyCheck)
        let bytes = Self.encodeMetadata(header: header, nextSequence: nextSequence, live: live, snapshots: snapshotOrder)
        try FileSystem.writeAtomically(bytes, to: FileSystem.join(path, Self.metadataName)) {
            onStep($0)
            try faultInjector?("device.meta.\($0)")
        }
        mapDirty = false
    }

    struct Header {
        var size: UInt64
        var blockSize: Int
        var encrypted: Bool
        var deviceID: [UInt8]
        var keyCheck: [UInt8]
    }

    private static func encodeMetadata(
        header: Header, nextSequence: UInt64, live: BlockMap, snapshots: [SnapshotID]
    ) -> [UInt8] {
        var writer = ByteWriter(capacity: 128 + live.pages.count * 64 + snapshots.count * 32)
        writer.append(bytes: metadataMagic)
        writer.append(formatVersion)
        writer.append(header.size)
        writer.append(UInt32(header.blockSize))
        writer.append(UInt32(header.encrypted ? 1 : 0))
        writer.append(bytes: header.deviceID)
        writer.append(bytes: header.keyCheck)
        writer.append(nextSequence)
        writer.append(UInt64(live.blockCount))
        live.encode(into: &writer)
        writer.append(UInt32(snapshots.count))
        for id in snapshots { writer.append(string: id.rawValue) }
        writer.append(bytes: SHA256.hash(writer.bytes))
        return writer.bytes
    }

    private static func decodeMetadata(_ bytes: [UInt8], path: String) throws -> (
        header: Header, nextSequence: UInt64, live: BlockMap, snapshots: [SnapshotID]
    ) {
        let body = try checkDigest(bytes, path: path)
        var reader = ByteReader(body, what: path)
        try reader.expect(magic: metadataMagic)
        let version = try reader.uint32()
        guard version == 1 || version == formatVersion else {
            throw SnapshotError(
                code: .corrupted, message: "\(path) has format version \(version); this coffer reads 1 and \(formatVersion)")
        }
        let size = try reader.uint64()
        let blockSize = Int(try reader.uint32())
        let flags = try reader.uint32()
        let deviceID = try reader.bytes(16)
        let keyCheck = try reader.bytes(32)
        let nextSequence = try reader.uint64()
        let count = version == 1 ? UInt64(try reader.uint32()) : try reader.uint64()
        guard blockSize >= minimumBlockSize, blockSize & (blockSize - 1) == 0, size % UInt64(blockSize) == 0,
            count == size / UInt64(blockSize), count < UInt64(UInt32.max / 4)
        else { throw reader.malformed("its size \(size), block size \(blockSize) and map of \(count) disagree") }
        let live = version == 1
            ? BlockMap(flat: try reader.uint32Array(count: Int(count)))
            : try BlockMap.decode(from: &reader, blockCount: Int(count))
        let snapshotCount = Int(try reader.uint32())
        var snapshots: [SnapshotID] = []
        for _ in 0..<snapshotCount {
            let id = try reader.string(maxLength: 100)
            guard isSafeFileName(id) else { throw reader.malformed("snapshot name \(id) is not valid") }
            snapshots.append(SnapshotID(id))
        }
        try reader.expectEnd()
        let header = Header(size: size, blockSize: blockSize, encrypted: flags & 1 != 0, deviceID: deviceID, keyCheck: keyCheck)
        return (header, nextSequence, live, snapshots)
    }

    private func encodeSnapshot(_ record: SnapshotRecord) -> [UInt8] {
        var writer = ByteWriter(capacity: 128 + record.map.pages.count * 64)
        writer.append(bytes: Self.snapshotMagic)
        writer.append(Self.formatVersion)
        writer.append(bytes: deviceID)
        writer.append(string: record.id.rawValue)
        writer.append(Int64((record.created.timeIntervalSince1970 * 1000).rounded()))
        writer.append(UInt64(record.map.blockCount))
        record.map.encode(into: &writer)
        writer.append(bytes: SHA256.hash(writer.bytes))
        return writer.bytes
    }

    private static func decodeSnapshot(_ bytes: [UInt8], path: String, deviceID: [UInt8], blockCount: Int) throws
        -> SnapshotRecord
    {
        let body = try checkDigest(bytes, path: path)
        var reader = ByteReader(body, what: path)
        try reader.expect(magic: snapshotMagic)
        let version = try reader.uint32()
        guard version == 1 || version == formatVersion else { throw reader.malformed("unknown format version") }
        guard try reader.bytes(16) == deviceID else {
            throw SnapshotError(code: .corrupted, message: "\(path) belongs to another block device")
        }
        let id = SnapshotID(try reader.string(maxLength: 100))
        let created = Date(timeIntervalSince1970: Double(try reader.int64()) / 1000)
        let count = version == 1 ? UInt64(try reader.uint32()) : try reader.uint64()
        guard count == UInt64(blockCount) else { throw reader.malformed("it maps \(count) blocks, the device has \(blockCount)") }
        let map = version == 1
            ? BlockMap(flat: try reader.uint32Array(count: blockCount))
            : try BlockMap.decode(from: &reader, blockCount: blockCount)
        try reader.expectEnd()
        return SnapshotRecord(id: id, created: created, map: map)
    }

    /// The bytes before a trailing SHA-256 digest, after checking the digest.
    private static func checkDigest(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        guard bytes.count > 32 else {
            throw SnapshotError(code: .corrupted, message: "\(path) is too short to be coffer metadata")
        }
        let body = Array(bytes[..<(bytes.count - 32)])
        guard SHA256.hash(body) == Array(bytes[(bytes.count - 32)...]) else {
            throw SnapshotError(
                code: .corrupted, message: "\(path) fails its SHA-256 check: the file was changed or damaged")
        }
        return body
    }
}

/// 16 random bytes that identify a device, store or pack.
func randomIdentifier() throws -> [UInt8] {
    do {
        return try SecureRandom.bytes(16)
    } catch {
        throw SnapshotError(code: .crypto, message: "could not draw random bytes", underlying: error)
    }
}
