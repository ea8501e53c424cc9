import CofferModel
import CofferRules
import CofferYAML

/// Checks one document's nodes against a shape: unknown and missing fields, types, static ranges, names and
/// choices, each reported where it is written. Records where every field was written.
final class ShapeValidator {
    let source: SourceText
    let sink: DiagnosticSink
    /// Key positions by dotted path (`spec.retention.daily.count`; sequence items as `….weekdays.0`).
    private(set) var fieldLocations: [String: SourceLocation] = [:]

    init(source: SourceText, sink: DiagnosticSink) {
        self.source = source
        self.sink = sink
    }

    func location(_ mark: YAMLMark) -> SourceLocation {
        source.location(line: mark.line, column: mark.column)
    }

    func report(
        _ code: ManifestCode, _ summary: String, at mark: YAMLMark, detail: String? = nil, hint: String? = nil
    ) {
        sink.report(code, summary, at: location(mark), in: source, detail: detail, hint: hint)
    }

    /// How messages name a path: `spec.schedule.weekdays[1]`.
    static func display(_ path: String) -> String {
        var out = ""
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            if let first = part.first, first.isNumber, part.allSatisfy(\.isNumber), !out.isEmpty {
                out += "[\(part)]"
            } else {
                out += out.isEmpty ? String(part) : ".\(part)"
            }
        }
        return out
    }

    /// Validates `node` against `shape`. `anchor` is where a missing field of an object is reported: the key
    /// that holds the object, or the document's start.
    func validate(_ node: YAMLNode, as shape: Shape, path: String, anchor: YAMLMark) {
        if case .refused = node.content { return }
        switch shape {
        case .any:
            return
        case .boolean:
            guard node.bool == nil else { return }
            typeMismatch(node, expected: "a boolean (true or false)", path: path)
        case .integer(let integer):
            validateInteger(node, integer, path: path)
        case .string(let string):
            validateString(node, string, path: path)
        case .object(let object):
            validateObject(node, object, path: path, anchor: anchor)
        case .map(let map):
            validateMap(node, map, path: path)
        case .array(let array):
            guard let items = node.items else {
                typeMismatch(node, expected: "a list", path: path)
                return
            }
            if items.count < array.minItems {
                report(
                    .missingField, "'\(Self.display(path))' must list at least \(array.minItems) value\(array.minItems == 1 ? "" : "s")",
                    at: node.mark, hint: "add a value, or remove the field")
            }
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).\(index)"
                fieldLocations[itemPath] = location(item.mark)
                validate(item, as: array.items, path: itemPath, anchor: item.mark)
            }
        }
    }

    private func validateObject(_ node: YAMLNode, _ object: ObjectShape, path: String, anchor: YAMLMark) {
        guard let entries = node.entries else {
            typeMismatch(node, expected: "a mapping", path: path)
            return
        }
        let known = object.fields.map(\.name)
        for entry in entries {
            let entryPath = path.isEmpty ? entry.key : "\(path).\(entry.key)"
            guard let field = object.field(entry.key) else {
                guard !sink.isFull else {
                    sink.drop(.unknownField)
                    continue
                }
                let place = path.isEmpty ? "the document" : "'\(Self.display(path))'"
                report(
                    .unknownField, "unknown field '\(entry.key)' in \(place)", at: entry.keyMark,
                    hint: Suggestions.hint(for: entry.key, in: known, listing: "the fields here are"))
                continue
            }
            fieldLocations[entryPath] = location(entry.keyMark)
            validate(entry.value, as: field.shape, path: entryPath, anchor: entry.keyMark)
        }
        for field in object.fields where field.required && node.entry(field.name) == nil {
            let fieldPath = path.isEmpty ? field.name : "\(path).\(field.name)"
            report(
                .missingField, "missing required field '\(Self.display(fieldPath))'", at: anchor,
                detail: field.doc, hint: "add '\(field.name):' \(path.isEmpty ? "to the document" : "under '\(Self.display(path))'")")
        }
    }

    private func validateMap(_ node: YAMLNode, _ map: MapShape, path: String) {
        guard let entries = node.entries else {
            typeMismatch(node, expected: "a mapping of names to strings", path: path)
            return
        }
        if entries.count > map.maxEntries {
            report(
                .outOfRange, "'\(Self.display(path))' has \(entries.count) entries; at most \(map.maxEntries) are allowed",
                at: node.mark, hint: "remove some entries")
        }
        for entry in entries {
            let entryPath = "\(path).\(entry.key)"
            fieldLocations[entryPath] = location(entry.keyMark)
            if !map.key.accepts(entry.key) {
                report(
                    .invalidName, "'\(Self.clip(entry.key))' is not a valid \(map.key.bareNoun)", at: entry.keyMark,
                    detail: "\(map.key.sentenceNoun) is \(map.key.rule)", hint: map.key.hint)
            }
            validateString(entry.value, StringShape(check: .free(maxLength: map.valueMaxLength)), path: entryPath)
        }
    }

    private func validateInteger(_ node: YAMLNode, _ integer: IntegerShape, path: String) {
        if case .hugeInt(let text)? = node.resolved {
            report(
                .outOfRange, "'\(Self.display(path))' is out of range: \(text)", at: node.mark,
                hint: Self.rangeText(integer).map { "use \($0)" })
            return
        }
        guard let value = node.int else {
            typeMismatch(node, expected: "an integer", path: path)
            return
        }
        let outside: Bool
        if let allowed = integer.allowed {
            outside = !allowed.contains(value)
        } else {
            outside = value < (integer.minimum ?? Int.min) || value > (integer.maximum ?? Int.max)
        }
        if outside, let range = Self.rangeText(integer) {
            report(
                .outOfRange, "'\(Self.display(path))' must be \(range), found \(value)", at: node.mark,
                hint: "use a value \(integer.allowed == nil ? range : "among " + range)")
        }
    }

    static func rangeText(_ integer: IntegerShape) -> String? {
        if let allowed = integer.allowed { return alternatives(allowed.map(String.init), "or") }
        switch (integer.minimum, integer.maximum) {
        case let (minimum?, maximum?): return "between \(minimum) and \(maximum)"
        case let (minimum?, nil): return "at least \(minimum)"
        case let (nil, maximum?): return "at most \(maximum)"
        case (nil, nil): return nil
        }
    }

    /// "a, b or c".
    static func alternatives(_ values: [String], _ conjunction: String) -> String {
        guard values.count > 1 else { return values.first ?? "" }
        return values.dropLast().joined(separator: ", ") + " \(conjunction) " + values.last!
    }

    private func validateString(_ node: YAMLNode, _ string: StringShape, path: String) {
        guard let value = node.string else {
            typeMismatch(node, expected: "a string", path: path)
            return
        }
        var shown: String { Self.display(path) }
        switch string.check {
        case .free(let maxLength):
            if value.isEmpty {
                report(.invalidValue, "'\(shown)' must not be empty", at: node.mark, hint: "give a value, or remove the field")
            } else if value.count > maxLength {
                report(.outOfRange, "'\(shown)' is longer than \(maxLength) characters", at: node.mark, hint: "shorten it")
            }
        case .constant(let expected, let code):
            guard value != expected else { return }
            let what = code == .unknownAPIVersion ? "unknown apiVersion '\(value)'" : "'\(shown)' must be '\(expected)'"
            report(code, what, at: node.mark, hint: "use '\(path): \(expected)'")
        case .choice(let values, let noun, let code):
            guard !values.contains(value) else { return }
            guard !sink.isFull else { return sink.drop(code) }
            let what = code == .unknownKind ? "unknown kind '\(value)'" : "'\(value)' is not a valid \(noun)"
            report(
                code, what, at: node.mark,
                detail: code == .unknownKind || values.count > 12 ? nil : "'\(shown)' is one of \(Self.alternatives(values, "or")) (case-sensitive)",
                hint: Suggestions.hint(for: value, in: values, listing: "the \(noun)s are"))
        case .name(let rule):
            guard !rule.accepts(value) else { return }
            report(
                .invalidName, "'\(Self.clip(value))' is not a valid \(rule.bareNoun)", at: node.mark,
                detail: "\(rule.sentenceNoun) is \(rule.rule)", hint: rule.hint)
        case .time:
            let bytes = Array(value.utf8)
            let digits = bytes.count == 5 && bytes[2] == UInt8(ascii: ":")
                && [0, 1, 3, 4].allSatisfy { bytes[$0] >= UInt8(ascii: "0") && bytes[$0] <= UInt8(ascii: "9") }
            guard digits, let time = TimeOfDay(parsing: value) else {
                report(
                    .invalidValue, "'\(Self.clip(value))' is not a time of day", at: node.mark,
                    detail: "'\(shown)' is written HH:MM, 24-hour, two digits each",
                    hint: "write it like '02:00' or '14:30'")
                return
            }
            if time.minute != 0 && time.minute != 30 {
                report(
                    .outOfRange, "backups start on the hour or half hour, not at \(value)", at: node.mark,
                    hint: "use \(TimeOfDay(hour: time.hour, minute: 0)) or \(TimeOfDay(hour: time.hour, minute: 30))")
            }
        case .windowsTimeZone:
            guard !WindowsTimeZones.contains(value) else { return }
            guard !sink.isFull else { return sink.drop(.invalidValue) }
            let suggestion = WindowsTimeZones.suggestion(for: value)
            report(
                .invalidValue, "'\(Self.clip(value))' is not a Windows time-zone id", at: node.mark,
                detail: "'\(shown)' is a Windows time-zone id such as UTC or W. Europe Standard Time, spelled as Windows "
                    + "spells it (case-sensitive)",
                hint: suggestion.map { "did you mean '\($0)'?" }
                    ?? "use UTC or a Windows time-zone id: see the time zones in docs/manifests.md")
        case .vmID:
            guard NamingRule.vmID.accepts(value), let reference = VMReference(resourceID: value) else {
                report(
                    .invalidValue, "'\(Self.clip(value))' is not the id of a virtual machine", at: node.mark,
                    detail: "a VM id reads /subscriptions/SUBSCRIPTION/resourceGroups/GROUP/providers/Microsoft.Compute/virtualMachines/NAME",
                    hint: "copy the id from the VM's properties, or give 'resourceGroup' and 'name' instead")
                return
            }
            if !NamingRule.resourceGroup.accepts(reference.resourceGroup) {
                report(
                    .invalidName, "'\(Self.clip(reference.resourceGroup))' is not a valid resource group name",
                    at: node.mark, detail: "A resource group name is \(NamingRule.resourceGroup.rule)")
            }
            if !NamingRule.vmName.accepts(reference.name) {
                report(
                    .invalidName, "'\(Self.clip(reference.name))' is not a valid virtual machine name", at: node.mark,
                    detail: "A virtual machine name is \(NamingRule.vmName.rule)")
            }
        }
    }

    static func clip(_ text: String) -> String {
        text.count > 60 ? String(text.prefix(60)) + "…" : text
    }

    /// Reports that `node` is not what `path` expects, with a hint for the usual YAML surprises.
    func typeMismatch(_ node: YAMLNode, expected: String, path: String) {
        if case .refused = node.content { return }
        let found: String
        var detail: String?
        var hint: String?
        switch node.content {
        case .mapping: found = "a mapping"
        case .sequence: found = "a list"
        case .refused: return
        case .scalar(let text, let style):
            let resolved = ResolvedScalar(text: text, style: style)
            found = resolved.description
            let plain = ResolvedScalar(text: text, style: .plain)
            if style != .plain, expected.hasPrefix("an integer") || expected.hasPrefix("a boolean"), plain != resolved,
                plain.description.hasPrefix(expected.hasPrefix("an integer") ? "the integer" : "the boolean")
            {
                detail = "a quoted value is always a string"
                hint = "remove the quotes: \(path.split(separator: ".").last ?? ""): \(text)"
            } else if expected.hasPrefix("a boolean"), style == .plain {
                switch text.lowercased() {
                case "yes", "no", "on", "off", "y", "n":
                    detail = "coffer reads YAML 1.2, where only true and false are booleans ('\(text)' was one in YAML 1.1)"
                    hint = "write \(["yes", "on", "y"].contains(text.lowercased()) ? "true" : "false")"
                case "true", "false":
                    hint = "write it in lower case: \(text.lowercased())"
                default:
                    hint = "write true or false"
                }
            } else if expected == "a string", style == .plain, resolved != .string(text) {
                if resolved == .null {
                    hint = "give a value, or remove the field"
                } else {
                    detail = "an unquoted \(text) is read as \(found.split(separator: " ").dropLast().joined(separator: " "))"
                    hint = "quote it to make it a string: \"\(text)\""
                }
            } else if resolved == .null {
                hint = "give a value, or remove the field"
            }
        }
        report(.wrongType, "'\(Self.display(path))' must be \(expected), found \(found)", at: node.mark, detail: detail, hint: hint)
    }
}
