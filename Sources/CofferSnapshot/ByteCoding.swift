/// Builds the little-endian binary records that CofferSnapshot stores.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func append(_ value: UInt8) { bytes.append(value) }

    mutating func append(_ value: UInt16) { appendInteger(value) }

    mutating func append(_ value: UInt32) { appendInteger(value) }

    mutating func append(_ value: UInt64) { appendInteger(value) }

    mutating func append(_ value: Int64) { appendInteger(value) }

    mutating func append<C: Collection>(bytes other: C) where C.Element == UInt8 { bytes.append(contentsOf: other) }

    /// A string as a 32-bit length and its UTF-8 bytes.
    mutating func append(string: String) {
        let utf8 = Array(string.utf8)
        append(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// An array of 32-bit integers, each little-endian.
    mutating func append(_ values: [UInt32]) {
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for value in values { appendInteger(value) }
    }

    private mutating func appendInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads the records `ByteWriter` builds, throwing `corrupted` (naming `what`) on anything malformed.
struct ByteReader {
    let bytes: [UInt8]
    let what: String
    private(set) var offset: Int

    init(_ bytes: [UInt8], what: String, offset: Int = 0) {
        self.bytes = bytes
        self.what = what
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    mutating func uint8() throws -> UInt8 { try integer() }

    mutating func uint16() throws -> UInt16 { try integer() }

    mutating func uint32() throws -> UInt32 { try integer() }

    mutating func uint64() throws -> UInt64 { try integer() }

    mutating func int64() throws -> Int64 { try integer() }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        try need(count)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func string(maxLength: Int = 1 << 20) throws -> String {
        let count = Int(try uint32())
        guard count <= maxLength else { throw malformed("a string of \(count) bytes is too long") }
        let utf8 = try bytes(count)
        guard let text = String(validating: utf8, as: UTF8.self) else { throw malformed("a string is not UTF-8") }
        return text
    }

    mutating func uint32Array(count: Int) throws -> [UInt32] {
        try need(count * 4)
        var values = [UInt32](repeating: 0, count: count)
        values.withUnsafeMutableBytes { out in
            bytes.withUnsafeBytes { raw in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + count * 4]))
            }
        }
        offset += count * 4
        #if _endian(big)
        for i in values.indices { values[i] = UInt32(littleEndian: values[i]) }
        #endif
        return values
    }

    /// Checks that `magic` comes next.
    mutating func expect(magic: [UInt8]) throws {
        guard remaining >= magic.count, Array(bytes[offset..<offset + magic.count]) == magic else {
            throw malformed("it does not start with the expected marker")
        }
        offset += magic.count
    }

    /// Checks that nothing is left.
    func expectEnd() throws {
        guard remaining == 0 else { throw malformed("\(remaining) unexpected bytes follow the record") }
    }

    func malformed(_ detail: String) -> SnapshotError {
        SnapshotError(code: .corrupted, message: "\(what) is malformed: \(detail)")
    }

    private mutating func need(_ count: Int) throws {
        guard count >= 0, remaining >= count else {
            throw malformed("it ends early (wanted \(count) bytes at offset \(offset), \(remaining) left)")
        }
    }

    private mutating func integer<T: FixedWidthInteger>() throws -> T {
        let size = MemoryLayout<T>.size
        try need(size)
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { out in
            bytes.withUnsafeBytes { raw in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + size]))
            }
        }
        offset += size
        return T(littleEndian: value)
    }
}
