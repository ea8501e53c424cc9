import CofferPlatform
import CofferTestSupport
import Testing

@Suite struct PlatformStoreTests {
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
