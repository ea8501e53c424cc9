import ArgumentParser
import CofferManifest
import CofferModel
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check manifests and print every problem found.",
        discussion: """
            Reads every .yaml/.yml file under the given paths and prints each problem compiler-style \
            (file:line:column, the line, a caret and a hint), then 'N errors, M warnings in K files'. \
            Exits 0 when the manifests are valid (warnings allowed) and 65 when they are not. \
            With --output json, prints {"format_version": "1", "valid", "resources", "diagnostics"} instead. \
            Validation reads files only: it never opens the platform or the state directory.

            Examples:
              coffer validate manifests/
              coffer validate manifests/vaults.yaml manifests/policies.yaml
              coffer validate manifests/ --output json | jq '.diagnostics[].code'
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Manifest files or directories (read recursively).", completion: CofferCompletion.manifests) var paths: [String]
    @Option(help: OutputFormat.help("valid, the resource count and every diagnostic with its range.")) var output: OutputFormat = .text

    func run() throws {
        let result = ManifestLoader().load(paths: paths)
        let report = ValidationReport(result: result)
        switch output {
        case .json:
            Console.current.write(try report.json())
        case .text:
            Console.current.write(report.text(colour: Terminal.forStandardOutput().color))
        }
        if !report.valid { throw ExitCode(CofferExitCode.invalidInput.rawValue) }
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
