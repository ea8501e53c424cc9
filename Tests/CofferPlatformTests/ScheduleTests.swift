import CofferModel
import Foundation
@testable import CofferPlatform
import Testing

/// Times from ISO 8601 strings.
func dates(_ texts: String...) -> [Date] {
    texts.map { Fixtures.date($0) }
}

@Suite struct ScheduleTests {
    let utc = PolicyCalendar(timeZone: "UTC")

    @Test func dailyOccurrencesAreAtTheTimeOfDay() {
        let schedule = BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0))
        let found = utc.occurrences(of: schedule, after: Fixtures.date("2026-01-05T00:00:00Z"),
                                    upTo: Fixtures.date("2026-01-08T02:00:00Z"))
        #expect(found.map(\.time) == dates("2026-01-05T02:00:00Z", "2026-01-06T02:00:00Z", "2026-01-07T02:00:00Z",
                                      "2026-01-08T02:00:00Z"))
        #expect(found.allSatisfy { $0.transferToVault })
    }

    @Test func fixedOffsetZonesShiftTheSchedule() {
        let tokyo = PolicyCalendar(timeZone: "Tokyo Standard Time")
        let schedule = BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 30))
        let found = tokyo.occurrences(of: schedule, after: Fixtures.date("2026-01-05T00:00:00Z"),
                                      upTo: Fixtures.date("2026-01-06T00:00:00Z"))
        #expect(found.map(\.time) == [Fixtures.date("2026-01-05T17:30:00Z")])
    }

    /// Zones are at their standard offset from the shared table (WindowsTimeZones), looked up in any case.
    @Test func zonesAreAtTheirStandardOffset() {
        #expect(PolicyCalendar(timeZone: "india standard time").offset == 19800)
        #expect(PolicyCalendar(timeZone: "Nepal Standard Time").offset == 20700)
        #expect(PolicyCalendar(timeZone: "W. Australia Standard Time").offset == 8 * 3600)
        #expect(PolicyCalendar(timeZone: "Pacific Standard Time").offset == -8 * 3600)
        // Refused by the policy rules before any schedule runs; UTC if one is ever read.
        #expect(PolicyCalendar(timeZone: "Mars Standard Time").offset == 0)
        // Standard offsets all year: a July 02:00 in Pacific Standard Time is 10:00 UTC, not 09:00.
        let pacific = PolicyCalendar(timeZone: "Pacific Standard Time")
        let schedule = BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0))
        #expect(pacific.occurrences(of: schedule, after: Fixtures.date("2026-07-01T00:00:00Z"),
                                    upTo: Fixtures.date("2026-07-02T00:00:00Z")).map(\.time) == dates("2026-07-01T10:00:00Z"))
    }

    @Test func weeklyOccurrencesAreOnTheWeekdays() {
        let schedule = BackupSchedule(frequency: .weekly, time: TimeOfDay(hour: 23, minute: 0), weekdays: [.sunday, .wednesday])
        let found = utc.occurrences(of: schedule, after: Fixtures.date("2026-01-05T00:00:00Z"),  // a Monday
                                    upTo: Fixtures.date("2026-01-19T00:00:00Z"))
        #expect(found.map(\.time) == dates("2026-01-07T23:00:00Z", "2026-01-11T23:00:00Z", "2026-01-14T23:00:00Z",
                                      "2026-01-18T23:00:00Z"))
    }

    @Test func hourlyWindowsTransferOnlyTheirLastBackup() {
        let schedule = BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 24)
        let found = utc.occurrences(of: schedule, after: Fixtures.date("2026-01-05T07:00:00Z"),
                                    upTo: Fixtures.date("2026-01-06T07:00:00Z"))
        #expect(found.map(\.time) == dates("2026-01-05T08:00:00Z", "2026-01-05T12:00:00Z", "2026-01-05T16:00:00Z",
                                      "2026-01-05T20:00:00Z", "2026-01-06T00:00:00Z", "2026-01-06T04:00:00Z"))
        #expect(found.map(\.transferToVault) == [false, false, false, false, false, true])
        let short = BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 6, hourDuration: 12)
        #expect(utc.occurrences(of: short, after: Fixtures.date("2026-01-05T00:00:00Z"),
                                upTo: Fixtures.date("2026-01-06T00:00:00Z")).map(\.time)
                == dates("2026-01-05T08:00:00Z", "2026-01-05T14:00:00Z"))
    }

    static let referenceRetention = RetentionSpec(
        daily: DailyRetention(count: 30), weekly: WeeklyRetention(count: 12, weekdays: [.sunday]),
        monthly: CalendarRetention(count: 12, weekdays: [.sunday], weeks: [.first]),
        yearly: CalendarRetention(count: 3, months: [.january], weekdays: [.sunday], weeks: [.first]))

    @Test func retentionTakesTheLongestRuleThatSelectsThePoint() {
        let retention = Self.referenceRetention
        // A Tuesday: daily only.
        #expect(utc.expiry(of: Fixtures.date("2026-01-06T02:00:00Z"), retention: retention) == Fixtures.date("2026-02-05T02:00:00Z"))
        // The second Sunday of January: weekly.
        #expect(utc.expiry(of: Fixtures.date("2026-01-11T02:00:00Z"), retention: retention) == Fixtures.date("2026-04-05T02:00:00Z"))
        // The first Sunday of February: monthly.
        #expect(utc.expiry(of: Fixtures.date("2026-02-01T02:00:00Z"), retention: retention) == Fixtures.date("2027-02-01T02:00:00Z"))
        // The first Sunday of January: yearly.
        #expect(utc.expiry(of: Fixtures.date("2026-01-04T02:00:00Z"), retention: retention) == Fixtures.date("2029-01-04T02:00:00Z"))
    }

    @Test func dayBasedAndLastWeekRules() {
        let lastDay = RetentionSpec(daily: DailyRetention(count: 7), monthly: CalendarRetention(count: 2, days: [15], includeLastDay: true))
        #expect(utc.expiry(of: Fixtures.date("2026-02-28T00:00:00Z"), retention: lastDay) == Fixtures.date("2026-04-28T00:00:00Z"))
        #expect(utc.expiry(of: Fixtures.date("2026-02-15T00:00:00Z"), retention: lastDay) == Fixtures.date("2026-04-15T00:00:00Z"))
        #expect(utc.expiry(of: Fixtures.date("2026-02-14T00:00:00Z"), retention: lastDay) == Fixtures.date("2026-02-21T00:00:00Z"))
        let lastFriday = RetentionSpec(monthly: CalendarRetention(count: 1, weekdays: [.friday], weeks: [.last]))
        #expect(utc.expiry(of: Fixtures.date("2026-01-30T00:00:00Z"), retention: lastFriday) != nil)
        #expect(utc.expiry(of: Fixtures.date("2026-01-23T00:00:00Z"), retention: lastFriday) == nil)
    }

}
