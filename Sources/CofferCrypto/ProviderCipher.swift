internal import COpenSSL

/// The cipher implementation of the provider OpenSSL fetched, driven through its dispatch table
/// (`OSSL_PROVIDER_query_operation`, `provider-cipher(7)`), as libcrypto's EVP layer itself drives it.
///
/// Why not `EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1)` per sector: on OpenSSL 3.0 each such call
/// takes and drops a reference on the shared `EVP_CIPHER` and runs a provider parameter query for the IV
/// length, about 150 ns per sector. Measured single-threaded on 2 cores, that kept 512-byte sectors near
/// 40 % of `openssl speed -evp aes-256-xts` and 4 KiB sectors near 80 %; calling the provider's own
/// `encrypt_init` with the new IV and then its one-shot `cipher` (what `EVP_Cipher` calls) costs a few
/// nanoseconds and gives about 80 % and 90 %.
final class ProviderCipher: @unchecked Sendable {
    /// Holds a reference on the fetched cipher, which keeps its provider (and the dispatch table) loaded.
    private let fetched: FetchedAlgorithm
    private let providerContext: UnsafeMutableRawPointer?
    private let newContext: OSSL_FUNC_cipher_newctx_fn
    fileprivate let freeContext: OSSL_FUNC_cipher_freectx_fn
    fileprivate let duplicateContext: OSSL_FUNC_cipher_dupctx_fn
    fileprivate let encryptInit: OSSL_FUNC_cipher_encrypt_init_fn
    fileprivate let decryptInit: OSSL_FUNC_cipher_decrypt_init_fn
    fileprivate let cipher: OSSL_FUNC_cipher_cipher_fn
    let name: String

    static let aes256XTS = Result { try ProviderCipher(FetchedAlgorithm.aes256XTS.get(), name: "AES-256-XTS") }

    private init(_ fetched: FetchedAlgorithm, name: String) throws {
        guard let provider = EVP_CIPHER_get0_provider(fetched.pointer) else {
            throw CryptoError.openSSL("EVP_CIPHER_get0_provider", "the fetched \(name) has no provider")
        }
        var noCache: Int32 = 0
        guard let algorithms = OSSL_PROVIDER_query_operation(provider, OSSL_OP_CIPHER, &noCache) else {
            throw CryptoError.openSSL(
                "OSSL_PROVIDER_query_operation", "the provider of \(name) lists no ciphers; check the OpenSSL configuration")
        }
        defer { OSSL_PROVIDER_unquery_operation(provider, OSSL_OP_CIPHER, algorithms) }

        var table: UnsafePointer<OSSL_DISPATCH>?
        var index = 0
        while let names = algorithms[index].algorithm_names {
            let aliases = String(cString: names).split(separator: ":").map { $0.uppercased() }
            if aliases.contains(name.uppercased()) {
                table = algorithms[index].implementation
                break
            }
            index += 1
        }
        guard let table else {
            throw CryptoError(
                code: .openSSL, message: "the provider of \(name) does not list it among its ciphers",
                function: "OSSL_PROVIDER_query_operation")
        }
        func entry(_ id: Int32, _ what: String) throws -> UnsafePointer<OSSL_DISPATCH> {
            var cursor = table
            while cursor.pointee.function_id != 0 {
                if cursor.pointee.function_id == id { return cursor }
                cursor += 1
            }
            throw CryptoError(
                code: .openSSL, message: "the provider's \(name) has no \(what) function",
                function: "OSSL_PROVIDER_query_operation")
        }
        guard let newContext = OSSL_FUNC_cipher_newctx(try entry(OSSL_FUNC_CIPHER_NEWCTX, "newctx")),
            let freeContext = OSSL_FUNC_cipher_freectx(try entry(OSSL_FUNC_CIPHER_FREECTX, "freectx")),
            let duplicateContext = OSSL_FUNC_cipher_dupctx(try entry(OSSL_FUNC_CIPHER_DUPCTX, "dupctx")),
            let encryptInit = OSSL_FUNC_cipher_encrypt_init(try entry(OSSL_FUNC_CIPHER_ENCRYPT_INIT, "encrypt_init")),
            let decryptInit = OSSL_FUNC_cipher_decrypt_init(try entry(OSSL_FUNC_CIPHER_DECRYPT_INIT, "decrypt_init")),
            let cipher = OSSL_FUNC_cipher_cipher(try entry(OSSL_FUNC_CIPHER_CIPHER, "cipher"))
        else {
            throw CryptoError(
                code: .openSSL, message: "the provider's \(name) has a null function in its dispatch table",
                function: "OSSL_PROVIDER_query_operation")
        }
        self.fetched = fetched
        self.providerContext = OSSL_PROVIDER_get0_provider_ctx(provider)
        self.newContext = newContext
        self.freeContext = freeContext
        self.duplicateContext = duplicateContext
        self.encryptInit = encryptInit
        self.decryptInit = decryptInit
        self.cipher = cipher
        self.name = name
    }

    /// A new context keyed for one direction. The corresponding provider functions are `newctx` and
    /// `encrypt_init` or `decrypt_init`.
    func keyedContext(key: SecureBytes, encrypt: Bool) throws -> ProviderCipherContext {
        guard let pointer = newContext(providerContext) else {
            throw CryptoError.openSSL("OSSL_FUNC_cipher_newctx", "could not allocate a \(name) context")
        }
        let context = ProviderCipherContext(takingOwnershipOf: pointer, cipher: self, encrypt: encrypt)
        let status = key.withUnsafeBytes { bytes in
            let keyBytes = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            return encrypt
                ? encryptInit(pointer, keyBytes, bytes.count, nil, 0, nil)
                : decryptInit(pointer, keyBytes, bytes.count, nil, 0, nil)
        }
        guard status == 1 else {
            throw CryptoError.openSSL(
                encrypt ? "OSSL_FUNC_cipher_encrypt_init" : "OSSL_FUNC_cipher_decrypt_init",
                "OpenSSL refused the \(name) key", code: .invalidKey)
        }
        return context
    }
}

/// A provider cipher context (its `algctx`), freed and cleansed by the provider's `freectx` with the owner.
final class ProviderCipherContext: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    private let cipher: ProviderCipher
    private let encrypt: Bool

    init(takingOwnershipOf pointer: UnsafeMutableRawPointer, cipher: ProviderCipher, encrypt: Bool) {
        self.pointer = pointer
        self.cipher = cipher
        self.encrypt = encrypt
    }

    deinit { cipher.freeContext(pointer) }

    /// A copy with the same key schedule. The corresponding provider function is `dupctx`.
    func copy() throws -> ProviderCipherContext {
        guard let copy = cipher.duplicateContext(pointer) else {
            throw CryptoError.openSSL("OSSL_FUNC_cipher_dupctx", "could not copy a \(cipher.name) context")
        }
        return ProviderCipherContext(takingOwnershipOf: copy, cipher: cipher, encrypt: encrypt)
    }

    /// Transforms `sectors` consecutive data units of `size` bytes at `base` in place, the first with the tweak
    /// of `firstSector` (its number little-endian, zero-padded to 16 bytes). Returns the index of the unit that
    /// failed, or nil; the caller reads the reason from the error queue. The corresponding provider functions
    /// are `encrypt_init`/`decrypt_init` (IV only) and `cipher`.
    func transformSectors(_ base: UnsafeMutableRawPointer, sectors: Int, size: Int, firstSector: UInt64) -> Int? {
        // Locals, so that the loop makes C calls only: no reference counting per sector.
        let context = pointer
        let initialise = encrypt ? cipher.encryptInit : cipher.decryptInit
        let transform = cipher.cipher
        var tweak: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &tweak) { tweakBytes in
            let iv = tweakBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for index in 0..<sectors {
                tweakBytes.storeBytes(of: (firstSector &+ UInt64(index)).littleEndian, as: UInt64.self)
                let data = base.advanced(by: index * size).assumingMemoryBound(to: UInt8.self)
                var written = 0
                guard initialise(context, nil, 0, iv, 16, nil) == 1,
                    transform(context, data, &written, size, data, size) == 1, written == size
                else { return index }
            }
            return nil
        }
    }

    /// Sets a new 16-byte IV (keeping the key) and transforms `count` bytes at `data` in place as one data
    /// unit. Returns false when OpenSSL refused; the caller reads the reason from the error queue.
    func transformUnit(_ data: UnsafeMutablePointer<UInt8>, count: Int, iv: UnsafePointer<UInt8>) -> Bool {
        let initialised =
            encrypt ? cipher.encryptInit(pointer, nil, 0, iv, 16, nil) : cipher.decryptInit(pointer, nil, 0, iv, 16, nil)
        var written = 0
        return initialised == 1 && cipher.cipher(pointer, data, &written, count, data, count) == 1 && written == count
    }
}
