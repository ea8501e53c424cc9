#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CofferSystem

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
        writer.append(bytes: Hex.decode(name)!)
        return writer.bytes
    }

    /// The pack's name when `fileName` is a pack file (`NAME.pack`, NAME 32 hexadecimal digits).
    static func name(ofFile fileName: String) -> String? {
        guard fileName.hasSuffix(fileExtension) else { return nil }
        let name = String(fileName.dropLast(fileExtension.count))
        guard name.utf8.count == 32, Hex.decode(name) != nil else { return nil }
        return name
    }
}

/// Appends entries to a new pack file; nothing in it is referenced until the index that names it is
/// committed, so an interrupted pack is only a leftover.
final class PackWriter {
    let name: String
    let path: String
    private let file: SystemFile
    /// The length of the pack so far.
    private(set) var size: UInt64
    private(set) var entryCount = 0
    private let step: (String) throws -> Void
    /// The range written last, whose writeback the next append waits for.
    private var previous: (offset: UInt64, length: UInt64)?

    init(directory: String, storeID: [UInt8], step: @escaping (String) throws -> Void) throws {
        name = Hex.random(16)
        path = FileSystem.join(directory, name + Pack.fileExtension)
        file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL)
        let header = Pack.header(storeID: storeID, name: name)
        try file.write(header, at: 0)
        size = UInt64(header.count)
        self.step = step
        try step("create")
    }

    /// Appends `count` whole entries laid out back to back in `entries`, and starts writing them to disk.
    func append(entries: UnsafeRawBufferPointer, count: Int) throws {
        file.preallocate(offset: size, length: UInt64(entries.count))
        try file.write(entries, at: size)
        // Write-behind: start this range's writeback, wait for the previous one's.
        file.startWriteback(offset: size, length: UInt64(entries.count))
        if let previous { file.awaitWriteback(offset: previous.offset, length: previous.length) }
        previous = (size, UInt64(entries.count))
        size += UInt64(entries.count)
        entryCount += count
        try step("write")
    }

    /// Makes the pack durable.
    func finish() throws {
        try file.sync()
        try step("sync")
    }
}

/// Lays out one pack entry (identifier, length, sealed box) at the start of `destination`; returns its length.
@discardableResult
func writeEntry(id: ChunkID, nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8], into destination: UnsafeMutableRawBufferPointer) -> Int {
    let sealedLength = nonce.count + ciphertext.count + tag.count
    let length = Pack.entryHeaderSize + sealedLength
    precondition(destination.count >= length)
    destination.storeBytes(of: id, toByteOffset: 0, as: ChunkID.self)
    destination.storeBytes(of: UInt32(sealedLength).littleEndian, toByteOffset: 32, as: UInt32.self)
    var position = Pack.entryHeaderSize
    for part in [nonce, ciphertext, tag] {
        part.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: destination[position..<position + $0.count]).copyMemory(from: $0) }
        position += part.count
    }
    return length
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

    /// The open pack `name`, its header checked when first opened.
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
