/// A naming rule of the platform (reference section 8), as a pattern the JSON Schema shares and a sentence
/// that diagnostics print.
struct NameRule: Sendable, Hashable {
    /// What the name names, for messages: "a Recovery Services vault name".
    let noun: String
    /// An anchored regular expression, valid both for Swift's `Regex` and for ECMA-262 (JSON Schema).
    let pattern: String
    let minLength: Int
    let maxLength: Int
    /// The rule in words.
    let rule: String
    /// How to fix a name that breaks the rule.
    var hint = "rename it to follow the rule"

    /// The noun without its article: "Recovery Services vault name".
    var bareNoun: String { String(noun.drop { $0 != " " }.dropFirst()) }

    /// The noun starting a sentence: "A Recovery Services vault name".
    var sentenceNoun: String { noun.prefix(1).uppercased() + noun.dropFirst() }

    static let vault = NameRule(
        noun: "a Recovery Services vault name", pattern: "^[a-zA-Z][-a-zA-Z0-9]{1,49}$", minLength: 2, maxLength: 50,
        rule: "2–50 letters, digits or hyphens, starting with a letter")
    static let policy = NameRule(
        noun: "a backup policy name", pattern: "^[a-zA-Z][-_!a-zA-Z0-9]{1,148}[_!a-zA-Z0-9]$", minLength: 3,
        maxLength: 150,
        rule: "3–150 letters, digits, hyphens, underscores or '!', starting with a letter and not ending with a hyphen")
    static let keyVault = NameRule(
        noun: "a key vault name", pattern: "^[a-zA-Z](?!.*--)[-a-zA-Z0-9]{1,22}[a-zA-Z0-9]$", minLength: 3,
        maxLength: 24,
        rule: "3–24 letters, digits or hyphens, starting with a letter, ending with a letter or digit, without '--'")
    static let keyName = NameRule(
        noun: "a key name", pattern: "^[-a-zA-Z0-9]{1,127}$", minLength: 1, maxLength: 127,
        rule: "1–127 letters, digits or hyphens")
    static let resourceGroup = NameRule(
        noun: "a resource group name", pattern: #"^[-\w.()]{0,89}[-\w()]$"#, minLength: 1, maxLength: 90,
        rule: "1–90 letters, digits, underscores, hyphens, periods or parentheses, not ending with a period")
    static let vmName = NameRule(
        noun: "a virtual machine name", pattern: "^(?![0-9]+$)[a-zA-Z0-9]([-a-zA-Z0-9._]{0,62}[a-zA-Z0-9_])?$",
        minLength: 1, maxLength: 64,
        rule: "1–64 letters, digits, hyphens, periods or underscores, starting with a letter or digit, ending with"
            + " a letter, digit or underscore, and not only digits")
    static let identifier = NameRule(
        noun: "a resource name", pattern: "^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,79}$", minLength: 1, maxLength: 80,
        rule: "1–80 letters, digits, hyphens, underscores or periods, starting with a letter or digit")
    static let subscription = NameRule(
        noun: "a subscription name or id", pattern: "^[-a-zA-Z0-9_.]{1,64}$", minLength: 1, maxLength: 64,
        rule: "the subscription's id or name: 1–64 letters, digits, hyphens, underscores or periods")
    static let uuid = NameRule(
        noun: "an object id",
        pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", minLength: 36,
        maxLength: 36, rule: "a UUID such as 00000000-0000-0000-0000-000000000000",
        hint: "give the principal's object id (a UUID), or 'name: Backup Management Service'")
    static let labelKey = NameRule(
        noun: "a label key", pattern: "^[a-zA-Z0-9]([-a-zA-Z0-9_./]{0,61}[a-zA-Z0-9])?$", minLength: 1, maxLength: 63,
        rule: "1–63 letters, digits, hyphens, underscores, periods or slashes, starting and ending with a letter or digit")
    static let tagName = NameRule(
        noun: "a tag name", pattern: #"^[^<>%&\\?/]{1,512}$"#, minLength: 1, maxLength: 512,
        rule: "1–512 characters other than < > % & \\ ? /")
}

/// Checks names against their rules, compiling each pattern once per load (`Regex` is not `Sendable`).
final class NameChecker {
    private var compiled: [String: Regex<AnyRegexOutput>] = [:]

    /// Whether `name` follows `rule`; the length is checked first, so a huge value never reaches the regex.
    func accepts(_ name: String, _ rule: NameRule) -> Bool {
        let length = name.count
        guard length >= rule.minLength, length <= rule.maxLength else { return false }
        let regex: Regex<AnyRegexOutput>
        if let cached = compiled[rule.pattern] {
            regex = cached
        } else {
            // The patterns are constants of this file; one that does not compile is a programming error.
            regex = try! Regex(rule.pattern)
            compiled[rule.pattern] = regex
        }
        return name.wholeMatch(of: regex) != nil
    }
}

/// The Azure regions coffer knows (reference section 6), by ARM name.
enum Regions {
    static let all: [String] = [
        "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast",
        "brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralindia", "centralus", "chinaeast",
        "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3", "eastasia", "eastus", "eastus2",
        "francecentral", "francesouth", "germanynorth", "germanywestcentral", "israelcentral", "italynorth",
        "japaneast", "japanwest", "koreacentral", "koreasouth", "northcentralus", "northeurope", "norwayeast",
        "norwaywest", "polandcentral", "qatarcentral", "southafricanorth", "southafricawest", "southcentralus",
        "southeastasia", "southindia", "spaincentral", "swedencentral", "swedensouth", "switzerlandnorth",
        "switzerlandwest", "uaecentral", "uaenorth", "uksouth", "ukwest", "usdodcentral", "usdodeast",
        "usgovarizona", "usgovtexas", "usgovvirginia", "westcentralus", "westeurope", "westindia", "westus",
        "westus2", "westus3",
    ]
}
