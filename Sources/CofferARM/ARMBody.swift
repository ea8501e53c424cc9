public import Foundation

/// Request and response bodies: JSON in, with limits checked before any parsing, and JSON out.
public enum ARMBody {
    /// The largest request body accepted: 4 MiB, ARM's own limit for a request.
    public static let maximumSize = 4 * 1024 * 1024
    /// The deepest nesting of arrays and objects accepted; ARM bodies nest less than ten deep.
    public static let maximumDepth = 32

    /// Decodes a request body, refusing one that is too large, too deeply nested, not JSON, or not the
    /// shape `T` takes, with `InvalidRequestContent` (400) naming the field at fault.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws(ARMError) -> T {
        guard bytes.count <= maximumSize else { throw .requestContentTooLarge(limit: maximumSize) }
        guard !bytes.isEmpty else { throw .invalidRequestContent("the body is empty; this operation takes a JSON object") }
        if let problem = nestingProblem(bytes) { throw .invalidRequestContent(problem) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .invalidRequestContent(describe(error))
        } catch {
            throw .invalidRequestContent("the body is not JSON")
        }
    }

    /// Encodes a response body: ids with their slashes unescaped, keys in a stable order.
    public static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        do {
            return try encoder.encode(value)
        } catch {
            preconditionFailure("a response body failed to encode: \(error)")
        }
    }

    /// A scan of the raw bytes, outside strings, for nesting deeper than `maximumDepth`; linear in the size
    /// and bounded in memory, so a hostile body is refused before a parser recurses into it.
    static func nestingProblem(_ bytes: some Collection<UInt8>) -> String? {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maximumDepth { return "the body nests deeper than \(maximumDepth) levels" }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth < 0 { return "the body is not JSON (unbalanced brackets)" }
            default:
                break
            }
        }
        return nil
    }

    /// What a decoding error says, with the JSON path of the field at fault (`properties.policyId`).
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? "." + key.stringValue }.joined()
            let trimmed = text.hasPrefix(".") ? String(text.dropFirst()) : text
            return trimmed.isEmpty ? "the body" : "'\(trimmed)'"
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(typeName(type)), not null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is required"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the body is not JSON" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "the body is not the shape this operation takes"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : (String(describing: type).hasPrefix("Dictionary") ? "an object" : "an object")
        }
    }
}
