import CofferGit
import CofferReconciler
import Foundation

/// The note coffer adds to a commit it applied, under `refs/notes/coffer`: what was applied, when, and how
/// it went. `git log --notes=coffer` shows it.
public enum GitNote {
    /// The note's text: `coffer apply RESULT at TIME`, the plan's summary line, and the first error, if any.
    public static func message(outcome: ApplyOutcome, summary: PlanSummary, time: Date) -> String {
        var lines = ["coffer apply \(outcome.result.rawValue) at \(ISO8601DateFormatter().string(from: time))", summary.line]
        if let error = outcome.error { lines.append("error[\(error.code)]: \(error.message)") }
        return lines.joined(separator: "\n")
    }

    /// Adds the note of an apply to `commit` in `repository` (pushed to the origin when it is a mirror).
    /// A reconcile that changed nothing (`no-changes`, `drift-reported`) is appended to a note the commit has
    /// already, so that the note of the apply that changed the platform stays.
    public static func add(to commit: String, in repository: GitRepository, outcome: ApplyOutcome, summary: PlanSummary, time: Date = Date()) throws {
        var text = message(outcome: outcome, summary: summary, time: time)
        if outcome.result == .noChanges || outcome.result == .driftReported, let existing = try? repository.note(for: commit), !existing.isEmpty {
            text = existing.hasSuffix("\n") ? existing + text : existing + "\n" + text
        }
        try repository.addNote(to: commit, message: text)
    }
}
