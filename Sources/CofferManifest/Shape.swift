import CofferModel

/// The declared shape of a manifest value: the loader checks fields, types, static ranges and names against
/// it, and the JSON Schema is printed from it, so the two cannot disagree on structure.
indirect enum Shape: Sendable {
    case string(StringShape)
    case integer(IntegerShape)
    case boolean
    case object(ObjectShape)
    /// A mapping with free keys and string values (labels, tags).
    case map(MapShape)
    case array(ArrayShape)
    /// Anything; used only where an unknown kind leaves nothing to check.
    case any
}

struct StringShape: Sendable {
    enum Check: Sendable {
        /// Any non-empty string up to a length.
        case free(maxLength: Int)
        /// Exactly this value, else a diagnostic with this code.
        case constant(String, ManifestCode)
        /// One of these values (case-sensitive, with a 'did you mean'), else a diagnostic with this code.
        case choice([String], noun: String, ManifestCode)
        case name(NamingRule)
        /// `HH:MM` on the hour or half hour.
        case time
        /// The ARM id of a virtual machine.
        case vmID
        /// A Windows time-zone id of CofferRules' `WindowsTimeZones`, the table the platform reads, spelled
        /// exactly. The JSON Schema says only "a string": the table is the system ICU's and grows with it.
        case windowsTimeZone
    }

    var check: Check
}

struct IntegerShape: Sendable {
    var minimum: Int?
    var maximum: Int?
    /// When set, the only values accepted.
    var allowed: [Int]?
}

/// One field of an object.
struct Field: Sendable {
    var name: String
    var shape: Shape
    var required: Bool
    /// One sentence for the schema's `description`.
    var doc: String
    /// The value used when the field is left out, for the schema's `default`.
    var defaultValue: JSONValue?

    init(_ name: String, _ shape: Shape, required: Bool = false, default defaultValue: JSONValue? = nil, _ doc: String) {
        self.name = name
        self.shape = shape
        self.required = required
        self.doc = doc
        self.defaultValue = defaultValue
    }
}

struct ObjectShape: Sendable {
    var fields: [Field]
    /// Extra JSON Schema keywords (`if`/`then`, `oneOf`, `dependentRequired` …) for rules between fields; the
    /// loader checks the same rules in code, with better messages.
    var schemaRules: [JSONValue.Member] = []

    func field(_ name: String) -> Field? {
        fields.first { $0.name == name }
    }
}

struct MapShape: Sendable {
    var key: NamingRule
    var valueMaxLength: Int
    var maxEntries: Int
}

struct ArrayShape: Sendable {
    var items: Shape
    var minItems: Int
}

extension Shape {
    static func free(_ maxLength: Int) -> Shape { .string(StringShape(check: .free(maxLength: maxLength))) }
    static func name(_ rule: NamingRule) -> Shape { .string(StringShape(check: .name(rule))) }
    static func choice(_ values: [String], noun: String, code: ManifestCode = .invalidValue) -> Shape {
        .string(StringShape(check: .choice(values, noun: noun, code)))
    }
    static func choice<E: RawRepresentable & CaseIterable>(_ type: E.Type, noun: String) -> Shape where E.RawValue == String {
        choice(E.allCases.map(\.rawValue), noun: noun)
    }
    static func integer(_ range: ClosedRange<Int>) -> Shape {
        .integer(IntegerShape(minimum: range.lowerBound, maximum: range.upperBound))
    }
    static func list(_ items: Shape, minItems: Int = 0) -> Shape { .array(ArrayShape(items: items, minItems: minItems)) }
    static func object(_ fields: [Field], rules: [JSONValue.Member] = []) -> Shape {
        .object(ObjectShape(fields: fields, schemaRules: rules))
    }
}
