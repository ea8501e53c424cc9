import ArgumentParser
import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "The semantic difference between two revisions' desired states.",
        discussion: """
            Not a line diff: resources added, removed and changed attribute by attribute, with defaults \
            applied, so that reformatting or moving a document between files shows no difference. Reads both \
            revisions from git without a checkout and never touches the platform.

            Examples:
              coffer diff v1.2 main --path manifests
              coffer diff HEAD~1 HEAD --repo /srv/backup-config --path manifests \\
                  --output json
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The older revision: a branch, tag or commit.") var from: String
    @Argument(help: "The newer revision: a branch, tag or commit.") var to: String
    @Option(help: ArgumentHelp("The git repository: a path, or a file:// URL to clone.", valueName: "dir|url"), completion: .directory)
    var repo: String = "."
    @Option(help: ArgumentHelp("The manifests' folder inside the repository (default: its root).", valueName: "subdir")) var path: String?
    @Option(help: OutputFormat.help("added, removed, and changed with each path's before and after.")) var output: OutputFormat = .text

    func run() throws {
        let view = output.diffView
        let state = global.stateDirectory(environment: ProcessInfo.processInfo.environment)
        let repository = try GitMirror.open(repo, stateDirectory: state, fetch: true)
        do {
            let diff = try DesiredStateDiff.between(from, and: to, in: repository, repository: repo, path: path)
            try view.diff(diff)
        } catch let error as GitOpsError where error.code == .invalidManifests {
            view.invalidManifests(error.diagnostics)
            throw CLIError(code: error.code.rawValue, message: error.message, hint: error.hint, exitCode: .invalidInput)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(code: "git", message: String(describing: error), hint: nil, exitCode: ExitStatus.contract(for: error), underlying: error)
        }
    }
}
