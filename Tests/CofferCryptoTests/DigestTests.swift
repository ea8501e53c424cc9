import CofferCrypto
import CofferTestSupport
import Testing

@Suite struct SHA256Tests {
    /// FIPS 180-2 Appendix B (B.1, B.2, B.3) and the empty message.
    static let vectors: [(message: [UInt8], digest: String)] = [
        ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        ([UInt8](repeating: 0x61, count: 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ]

    @Test(arguments: 0..<vectors.count)
    func oneShotMatchesFIPS180(index: Int) throws {
        let (message, digest) = Self.vectors[index]
        #expect(hexString(SHA256.hash(message)) == digest)
        #expect(message.withUnsafeBytes { hexString(SHA256.hash($0)) } == digest)
    }

    @Test(arguments: 0..<vectors.count)
    func incrementalMatchesFIPS180InUnevenPieces(index: Int) throws {
        let (message, digest) = Self.vectors[index]
        var hasher = SHA256.Hasher()
        var offset = 0
        var piece = 1
        while offset < message.count {
            let end = min(message.count, offset + piece)
            hasher.update(Array(message[offset..<end]))
            offset = end
            piece = piece * 3 % 1021 + 1
        }
        #expect(hexString(hasher.finalize()) == digest)
    }

    @Test func aCopyForksTheComputation() {
        var hasher = SHA256.Hasher()
        hasher.update(Array("ab".utf8))
        var fork = hasher
        hasher.update(Array("c".utf8))
        fork.update(Array("x".utf8))
        #expect(hexString(hasher.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(fork.finalize() == SHA256.hash(Array("abx".utf8)))
    }
}

@Suite struct HMACSHA256Tests {
    /// RFC 4231 section 4, test cases 1 to 7 (HMAC-SHA-256). Case 5 is compared on its first 128 bits, as the
    /// RFC truncates it.
    static let cases: [(key: String, data: [UInt8], mac: String)] = [
        (String(repeating: "0b", count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        ("4a656665", Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (String(repeating: "aa", count: 20), [UInt8](repeating: 0xdd, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        ("0102030405060708090a0b0c0d0e0f10111213141516171819", [UInt8](repeating: 0xcd, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (String(repeating: "0c", count: 20), Array("Test With Truncation".utf8),
         "a3b6167473100ee06e0c796c2955552b"),
        (String(repeating: "aa", count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (String(repeating: "aa", count: 131),
         Array(("This is a test using a larger than block-size key and a larger than block-size data. The key "
             + "needs to be hashed before being used by the HMAC algorithm.").utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test(arguments: 0..<cases.count)
    func matchesRFC4231(index: Int) throws {
        let (keyHex, data, expected) = Self.cases[index]
        let key = SecureBytes(try hex(keyHex))
        let mac = HMACSHA256.authenticationCode(for: data, key: key)
        #expect(mac.count == 32)
        #expect(hexString(mac.prefix(expected.count / 2)) == expected)
        #expect(data.withUnsafeBytes { HMACSHA256.authenticationCode(for: $0, key: key) } == mac)
    }

    @Test func dependsOnTheKey() {
        let data = Array("chunk".utf8)
        #expect(
            HMACSHA256.authenticationCode(for: data, key: SecureBytes([1]))
                != HMACSHA256.authenticationCode(for: data, key: SecureBytes([2])))
    }
}

@Suite struct HKDFSHA256Tests {
    /// RFC 5869 Appendix A.1 (test case 1).
    @Test func matchesRFC5869TestCase1() throws {
        let key = try HKDFSHA256.deriveKey(
            from: SecureBytes(try hex(String(repeating: "0b", count: 22))),
            salt: try hex("000102030405060708090a0b0c"), info: try hex("f0f1f2f3f4f5f6f7f8f9"), count: 42)
        #expect(
            hexString(key.bytes)
                == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }

    /// RFC 5869 Appendix A.3 (test case 3): no salt and no info.
    @Test func matchesRFC5869TestCase3() throws {
        let key = try HKDFSHA256.deriveKey(
            from: SecureBytes(try hex(String(repeating: "0b", count: 22))), info: [], count: 42)
        #expect(
            hexString(key.bytes)
                == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    }

    @Test func separatesSubKeysByInfo() throws {
        let master = try SecureBytes(randomCount: 32)
        let chunkKey = try HKDFSHA256.deriveKey(from: master, info: Array("chunk-id".utf8))
        let sealKey = try HKDFSHA256.deriveKey(from: master, info: Array("chunk-seal".utf8))
        #expect(chunkKey.count == 32)
        #expect(chunkKey != sealKey)
        #expect(try HKDFSHA256.deriveKey(from: master, info: Array("chunk-id".utf8)) == chunkKey)
    }

    @Test func refusesImpossibleLengthsAndAnEmptyKey() throws {
        let master = SecureBytes([1, 2, 3])
        for count in [0, -1, 255 * 32 + 1] {
            let error = try #require(throws: CryptoError.self) {
                try HKDFSHA256.deriveKey(from: master, info: [], count: count)
            }
            #expect(error.code == .invalidInput)
        }
        #expect(try HKDFSHA256.deriveKey(from: master, info: [], count: 255 * 32).count == 255 * 32)
        let error = try #require(throws: CryptoError.self) {
            try HKDFSHA256.deriveKey(from: SecureBytes([]), info: [])
        }
        #expect(error.code == .invalidKey)
    }
}
