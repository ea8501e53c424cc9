@testable import CofferCrypto
import CofferTestSupport
import Testing

@Suite struct XTSTests {
    /// The key of IEEE P1619-2007 Annex B vectors 10 to 14 (AES-256: Key1 || Key2).
    static let ieeeKey =
        "2718281828459045235360287471352662497757247093699959574966967627"
        + "3141592653589793238462643383279502884197169399375105820974944592"

    /// IEEE P1619-2007 Annex B, vectors 10 to 14: AES-256-XTS, 512-byte data units, the plaintext being the
    /// bytes 0x00...0xff twice, and the data unit sequence number the only thing that changes.
    static let ieeeVectors: [(name: String, sector: UInt64, ciphertext: String)] = [
        ("vector 10", 0xff,
         "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b5d31e276f8fe4a8d66b317f9ac683f44"
            + "680a86ac35adfc3345befecb4bb188fd5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
            + "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca2a3e7a7d7df7b10355165c8b9a6d0a7d"
            + "e8b062c4500dc4cd120c0f7418dae3d0b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
            + "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec583e9645e07b8d9670655ba5bbcfecc6"
            + "dc3966380ad8fecb17b6ba02469a020a84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
            + "505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae9be69a2ffeceb1bec9de244fbe15992b"
            + "11b77c040f12bd8f6a975a44a0f90c29a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
            + "6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f645e8b7e9bfdef33943054ff84011493"
            + "c27b3429eaedb4ed5376441a77ed43851ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
            + "773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151"),
        ("vector 11", 0xffff,
         "77a31251618a15e6b92d1d66dffe7b50b50bad552305ba0217a610688eff7e11e1d0225438e093242d6db274fde801d4"
            + "cae06f2092c728b2478559df58e837c2469ee4a4fa794e4bbc7f39bc026e3cb72c33b0888f25b4acf56a2a9804f1ce6d"
            + "3d6e1dc6ca181d4b546179d55544aa7760c40d06741539c7e3cd9d2f6650b2013fd0eeb8c2b8e3d8d240ccae2d4c9832"
            + "0a7442e1c8d75a42d6e6cfa4c2eca1798d158c7aecdf82490f24bb9b38e108bcda12c3faf9a21141c3613b58367f922a"
            + "aa26cd22f23d708dae699ad7cb40a8ad0b6e2784973dcb605684c08b8d6998c69aac049921871ebb65301a4619ca80ec"
            + "b485a31d744223ce8ddc2394828d6a80470c092f5ba413c3378fa6054255c6f9df4495862bbb3287681f931b687c888a"
            + "bf844dfc8fc28331e579928cd12bd2390ae123cf03818d14dedde5c0c24c8ab018bfca75ca096f2d531f3d1619e785f1"
            + "ada437cab92e980558b3dce1474afb75bfedbf8ff54cb2618e0244c9ac0d3c66fb51598cd2db11f9be39791abe447c63"
            + "094f7c453b7ff87cb5bb36b7c79efb0872d17058b83b15ab0866ad8a58656c5a7e20dbdf308b2461d97c0ec0024a2715"
            + "055249cf3b478ddd4740de654f75ca686e0d7345c69ed50cdc2a8b332b1f8824108ac937eb050585608ee734097fc090"
            + "54fbff89eeaeea791f4a7ab1f9868294a4f9e27b42af8100cb9d59cef9645803"),
        ("vector 12", 0xff_ffff,
         "e387aaa58ba483afa7e8eb469778317ecf4cf573aa9d4eac23f2cdf914e4e200a8b490e42ee646802dc6ee2b471b2781"
            + "95d60918ececb44bf79966f83faba0499298ebc699c0c8634715a320bb4f075d622e74c8c932004f25b41e361025b5a8"
            + "7815391f6108fc4afa6a05d9303c6ba68a128a55705d415985832fdeaae6c8e19110e84d1b1f199a2692119edc961326"
            + "58f09da7c623efcec712537a3d94c0bf5d7e352ec94ae5797fdb377dc1551150721adf15bd26a8efc2fcaad56881fa9e"
            + "62462c28f30ae1ceaca93c345cf243b73f542e2074a705bd2643bb9f7cc79bb6e7091ea6e232df0f9ad0d6cf50232787"
            + "6d82207abf2115cdacf6d5a48f6c1879a65b115f0f8b3cb3c59d15dd8c769bc014795a1837f3901b5845eb491adfefe0"
            + "97b1fa30a12fc1f65ba22905031539971a10f2f36c321bb51331cdefb39e3964c7ef079994f5b69b2edd83a71ef54997"
            + "1ee93f44eac3938fcdd61d01fa71799da3a8091c4c48aa9ed263ff0749df95d44fef6a0bb578ec69456aa5408ae32c7a"
            + "f08ad7ba8921287e3bbee31b767be06a0e705c864a769137df28292283ea81a2480241b44d9921cdbec1bc28dc1fda11"
            + "4bd8e5217ac9d8ebafa720e9da4f9ace231cc949e5b96fe76ffc21063fddc83a6b8679c00d35e09576a875305bed5f36"
            + "ed242c8900dd1fa965bc950dfce09b132263a1eef52dd6888c309f5a7d712826"),
        ("vector 13", 0xffff_ffff,
         "bf53d2dade78e822a4d949a9bc6766b01b06a8ef70d26748c6a7fc36d80ae4c5520f7c4ab0ac8544424fa405162fef5a"
            + "6b7f229498063618d39f0003cb5fb8d1c86b643497da1ff945c8d3bedeca4f479702a7a735f043ddb1d6aaade3c4a0ac"
            + "7ca7f3fa5279bef56f82cd7a2f38672e824814e10700300a055e1630b8f1cb0e919f5e942010a416e2bf48cb46993d3c"
            + "b6a51c19bacf864785a00bc2ecff15d350875b246ed53e68be6f55bd7e05cfc2b2ed6432198a6444b6d8c247fab941f5"
            + "69768b5c429366f1d3f00f0345b96123d56204c01c63b22ce78baf116e525ed90fdea39fa469494d3866c31e05f295ff"
            + "21fea8d4e6e13d67e47ce722e9698a1c1048d68ebcde76b86fcf976eab8aa9790268b7068e017a8b9b749409514f1053"
            + "027fd16c3786ea1bac5f15cb79711ee2abe82f5cf8b13ae73030ef5b9e4457e75d1304f988d62dd6fc4b94ed38ba831d"
            + "a4b7634971b6cd8ec325d9c61c00f1df73627ed3745a5e8489f3a95c69639c32cd6e1d537a85f75cc844726e8a72fc00"
            + "77ad22000f1d5078f6b866318c668f1ad03d5a5fced5219f2eabbd0aa5c0f460d183f04404a0d6f469558e81fab24a16"
            + "7905ab4c7878502ad3e38fdbe62a41556cec37325759533ce8f25f367c87bb5578d667ae93f9e2fd99bcbc5f2fbba88c"
            + "f6516139420fcff3b7361d86322c4bd84c82f335abb152c4a93411373aaa8220"),
        ("vector 14", 0xff_ffff_ffff,
         "64497e5a831e4a932c09be3e5393376daa599548b816031d224bbf50a818ed2350eae7e96087c8a0db51ad290bd00c1a"
            + "c1620857635bf246c176ab463be30b808da548081ac847b158e1264be25bb0910bbc92647108089415d45fab1b3d2604"
            + "e8a8eff1ae4020cfa39936b66827b23f371b92200be90251e6d73c5f86de5fd4a950781933d79a28272b782a2ec313ef"
            + "dfcc0628f43d744c2dc2ff3dcb66999b50c7ca895b0c64791eeaa5f29499fb1c026f84ce5b5c72ba1083cddb5ce45434"
            + "631665c333b60b11593fb253c5179a2c8db813782a004856a1653011e93fb6d876c18366dd8683f53412c0c180f9c848"
            + "592d593f8609ca736317d356e13e2bff3a9f59cd9aeb19cd482593d8c46128bb32423b37a9adfb482b99453fbe25a41b"
            + "f6feb4aa0bef5ed24bf73c762978025482c13115e4015aac992e5613a3b5c2f685b84795cb6e9b2656d8c88157e52c42"
            + "f978d8634c43d06fea928f2822e465aa6576e9bf419384506cc3ce3c54ac1a6f67dc66f3b30191e698380bc999b05abc"
            + "e19dc0c6dcc2dd001ec535ba18deb2df1a101023108318c75dc98611a09dc48a0acdec676fabdf222f07e026f059b672"
            + "b56e5cbc8e1d21bbd867dd927212054681d70ea737134cdfce93b6f82ae22423274e58a0821cc5502e2d0ab4585e94de"
            + "6975be5e0b4efce51cd3e70c25a1fbbbd609d273ad5b0d59631c531f6a0a57b9"),
    ]

    static let ieeePlaintext = [UInt8]((0..<512).map { UInt8($0 & 0xff) })

    @Test(arguments: 0..<ieeeVectors.count)
    func ieeeP1619WithExplicitTweak(index: Int) throws {
        let vector = Self.ieeeVectors[index]
        let expected = try hex(vector.ciphertext)
        #expect(expected.count == 512, "\(vector.name) is not 512 bytes")
        let cipher = try AES256XTS(key: SecureBytes(try hex(Self.ieeeKey)), sectorSize: .bytes512)
        let tweak = AES256XTS.tweak(sector: vector.sector)
        #expect(try cipher.encrypt(Self.ieeePlaintext, tweak: tweak) == expected, "\(vector.name)")
        #expect(try cipher.decrypt(expected, tweak: tweak) == Self.ieeePlaintext, "\(vector.name)")
    }

    /// The IEEE data unit sequence number is the plain64 sector number, so the sector API must give the same.
    @Test(arguments: 0..<ieeeVectors.count)
    func ieeeP1619AsPlain64Sectors(index: Int) throws {
        let vector = Self.ieeeVectors[index]
        let expected = try hex(vector.ciphertext)
        let cipher = try AES256XTS(key: SecureBytes(try hex(Self.ieeeKey)), sectorSize: .bytes512)
        #expect(try cipher.encryptSectors(Self.ieeePlaintext, firstSector: vector.sector) == expected)
        #expect(try cipher.decryptSectors(expected, firstSector: vector.sector) == Self.ieeePlaintext)

        var buffer = Self.ieeePlaintext
        try buffer.withUnsafeMutableBytes { try cipher.encryptSectors($0, firstSector: vector.sector) }
        #expect(buffer == expected)
        try buffer.withUnsafeMutableBytes { try cipher.decryptSectors($0, firstSector: vector.sector) }
        #expect(buffer == Self.ieeePlaintext)
    }

    /// NIST CAVP XTSGenAES256.rsp ("format tweak value input - 128 hex str"), COUNT 1, 2, 101 and 401.
    static let nistVectors: [(count: Int, key: String, tweak: String, plaintext: String, ciphertext: String)] = [
        (1,
         "1ea661c58d943a0e4801e42f4b0947149e7f9f8e3e68d0c7505210bd311a0e7c"
            + "d6e13ffdf2418d8d1911c004cda58da3d619b7e2b9141e58318eea392cf41b08",
         "adf8d92627464ad2f0428e84a9f87564",
         "2eedea52cd8215e1acc647e810bbc3642e87287f8d2e57e36c0a24fbc12a202e",
         "cbaad0e2f6cea3f50b37f934d46a9b130b9d54f07e34f36af793e86f73c6d7db"),
        (2,
         "e149be00177d76b7c1d85bcbb6b5054ee10b9f51cd73f59e0840628b9e7d854e"
            + "2e1c0ab0537186a2a7c314bbc5eb23b6876a26bcdbf9e6b758d1cae053c2f278",
         "0ea18818fab95289b1caab4e61349501",
         "f5f101d8e3a7681b1ddb21bd2826b24e32990bca49b39291b5369a9bca277d75",
         "5bf2479393cc673306fbb15e72600598e33d4d8a470727ce098730fd80afa959"),
        (101,
         "266c336b3b01489f3267f52835fd92f674374b88b4e1ebd2d36a5f457581d9d0"
            + "42c3eef7b0b7e5137b086496b4d9e6ac658d7196a23f23f036172fdb8faee527",
         "06b209a7a22f486ecbfadb0f3137ba42",
         "ca7d65ef8d3dfad345b61ccddca1ad81de830b9e86c7b426d76cb7db766852d981c6b21409399d78f42cc0b33a7bbb06",
         "c73256870cc2f4dd57acc74b5456dbd776912a128bc1f77d72cdebbf270044b7a43ceed29025e1e8be211fa3c3ed002d"),
        (401,
         "33e89e817ff8d037d6ac5a2296657503f20885d94c483e26449066bd9284d130"
            + "2dbdbb4b66b6b9f4687f13dd028eb6aa528ca91deb9c5f40db93218806033801",
         "a78c04335ab7498a52b81ed74b48e6cf",
         "14c3ac31291b075f40788247c3019e88c7b40bac3832da45bbc6c4fe7461371b4dfffb63f71c9f8edb98f28ff4f33121",
         "dead7e587519bc78c70d99279fbe3d9b1ad13cdaae69824e0ab8135413230bfdb13babe8f986fbb30d46ab5ec56b916e"),
    ]

    @Test(arguments: 0..<nistVectors.count)
    func nistXTSGenAES256(index: Int) throws {
        let vector = Self.nistVectors[index]
        let cipher = try AES256XTS(key: SecureBytes(try hex(vector.key)))
        let tweak = try hex(vector.tweak)
        #expect(try cipher.encrypt(try hex(vector.plaintext), tweak: tweak) == hex(vector.ciphertext))
        #expect(try cipher.decrypt(try hex(vector.ciphertext), tweak: tweak) == hex(vector.plaintext))
    }

    /// A 37-byte unit (two blocks and five bytes) goes through ciphertext stealing. AES-256 vector from
    /// libgcrypt's XTS test table (tests/basic.c), with the IEEE P1619 key.
    @Test func stealsCiphertextForUnitsThatAreNotWholeBlocks() throws {
        let cipher = try AES256XTS(key: SecureBytes(try hex(Self.ieeeKey)))
        let tweak = try hex("11000000000000000000000000000000")
        let plaintext = try hex("3a060a8cad115a6f44572e3759e43c8f8832fedc28a8e35b357b5cf3edbef788cad8bfcb23")
        let ciphertext = try hex("6d1c78a8bad91db2924c507ccede835f5badd157da0af55c98bbc28cf676f9fa61618fa696")
        #expect(try cipher.encrypt(plaintext, tweak: tweak) == ciphertext)
        #expect(try cipher.decrypt(ciphertext, tweak: tweak) == plaintext)
    }

    @Test func tweakIsTheSectorNumberLittleEndian() {
        #expect(AES256XTS.tweak(sector: 0) == [UInt8](repeating: 0, count: 16))
        #expect(
            AES256XTS.tweak(sector: 0x0102_0304_0506_0708)
                == [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// N sectors at once equal N single-unit calls with tweak(sector:), across the 32-bit sector boundary
    /// where `plain` and `plain64` part ways.
    @Test(arguments: AES256XTS.SectorSize.allCases)
    func sectorRunEqualsSingleUnits(size: AES256XTS.SectorSize) throws {
        let cipher = try AES256XTS(key: SecureBytes(randomCount: 64), sectorSize: size)
        let sectors = 9
        let first: UInt64 = 0xffff_fffb
        let plaintext = try SecureRandom.bytes(sectors * size.rawValue)
        let ciphertext = try cipher.encryptSectors(plaintext, firstSector: first)
        #expect(ciphertext != plaintext)
        for index in 0..<sectors {
            let range = (index * size.rawValue)..<((index + 1) * size.rawValue)
            let tweak = AES256XTS.tweak(sector: first + UInt64(index))
            #expect(try cipher.encrypt(Array(plaintext[range]), tweak: tweak) == Array(ciphertext[range]))
            #expect(try cipher.decrypt(Array(ciphertext[range]), tweak: tweak) == Array(plaintext[range]))
        }
        #expect(try cipher.decryptSectors(ciphertext, firstSector: first) == plaintext)
        // The same bytes at another sector encrypt differently.
        #expect(try cipher.encryptSectors(plaintext, firstSector: first + 1) != ciphertext)
    }

    @Test func theCipherKeepsWorkingAfterItsKeyIsFreed() throws {
        var cipher: AES256XTS?
        let expected = try hex(Self.ieeeVectors[0].ciphertext)
        do {
            let key = SecureBytes(try hex(Self.ieeeKey))
            cipher = try AES256XTS(key: key, sectorSize: .bytes512)
        }
        #expect(try cipher?.encryptSectors(Self.ieeePlaintext, firstSector: 0xff) == expected)
    }

    @Test func refusesKeysOfTheWrongLengthOrWithEqualHalves() throws {
        for count in [0, 32, 63, 65, 128] {
            let error = try #require(throws: CryptoError.self) {
                try AES256XTS(key: SecureBytes([UInt8](repeating: 7, count: count)))
            }
            #expect(error.code == .invalidKey)
        }
        let half = try SecureRandom.bytes(32)
        let error = try #require(throws: CryptoError.self) { try AES256XTS(key: SecureBytes(half + half)) }
        #expect(error.code == .invalidKey)
        #expect(error.message.contains("halves"))
    }

    @Test func refusesPartialSectorsAndSectorOverflow() throws {
        let cipher = try AES256XTS(key: SecureBytes(randomCount: 64), sectorSize: .bytes4096)
        for count in [1, 512, 4095, 4097, 8191] {
            let error = try #require(throws: CryptoError.self) {
                try cipher.encryptSectors([UInt8](repeating: 0, count: count), firstSector: 0)
            }
            #expect(error.code == .invalidInput)
            #expect(throws: CryptoError.self) {
                try cipher.decryptSectors([UInt8](repeating: 0, count: count), firstSector: 0)
            }
        }
        #expect(try cipher.encryptSectors([], firstSector: 0).isEmpty)
        #expect(try cipher.encryptSectors([UInt8](repeating: 1, count: 4096), firstSector: .max).count == 4096)
        let overflow = try #require(throws: CryptoError.self) {
            try cipher.encryptSectors([UInt8](repeating: 1, count: 8192), firstSector: .max)
        }
        #expect(overflow.code == .invalidInput)
    }

    @Test func refusesBadUnitsAndTweaks() throws {
        let cipher = try AES256XTS(key: SecureBytes(randomCount: 64))
        let shortUnit = try #require(throws: CryptoError.self) {
            try cipher.encrypt([UInt8](repeating: 0, count: 15), tweak: AES256XTS.tweak(sector: 0))
        }
        #expect(shortUnit.code == .invalidInput)
        let shortTweak = try #require(throws: CryptoError.self) {
            try cipher.encrypt([UInt8](repeating: 0, count: 16), tweak: [0, 1, 2])
        }
        #expect(shortTweak.code == .invalidInput)
    }

    /// One cipher shared by many concurrent tasks gives the same bytes as one caller alone.
    @Test func isSafeToShareAcrossConcurrentTasks() async throws {
        let cipher = try AES256XTS(key: SecureBytes(randomCount: 64), sectorSize: .bytes4096)
        let plaintext = try SecureRandom.bytes(16 * 4096)
        let expected = try cipher.encryptSectors(plaintext, firstSector: 1000)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    let ciphertext = try cipher.encryptSectors(plaintext, firstSector: 1000)
                    return try ciphertext == expected && cipher.decryptSectors(ciphertext, firstSector: 1000) == plaintext
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 32)
        #expect(results.allSatisfy { $0 })
    }

    /// Borrowing more contexts at once than the pool keeps makes fresh copies (the provider's `dupctx`) and
    /// drops the surplus on return; every copy carries the key schedule and gives the known answer.
    @Test func contextPoolCopiesAndRecyclesKeyedContexts() throws {
        let key = SecureBytes(try hex(Self.ieeeKey))
        let pool = ContextPool(template: try ProviderCipher.aes256XTS.get().keyedContext(key: key, encrypt: true))
        let expected = try hex(Self.ieeeVectors[1].ciphertext)
        var results: [[UInt8]] = []
        func borrow(depth: Int) throws {
            try pool.withContext { context in
                var data = Self.ieeePlaintext
                let failed = data.withUnsafeMutableBytes {
                    context.transformSectors($0.baseAddress!, sectors: 1, size: 512, firstSector: 0xffff)
                }
                #expect(failed == nil)
                results.append(data)
                if depth > 0 { try borrow(depth: depth - 1) }
            }
        }
        try borrow(depth: 19)
        try borrow(depth: 19)
        #expect(results.count == 40)
        #expect(results.allSatisfy { $0 == expected })
    }
}
