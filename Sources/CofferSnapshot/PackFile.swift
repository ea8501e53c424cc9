#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The pack file format: a 44-byte header (`CFPACK01`, version, store identifier, pack identifier), then
/// entries of a 32-byte chunk identifier, a 32-bit length and the sealed chunk (nonce, ciphertext, tag).
enum Pack {
    static let magic = Array("CFPACK01".utf8)
    static let version: UInt32 = 1
    static let headerSize = 44
    static let entryHeaderSize = 36
    static let fileExtension = ".pack"

    static func header(storeID: [UInt8], name: String) -> [UInt8] {
        var writer = ByteWriter(capacity: headerSize)
        writer.append(bytes: magic)
        writer.append(version)
        writer.append(bytes: storeID)
        writer.append(bytes: bytes(fromHex: name)!)
        return writer.bytes
    }

    /// The pack's name when `fileName` is a pack file (`NAME.pack`, NAME 32 hexadecimal digits).
    static func name(ofFile fileName: String) -> String? {
        guard fileName.hasSuffix(fileExtension) else { return nil }
        let name = String(fileName.dropLast(fileExtension.count))
        guard name.utf8.count == 32, bytes(fromHex: name) != nil else { return nil }
        return name
    }
}

/// Appends sealed chunks to a new pack file through a write buffer; nothing in it is referenced until the
/// index that names it is committed, so an interrupted pack is only a leftover.
final class PackWriter {
    let name: String
    let path: String
    private let file: SystemFile
    /// The length of the pack, buffered bytes included.
    private(set) var size: UInt64
    private(set) var entryCount = 0
    private var written: UInt64 = 0
    private var buffer: [UInt8]
    private let bufferLimit = 4 << 20
    private let step: (String) throws -> Void

    init(directory: String, storeID: [UInt8], step: @escaping (String) throws -> Void) throws {
        name = randomHex(16)
        path = FileSystem.join(directory, name + Pack.fileExtension)
        file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL)
        buffer = Pack.header(storeID: storeID, name: name)
        buffer.reserveCapacity(bufferLimit + (1 << 20))
        size = UInt64(buffer.count)
        self.step = step
        try step("create")
    }

    /// Appends one entry (`sealed` is the chunk's sealed box) and returns where it is.
    func append(id: ChunkID, sealed: UnsafeRawBufferPointer) throws -> (offset: UInt64, length: UInt32) {
        let offset = size
        withUnsafeBytes(of: id) { buffer.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(sealed.count).littleEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: sealed)
        let length = Pack.entryHeaderSize + sealed.count
        size += UInt64(length)
        entryCount += 1
        if buffer.count >= bufferLimit { try flush() }
        return (offset, UInt32(length))
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try file.write(buffer, at: written)
        written += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
        try step("write")
    }

    /// Writes what is buffered and makes the pack durable.
    func finish() throws {
        try flush()
        try file.sync()
        try step("sync")
    }
}

/// Reads entries from pack files, checking each pack's header the first time it is opened and each entry's
/// header against the index.
final class PackReader {
    private let directory: String
    private let storeID: [UInt8]
    private var files: [String: SystemFile] = [:]

    init(directory: String, storeID: [UInt8]) {
        self.directory = directory
        self.storeID = storeID
    }

    func file(_ name: String) throws -> SystemFile {
        if let file = files[name] { return file }
        let path = FileSystem.join(directory, name + Pack.fileExtension)
        guard FileSystem.exists(path) else {
            throw SnapshotError(
                code: .corrupted,
                message: "pack \(name) is missing from \(directory) but the index references it; the store lost data")
        }
        let file = try SystemFile.open(path, flags: O_RDONLY)
        let header = try file.read(count: Pack.headerSize, at: 0)
        guard header == Pack.header(storeID: storeID, name: name) else {
            throw SnapshotError(
                code: .corrupted,
                message: "pack \(name) has a damaged header (or belongs to another store); the file was changed")
        }
        files[name] = file
        return file
    }

    /// The sealed box of the entry at `entry` of pack `name`, after checking that the entry names `id` and
    /// has the length the index gives.
    func sealedChunk(pack name: String, entry: IndexEntry, id: ChunkID) throws -> [UInt8] {
        guard entry.length > UInt32(Pack.entryHeaderSize), entry.offset >= UInt64(Pack.headerSize) else {
            throw SnapshotError(code: .corrupted, message: "the index gives chunk \(id) an impossible location")
        }
        let bytes = try file(name).read(count: Int(entry.length), at: entry.offset)
        let storedID = bytes.withUnsafeBytes { ChunkID(raw: $0) }
        let storedLength = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 32, as: UInt32.self) }
        guard storedID == id, UInt32(littleEndian: storedLength) == entry.length - UInt32(Pack.entryHeaderSize) else {
            throw SnapshotError(
                code: .corrupted,
                message: "the entry of chunk \(id) at offset \(entry.offset) of pack \(name) has a damaged header")
        }
        return Array(bytes[Pack.entryHeaderSize...])
    }
}
