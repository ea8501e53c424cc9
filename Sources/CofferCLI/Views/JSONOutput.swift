import Foundation

/// Every `--output json` document is written here: one encoder (sorted keys, pretty-printed, slashes
/// unescaped, ISO 8601 dates), one `format_version`, a final newline. Documents are `Encodable` values.
enum JSONOutput {
    /// The version every document carries as `"format_version"`.
    static let formatVersion = "1"

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// `value` as JSON text, without a final newline.
    static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    /// Prints `document` with its `format_version` to the console's standard output.
    static func print<T: Encodable>(_ document: T) throws {
        Console.current.print(try text(Versioned(document)))
    }

    /// Prints `items` as an array under `key`, with the `format_version`.
    static func print<T: Encodable>(_ items: [T], under key: String) throws {
        try print(Keyed(key: key, value: items))
    }
}

/// A document with `"format_version"` added beside the keys of the object it wraps.
struct Versioned<Body: Encodable>: Encodable {
    var body: Body

    init(_ body: Body) { self.body = body }

    func encode(to encoder: any Encoder) throws {
        try body.encode(to: encoder)
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(JSONOutput.formatVersion, forKey: DynamicKey("format_version"))
    }
}

/// One value under a key chosen at run time: `{"vaults": [...]}`.
struct Keyed<Value: Encodable>: Encodable {
    var key: String
    var value: Value

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(value, forKey: DynamicKey(key))
    }
}

/// A coding key made from a string.
struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedEncodingContainer {
    /// Encodes `value`, or `null` when it is nil, so that every document of a kind has the same keys.
    mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
