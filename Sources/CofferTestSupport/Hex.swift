import CofferSystem
/// Decodes a hexadecimal string (whitespace ignored) into bytes, for known-answer vectors.
public func hex(_ text: String) throws -> [UInt8] {
    let digits = text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init)
    guard digits.count % 2 == 0 else { throw HexError(text: text) }
    var bytes = [UInt8]()
    bytes.reserveCapacity(digits.count / 2)
    var index = digits.startIndex
    while index < digits.endIndex {
        guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { throw HexError(text: text) }
        bytes.append(byte)
        index += 2
    }
    return bytes
}

/// Lower-case hexadecimal of bytes.
public func hexString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    Hex.encode(bytes)
}

public struct HexError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { "not a hexadecimal string: \(text.prefix(40))" }
}
