import CofferModel
import Foundation

/// Prints diagnostics compiler-style, filling in the source line from the file when the diagnostic has a
/// location but no snippet yet.
enum DiagnosticRendering {
    static func render(_ diagnostics: [Diagnostic], terminal: Terminal) -> String {
        var cache: [String: [Substring]] = [:]
        return diagnostics.sortedForDisplay().map { diagnostic in
            var diagnostic = diagnostic
            if diagnostic.sourceLine == nil, let location = diagnostic.location {
                if cache[location.file] == nil, let data = FileManager.default.contents(atPath: location.file) {
                    cache[location.file] = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                }
                if let lines = cache[location.file], location.line >= 1, location.line <= lines.count {
                    diagnostic.sourceLine = String(lines[location.line - 1])
                }
            }
            return colour(diagnostic.rendered(), severity: diagnostic.severity, terminal: terminal)
        }.joined(separator: "\n\n")
    }

    /// Colours the severity word of the first line.
    private static func colour(_ text: String, severity: Severity, terminal: Terminal) -> String {
        guard terminal.color, let range = text.range(of: "\(severity.rawValue)[") else { return text }
        let style: Terminal.Style = severity == .error ? .red : (severity == .warning ? .yellow : .cyan)
        var result = text
        result.replaceSubrange(range, with: terminal.paint(severity.rawValue, style) + "[")
        return result
    }

    /// The JSON form of a diagnostic, as every `--output json` document carries it.
    static func json(_ diagnostic: Diagnostic) -> [String: Any] {
        var object: [String: Any] = [
            "severity": diagnostic.severity.rawValue, "code": diagnostic.code, "summary": diagnostic.summary,
        ]
        object["detail"] = diagnostic.detail ?? NSNull()
        object["hint"] = diagnostic.hint ?? NSNull()
        if let location = diagnostic.location {
            object["range"] = ["file": location.file, "line": location.line, "column": location.column]
        } else {
            object["range"] = NSNull()
        }
        return object
    }
}

/// Serialises a JSON object with sorted keys, so that output is stable.
func jsonData(_ object: Any) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
}
