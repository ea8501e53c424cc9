import CofferModel

/// The JSON Schema (draft 2020-12) of coffer's manifest documents, for editors and other tools.
///
/// It is printed from the same shapes the loader checks, so field names, types, enums, ranges, name patterns
/// and the rules between fields of one resource agree with the loader. Rules between resources (references,
/// duplicates) cannot be expressed in a schema: `coffer validate` checks those.
public enum ManifestSchema {
    /// The schema's `$id`.
    public static let id = "https://coffer.dev/schemas/manifest/v1.json"

    /// The schema, pretty-printed with two-space indentation; the same text on every call and every machine.
    public static func jsonSchema() -> String {
        document().prettyPrinted()
    }

    static func document() -> JSONValue {
        let kinds = ManifestShapes.kinds
        var definitions: [JSONValue.Member] = []
        for kind in kinds {
            var members: [JSONValue.Member] = [
                .init(key: "title", value: .string(kind.rawValue)),
                .init(key: "description", value: .string(ManifestShapes.description(of: kind))),
            ]
            members += schema(of: ManifestShapes.document(kind))
            definitions.append(.init(key: kind.rawValue, value: .object(members)))
        }
        return .object([
            "$schema": .string("https://json-schema.org/draft/2020-12/schema"),
            "$id": .string(id),
            "title": .string("coffer manifest document"),
            "description": .string(
                "One YAML document of a coffer manifest (apiVersion \(ManifestShapes.apiVersion)); a file holds any number of documents separated by ---."),
            "type": .string("object"),
            "required": .strings(["apiVersion", "kind", "metadata", "spec"]),
            "properties": .object([
                "apiVersion": .object(["const": .string(ManifestShapes.apiVersion)]),
                "kind": .object(["enum": .strings(kinds.map(\.rawValue))]),
            ]),
            "oneOf": .array(kinds.map { .object(["$ref": .string("#/$defs/\($0.rawValue)")]) }),
            "$defs": .object(definitions),
        ])
    }

    /// The schema keywords of a shape.
    static func schema(of shape: Shape) -> [JSONValue.Member] {
        func member(_ key: String, _ value: JSONValue) -> JSONValue.Member { .init(key: key, value: value) }
        switch shape {
        case .any:
            return []
        case .boolean:
            return [member("type", .string("boolean"))]
        case .integer(let integer):
            var members = [member("type", .string("integer"))]
            if let allowed = integer.allowed { members.append(member("enum", .array(allowed.map(JSONValue.int)))) }
            if let minimum = integer.minimum { members.append(member("minimum", .int(minimum))) }
            if let maximum = integer.maximum { members.append(member("maximum", .int(maximum))) }
            return members
        case .string(let string):
            switch string.check {
            case .free(let maxLength):
                return [member("type", .string("string")), member("minLength", .int(1)), member("maxLength", .int(maxLength))]
            case .constant(let value, _):
                return [member("const", .string(value))]
            case .choice(let values, _, _):
                return [member("type", .string("string")), member("enum", .strings(values))]
            case .name(let rule):
                return nameSchema(rule)
            case .time:
                return [member("type", .string("string")), member("pattern", .string(ManifestShapes.timePattern))]
            case .vmID:
                return nameSchema(.vmID)
            case .windowsTimeZone:
                return [member("type", .string("string")), member("minLength", .int(1)), member("maxLength", .int(64))]
            }
        case .object(let object):
            var properties: [JSONValue.Member] = []
            for field in object.fields {
                var members = [member("description", .string(field.doc))]
                members += schema(of: field.shape)
                if let value = field.defaultValue { members.append(member("default", value)) }
                properties.append(member(field.name, .object(members)))
            }
            var members = [member("type", .string("object")), member("properties", .object(properties))]
            let required = object.fields.filter(\.required).map(\.name)
            if !required.isEmpty { members.append(member("required", .strings(required))) }
            members.append(member("additionalProperties", .bool(false)))
            return members + object.schemaRules
        case .map(let map):
            return [
                member("type", .string("object")),
                member("maxProperties", .int(map.maxEntries)),
                member("propertyNames", .object(nameSchema(map.key).filter { $0.key != "type" })),
                member("additionalProperties", .object([
                    "type": .string("string"), "maxLength": .int(map.valueMaxLength),
                ])),
            ]
        case .array(let array):
            var members = [member("type", .string("array")), member("items", .object(schema(of: array.items)))]
            if array.minItems > 0 { members.append(member("minItems", .int(array.minItems))) }
            return members
        }
    }

    private static func nameSchema(_ rule: NamingRule) -> [JSONValue.Member] {
        [
            .init(key: "type", value: .string("string")),
            .init(key: "minLength", value: .int(rule.minLength)),
            .init(key: "maxLength", value: .int(rule.maxLength)),
            .init(key: "pattern", value: .string(rule.pattern)),
        ]
    }
}
