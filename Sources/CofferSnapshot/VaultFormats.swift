import CofferCrypto
import CofferSystem
import Foundation

/// A chunk's keyed identifier, HMAC-SHA256(store id key, plaintext), held as four words for cheap hashing.
struct ChunkID: Hashable, Sendable, CustomStringConvertible {
    var w0: UInt64
    var w1: UInt64
    var w2: UInt64
    var w3: UInt64

    /// The identifier that marks a hole (an all-zero block, not stored) in a recovery point.
    static let hole = ChunkID(w0: 0, w1: 0, w2: 0, w3: 0)

    init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    init(_ bytes: [UInt8]) {
        precondition(bytes.count == 32)
        self = bytes.withUnsafeBytes { Self(raw: $0) }
    }

    init(raw: UnsafeRawBufferPointer) {
        precondition(raw.count >= 32)
        w0 = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        w2 = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        w3 = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    var bytes: [UInt8] { withUnsafeBytes(of: self) { Array($0) } }

    var isHole: Bool { self == .hole }

    var description: String { Hex.encode(bytes) }

    /// The words are uniformly random, so one of them is hash enough.
    func hash(into hasher: inout Hasher) { hasher.combine(w0) }
}

/// Where a chunk's entry lives: which pack, at what offset, how long (entry header and sealed box).
struct IndexEntry: Hashable, Sendable {
    var pack: UInt32
    var offset: UInt64
    var length: UInt32
}

/// The sub-keys of a vault store, derived with HKDF-SHA256 from its master key, salted with the store's
/// random identifier so that two stores under one master key share no sub-key.
struct VaultKeys {
    /// HMAC key of chunk identifiers.
    let id: SecureBytes
    /// AES-256-GCM key of chunks.
    let data: SecureBytes
    /// AES-256-GCM key of the index.
    let index: SecureBytes
    /// AES-256-GCM key of recovery points.
    let point: SecureBytes
    /// HMAC key of the config file, which proves the master key right.
    let config: SecureBytes

    init(master: SecureBytes, storeID: [UInt8]) throws {
        func derive(_ label: String) throws -> SecureBytes {
            do {
                return try HKDFSHA256.deriveKey(from: master, salt: storeID, info: Array("coffer vault \(label)".utf8))
            } catch {
                throw SnapshotError(
                    code: .crypto, message: "could not derive the vault's \(label) key", underlying: error)
            }
        }
        id = try derive("chunk id")
        data = try derive("chunk data")
        index = try derive("index")
        point = try derive("recovery point")
        config = try derive("config")
    }
}

/// Sealing and opening with AES-256-GCM, mapping failures to `SnapshotError`.
enum Seal {
    /// What sealing adds to a chunk: a 12-byte nonce and a 16-byte tag.
    static let overhead = 28

    /// Seals a chunk and returns its parts, so that callers can lay them out without another copy.
    static func box(_ plaintext: UnsafeRawBufferPointer, key: SecureBytes, associatedData: [UInt8]) throws
        -> AES256GCM.SealedBox
    {
        let box: AES256GCM.SealedBox
        do {
            box = try AES256GCM.seal(plaintext, key: key, associatedData: associatedData)
        } catch {
            throw SnapshotError(code: .crypto, message: "AES-256-GCM sealing failed", underlying: error)
        }
        guard box.nonce.count + box.tag.count == overhead, box.ciphertext.count == plaintext.count else {
            throw SnapshotError(code: .crypto, message: "AES-256-GCM returned a sealed box of an unexpected shape")
        }
        return box
    }

    /// The parts of a sealed file, to write in order: `magic`, then the nonce, ciphertext and tag of
    /// `plaintext` (kept apart so that no copy of the whole is made).
    static func fileParts(magic: [UInt8], plaintext: [UInt8], key: SecureBytes, associatedData: [UInt8]) throws
        -> [[UInt8]]
    {
        do {
            let box = try AES256GCM.seal(plaintext, key: key, associatedData: associatedData)
            return [magic, box.nonce, box.ciphertext, box.tag]
        } catch {
            throw SnapshotError(code: .crypto, message: "AES-256-GCM sealing failed", underlying: error)
        }
    }

    /// The plaintext of a file written from `fileParts`, or `corrupted` naming `what`.
    static func openFile(_ bytes: [UInt8], magic: [UInt8], key: SecureBytes, associatedData: [UInt8], what: String)
        throws -> [UInt8]
    {
        guard bytes.count >= magic.count + overhead, bytes.starts(with: magic) else {
            throw SnapshotError(code: .corrupted, message: "\(what) is damaged: it does not start with its marker")
        }
        return try bytes.withUnsafeBytes { raw in
            try open(
                entry: UnsafeRawBufferPointer(rebasing: raw[magic.count...]), key: key, associatedData: associatedData,
                what: what)
        }
    }

    /// Opens a sealed box laid out as nonce, ciphertext, tag, or throws `corrupted` naming `what`.
    static func open(entry sealed: UnsafeRawBufferPointer, key: SecureBytes, associatedData: [UInt8], what: String) throws
        -> [UInt8]
    {
        guard sealed.count >= overhead else {
            throw SnapshotError(code: .corrupted, message: "\(what) is too short to be a sealed chunk")
        }
        let box = AES256GCM.SealedBox(
            nonce: Array(sealed[0..<12]), ciphertext: Array(sealed[12..<(sealed.count - 16)]),
            tag: Array(sealed[(sealed.count - 16)...]))
        do {
            return try AES256GCM.open(box, key: key, associatedData: associatedData)
        } catch {
            throw SnapshotError(
                code: .corrupted,
                message: "\(what) fails authentication: it was changed or damaged (or the key is wrong)",
                underlying: error)
        }
    }

    /// Opens a box laid out as nonce, ciphertext, tag in place; returns the plaintext's range in `sealed`,
    /// or throws `corrupted` naming `what`.
    static func openInPlace(
        _ sealed: UnsafeMutableRawBufferPointer, key: SecureBytes, associatedData: [UInt8], what: String
    ) throws -> Range<Int> {
        guard sealed.count >= overhead else {
            throw SnapshotError(code: .corrupted, message: "\(what) is too short to be a sealed chunk")
        }
        do {
            return try AES256GCM.openInPlace(sealed, key: key, associatedData: associatedData)
        } catch {
            throw SnapshotError(
                code: .corrupted,
                message: "\(what) fails authentication: it was changed or damaged (or the key is wrong)",
                underlying: error)
        }
    }

    /// Opens a sealed box, or throws `corrupted` naming `what` when it fails authentication.
    static func open(_ combined: [UInt8], key: SecureBytes, associatedData: [UInt8], what: String) throws -> [UInt8] {
        do {
            return try AES256GCM.open(AES256GCM.SealedBox(combined: combined), key: key, associatedData: associatedData)
        } catch {
            throw SnapshotError(
                code: .corrupted,
                message: "\(what) fails authentication: it was changed or damaged (or the key is wrong)",
                underlying: error)
        }
    }
}

/// The chunk index: every stored chunk's pack, offset and length, sealed as one file and replaced
/// atomically.
struct ChunkIndex {
    var generation: UInt64 = 0
    /// Pack names (32 hexadecimal digits), numbered by position.
    var packs: [String] = []
    var entries: [ChunkID: IndexEntry] = [:]

    static let magic = Array("CFINDEX1".utf8)
    static let fileMagic = Array("CFIDXS01".utf8)

    /// The index's bytes, with `extra` entries in `extraPacks` added (without building the merged index in
    /// memory) and `generation` in place of its own. Entries are sorted by place so equal indexes encode
    /// equally.
    func encode(generation: UInt64? = nil, adding extra: [ChunkID: IndexEntry] = [:], packs extraPacks: [String] = [])
        -> [UInt8]
    {
        let count = entries.count + extra.count
        var writer = ByteWriter(capacity: 64 + (packs.count + extraPacks.count) * 16 + count * 48)
        writer.append(bytes: Self.magic)
        writer.append(UInt32(1))
        writer.append(generation ?? self.generation)
        writer.append(UInt32(packs.count + extraPacks.count))
        for pack in packs + extraPacks { writer.append(bytes: Hex.decode(pack)!) }
        writer.append(UInt32(count))
        var all: [(id: ChunkID, entry: IndexEntry)] = []
        all.reserveCapacity(count)
        for (id, entry) in entries { all.append((id, entry)) }
        for (id, entry) in extra { all.append((id, entry)) }
        all.sort { ($0.entry.pack, $0.entry.offset) < ($1.entry.pack, $1.entry.offset) }
        for (id, entry) in all {
            withUnsafeBytes(of: id) { writer.append(bytes: $0) }
            writer.append(entry.pack)
            writer.append(entry.offset)
            writer.append(entry.length)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], what: String) throws -> ChunkIndex {
        var reader = ByteReader(bytes, what: what)
        try reader.expect(magic: magic)
        guard try reader.uint32() == 1 else { throw reader.malformed("unknown format version") }
        var index = ChunkIndex()
        index.generation = try reader.uint64()
        let packCount = Int(try reader.uint32())
        guard packCount <= reader.remaining / 16 else { throw reader.malformed("too many packs") }
        for _ in 0..<packCount { index.packs.append(Hex.encode(try reader.bytes(16))) }
        let count = Int(try reader.uint32())
        guard reader.remaining == count * 48 else { throw reader.malformed("\(count) entries do not fill the rest") }
        index.entries.reserveCapacity(count)
        try bytes.withUnsafeBytes { raw in
            let base = reader.offset
            for k in 0..<count {
                let at = base + k * 48
                let id = ChunkID(raw: UnsafeRawBufferPointer(rebasing: raw[at..<at + 32]))
                let entry = IndexEntry(
                    pack: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 32, as: UInt32.self)),
                    offset: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 36, as: UInt64.self)),
                    length: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 44, as: UInt32.self)))
                guard Int(entry.pack) < packCount else { throw reader.malformed("an entry names pack \(entry.pack)") }
                index.entries[id] = entry
            }
        }
        return index
    }
}

/// A recovery point as stored: its disks with their block maps, and the caller's metadata. Format 2 stores
/// each disk's map as the root of a tree of map pages (`DiskMap.tree`); format 1, still read, listed the
/// chunk of every block.
struct RecoveryPointRecord {
    struct Disk {
        var name: String
        var size: UInt64
        var blockSize: Int
        var snapshot: SnapshotID
        /// The random identifier of the block device the snapshot belongs to.
        var device: [UInt8]
        var map: DiskMap
    }

    var id: RecoveryPointID
    var created: Date
    var metadata: [String: String]
    var disks: [Disk]

    static let magic = Array("CFRPNT01".utf8)
    static let fileMagic = Array("CFRPS001".utf8)

    var info: RecoveryPointInfo {
        var disks: [String: RecoveryPointInfo.Disk] = [:]
        for disk in self.disks {
            disks[disk.name] = RecoveryPointInfo.Disk(
                size: disk.size, blockSize: disk.blockSize, blockCount: Int(disk.size / UInt64(disk.blockSize)),
                storedBlocks: disk.map.storedBlocks, snapshot: disk.snapshot)
        }
        return RecoveryPointInfo(id: id, created: created, disks: disks, metadata: metadata)
    }

    /// The record in format 2 when its maps are trees (as backups make them), in format 1 when they are flat
    /// (kept so that tests can make stores as earlier versions wrote them).
    func encode() -> [UInt8] {
        let flat = disks.allSatisfy { if case .flat = $0.map { true } else { false } }
        var writer = ByteWriter(capacity: 256 + disks.count * 128)
        writer.append(bytes: Self.magic)
        writer.append(UInt32(flat ? 1 : 2))
        writer.append(string: id.rawValue)
        writer.append(Int64((created.timeIntervalSince1970 * 1_000_000).rounded()))
        writer.append(UInt32(metadata.count))
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            writer.append(string: key)
            writer.append(string: value)
        }
        writer.append(UInt32(disks.count))
        for disk in disks {
            writer.append(string: disk.name)
            writer.append(disk.size)
            writer.append(UInt32(disk.blockSize))
            writer.append(string: disk.snapshot.rawValue)
            writer.append(bytes: disk.device)
            switch disk.map {
            case .flat(let chunks):
                precondition(flat)
                writer.append(UInt32(chunks.count))
                chunks.withUnsafeBytes { writer.append(bytes: $0) }
            case .tree(let root, let height, let storedBlocks):
                precondition(!flat)
                writer.append(UInt8(height))
                writer.append(UInt64(storedBlocks))
                withUnsafeBytes(of: root) { writer.append(bytes: $0) }
            }
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], what: String) throws -> RecoveryPointRecord {
        var reader = ByteReader(bytes, what: what)
        try reader.expect(magic: magic)
        let version = try reader.uint32()
        guard version == 1 || version == 2 else { throw reader.malformed("unknown format version \(version)") }
        let id = RecoveryPointID(try reader.string(maxLength: 100))
        let created = Date(timeIntervalSince1970: Double(try reader.int64()) / 1_000_000)
        var metadata: [String: String] = [:]
        let metadataCount = Int(try reader.uint32())
        for _ in 0..<metadataCount {
            let key = try reader.string()
            metadata[key] = try reader.string(maxLength: 64 << 20)
        }
        var disks: [Disk] = []
        let diskCount = Int(try reader.uint32())
        for _ in 0..<diskCount {
            let name = try reader.string(maxLength: 1024)
            let size = try reader.uint64()
            let blockSize = Int(try reader.uint32())
            let snapshot = SnapshotID(try reader.string(maxLength: 100))
            let device = try reader.bytes(16)
            guard blockSize > 0, blockSize & (blockSize - 1) == 0, size > 0, size % UInt64(blockSize) == 0 else {
                throw reader.malformed("disk \(name) has an inconsistent size or block size")
            }
            let blockCount = size / UInt64(blockSize)
            let map: DiskMap
            if version == 1 {
                let count = Int(try reader.uint32())
                guard count <= reader.remaining / 32, UInt64(count) == blockCount else {
                    throw reader.malformed("disk \(name) has an inconsistent size, block size or block count")
                }
                let raw = try reader.bytes(count * 32)
                map = .flat(raw.withUnsafeBytes { raw in
                    (0..<count).map { ChunkID(raw: UnsafeRawBufferPointer(rebasing: raw[($0 * 32)..<($0 * 32 + 32)])) }
                })
            } else {
                let height = Int(try reader.uint8())
                let storedBlocks = try reader.uint64()
                let root = ChunkID(try reader.bytes(32))
                guard blockCount < UInt64(UInt32.max), height == MapPage.height(blockCount: Int(blockCount)),
                    storedBlocks <= blockCount, root.isHole == (storedBlocks == 0)
                else { throw reader.malformed("disk \(name) has an inconsistent block map") }
                map = .tree(root: root, height: height, storedBlocks: Int(storedBlocks))
            }
            disks.append(Disk(name: name, size: size, blockSize: blockSize, snapshot: snapshot, device: device, map: map))
        }
        try reader.expectEnd()
        return RecoveryPointRecord(id: id, created: created, metadata: metadata, disks: disks)
    }
}
