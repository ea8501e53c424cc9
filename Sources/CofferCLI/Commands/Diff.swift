import ArgumentParser
import CofferModel
import CofferReconciler
import Foundation

/// The semantic difference between two desired states: resources added, removed, and changed attribute by
/// attribute.
struct DesiredStateDiff {
    struct Change {
        var path: String
        var before: AttributeValue
        var after: AttributeValue
    }

    var added: [DesiredResource] = []
    var removed: [DesiredResource] = []
    var changed: [(ResourceAddress, [Change])] = []

    init(from old: DesiredState, to new: DesiredState) throws {
        let oldByAddress = Dictionary(uniqueKeysWithValues: old.resources.map { ($0.address, $0) })
        let newByAddress = Dictionary(uniqueKeysWithValues: new.resources.map { ($0.address, $0) })
        for address in Set(oldByAddress.keys).union(newByAddress.keys).sorted() {
            switch (oldByAddress[address], newByAddress[address]) {
            case (nil, let added?): self.added.append(added)
            case (let removed?, nil): self.removed.append(removed)
            case (let before?, let after?):
                let a = try before.spec.attributes()
                let b = try after.spec.attributes()
                var changes = a.changedPaths(to: b).map { Change(path: $0, before: a.value(at: $0) ?? .null, after: b.value(at: $0) ?? .null) }
                if before.labels != after.labels {
                    changes.append(Change(path: "metadata.labels", before: try AttributeValue(encoding: before.labels), after: try AttributeValue(encoding: after.labels)))
                }
                if !changes.isEmpty { changed.append((address, changes)) }
            default: break
            }
        }
    }

    var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    func text(terminal: Terminal) -> String {
        guard !isEmpty else { return "No differences in the desired state." }
        var lines: [String] = []
        for resource in added { lines.append(terminal.paint("+ \(resource.address)", .green) + " (added)") }
        for resource in removed { lines.append(terminal.paint("- \(resource.address)", .red) + " (removed)") }
        for (address, changes) in changed {
            lines.append(terminal.paint("~ \(address)", .yellow))
            for change in changes { lines.append("    ~ \(change.path): \(change.before.rendered) -> \(change.after.rendered)") }
        }
        lines.append("")
        lines.append("\(added.count) added, \(changed.count) changed, \(removed.count) removed.")
        return lines.joined(separator: "\n")
    }

    func json() throws -> [String: Any] {
        func value(_ attribute: AttributeValue) throws -> Any {
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(attribute), options: [.fragmentsAllowed])
        }
        return [
            "format_version": "1",
            "added": added.map(\.address.description),
            "removed": removed.map(\.address.description),
            "changed": try changed.map { address, changes in
                [
                    "address": address.description,
                    "changes": try changes.map { ["path": $0.path, "before": try value($0.before), "after": try value($0.after)] },
                ] as [String: Any]
            },
        ]
    }
}

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
        let state = global.stateDirectory(environment: ProcessInfo.processInfo.environment)
        let repository = try GitSource.open(repo, stateDirectory: state, fetch: true)
        func desired(_ revision: String) throws -> DesiredState {
            let commit = try repository.resolve(revision)
            let loaded = try ManifestSource.load(repo: repository, repository: repo, ref: revision, commit: commit, path: path)
            guard let state = loaded.result.state else {
                printError(DiagnosticRendering.render(loaded.result.diagnostics, terminal: .forStandardError()))
                throw CLIError(code: "invalid-manifests", message: "the manifests at \(revision) are invalid", hint: "coffer validate shows why", exitCode: .invalidInput)
            }
            return state
        }
        do {
            let diff = try DesiredStateDiff(from: try desired(from), to: try desired(to))
            switch output {
            case .text: Console.current.print(diff.text(terminal: .forStandardOutput()))
            case .json: Console.current.print(String(decoding: try JSONSerialization.data(withJSONObject: try diff.json(), options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]), as: UTF8.self))
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(code: "git", message: String(describing: error), hint: nil, exitCode: ExitStatus.contract(for: error), underlying: error)
        }
    }
}
