import CofferModel

/// One manifest file's bytes, checked to be YAML-able UTF-8 text, with its lines for diagnostics' snippets.
///
/// Lines break where libyaml breaks them (LF, CR LF, CR, NEL, LS and PS), and columns count Unicode
/// scalars, so that a position from the parser and a position from this file agree.
final class SourceText {
    /// The path diagnostics print.
    let path: String
    /// The text's bytes, without a UTF-8 byte-order mark.
    let bytes: [UInt8]
    private var lineStarts: [Int]?

    private init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    /// The location of a 1-based line and column in this file.
    func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: path, line: line, column: column)
    }

    /// Lines longer than this many bytes get no snippet: a snippet is for reading, and a hostile one-line
    /// file must not cost a copy of itself per diagnostic.
    static let maxSnippetBytes = 1_000

    /// The text of a 1-based line without its line break, or nil past the end or when the line is too long
    /// to show.
    func line(_ number: Int) -> String? {
        let starts = computeLineStarts()
        guard number >= 1, number <= starts.count else { return nil }
        let start = starts[number - 1]
        var end = start
        while end < bytes.count, breakLength(at: end) == 0 {
            end += 1
            if end - start > Self.maxSnippetBytes { return nil }
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The byte offset of a 1-based line and column, or nil when the file has no such position.
    func byteOffset(line: Int, column: Int) -> Int? {
        let starts = computeLineStarts()
        guard line >= 1, line <= starts.count, column >= 1 else { return nil }
        var offset = starts[line - 1]
        var remaining = column - 1
        while remaining > 0 {
            guard offset < bytes.count, breakLength(at: offset) == 0 else { return nil }
            offset += 1
            while offset < bytes.count, bytes[offset] & 0xC0 == 0x80 { offset += 1 }
            remaining -= 1
        }
        return offset
    }

    /// Where flow collections opened at `start` first nest `levels` deep, found by counting brackets outside
    /// quotes and comments; nil when they never do.
    func flowNesting(from start: Int, reaching levels: Int) -> (line: Int, column: Int)? {
        var depth = 0
        var index = start
        var quote: UInt8?
        var previous: UInt8 = 0x20
        while index < bytes.count {
            let byte = bytes[index]
            if let open = quote {
                if byte == UInt8(ascii: "\\") && open == UInt8(ascii: "\"") {
                    index += 1
                } else if byte == open {
                    quote = nil
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    quote = byte
                case UInt8(ascii: "#") where previous == 0x20 || previous == 0x0A || previous == 0x09 || previous == 0x0D:
                    while index < bytes.count, breakLength(at: index) == 0 { index += 1 }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                    if depth >= levels { return position(ofByteOffset: index) }
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    depth -= 1
                    if depth <= 0 { return nil }
                default:
                    break
                }
            }
            previous = index < bytes.count ? bytes[index] : 0
            index += 1
        }
        return nil
    }

    /// The 1-based line and column of a byte offset.
    func position(ofByteOffset offset: Int) -> (line: Int, column: Int) {
        let starts = computeLineStarts()
        var low = 0
        var high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= min(offset, bytes.count) { low = middle } else { high = middle - 1 }
        }
        let start = starts[low]
        let end = min(max(offset, start), bytes.count)
        let column = bytes[start..<end].reduce(0) { $0 + (($1 & 0xC0) == 0x80 ? 0 : 1) }
        return (low + 1, column + 1)
    }

    private func computeLineStarts() -> [Int] {
        if let lineStarts { return lineStarts }
        var starts = [0]
        var index = 0
        while index < bytes.count {
            let length = breakLength(at: index)
            if length > 0 {
                index += length
                starts.append(index)
            } else {
                index += 1
            }
        }
        lineStarts = starts
        return starts
    }

    /// The length in bytes of the line break at `index`, 0 when there is none.
    private func breakLength(at index: Int) -> Int {
        Self.breakLength(bytes, at: index)
    }

    static func breakLength(_ bytes: [UInt8], at index: Int) -> Int {
        switch bytes[index] {
        case 0x0A: return 1
        case 0x0D: return index + 1 < bytes.count && bytes[index + 1] == 0x0A ? 2 : 1
        case 0xC2: return index + 1 < bytes.count && bytes[index + 1] == 0x85 ? 2 : 0
        case 0xE2:
            return index + 2 < bytes.count && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9)
                ? 3 : 0
        default: return 0
        }
    }

    /// The source of `bytes`, and the diagnostic that explains why libyaml must not read it, if any: a UTF-16
    /// or UTF-32 byte-order mark, a NUL byte, a control character or invalid UTF-8.
    static func checked(path: String, bytes: [UInt8]) -> (source: SourceText, problem: Diagnostic?) {
        var body = bytes
        if body.starts(with: [0xEF, 0xBB, 0xBF]) {
            body.removeFirst(3)
        } else if body.starts(with: [0x00, 0x00, 0xFE, 0xFF]) || body.starts(with: [0xFF, 0xFE, 0x00, 0x00])
            || body.starts(with: [0xFE, 0xFF]) || body.starts(with: [0xFF, 0xFE])
        {
            let which = body.count >= 4 && (body[2] == 0 && body[3] == 0 || body[0] == 0) ? "UTF-32" : "UTF-16"
            return (
                SourceText(path: path, bytes: body),
                Diagnostic.error(
                    ManifestCode.unsupportedEncoding.rawValue, "the file starts with a \(which) byte-order mark",
                    at: SourceLocation(file: path, line: 1, column: 1),
                    detail: "manifests are read as UTF-8 only",
                    hint: "save the file as UTF-8 (a UTF-8 byte-order mark is accepted)"))
        }
        let source = SourceText(path: path, bytes: body)
        return (source, source.firstEncodingProblem())
    }

    /// Scans the bytes once, following lines and columns, and returns the first encoding problem.
    private func firstEncodingProblem() -> Diagnostic? {
        var line = 1
        var column = 1
        var index = 0
        let count = bytes.count
        func at() -> SourceLocation { SourceLocation(file: path, line: line, column: column) }
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                switch byte {
                case 0x00:
                    return .error(
                        ManifestCode.nulByte.rawValue, "the file contains a NUL byte", at: at(),
                        detail: "a NUL byte means the file is binary, or text in an encoding other than UTF-8",
                        hint: "manifests are UTF-8 text; if this is UTF-16, save it as UTF-8")
                case 0x0A:
                    line += 1
                    column = 1
                case 0x0D:
                    if index + 1 < count, bytes[index + 1] == 0x0A { index += 1 }
                    line += 1
                    column = 1
                case 0x09:
                    column += 1
                case 0x01...0x1F, 0x7F:
                    return controlCharacter(UInt32(byte), at: at())
                default:
                    column += 1
                }
                index += 1
                continue
            }
            guard let (scalar, length) = decodeScalar(at: index) else {
                return .error(
                    ManifestCode.invalidUTF8.rawValue,
                    "invalid UTF-8: byte 0x\(String(byte, radix: 16, uppercase: true)) does not start a valid sequence",
                    at: at(), detail: "the file is binary or in an encoding other than UTF-8",
                    hint: "manifests are UTF-8 text: save the file as UTF-8")
            }
            index += length
            switch scalar {
            case 0x85, 0x2028, 0x2029:
                line += 1
                column = 1
            case 0x80...0x9F, 0xFEFF, 0xFFFE, 0xFFFF:
                return controlCharacter(scalar, at: at())
            default:
                column += 1
            }
        }
        return nil
    }

    private func controlCharacter(_ scalar: UInt32, at location: SourceLocation) -> Diagnostic {
        var hex = String(scalar, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        let what = scalar == 0xFEFF ? "a byte-order mark inside the file" : "control character U+\(hex)"
        return .error(
            ManifestCode.controlCharacter.rawValue, "\(what) is not allowed in YAML", at: location,
            hint: "remove it, or write it as an escape (\"\\u\(hex)\") inside a double-quoted string")
    }

    /// Decodes the UTF-8 sequence at `index`, refusing overlong forms, surrogates and values past U+10FFFF.
    private func decodeScalar(at index: Int) -> (UInt32, Int)? {
        let lead = bytes[index]
        let length: Int
        var value: UInt32
        let minimum: UInt32
        switch lead {
        case 0xC2...0xDF: (length, value, minimum) = (2, UInt32(lead & 0x1F), 0x80)
        case 0xE0...0xEF: (length, value, minimum) = (3, UInt32(lead & 0x0F), 0x800)
        case 0xF0...0xF4: (length, value, minimum) = (4, UInt32(lead & 0x07), 0x10000)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let next = bytes[index + offset]
            guard next & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(next & 0x3F)
        }
        guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { return nil }
        return (value, length)
    }
}
