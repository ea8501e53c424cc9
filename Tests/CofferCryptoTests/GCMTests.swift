import CofferCrypto
import CofferTestSupport
import Testing

@Suite struct GCMTests {
    /// The GCM specification's test cases 13 to 16 (McGrew and Viega, AES-256; also SP 800-38D's examples).
    static let vectors: [(name: String, key: String, nonce: String, plaintext: String, aad: String,
                          ciphertext: String, tag: String)] = [
        ("test case 13", String(repeating: "00", count: 32), String(repeating: "00", count: 12), "", "", "",
         "530f8afbc74536b9a963b4f1c4cb738b"),
        ("test case 14", String(repeating: "00", count: 32), String(repeating: "00", count: 12),
         String(repeating: "00", count: 16), "", "cea7403d4d606b6e074ec5d3baf39d18",
         "d0d1c8a799996bf0265b98b5d48ab919"),
        ("test case 15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
         "cafebabefacedbaddecaf888",
         "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
         "",
         "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
         "b094dac5d93471bdec1a502270e3cc6c"),
        ("test case 16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
         "cafebabefacedbaddecaf888",
         "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
         "feedfacedeadbeeffeedfacedeadbeefabaddad2",
         "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
         "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    @Test(arguments: 0..<vectors.count)
    func matchesTheGCMSpecification(index: Int) throws {
        let vector = Self.vectors[index]
        let key = SecureBytes(try hex(vector.key))
        let box = try AES256GCM.seal(
            try hex(vector.plaintext), key: key, nonce: try hex(vector.nonce), associatedData: try hex(vector.aad))
        #expect(hexString(box.nonce) == vector.nonce, "\(vector.name)")
        #expect(hexString(box.ciphertext) == vector.ciphertext, "\(vector.name)")
        #expect(hexString(box.tag) == vector.tag, "\(vector.name)")
        #expect(try AES256GCM.open(box, key: key, associatedData: try hex(vector.aad)) == hex(vector.plaintext))

        // The published values, taken apart from `combined`, open too.
        let published = try AES256GCM.SealedBox(
            combined: try hex(vector.nonce + vector.ciphertext + vector.tag))
        #expect(published == box)
        #expect(try AES256GCM.open(published, key: key, associatedData: try hex(vector.aad)) == hex(vector.plaintext))
    }

    /// Anything changed (ciphertext, tag, nonce, associated data or key) fails with `.authenticationFailed`.
    @Test func detectsEveryChange() throws {
        let vector = Self.vectors[3]
        let key = SecureBytes(try hex(vector.key))
        let aad = try hex(vector.aad)
        let box = try AES256GCM.seal(try hex(vector.plaintext), key: key, associatedData: aad)

        var changes: [(String, AES256GCM.SealedBox, [UInt8], SecureBytes)] = []
        for index in [0, 17, box.ciphertext.count - 1] {
            var changed = box
            changed.ciphertext[index] ^= 0x01
            changes.append(("ciphertext byte \(index)", changed, aad, key))
        }
        for index in [0, 15] {
            var changed = box
            changed.tag[index] ^= 0x80
            changes.append(("tag byte \(index)", changed, aad, key))
        }
        var nonce = box
        nonce.nonce[11] ^= 0x01
        changes.append(("nonce", nonce, aad, key))
        var shorter = box
        shorter.ciphertext.removeLast()
        changes.append(("truncated ciphertext", shorter, aad, key))
        var otherAAD = aad
        otherAAD[0] ^= 0x01
        changes.append(("associated data", box, otherAAD, key))
        changes.append(("missing associated data", box, [], key))
        changes.append(("key", box, aad, try SecureBytes(randomCount: 32)))

        for (what, changed, associatedData, key) in changes {
            let error = try #require(throws: CryptoError.self, "changed \(what)") {
                try AES256GCM.open(changed, key: key, associatedData: associatedData)
            }
            #expect(error.code == .authenticationFailed, "changed \(what)")
            #expect(error.function == "EVP_DecryptFinal_ex", "changed \(what)")
            #expect(throws: CryptoError.self) { try AES256GCM.openKey(changed, key: key, associatedData: associatedData) }
        }
    }

    @Test func sealsWithAFreshRandomNonceByDefault() throws {
        let key = try SecureBytes(randomCount: 32)
        let message = Array("the same message".utf8)
        let first = try AES256GCM.seal(message, key: key)
        let second = try AES256GCM.seal(message, key: key)
        #expect(first.nonce.count == 12)
        #expect(first.tag.count == 16)
        #expect(first.nonce != second.nonce)
        #expect(first.ciphertext != second.ciphertext)
        #expect(try AES256GCM.open(first, key: key) == message)
        #expect(try AES256GCM.open(second, key: key) == message)
    }

    @Test func combinedRoundTripsAndRefusesTruncation() throws {
        let key = try SecureBytes(randomCount: 32)
        let box = try AES256GCM.seal(Array("chunk".utf8), key: key, associatedData: Array("chunk-id".utf8))
        #expect(box.combined.count == 12 + 5 + 16)
        let parsed = try AES256GCM.SealedBox(combined: box.combined)
        #expect(parsed == box)
        #expect(try AES256GCM.open(parsed, key: key, associatedData: Array("chunk-id".utf8)) == Array("chunk".utf8))

        #expect(try AES256GCM.SealedBox(combined: [UInt8](repeating: 0, count: 28)).ciphertext.isEmpty)
        let error = try #require(throws: CryptoError.self) {
            try AES256GCM.SealedBox(combined: [UInt8](repeating: 0, count: 27))
        }
        #expect(error.code == .invalidInput)
    }

    @Test func sealsLargeBuffersWithoutCopyingThemIn() throws {
        let key = try SecureBytes(randomCount: 32)
        let plaintext = try SecureRandom.bytes((1 << 20) + 7)
        let box = try plaintext.withUnsafeBytes { try AES256GCM.seal($0, key: key, associatedData: [1, 2, 3]) }
        #expect(box.ciphertext.count == plaintext.count)
        #expect(try AES256GCM.open(box, key: key, associatedData: [1, 2, 3]) == plaintext)
    }

    /// The specification's test case 16 opened where it lies; a changed byte fails and leaves no plaintext.
    @Test func opensInPlace() throws {
        let vector = Self.vectors[3]
        let key = SecureBytes(try hex(vector.key))
        let aad = try hex(vector.aad)
        let sealed = try hex(vector.nonce + vector.ciphertext + vector.tag)
        var buffer = sealed
        let range = try buffer.withUnsafeMutableBytes { try AES256GCM.openInPlace($0, key: key, associatedData: aad) }
        #expect(range == 12..<(sealed.count - 16))
        #expect(Array(buffer[range]) == (try hex(vector.plaintext)))

        var damaged = sealed
        damaged[20] ^= 0x01
        let error = try #require(throws: CryptoError.self) {
            try damaged.withUnsafeMutableBytes { try AES256GCM.openInPlace($0, key: key, associatedData: aad) }
        }
        #expect(error.code == .authenticationFailed)
        #expect(damaged[12..<(sealed.count - 16)].allSatisfy { $0 == 0 })
        var short = [UInt8](repeating: 0, count: 27)
        #expect(throws: CryptoError.self) { try short.withUnsafeMutableBytes { try AES256GCM.openInPlace($0, key: key) } }
    }

    @Test func opensKeysIntoSecureBytes() throws {
        let wrappingKey = try SecureBytes(randomCount: 32)
        let volumeKey = try SecureBytes(randomCount: 64)
        let box = try volumeKey.withUnsafeBytes { try AES256GCM.seal($0, key: wrappingKey) }
        #expect(try AES256GCM.openKey(box, key: wrappingKey) == volumeKey)
    }

    @Test func refusesBadKeysNoncesAndTags() throws {
        let shortKey = try #require(throws: CryptoError.self) {
            try AES256GCM.seal([1], key: SecureBytes([UInt8](repeating: 1, count: 16)))
        }
        #expect(shortKey.code == .invalidKey)
        let key = try SecureBytes(randomCount: 32)
        let badNonce = try #require(throws: CryptoError.self) { try AES256GCM.seal([1], key: key, nonce: [1, 2, 3]) }
        #expect(badNonce.code == .invalidInput)
        var box = try AES256GCM.seal([1], key: key)
        box.tag.removeLast()
        let badTag = try #require(throws: CryptoError.self) { try AES256GCM.open(box, key: key) }
        #expect(badTag.code == .invalidInput)
    }
}
