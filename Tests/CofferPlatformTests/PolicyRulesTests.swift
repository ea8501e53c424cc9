import CofferModel
@testable import CofferPlatform
import CofferRules
import Testing

@Suite struct PolicyRulesTests {
    static let daily = BackupPolicySpec(
        vault: "v", schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)),
        instantRestoreRetentionDays: 2, retention: ScheduleTests.referenceRetention)

    static let hourly = BackupPolicySpec(
        vault: "v", policyType: .enhanced,
        schedule: BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 24),
        instantRestoreRetentionDays: 7, retention: RetentionSpec(daily: DailyRetention(count: 30)))

    @Test func referencePoliciesAreValid() {
        #expect(PolicyRules.problems(Self.daily).isEmpty)
        #expect(PolicyRules.problems(Self.hourly).isEmpty)
    }

    @Test func instantRestoreRangesDependOnThePolicyType() {
        var spec = Self.daily
        spec.instantRestoreRetentionDays = 6
        #expect(PolicyRules.problems(spec).contains { $0.contains("1 to 5 days") })
        var enhanced = Self.hourly
        enhanced.instantRestoreRetentionDays = 30
        #expect(PolicyRules.problems(enhanced).isEmpty)
        enhanced.instantRestoreRetentionDays = 31
        #expect(PolicyRules.problems(enhanced).contains { $0.contains("1 to 30 days") })
    }

    @Test func weeklySchedulesNeedFiveDaysAndWeeklyRetentionOnly() {
        var spec = Self.daily
        spec.schedule = BackupSchedule(frequency: .weekly, time: TimeOfDay(hour: 2, minute: 0), weekdays: [.sunday])
        let problems = PolicyRules.problems(spec)
        #expect(problems.contains { $0.contains("5 days") })
        #expect(problems.contains { $0.contains("cannot have daily retention") })
        spec.instantRestoreRetentionDays = 5
        spec.retention.daily = nil
        #expect(PolicyRules.problems(spec).isEmpty)
    }

    @Test(arguments: [1, 6, 10_000])
    func dailyRetentionIsSevenTo9999(count: Int) {
        var spec = Self.daily
        spec.retention.daily = DailyRetention(count: count)
        #expect(PolicyRules.problems(spec).contains { $0.contains("7 to 9999") })
    }

    @Test func hourlyNeedsEnhancedAndAValidWindow() {
        var spec = Self.hourly
        spec.policyType = .standard
        spec.instantRestoreRetentionDays = 2
        #expect(PolicyRules.problems(spec).contains { $0.contains("Enhanced") })
        var window = Self.hourly
        window.schedule.hourDuration = 10
        #expect(PolicyRules.problems(window).contains { $0.contains("multiple of the interval") })
        window.schedule.hourInterval = 5
        #expect(PolicyRules.problems(window).contains { $0.contains("4, 6, 8 or 12") })
    }

    @Test func timesAndZones() {
        var spec = Self.daily
        spec.schedule.time = TimeOfDay(hour: 2, minute: 15)
        spec.timeZone = "Mars Standard Time"
        let problems = PolicyRules.problems(spec)
        #expect(problems.contains { $0.contains("half hour") })
        #expect(problems.contains { $0.contains("time zone") })
    }

    /// Every Windows id is accepted, in any case, not only those of a hand list; a misspelt one is refused
    /// with the id it was probably meant to be.
    @Test(arguments: ["W. Australia Standard Time", "Israel Standard Time", "Turkey Standard Time", "UTC", "turkey standard time"])
    func everyWindowsTimeZoneIsAccepted(_ zone: String) {
        var spec = Self.daily
        spec.timeZone = zone
        #expect(PolicyRules.problems(spec) == [])
    }

    @Test func aMisspeltTimeZoneIsRefusedWithTheIDItMeant() {
        var spec = Self.daily
        spec.timeZone = "W. Europe Standart Time"
        #expect(PolicyRules.problems(spec)
            == ["time zone 'W. Europe Standart Time' is not a Windows time-zone id (did you mean 'W. Europe Standard Time'?)"])
        spec.timeZone = "Coordinated Universal Time"
        #expect(PolicyRules.problems(spec).count == 1)
    }

    @Test func calendarRulesAreDaysXorWeeks() {
        var spec = Self.daily
        spec.retention.monthly = CalendarRetention(count: 12, weekdays: [.sunday], weeks: [.first], days: [1])
        #expect(PolicyRules.problems(spec).contains { $0.contains("not both") })
        spec.retention.monthly = CalendarRetention(count: 12)
        #expect(PolicyRules.problems(spec).contains { $0.contains("needs days") })
        spec.retention.monthly = nil
        spec.retention.yearly = CalendarRetention(count: 100, weekdays: [.sunday], weeks: [.first])
        let problems = PolicyRules.problems(spec)
        #expect(problems.contains { $0.contains("1 to 99 years") })
        #expect(problems.contains { $0.contains("at least one month") })
    }

    @Test func retentionReductions() {
        let old = ScheduleTests.referenceRetention
        var longer = old
        longer.daily = DailyRetention(count: 60)
        #expect(!BackupPolicyRules.reducesRetention(from: old, to: longer))
        #expect(!BackupPolicyRules.reducesRetention(from: old, to: old))
        var shorter = old
        shorter.weekly?.count = 4
        #expect(BackupPolicyRules.reducesRetention(from: old, to: shorter))
        var dropped = old
        dropped.yearly = nil
        #expect(BackupPolicyRules.reducesRetention(from: old, to: dropped))
        var fewerDays = old
        fewerDays.weekly = WeeklyRetention(count: 12, weekdays: [.monday])
        #expect(BackupPolicyRules.reducesRetention(from: old, to: fewerDays))
    }
}
