@testable import CofferCrypto
import CofferTestSupport
import Testing

@Suite struct RSATests {
    /// One 2048-bit key shared by the tests that need some key, since generation is slow.
    static let shared = Result { try RSAPrivateKey(bits: 2048) }

    @Test(arguments: OAEPDigest.allCases)
    func wrapsAndUnwrapsAVolumeKey(digest: OAEPDigest) throws {
        let key = try Self.shared.get()
        let volumeKey = try SecureBytes(randomCount: 64)
        let wrapped = try key.publicKey.wrap(volumeKey, digest: digest)
        #expect(wrapped.count == 256)
        #expect(try key.unwrap(wrapped, digest: digest) == volumeKey)
        // OAEP is randomised: the same key wraps differently each time.
        #expect(try key.publicKey.wrap(volumeKey, digest: digest) != wrapped)
    }

    @Test func digestsCarryKeyVaultAlgorithmNames() {
        #expect(OAEPDigest.sha1.rawValue == "RSA-OAEP")
        #expect(OAEPDigest.sha256.rawValue == "RSA-OAEP-256")
        #expect(OAEPDigest(rawValue: "RSA-OAEP-256") == .sha256)
    }

    @Test func unwrapsWycheproofSHA256Vector() throws {
        let der = try hex(WycheproofOAEP.sha256KeyPKCS8)
        let key = try der.withUnsafeBytes { try RSAPrivateKey.fromPKCS8($0) }
        #expect(key.bits == 2048)
        let unwrapped = try key.unwrap(try hex(WycheproofOAEP.sha256Ciphertext), digest: .sha256)
        #expect(hexString(unwrapped.bytes) == WycheproofOAEP.sha256Message)
        #expect(throws: CryptoError.self) { try key.unwrap(try hex(WycheproofOAEP.sha256Ciphertext), digest: .sha1) }
    }

    @Test func unwrapsWycheproofSHA1Vector() throws {
        let der = try hex(WycheproofOAEP.sha1KeyPKCS8)
        let key = try der.withUnsafeBytes { try RSAPrivateKey.fromPKCS8($0) }
        let unwrapped = try key.unwrap(try hex(WycheproofOAEP.sha1Ciphertext), digest: .sha1)
        #expect(hexString(unwrapped.bytes) == WycheproofOAEP.sha1Message)
        #expect(throws: CryptoError.self) { try key.unwrap(try hex(WycheproofOAEP.sha1Ciphertext), digest: .sha256) }
    }

    /// Wraps made by `openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:X
    /// -pkeyopt rsa_mgf1_md:X` unwrap here, and the public key reads and writes the same PEM.
    @Test(arguments: OAEPDigest.allCases)
    func interoperatesWithTheOpenSSLCommandLine(digest: OAEPDigest) throws {
        let key = try RSAPrivateKey.fromUnencryptedPEM(OpenSSLCommandLineOAEP.keyPEM)
        let wrapped = digest == .sha1 ? OpenSSLCommandLineOAEP.wrappedSHA1 : OpenSSLCommandLineOAEP.wrappedSHA256
        let unwrapped = try key.unwrap(try hex(wrapped), digest: digest)
        #expect(hexString(unwrapped.bytes) == OpenSSLCommandLineOAEP.plaintext)
        #expect(unwrapped.count == 64)

        let publicKey = try RSAPublicKey(pem: OpenSSLCommandLineOAEP.publicKeyPEM)
        #expect(publicKey == key.publicKey)
        #expect(key.publicKey.pemRepresentation == OpenSSLCommandLineOAEP.publicKeyPEM + "\n")
        let rewrapped = try publicKey.wrap(unwrapped, digest: digest)
        #expect(try key.unwrap(rewrapped, digest: digest) == unwrapped)
    }

    @Test func wrongKeyDigestOrDataFailsCleanly() throws {
        let key = try Self.shared.get()
        let other = try RSAPrivateKey.fromUnencryptedPEM(OpenSSLCommandLineOAEP.keyPEM)
        let volumeKey = try SecureBytes(randomCount: 64)
        let wrapped = try key.publicKey.wrap(volumeKey, digest: .sha256)

        var altered = wrapped
        altered[100] ^= 0x04
        let attempts: [(String, RSAPrivateKey, [UInt8], OAEPDigest)] = [
            ("another key", other, wrapped, .sha256),
            ("another digest", key, wrapped, .sha1),
            ("altered data", key, altered, .sha256),
        ]
        for (what, unwrapper, data, digest) in attempts {
            let error = try #require(throws: CryptoError.self, "\(what)") { try unwrapper.unwrap(data, digest: digest) }
            #expect(error.code == .unwrapFailed, "\(what)")
            #expect(error.function == "EVP_PKEY_decrypt", "\(what)")
            #expect(error.reason != nil, "\(what)")
        }
        let truncated = try #require(throws: CryptoError.self) {
            try key.unwrap(Array(wrapped.dropLast()), digest: .sha256)
        }
        #expect(truncated.code == .unwrapFailed)
    }

    @Test func publicKeyExportsAndImportsAsPEMAndDER() throws {
        let key = try Self.shared.get().publicKey
        #expect(key.bits == 2048)
        #expect(key.pemRepresentation.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        #expect(key.pemRepresentation.hasSuffix("-----END PUBLIC KEY-----\n"))
        #expect(key.derRepresentation.first == 0x30)
        let fromDER = try RSAPublicKey(der: key.derRepresentation)
        let fromPEM = try RSAPublicKey(pem: key.pemRepresentation)
        #expect(fromDER == key)
        #expect(fromPEM == key)
        #expect(Set([key, fromDER, fromPEM]).count == 1)
        #expect(fromPEM.derRepresentation == key.derRepresentation)
        #expect(throws: CryptoError.self) { try RSAPublicKey(der: key.derRepresentation + [0]) }
    }

    /// Every OpenSSL failure names the C function and carries OpenSSL's reason.
    @Test func malformedKeysNameTheFailingFunctionAndReason() throws {
        let malformed = [
            "hello",
            "-----BEGIN PUBLIC KEY-----\nthis is not base64!\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApOpZ5Aghlc+ZjUaxP3u5\n-----END PUBLIC KEY-----\n",
        ]
        for text in malformed {
            let error = try #require(throws: CryptoError.self) { try RSAPublicKey(pem: text) }
            #expect(error.function == "PEM_read_bio_PUBKEY")
            #expect(error.reason != nil)
            #expect(error.code == .invalidKey)
            #expect("\(error)".contains("PEM_read_bio_PUBKEY"))
        }
        #expect(throws: CryptoError.self) { try RSAPublicKey(pem: "") }
        #expect(throws: CryptoError.self) { try RSAPublicKey(der: []) }
        let der = try #require(throws: CryptoError.self) { try RSAPublicKey(der: [0x30, 0x03, 0x02, 0x01]) }
        #expect(der.function == "d2i_PUBKEY")
        #expect(der.reason != nil)
        let pkcs8 = try #require(throws: CryptoError.self) {
            try [UInt8](repeating: 0x42, count: 40).withUnsafeBytes { try RSAPrivateKey.fromPKCS8($0) }
        }
        #expect(pkcs8.function == "d2i_PKCS8_PRIV_KEY_INFO")
        #expect(pkcs8.reason != nil)
    }

    @Test func refusesKeysThatAreNotRSA() throws {
        let error = try #require(throws: CryptoError.self) {
            try RSAPublicKey(pem: OpenSSLCommandLineOAEP.ecPublicKeyPEM)
        }
        #expect(error.code == .invalidKey)
        #expect(error.message.contains("not an RSA key"))
    }

    @Test(arguments: [0, 1024, 2047, 2049, 8192])
    func refusesOtherKeySizes(bits: Int) throws {
        let error = try #require(throws: CryptoError.self) { try RSAPrivateKey(bits: bits) }
        #expect(error.code == .invalidKey)
    }

    @Test func refusesKeysTooLongForOneWrap() throws {
        let key = try Self.shared.get().publicKey
        // 2048-bit OAEP carries at most 256 - 2 * hLen - 2 bytes.
        #expect(try key.wrap(SecureBytes([UInt8](repeating: 1, count: 190)), digest: .sha256).count == 256)
        #expect(try key.wrap(SecureBytes([UInt8](repeating: 1, count: 214)), digest: .sha1).count == 256)
        for (count, digest) in [(191, OAEPDigest.sha256), (215, .sha1)] {
            let error = try #require(throws: CryptoError.self) {
                try key.wrap(SecureBytes([UInt8](repeating: 1, count: count)), digest: digest)
            }
            #expect(error.code == .invalidInput)
        }
    }

    @Test func privateKeyExportsOnlyWrappedAndImportsBack() throws {
        let key = try Self.shared.get()
        let wrappingKey = try SecureBytes(randomCount: 32)
        let exported = try key.exportWrapped(under: wrappingKey)
        #expect(try key.exportWrapped(under: wrappingKey) != exported)

        let imported = try RSAPrivateKey.importWrapped(exported, under: wrappingKey)
        #expect(imported.publicKey == key.publicKey)
        let volumeKey = try SecureBytes(randomCount: 64)
        #expect(try imported.unwrap(key.publicKey.wrap(volumeKey, digest: .sha256), digest: .sha256) == volumeKey)

        let wrongKey = try #require(throws: CryptoError.self) {
            try RSAPrivateKey.importWrapped(exported, under: SecureBytes(randomCount: 32))
        }
        #expect(wrongKey.code == .authenticationFailed)
        var altered = exported
        altered[40] ^= 0x01
        let alteredError = try #require(throws: CryptoError.self) {
            try RSAPrivateKey.importWrapped(altered, under: wrappingKey)
        }
        #expect(alteredError.code == .authenticationFailed)
        let truncated = try #require(throws: CryptoError.self) {
            try RSAPrivateKey.importWrapped(Array(exported.prefix(20)), under: wrappingKey)
        }
        #expect(truncated.code == .invalidInput)
        let shortWrappingKey = try #require(throws: CryptoError.self) {
            try key.exportWrapped(under: SecureBytes([UInt8](repeating: 9, count: 16)))
        }
        #expect(shortWrappingKey.code == .invalidKey)
    }

    /// A value sealed under the same wrapping key for another purpose is not taken for a private key.
    @Test func importRefusesOtherSealedValues() throws {
        let wrappingKey = try SecureBytes(randomCount: 32)
        let other = try AES256GCM.seal(try SecureRandom.bytes(1200), key: wrappingKey).combined
        let error = try #require(throws: CryptoError.self) {
            try RSAPrivateKey.importWrapped(other, under: wrappingKey)
        }
        #expect(error.code == .authenticationFailed)
        // Correctly labelled but not a key: the PKCS#8 parser refuses it.
        let notAKey = try AES256GCM.seal(
            [UInt8](repeating: 0x42, count: 64), key: wrappingKey, associatedData: RSAPrivateKey.exportLabel)
        let parseError = try #require(throws: CryptoError.self) {
            try RSAPrivateKey.importWrapped(notAKey.combined, under: wrappingKey)
        }
        #expect(parseError.function == "d2i_PKCS8_PRIV_KEY_INFO")
    }

    @Test func generates3072BitKeys() throws {
        let key = try RSAPrivateKey(bits: 3072)
        #expect(key.bits == 3072)
        let volumeKey = try SecureBytes(randomCount: 64)
        let wrapped = try key.publicKey.wrap(volumeKey, digest: .sha256)
        #expect(wrapped.count == 384)
        #expect(try key.unwrap(wrapped, digest: .sha256) == volumeKey)
    }

    /// The one 4096-bit generation of the suite.
    @Test func generates4096BitKeys() throws {
        let key = try RSAPrivateKey(bits: 4096)
        #expect(key.bits == 4096)
        let volumeKey = try SecureBytes(randomCount: 64)
        let wrapped = try key.publicKey.wrap(volumeKey, digest: .sha1)
        #expect(wrapped.count == 512)
        let wrappingKey = try SecureBytes(randomCount: 32)
        let imported = try RSAPrivateKey.importWrapped(try key.exportWrapped(under: wrappingKey), under: wrappingKey)
        #expect(imported.bits == 4096)
        #expect(try imported.unwrap(wrapped, digest: .sha1) == volumeKey)
    }

    @Test func isSafeToShareAcrossConcurrentTasks() async throws {
        let key = try Self.shared.get()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let volumeKey = try SecureBytes(randomCount: 64)
                    let digest: OAEPDigest = index.isMultiple(of: 2) ? .sha1 : .sha256
                    return try key.unwrap(key.publicKey.wrap(volumeKey, digest: digest), digest: digest) == volumeKey
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0 })
    }
}

/// A vector made once with the `openssl` 3.0 command line: `openssl genpkey -algorithm RSA -pkeyopt
/// rsa_keygen_bits:2048`, then `openssl pkeyutl -encrypt -pubin -inkey pub.pem -pkeyopt rsa_padding_mode:oaep
/// -pkeyopt rsa_oaep_md:sha1|sha256 -pkeyopt rsa_mgf1_md:sha1|sha256` of the 64-byte plaintext below; and an
/// EC P-256 public key from `openssl genpkey -algorithm EC`.
enum OpenSSLCommandLineOAEP {
    static let keyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCk6lnkCCGVz5mN
        RrE/e7mTYWnqBiRUSbQw1odigMEHAFahJ3uUKVeEV/3c1jT0gMhRJW9JuHwWVwUD
        uEKaenP89bxQ2gQzwOjHE+kRfAdoHk8a1HIHNzvCb1e4kHzwDcaEeo0JgYRiQG1S
        0MKvsQk+PFoKQeMG5uLaJ8Ba0GIYuxpXqAVHLkQwOya/nFFQ1/n+GNyGGYi233wc
        ShatoYlhiYsWwDQ+jc4tu/tUaz9DV8dLj22UBScE+MYNhQu2anmhDcYR86qKNG7r
        lCkvBRDkgLuPSMTO2L+3ysCcFz2UqgGCitp4Jeqg6xuISnndHFJJ7XqOrjx68AAA
        /l8+QYgHAgMBAAECggEAAPJuOmFS6AxSzRKMhAPO3f903z4nyUAfGRoHmaje8uOt
        Rlb2s7QaZ40lzQsshKw/T4/6d/Q86i1CacdjbTBU0tgKZnXKCQ4LiCZ0ySqVfviQ
        QGQwlMVcF31nheIhMDO0DHYJB0vyGapVtmBdLdXDatMSj/Uu5jmUheeCiEL4EpJG
        GvHVxN7TV9CLteZN65kZoYNa2m87np/ZScyoXMAvlQkVv2ZDkp1yjhnov+F6j0W1
        l0ULUzDmvsJM/IF5Rj3wQYS3CII0uOlgjU+ES8czASNHutUxeoUs0C2VHbtHFcHG
        yKlH8HWnVcVfpezNtw3BP/18W/+u/FMGnMhEnyQgkQKBgQDlnnjqVWYywd16NXZo
        HsWfCxlDnMGEoOVuy2Q0ZTa1yLovWKgPwBJ205Atk+DXwp5ee0T62I05qQYXrXYz
        aFOpwJwiQPAPC9Av3EFbtM0jSscvCxHbXzD8N+N+NDETs6ELpRTkDnI3isjg4Dqx
        bD+3muqs3MFjbSkFXEbDZYnkqQKBgQC33NMDVg3C/m1qergPWxl0m7WnkRRoZ/fY
        Ct6ElZe5JLbKSx/e9t840kJaesX3bma9LbulIypsHcmWBJd/Ys4j6qrb5fBnQupk
        r5akPDSsv2X36zYFEVYiRHPe4EMHY7yhq4glwNLnZ0gJs8Wnbrpin4uFtm5VFJJq
        j7X5NzdFLwKBgQC5yOkIoSRZeSZcFRnC0PMQ5ggA/rpNN2mrpYFkK2iC2PBcEp2Y
        cM3/utnzJq1LpbpBs/dyBvjtaGb3jXAP1B+tP5yU0nnpkqNVth5jtvwry/sxgwFl
        v7WAvS+iE1SKHlL1exJWG6Iqcm5qFMMofu9m/T9Xsh3+9nm0Tp8qxeM2UQKBgB1e
        JEZQJHqU8R0k5Olu/63kgSt2vO/AS5IyikBbNJTaDGhbf4e5nwYQb5DMM3rGI5rs
        ByDlcQ075MsViK1MNuj9vrTJEZEs2wuiEEnDZBaDq+HhrAs7LarjjC55W7t+bs7T
        +zcsiYN0t8j08glAYn0GRt7guNbWJlzm/4YDD8z5AoGAaIqA4KcYWWzjOMAvm/UN
        ICrmLdVT7RI0I2HyKVheHZiAyAjqJQ6fWdQ3Cj9X2wHiroDrn3ED8IpdtH0rf61l
        d3OH/g7NaB9v4kwQ+UEx4PFcdx5NdgsfPoA0sE7h7CAEh+58DZrkLjT/gVitobPu
        hBRkTXIdEIcJgAgZtJGUWPM=
        -----END PRIVATE KEY-----
        """
    static let publicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApOpZ5Aghlc+ZjUaxP3u5
        k2Fp6gYkVEm0MNaHYoDBBwBWoSd7lClXhFf93NY09IDIUSVvSbh8FlcFA7hCmnpz
        /PW8UNoEM8DoxxPpEXwHaB5PGtRyBzc7wm9XuJB88A3GhHqNCYGEYkBtUtDCr7EJ
        PjxaCkHjBubi2ifAWtBiGLsaV6gFRy5EMDsmv5xRUNf5/hjchhmItt98HEoWraGJ
        YYmLFsA0Po3OLbv7VGs/Q1fHS49tlAUnBPjGDYULtmp5oQ3GEfOqijRu65QpLwUQ
        5IC7j0jEzti/t8rAnBc9lKoBgoraeCXqoOsbiEp53RxSSe16jq48evAAAP5fPkGI
        BwIDAQAB
        -----END PUBLIC KEY-----
        """
    static let plaintext =
        "636f6666657220696e7465726f703a20612036342d627974652058545320766f6c756d65"
        + "206b65792077726170706564206279206f70656e73736c20706b6579"
    static let wrappedSHA1 =
            "9044ae1959714b17fcab19ef83e230afb272b19ac20f7da8f293ec5c6d7826b21d30774158e2482584afb13fad8a011c"
            + "62c834ce168aa2d7b0fb20eb9c2603d07ef1dc7917d50d8dccec4e1ba57181a33d9198ffc93dcd6f4946b4e68683321f"
            + "2b92a1e8465cc4b968a92cc9107e81b00bee64cb82bce4f4997dbdc9e2b828a3dfc67a2579fa03166e0ce8e5bf395a23"
            + "23bdae02053d233d112e496bc601a3d3e008fc69319c82fde75160a948a3dc363cac11ed2b9f37211bd6bf4f5daaba8b"
            + "949ccef1a23f863da2a89167779e726f9c4f2ee86e1bf5067e51a4c706b1e7ffd900f8461274c6424838db53d4928b6e"
            + "9aa787e41e35261f6eacf60a44673be7"
    static let wrappedSHA256 =
            "49af9fa61d7714f9c6b2b931066c3b4fd0e8c7fa36233e91cda5d49420841f57326131c27e9b5c5b731eaa3bd3df9a9c"
            + "212c7d8f95c30b01a64c7af24d13ba9f24dacacf3312e2e82cd32ff03188ad6a4319a70e0310cfb4b3f066564e93d373"
            + "a63774f6c85a60b794239990607d353e1c0856b73fc43408686d71b0db92f3259050fab3499640187e43b397fd992b98"
            + "4fd94aebca12d7da72c95649735c6dfffc5b1e0ff7cc515559cdfc49e926a77f6c109de91183397705025d4e6654d7f2"
            + "985bd386dfbeb7b975f638f24057e32398105a679e914d517380c58830ae8a7f68cdb658af06090b9305fbcaf547f601"
            + "6da5528b7ee128fb76bfd3ad0c25cce0"
    static let ecPublicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOO8GWOH7BntJyCIGylxyXVUXp9R1
        By1Lq5K6i+7gJ5kBilRog5kc5Y6bxcxYn712wRzgxnr8o+SLlcBTRYSkNA==
        -----END PUBLIC KEY-----
        """
}

/// Wycheproof (C2SP/wycheproof testvectors_v1) RSA-OAEP decryption vectors.
enum WycheproofOAEP {
    /// Wycheproof rsa_oaep_2048_sha256_mgf1sha256_test.json: the group's key (PKCS#8 DER) and tcId 7.
    static let sha256KeyPKCS8 =
        "308204bd020100300d06092a864886f70d0101010500048204a7308204a30201000282010100a2b451a07d0aa5f96e45"
            + "5671513550514a8a5b462ebef717094fa1fee82224e637f9746d3f7cafd31878d80325b6ef5a1700f65903b469429e89"
            + "d6eac8845097b5ab393189db92512ed8a7711a1253facd20f79c15e8247f3d3e42e46e48c98e254a2fe9765313a03eff"
            + "8f17e1a029397a1fa26a8dce26f490ed81299615d9814c22da610428e09c7d9658594266f5c021d0fceca08d945a12be"
            + "82de4d1ece6b4c03145b5d3495d4ed5411eb878daf05fd7afc3e09ada0f1126422f590975a1969816f48698bcbba1b4d"
            + "9cae79d460d8f9f85e7975005d9bc22c4e5ac0f7c1a45d12569a62807d3b9a02e5a530e773066f453d1f5b4c2e9cf782"
            + "0283f742b9d502030100010282010024cdc62317f5d72a6f6ba6cc9632899b01d1ff28867d72f61688995bc855a4e420"
            + "a8405250089bdb13cf8e09543827b748b9d27fbb2b4d9e20af8c5a6a862796d1a4cc18ad16ea678bc1bd4a83bbbe9c5e"
            + "57453b5ce7388e41a3ba4ce2b77b4438a229e954f720dae0353dc088ac8a76b26dc276f8e1b7851ddd6398ad16ff2e78"
            + "195123b9b036e945c38c9d12434f6df76fe22359eb3e1ac9c011678fc926fad3ae475a4fffff55feb2d147e9c894f4c0"
            + "e29a599e762462482d968bf42780945fc0d2c31c573c4431b8f4fe8b8c67bec815abd44f7a86edca1c2308737358d2c2"
            + "ae5e2e0e2dadf730980262377e58b13b7d9992060a0bc870ccfdb4a9319ee102818100dc431050f782e894fb5248247d"
            + "98cb7d58b8d1e24f3b55d041c56e4de086b0d5bb028bda42eeb5d234d5681e5809d415e6a289ad4cfbf78f978f6c3581"
            + "4f50eebff1c5b80a69f788e81e6bab5ddaa78369d659d143ec6f17e79813a575cfad9c569156b90113e2e9110ad9e7b4"
            + "8a1c9348a6e653321191290ea36cfb3a5b18f102818100bd1a81e7977f9898122273ae3222b598ea5fb19eb4eabc3830"
            + "8a5e32196603b2e500ffb79f5b886816611debc472fac45544070beb057c941378a6868af3b7a03d3f9880ec47d5e089"
            + "b94fbde542aba9ae8d72c57088d7abf5b131f39098f7bc160f90536abc9492fd4e06f3ed7299d4b97bb03677207d9566"
            + "9f140cfbc20f2502818100a94b528b28f291599121d91952ffd1c7f21d7c1479d99d478885fb161870ee1218bf084726"
            + "12dbe5497e8d9c650688e09c786961ae3e2c354dc48ae34514759c4c23c4588488961dc06b414e61c0e1e7fbbd2923d3"
            + "1532fe289f96da220711e58c14019808e00414276933bb07e4efb9b4a9b37656917205209f33f09515d7c10281803af0"
            + "e72a933aef09ff2503df78bafed531c02ff1a2bc437c540cdcbd4ad35435cf511763596543480629b114ca7f780ff7ef"
            + "a32ea0cb6e000d6d9ea1f2ef71fd9cf9948422a165557e37e755edfe70d90b920502eb478bc98a63f788ce3a0f856d6e"
            + "de7251a383bfa8fa480a81a925af7b3cc538c4bab8c9f7597ffb68011d8d0281802640fbfbcfefb163ee7a87b6483a66"
            + "ee41f956d90fa8a7939bfc042ee0924b1b7993d0445f758d51933e85179c0320b0c968b48a91c38b5be923e1097c0c56"
            + "2f88d42294b6a2759bafa5428a74f1270874e45f6fcc60f21602de5eccd143cf31241f5921b5ad3983fb54ef17be3b28"
            + "5367e50c999c67247b552fe4bfce945f7b"
    static let sha256Message = "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
    static let sha256Ciphertext =
        "096958786ee7972050d67a9e4b69d6c6af7db7cc674386df725770dd29129b826e39552330104c8d71e6cc3a3014dd2f"
            + "61b54153af51b0438d447ee939f9e3c13bb8b00a37dea6a068f6c9d27e848b1be7a1eeeb3ee50b78036fba95ae46948c"
            + "a5b13f356ea24db10f60dc09e4b8bad8f766b668ef72524432080a0ce00ed676d6d5e354984b1078520412525848156d"
            + "06f0652469f95791baa3d9a798ae537094f76f976faecd5c9ce0c930a75910c63dacf63485cb4b5e7bdbcf4d80e74037"
            + "eaa1a8fe4b52930bec6be99cf6ac88cf5878dbf6859d456a95dbc34654eec425de84ca2a535d517403a9aada827e7d00"
            + "93ecfc97ed056a7652825e9a45cb2dcb"

    /// Wycheproof rsa_oaep_2048_sha1_mgf1sha1_test.json: the group's key (PKCS#8 DER) and tcId 7.
    static let sha1KeyPKCS8 =
        "308204bc020100300d06092a864886f70d0101010500048204a6308204a20201000282010100bd31c7a02691d2d9587e"
            + "f6a946ff788544ccadd4b2988ad62086792a6bf96c8616b4ad13317d2270b901d0fcd1d880cb8f52fb87304a5258c11b"
            + "38dfeae8df670aeee7ea1d0d9df8e00e80847e41e5989ed402d44e78b30fef17b5671d3adbf8685e4dc204499ecd1863"
            + "e1d5aff28a7cf66eadf31fec9236c120add13451522c647c9832a672cd64d328c1c322183f4661d09bda60b8dd5f0328"
            + "da5420821424afdabb1a80c5d12763a1b0238cd89d0742bfc50b6a2fcb701d824218f9826f4f78a23a2b5aa42ace7f17"
            + "5376fb6cbdb2bad293ba583d4d31c6b8f9029e46b13689249855f505756e00e225a6a45a18769bd8d2b3a4acb9f1c23d"
            + "3e51882561e50203010001028201000747d520ca9b2dfc0335cf94301140b8102fb838c92ea99917e354e25709602dc0"
            + "cdef231ff26ad2dfabbc391e723072a4ef52929f3f1cf0216e44c0093030f8ac29096faef28933bc9b924287014e2e93"
            + "5e2145be4752ccb82cb7646271936979cab73f521eeb27855ac2a410834ae5082eb62ef6f9899ee5cbb624a8d8c04ab7"
            + "edcf78fe135d0f808f63b5de6e071779bf1d9eaaf8d3ef965486f2c52625e6e57a651c7bbd0197c99c057b3860a3260c"
            + "864a11b3cf22ba44de3a3b3f3117e64ebf9a91f626ebb3f3c26d1b0bb80753468d4bf6a997b28335f20ed8c384d75583"
            + "60a9ae9755661fa3749846b174e6bf330e52d09941f6ccd7de5004779f9bb902818100fe3d238d376a3856d9592fd496"
            + "1c17a7fb0fa39d442e9df22e7eda115c648c5cb738df89ea92d8378558d0d9c1cf3d8bff740d3743a0140a6a7523e917"
            + "6c2953b2c11d7f44691cf8bec2b34fb59c649535983319488118c03118ae7445e70df466ce98671260f05d5068ce777d"
            + "a97e2ba84779490500ceb4ff7f62ceca9a147f02818100be814af26bf3c27115bc7595d0d12a1af7713feca877ae6e6d"
            + "858825eda3d192704774f42e1ae1b67f1739e8c45a0476388070fa545b7cc96b8a44003bc8d07fde73f5bcdd18268395"
            + "dcc2842b5023ff14b352382607b7179a5ea330840fc45045d86e0acc4feb135f0ab9b7ce6b8eb5f5a575f2a2a8de299c"
            + "0d3f506df4879b02818061bb4cf4572e0cf44ddefc0503a34ef0b31142fb0c9fc2f5bb2be656302732d1dd590e8d6cd0"
            + "002fefa1c1bf43c28fcd4668ed3fa64e5e05d700aaca4ac7b867455af924d83e73f5a7171f68efce6bd7f3df4b1d5802"
            + "d069e935acb263c0bb5b8d3db3d64379624cecc12d453fd82cf9495a18649a78c1fd500e3f04715ba3af0281806649db"
            + "e920a7a8ceb982108cd9ab857527498aae52a2b86918ab6b381a4a2cbbf94794f78b4de9c5e8a59af56d807c06d23dbc"
            + "ebdca1a6f62ba4f8f03b298f32294a9036d16c2739de1cc3e0ddb4d12f2479487b57882afa246c0e297daf4d94607c5e"
            + "51b3f4715f5c57d0f26d867901209db02010d0a541284640a9b9f0636302818039ec606f5c9f1f33d964606e128e9e90"
            + "cff932772c5715aa759816d504efe2c46206f3379aa61d31f88e726b50dd80b8ce8558a0d7408525f58c3399ce32e239"
            + "d70941f12d21e7761c043e0b02220d25ffd03571c7ae5bbd59c31f48120676f9d7c370a749d8491bdfcea01662a136c8"
            + "5d349b6c710fc6f6ebf8a7a79b62adc3"
    static let sha1Message = "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
    static let sha1Ciphertext =
        "3530605f43b5539c80398f856eea8d88984af4a6a08db3b9d4093cc80d1a313c0ebe727eb2c45cec2025eee60f385822"
            + "c09f82e3bcedf66b79c2b34a4f41aa8885eca5b9891798d47914f947c76881dbfc3f21ec27a11dc926c647b6b2a7f329"
            + "2ec4aa32e969bab49afe203ffd79b0c1ab5777a041fbe4e9e1a679fe2d82e9c267ee7fbe54e9e0def68d8bbacb1e53da"
            + "99aec8ba9255d2ff6676dbcc58498a386dd8a6b3cf0222a9e14fd03313303bec9d0439ff0e8a5a09ce2926ebe86cafd0"
            + "0cd8ca761b88df9cf84f7b8e07cc5f655199ea81ea6407ec264b5971738967a2e977132dc589c72f8bb639a9429feb51"
            + "2d8d32c441f7e1ce6c6befa08140a090"
}
