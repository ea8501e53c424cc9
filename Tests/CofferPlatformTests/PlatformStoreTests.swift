import Foundation
@testable import CofferPlatform
import CofferTestSupport
import Testing

@Suite struct PlatformStoreTests {
    @Test func flatJSONReadsWhatJSONDecoderReadsAndRefusesTheRest() throws {
        let sealed = Data((0..<77).map { UInt8(truncatingIfNeeded: $0 &* 37) })
        let records = [
            VMEncryptionRecord(type: "sse-pmk"),
            VMEncryptionRecord(type: "sse-cmk", diskEncryptionSet: "des-1"),
            VMEncryptionRecord(type: "ade", keyVault: "kv", kek: "kek-1", bekSecret: "00D3FA49", bekVersion: "f9aa", kekVersion: "39bd",
                               sealedBEK: sealed),
            VMEncryptionRecord(type: "ade", keyVault: "kv \"quoted\" \\ back/slash", aadClientID: "tab\there"),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for record in records {
            let text = String(decoding: try encoder.encode(record), as: UTF8.self)
            #expect(VMEncryptionRecord(flatJSON: text) == record, "\(text)")
            #expect(try JSONDecoder().decode(VMEncryptionRecord.self, from: Data(text.utf8)) == record)
        }
        for text in ["", "{", "{\"type\":1}", "{\"type\":null}", "{\"type\":\"ade\",\"x\":{}}", "{\"type\":\"a\\u0041\"}",
                     "{\"type\":\"ade\"} trailing", "{\"type\":\"a\",\"type\":\"b\"}", "{\"other\":\"x\"}"] {
            #expect(VMEncryptionRecord(flatJSON: text) == nil, "\(text)")
        }
        #expect(FlatJSON.stringObject(" { } ") == [:])
    }

    @Test func opensInWALModeAndPersists() throws {
        let directory = try TemporaryDirectory()
        do {
            let store = try PlatformStore(directory: directory.path("state"))
            #expect(try store.journalMode() == "wal")
            try store.setMeta("world", "reference")
        }
        let reopened = try PlatformStore(directory: directory.path("state"))
        #expect(try reopened.meta("world") == "reference")
        #expect(try reopened.meta("missing") == nil)
    }
}

@Suite struct ChangeStampTests {
    @Test func changesWithEveryCommitFromAnyConnectionAndNotWithReads() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        let first = try platform.changeStamp()
        _ = try platform.vaults()
        _ = try platform.protectedItems()
        #expect(try platform.changeStamp() == first, "reads change nothing")
        // A write of this platform object.
        try TestWorld.withVault(platform)
        let afterVault = try platform.changeStamp()
        #expect(afterVault != first)
        #expect(try platform.changeStamp() == afterVault, "stable while nothing commits")
        // A write of another opener of the same state (what another process does).
        let other = try Platform(stateDirectory: platform.stateDirectory)
        try other.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        let afterOther = try platform.changeStamp()
        #expect(afterOther != afterVault)
        // The clock, and the scheduled backups it runs.
        let report = try other.advanceClock(by: 86400)
        #expect(!report.jobs.isEmpty)
        #expect(try platform.changeStamp() != afterOther)
    }
}
