internal import COpenSSL

/// The OAEP digest of an RSA key wrap, named as Key Vault names its algorithms.
public enum OAEPDigest: String, Sendable, CaseIterable {
    /// Key Vault's `RSA-OAEP`: OAEP with SHA-1 and MGF1-SHA-1.
    case sha1 = "RSA-OAEP"
    /// Key Vault's `RSA-OAEP-256`: OAEP with SHA-256 and MGF1-SHA-256.
    case sha256 = "RSA-OAEP-256"

    /// OpenSSL's name of the digest, used for both OAEP and MGF1.
    var openSSLName: String {
        switch self {
        case .sha1: "SHA1"
        case .sha256: "SHA256"
        }
    }

    /// The digest length, which bounds the longest key one wrap can carry.
    var byteCount: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        }
    }
}

/// An RSA public key (a key encryption key's public half) that wraps keys with RSA-OAEP.
public struct RSAPublicKey: Sendable, Hashable {
    private let handle: PKey
    /// The key as SubjectPublicKeyInfo DER.
    public let derRepresentation: [UInt8]
    /// The key as a `-----BEGIN PUBLIC KEY-----` PEM block.
    public let pemRepresentation: String
    /// The modulus length in bits.
    public let bits: Int

    /// Reads a `-----BEGIN PUBLIC KEY-----` PEM block. The corresponding C function is `PEM_read_bio_PUBKEY`.
    public init(pem: String) throws {
        guard !pem.isEmpty else {
            throw CryptoError(code: .invalidKey, message: "the public key PEM is empty")
        }
        clearStaleOpenSSLErrors()
        let key: OpaquePointer? = try Array(pem.utf8).withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else {
                throw CryptoError.openSSL("BIO_new_mem_buf", "could not allocate a memory BIO (out of memory?)")
            }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let key else {
            throw CryptoError.openSSL(
                "PEM_read_bio_PUBKEY",
                "not a PEM public key; expected a -----BEGIN PUBLIC KEY----- block (SubjectPublicKeyInfo)",
                code: .invalidKey)
        }
        try self.init(handle: PKey(takingOwnershipOf: key))
    }

    /// Reads SubjectPublicKeyInfo DER. The corresponding C function is `d2i_PUBKEY`.
    public init(der: [UInt8]) throws {
        guard !der.isEmpty else {
            throw CryptoError(code: .invalidKey, message: "the public key DER is empty")
        }
        clearStaleOpenSSLErrors()
        let key: OpaquePointer? = try der.withUnsafeBufferPointer { bytes in
            var cursor = bytes.baseAddress
            let key = d2i_PUBKEY(nil, &cursor, bytes.count)
            if let key, cursor != bytes.baseAddress.map({ $0 + bytes.count }) {
                EVP_PKEY_free(key)
                throw CryptoError(
                    code: .invalidKey, message: "the public key DER has bytes after its end; pass exactly one key")
            }
            return key
        }
        guard let key else {
            throw CryptoError.openSSL(
                "d2i_PUBKEY", "not a DER public key; expected SubjectPublicKeyInfo", code: .invalidKey)
        }
        try self.init(handle: PKey(takingOwnershipOf: key))
    }

    /// Takes a parsed key, refusing anything but RSA of 2048 bits or more.
    init(handle: PKey) throws {
        guard EVP_PKEY_is_a(handle.pointer, "RSA") == 1 else {
            throw CryptoError(code: .invalidKey, message: "the public key is not an RSA key")
        }
        let bits = Int(EVP_PKEY_get_bits(handle.pointer))
        guard (2048...16384).contains(bits) else {
            throw CryptoError(code: .invalidKey, message: "RSA keys of 2048 to 16384 bits are accepted, not \(bits)")
        }
        self.handle = handle
        self.bits = bits
        derRepresentation = try Self.encodeDER(handle.pointer)
        let bio = try MemoryBIO.make()
        guard PEM_write_bio_PUBKEY(bio.pointer, handle.pointer) == 1 else {
            throw CryptoError.openSSL("PEM_write_bio_PUBKEY", "could not write the public key as PEM")
        }
        pemRepresentation = try bio.readAll()
    }

    /// RSA-OAEP wrap of a key (e.g. a 64-byte XTS BEK). The corresponding C function is `EVP_PKEY_encrypt`.
    public func wrap(_ key: SecureBytes, digest: OAEPDigest) throws -> [UInt8] {
        let modulusBytes = (bits + 7) / 8
        let longest = modulusBytes - 2 * digest.byteCount - 2
        guard key.count <= longest else {
            throw CryptoError(
                code: .invalidInput,
                message: "a \(bits)-bit RSA key wraps at most \(longest) bytes with \(digest.rawValue), not \(key.count)")
        }
        clearStaleOpenSSLErrors()
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, handle.pointer, nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_pkey", "could not make an RSA context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_encrypt_init(context) == 1 else {
            throw CryptoError.openSSL("EVP_PKEY_encrypt_init", "could not start RSA-OAEP encryption")
        }
        try setOAEP(context, digest: digest)
        var wrapped = [UInt8](repeating: 0, count: modulusBytes)
        var written = modulusBytes
        let status = key.withUnsafeBytes { plain in
            withNonNullBase(plain) { base, count in EVP_PKEY_encrypt(context, &wrapped, &written, base, count) }
        }
        guard status == 1, written == modulusBytes else {
            throw CryptoError.openSSL("EVP_PKEY_encrypt", "RSA-OAEP wrap with \(digest.rawValue) failed")
        }
        return wrapped
    }

    /// Two keys are equal when their SubjectPublicKeyInfo DER is.
    public static func == (lhs: RSAPublicKey, rhs: RSAPublicKey) -> Bool {
        lhs.derRepresentation == rhs.derRepresentation
    }

    /// Hashes the SubjectPublicKeyInfo DER.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(derRepresentation)
    }

    /// SubjectPublicKeyInfo DER of a key (public or private). The corresponding C function is `i2d_PUBKEY`.
    static func encodeDER(_ key: OpaquePointer) throws -> [UInt8] {
        let length = i2d_PUBKEY(key, nil)
        guard length > 0 else {
            throw CryptoError.openSSL("i2d_PUBKEY", "could not encode the public key as DER")
        }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return i2d_PUBKEY(key, &cursor)
        }
        guard written == length else {
            throw CryptoError.openSSL("i2d_PUBKEY", "could not encode the public key as DER")
        }
        return der
    }
}

/// An RSA private key (a key encryption key) of 2048, 3072 or 4096 bits that unwraps keys with RSA-OAEP.
///
/// The private key never leaves this object in the clear: `exportWrapped(under:)` seals it with AES-256-GCM.
public final class RSAPrivateKey: @unchecked Sendable {
    /// The key sizes Key Vault offers for RSA keys.
    public static let allowedBits = [2048, 3072, 4096]

    /// The associated data that binds a wrapped export to its format.
    static let exportLabel = Array("coffer.rsa-private-key.pkcs8.v1".utf8)

    private let handle: PKey
    /// The public half.
    public let publicKey: RSAPublicKey
    /// The modulus length in bits.
    public var bits: Int { publicKey.bits }

    /// Generates a key of 2048, 3072 or 4096 bits; other sizes throw `.invalidKey`. The corresponding C
    /// function is `EVP_PKEY_generate`.
    public convenience init(bits: Int) throws {
        guard Self.allowedBits.contains(bits) else {
            throw CryptoError(
                code: .invalidKey, message: "RSA keys are 2048, 3072 or 4096 bits, not \(bits)")
        }
        clearStaleOpenSSLErrors()
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_name", "OpenSSL has no RSA key generator")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else {
            throw CryptoError.openSSL("EVP_PKEY_keygen_init", "could not start RSA key generation")
        }
        guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1 else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_set_rsa_keygen_bits", "OpenSSL refused \(bits)-bit RSA keys")
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else {
            throw CryptoError.openSSL("EVP_PKEY_generate", "RSA key generation failed")
        }
        try self.init(handle: PKey(takingOwnershipOf: key))
    }

    /// Takes a parsed private key, refusing anything but RSA of an allowed size.
    init(handle: PKey) throws {
        guard EVP_PKEY_is_a(handle.pointer, "RSA") == 1 else {
            throw CryptoError(code: .invalidKey, message: "the private key is not an RSA key")
        }
        let bits = Int(EVP_PKEY_get_bits(handle.pointer))
        guard Self.allowedBits.contains(bits) else {
            throw CryptoError(code: .invalidKey, message: "RSA keys are 2048, 3072 or 4096 bits, not \(bits)")
        }
        self.handle = handle
        let der = try RSAPublicKey.encodeDER(handle.pointer)
        guard let publicOnly = der.withUnsafeBufferPointer({ bytes -> OpaquePointer? in
            var cursor = bytes.baseAddress
            return d2i_PUBKEY(nil, &cursor, bytes.count)
        }) else {
            throw CryptoError.openSSL("d2i_PUBKEY", "could not read back the public half of the RSA key")
        }
        publicKey = try RSAPublicKey(handle: PKey(takingOwnershipOf: publicOnly))
    }

    /// Throws (never returns garbage) when the data was wrapped for another key or altered.
    /// The corresponding C function is `EVP_PKEY_decrypt`.
    public func unwrap(_ wrapped: [UInt8], digest: OAEPDigest) throws -> SecureBytes {
        let modulusBytes = (bits + 7) / 8
        guard wrapped.count == modulusBytes else {
            throw CryptoError(
                code: .unwrapFailed,
                message: "a key wrapped for this \(bits)-bit RSA key is \(modulusBytes) bytes, not \(wrapped.count); it was wrapped for another key or truncated")
        }
        clearStaleOpenSSLErrors()
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, handle.pointer, nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_pkey", "could not make an RSA context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_decrypt_init(context) == 1 else {
            throw CryptoError.openSSL("EVP_PKEY_decrypt_init", "could not start RSA-OAEP decryption")
        }
        try setOAEP(context, digest: digest)
        return try SecureBytes(capacity: modulusBytes) { output in
            var written = modulusBytes
            let status = EVP_PKEY_decrypt(
                context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, wrapped, wrapped.count)
            guard status == 1 else {
                throw CryptoError.openSSL(
                    "EVP_PKEY_decrypt",
                    "RSA-OAEP unwrap with \(digest.rawValue) failed: the key was wrapped for another RSA key or with another digest, or it was changed",
                    code: .unwrapFailed)
            }
            return written
        }
    }

    /// The private key (PKCS#8 DER) sealed with AES-256-GCM under `wrappingKey`; the only way to export it.
    ///
    /// The result is `nonce || ciphertext || tag`, with associated data that names the format, so that it
    /// cannot be mistaken for another sealed value under the same wrapping key. The corresponding C function
    /// is `i2d_PKCS8_PRIV_KEY_INFO`.
    public func exportWrapped(under wrappingKey: SecureBytes) throws -> [UInt8] {
        clearStaleOpenSSLErrors()
        guard let info = EVP_PKEY2PKCS8(handle.pointer) else {
            throw CryptoError.openSSL("EVP_PKEY2PKCS8", "could not encode the private key as PKCS#8")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        let length = i2d_PKCS8_PRIV_KEY_INFO(info, nil)
        guard length > 0 else {
            throw CryptoError.openSSL("i2d_PKCS8_PRIV_KEY_INFO", "could not encode the private key as DER")
        }
        let der = try SecureBytes(capacity: Int(length)) { output in
            var cursor: UnsafeMutablePointer<UInt8>? = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard i2d_PKCS8_PRIV_KEY_INFO(info, &cursor) == length else {
                throw CryptoError.openSSL("i2d_PKCS8_PRIV_KEY_INFO", "could not encode the private key as DER")
            }
            return Int(length)
        }
        return try der.withUnsafeBytes {
            try AES256GCM.seal($0, key: wrappingKey, associatedData: Self.exportLabel).combined
        }
    }

    /// Opens what `exportWrapped(under:)` made; throws `.authenticationFailed` for a wrong wrapping key or
    /// altered data.
    public static func importWrapped(_ data: [UInt8], under wrappingKey: SecureBytes) throws -> RSAPrivateKey {
        let box = try AES256GCM.SealedBox(combined: data)
        let der = try AES256GCM.openKey(box, key: wrappingKey, associatedData: exportLabel)
        return try der.withUnsafeBytes { try fromPKCS8($0) }
    }

    /// Reads an unencrypted PKCS#8 DER private key. The corresponding C function is `d2i_PKCS8_PRIV_KEY_INFO`.
    static func fromPKCS8(_ der: UnsafeRawBufferPointer) throws -> RSAPrivateKey {
        clearStaleOpenSSLErrors()
        let info: OpaquePointer? = try withNonNullBase(der) { base, count in
            var cursor: UnsafePointer<UInt8>? = base
            let info = d2i_PKCS8_PRIV_KEY_INFO(nil, &cursor, count)
            if let info, cursor != base + count {
                PKCS8_PRIV_KEY_INFO_free(info)
                throw CryptoError(
                    code: .invalidKey, message: "the private key DER has bytes after its end; pass exactly one key")
            }
            return info
        }
        guard let info else {
            throw CryptoError.openSSL(
                "d2i_PKCS8_PRIV_KEY_INFO", "not a PKCS#8 DER private key", code: .invalidKey)
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let key = EVP_PKCS82PKEY(info) else {
            throw CryptoError.openSSL("EVP_PKCS82PKEY", "the PKCS#8 structure holds no usable key", code: .invalidKey)
        }
        return try RSAPrivateKey(handle: PKey(takingOwnershipOf: key))
    }

    /// Reads an unencrypted PEM private key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`), for known-answer
    /// tests. An encrypted PEM is refused rather than prompting for a passphrase. The corresponding C function
    /// is `PEM_read_bio_PrivateKey`.
    static func fromUnencryptedPEM(_ pem: String) throws -> RSAPrivateKey {
        guard !pem.isEmpty else {
            throw CryptoError(code: .invalidKey, message: "the private key PEM is empty")
        }
        clearStaleOpenSSLErrors()
        var emptyPassphrase: [CChar] = [0]
        let key: OpaquePointer? = try Array(pem.utf8).withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else {
                throw CryptoError.openSSL("BIO_new_mem_buf", "could not allocate a memory BIO (out of memory?)")
            }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, &emptyPassphrase)
        }
        guard let key else {
            throw CryptoError.openSSL(
                "PEM_read_bio_PrivateKey", "not an unencrypted PEM private key", code: .invalidKey)
        }
        return try RSAPrivateKey(handle: PKey(takingOwnershipOf: key))
    }
}

/// Sets RSA-OAEP padding with `digest` for both OAEP and MGF1 on an encryption or decryption context.
private func setOAEP(_ context: OpaquePointer, digest: OAEPDigest) throws {
    guard EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1 else {
        throw CryptoError.openSSL("EVP_PKEY_CTX_set_rsa_padding", "could not select RSA-OAEP padding")
    }
    guard EVP_PKEY_CTX_set_rsa_oaep_md_name(context, digest.openSSLName, nil) == 1 else {
        throw CryptoError.openSSL("EVP_PKEY_CTX_set_rsa_oaep_md_name", "could not select \(digest.openSSLName) for OAEP")
    }
    guard EVP_PKEY_CTX_set_rsa_mgf1_md_name(context, digest.openSSLName, nil) == 1 else {
        throw CryptoError.openSSL("EVP_PKEY_CTX_set_rsa_mgf1_md_name", "could not select \(digest.openSSLName) for MGF1")
    }
}
