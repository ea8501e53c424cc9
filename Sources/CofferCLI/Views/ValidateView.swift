import CofferManifest
import CofferModel
import Foundation

/// How `coffer validate` shows what it found: every diagnostic and a summary line, or one JSON document.
protocol ValidateView {
    func report(_ report: ValidationReport) throws
}

extension OutputFormat {
    /// The validate view of this format.
    var validateView: any ValidateView {
        switch self {
        case .text: ValidateTextView(colour: Terminal.forStandardOutput().color)
        case .json: ValidateJSONView()
        }
    }
}

struct ValidateTextView: ValidateView {
    var colour: Bool

    func report(_ report: ValidationReport) throws {
        Console.current.write(report.text(colour: colour))
    }
}

struct ValidateJSONView: ValidateView {
    func report(_ report: ValidationReport) throws {
        Console.current.write(try report.json())
    }
}

/// What `coffer validate` prints for a load result, for people (text) and for programs (JSON).
struct ValidationReport {
    var result: ManifestLoadResult

    /// Whether the manifests are valid: no error (warnings are allowed).
    var valid: Bool { result.state != nil }

    /// Each diagnostic compiler-style, a blank line between them, then the summary line.
    func text(colour: Bool) -> String {
        var out = ""
        for diagnostic in result.diagnostics {
            out += Self.render(diagnostic, colour: colour) + "\n\n"
        }
        out += summary + "\n"
        return out
    }

    /// `N errors, M warnings in K files`.
    var summary: String {
        let errors = result.errorCount
        let warnings = result.warningCount
        let files = result.files.count
        return "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s")"
    }

    /// One diagnostic as every command renders it (`DiagnosticRendering`), coloured when `colour`.
    static func render(_ diagnostic: Diagnostic, colour: Bool) -> String {
        DiagnosticRendering.render(diagnostic, terminal: Terminal(color: colour))
    }

    /// The versioned JSON document of `--output json`, with a final newline.
    func json() throws -> String {
        try JSONOutput.text(Versioned(Document(valid: valid, resources: result.resourceCount, diagnostics: result.diagnostics.map(DiagnosticJSON.init)))) + "\n"
    }

    private struct Document: Encodable {
        var valid: Bool
        var resources: Int
        var diagnostics: [DiagnosticJSON]
    }
}
