import Foundation

/// The naming rules of the resources the platform holds (reference section 8).
enum Naming {
    static func isGUID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.map(\.count) == [8, 4, 4, 4, 12] else { return false }
        return parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    private static func isASCIILetter(_ c: Character) -> Bool { c.isASCII && c.isLetter }
    private static func isASCIIAlphanumeric(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }

    /// Key vault: 3–24 letters, digits and hyphens; starts with a letter; ends with a letter or digit; no `--`.
    static func keyVaultNameProblem(_ name: String) -> String? {
        guard (3...24).contains(name.count) else { return "a key vault name is 3 to 24 characters" }
        guard name.allSatisfy({ isASCIIAlphanumeric($0) || $0 == "-" }) else {
            return "a key vault name holds only letters, digits and hyphens"
        }
        guard let first = name.first, isASCIILetter(first) else { return "a key vault name starts with a letter" }
        guard let last = name.last, isASCIIAlphanumeric(last) else { return "a key vault name ends with a letter or digit" }
        guard !name.contains("--") else { return "a key vault name has no consecutive hyphens" }
        return nil
    }

    /// Key vault key or secret: 1–127 letters, digits and hyphens.
    static func keyVaultObjectNameProblem(_ name: String) -> String? {
        guard (1...127).contains(name.count), name.allSatisfy({ isASCIIAlphanumeric($0) || $0 == "-" }) else {
            return "a key vault key or secret name is 1 to 127 letters, digits and hyphens"
        }
        return nil
    }

    /// Recovery Services vault: 2–50 letters, digits and hyphens, starting with a letter.
    static func vaultNameProblem(_ name: String) -> String? {
        guard (2...50).contains(name.count), let first = name.first, isASCIILetter(first),
            name.allSatisfy({ isASCIIAlphanumeric($0) || $0 == "-" })
        else { return "a Recovery Services vault name is 2 to 50 letters, digits and hyphens, starting with a letter" }
        return nil
    }

    /// Backup policy: 3–150 letters, digits, `-`, `_` and `!`, starting with a letter, not ending with a hyphen.
    static func policyNameProblem(_ name: String) -> String? {
        guard (3...150).contains(name.count), let first = name.first, isASCIILetter(first),
            name.allSatisfy({ isASCIIAlphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "!" }), name.last != "-"
        else {
            return "a backup policy name is 3 to 150 letters, digits, '-', '_' and '!', starting with a letter and not ending with '-'"
        }
        return nil
    }

    /// Resource group: 1–90 letters, digits, `_`, `-`, `.`, `(`, `)`; not ending with `.`.
    static func resourceGroupNameProblem(_ name: String) -> String? {
        guard (1...90).contains(name.count),
            name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.()".contains($0) }), name.last != "."
        else { return "a resource group name is 1 to 90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'" }
        return nil
    }

    /// Virtual machine: 1–64 characters (1–15 for Windows computer names) from letters, digits, `-`, `.`
    /// (not on Windows) and `_`; starts with a letter or digit; does not end with `-` or `.`; not all digits.
    static func vmNameProblem(_ name: String, windows: Bool) -> String? {
        let limit = windows ? 15 : 64
        guard (1...limit).contains(name.count) else {
            return "a \(windows ? "Windows" : "Linux") VM name is 1 to \(limit) characters"
        }
        let allowed: (Character) -> Bool = { isASCIIAlphanumeric($0) || $0 == "-" || $0 == "_" || (!windows && $0 == ".") }
        guard name.allSatisfy(allowed) else {
            return "a VM name holds only letters, digits, '-', '_'\(windows ? "" : " and '.'")"
        }
        guard let first = name.first, isASCIIAlphanumeric(first) else { return "a VM name starts with a letter or digit" }
        guard name.last != "-" && name.last != "." else { return "a VM name does not end with '-' or '.'" }
        guard !name.allSatisfy(\.isNumber) else { return "a VM name is not all digits" }
        return nil
    }
}
