@testable import CofferRules
import Foundation
import Testing

@Suite struct WindowsTimeZonesTests {
    @Test func theTableHoldsEveryWindowsIDNotAHandList() {
        let ids = WindowsTimeZones.ids
        #expect(ids.count > 120)
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        for id in ["UTC", "W. Europe Standard Time", "W. Australia Standard Time", "Israel Standard Time", "Turkey Standard Time"] {
            #expect(WindowsTimeZones.contains(id), "\(id)")
        }
    }

    /// Every id the platform's former hand table accepted is still accepted (except its one display name,
    /// "Coordinated Universal Time", which is not an id).
    @Test(arguments: [
        "UTC", "GMT Standard Time", "Greenwich Standard Time", "W. Europe Standard Time", "Central Europe Standard Time",
        "Romance Standard Time", "W. Central Africa Standard Time", "E. Europe Standard Time", "FLE Standard Time",
        "South Africa Standard Time", "Russian Standard Time", "E. Africa Standard Time", "Arabian Standard Time",
        "Pakistan Standard Time", "India Standard Time", "SE Asia Standard Time", "China Standard Time",
        "Singapore Standard Time", "Tokyo Standard Time", "Korea Standard Time", "AUS Eastern Standard Time",
        "New Zealand Standard Time", "UTC+12", "UTC+13", "UTC-02", "UTC-08", "UTC-09", "UTC-11",
        "E. South America Standard Time", "Atlantic Standard Time", "Eastern Standard Time", "SA Pacific Standard Time",
        "Central Standard Time", "Mountain Standard Time", "US Mountain Standard Time", "Pacific Standard Time",
        "Alaskan Standard Time", "Hawaiian Standard Time",
    ])
    func formerIDsAreKept(_ id: String) {
        #expect(WindowsTimeZones.contains(id))
    }

    @Test func everyIDMapsToAZoneWithAnOffset() throws {
        // None of the ids CLDR knows was left out for want of a zone in the tz database.
        #expect(Set(WindowsTimeZones.table.windowsIDByZone.values) == Set(WindowsTimeZones.ids))
        for zone in WindowsTimeZones.all {
            #expect(TimeZone(identifier: zone.ianaIdentifier) != nil, "\(zone.id) → \(zone.ianaIdentifier)")
            #expect((-12 * 3600...14 * 3600).contains(zone.standardOffsetSeconds), "\(zone.id)")
            #expect(zone.standardOffsetSeconds % (15 * 60) == 0, "\(zone.id)")
            #expect(WindowsTimeZones.zone(id: zone.id) == zone)
        }
    }

    @Test(arguments: [
        ("UTC", "Etc/UTC", "+00:00"),
        ("W. Europe Standard Time", "Europe/Berlin", "+01:00"),
        ("W. Australia Standard Time", "Australia/Perth", "+08:00"),
        ("India Standard Time", "Asia/Calcutta", "+05:30"),
        ("Nepal Standard Time", "Asia/Katmandu", "+05:45"),
        ("Israel Standard Time", "Asia/Jerusalem", "+02:00"),
        ("Turkey Standard Time", "Europe/Istanbul", "+03:00"),
        ("Pacific Standard Time", "America/Los_Angeles", "-08:00"),
        ("Newfoundland Standard Time", "America/St_Johns", "-03:30"),
    ])
    func knownOffsets(_ id: String, _ iana: String, _ offset: String) throws {
        let zone = try #require(WindowsTimeZones.zone(id: id))
        #expect(zone.standardOffsetText == offset)
        // CLDR keeps some zones' older tz names (Asia/Calcutta, not Asia/Kolkata), which the tz database keeps as links.
        #expect(zone.ianaIdentifier == iana)
    }

    @Test func idsAreCaseSensitiveButFoundInAnyCase() throws {
        #expect(!WindowsTimeZones.contains("india standard time"))
        #expect(WindowsTimeZones.zone(id: "india standard time") == nil)
        let zone = try #require(WindowsTimeZones.zone(ignoringCase: "india standard time"))
        #expect(zone.id == "India Standard Time")
        #expect(zone.standardOffsetSeconds == 19800)
        #expect(WindowsTimeZones.zone(ignoringCase: "Mars Standard Time") == nil)
    }

    @Test(arguments: [
        ("W. Europe Standart Time", "W. Europe Standard Time"),
        ("W Europe Standard Time", "W. Europe Standard Time"),
        ("utc", "UTC"),
        ("Israel standard time", "Israel Standard Time"),
        ("Europe/Berlin", "W. Europe Standard Time"),
        ("Australia/Perth", "W. Australia Standard Time"),
        ("Etc/UTC", "UTC"),
    ])
    func didYouMean(_ text: String, _ expected: String) {
        #expect(WindowsTimeZones.suggestion(for: text) == expected)
    }

    @Test func noSuggestionForAnIDOrForNonsense() {
        #expect(WindowsTimeZones.suggestion(for: "UTC") == nil)
        #expect(WindowsTimeZones.suggestion(for: "Atlantis") == nil)
        #expect(WindowsTimeZones.suggestion(for: "") == nil)
    }

    @Test func offsetsAreWrittenAsWindowsWritesThem() {
        #expect(WindowsTimeZone(id: "x", ianaIdentifier: "x", standardOffsetSeconds: -34200).standardOffsetText == "-09:30")
        #expect(WindowsTimeZone(id: "x", ianaIdentifier: "x", standardOffsetSeconds: 45900).standardOffsetText == "+12:45")
        #expect(!WindowsTimeZones.dataVersion.isEmpty)
    }
}
