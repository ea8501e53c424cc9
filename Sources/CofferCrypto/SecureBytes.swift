internal import COpenSSL

/// Bytes that are zeroed (OPENSSL_cleanse) when freed. Used for every key.
///
/// The storage is allocated once, never grows or moves, and is cleansed in `deinit`, so a key held here leaves
/// no copy behind in freed memory. `bytes` makes an ordinary array copy and should stay rare.
public final class SecureBytes: @unchecked Sendable {
    // Immutable after init (but for the test hook below), so the class is safe to share between threads.
    private let storage: UnsafeMutableRawBufferPointer
    /// The number of bytes held.
    public let count: Int

    /// Called with the storage after it was cleansed and before it is freed (tests only).
    var willDeallocate: ((UnsafeRawBufferPointer) -> Void)?

    /// Copies `bytes` into zeroizing storage. The caller's array is not cleansed.
    public init(_ bytes: [UInt8]) {
        storage = SecureBytes.allocate(bytes.count)
        count = bytes.count
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { storage.baseAddress!.copyMemory(from: base, byteCount: source.count) }
        }
    }

    /// `randomCount` bytes from OpenSSL's CSPRNG. The corresponding C function is `RAND_bytes`.
    public init(randomCount: Int) throws {
        precondition(randomCount >= 0, "SecureBytes(randomCount:) needs a count of zero or more")
        let buffer = SecureBytes.allocate(randomCount)
        do {
            try SecureRandom.fill(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<randomCount]))
        } catch {
            SecureBytes.release(buffer)
            throw error
        }
        storage = buffer
        count = randomCount
    }

    /// Copies raw bytes into zeroizing storage.
    init(copying source: UnsafeRawBufferPointer) {
        storage = SecureBytes.allocate(source.count)
        count = source.count
        if let base = source.baseAddress { storage.baseAddress!.copyMemory(from: base, byteCount: source.count) }
    }

    /// Allocates `capacity` bytes, lets `fill` write into them and return how many it used (at most
    /// `capacity`), and keeps that many. The storage is cleansed and freed if `fill` throws.
    init(capacity: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        precondition(capacity >= 0, "SecureBytes needs a capacity of zero or more")
        let buffer = SecureBytes.allocate(capacity)
        let used: Int
        do {
            used = try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<capacity]))
        } catch {
            SecureBytes.release(buffer)
            throw error
        }
        precondition(used >= 0 && used <= capacity, "SecureBytes fill used \(used) of \(capacity) bytes")
        // Bytes past `used` stay in the allocation until deinit cleanses the whole of it.
        storage = buffer
        count = used
    }

    deinit {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        willDeallocate?(UnsafeRawBufferPointer(storage))
        storage.deallocate()
    }

    /// Calls `body` with the bytes; the pointer must not escape the closure.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// A copy of the bytes in an ordinary array, for the rare caller that needs one; that copy is not cleansed.
    public var bytes: [UInt8] { withUnsafeBytes { [UInt8]($0) } }

    /// At least one byte, so that the base address is never nil; the whole allocation is cleansed in deinit.
    private static func allocate(_ count: Int) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        return buffer
    }

    private static func release(_ buffer: UnsafeMutableRawBufferPointer) {
        OPENSSL_cleanse(buffer.baseAddress, buffer.count)
        buffer.deallocate()
    }
}

extension SecureBytes: Equatable {
    /// Compares in constant time for equal lengths (`CRYPTO_memcmp`).
    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in
                withNonNullBase(left) { l, _ in
                    withNonNullBase(right) { r, _ in CRYPTO_memcmp(l, r, left.count) == 0 }
                }
            }
        }
    }
}

extension SecureBytes: CustomStringConvertible, CustomDebugStringConvertible {
    /// Never shows the bytes, so a key that reaches a log line stays secret.
    public var description: String { "SecureBytes(\(count) bytes)" }
    /// The same as `description`: the length only.
    public var debugDescription: String { description }
}

/// Cryptographically secure random bytes from OpenSSL's CSPRNG.
public enum SecureRandom {
    /// `count` random bytes. The corresponding C function is `RAND_bytes`.
    public static func bytes(_ count: Int) throws -> [UInt8] {
        precondition(count >= 0, "SecureRandom.bytes needs a count of zero or more")
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try fill($0) }
        return bytes
    }

    /// Fills `buffer` with random bytes. The corresponding C function is `RAND_bytes`.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        var offset = 0
        while offset < buffer.count {
            let piece = min(buffer.count - offset, largestOpenSSLPiece)
            let status = RAND_bytes(
                buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), Int32(piece))
            guard status == 1 else {
                throw CryptoError.openSSL(
                    "RAND_bytes", "the random generator failed; check that the system has an entropy source")
            }
            offset += piece
        }
    }
}
