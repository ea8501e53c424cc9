import CofferModel
import CofferRules
import Foundation

/// One scheduled backup time.
struct ScheduledOccurrence: Hashable {
    var time: Date
    /// Whether the backup is transferred to the vault: every one, except that an hourly schedule transfers
    /// only the last backup of each window.
    var transferToVault: Bool
}

/// Calendar arithmetic in a fixed-offset zone.
///
/// A policy's schedule and retention use its time zone at the zone's standard offset all year: Azure Backup does
/// not adjust schedules for daylight saving time.
struct PolicyCalendar {
    let offset: Int
    let calendar: Calendar

    init(offsetSeconds: Int) {
        offset = offsetSeconds
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: offsetSeconds)!
        self.calendar = calendar
    }

    /// The calendar of a Windows time-zone id in any case (as the service looks ids up), at its standard offset;
    /// UTC for an id that is not one, which the policy rules refuse before any schedule runs.
    init(timeZone id: String) {
        self.init(offsetSeconds: WindowsTimeZones.zone(ignoringCase: id)?.standardOffsetSeconds ?? 0)
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
