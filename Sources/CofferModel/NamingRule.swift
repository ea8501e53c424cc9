// Azure's naming rules (reference section 8), once, as values: the manifest loader, its JSON Schema and the
// platform all check names against this table, each wording the problem for its readers.

/// A set of characters a name may use, printable as a regular-expression class.
public struct CharacterClass: Sendable, Hashable {
    /// ASCII letters a–z and A–Z.
    public var letters = false
    /// ASCII digits 0–9.
    public var digits = false
    /// Unicode word characters (`\w`): letters, decimal digits and connector punctuation such as `_`.
    public var word = false
    /// Further ASCII characters, taken literally.
    public var extra = ""
    /// The class is every character but those above.
    public var negated = false

    /// The class of these characters.
    public static func of(letters: Bool = false, digits: Bool = false, word: Bool = false, _ extra: String = "") -> Self {
        CharacterClass(letters: letters, digits: digits, word: word, extra: extra)
    }

    /// Every character but `extra`.
    public static func none(of extra: String) -> Self {
        CharacterClass(extra: extra, negated: true)
    }

    /// Whether `scalar` belongs to the class.
    public func contains(_ scalar: Unicode.Scalar) -> Bool {
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
    public var pattern: String {
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

/// What breaks a naming rule, in the order the checks run: the length first (so a huge value costs no more
/// than the limit), then the characters, the first and last ones, doubled hyphens and all-digit names.
public enum NamingProblem: Sendable, Hashable {
    /// The length is outside the rule's range.
    case length
    /// A character the rule does not allow anywhere, or not in the middle.
    case character
    /// The first character is not one the rule allows first.
    case first
    /// The last character is not one the rule allows last.
    case last
    /// Two hyphens in a row.
    case doubleHyphen
    /// Only digits.
    case allDigits
    /// Not of the rule's fixed format (a UUID, a virtual machine id).
    case format
}

/// A naming rule of Azure (reference section 8), as values: one table that the manifest loader, the JSON
/// Schema and the platform all read. `check` says what a name breaks, `accepts` whether it follows the rule,
/// `pattern` prints it as a regular expression; `rule` is the rule in words.
public struct NamingRule: Sendable, Hashable {
    /// The shape of the names.
    public enum Form: Sendable, Hashable {
        /// A first character, middle characters and a last character from these classes.
        case characters(first: CharacterClass, middle: CharacterClass, last: CharacterClass, noDoubleHyphen: Bool, notAllDigits: Bool)
        /// A UUID, hexadecimal in either case.
        case uuid
        /// The ARM id of a virtual machine, segment names compared case-insensitively as ARM does.
        case vmID
    }

    /// What the name names, for messages: "a Recovery Services vault name".
    public let noun: String
    /// The shape of the names.
    public let form: Form
    /// The shortest name, in Unicode scalars.
    public let minLength: Int
    /// The longest name, in Unicode scalars.
    public let maxLength: Int
    /// The rule in words.
    public let rule: String
    /// How to fix a name that breaks the rule.
    public var hint = "rename it to follow the rule"

    /// A rule; `rule` says it in words for messages.
    public init(
        noun: String, form: Form, minLength: Int, maxLength: Int, rule: String, hint: String = "rename it to follow the rule"
    ) {
        self.noun = noun
        self.form = form
        self.minLength = minLength
        self.maxLength = maxLength
        self.rule = rule
        self.hint = hint
    }

    /// The noun without its article: "Recovery Services vault name".
    public var bareNoun: String { String(noun.drop { $0 != " " }.dropFirst()) }

    /// The noun starting a sentence: "A Recovery Services vault name".
    public var sentenceNoun: String { noun.prefix(1).uppercased() + noun.dropFirst() }

    /// A form of characters: the middle ones default to the first's class, the last one to the middle's.
    public static func characters(
        first: CharacterClass, middle: CharacterClass? = nil, last: CharacterClass? = nil, noDoubleHyphen: Bool = false,
        notAllDigits: Bool = false
    ) -> Form {
        .characters(first: first, middle: middle ?? first, last: last ?? middle ?? first, noDoubleHyphen: noDoubleHyphen, notAllDigits: notAllDigits)
    }

    /// A Recovery Services vault's name.
    public static let vault = NamingRule(
        noun: "a Recovery Services vault name",
        form: characters(first: .of(letters: true), middle: .of(letters: true, digits: true, "-")), minLength: 2,
        maxLength: 50, rule: "2–50 letters, digits or hyphens, starting with a letter")
    /// A backup policy's name.
    public static let policy = NamingRule(
        noun: "a backup policy name",
        form: characters(
            first: .of(letters: true), middle: .of(letters: true, digits: true, "-_!"), last: .of(letters: true, digits: true, "_!")),
        minLength: 3, maxLength: 150,
        rule: "3–150 letters, digits, hyphens, underscores or '!', starting with a letter and not ending with a hyphen")
    /// A key vault's name.
    public static let keyVault = NamingRule(
        noun: "a key vault name",
        form: characters(
            first: .of(letters: true), middle: .of(letters: true, digits: true, "-"), last: .of(letters: true, digits: true),
            noDoubleHyphen: true),
        minLength: 3, maxLength: 24,
        rule: "3–24 letters, digits or hyphens, starting with a letter, ending with a letter or digit, without '--'")
    /// A key vault key's or secret's name.
    public static let keyName = NamingRule(
        noun: "a key name", form: characters(first: .of(letters: true, digits: true, "-")), minLength: 1, maxLength: 127,
        rule: "1–127 letters, digits or hyphens")
    /// A resource group's name: Unicode word characters, as Azure's `\w`.
    public static let resourceGroup = NamingRule(
        noun: "a resource group name",
        form: characters(first: .of(word: true, "-.()"), last: .of(word: true, "-()")), minLength: 1, maxLength: 90,
        rule: "1–90 letters, digits, underscores, hyphens, periods or parentheses, not ending with a period")
    /// A virtual machine's ARM name (a Linux VM's, or any VM's where the OS is not known).
    public static let vmName = NamingRule(
        noun: "a virtual machine name",
        form: characters(
            first: .of(letters: true, digits: true), middle: .of(letters: true, digits: true, "-._"),
            last: .of(letters: true, digits: true, "_"), notAllDigits: true),
        minLength: 1, maxLength: 64,
        rule: "1–64 letters, digits, hyphens, periods or underscores, starting with a letter or digit, ending with"
            + " a letter, digit or underscore, and not only digits")
    /// A Windows VM's name, which is also its computer name: 1–15 characters, no periods.
    public static let windowsVMName = NamingRule(
        noun: "a Windows virtual machine name",
        form: characters(
            first: .of(letters: true, digits: true), middle: .of(letters: true, digits: true, "-_"),
            last: .of(letters: true, digits: true, "_"), notAllDigits: true),
        minLength: 1, maxLength: 15,
        rule: "1–15 letters, digits, hyphens or underscores, starting with a letter or digit, ending with a letter,"
            + " digit or underscore, and not only digits")
    /// A disk encryption set's name: only its length is checked.
    public static let diskEncryptionSet = NamingRule(
        noun: "a disk encryption set name", form: characters(first: .none(of: "")), minLength: 1, maxLength: 80,
        rule: "1–80 characters")
    /// An object id, hexadecimal in either case.
    public static let uuid = NamingRule(
        noun: "an object id", form: .uuid, minLength: 36, maxLength: 36,
        rule: "a UUID such as 00000000-0000-0000-0000-000000000000",
        hint: "give the principal's object id (a UUID), or 'name: Backup Management Service'")
    /// A virtual machine's ARM id.
    public static let vmID = NamingRule(
        noun: "a virtual machine id", form: .vmID, minLength: 1, maxLength: 1024,
        rule: "/subscriptions/SUBSCRIPTION/resourceGroups/GROUP/providers/Microsoft.Compute/virtualMachines/NAME")

    private static let vmIDSegments = ["subscriptions", nil, "resourceGroups", nil, "providers", "Microsoft.Compute", "virtualMachines", nil]

    /// Whether `name` follows the rule.
    public func accepts(_ name: String) -> Bool {
        check(name) == nil
    }

    /// What `name` breaks, or nil when it follows the rule. The length is checked first, so a huge value
    /// costs no more than the limit; then, in order, the characters allowed anywhere, the first, the last,
    /// the middle ones, doubled hyphens and all-digit names.
    public func check(_ name: String) -> NamingProblem? {
        let scalars = name.unicodeScalars
        var length = 0
        for _ in scalars {
            length += 1
            if length > maxLength { return .length }
        }
        guard length >= minLength else { return .length }
        switch form {
        case .uuid:
            let groups = name.split(separator: "-", omittingEmptySubsequences: false)
            let valid = groups.map(\.count) == [8, 4, 4, 4, 12]
                && groups.allSatisfy { $0.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit } }
            return valid ? nil : .format
        case .vmID:
            guard name.hasPrefix("/") else { return .format }
            let segments = name.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            guard segments.count == Self.vmIDSegments.count else { return .format }
            let valid = zip(segments, Self.vmIDSegments).allSatisfy { segment, fixed in
                fixed.map { segment.lowercased() == $0.lowercased() } ?? !segment.isEmpty
            }
            return valid ? nil : .format
        case .characters(let first, let middle, let last, let noDoubleHyphen, let notAllDigits):
            guard scalars.allSatisfy({ first.contains($0) || middle.contains($0) || last.contains($0) }) else {
                return .character
            }
            // A single character is both the first and the last.
            guard let head = scalars.first, first.contains(head) else { return .first }
            guard let tail = scalars.last, last.contains(tail) else { return .last }
            if length > 2, !scalars.dropFirst().dropLast().allSatisfy(middle.contains) { return .character }
            if noDoubleHyphen {
                var previous: Unicode.Scalar?
                for scalar in scalars {
                    if scalar == "-", previous == "-" { return .doubleHyphen }
                    previous = scalar
                }
            }
            if notAllDigits, scalars.allSatisfy({ ("0"..."9").contains($0) }) { return .allDigits }
            return nil
        }
    }

    /// The rule as an anchored regular expression, valid both for Swift's `Regex` and for ECMA-262.
    public var pattern: String {
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
