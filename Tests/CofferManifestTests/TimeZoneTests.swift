import CofferManifest
import CofferModel
import CofferRules
import Testing

/// A policy's `timeZone` is checked against the table the platform reads (CofferRules' WindowsTimeZones).
@Suite struct TimeZoneTests {
    /// A policy of vault rsv-a in `zone`, the zone on line 7 of the document.
    static func policy(_ zone: String, name: String = "pol-c") -> String {
        """
        apiVersion: coffer.dev/v1
        kind: BackupPolicy
        metadata: {name: \(name)}
        spec:
          vault: rsv-a
          schedule: {frequency: Daily, time: "02:00"}
          timeZone: \(zone)
          retention: {daily: {count: 30}}
        """
    }

    @Test(arguments: ["Israel Standard Time", "W. Australia Standard Time", "Turkey Standard Time", "UTC"])
    func validateAcceptsWindowsIDsBeyondTheFormerHandList(_ zone: String) throws {
        let result = loadWithBase(Self.policy(zone))
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map { $0.rendered() })")
        let state = try #require(result.state)
        let address = try #require(ResourceAddress(parsing: "BackupPolicy/pol-c"))
        guard case .backupPolicy(let spec)? = state[address]?.spec else {
            Issue.record("no policy")
            return
        }
        #expect(spec.timeZone == zone)
    }

    /// Every id the platform accepts validates: the loader and the platform read one table.
    @Test func everyIDOfTheTableValidates() {
        let ids = WindowsTimeZones.ids
        let documents = ids.enumerated().map { Self.policy($0.element, name: "pol-\($0.offset)") }
        let result = loadWithBase(documents.joined(separator: "\n---\n"))
        #expect(ids.count > 100)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.prefix(3).map { $0.rendered() })")
    }

    @Test func aMisspeltZoneIsAnErrorAtTheFieldWithADidYouMean() throws {
        let result = loadWithBase(Self.policy("W. Europe Standart Time"))
        #expect(result.codes == ["invalid-value"])
        let diagnostic = try #require(result.diagnostics.first)
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.location == SourceLocation(file: "case.yaml", line: 7, column: 13))
        #expect(diagnostic.hint == "did you mean 'W. Europe Standard Time'?")
        #expect(diagnostic.rendered() == """
            case.yaml:7:13: error[invalid-value]: 'W. Europe Standart Time' is not a Windows time-zone id
              'spec.timeZone' is a Windows time-zone id such as UTC or W. Europe Standard Time, spelled as Windows spells it (case-sensitive)
             7 |   timeZone: W. Europe Standart Time
               |             ^
              = hint: did you mean 'W. Europe Standard Time'?
            """)
    }

    /// Ids are taken as Windows spells them; another case, or the tz database's name, is refused with the id.
    @Test(arguments: [
        ("utc", "did you mean 'UTC'?"),
        ("israel standard time", "did you mean 'Israel Standard Time'?"),
        ("Europe/Berlin", "did you mean 'W. Europe Standard Time'?"),
        ("Australia/Perth", "did you mean 'W. Australia Standard Time'?"),
        ("Coordinated Universal Time", "use UTC or a Windows time-zone id: see the time zones in docs/manifests.md"),
        ("Mars", "use UTC or a Windows time-zone id: see the time zones in docs/manifests.md"),
    ])
    func otherSpellingsAreRefusedWithTheID(_ zone: String, _ hint: String) throws {
        let result = loadWithBase(Self.policy(zone))
        #expect(result.codes == ["invalid-value"])
        #expect(result.diagnostics.first?.hint == hint)
    }
}
