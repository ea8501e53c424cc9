import CofferModel
import Foundation

/// Prints diagnostics compiler-style. A diagnostic's source line comes with it, from the text that was
/// loaded (the manifest loader's, or `ManifestSources` for the plan's): the working tree is never read
/// again, so a plan of a commit shows that commit's lines.
enum DiagnosticRendering {
    static func render(_ diagnostics: [Diagnostic], terminal: Terminal) -> String {
        diagnostics.sortedForDisplay().map { render($0, terminal: terminal) }.joined(separator: "\n\n")
    }

    /// One diagnostic compiler-style (`Diagnostic.rendered()`); on a colour terminal the location is bold and
    /// the severity bold red, yellow or cyan. The one renderer of every command's diagnostics.
    static func render(_ diagnostic: Diagnostic, terminal: Terminal) -> String {
        let plain = diagnostic.rendered()
        guard terminal.color else { return plain }
        let rest = plain[(plain.firstIndex(of: "\n") ?? plain.endIndex)...]
        let tint: Terminal.Style = switch diagnostic.severity {
        case .error: .red
        case .warning: .yellow
        case .note: .cyan
        }
        let location = diagnostic.location.map { terminal.paint("\($0):", .bold) + " " } ?? ""
        return location + terminal.paint(diagnostic.severity.rawValue, .bold, tint) + "[\(diagnostic.code)]: " + diagnostic.summary + rest
    }

}

/// The JSON form of a diagnostic, as every `--output json` document carries it: every key present, absent
/// values as null.
struct DiagnosticJSON: Encodable {
    var diagnostic: Diagnostic

    init(_ diagnostic: Diagnostic) { self.diagnostic = diagnostic }

    enum CodingKeys: String, CodingKey { case severity, code, summary, detail, hint, range }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(diagnostic.severity.rawValue, forKey: .severity)
        try container.encode(diagnostic.code, forKey: .code)
        try container.encode(diagnostic.summary, forKey: .summary)
        try container.encodeOrNull(diagnostic.detail, forKey: .detail)
        try container.encodeOrNull(diagnostic.hint, forKey: .hint)
        try container.encodeOrNull(diagnostic.location, forKey: .range)
    }
}
