public import CofferModel

/// A backup policy the service creates in every new Recovery Services vault, with the vault: its name and
/// its spec. The platform creates it; the manifests may name it without declaring it; the plan knows it
/// in a vault the plan creates.
public struct DefaultPolicy: Sendable, Hashable {
    /// The policy's name in every vault.
    public let name: String
    /// The spec, its `vault` left empty: `spec(in:)` fills it in.
    private let template: BackupPolicySpec

    init(name: String, template: BackupPolicySpec) {
        self.name = name
        self.template = template
    }

    /// The policy's spec in vault `vault`.
    public func spec(in vault: String) -> BackupPolicySpec {
        var spec = template
        spec.vault = vault
        return spec
    }
}

/// The default policies of a new vault (reference section 4.1, "Portal defaults"), once, as values: the
/// platform, the manifest checks and the plan read them here. Where the values come from, and where the
/// sources disagree, is said in CofferPlatform's README ("Default policies").
public enum DefaultPolicies {
    /// `DefaultPolicy`: Standard (V1), daily at 00:00 UTC, 2 days of instant-restore snapshots, daily
    /// recovery points kept 30 days.
    public static let standard = DefaultPolicy(
        name: "DefaultPolicy",
        template: BackupPolicySpec(
            vault: "", policyType: .standard, timeZone: "UTC",
            schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 0, minute: 0)),
            instantRestoreRetentionDays: 2, retention: RetentionSpec(daily: DailyRetention(count: 30))))

    /// `EnhancedPolicy`: Enhanced (V2), every 4 hours from 08:00 UTC in a 24-hour window, 7 days of
    /// instant-restore snapshots, daily recovery points kept 180 days.
    public static let enhanced = DefaultPolicy(
        name: "EnhancedPolicy",
        template: BackupPolicySpec(
            vault: "", policyType: .enhanced, timeZone: "UTC",
            schedule: BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 24),
            instantRestoreRetentionDays: 7, retention: RetentionSpec(daily: DailyRetention(count: 180))))

    /// Both, in the order the service lists them.
    public static let all = [standard, enhanced]

    /// Their names, exactly as the service writes them.
    public static var names: [String] { all.map(\.name) }

    /// The default policy named `name`, compared case-insensitively as the service compares policy names;
    /// nil for any other name.
    public static func named(_ name: String) -> DefaultPolicy? {
        let lowered = name.lowercased()
        return all.first { $0.name.lowercased() == lowered }
    }

    /// The default policy named exactly `name` (as a manifest must write it to refer to it undeclared).
    public static func namedExactly(_ name: String) -> DefaultPolicy? {
        all.first { $0.name == name }
    }
}
