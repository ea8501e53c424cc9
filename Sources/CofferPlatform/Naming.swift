import CofferModel

/// The naming rules of the resources the platform holds (reference section 8): the limits are CofferModel's
/// `NamingRule` table, the one the manifest loader reads; the wording is the platform's own.
enum Naming {
    static func isGUID(_ text: String) -> Bool {
        NamingRule.uuid.accepts(text)
    }

    /// Key vault: 3–24 letters, digits and hyphens; starts with a letter; ends with a letter or digit; no `--`.
    static func keyVaultNameProblem(_ name: String) -> String? {
        let rule = NamingRule.keyVault
        switch rule.check(name) {
        case nil: return nil
        case .length: return "a key vault name is \(rule.minLength) to \(rule.maxLength) characters"
        case .first: return "a key vault name starts with a letter"
        case .last: return "a key vault name ends with a letter or digit"
        case .doubleHyphen: return "a key vault name has no consecutive hyphens"
        case .character, .allDigits, .format: return "a key vault name holds only letters, digits and hyphens"
        }
    }

    /// Key vault key or secret: 1–127 letters, digits and hyphens.
    static func keyVaultObjectNameProblem(_ name: String) -> String? {
        let rule = NamingRule.keyName
        guard rule.check(name) != nil else { return nil }
        return "a key vault key or secret name is \(rule.minLength) to \(rule.maxLength) letters, digits and hyphens"
    }

    /// Recovery Services vault: 2–50 letters, digits and hyphens, starting with a letter.
    static func vaultNameProblem(_ name: String) -> String? {
        let rule = NamingRule.vault
        guard rule.check(name) != nil else { return nil }
        return "a Recovery Services vault name is \(rule.minLength) to \(rule.maxLength) letters, digits and hyphens,"
            + " starting with a letter"
    }

    /// Backup policy: 3–150 letters, digits, `-`, `_` and `!`, starting with a letter, not ending with a hyphen.
    static func policyNameProblem(_ name: String) -> String? {
        let rule = NamingRule.policy
        guard rule.check(name) != nil else { return nil }
        return "a backup policy name is \(rule.minLength) to \(rule.maxLength) letters, digits, '-', '_' and '!',"
            + " starting with a letter and not ending with '-'"
    }

    /// Resource group: 1–90 letters, digits, `_`, `-`, `.`, `(`, `)`; not ending with `.`.
    static func resourceGroupNameProblem(_ name: String) -> String? {
        let rule = NamingRule.resourceGroup
        guard rule.check(name) != nil else { return nil }
        return "a resource group name is \(rule.minLength) to \(rule.maxLength) letters, digits, '_', '-', '.', '(' and ')',"
            + " not ending with '.'"
    }

    /// Disk encryption set: 1–80 characters.
    static func diskEncryptionSetNameProblem(_ name: String) -> String? {
        let rule = NamingRule.diskEncryptionSet
        guard rule.check(name) != nil else { return nil }
        return "a disk encryption set name is \(rule.minLength) to \(rule.maxLength) characters"
    }

    /// Virtual machine: 1–64 characters (1–15 for Windows computer names) from letters, digits, `-`, `.`
    /// (not on Windows) and `_`; starts with a letter or digit; does not end with `-` or `.`; not all digits.
    static func vmNameProblem(_ name: String, windows: Bool) -> String? {
        let rule = windows ? NamingRule.windowsVMName : NamingRule.vmName
        switch rule.check(name) {
        case nil: return nil
        case .length: return "a \(windows ? "Windows" : "Linux") VM name is \(rule.minLength) to \(rule.maxLength) characters"
        case .first: return "a VM name starts with a letter or digit"
        case .last: return "a VM name does not end with '-' or '.'"
        case .allDigits: return "a VM name is not all digits"
        case .character, .doubleHyphen, .format:
            return "a VM name holds only letters, digits, '-', '_'\(windows ? "" : " and '.'")"
        }
    }
}
