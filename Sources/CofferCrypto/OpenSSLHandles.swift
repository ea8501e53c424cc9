internal import COpenSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The internal layer that owns OpenSSL objects. Each C object has exactly one owner: a final class that takes
// the pointer in `init(takingOwnershipOf:)` and frees it in `deinit`. Nothing here is public.

/// An `EVP_CIPHER_CTX`, freed (and its key schedule cleansed) with the owner.
final class CipherContext: @unchecked Sendable {
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }

    /// A fresh, empty context. The corresponding C function is `EVP_CIPHER_CTX_new`.
    static func make() throws -> CipherContext {
        guard let pointer = EVP_CIPHER_CTX_new() else {
            throw CryptoError.openSSL("EVP_CIPHER_CTX_new", "could not allocate a cipher context (out of memory?)")
        }
        return CipherContext(takingOwnershipOf: pointer)
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }
}

/// An `EVP_PKEY` (public or private), freed with the owner.
final class PKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }
}

/// A memory `BIO`, freed with the owner.
final class MemoryBIO {
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }

    /// An empty, writable memory BIO. The corresponding C function is `BIO_new`.
    static func make() throws -> MemoryBIO {
        guard let pointer = BIO_new(BIO_s_mem()) else {
            throw CryptoError.openSSL("BIO_new", "could not allocate a memory BIO (out of memory?)")
        }
        return MemoryBIO(takingOwnershipOf: pointer)
    }

    /// Everything written to the BIO so far, as text. The corresponding C function is `BIO_read`.
    func readAll() throws -> String {
        let pending = Int(BIO_ctrl_pending(pointer))
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(pointer, $0.baseAddress, Int32(pending)) }
        guard read == pending else {
            throw CryptoError.openSSL("BIO_read", "could not read \(pending) bytes back from a memory BIO")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    deinit { BIO_free(pointer) }
}

/// An algorithm fetched once from the default provider (`EVP_CIPHER_fetch`, `EVP_MD_fetch`, `EVP_MAC_fetch`,
/// `EVP_KDF_fetch`), so that hot paths skip OpenSSL 3's implicit lookup on every init.
final class FetchedAlgorithm: @unchecked Sendable {
    let pointer: OpaquePointer
    private let free: (OpaquePointer) -> Void

    init(takingOwnershipOf pointer: OpaquePointer, free: @escaping (OpaquePointer) -> Void) {
        self.pointer = pointer
        self.free = free
    }

    deinit { free(pointer) }

    static let aes256XTS = fetchCipher("AES-256-XTS")
    static let aes256GCM = fetchCipher("AES-256-GCM")
    static let sha256 = fetchDigest("SHA256")
    static let hmac = fetch("EVP_MAC_fetch", "HMAC", EVP_MAC_fetch, EVP_MAC_free)
    static let hkdf = fetch("EVP_KDF_fetch", "HKDF", EVP_KDF_fetch, EVP_KDF_free)

    private static func fetchCipher(_ name: String) -> Result<FetchedAlgorithm, CryptoError> {
        fetch("EVP_CIPHER_fetch", name, EVP_CIPHER_fetch, EVP_CIPHER_free)
    }

    private static func fetchDigest(_ name: String) -> Result<FetchedAlgorithm, CryptoError> {
        fetch("EVP_MD_fetch", name, EVP_MD_fetch, EVP_MD_free)
    }

    private static func fetch(
        _ function: String, _ name: String,
        _ fetcher: (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> OpaquePointer?,
        _ free: @escaping (OpaquePointer?) -> Void
    ) -> Result<FetchedAlgorithm, CryptoError> {
        guard let pointer = fetcher(nil, name, nil) else {
            return .failure(
                CryptoError.openSSL(
                    function, "OpenSSL's default provider has no \(name); check the OpenSSL configuration"))
        }
        return .success(FetchedAlgorithm(takingOwnershipOf: pointer, free: { free($0) }))
    }
}

/// A mutual-exclusion lock over a heap-allocated `pthread_mutex_t`.
final class Lock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed with \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// Calls `body` with a base address that is never nil, even for an empty buffer, because some OpenSSL
/// functions refuse a null pointer with a zero length.
@inline(__always)
func withNonNullBase<R>(
    _ buffer: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>, Int) throws -> R
) rethrows -> R {
    if let base = buffer.baseAddress {
        return try body(base.assumingMemoryBound(to: UInt8.self), buffer.count)
    }
    var placeholder: UInt8 = 0
    return try withUnsafePointer(to: &placeholder) { try body($0, 0) }
}

/// The largest piece handed to one OpenSSL call whose length is a C `int`.
let largestOpenSSLPiece = 1 << 30

/// One entry of an `OSSL_PARAM` array.
enum OpenSSLParameter {
    /// A UTF-8 string parameter, such as a digest name.
    case utf8(String, String)
    /// An octet-string parameter that points at the caller's bytes, which must outlive the call.
    case octets(String, UnsafeRawBufferPointer)
}

/// Builds an `OSSL_PARAM` array whose names and values stay valid while `body` runs (OpenSSL reads the
/// parameters during the call and copies what it keeps).
func withParameters<R>(
    _ entries: [OpenSSLParameter], _ body: (UnsafeMutablePointer<OSSL_PARAM>) throws -> R
) rethrows -> R {
    var strings: [UnsafeMutablePointer<CChar>] = []
    defer { strings.forEach { free($0) } }
    func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
        guard let copy = strdup(text) else { fatalError("strdup failed: out of memory") }
        strings.append(copy)
        return copy
    }
    var parameters: [OSSL_PARAM] = []
    for entry in entries {
        switch entry {
        case .utf8(let name, let value):
            parameters.append(OSSL_PARAM_construct_utf8_string(cString(name), cString(value), 0))
        case .octets(let name, let bytes):
            parameters.append(
                OSSL_PARAM_construct_octet_string(
                    cString(name), UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count))
        }
    }
    parameters.append(OSSL_PARAM_construct_end())
    return try parameters.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
}
