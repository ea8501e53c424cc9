import CofferModel
import CofferYAML

/// Collects the diagnostics of one load, each with its source line, up to a limit.
final class DiagnosticSink {
    private(set) var diagnostics: [Diagnostic] = []
    private var dropped = 0
    private let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Whether an error has been reported (dropped ones included).
    private(set) var hasErrors = false

    /// Reports a problem; its severity follows from the code.
    func report(
        _ code: ManifestCode, _ summary: String, at location: SourceLocation?, in source: SourceText?,
        detail: String? = nil, hint: String? = nil
    ) {
        guard !isFull else {
            drop(code)
            return
        }
        var diagnostic = Diagnostic(
            severity: code.isWarning ? .warning : .error, code: code.rawValue, summary: summary, detail: detail,
            hint: hint, location: location)
        if let location, let source, location.file == source.path {
            diagnostic.sourceLine = source.line(location.line)
        }
        add(diagnostic)
    }

    /// Adds a diagnostic made elsewhere, with the source line its location points into.
    func add(_ diagnostic: Diagnostic, in source: SourceText) {
        var diagnostic = diagnostic
        if let location = diagnostic.location, location.file == source.path {
            diagnostic.sourceLine = source.line(location.line)
        }
        add(diagnostic)
    }

    /// Whether the limit is reached: callers skip costly work (suggestions) for diagnostics that will be
    /// dropped anyway.
    var isFull: Bool { diagnostics.count >= limit }

    /// How many more diagnostics are kept before the limit.
    var remainingCapacity: Int { max(0, limit - diagnostics.count) }

    /// Counts a diagnostic past the limit without building it.
    func drop(_ code: ManifestCode) {
        if !code.isWarning { hasErrors = true }
        dropped += 1
    }

    /// Adds a diagnostic made elsewhere.
    func add(_ diagnostic: Diagnostic) {
        var diagnostic = diagnostic
        diagnostic.sourceLine = diagnostic.sourceLine.map(Self.printable)
        // Summaries quote values from the file, which may span lines or hold control characters.
        diagnostic.summary = Self.escaped(diagnostic.summary)
        diagnostic.detail = diagnostic.detail.map(Self.escaped)
        diagnostic.hint = diagnostic.hint.map(Self.escaped)
        if diagnostic.severity == .error { hasErrors = true }
        guard diagnostics.count < limit else {
            dropped += 1
            return
        }
        diagnostics.append(diagnostic)
    }

    /// The line with every control character but tab replaced by U+FFFD, so that printing a snippet of a
    /// hostile file cannot send escape sequences to a terminal; one scalar stays one scalar, so the caret
    /// still lines up.
    static func printable(_ line: String) -> String {
        guard line.unicodeScalars.contains(where: isControl) else { return line }
        var result = String.UnicodeScalarView()
        for scalar in line.unicodeScalars { result.append(isControl(scalar) ? "\u{FFFD}" : scalar) }
        return String(result)
    }

    /// The text on one line: line breaks, tabs and other control characters written as escapes.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where needsEscape(scalar): result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar != "\t" && (scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value))
    }

    /// The diagnostics, sorted for display, with a last one counting those past the limit.
    func finish() -> [Diagnostic] {
        var result = diagnostics.sortedForDisplay()
        if dropped > 0 {
            result.append(
                .error(
                    ManifestCode.tooManyDiagnostics.rawValue,
                    "\(dropped) more problem\(dropped == 1 ? "" : "s") not shown",
                    detail: "only the first \(limit) diagnostics are reported",
                    hint: "fix the problems above and validate again"))
        }
        return result
    }
}
