/// An identifier that is its text alone: compared, hashed, printed and encoded (as a single string) as it.
public protocol TextIdentifier: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The identifier's text.
    var rawValue: String { get }
    /// Wraps an identifier's text.
    init(rawValue: String)
}

extension TextIdentifier {
    /// Wraps an identifier's text.
    public init(_ rawValue: String) { self.init(rawValue: rawValue) }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The identifier of a snapshot of one block device, such as `snap-000003-9f2c41d0`; snapshots of a device
/// sort by creation in the order `BlockDevice.snapshots()` returns them.
public struct SnapshotID: TextIdentifier {
    /// The identifier's text.
    public let rawValue: String

    /// Wraps an identifier that `BlockDevice.takeSnapshot()` returned earlier.
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// The identifier of a recovery point in a vault store, such as `rp-20250301T020000Z-5c1e9a7b03d2f6e4`;
/// identifiers sort by creation time.
public struct RecoveryPointID: TextIdentifier {
    /// The identifier's text.
    public let rawValue: String

    /// Wraps an identifier that `VaultStore.backup` returned earlier.
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// Whether an identifier can name a file: 1 to 100 ASCII letters, digits, `-` or `_`, not starting with `-`.
func isSafeFileName(_ text: String) -> Bool {
    let utf8 = Array(text.utf8)
    guard !utf8.isEmpty, utf8.count <= 100, utf8[0] != UInt8(ascii: "-") else { return false }
    return utf8.allSatisfy { byte in
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}
