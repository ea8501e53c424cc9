/// One YAML file's bytes, checked to be YAML-able UTF-8 text, with its lines for diagnostics' snippets.
///
/// Lines break where libyaml breaks them (LF, CR LF, CR, NEL, LS and PS), and columns count Unicode
/// scalars, so that a position from the parser and a position from this file agree.
public final class SourceText {
    /// The path diagnostics print.
    public let path: String
    /// The text's bytes, without a UTF-8 byte-order mark.
    public let bytes: [UInt8]
    private var lineStarts: [Int]?

    private init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    /// Lines longer than this many bytes get no snippet: a snippet is for reading, and a hostile one-line
    /// file must not cost a copy of itself per diagnostic.
    public static let maxSnippetBytes = 1_000

    /// The text of a 1-based line without its line break, or nil past the end or when the line is too long
    /// to show.
    public func line(_ number: Int) -> String? {
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

    /// The 1-based line and column of a byte offset.
    public func position(ofByteOffset offset: Int) -> (line: Int, column: Int) {
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

    /// The source of `bytes`, and the problem that means libyaml must not read it, if any: a UTF-16 or
    /// UTF-32 byte-order mark, a NUL byte, a control character or invalid UTF-8. A UTF-8 byte-order mark is
    /// accepted and skipped.
    public static func checked(path: String, bytes: [UInt8]) -> (source: SourceText, problem: YAMLProblem?) {
        var body = bytes
        if body.starts(with: [0xEF, 0xBB, 0xBF]) {
            body.removeFirst(3)
        } else if body.starts(with: [0x00, 0x00, 0xFE, 0xFF]) || body.starts(with: [0xFF, 0xFE, 0x00, 0x00])
            || body.starts(with: [0xFE, 0xFF]) || body.starts(with: [0xFF, 0xFE])
        {
            let which = body.count >= 4 && (body[2] == 0 && body[3] == 0 || body[0] == 0) ? "UTF-32" : "UTF-16"
            return (
                SourceText(path: path, bytes: body),
                YAMLProblem(.unsupportedEncoding(encoding: which), at: YAMLMark(line: 1, column: 1)))
        }
        let source = SourceText(path: path, bytes: body)
        return (source, source.firstEncodingProblem())
    }

    /// Scans the bytes once, following lines and columns, and returns the first encoding problem.
    private func firstEncodingProblem() -> YAMLProblem? {
        var line = 1
        var column = 1
        var index = 0
        let count = bytes.count
        func at() -> YAMLMark { YAMLMark(line: line, column: column) }
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                switch byte {
                case 0x00:
                    return YAMLProblem(.nulByte, at: at())
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
                    return YAMLProblem(.controlCharacter(scalar: UInt32(byte)), at: at())
                default:
                    column += 1
                }
                index += 1
                continue
            }
            guard let (scalar, length) = decodeScalar(at: index) else {
                return YAMLProblem(.invalidUTF8(byte: byte), at: at())
            }
            index += length
            switch scalar {
            case 0x85, 0x2028, 0x2029:
                line += 1
                column = 1
            case 0x80...0x9F, 0xFEFF, 0xFFFE, 0xFFFF:
                return YAMLProblem(.controlCharacter(scalar: scalar), at: at())
            default:
                column += 1
            }
        }
        return nil
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
