internal import COpenSSL

/// AES-256-XTS over fixed-size data units, in dm-crypt's `aes-xts-plain64` form: the tweak of a data unit
/// is its sector number as a 64-bit little-endian integer, zero-padded to 16 bytes.
///
/// The key is expanded once, in `init`, into one encryption and one decryption context; each call borrows a
/// copy of the right one from a small pool and only changes the IV per sector, in place, so sector loops
/// make no allocation and no key schedule (see `ProviderCipher` for how the IV is changed cheaply). Values
/// are cheap to copy and safe to use from many threads at once.
public struct AES256XTS: Sendable {
    /// The data-unit (sector) sizes disks use.
    public enum SectorSize: Int, Sendable, CaseIterable {
        /// 512-byte sectors (legacy disks, IEEE P1619's test vectors).
        case bytes512 = 512
        /// 4096-byte sectors (the usual size today).
        case bytes4096 = 4096
    }

    /// The size of one data unit.
    public let sectorSize: SectorSize
    private let encryption: ContextPool
    private let decryption: ContextPool

    /// Makes a cipher from a 64-byte key (two AES-256 keys). Refuses any other length and a key whose
    /// halves are equal, as OpenSSL and IEEE P1619 require. The corresponding C function is the provider's
    /// `encrypt_init` (and `decrypt_init`) for AES-256-XTS.
    public init(key: SecureBytes, sectorSize: SectorSize = .bytes4096) throws {
        guard key.count == 64 else {
            throw CryptoError(
                code: .invalidKey, message: "an AES-256-XTS key is 64 bytes (two AES-256 keys), not \(key.count)")
        }
        let halvesEqual = key.withUnsafeBytes { CRYPTO_memcmp($0.baseAddress!, $0.baseAddress! + 32, 32) == 0 }
        guard !halvesEqual else {
            throw CryptoError(
                code: .invalidKey,
                message: "the two halves of an AES-256-XTS key must differ; generate the key with SecureBytes(randomCount: 64)")
        }
        clearStaleOpenSSLErrors()
        let cipher = try ProviderCipher.aes256XTS.get()
        encryption = ContextPool(template: try cipher.keyedContext(key: key, encrypt: true))
        decryption = ContextPool(template: try cipher.keyedContext(key: key, encrypt: false))
        self.sectorSize = sectorSize
    }

    /// Encrypts `buffer` in place as consecutive sectors, the first being `firstSector`
    /// (aes-xts-plain64: tweak = sector number LE64). buffer.count must be a multiple of sectorSize.
    public func encryptSectors(_ buffer: UnsafeMutableRawBufferPointer, firstSector: UInt64) throws {
        try runSectors(buffer, firstSector: firstSector, pool: encryption)
    }

    /// Decrypts `buffer` in place as consecutive sectors, the first being `firstSector`
    /// (aes-xts-plain64: tweak = sector number LE64). buffer.count must be a multiple of sectorSize.
    public func decryptSectors(_ buffer: UnsafeMutableRawBufferPointer, firstSector: UInt64) throws {
        try runSectors(buffer, firstSector: firstSector, pool: decryption)
    }

    /// Encrypts consecutive sectors into a new array; `data.count` must be a multiple of `sectorSize`.
    public func encryptSectors(_ data: [UInt8], firstSector: UInt64) throws -> [UInt8] {
        var output = data
        try output.withUnsafeMutableBytes { try encryptSectors($0, firstSector: firstSector) }
        return output
    }

    /// Decrypts consecutive sectors into a new array; `data.count` must be a multiple of `sectorSize`.
    public func decryptSectors(_ data: [UInt8], firstSector: UInt64) throws -> [UInt8] {
        var output = data
        try output.withUnsafeMutableBytes { try decryptSectors($0, firstSector: firstSector) }
        return output
    }

    /// Encrypts one data unit of 16 bytes to 16 MiB with an explicit 16-byte tweak (for known-answer tests and
    /// callers with their own tweak scheme); lengths that are not a multiple of 16 use ciphertext stealing.
    public func encrypt(_ plaintext: [UInt8], tweak: [UInt8]) throws -> [UInt8] {
        try runUnit(plaintext, tweak: tweak, pool: encryption)
    }

    /// Decrypts one data unit with an explicit 16-byte tweak.
    public func decrypt(_ ciphertext: [UInt8], tweak: [UInt8]) throws -> [UInt8] {
        try runUnit(ciphertext, tweak: tweak, pool: decryption)
    }

    /// The `plain64` tweak of a sector: its number, little-endian, in the first eight of 16 bytes.
    public static func tweak(sector: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: sector >> (8 * UInt64(i))) }
        return bytes
    }

    // MARK: - Internals

    private func runSectors(_ buffer: UnsafeMutableRawBufferPointer, firstSector: UInt64, pool: ContextPool) throws {
        let size = sectorSize.rawValue
        guard buffer.count % size == 0 else {
            throw CryptoError(
                code: .invalidInput,
                message: "\(buffer.count) bytes is not a whole number of \(size)-byte sectors; pad or split the data at sector boundaries")
        }
        let sectors = buffer.count / size
        guard sectors > 0, let base = buffer.baseAddress else { return }
        guard !firstSector.addingReportingOverflow(UInt64(sectors - 1)).overflow else {
            throw CryptoError(
                code: .invalidInput,
                message: "\(sectors) sectors from sector \(firstSector) run past the last 64-bit sector number")
        }
        // No clearing of stale errors here: this is the per-call hot path, and a failure drains the queue.
        try pool.withContext { context in
            if let failed = context.transformSectors(base, sectors: sectors, size: size, firstSector: firstSector) {
                throw CryptoError.openSSL(
                    "OSSL_FUNC_cipher_cipher", "AES-256-XTS failed on sector \(firstSector &+ UInt64(failed))")
            }
        }
    }

    private func runUnit(_ input: [UInt8], tweak: [UInt8], pool: ContextPool) throws -> [UInt8] {
        guard tweak.count == 16 else {
            throw CryptoError(code: .invalidInput, message: "an XTS tweak is 16 bytes, not \(tweak.count)")
        }
        guard input.count >= 16, input.count <= 1 << 24 else {
            throw CryptoError(
                code: .invalidInput,
                message: "an XTS data unit is 16 bytes to 16 MiB long, got \(input.count) bytes")
        }
        return try pool.withContext { context in
            var output = input
            let ok = tweak.withUnsafeBufferPointer { iv in
                output.withUnsafeMutableBufferPointer { data in
                    context.transformUnit(data.baseAddress!, count: data.count, iv: iv.baseAddress!)
                }
            }
            guard ok else {
                throw CryptoError.openSSL("OSSL_FUNC_cipher_cipher", "AES-256-XTS failed on a \(input.count)-byte unit")
            }
            return output
        }
    }
}

/// Keyed cipher contexts ready for use: one template set up once, and idle copies of it that callers borrow
/// one at a time, so concurrent callers never share a context and no call pays for a key schedule.
///
/// The idle contexts sit in fixed slots behind a pointer rather than in an array property, which keeps
/// Swift's dynamic exclusivity checks and copy-on-write tests off this per-call path.
final class ContextPool: @unchecked Sendable {
    private let lock = Lock()
    private let template: ProviderCipherContext
    private static let capacity = 16
    private let slots = UnsafeMutablePointer<ProviderCipherContext>.allocate(capacity: capacity)
    private let idleCount = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    init(template: ProviderCipherContext) {
        self.template = template
        idleCount.initialize(to: 0)
    }

    deinit {
        slots.deinitialize(count: idleCount.pointee)
        slots.deallocate()
        idleCount.deallocate()
    }

    /// Runs `body` with a context that no other caller holds. A context whose call failed is dropped, not reused.
    func withContext<R>(_ body: (ProviderCipherContext) throws -> R) throws -> R {
        let context = try lock.withLock { () throws -> ProviderCipherContext in
            guard idleCount.pointee > 0 else { return try template.copy() }
            idleCount.pointee -= 1
            return (slots + idleCount.pointee).move()
        }
        let result = try body(context)
        lock.withLock {
            guard idleCount.pointee < Self.capacity else { return }
            (slots + idleCount.pointee).initialize(to: context)
            idleCount.pointee += 1
        }
        return result
    }
}
