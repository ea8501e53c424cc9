// A backup policy's limits (reference sections 1 and 4), once, as values: the manifest loader, its JSON
// Schema and reference page, and the platform's policy rules all read this table, each wording the problem
// for its readers.

/// A retention tier of a backup policy.
public enum RetentionTier: String, Sendable, Hashable, CaseIterable {
    case daily, weekly, monthly, yearly
}

/// How many units of time one retention tier may keep its recovery points.
public struct RetentionLimit: Sendable, Hashable {
    /// The tier the limit is for.
    public let tier: RetentionTier
    /// The counts accepted, in `unit`s.
    public let counts: ClosedRange<Int>
    /// The unit of the count, plural: "days", "weeks", "months", "years".
    public let unit: String

    public init(tier: RetentionTier, counts: ClosedRange<Int>, unit: String) {
        self.tier = tier
        self.counts = counts
        self.unit = unit
    }

    /// Whether `count` is within the limit.
    public func accepts(_ count: Int) -> Bool { counts.contains(count) }

    /// The range in words: "1 to 5163 weeks".
    public var words: String { "\(counts.lowerBound) to \(counts.upperBound) \(unit)" }

    /// The range with an en dash: "1–5163".
    public var span: String { "\(counts.lowerBound)–\(counts.upperBound)" }
}

/// The limits of a VM backup policy, as values: retention counts per tier and instant-restore snapshot days
/// per policy type.
public enum PolicyLimits {
    /// Daily retention: 7–9999 days (the API refuses fewer than 7 on create and update).
    public static let daily = RetentionLimit(tier: .daily, counts: 7...9999, unit: "days")
    /// Weekly retention: 1–5163 weeks.
    ///
    /// The weekly, monthly and yearly upper limits (5163 weeks, 1188 months, 99 years) are the portal's; the
    /// reference marks them uncertain for VMs (Terraform accepts up to 9999 for every tier), and coffer
    /// chooses the portal's, so that what validates also applies.
    public static let weekly = RetentionLimit(tier: .weekly, counts: 1...5163, unit: "weeks")
    /// Monthly retention: 1–1188 months (the portal's limit; see `weekly`).
    public static let monthly = RetentionLimit(tier: .monthly, counts: 1...1188, unit: "months")
    /// Yearly retention: 1–99 years (the portal's limit; see `weekly`).
    public static let yearly = RetentionLimit(tier: .yearly, counts: 1...99, unit: "years")

    /// Every tier's limit, daily first.
    public static let retention: [RetentionLimit] = [daily, weekly, monthly, yearly]

    /// The limit of `tier`.
    public static func retention(_ tier: RetentionTier) -> RetentionLimit {
        switch tier {
        case .daily: daily
        case .weekly: weekly
        case .monthly: monthly
        case .yearly: yearly
        }
    }

    /// The days a policy of `type` may keep instant-restore snapshots: Standard 1–5, Enhanced 1–30.
    public static func instantRestoreDays(_ type: PolicyType) -> ClosedRange<Int> {
        switch type {
        case .standard: 1...5
        case .enhanced: 1...30
        }
    }

    /// The instant-restore days a Standard policy with a weekly schedule must keep: exactly 5.
    public static let standardWeeklyInstantRestoreDays = 5

    /// The instant-restore days some policy type accepts: the union of the ranges, 1–30.
    public static var instantRestoreDaysAnyType: ClosedRange<Int> {
        let ranges = PolicyType.allCases.map(instantRestoreDays)
        return ranges.map(\.lowerBound).min()!...ranges.map(\.upperBound).max()!
    }
}
