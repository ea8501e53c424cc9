/// `count` random bytes as lower-case hexadecimal, for names that must not collide.
func randomHex(_ count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return hexEncoded((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
}

/// Lower-case hexadecimal of bytes.
func hexEncoded<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Bytes from lower-case or upper-case hexadecimal, or nil when the text is not hexadecimal.
func bytes(fromHex text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
    var out = [UInt8]()
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
        out.append(high << 4 | low)
        i += 2
    }
    return out
}
