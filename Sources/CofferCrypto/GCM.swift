internal import COpenSSL

/// AES-256-GCM authenticated encryption with associated data, with 12-byte nonces and 16-byte tags.
///
/// Each call uses one short-lived context, keyed once, and hands OpenSSL the whole message (in pieces of up
/// to 1 GiB), so no byte is touched in Swift.
public enum AES256GCM {
    /// The length of a key: 32 bytes.
    public static let keyCount = 32
    /// The length of a nonce: 12 bytes.
    public static let nonceCount = 12
    /// The length of a tag: 16 bytes.
    public static let tagCount = 16

    /// A sealed message: the nonce, the ciphertext and the authentication tag.
    public struct SealedBox: Sendable, Hashable {
        /// The 12-byte nonce.
        public var nonce: [UInt8]
        /// The ciphertext, as long as the plaintext.
        public var ciphertext: [UInt8]
        /// The 16-byte authentication tag.
        public var tag: [UInt8]

        /// `nonce || ciphertext || tag`, the form to store or send.
        public var combined: [UInt8] { nonce + ciphertext + tag }

        /// Splits `nonce || ciphertext || tag`; throws `.invalidInput` when shorter than 28 bytes.
        public init(combined: [UInt8]) throws {
            let minimum = AES256GCM.nonceCount + AES256GCM.tagCount
            guard combined.count >= minimum else {
                throw CryptoError(
                    code: .invalidInput,
                    message: "a sealed AES-256-GCM box is at least \(minimum) bytes (nonce and tag), got \(combined.count); the data is truncated")
            }
            nonce = Array(combined[0..<AES256GCM.nonceCount])
            ciphertext = Array(combined[AES256GCM.nonceCount..<(combined.count - AES256GCM.tagCount)])
            tag = Array(combined[(combined.count - AES256GCM.tagCount)...])
        }

        /// Makes a box from its parts.
        public init(nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
            self.nonce = nonce
            self.ciphertext = ciphertext
            self.tag = tag
        }
    }

    /// Seals with a random 12-byte nonce unless one is given.
    public static func seal(
        _ plaintext: UnsafeRawBufferPointer, key: SecureBytes, nonce: [UInt8]? = nil,
        associatedData: [UInt8] = []
    ) throws -> SealedBox {
        try checkKey(key)
        let nonce = try nonce ?? SecureRandom.bytes(nonceCount)
        try checkNonce(nonce)
        clearStaleOpenSSLErrors()
        let context = try CipherContext.make()
        try initialise(context, key: key, nonce: nonce, encrypt: true)
        try addAssociatedData(associatedData, to: context)
        let ciphertext = try [UInt8](unsafeUninitializedCapacity: plaintext.count) { output, initialised in
            try update(context, input: plaintext, output: UnsafeMutableRawBufferPointer(output), function: "EVP_EncryptUpdate")
            initialised = plaintext.count
        }
        var tag = [UInt8](repeating: 0, count: tagCount)
        var written: Int32 = 0
        let finished = tag.withUnsafeMutableBufferPointer { out in
            // GCM's final step writes no bytes; the tag buffer only gives it a valid pointer.
            EVP_EncryptFinal_ex(context.pointer, out.baseAddress, &written) == 1
                && EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_GET_TAG, Int32(tagCount), out.baseAddress) == 1
        }
        guard finished, written == 0 else {
            throw CryptoError.openSSL("EVP_EncryptFinal_ex", "AES-256-GCM could not finish sealing")
        }
        return SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    /// Seals with a random 12-byte nonce unless one is given.
    public static func seal(
        _ plaintext: [UInt8], key: SecureBytes, nonce: [UInt8]? = nil, associatedData: [UInt8] = []
    ) throws -> SealedBox {
        try plaintext.withUnsafeBytes { try seal($0, key: key, nonce: nonce, associatedData: associatedData) }
    }

    /// Throws CryptoError with code .authenticationFailed when anything was changed.
    public static func open(_ box: SealedBox, key: SecureBytes, associatedData: [UInt8] = []) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: box.ciphertext.count) { output, initialised in
            try open(box, key: key, associatedData: associatedData, into: UnsafeMutableRawBufferPointer(output))
            initialised = box.ciphertext.count
        }
    }

    /// Opens a sealed key or other secret straight into `SecureBytes`, so the plaintext never sits in an
    /// ordinary array; throws `.authenticationFailed` when anything was changed.
    public static func openKey(_ box: SealedBox, key: SecureBytes, associatedData: [UInt8] = []) throws
        -> SecureBytes
    {
        try SecureBytes(capacity: box.ciphertext.count) { output in
            try open(box, key: key, associatedData: associatedData, into: output)
            return box.ciphertext.count
        }
    }

    /// Opens a box laid out as `nonce || ciphertext || tag` in `sealed`, decrypting the ciphertext in place
    /// (no copy: restore opens chunks where they were read), and returns the plaintext's range in `sealed`;
    /// throws `.authenticationFailed` when anything was changed, after cleansing the decrypted bytes so that
    /// unauthenticated plaintext never reaches the caller.
    public static func openInPlace(
        _ sealed: UnsafeMutableRawBufferPointer, key: SecureBytes, associatedData: [UInt8] = []
    ) throws -> Range<Int> {
        guard sealed.count >= nonceCount + tagCount else {
            throw CryptoError(
                code: .invalidInput,
                message: "a sealed AES-256-GCM box is at least \(nonceCount + tagCount) bytes (nonce and tag), got \(sealed.count)")
        }
        let range = nonceCount..<(sealed.count - tagCount)
        let box = SealedBox(
            nonce: Array(sealed[0..<nonceCount]), ciphertext: [], tag: Array(sealed[range.upperBound...]))
        let text = UnsafeMutableRawBufferPointer(rebasing: sealed[range])
        try open(box, key: key, associatedData: associatedData, input: UnsafeRawBufferPointer(text), into: text)
        return range
    }

    // MARK: - Internals

    /// Decrypts `box`'s ciphertext into `output`; see the other `open(_:key:associatedData:input:into:)`.
    private static func open(
        _ box: SealedBox, key: SecureBytes, associatedData: [UInt8], into output: UnsafeMutableRawBufferPointer
    ) throws {
        try box.ciphertext.withUnsafeBytes { input in
            try open(box, key: key, associatedData: associatedData, input: input, into: output)
        }
    }

    /// Decrypts `input` (the ciphertext; `box` gives the nonce and tag) into `output`, which may be the same
    /// memory, and checks the tag; on failure the output is cleansed before the error is thrown, so
    /// unauthenticated plaintext never reaches the caller.
    private static func open(
        _ box: SealedBox, key: SecureBytes, associatedData: [UInt8], input: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws {
        try checkKey(key)
        try checkNonce(box.nonce)
        guard box.tag.count == tagCount else {
            throw CryptoError(
                code: .invalidInput, message: "an AES-256-GCM tag is \(tagCount) bytes, not \(box.tag.count)")
        }
        clearStaleOpenSSLErrors()
        let context = try CipherContext.make()
        do {
            try initialise(context, key: key, nonce: box.nonce, encrypt: false)
            try addAssociatedData(associatedData, to: context)
            try update(context, input: input, output: output, function: "EVP_DecryptUpdate")
            var tag = box.tag
            var written: Int32 = 0
            var scratch = [UInt8](repeating: 0, count: 16)
            let tagSet = tag.withUnsafeMutableBytes {
                EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_TAG, Int32(tagCount), $0.baseAddress) == 1
            }
            guard tagSet else {
                throw CryptoError.openSSL("EVP_CIPHER_CTX_ctrl", "OpenSSL refused the AES-256-GCM tag")
            }
            guard EVP_DecryptFinal_ex(context.pointer, &scratch, &written) == 1 else {
                throw CryptoError.openSSL(
                    "EVP_DecryptFinal_ex",
                    "AES-256-GCM authentication failed: the ciphertext, tag, nonce or associated data was changed, or the key is wrong",
                    code: .authenticationFailed)
            }
        } catch {
            if let base = output.baseAddress { OPENSSL_cleanse(base, output.count) }
            throw error
        }
    }

    private static func checkKey(_ key: SecureBytes) throws {
        guard key.count == keyCount else {
            throw CryptoError(code: .invalidKey, message: "an AES-256-GCM key is \(keyCount) bytes, not \(key.count)")
        }
    }

    private static func checkNonce(_ nonce: [UInt8]) throws {
        guard nonce.count == nonceCount else {
            throw CryptoError(
                code: .invalidInput,
                message: "an AES-256-GCM nonce is \(nonceCount) bytes, not \(nonce.count); omit it to get a random one")
        }
    }

    private static func initialise(_ context: CipherContext, key: SecureBytes, nonce: [UInt8], encrypt: Bool) throws {
        let cipher = try FetchedAlgorithm.aes256GCM.get()
        let status = key.withUnsafeBytes { keyBytes in
            nonce.withUnsafeBufferPointer { iv in
                EVP_CipherInit_ex(
                    context.pointer, cipher.pointer, nil, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    iv.baseAddress, encrypt ? 1 : 0)
            }
        }
        guard status == 1 else {
            throw CryptoError.openSSL("EVP_CipherInit_ex", "could not set up AES-256-GCM")
        }
    }

    private static func addAssociatedData(_ data: [UInt8], to context: CipherContext) throws {
        guard !data.isEmpty else { return }
        try data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let piece = min(bytes.count - offset, largestOpenSSLPiece)
                var written: Int32 = 0
                let status = EVP_CipherUpdate(
                    context.pointer, nil, &written,
                    bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), Int32(piece))
                guard status == 1 else {
                    throw CryptoError.openSSL("EVP_CipherUpdate", "AES-256-GCM refused the associated data")
                }
                offset += piece
            }
        }
    }

    private static func update(
        _ context: CipherContext, input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer,
        function: String
    ) throws {
        precondition(output.count >= input.count, "AES-256-GCM output buffer is shorter than its input")
        var offset = 0
        while offset < input.count {
            let piece = min(input.count - offset, largestOpenSSLPiece)
            var written: Int32 = 0
            let status = EVP_CipherUpdate(
                context.pointer, output.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                &written, input.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), Int32(piece))
            guard status == 1, Int(written) == piece else {
                throw CryptoError.openSSL(function, "AES-256-GCM failed after \(offset) bytes")
            }
            offset += piece
        }
    }
}
