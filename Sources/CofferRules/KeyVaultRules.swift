public import CofferModel

/// The changes Key Vault's management plane accepts to a key vault's settings (reference section 3 and Key
/// Vault's soft-delete documentation): soft delete and purge protection are one-way, purge protection needs
/// soft delete, and the retention is 7 to 90 days, fixed once soft delete is on.
public enum KeyVaultRules {
    /// Days a deleted key vault object stays recoverable.
    public static let softDeleteRetentionDays = 7...90

    /// What changing a key vault's settings from `old` to `new` breaks. Key Vault answers each with the
    /// generic `BadRequest` code.
    public static func update(name: String, from old: KeyVaultSettings, to new: KeyVaultSettings) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        if old.softDelete && !new.softDelete {
            violations.append(
                RuleViolation(
                    ServiceCode.keyVaultBadRequest,
                    "The property \"enableSoftDelete\" cannot be set to false: soft delete of key vault '\(name)' is on, which is irreversible",
                    hint: "leave enableSoftDelete true (or out of the request)", field: "properties.enableSoftDelete"))
        }
        if old.purgeProtection && !new.purgeProtection {
            violations.append(
                RuleViolation(
                    ServiceCode.keyVaultBadRequest,
                    "The property \"enablePurgeProtection\" cannot be set to false: enabling purge protection of key vault '\(name)' is irreversible",
                    hint: "leave enablePurgeProtection true (or out of the request)", field: "properties.enablePurgeProtection"))
        }
        if new.purgeProtection && !new.softDelete {
            violations.append(
                RuleViolation(
                    ServiceCode.keyVaultBadRequest, "purge protection of key vault '\(name)' needs soft delete",
                    hint: "set enableSoftDelete true with enablePurgeProtection", field: "properties.enablePurgeProtection"))
        }
        if !softDeleteRetentionDays.contains(new.softDeleteRetentionDays) {
            violations.append(
                RuleViolation(
                    ServiceCode.keyVaultBadRequest,
                    "softDeleteRetentionInDays is 7 to 90 days, not \(new.softDeleteRetentionDays)",
                    field: "properties.softDeleteRetentionInDays"))
        } else if old.softDelete && new.softDeleteRetentionDays != old.softDeleteRetentionDays {
            violations.append(
                RuleViolation(
                    ServiceCode.keyVaultBadRequest,
                    "the soft-delete retention of key vault '\(name)' is \(old.softDeleteRetentionDays) days and cannot change once soft delete is on (asked: \(new.softDeleteRetentionDays))",
                    hint: "keep softDeleteRetentionInDays \(old.softDeleteRetentionDays)", field: "properties.softDeleteRetentionInDays"))
        }
        return violations
    }
}
