public import CofferModel

/// The rules of changing and deleting a VM backup policy (reference section 4).
public enum BackupPolicyRules {
    /// What changing policy `name` from `old` to `new` breaks, in a vault whose immutability is `immutability`,
    /// with `itemsUsing` backup items under it. A policy's type is fixed (ARM has no in-place change of the
    /// schedule policy's type; azurerm forces a new policy): a change of type is a new policy.
    public static func update(
        name: String, from old: BackupPolicySpec, to new: BackupPolicySpec, vaultImmutability immutability: Immutability
    ) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        if old.policyType != new.policyType {
            violations.append(
                RuleViolation(
                    ServiceCode.policyTypeChangeNotAllowed,
                    "policy '\(name)' is \(old.policyType.rawValue) and cannot become \(new.policyType.rawValue) in place",
                    hint: "create a new \(new.policyType.rawValue) policy and move the VMs to it", field: "spec.policyType"))
        }
        if immutability != .disabled, let field = reducedRetention(from: old.retention, to: new.retention) {
            violations.append(
                RuleViolation(
                    ServiceCode.deleteBackupItemOnImmutableItem,
                    "vault '\(old.vault)' is immutable (\(immutability.rawValue)): the retention of policy '\(name)' cannot be reduced",
                    hint: "keep or extend the retention, or use a vault without immutability", field: "spec.\(field)"))
        }
        return violations
    }

    /// What deleting policy `name` breaks while the backup items `users` (VM names) use it.
    public static func delete(name: String, users: [String]) -> RuleViolation? {
        guard !users.isEmpty else { return nil }
        return RuleViolation(
            ServiceCode.policyInUse,
            "policy '\(name)' is used by backup items (\(users.sorted().joined(separator: ", "))) and cannot be deleted",
            hint: "move those items to another policy or delete their protection first")
    }

    /// Whether `new` keeps some recovery points for less time than `old` (refused on immutable vaults).
    public static func reducesRetention(from old: RetentionSpec, to new: RetentionSpec) -> Bool {
        reducedRetention(from: old, to: new) != nil
    }

    /// The first retention field (`retention.weekly.count`, ...) along which `new` keeps some recovery
    /// points for less time than `old`, or nil when it keeps every one at least as long.
    public static func reducedRetention(from old: RetentionSpec, to new: RetentionSpec) -> String? {
        func reduced(_ a: Int?, _ b: Int?) -> Bool {
            guard let a else { return false }
            guard let b else { return true }
            return b < a
        }
        if reduced(old.daily?.count, new.daily?.count) { return new.daily == nil ? "retention.daily" : "retention.daily.count" }
        if reduced(old.weekly?.count, new.weekly?.count) { return new.weekly == nil ? "retention.weekly" : "retention.weekly.count" }
        if reduced(old.monthly?.count, new.monthly?.count) { return new.monthly == nil ? "retention.monthly" : "retention.monthly.count" }
        if reduced(old.yearly?.count, new.yearly?.count) { return new.yearly == nil ? "retention.yearly" : "retention.yearly.count" }
        if let o = old.weekly, let n = new.weekly, !Set(o.weekdays).isSubset(of: Set(n.weekdays)) { return "retention.weekly.weekdays" }
        if let o = old.monthly, let n = new.monthly, o != n, !(n.count >= o.count && covers(n, o)) { return "retention.monthly" }
        if let o = old.yearly, let n = new.yearly, o != n, !(n.count >= o.count && covers(n, o)) { return "retention.yearly" }
        return nil
    }

    /// Whether every day that rule `old` selects is also selected by `new`.
    private static func covers(_ new: CalendarRetention, _ old: CalendarRetention) -> Bool {
        let months = new.months.isEmpty || Set(old.months).isSubset(of: Set(new.months))
        let days = Set(old.days).isSubset(of: Set(new.days)) && (!old.includeLastDay || new.includeLastDay)
        let weeks = Set(old.weeks).isSubset(of: Set(new.weeks)) && Set(old.weekdays).isSubset(of: Set(new.weekdays))
        return months && days && weeks
    }
}
