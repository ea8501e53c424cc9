import CofferCrypto

/// A block device's at-rest layer: AES-256-XTS over 4096-byte sectors in dm-crypt's `aes-xts-plain64` form,
/// with the sector's number in the device's logical layout (its byte offset on the disk divided by 4096) as
/// the tweak, so a block's ciphertext does not depend on the slot of the data file that holds it.
struct AtRestCipher {
    /// The XTS data unit.
    static let sectorSize = 4096
    /// The length of an at-rest key: two AES-256 keys.
    static let keyLength = 64

    private let xts: AES256XTS

    init(key: SecureBytes) throws {
        guard key.count == Self.keyLength else {
            throw SnapshotError(
                code: .invalidArgument,
                message: "an at-rest key is \(Self.keyLength) bytes (two AES-256 keys for XTS), not \(key.count)")
        }
        do {
            xts = try AES256XTS(key: key, sectorSize: .bytes4096)
        } catch {
            throw SnapshotError(
                code: .invalidArgument,
                message: "the at-rest key cannot be used for AES-256-XTS (are its two halves equal?)",
                underlying: error)
        }
    }

    /// Encrypts whole sectors in place; `deviceOffset` is the logical byte offset of the buffer's start.
    func encrypt(_ buffer: UnsafeMutableRawBufferPointer, deviceOffset: UInt64) throws {
        precondition(deviceOffset % UInt64(Self.sectorSize) == 0 && buffer.count % Self.sectorSize == 0)
        do {
            try xts.encryptSectors(buffer, firstSector: deviceOffset / UInt64(Self.sectorSize))
        } catch {
            throw SnapshotError(code: .crypto, message: "AES-256-XTS encryption failed", underlying: error)
        }
    }

    /// Decrypts whole sectors in place; `deviceOffset` is the logical byte offset of the buffer's start.
    func decrypt(_ buffer: UnsafeMutableRawBufferPointer, deviceOffset: UInt64) throws {
        precondition(deviceOffset % UInt64(Self.sectorSize) == 0 && buffer.count % Self.sectorSize == 0)
        do {
            try xts.decryptSectors(buffer, firstSector: deviceOffset / UInt64(Self.sectorSize))
        } catch {
            throw SnapshotError(code: .crypto, message: "AES-256-XTS decryption failed", underlying: error)
        }
    }

    /// A value stored with the device that tells a wrong key from the right one without revealing the key:
    /// HMAC-SHA256 under the key of a fixed label and the device's random identifier.
    static func keyCheck(_ key: SecureBytes, deviceID: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(for: Array("coffer block device at-rest key check".utf8) + deviceID, key: key)
    }
}
