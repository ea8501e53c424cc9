#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CofferCrypto
import CofferSystem
import Foundation

/// The simulated HSM: the platform's root key, a 32-byte random file `hsm.key` (mode 0600) in the state
/// directory, from which every wrapping key is derived with HKDF-SHA256 (one per purpose). Private keys,
/// secret values, disk keys and vault keys are stored only sealed under these keys.
struct HSM: Sendable {
    static let fileName = "hsm.key"
    static let keyLength = 32

    let root: SecureBytes

    /// Creates the root key file; refuses to replace one.
    static func create(directory: String) throws -> HSM {
        let path = (directory as NSString).appendingPathComponent(fileName)
        let key = try SecureBytes(randomCount: keyLength)
        let file: SystemFile
        do {
            file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL)
        } catch let error as SystemError {
            throw PlatformError(PlatformErrorCode.storageError, "cannot create \(path): \(error.reason)",
                                hint: "check that the state directory is writable and holds no platform yet", underlying: error)
        }
        do {
            try key.withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
        } catch let error as SystemError {
            throw PlatformError(PlatformErrorCode.storageError, "cannot write \(path): \(error.reason)", underlying: error)
        }
        return HSM(root: key)
    }

    /// Reads the root key file.
    static func open(directory: String) throws -> HSM {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path), data.count == keyLength else {
            throw PlatformError(PlatformErrorCode.notInitialized, "the platform's root key \(path) is missing or damaged",
                                hint: "create the platform with 'coffer platform init --world FILE'")
        }
        return HSM(root: SecureBytes([UInt8](data)))
    }

    /// The wrapping key for one purpose (`secrets`, `keys`, `disks`, `vaults`).
    func key(_ purpose: String) throws -> SecureBytes {
        try HKDFSHA256.deriveKey(from: root, info: Array("coffer hsm \(purpose)".utf8), count: 32)
    }

    /// Seals bytes under the purpose's key, bound to `context` (the object's identity) as associated data.
    func seal(_ plaintext: [UInt8], purpose: String, context: String) throws -> Data {
        Data(try AES256GCM.seal(plaintext, key: key(purpose), associatedData: Array(context.utf8)).combined)
    }

    func seal(_ plaintext: SecureBytes, purpose: String, context: String) throws -> Data {
        let box = try plaintext.withUnsafeBytes {
            try AES256GCM.seal($0, key: key(purpose), associatedData: Array(context.utf8))
        }
        return Data(box.combined)
    }

    /// Opens what ``seal(_:purpose:context:)`` sealed; throws when anything changed.
    func open(_ sealed: Data, purpose: String, context: String) throws -> SecureBytes {
        let box = try AES256GCM.SealedBox(combined: [UInt8](sealed))
        var bytes = try AES256GCM.open(box, key: key(purpose), associatedData: Array(context.utf8))
        defer { wipe(&bytes) }
        return SecureBytes(bytes)
    }
}

/// Overwrites a buffer that held key material before it is freed.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        if let base = buffer.baseAddress { memset(base, 0, buffer.count) }
    }
}
