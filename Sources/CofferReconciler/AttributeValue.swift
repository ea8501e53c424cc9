import CofferModel
import Foundation

/// A spec flattened to a JSON-like tree, so that two specs can be compared attribute by attribute and
/// plans can carry before/after values as plain data.
public indirect enum AttributeValue: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([AttributeValue])
    case object([String: AttributeValue])

    /// The tree of any Encodable value, as JSONEncoder sees it.
    public init<T: Encodable>(encoding value: T) throws {
        self = try AttributeEncoder.encode(value)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([AttributeValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: AttributeValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value at a dotted path (`retention.daily.count`; array elements by index), or nil.
    public func value(at path: String) -> AttributeValue? {
        var current: AttributeValue? = self
        for component in path.split(separator: ".") {
            switch current {
            case .object(let fields): current = fields[String(component)]
            case .array(let items): current = Int(component).flatMap { $0 < items.count ? items[$0] : nil }
            default: return nil
            }
        }
        return current
    }

    /// Leaf paths whose values differ between `self` (before) and `other` (after), sorted. Objects are
    /// compared key by key; arrays as whole values (a list of weekdays changed is one attribute change).
    public func changedPaths(to other: AttributeValue, prefix: String = "") -> [String] {
        switch (self, other) {
        case let (.object(lhs), .object(rhs)):
            var paths: [String] = []
            for key in Set(lhs.keys).union(rhs.keys).sorted() {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                let before = lhs[key] ?? .null
                let after = rhs[key] ?? .null
                if before != after { paths += before.changedPaths(to: after, prefix: path) }
            }
            return paths
        default:
            return self == other ? [] : [prefix]
        }
    }

    /// A compact, stable, one-line rendering, as plans print values.
    public var rendered: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value):
            return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): return "\"\(value)\""
        case .array(let items): return "[" + items.map(\.rendered).joined(separator: ", ") + "]"
        case .object(let fields):
            return "{" + fields.keys.sorted().map { "\($0) = \(fields[$0]!.rendered)" }.joined(separator: ", ") + "}"
        }
    }
}

extension ResourceSpec {
    /// The spec's own fields as an attribute tree (without the enum wrapper).
    public func attributes() throws -> AttributeValue {
        switch self {
        case .vault(let spec): try AttributeValue(encoding: spec)
        case .backupPolicy(let spec): try AttributeValue(encoding: spec)
        case .protectedVM(let spec): try AttributeValue(encoding: spec)
        case .keyVaultAccessPolicy(let spec): try AttributeValue(encoding: spec)
        case .keyVaultRoleAssignment(let spec): try AttributeValue(encoding: spec)
        }
    }
}
