/// A set of characters a name may use, printable as a regular-expression class.
struct CharacterClass: Sendable, Hashable {
    /// ASCII letters a–z and A–Z.
    var letters = false
    var digits = false
    /// Unicode word characters (`\w`): letters, decimal digits and connector punctuation such as `_`.
    var word = false
    /// Further ASCII characters, taken literally.
    var extra = ""
    /// The class is every character but those above.
    var negated = false

    static func of(letters: Bool = false, digits: Bool = false, word: Bool = false, _ extra: String = "") -> Self {
        CharacterClass(letters: letters, digits: digits, word: word, extra: extra)
    }

    static func none(of extra: String) -> Self {
        CharacterClass(extra: extra, negated: true)
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        var member = extra.unicodeScalars.contains(scalar)
        if !member, letters { member = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) }
        if !member, digits { member = ("0"..."9").contains(scalar) }
        if !member, word {
            let properties = scalar.properties
            switch properties.generalCategory {
            case .decimalNumber, .connectorPunctuation: member = true
            default: member = properties.isAlphabetic
            }
        }
        return member != negated
    }

    /// The class in the syntax both Swift's `Regex` and ECMA-262 read: `[-a-zA-Z0-9]`.
    var pattern: String {
        var out = "["
        if negated { out += "^" }
        if extra.contains("-") { out += "-" }
        if letters { out += "a-zA-Z" }
        if digits { out += "0-9" }
        if word { out += "\\w" }
        for character in extra where character != "-" {
            out += "\\]^[".contains(character) ? "\\" + String(character) : String(character)
        }
        return out + "]"
    }
}

/// A naming rule of the platform (reference section 8): the loader checks names with `accepts`, and the JSON
/// Schema prints the same rule as `pattern`, both derived from one description.
struct NameRule: Sendable, Hashable {
    enum Form: Sendable, Hashable {
        /// A first character, middle characters and a last character from these classes.
        case characters(first: CharacterClass, middle: CharacterClass, last: CharacterClass, noDoubleHyphen: Bool, notAllDigits: Bool)
        /// A UUID, hexadecimal in either case.
        case uuid
        /// The ARM id of a virtual machine, segment names compared case-insensitively as ARM does.
        case vmID
    }

    /// What the name names, for messages: "a Recovery Services vault name".
    let noun: String
    let form: Form
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

    private static func characters(
        first: CharacterClass, middle: CharacterClass? = nil, last: CharacterClass? = nil, noDoubleHyphen: Bool = false,
        notAllDigits: Bool = false
    ) -> Form {
        .characters(first: first, middle: middle ?? first, last: last ?? middle ?? first, noDoubleHyphen: noDoubleHyphen, notAllDigits: notAllDigits)
    }

    static let vault = NameRule(
        noun: "a Recovery Services vault name",
        form: characters(first: .of(letters: true), middle: .of(letters: true, digits: true, "-")), minLength: 2,
        maxLength: 50, rule: "2–50 letters, digits or hyphens, starting with a letter")
    static let policy = NameRule(
        noun: "a backup policy name",
        form: characters(
            first: .of(letters: true), middle: .of(letters: true, digits: true, "-_!"), last: .of(letters: true, digits: true, "_!")),
        minLength: 3, maxLength: 150,
        rule: "3–150 letters, digits, hyphens, underscores or '!', starting with a letter and not ending with a hyphen")
    static let keyVault = NameRule(
        noun: "a key vault name",
        form: characters(
            first: .of(letters: true), middle: .of(letters: true, digits: true, "-"), last: .of(letters: true, digits: true),
            noDoubleHyphen: true),
        minLength: 3, maxLength: 24,
        rule: "3–24 letters, digits or hyphens, starting with a letter, ending with a letter or digit, without '--'")
    static let keyName = NameRule(
        noun: "a key name", form: characters(first: .of(letters: true, digits: true, "-")), minLength: 1, maxLength: 127,
        rule: "1–127 letters, digits or hyphens")
    static let resourceGroup = NameRule(
        noun: "a resource group name",
        form: characters(first: .of(word: true, "-.()"), last: .of(word: true, "-()")), minLength: 1, maxLength: 90,
        rule: "1–90 letters, digits, underscores, hyphens, periods or parentheses, not ending with a period")
    static let vmName = NameRule(
        noun: "a virtual machine name",
        form: characters(
            first: .of(letters: true, digits: true), middle: .of(letters: true, digits: true, "-._"),
            last: .of(letters: true, digits: true, "_"), notAllDigits: true),
        minLength: 1, maxLength: 64,
        rule: "1–64 letters, digits, hyphens, periods or underscores, starting with a letter or digit, ending with"
            + " a letter, digit or underscore, and not only digits")
    static let identifier = NameRule(
        noun: "a resource name",
        form: characters(first: .of(letters: true, digits: true), middle: .of(letters: true, digits: true, "-_.")),
        minLength: 1, maxLength: 80,
        rule: "1–80 letters, digits, hyphens, underscores or periods, starting with a letter or digit")
    static let subscription = NameRule(
        noun: "a subscription name or id", form: characters(first: .of(letters: true, digits: true, "-_.")), minLength: 1,
        maxLength: 64, rule: "the subscription's id or name: 1–64 letters, digits, hyphens, underscores or periods")
    static let uuid = NameRule(
        noun: "an object id", form: .uuid, minLength: 36, maxLength: 36,
        rule: "a UUID such as 00000000-0000-0000-0000-000000000000",
        hint: "give the principal's object id (a UUID), or 'name: Backup Management Service'")
    static let labelKey = NameRule(
        noun: "a label key",
        form: characters(
            first: .of(letters: true, digits: true), middle: .of(letters: true, digits: true, "-_./"),
            last: .of(letters: true, digits: true)),
        minLength: 1, maxLength: 63,
        rule: "1–63 letters, digits, hyphens, underscores, periods or slashes, starting and ending with a letter or digit")
    static let tagName = NameRule(
        noun: "a tag name", form: characters(first: .none(of: "<>%&\\?/")), minLength: 1, maxLength: 512,
        rule: "1–512 characters other than < > % & \\ ? /")
    static let vmID = NameRule(
        noun: "a virtual machine id", form: .vmID, minLength: 1, maxLength: 1024,
        rule: "/subscriptions/SUBSCRIPTION/resourceGroups/GROUP/providers/Microsoft.Compute/virtualMachines/NAME")

    private static let vmIDSegments = ["subscriptions", nil, "resourceGroups", nil, "providers", "Microsoft.Compute", "virtualMachines", nil]

    /// Whether `name` follows the rule. The length is checked first, so a huge value costs no more than the
    /// limit.
    func accepts(_ name: String) -> Bool {
        let scalars = name.unicodeScalars
        var length = 0
        for _ in scalars {
            length += 1
            if length > maxLength { return false }
        }
        guard length >= minLength else { return false }
        switch form {
        case .uuid:
            let groups = name.split(separator: "-", omittingEmptySubsequences: false)
            return groups.map(\.count) == [8, 4, 4, 4, 12]
                && groups.allSatisfy { $0.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit } }
        case .vmID:
            guard name.hasPrefix("/") else { return false }
            let segments = name.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            guard segments.count == Self.vmIDSegments.count else { return false }
            return zip(segments, Self.vmIDSegments).allSatisfy { segment, fixed in
                fixed.map { segment.lowercased() == $0.lowercased() } ?? !segment.isEmpty
            }
        case .characters(let first, let middle, let last, let noDoubleHyphen, let notAllDigits):
            var previous: Unicode.Scalar?
            var allDigits = true
            for (index, scalar) in scalars.enumerated() {
                let inPlace =
                    switch index {
                    // A single character is both the first and the last.
                    case 0: first.contains(scalar) && (length > 1 || last.contains(scalar))
                    case length - 1: last.contains(scalar)
                    default: middle.contains(scalar)
                    }
                guard inPlace else { return false }
                if noDoubleHyphen, scalar == "-", previous == "-" { return false }
                if !("0"..."9").contains(scalar) { allDigits = false }
                previous = scalar
            }
            return !(notAllDigits && allDigits)
        }
    }

    /// The rule as an anchored regular expression, valid both for Swift's `Regex` and for ECMA-262.
    var pattern: String {
        switch form {
        case .uuid:
            return "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
        case .vmID:
            func caseless(_ word: String) -> String {
                word.map { $0.isLetter ? "[\($0.lowercased())\($0.uppercased())]" : $0 == "." ? "\\." : String($0) }.joined()
            }
            return "^" + Self.vmIDSegments.map { $0.map(caseless) ?? "[^/]+" }.map { "/" + $0 }.joined() + "$"
        case .characters(let first, let middle, let last, let noDoubleHyphen, let notAllDigits):
            var out = "^"
            if notAllDigits { out += "(?![0-9]+$)" }
            if noDoubleHyphen { out += "(?!.*--)" }
            func repeated(_ low: Int, _ high: Int) -> String { low == high ? "{\(low)}" : "{\(low),\(high)}" }
            if first == middle && middle == last {
                out += first.pattern + repeated(minLength, maxLength)
            } else if first == middle {
                out += middle.pattern + repeated(max(0, minLength - 1), maxLength - 1) + last.pattern
            } else if middle == last {
                out += first.pattern + middle.pattern + repeated(max(0, minLength - 1), maxLength - 1)
            } else if minLength >= 2 {
                out += first.pattern + middle.pattern + repeated(minLength - 2, maxLength - 2) + last.pattern
            } else {
                out += first.pattern + "(" + middle.pattern + repeated(0, maxLength - 2) + last.pattern + ")?"
            }
            return out + "$"
        }
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
