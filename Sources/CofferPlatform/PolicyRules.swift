import CofferModel
import CofferRules

/// The service's rules for a VM backup policy (reference section 4 and the azurerm validators).
enum PolicyRules {
    /// Every problem with `spec`, as sentences; empty when the policy is valid.
    static func problems(_ spec: BackupPolicySpec) -> [String] {
        var problems: [String] = []
        let schedule = spec.schedule
        // The table the manifest checks read too; the service looks ids up in any case.
        if WindowsTimeZones.zone(ignoringCase: spec.timeZone) == nil {
            let suggestion = WindowsTimeZones.suggestion(for: spec.timeZone).map { " (did you mean '\($0)'?)" }
                ?? " (use UTC or a Windows time-zone id such as 'W. Europe Standard Time')"
            problems.append("time zone '\(spec.timeZone)' is not a Windows time-zone id" + suggestion)
        }
        if schedule.time.minute != 0 && schedule.time.minute != 30 {
            problems.append("the schedule time \(schedule.time) must be on the hour or half hour (HH:00 or HH:30)")
        }
        switch (spec.policyType, schedule.frequency) {
        case (.standard, .hourly):
            problems.append("hourly schedules need an Enhanced policy")
        default:
            break
        }
        switch schedule.frequency {
        case .hourly:
            if let interval = schedule.hourInterval, [4, 6, 8, 12].contains(interval) {
                if let duration = schedule.hourDuration {
                    if !(4...24).contains(duration) || duration % interval != 0 {
                        problems.append("the hourly window is 4 to 24 hours and a multiple of the interval (\(interval) h), not \(duration) h")
                    }
                } else {
                    problems.append("an hourly schedule needs hourDuration")
                }
            } else {
                problems.append("an hourly schedule runs every 4, 6, 8 or 12 hours")
            }
            if !schedule.weekdays.isEmpty { problems.append("weekdays apply to weekly schedules only") }
        case .daily:
            if !schedule.weekdays.isEmpty { problems.append("weekdays apply to weekly schedules only") }
            if schedule.hourInterval != nil || schedule.hourDuration != nil {
                problems.append("hourInterval and hourDuration apply to hourly schedules only")
            }
        case .weekly:
            if schedule.weekdays.isEmpty { problems.append("a weekly schedule needs at least one weekday") }
            if schedule.hourInterval != nil || schedule.hourDuration != nil {
                problems.append("hourInterval and hourDuration apply to hourly schedules only")
            }
        }
        // The limits are PolicyLimits' (CofferModel), the table the manifest checks read too.
        let days = spec.instantRestoreRetentionDays
        let instantRestore = PolicyLimits.instantRestoreDays(spec.policyType)
        let range = "\(instantRestore.lowerBound) to \(instantRestore.upperBound) days"
        switch spec.policyType {
        case .standard:
            let fixed = PolicyLimits.standardWeeklyInstantRestoreDays
            if schedule.frequency == .weekly {
                if days != fixed { problems.append("a Standard policy with a weekly schedule keeps instant-restore snapshots \(fixed) days, not \(days)") }
            } else if !instantRestore.contains(days) {
                problems.append("a Standard policy keeps instant-restore snapshots \(range), not \(days)")
            }
        case .enhanced:
            if !instantRestore.contains(days) { problems.append("an Enhanced policy keeps instant-restore snapshots \(range), not \(days)") }
        }
        let retention = spec.retention
        if let daily = retention.daily {
            if let problem = countProblem(daily.count, PolicyLimits.daily) { problems.append(problem) }
            if schedule.frequency == .weekly { problems.append("a weekly schedule cannot have daily retention") }
        } else if schedule.frequency != .weekly {
            problems.append("a \(schedule.frequency.rawValue.lowercased()) schedule needs daily retention")
        }
        if let weekly = retention.weekly {
            if let problem = countProblem(weekly.count, PolicyLimits.weekly) { problems.append(problem) }
            if weekly.weekdays.isEmpty { problems.append("weekly retention needs at least one weekday") }
            if schedule.frequency == .weekly, !Set(weekly.weekdays).isSubset(of: Set(schedule.weekdays)) {
                problems.append("weekly retention keeps only days the weekly schedule backs up")
            }
        } else if schedule.frequency == .weekly {
            problems.append("a weekly schedule needs weekly retention")
        }
        if let monthly = retention.monthly {
            if let problem = countProblem(monthly.count, PolicyLimits.monthly) { problems.append(problem) }
            if !monthly.months.isEmpty { problems.append("monthly retention takes no months") }
            problems += calendarProblems(monthly, name: "monthly", schedule: schedule)
        }
        if let yearly = retention.yearly {
            if let problem = countProblem(yearly.count, PolicyLimits.yearly) { problems.append(problem) }
            if yearly.months.isEmpty { problems.append("yearly retention needs at least one month") }
            problems += calendarProblems(yearly, name: "yearly", schedule: schedule)
        }
        return problems
    }

    /// The problem with a retention count outside its tier's limit: "weekly retention is 1 to 5163 weeks, not 6000".
    static func countProblem(_ count: Int, _ limit: RetentionLimit) -> String? {
        limit.accepts(count) ? nil : "\(limit.tier.rawValue) retention is \(limit.words), not \(count)"
    }

    static func calendarProblems(_ rule: CalendarRetention, name: String, schedule: BackupSchedule) -> [String] {
        var problems: [String] = []
        let dayBased = !rule.days.isEmpty || rule.includeLastDay
        let weekBased = !rule.weeks.isEmpty || !rule.weekdays.isEmpty
        if dayBased && weekBased {
            problems.append("\(name) retention is either by days of the month or by weeks and weekdays, not both")
        } else if !dayBased && !weekBased {
            problems.append("\(name) retention needs days of the month or weeks and weekdays")
        } else if weekBased && (rule.weeks.isEmpty || rule.weekdays.isEmpty) {
            problems.append("\(name) retention by week needs both weeks and weekdays")
        }
        if rule.days.contains(where: { !(1...31).contains($0) }) {
            problems.append("\(name) retention days are 1 to 31")
        }
        if dayBased && schedule.frequency == .weekly {
            problems.append("\(name) retention by days of the month needs a daily or hourly schedule")
        }
        if weekBased && schedule.frequency == .weekly && !Set(rule.weekdays).isSubset(of: Set(schedule.weekdays)) {
            problems.append("\(name) retention keeps only days the weekly schedule backs up")
        }
        return problems
    }
}
