@testable import CofferCrypto
import Testing

@Suite struct SecureBytesTests {
    /// Records what the deinit hook saw, from the thread that runs deinit.
    final class Observation: @unchecked Sendable {
        var storage: [UInt8]?
    }

    @Test func holdsTheBytesItWasGiven() {
        let secret = SecureBytes([1, 2, 3, 250])
        #expect(secret.count == 4)
        #expect(secret.bytes == [1, 2, 3, 250])
        #expect(secret.withUnsafeBytes { Array($0) } == [1, 2, 3, 250])

        let empty = SecureBytes([])
        #expect(empty.count == 0)
        #expect(empty.bytes.isEmpty)
        #expect(empty.withUnsafeBytes { $0.count } == 0)
    }

    @Test func storageIsCleansedBeforeItIsFreed() throws {
        let observation = Observation()
        do {
            let secret = SecureBytes([UInt8](repeating: 0xA5, count: 64))
            #expect(secret.bytes.allSatisfy { $0 == 0xA5 })
            secret.willDeallocate = { storage in observation.storage = Array(storage) }
        }
        let seen = try #require(observation.storage, "the deinit hook did not run")
        #expect(seen.count == 64)
        #expect(seen.allSatisfy { $0 == 0 }, "key bytes were left in memory that is about to be freed")
    }

    @Test func derivedKeysAreCleansedToo() throws {
        // Storage filled by OpenSSL (here HKDF) goes through the same deinit.
        let observation = Observation()
        do {
            let derived = try HKDFSHA256.deriveKey(from: SecureBytes([7, 7, 7, 7]), info: Array("test".utf8))
            #expect(derived.bytes.contains { $0 != 0 })
            derived.willDeallocate = { storage in observation.storage = Array(storage) }
        }
        let seen = try #require(observation.storage, "the deinit hook did not run")
        #expect(seen.count == 32)
        #expect(seen.allSatisfy { $0 == 0 })
    }

    @Test func randomBytesHaveTheCountAskedForAndDiffer() throws {
        let first = try SecureBytes(randomCount: 32)
        let second = try SecureBytes(randomCount: 32)
        #expect(first.count == 32)
        #expect(first != second)
        #expect(try SecureBytes(randomCount: 0).count == 0)

        let plain = try SecureRandom.bytes(4096)
        #expect(plain.count == 4096)
        // 4096 random bytes take far more than a handful of distinct values.
        #expect(Set(plain).count > 200)
        #expect(try SecureRandom.bytes(4096) != plain)
        #expect(try SecureRandom.bytes(0).isEmpty)
    }

    @Test func comparesByContent() {
        #expect(SecureBytes([1, 2, 3]) == SecureBytes([1, 2, 3]))
        #expect(SecureBytes([1, 2, 3]) != SecureBytes([1, 2, 4]))
        #expect(SecureBytes([1, 2, 3]) != SecureBytes([1, 2]))
        #expect(SecureBytes([]) == SecureBytes([]))
    }

    @Test func descriptionNeverShowsTheBytes() {
        let secret = SecureBytes([0xDE, 0xAD, 0xBE, 0xEF])
        #expect("\(secret)" == "SecureBytes(4 bytes)")
        #expect(!String(reflecting: secret).lowercased().contains("dead"))
    }
}
