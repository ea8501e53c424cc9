/// A 1-based position in a YAML file.
public struct YAMLMark: Hashable, Sendable {
    /// The 1-based line.
    public var line: Int
    /// The 1-based column, in Unicode scalars.
    public var column: Int

    /// The position at `line` and `column`.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// How a scalar was written; quoted and block scalars are always strings.
public enum ScalarStyle: Hashable, Sendable {
    case plain, singleQuoted, doubleQuoted, literal, folded
}

/// A YAML node as the safe composer builds it: no anchors, aliases, tags or merge keys survive into it.
public struct YAMLNode: Sendable {
    /// What the node holds.
    public enum Content: Sendable {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        case mapping([YAMLEntry])
        /// A node the composer refused (an alias, or a node with an explicit tag); it has been reported.
        case refused
    }

    /// What the node holds.
    public var content: Content
    /// Where the node starts.
    public var mark: YAMLMark

    /// A node holding `content`, starting at `mark`.
    public init(content: Content, mark: YAMLMark) {
        self.content = content
        self.mark = mark
    }

    /// The entries when the node is a mapping.
    public var entries: [YAMLEntry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    /// The items when the node is a sequence.
    public var items: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    /// The entry for `key` when the node is a mapping that has it.
    public func entry(_ key: String) -> YAMLEntry? {
        entries?.first { $0.key == key }
    }

    /// The value of `key` when the node is a mapping that has it.
    public subscript(key: String) -> YAMLNode? {
        entry(key)?.value
    }

    /// The scalar's resolved value, or nil when the node is not a scalar.
    public var resolved: ResolvedScalar? {
        if case .scalar(let text, let style) = content { return ResolvedScalar(text: text, style: style) }
        return nil
    }

    /// The value when the node is a string (quoted, block, or a plain scalar that is not a null, bool or number).
    public var string: String? {
        if case .string(let value)? = resolved { return value }
        return nil
    }

    /// The value when the node is an integer that fits in `Int`.
    public var int: Int? {
        if case .int(let value)? = resolved { return value }
        return nil
    }

    /// The value when the node is `true` or `false`.
    public var bool: Bool? {
        if case .bool(let value)? = resolved { return value }
        return nil
    }
}

/// A mapping entry: keys are always plain strings once composed.
public struct YAMLEntry: Sendable {
    /// The key's text.
    public var key: String
    /// Where the key starts.
    public var keyMark: YAMLMark
    /// The value.
    public var value: YAMLNode

    /// The entry `key: value`, the key written at `keyMark`.
    public init(key: String, keyMark: YAMLMark, value: YAMLNode) {
        self.key = key
        self.keyMark = keyMark
        self.value = value
    }
}

/// One document of a YAML stream.
public struct ComposedDocument: Sendable {
    /// The root, nil for an empty document.
    public var root: YAMLNode?
    /// Where the document starts.
    public var mark: YAMLMark

    /// A document with `root`, starting at `mark`.
    public init(root: YAMLNode?, mark: YAMLMark) {
        self.root = root
        self.mark = mark
    }
}

/// What a plain or quoted scalar means under coffer's strict YAML 1.2 core schema.
///
/// Only `true` and `false` are booleans (no YAML 1.1 `yes`, `no`, `on`, `off`, nor `True`), integers are
/// decimal, and a quoted or block scalar is always a string.
public enum ResolvedScalar: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    /// An integer too large for 64 bits.
    case hugeInt(String)
    case float(String)
    case string(String)

    /// The meaning of `text` written in `style`.
    public init(text: String, style: ScalarStyle) {
        guard style == .plain else {
            self = .string(text)
            return
        }
        switch text {
        case "", "~", "null", "Null", "NULL": self = .null
        case "true": self = .bool(true)
        case "false": self = .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
            self = .float(text)
        default:
            if Self.isDecimalInteger(text) {
                self = Int(text).map { .int($0) } ?? .hugeInt(text)
            } else if Self.isFloat(text) {
                self = .float(text)
            } else {
                self = .string(text)
            }
        }
    }

    /// What a type error calls this value: "the string 'x'", "the integer 3", "null".
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "the boolean \(value)"
        case .int(let value): "the integer \(value)"
        case .hugeInt(let text): "the integer \(text)"
        case .float(let text): "the number \(text)"
        case .string(let text): "the string '\(text.count > 40 ? String(text.prefix(40)) + "…" : text)'"
        }
    }

    private static func isDecimalInteger(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, YAML 1.2's core float.
    private static func isFloat(_ text: String) -> Bool {
        var rest = Substring(text).utf8[...]
        func digits() -> Int {
            var count = 0
            while let byte = rest.first, byte >= 0x30 && byte <= 0x39 {
                rest = rest.dropFirst()
                count += 1
            }
            return count
        }
        if rest.first == UInt8(ascii: "-") || rest.first == UInt8(ascii: "+") { rest = rest.dropFirst() }
        let whole = digits()
        var fraction = 0
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            fraction = digits()
            if whole == 0 && fraction == 0 { return false }
        } else if whole == 0 {
            return false
        }
        if rest.first == UInt8(ascii: "e") || rest.first == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if rest.first == UInt8(ascii: "-") || rest.first == UInt8(ascii: "+") { rest = rest.dropFirst() }
            if digits() == 0 { return false }
        }
        return rest.isEmpty
    }
}
