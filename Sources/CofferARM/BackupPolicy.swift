public import CofferModel

/// An Azure VM backup policy on the wire (`Microsoft.RecoveryServices/vaults/backupPolicies` with
/// `backupManagementType: AzureIaasVM`): Standard is the API's `V1` with a `SimpleSchedulePolicy`, Enhanced
/// is `V2` with a `SimpleSchedulePolicyV2`; retention is a `LongTermRetentionPolicy`.
public struct BackupPolicyResource: Codable, Sendable, Hashable {
    public static let type = "Microsoft.RecoveryServices/vaults/backupPolicies"
    /// The code of every policy the translation refuses, as the service answers a malformed policy.
    public static let invalidPolicyCode = "BMSUserErrorInvalidPolicyInput"

    public var id: String?
    public var name: String?
    public var type: String?
    public var properties: Properties?

    public struct Properties: Codable, Sendable, Hashable {
        public var backupManagementType: String?
        /// `V1` (Standard) or `V2` (Enhanced).
        public var policyType: String?
        public var instantRpRetentionRangeInDays: Int?
        public var timeZone: String?
        public var protectedItemsCount: Int?
        public var schedulePolicy: SchedulePolicy?
        public var retentionPolicy: RetentionPolicy?
        public var instantRPDetails: InstantRPDetails?
        public init() {}
    }

    public struct InstantRPDetails: Codable, Sendable, Hashable {
        public var azureBackupRGNamePrefix: String?
        public var azureBackupRGNameSuffix: String?
    }

    public struct SchedulePolicy: Codable, Sendable, Hashable {
        /// `SimpleSchedulePolicy` (V1) or `SimpleSchedulePolicyV2` (V2).
        public var schedulePolicyType: String?
        /// `Hourly`, `Daily`, `Weekly`.
        public var scheduleRunFrequency: String?
        /// V1: the time of day, as an ISO 8601 date-time whose time part counts.
        public var scheduleRunTimes: [String]?
        /// V1 weekly: the days.
        public var scheduleRunDays: [String]?
        public var scheduleWeeklyFrequency: Int?
        /// V2 hourly.
        public var hourlySchedule: HourlySchedule?
        /// V2 daily.
        public var dailySchedule: DailySchedule?
        /// V2 weekly.
        public var weeklySchedule: WeeklySchedule?
        public init() {}
    }

    public struct HourlySchedule: Codable, Sendable, Hashable {
        public var interval: Int?
        public var scheduleWindowStartTime: String?
        public var scheduleWindowDuration: Int?
    }

    public struct DailySchedule: Codable, Sendable, Hashable {
        public var scheduleRunTimes: [String]?
    }

    public struct WeeklySchedule: Codable, Sendable, Hashable {
        public var scheduleRunDays: [String]?
        public var scheduleRunTimes: [String]?
    }

    public struct RetentionPolicy: Codable, Sendable, Hashable {
        public var retentionPolicyType: String?
        public var dailySchedule: DailyRetention?
        public var weeklySchedule: WeeklyRetention?
        public var monthlySchedule: CalendarRetention?
        public var yearlySchedule: CalendarRetention?
        public init() {}
    }

    public struct RetentionDuration: Codable, Sendable, Hashable {
        public var count: Int?
        /// `Days`, `Weeks`, `Months`, `Years`.
        public var durationType: String?
    }

    public struct DailyRetention: Codable, Sendable, Hashable {
        public var retentionTimes: [String]?
        public var retentionDuration: RetentionDuration?
    }

    public struct WeeklyRetention: Codable, Sendable, Hashable {
        public var daysOfTheWeek: [String]?
        public var retentionTimes: [String]?
        public var retentionDuration: RetentionDuration?
    }

    public struct CalendarRetention: Codable, Sendable, Hashable {
        /// `Weekly` (weeks and weekdays) or `Daily` (days of the month).
        public var retentionScheduleFormatType: String?
        /// Yearly only.
        public var monthsOfYear: [String]?
        public var retentionScheduleDaily: DailyFormat?
        public var retentionScheduleWeekly: WeeklyFormat?
        public var retentionTimes: [String]?
        public var retentionDuration: RetentionDuration?
    }

    public struct DailyFormat: Codable, Sendable, Hashable {
        public var daysOfTheMonth: [Day]?
    }

    public struct Day: Codable, Sendable, Hashable {
        public var date: Int?
        public var isLast: Bool?
    }

    public struct WeeklyFormat: Codable, Sendable, Hashable {
        public var daysOfTheWeek: [String]?
        public var weeksOfTheMonth: [String]?
    }

    public init() {}
}

// MARK: - From a spec

extension BackupPolicyResource {
    /// The body that answers for a policy.
    public init(id: String, name: String, spec: BackupPolicySpec, protectedItems: Int) {
        self.init()
        self.id = id
        self.name = name
        self.type = Self.type
        var properties = Properties()
        properties.backupManagementType = "AzureIaasVM"
        properties.policyType = spec.policyType == .enhanced ? "V2" : "V1"
        properties.instantRpRetentionRangeInDays = spec.instantRestoreRetentionDays
        properties.timeZone = spec.timeZone
        properties.protectedItemsCount = protectedItems
        let time = Self.wireTime(spec.schedule.time)
        var schedule = SchedulePolicy()
        schedule.scheduleRunFrequency = spec.schedule.frequency.rawValue
        let weekdays = spec.schedule.weekdays.map(\.rawValue)
        switch spec.policyType {
        case .standard:
            schedule.schedulePolicyType = "SimpleSchedulePolicy"
            schedule.scheduleRunTimes = [time]
            schedule.scheduleRunDays = spec.schedule.frequency == .weekly ? weekdays : nil
            schedule.scheduleWeeklyFrequency = 0
        case .enhanced:
            schedule.schedulePolicyType = "SimpleSchedulePolicyV2"
            switch spec.schedule.frequency {
            case .hourly:
                schedule.hourlySchedule = HourlySchedule(
                    interval: spec.schedule.hourInterval, scheduleWindowStartTime: time, scheduleWindowDuration: spec.schedule.hourDuration)
            case .daily:
                schedule.dailySchedule = DailySchedule(scheduleRunTimes: [time])
            case .weekly:
                schedule.weeklySchedule = WeeklySchedule(scheduleRunDays: weekdays, scheduleRunTimes: [time])
            }
        }
        properties.schedulePolicy = schedule
        var retention = RetentionPolicy()
        retention.retentionPolicyType = "LongTermRetentionPolicy"
        retention.dailySchedule = spec.retention.daily.map {
            DailyRetention(retentionTimes: [time], retentionDuration: RetentionDuration(count: $0.count, durationType: "Days"))
        }
        retention.weeklySchedule = spec.retention.weekly.map {
            WeeklyRetention(
                daysOfTheWeek: $0.weekdays.map(\.rawValue), retentionTimes: [time],
                retentionDuration: RetentionDuration(count: $0.count, durationType: "Weeks"))
        }
        retention.monthlySchedule = spec.retention.monthly.map { Self.calendar($0, time: time, unit: "Months", yearly: false) }
        retention.yearlySchedule = spec.retention.yearly.map { Self.calendar($0, time: time, unit: "Years", yearly: true) }
        properties.retentionPolicy = retention
        self.properties = properties
    }

    static func calendar(_ rule: CofferModel.CalendarRetention, time: String, unit: String, yearly: Bool) -> CalendarRetention {
        let byDays = !rule.days.isEmpty || rule.includeLastDay
        let days = rule.days.map { Day(date: $0, isLast: false) } + (rule.includeLastDay ? [Day(date: 0, isLast: true)] : [])
        return CalendarRetention(
            retentionScheduleFormatType: byDays ? "Daily" : "Weekly",
            monthsOfYear: yearly ? rule.months.map(\.rawValue) : nil,
            retentionScheduleDaily: byDays ? DailyFormat(daysOfTheMonth: days) : nil,
            retentionScheduleWeekly: byDays ? nil : WeeklyFormat(daysOfTheWeek: rule.weekdays.map(\.rawValue), weeksOfTheMonth: rule.weeks.map(\.rawValue)),
            retentionTimes: [time],
            retentionDuration: RetentionDuration(count: rule.count, durationType: unit))
    }

    /// A time of day as the service writes it: a date-time on a fixed day, in UTC.
    static func wireTime(_ time: TimeOfDay) -> String { "2026-01-01T\(time):00Z" }
}

// MARK: - To a spec

extension BackupPolicyResource {
    /// The spec a PUT asks for, in vault `vault`. The shape is checked here (400
    /// `BMSUserErrorInvalidPolicyInput` naming the field); the service's rules on the values (ranges,
    /// frequencies, time zones) are the platform's.
    public func spec(vault: String) throws(ARMError) -> BackupPolicySpec {
        guard let properties else { throw Self.invalid("properties", "a policy needs its properties") }
        guard let management = properties.backupManagementType else {
            throw Self.invalid("properties.backupManagementType", "give AzureIaasVM")
        }
        guard management.lowercased() == "azureiaasvm" else {
            throw Self.invalid("properties.backupManagementType", "coffer serves Azure VM policies (AzureIaasVM) only, not \(management)")
        }
        guard let schedule = properties.schedulePolicy else { throw Self.invalid("properties.schedulePolicy", "a policy needs a schedule") }
        let scheduleType = schedule.schedulePolicyType?.lowercased()
        let policyType: PolicyType
        switch properties.policyType?.lowercased() {
        case "v1": policyType = .standard
        case "v2": policyType = .enhanced
        case nil: policyType = scheduleType == "simpleschedulepolicyv2" ? .enhanced : .standard
        case let other?: throw Self.invalid("properties.policyType", "'\(other)' is not one of V1, V2")
        }
        switch (policyType, scheduleType) {
        case (.standard, "simpleschedulepolicy"?), (.enhanced, "simpleschedulepolicyv2"?): break
        case (_, nil): throw Self.invalid("properties.schedulePolicy.schedulePolicyType", "give SimpleSchedulePolicy (V1) or SimpleSchedulePolicyV2 (V2)")
        default:
            throw Self.invalid(
                "properties.schedulePolicy.schedulePolicyType",
                "a \(policyType == .enhanced ? "V2" : "V1") policy takes \(policyType == .enhanced ? "SimpleSchedulePolicyV2" : "SimpleSchedulePolicy"), not \(schedule.schedulePolicyType ?? "")")
        }
        let backupSchedule = try Self.schedule(schedule, policyType: policyType)
        let retention = try Self.retention(properties.retentionPolicy)
        return BackupPolicySpec(
            vault: vault, policyType: policyType, timeZone: properties.timeZone ?? "UTC", schedule: backupSchedule,
            instantRestoreRetentionDays: properties.instantRpRetentionRangeInDays ?? (policyType == .enhanced ? 7 : 2),
            retention: retention)
    }

    static func schedule(_ schedule: SchedulePolicy, policyType: PolicyType) throws(ARMError) -> BackupSchedule {
        let field = "properties.schedulePolicy"
        guard let frequencyText = schedule.scheduleRunFrequency else {
            throw invalid("\(field).scheduleRunFrequency", "give Daily, Weekly or (V2) Hourly")
        }
        let frequency = try value(ScheduleFrequency.self, frequencyText, field: "\(field).scheduleRunFrequency")
        switch policyType {
        case .standard:
            guard frequency != .hourly else {
                throw invalid("\(field).scheduleRunFrequency", "an hourly schedule needs an Enhanced (V2) policy")
            }
            let time = try oneTime(schedule.scheduleRunTimes, field: "\(field).scheduleRunTimes")
            let days = frequency == .weekly ? try weekdays(schedule.scheduleRunDays, field: "\(field).scheduleRunDays") : []
            return BackupSchedule(frequency: frequency, time: time, weekdays: days)
        case .enhanced:
            switch frequency {
            case .hourly:
                guard let hourly = schedule.hourlySchedule else { throw invalid("\(field).hourlySchedule", "an hourly schedule needs it") }
                guard let start = hourly.scheduleWindowStartTime else {
                    throw invalid("\(field).hourlySchedule.scheduleWindowStartTime", "give the window's start")
                }
                return BackupSchedule(
                    frequency: .hourly, time: try time(start, field: "\(field).hourlySchedule.scheduleWindowStartTime"),
                    hourInterval: hourly.interval, hourDuration: hourly.scheduleWindowDuration)
            case .daily:
                let times = schedule.dailySchedule?.scheduleRunTimes ?? schedule.scheduleRunTimes
                return BackupSchedule(frequency: .daily, time: try oneTime(times, field: "\(field).dailySchedule.scheduleRunTimes"))
            case .weekly:
                let weekly = schedule.weeklySchedule
                return BackupSchedule(
                    frequency: .weekly, time: try oneTime(weekly?.scheduleRunTimes, field: "\(field).weeklySchedule.scheduleRunTimes"),
                    weekdays: try weekdays(weekly?.scheduleRunDays, field: "\(field).weeklySchedule.scheduleRunDays"))
            }
        }
    }

    static func retention(_ policy: RetentionPolicy?) throws(ARMError) -> RetentionSpec {
        let field = "properties.retentionPolicy"
        guard let policy else { throw invalid(field, "a policy needs a retention policy") }
        if let type = policy.retentionPolicyType, type.lowercased() != "longtermretentionpolicy" {
            throw invalid("\(field).retentionPolicyType", "Azure VM policies take LongTermRetentionPolicy, not \(type)")
        }
        var spec = RetentionSpec()
        if let daily = policy.dailySchedule {
            spec.daily = CofferModel.DailyRetention(count: try count(daily.retentionDuration, unit: "Days", field: "\(field).dailySchedule"))
        }
        if let weekly = policy.weeklySchedule {
            spec.weekly = CofferModel.WeeklyRetention(
                count: try count(weekly.retentionDuration, unit: "Weeks", field: "\(field).weeklySchedule"),
                weekdays: try weekdays(weekly.daysOfTheWeek, field: "\(field).weeklySchedule.daysOfTheWeek"))
        }
        if let monthly = policy.monthlySchedule {
            spec.monthly = try calendar(monthly, unit: "Months", field: "\(field).monthlySchedule", yearly: false)
        }
        if let yearly = policy.yearlySchedule {
            spec.yearly = try calendar(yearly, unit: "Years", field: "\(field).yearlySchedule", yearly: true)
        }
        return spec
    }

    static func calendar(_ rule: CalendarRetention, unit: String, field: String, yearly: Bool) throws(ARMError) -> CofferModel.CalendarRetention {
        let count = try count(rule.retentionDuration, unit: unit, field: field)
        let months = yearly ? try values(Month.self, rule.monthsOfYear ?? [], field: "\(field).monthsOfYear") : []
        let format = rule.retentionScheduleFormatType?.lowercased() ?? (rule.retentionScheduleDaily != nil ? "daily" : "weekly")
        switch format {
        case "weekly":
            guard let weekly = rule.retentionScheduleWeekly else {
                throw invalid("\(field).retentionScheduleWeekly", "a Weekly format needs the weeks and days")
            }
            return CofferModel.CalendarRetention(
                count: count, months: months, weekdays: try weekdays(weekly.daysOfTheWeek, field: "\(field).retentionScheduleWeekly.daysOfTheWeek"),
                weeks: try values(WeekOfMonth.self, weekly.weeksOfTheMonth ?? [], field: "\(field).retentionScheduleWeekly.weeksOfTheMonth"))
        case "daily":
            let days = rule.retentionScheduleDaily?.daysOfTheMonth ?? []
            guard !days.isEmpty else { throw invalid("\(field).retentionScheduleDaily.daysOfTheMonth", "a Daily format needs the days") }
            return CofferModel.CalendarRetention(
                count: count, months: months, days: days.compactMap { $0.isLast == true ? nil : $0.date },
                includeLastDay: days.contains { $0.isLast == true })
        default:
            throw invalid("\(field).retentionScheduleFormatType", "'\(rule.retentionScheduleFormatType ?? "")' is not one of Daily, Weekly")
        }
    }

    static func count(_ duration: RetentionDuration?, unit: String, field: String) throws(ARMError) -> Int {
        guard let duration, let count = duration.count else { throw invalid("\(field).retentionDuration.count", "give the count") }
        if let type = duration.durationType, type.lowercased() != unit.lowercased() {
            throw invalid("\(field).retentionDuration.durationType", "this rule counts \(unit), not \(type)")
        }
        return count
    }

    static func oneTime(_ times: [String]?, field: String) throws(ARMError) -> TimeOfDay {
        guard let times, times.count == 1 else { throw invalid(field, "give exactly one time of day") }
        return try time(times[0], field: field)
    }

    /// The time of day of an ISO 8601 date-time (`2026-01-01T02:00:00Z`, `...+00:00`, fractional seconds).
    static func time(_ text: String, field: String) throws(ARMError) -> TimeOfDay {
        guard let t = text.firstIndex(where: { $0 == "T" || $0 == "t" }), let parsed = TimeOfDay(parsing: String(text[text.index(after: t)...].prefix(5)))
        else { throw invalid(field, "'\(text.prefix(40))' is not an ISO 8601 date-time") }
        return parsed
    }

    static func weekdays(_ days: [String]?, field: String) throws(ARMError) -> [Weekday] {
        guard let days, !days.isEmpty else { throw invalid(field, "give the days of the week") }
        return try values(Weekday.self, days, field: field)
    }

    static func values<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ texts: [String], field: String) throws(ARMError) -> [T]
    where T.RawValue == String {
        var result: [T] = []
        for text in texts { result.append(try value(type, text, field: field)) }
        return result
    }

    static func value<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ text: String, field: String) throws(ARMError) -> T
    where T.RawValue == String {
        guard let match = T.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            throw invalid(field, "'\(text.prefix(40))' is not one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return match
    }

    static func invalid(_ field: String, _ detail: String) -> ARMError {
        ARMError(status: 400, code: invalidPolicyCode, message: "Invalid policy: '\(field)': \(detail).", target: field)
    }
}
