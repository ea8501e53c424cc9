import Foundation
import Testing

import CofferPlatform
@testable import CofferCLI

@Suite struct ArgumentTests {
    @Test(arguments: [
        ("1d", 86400.0), ("36h", 129_600), ("30m", 1800), ("1d12h", 129_600), ("2w", 1_209_600), ("500ms", 0.5), ("0s", 0), ("0", 0),
    ])
    func durationsParse(text: String, seconds: Double) throws {
        let duration = try #require(DurationArgument(argument: text))
        #expect(duration.seconds == seconds)
        // Help shows a default as it was written.
        #expect(duration.defaultValueDescription == text)
    }

    @Test(arguments: ["12", "1x", "", "h", "1.2.3s", "-1s"])
    func durationsAreRefused(text: String) async {
        #expect(DurationArgument(argument: text) == nil)
    }

    @Test func datesParseAsADayOrAnInstant() async throws {
        #expect(try #require(DateArgument(argument: "2026-03-01")).date == Date(timeIntervalSince1970: 1_772_323_200))
        #expect(try #require(DateArgument(argument: "2026-03-01T12:00:00Z")).date == Date(timeIntervalSince1970: 1_772_366_400))
        #expect(try #require(DateArgument(argument: "2026-03-01T12:00:00.5Z")).date == Date(timeIntervalSince1970: 1_772_366_400.5))
        #expect(DateArgument(argument: "March 1st") == nil)
        #expect(DateArgument(argument: "2026-13-01") == nil)
    }

    @Test func disksAreTheOSDiskOrALUN() async throws {
        #expect(try #require(DiskArgument(argument: "os")).description == "os")
        #expect(try #require(DiskArgument(argument: "3")).slot == .lun(3))
        #expect(DiskArgument(argument: "data") == nil)
    }

    @Test func aBadValueIsAUsageError() async {
        #expect(throws: (any Error).self) { try CofferCommand.parseAsRoot(["platform", "clock", "--advance", "1x"]) }
        #expect(throws: (any Error).self) { try CofferCommand.parseAsRoot(["backup", "vm", "--retain-until", "tomorrow"]) }
        #expect(throws: (any Error).self) { try CofferCommand.parseAsRoot(["platform", "read", "vm", "--disk", "x", "--offset", "0", "--length", "1"]) }
    }
}
