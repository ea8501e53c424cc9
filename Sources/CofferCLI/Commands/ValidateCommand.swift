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
            FileHandle.standardOutput.write(Data(report.json().utf8))
        case .text:
            let colour = TerminalStyle.colourAllowed(isTerminal: isatty(STDOUT_FILENO) == 1)
            FileHandle.standardOutput.write(Data(report.text(colour: colour).utf8))
        }
        if !report.valid { throw ExitCode(CofferExitCode.invalidInput.rawValue) }
    }
}

/// When output may be coloured: on a terminal, and never when `NO_COLOR` is set (https://no-color.org).
enum TerminalStyle {
    static func colourAllowed(isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        isTerminal && (environment["NO_COLOR"] ?? "").isEmpty
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
    func json() -> String {
        let document = Document(
            formatVersion: "1", valid: valid, resources: result.resourceCount,
            diagnostics: result.diagnostics.map(Entry.init))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail.
        let data = try! encoder.encode(document)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private struct Document: Encodable {
        var formatVersion: String
        var valid: Bool
        var resources: Int
        var diagnostics: [Entry]

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version", valid, resources, diagnostics
        }
    }

    private struct Entry: Encodable {
        var severity: String
        var code: String
        var summary: String
        var detail: String?
        var hint: String?
        var range: SourceLocation?

        init(_ diagnostic: Diagnostic) {
            severity = diagnostic.severity.rawValue
            code = diagnostic.code
            summary = diagnostic.summary
            detail = diagnostic.detail
            hint = diagnostic.hint
            range = diagnostic.location
        }

        enum CodingKeys: String, CodingKey { case severity, code, summary, detail, hint, range }

        func encode(to encoder: Encoder) throws {
            // Absent values are written as null, so that every entry has the same keys.
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(severity, forKey: .severity)
            try container.encode(code, forKey: .code)
            try container.encode(summary, forKey: .summary)
            try container.encode(detail, forKey: .detail)
            try container.encode(hint, forKey: .hint)
            try container.encode(range, forKey: .range)
        }
    }
}
