import CofferYAML
import Foundation

@testable import CofferManifest

/// A JSON value, as the schema and the manifests are compared.
indirect enum JSON: Equatable, Decodable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The JSON a YAML document means under coffer's scalar rules.
    init(_ node: YAMLNode) {
        switch node.content {
        case .scalar:
            switch node.resolved! {
            case .null: self = .null
            case .bool(let value): self = .bool(value)
            case .int(let value): self = .number(Double(value))
            case .hugeInt(let text), .float(let text): self = .number(Double(text) ?? .nan)
            case .string(let value): self = .string(value)
            }
        case .sequence(let items): self = .array(items.map(JSON.init))
        case .mapping(let entries): self = .object(Dictionary(entries.map { ($0.key, JSON($0.value)) }, uniquingKeysWith: { a, _ in a }))
        case .refused: self = .null
        }
    }

    /// The documents of a YAML text, composed by the loader's own safe composer.
    static func documents(ofYAML text: String, path: String = "doc.yaml") -> [JSON] {
        let (source, problem) = SourceText.checked(path: path, bytes: Array(text.utf8))
        precondition(problem == nil, "\(problem!)")
        var budget = YAMLBudget(documents: 10_000, nodes: 1_000_000)
        let composed = YAMLComposer(source: source, limits: .default, maxProblems: 100).compose(budget: &budget)
        return composed.documents.compactMap(\.root).filter { $0.resolved != .null }.map(JSON.init)
    }
}

/// A JSON Schema (draft 2020-12) checker for the keywords coffer's schema uses. A keyword it does not know is
/// itself reported as an error, so that a schema change can never make the check pass by being ignored.
struct JSONSchemaChecker {
    let root: JSON
    private let regexes = RegexCache()

    /// Compiled patterns, by pattern text: compiling is the slow part of checking.
    private final class RegexCache {
        var compiled: [String: Regex<AnyRegexOutput>] = [:]

        func regex(_ pattern: String) throws -> Regex<AnyRegexOutput> {
            if let regex = compiled[pattern] { return regex }
            let regex = try Regex(pattern)
            compiled[pattern] = regex
            return regex
        }
    }

    static let annotations: Set<String> = ["$schema", "$id", "$defs", "title", "description", "default"]
    static let keywords: Set<String> = [
        "$ref", "type", "enum", "const", "minimum", "maximum", "minLength", "maxLength", "pattern", "properties",
        "required", "additionalProperties", "propertyNames", "minProperties", "maxProperties", "items", "minItems",
        "maxItems", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentRequired",
    ]

    init(schemaText: String) throws {
        root = try JSONDecoder().decode(JSON.self, from: Data(schemaText.utf8))
    }

    init(schema: JSON) {
        root = schema
    }

    /// Every violation, as `path: problem`; empty when the instance is valid.
    func errors(_ instance: JSON) -> [String] {
        var errors: [String] = []
        validate(instance, root, "$", &errors)
        return errors
    }

    private func resolve(_ reference: String) -> JSON? {
        guard reference.hasPrefix("#/") else { return nil }
        var current: JSON? = root
        for part in reference.dropFirst(2).split(separator: "/") { current = current?[String(part)] }
        return current
    }

    private func isValid(_ instance: JSON, _ schema: JSON) -> Bool {
        var errors: [String] = []
        validate(instance, schema, "", &errors)
        return errors.isEmpty
    }

    private func validate(_ instance: JSON, _ schema: JSON, _ path: String, _ errors: inout [String]) {
        guard case .object(let keywords) = schema else {
            if schema == .bool(false) { errors.append("\(path): false schema") }
            return
        }
        for (keyword, value) in keywords.sorted(by: { $0.key < $1.key }) {
            if Self.annotations.contains(keyword) { continue }
            guard Self.keywords.contains(keyword) else {
                errors.append("\(path): the checker does not support '\(keyword)'")
                continue
            }
            switch keyword {
            case "$ref":
                guard case .string(let reference) = value, let target = resolve(reference) else {
                    errors.append("\(path): unresolvable $ref \(value)")
                    continue
                }
                validate(instance, target, path, &errors)
            case "type":
                let types: [String]
                switch value {
                case .string(let one): types = [one]
                case .array(let many): types = many.compactMap { if case .string(let s) = $0 { s } else { nil } }
                default: types = []
                }
                if !types.contains(where: { Self.has(instance, type: $0) }) {
                    errors.append("\(path): not of type \(types.joined(separator: "|"))")
                }
            case "enum":
                if case .array(let values) = value, !values.contains(instance) { errors.append("\(path): not in enum") }
            case "const":
                if instance != value { errors.append("\(path): not \(value)") }
            case "minimum":
                if case .number(let n) = instance, case .number(let m) = value, n < m { errors.append("\(path): below \(m)") }
            case "maximum":
                if case .number(let n) = instance, case .number(let m) = value, n > m { errors.append("\(path): above \(m)") }
            case "minLength":
                if case .string(let s) = instance, case .number(let m) = value, Double(s.unicodeScalars.count) < m {
                    errors.append("\(path): shorter than \(m)")
                }
            case "maxLength":
                if case .string(let s) = instance, case .number(let m) = value, Double(s.unicodeScalars.count) > m {
                    errors.append("\(path): longer than \(m)")
                }
            case "pattern":
                if case .string(let s) = instance, case .string(let pattern) = value {
                    do {
                        if try regexes.regex(pattern).firstMatch(in: s) == nil { errors.append("\(path): does not match \(pattern)") }
                    } catch {
                        errors.append("\(path): invalid pattern \(pattern)")
                    }
                }
            case "properties":
                guard case .object(let members) = instance, case .object(let properties) = value else { continue }
                for (name, subschema) in properties {
                    if let member = members[name] { validate(member, subschema, "\(path).\(name)", &errors) }
                }
            case "required":
                guard case .object(let members) = instance, case .array(let names) = value else { continue }
                for case .string(let name) in names where members[name] == nil { errors.append("\(path): missing \(name)") }
            case "additionalProperties":
                guard case .object(let members) = instance else { continue }
                var declared: Set<String> = []
                if case .object(let properties)? = keywords["properties"] { declared = Set(properties.keys) }
                for (name, member) in members where !declared.contains(name) {
                    if value == .bool(false) {
                        errors.append("\(path): unknown property \(name)")
                    } else {
                        validate(member, value, "\(path).\(name)", &errors)
                    }
                }
            case "propertyNames":
                guard case .object(let members) = instance else { continue }
                for name in members.keys { validate(.string(name), value, "\(path)[key \(name)]", &errors) }
            case "minProperties":
                if case .object(let members) = instance, case .number(let m) = value, Double(members.count) < m {
                    errors.append("\(path): fewer than \(m) properties")
                }
            case "maxProperties":
                if case .object(let members) = instance, case .number(let m) = value, Double(members.count) > m {
                    errors.append("\(path): more than \(m) properties")
                }
            case "items":
                guard case .array(let items) = instance else { continue }
                for (index, item) in items.enumerated() { validate(item, value, "\(path)[\(index)]", &errors) }
            case "minItems":
                if case .array(let items) = instance, case .number(let m) = value, Double(items.count) < m {
                    errors.append("\(path): fewer than \(m) items")
                }
            case "maxItems":
                if case .array(let items) = instance, case .number(let m) = value, Double(items.count) > m {
                    errors.append("\(path): more than \(m) items")
                }
            case "allOf":
                guard case .array(let schemas) = value else { continue }
                for subschema in schemas { validate(instance, subschema, path, &errors) }
            case "anyOf":
                guard case .array(let schemas) = value else { continue }
                if !schemas.contains(where: { isValid(instance, $0) }) { errors.append("\(path): matches no anyOf branch") }
            case "oneOf":
                guard case .array(let schemas) = value else { continue }
                let matches = schemas.filter { isValid(instance, $0) }.count
                if matches != 1 { errors.append("\(path): matches \(matches) oneOf branches") }
            case "not":
                if isValid(instance, value) { errors.append("\(path): matches a 'not' schema") }
            case "if":
                let branch = isValid(instance, value) ? keywords["then"] : keywords["else"]
                if let branch { validate(instance, branch, path, &errors) }
            case "then", "else":
                continue
            case "dependentRequired":
                guard case .object(let members) = instance, case .object(let dependencies) = value else { continue }
                for (name, needed) in dependencies where members[name] != nil {
                    if case .array(let names) = needed {
                        for case .string(let other) in names where members[other] == nil {
                            errors.append("\(path): \(name) needs \(other)")
                        }
                    }
                }
            default:
                errors.append("\(path): unhandled keyword \(keyword)")
            }
        }
    }

    private static func has(_ instance: JSON, type: String) -> Bool {
        switch (type, instance) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
            ("number", .number):
            return true
        case ("integer", .number(let n)):
            return n.rounded() == n && n.isFinite
        default:
            return false
        }
    }
}
