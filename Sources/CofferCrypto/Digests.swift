internal import COpenSSL

/// SHA-256, one-shot or incremental.
///
/// These functions do not throw: OpenSSL fails here only when memory runs out or its default provider is
/// missing, and either is a broken environment, so it traps with OpenSSL's reason.
public enum SHA256 {
    /// The length of a digest: 32 bytes.
    public static let byteCount = 32

    /// The SHA-256 digest of `data`. The corresponding C function is `EVP_Digest`.
    public static func hash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        let digest = mustSucceed(FetchedAlgorithm.sha256)
        clearStaleOpenSSLErrors()
        var output = [UInt8](repeating: 0, count: byteCount)
        var written: UInt32 = 0
        let status = withNonNullBase(data) { base, count in
            EVP_Digest(base, count, &output, &written, digest.pointer, nil)
        }
        guard status == 1, written == UInt32(byteCount) else {
            fatalError("\(CryptoError.openSSL("EVP_Digest", "SHA-256 failed"))")
        }
        return output
    }

    /// The SHA-256 digest of `data`.
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { hash($0) }
    }

    /// An incremental SHA-256: feed data with `update`, then take the digest with `finalize`.
    ///
    /// A value type with copy-on-write: a copy made halfway forks the computation, and each copy can be
    /// finished on its own.
    public struct Hasher: Sendable {
        private var state: DigestState

        /// Starts an empty hash. The corresponding C function is `EVP_DigestInit_ex`.
        public init() {
            state = DigestState()
        }

        /// Adds `data` to the hash. The corresponding C function is `EVP_DigestUpdate`.
        public mutating func update(_ data: UnsafeRawBufferPointer) {
            guard data.count > 0 else { return }
            if !isKnownUniquelyReferenced(&state) { state = state.copy() }
            state.update(data)
        }

        /// Adds `data` to the hash.
        public mutating func update(_ data: [UInt8]) {
            data.withUnsafeBytes { update($0) }
        }

        /// The digest of everything added. The corresponding C function is `EVP_DigestFinal_ex`.
        public consuming func finalize() -> [UInt8] {
            if !isKnownUniquelyReferenced(&state) { state = state.copy() }
            return state.finalize()
        }
    }
}

/// The OpenSSL side of `SHA256.Hasher`: one `EVP_MD_CTX`, freed with the owner.
final class DigestState: @unchecked Sendable {
    private let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }

    convenience init() {
        let digest = mustSucceed(FetchedAlgorithm.sha256)
        clearStaleOpenSSLErrors()
        guard let context = EVP_MD_CTX_new() else {
            fatalError("\(CryptoError.openSSL("EVP_MD_CTX_new", "could not allocate a digest context"))")
        }
        self.init(takingOwnershipOf: context)
        guard EVP_DigestInit_ex(context, digest.pointer, nil) == 1 else {
            fatalError("\(CryptoError.openSSL("EVP_DigestInit_ex", "could not start SHA-256"))")
        }
    }

    deinit { EVP_MD_CTX_free(pointer) }

    func copy() -> DigestState {
        guard let context = EVP_MD_CTX_new() else {
            fatalError("\(CryptoError.openSSL("EVP_MD_CTX_new", "could not allocate a digest context"))")
        }
        let copy = DigestState(takingOwnershipOf: context)
        guard EVP_MD_CTX_copy_ex(context, pointer) == 1 else {
            fatalError("\(CryptoError.openSSL("EVP_MD_CTX_copy_ex", "could not copy a SHA-256 state"))")
        }
        return copy
    }

    func update(_ data: UnsafeRawBufferPointer) {
        guard EVP_DigestUpdate(pointer, data.baseAddress, data.count) == 1 else {
            fatalError("\(CryptoError.openSSL("EVP_DigestUpdate", "SHA-256 failed"))")
        }
    }

    func finalize() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: SHA256.byteCount)
        var written: UInt32 = 0
        guard EVP_DigestFinal_ex(pointer, &output, &written) == 1, written == UInt32(SHA256.byteCount) else {
            fatalError("\(CryptoError.openSSL("EVP_DigestFinal_ex", "SHA-256 failed"))")
        }
        return output
    }
}

/// HMAC with SHA-256 (RFC 2104), for keyed chunk identifiers and message authentication.
public enum HMACSHA256 {
    /// The length of a code: 32 bytes.
    public static let byteCount = 32

    /// The HMAC-SHA256 of `data` under `key` (any length). The corresponding C function is `EVP_MAC_init`.
    ///
    /// Does not throw: OpenSSL fails here only when memory runs out or its default provider is missing, and
    /// either traps with OpenSSL's reason.
    public static func authenticationCode(for data: UnsafeRawBufferPointer, key: SecureBytes) -> [UInt8] {
        let mac = mustSucceed(FetchedAlgorithm.hmac)
        clearStaleOpenSSLErrors()
        guard let context = EVP_MAC_CTX_new(mac.pointer) else {
            fatalError("\(CryptoError.openSSL("EVP_MAC_CTX_new", "could not allocate an HMAC context"))")
        }
        defer { EVP_MAC_CTX_free(context) }
        let initialised = withParameters([.utf8(OSSL_MAC_PARAM_DIGEST, "SHA256")]) { parameters in
            key.withUnsafeBytes { keyBytes in
                withNonNullBase(keyBytes) { base, count in EVP_MAC_init(context, base, count, parameters) }
            }
        }
        guard initialised == 1 else {
            fatalError("\(CryptoError.openSSL("EVP_MAC_init", "could not start HMAC-SHA256"))")
        }
        var output = [UInt8](repeating: 0, count: byteCount)
        var written = 0
        let finished = withNonNullBase(data) { base, count in
            EVP_MAC_update(context, base, count) == 1 && EVP_MAC_final(context, &output, &written, byteCount) == 1
        }
        guard finished, written == byteCount else {
            fatalError("\(CryptoError.openSSL("EVP_MAC_final", "HMAC-SHA256 failed"))")
        }
        return output
    }

    /// The HMAC-SHA256 of `data` under `key` (any length).
    public static func authenticationCode(for data: [UInt8], key: SecureBytes) -> [UInt8] {
        data.withUnsafeBytes { authenticationCode(for: $0, key: key) }
    }
}

/// HKDF-SHA256 (RFC 5869) for deriving sub-keys from one master key.
public enum HKDFSHA256 {
    /// Extracts from `key` with `salt` (none means a zero salt, as RFC 5869 says) and expands with `info` to
    /// `count` bytes (1 to 8160). The corresponding C function is `EVP_KDF_derive`.
    public static func deriveKey(from key: SecureBytes, salt: [UInt8] = [], info: [UInt8], count: Int = 32) throws
        -> SecureBytes
    {
        guard key.count > 0 else {
            throw CryptoError(code: .invalidKey, message: "HKDF needs a non-empty input key")
        }
        guard (1...(255 * SHA256.byteCount)).contains(count) else {
            throw CryptoError(
                code: .invalidInput, message: "HKDF-SHA256 derives 1 to \(255 * SHA256.byteCount) bytes, not \(count)")
        }
        let kdf = try FetchedAlgorithm.hkdf.get()
        clearStaleOpenSSLErrors()
        guard let context = EVP_KDF_CTX_new(kdf.pointer) else {
            throw CryptoError.openSSL("EVP_KDF_CTX_new", "could not allocate an HKDF context (out of memory?)")
        }
        defer { EVP_KDF_CTX_free(context) }
        return try SecureBytes(capacity: count) { output in
            let status = key.withUnsafeBytes { keyBytes in
                salt.withUnsafeBytes { saltBytes in
                    info.withUnsafeBytes { infoBytes in
                        var entries: [OpenSSLParameter] = [
                            .utf8(OSSL_KDF_PARAM_DIGEST, "SHA256"), .octets(OSSL_KDF_PARAM_KEY, keyBytes),
                        ]
                        if !saltBytes.isEmpty { entries.append(.octets(OSSL_KDF_PARAM_SALT, saltBytes)) }
                        if !infoBytes.isEmpty { entries.append(.octets(OSSL_KDF_PARAM_INFO, infoBytes)) }
                        return withParameters(entries) { parameters in
                            EVP_KDF_derive(
                                context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), count, parameters)
                        }
                    }
                }
            }
            guard status == 1 else {
                throw CryptoError.openSSL("EVP_KDF_derive", "HKDF-SHA256 failed")
            }
            return count
        }
    }
}

/// The value of an algorithm fetched at start-up; a failure there means OpenSSL itself is unusable, so it traps.
func mustSucceed(_ fetched: Result<FetchedAlgorithm, CryptoError>) -> FetchedAlgorithm {
    switch fetched {
    case .success(let algorithm): return algorithm
    case .failure(let error): fatalError("\(error)")
    }
}
