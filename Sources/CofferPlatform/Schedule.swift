import CofferModel
import Foundation

/// The Windows time-zone ids a policy may name, with their standard offsets from UTC.
///
/// Azure Backup does not adjust schedules for daylight saving time, so each zone is used at its standard
/// offset all year round.
public enum PolicyTimeZones {
    /// Offsets in minutes east of UTC, by Windows time-zone id.
    public static let standardOffsets: [String: Int] = [
        "UTC": 0,
        "Coordinated Universal Time": 0,
        "GMT Standard Time": 0,
        "Greenwich Standard Time": 0,
        "W. Europe Standard Time": 60,
        "Central Europe Standard Time": 60,
        "Romance Standard Time": 60,
        "W. Central Africa Standard Time": 60,
        "E. Europe Standard Time": 120,
        "FLE Standard Time": 120,
        "South Africa Standard Time": 120,
        "Russian Standard Time": 180,
        "E. Africa Standard Time": 180,
        "Arabian Standard Time": 240,
        "Pakistan Standard Time": 300,
        "India Standard Time": 330,
        "SE Asia Standard Time": 420,
        "China Standard Time": 480,
        "Singapore Standard Time": 480,
        "Tokyo Standard Time": 540,
        "Korea Standard Time": 540,
        "AUS Eastern Standard Time": 600,
        "New Zealand Standard Time": 720,
        "UTC+12": 720,
        "UTC+13": 780,
        "UTC-02": -120,
        "UTC-08": -480,
        "UTC-09": -540,
        "UTC-11": -660,
        "E. South America Standard Time": -180,
        "Atlantic Standard Time": -240,
        "Eastern Standard Time": -300,
        "SA Pacific Standard Time": -300,
        "Central Standard Time": -360,
        "Mountain Standard Time": -420,
        "US Mountain Standard Time": -420,
        "Pacific Standard Time": -480,
        "Alaskan Standard Time": -540,
        "Hawaiian Standard Time": -600,
    ]

    /// The offset in seconds for a Windows time-zone id (case-insensitive), or nil when it is not supported.
    public static func offsetSeconds(for id: String) -> Int? {
        if let minutes = standardOffsets[id] { return minutes * 60 }
        return standardOffsets.first { $0.key.lowercased() == id.lowercased() }.map { $0.value * 60 }
    }
}

/// One scheduled backup time.
struct ScheduledOccurrence: Hashable {
    var time: Date
    /// Whether the backup is transferred to the vault: every one, except that an hourly schedule transfers
    /// only the last backup of each window.
    var transferToVault: Bool
}

/// Calendar arithmetic in a fixed-offset zone.
struct PolicyCalendar {
    let offset: Int
    let calendar: Calendar

    init(offsetSeconds: Int) {
        offset = offsetSeconds
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: offsetSeconds)!
        self.calendar = calendar
    }

    init(timeZone id: String) {
        self.init(offsetSeconds: PolicyTimeZones.offsetSeconds(for: id) ?? 0)
    }

    /// Midnight (local) of the day that holds `date`.
    func startOfDay(_ date: Date) -> Date { calendar.startOfDay(for: date) }

    func addingDays(_ days: Int, to date: Date) -> Date { calendar.date(byAdding: .day, value: days, to: date)! }

    func components(_ date: Date) -> DateComponents {
        calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute], from: date)
    }

    func weekday(_ date: Date) -> Weekday { Weekday.allCases[calendar.component(.weekday, from: date) - 1] }

    /// The occurrences of `schedule` in `(after, upTo]`, in time order.
    func occurrences(of schedule: BackupSchedule, after: Date, upTo: Date) -> [ScheduledOccurrence] {
        guard upTo > after else { return [] }
        var result: [ScheduledOccurrence] = []
        // Start a day early so that an hourly window that began yesterday is covered.
        var day = addingDays(-1, to: startOfDay(after))
        let lastDay = startOfDay(upTo)
        let timeOffset = TimeInterval(schedule.time.hour * 3600 + schedule.time.minute * 60)
        while day <= lastDay {
            switch schedule.frequency {
            case .daily:
                result.append(ScheduledOccurrence(time: day.addingTimeInterval(timeOffset), transferToVault: true))
            case .weekly:
                if schedule.weekdays.contains(weekday(day)) {
                    result.append(ScheduledOccurrence(time: day.addingTimeInterval(timeOffset), transferToVault: true))
                }
            case .hourly:
                let interval = max(1, schedule.hourInterval ?? 4), duration = max(interval, schedule.hourDuration ?? 24)
                let count = duration / interval
                for k in 0..<count {
                    let time = day.addingTimeInterval(timeOffset + TimeInterval(k * interval * 3600))
                    result.append(ScheduledOccurrence(time: time, transferToVault: k == count - 1))
                }
            }
            day = addingDays(1, to: day)
        }
        return result.filter { $0.time > after && $0.time <= upTo }.sorted { $0.time < $1.time }
    }

    /// Whether the local date of `date` is selected by a monthly or yearly rule's days or weeks.
    func matchesCalendarRule(_ date: Date, _ rule: CalendarRetention) -> Bool {
        let parts = components(date)
        guard let day = parts.day, let month = parts.month else { return false }
        if !rule.months.isEmpty && !rule.months.contains(where: { $0.number == month }) { return false }
        let daysInMonth = calendar.range(of: .day, in: .month, for: date)?.count ?? 31
        if !rule.days.isEmpty || rule.includeLastDay {
            return rule.days.contains(day) || (rule.includeLastDay && day == daysInMonth)
        }
        guard rule.weekdays.contains(weekday(date)) else { return false }
        return rule.weeks.contains { week in
            switch week {
            case .first: day <= 7
            case .second: (8...14).contains(day)
            case .third: (15...21).contains(day)
            case .fourth: (22...28).contains(day)
            case .last: day + 7 > daysInMonth
            }
        }
    }

    /// When a scheduled recovery point taken at `time` expires under `retention`: the latest end among the
    /// rules that select it (daily: every point; weekly: its weekdays; monthly and yearly: their days or
    /// weeks). Nil when no rule keeps it (it then lives only as long as its snapshot).
    func expiry(of time: Date, retention: RetentionSpec) -> Date? {
        var ends: [Date] = []
        if let daily = retention.daily {
            ends.append(calendar.date(byAdding: .day, value: daily.count, to: time)!)
        }
        if let weekly = retention.weekly, weekly.weekdays.contains(weekday(time)) {
            ends.append(calendar.date(byAdding: .day, value: 7 * weekly.count, to: time)!)
        }
        if let monthly = retention.monthly, matchesCalendarRule(time, monthly) {
            ends.append(calendar.date(byAdding: .month, value: monthly.count, to: time)!)
        }
        if let yearly = retention.yearly, matchesCalendarRule(time, yearly) {
            ends.append(calendar.date(byAdding: .year, value: yearly.count, to: time)!)
        }
        return ends.max()
    }
}
