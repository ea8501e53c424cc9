import Testing

@testable import CofferCLI

@Suite struct DurationTests {
    @Test(arguments: [
        ("1d", 86400.0), ("36h", 129_600), ("30m", 1800), ("1d12h", 129_600), ("2w", 1_209_600), ("500ms", 0.5), ("0s", 0),
    ])
    func parses(text: String, seconds: Double) {
        #expect(parseDuration(text) == seconds)
    }

    @Test(arguments: ["12", "1x", "", "h", "1.2.3s"])
    func refuses(text: String) {
        #expect(parseDuration(text) == nil)
    }
}
