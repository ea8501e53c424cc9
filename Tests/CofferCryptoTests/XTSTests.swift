import CofferCrypto
import CofferTestSupport
import Testing

@Suite struct XTSTests {
    /// IEEE P1619-2007 Annex B, vector 10: AES-256-XTS, data unit sequence number 0xff, 512-byte data unit.
    /// The plaintext is the bytes 0x00...0xff twice.
    @Test func ieeeP1619Vector10() throws {
        let key = try hex(
            "2718281828459045235360287471352662497757247093699959574966967627"
                + "3141592653589793238462643383279502884197169399375105820974944592")
        let plaintext = [UInt8]((0..<512).map { UInt8($0 & 0xff) })
        let cipher = try AES256XTS(key: key, sectorSize: .bytes512)
        let ciphertext = try cipher.encrypt(plaintext, tweak: AES256XTS.tweak(sector: 0xff))
        let expected = try hex(
            "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b5d31e276f8fe4a8d66b317f9ac683f44" +
            "680a86ac35adfc3345befecb4bb188fd5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0" +
            "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca2a3e7a7d7df7b10355165c8b9a6d0a7d" +
            "e8b062c4500dc4cd120c0f7418dae3d0b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f" +
            "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec583e9645e07b8d9670655ba5bbcfecc6" +
            "dc3966380ad8fecb17b6ba02469a020a84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1" +
            "505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae9be69a2ffeceb1bec9de244fbe15992b" +
            "11b77c040f12bd8f6a975a44a0f90c29a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac" +
            "6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f645e8b7e9bfdef33943054ff84011493" +
            "c27b3429eaedb4ed5376441a77ed43851ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa" +
            "773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151")
        #expect(ciphertext == expected)
        #expect(try cipher.decrypt(ciphertext, tweak: AES256XTS.tweak(sector: 0xff)) == plaintext)
    }

    @Test func refusesEqualHalvesAndWrongLength() {
        #expect(throws: CryptoError.self) { try AES256XTS(key: [UInt8](repeating: 7, count: 64)) }
        #expect(throws: CryptoError.self) { try AES256XTS(key: [UInt8](repeating: 7, count: 32)) }
    }
}
