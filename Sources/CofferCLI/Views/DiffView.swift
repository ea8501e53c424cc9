import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation

/// How `coffer diff` shows the difference between two desired states: `+`, `-` and `~` lines, or the
/// difference's JSON document.
protocol DiffView {
    func diff(_ diff: DesiredStateDiff) throws
    /// The diagnostics of a revision whose manifests do not load, on standard error in either format.
    func invalidManifests(_ diagnostics: [Diagnostic])
}

extension OutputFormat {
    /// The diff view of this format.
    var diffView: any DiffView {
        switch self {
        case .text: DiffTextView(terminal: .forStandardOutput())
        case .json: DiffJSONView()
        }
    }
}

extension DiffView {
    func invalidManifests(_ diagnostics: [Diagnostic]) {
        printError(DiagnosticRendering.render(diagnostics, terminal: .forStandardError()))
    }
}

struct DiffTextView: DiffView {
    var terminal: Terminal

    func diff(_ diff: DesiredStateDiff) throws {
        Console.current.print(diff.text(terminal: terminal))
    }
}

struct DiffJSONView: DiffView {
    func diff(_ diff: DesiredStateDiff) throws {
        Console.current.print(try JSONOutput.text(diff.document))
    }
}

extension DesiredStateDiff {
    /// The diff for people: `+` added, `-` removed, `~` changed with each path's before and after.
    func text(terminal: Terminal) -> String {
        guard !isEmpty else { return "No differences in the desired state." }
        var lines: [String] = []
        for resource in added { lines.append(terminal.paint("+ \(resource.address)", .green) + " (added)") }
        for resource in removed { lines.append(terminal.paint("- \(resource.address)", .red) + " (removed)") }
        for resource in changed {
            lines.append(terminal.paint("~ \(resource.address)", .yellow))
            for change in resource.changes { lines.append("    ~ \(change.path): \(change.before.rendered) -> \(change.after.rendered)") }
        }
        lines.append("")
        lines.append("\(added.count) added, \(changed.count) changed, \(removed.count) removed.")
        return lines.joined(separator: "\n")
    }
}
