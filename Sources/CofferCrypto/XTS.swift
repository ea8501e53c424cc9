import COpenSSL

/// AES-256-XTS over fixed-size data units, in dm-crypt's `aes-xts-plain64` form: the tweak of a data unit
/// is its sector number as a 64-bit little-endian integer, zero-padded to 16 bytes.
public struct AES256XTS: Sendable {
    /// The data-unit (sector) sizes disks use.
    public enum SectorSize: Int, Sendable, CaseIterable {
        case bytes512 = 512
        case bytes4096 = 4096
    }

    private let key: [UInt8]
    public let sectorSize: SectorSize

    /// Makes a cipher from a 64-byte key (two AES-256 keys). Refuses any other length and a key whose
    /// halves are equal, as OpenSSL and IEEE P1619 require.
    public init(key: [UInt8], sectorSize: SectorSize = .bytes4096) throws {
        guard key.count == 64 else {
            throw CryptoError(code: .invalidKey, message: "an AES-256-XTS key is 64 bytes, not \(key.count)")
        }
        guard key[0..<32] != key[32..<64] else {
            throw CryptoError(code: .invalidKey, message: "the two halves of an AES-256-XTS key must differ")
        }
        self.key = key
        self.sectorSize = sectorSize
    }

    /// Encrypts one data unit with an explicit 16-byte tweak (for known-answer tests).
    public func encrypt(_ plaintext: [UInt8], tweak: [UInt8]) throws -> [UInt8] {
        try run(plaintext, tweak: tweak, encrypt: true)
    }

    /// Decrypts one data unit with an explicit 16-byte tweak.
    public func decrypt(_ ciphertext: [UInt8], tweak: [UInt8]) throws -> [UInt8] {
        try run(ciphertext, tweak: tweak, encrypt: false)
    }

    /// The `plain64` tweak of a sector: its number, little-endian, in the first eight of 16 bytes.
    public static func tweak(sector: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: sector >> (8 * UInt64(i))) }
        return bytes
    }

    private func run(_ input: [UInt8], tweak: [UInt8], encrypt: Bool) throws -> [UInt8] {
        guard tweak.count == 16 else {
            throw CryptoError(code: .invalidInput, message: "an XTS tweak is 16 bytes, not \(tweak.count)")
        }
        guard input.count >= 16 else {
            throw CryptoError(code: .invalidInput, message: "XTS needs at least 16 bytes of input, got \(input.count)")
        }
        guard let context = EVP_CIPHER_CTX_new() else {
            throw CryptoError.openSSL("EVP_CIPHER_CTX_new", "could not allocate a cipher context")
        }
        defer { EVP_CIPHER_CTX_free(context) }
        let initialised = key.withUnsafeBufferPointer { keyBytes in
            tweak.withUnsafeBufferPointer { iv in
                EVP_CipherInit_ex(context, EVP_aes_256_xts(), nil, keyBytes.baseAddress, iv.baseAddress, encrypt ? 1 : 0)
            }
        }
        guard initialised == 1 else {
            throw CryptoError.openSSL("EVP_CipherInit_ex", "could not set up AES-256-XTS", code: .invalidKey)
        }
        var output = [UInt8](repeating: 0, count: input.count)
        var written: Int32 = 0
        let updated = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { inp in
                EVP_CipherUpdate(context, out.baseAddress, &written, inp.baseAddress, Int32(inp.count))
            }
        }
        guard updated == 1, Int(written) == input.count else {
            throw CryptoError.openSSL("EVP_CipherUpdate", "AES-256-XTS failed")
        }
        return output
    }
}
