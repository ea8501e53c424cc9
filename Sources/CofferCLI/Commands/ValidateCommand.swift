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
        let view = output.validateView
        let report = ValidationReport(result: ManifestLoader().load(paths: paths))
        try view.report(report)
        if !report.valid { throw ExitCode(CofferExitCode.invalidInput.rawValue) }
    }
}
