/// A request path as Azure Resource Manager reads it: split on `/` before percent-decoding (so `%2F` never
/// makes a segment), each segment percent-decoded (the SDKs send `;` as `%3B` in container and item names),
/// and empty segments dropped (az sends `storageAccounts//name`).
///
/// Segment names are matched case-insensitively, as ARM matches them; the values keep the caller's case.
public struct ARMPath: Sendable, Hashable, CustomStringConvertible {
    /// The longest path accepted, in bytes; ARM ids are far shorter.
    public static let maximumLength = 4096
    /// The most segments accepted.
    public static let maximumSegments = 64

    /// The decoded segments, without empty ones.
    public let segments: [String]
    /// Whether the raw path ended with `/` (the cross-region restore routes differ from the others by it).
    public let hasTrailingSlash: Bool

    /// Parses a raw path (without the query); nil when it is too long, has too many segments, or holds a
    /// malformed percent-escape or bytes that are not UTF-8.
    public init?(raw: String) {
        guard raw.utf8.count <= Self.maximumLength else { return nil }
        var segments: [String] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = Self.percentDecoded(part), !decoded.isEmpty else { return nil }
            segments.append(decoded)
            if segments.count > Self.maximumSegments { return nil }
        }
        self.segments = segments
        self.hasTrailingSlash = raw.hasSuffix("/") && !segments.isEmpty
    }

    /// A path from segments that are already decoded.
    public init(segments: [String]) {
        self.segments = segments.filter { !$0.isEmpty }
        self.hasTrailingSlash = false
    }

    public var description: String { "/" + segments.joined(separator: "/") }

    /// The values of the pattern's parameters, when the path has the pattern's shape.
    public func match(_ pattern: ARMPathPattern) -> ARMPathMatch? {
        guard pattern.parts.count == segments.count else { return nil }
        var values: [String: String] = [:]
        for (part, segment) in zip(pattern.parts, segments) {
            switch part {
            case .literal(let lowered):
                guard segment.lowercased() == lowered else { return nil }
            case .parameter(let name):
                values[name] = segment
            }
        }
        return ARMPathMatch(values: values)
    }

    /// `%XX` escapes decoded as UTF-8; nil for a malformed escape or invalid UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The shape of a route: literal segments (compared case-insensitively) and `{parameter}` segments, such as
/// `subscriptions/{subscription}/resourceGroups/{resourceGroup}/providers/Microsoft.RecoveryServices/vaults/{vault}`.
public struct ARMPathPattern: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public enum Part: Sendable, Hashable {
        /// A fixed segment, lower-cased.
        case literal(String)
        case parameter(String)
    }

    public let parts: [Part]
    public let description: String

    public init(_ text: String) {
        description = text
        parts = text.split(separator: "/").map { segment in
            if segment.hasPrefix("{") && segment.hasSuffix("}") {
                return .parameter(String(segment.dropFirst().dropLast()))
            }
            return .literal(segment.lowercased())
        }
    }

    public init(stringLiteral value: String) { self.init(value) }
}

/// The parameter values of a matched path.
public struct ARMPathMatch: Sendable, Hashable {
    public let values: [String: String]

    /// The value of a parameter of the pattern; a programmer error for a name the pattern does not have.
    public subscript(_ name: String) -> String {
        guard let value = values[name] else { preconditionFailure("the route has no parameter {\(name)}") }
        return value
    }
}
