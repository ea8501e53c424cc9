import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How `coffer plan`, `apply` and `rollback` show a reconcile: the manifests' diagnostics, the plan, the
/// approval prompt, each step and the outcome. The text view writes the plan and the steps for people; the
/// JSON view writes one document (the plan's, or the apply's) and shows an apply's plan as text on standard
/// error.
protocol ReconcileView: Sendable {
    /// The diagnostics of manifests that do not load: nothing was planned.
    func invalidManifests(_ diagnostics: [Diagnostic]) throws
    /// The warnings of manifests that loaded.
    func manifestWarnings(_ diagnostics: [Diagnostic])
    /// The plan of `coffer plan`, with its diagnostics.
    func plan(_ plan: Plan) throws
    /// The plan of an apply, before it is approved.
    func applyPlan(_ plan: Plan) throws
    /// `coffer plan --out` saved the plan to `path`.
    func savedPlan(_ path: String)
    /// Asks on the terminal whether to apply; throws when there is no one to ask or the answer is not yes.
    func approve(autoApprove: Bool) throws
    /// A step of the apply finished.
    func step(_ record: StepRecord)
    /// How the apply ended.
    func outcome(_ outcome: ApplyOutcome, summary: PlanSummary) throws
    /// `coffer rollback` goes back to the revision `record` applied.
    func rollingBack(to record: HistoryRecord)
}

extension OutputFormat {
    /// The reconcile view of this format.
    var reconcileView: any ReconcileView {
        switch self {
        case .text: ReconcileTextView(output: .forStandardOutput(), error: .forStandardError())
        case .json: ReconcileJSONView(error: .forStandardError())
        }
    }
}

extension ReconcileView {
    /// The approval prompt is the same whatever the output: it is written to standard output and read from a
    /// terminal.
    func approve(autoApprove: Bool) throws {
        guard !autoApprove else { return }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIError(
                code: "approval-required", message: "apply needs approval and there is no terminal to ask",
                hint: "review the plan, then run again with --auto-approve (or apply a saved plan with --plan)", exitCode: .usage)
        }
        Console.current.write("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
        guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
            throw CLIError(code: "apply-cancelled", message: "apply cancelled", hint: nil, exitCode: .failure)
        }
    }
}

/// A reconcile for people: diagnostics on standard error, the plan, each step and the outcome on standard
/// output.
struct ReconcileTextView: ReconcileView {
    /// Standard output's colours.
    var output: Terminal
    /// Standard error's colours.
    var error: Terminal

    func invalidManifests(_ diagnostics: [Diagnostic]) throws {
        printError(DiagnosticRendering.render(diagnostics, terminal: error))
    }

    func manifestWarnings(_ diagnostics: [Diagnostic]) {
        guard !diagnostics.isEmpty else { return }
        printError(DiagnosticRendering.render(diagnostics, terminal: error))
    }

    func plan(_ plan: Plan) throws {
        if !plan.diagnostics.isEmpty {
            printError(DiagnosticRendering.render(plan.diagnostics, terminal: error))
            printError("")
        }
        Console.current.print(PlanRendering.text(plan, terminal: output))
    }

    func applyPlan(_ plan: Plan) throws {
        try self.plan(plan)
    }

    func savedPlan(_ path: String) {
        Console.current.print("\nSaved the plan to \(path). Apply exactly this plan with: coffer apply --plan \(path)")
    }

    func step(_ record: StepRecord) {
        switch record.status {
        case .succeeded: Console.current.print("\(record.address): \(record.action.rawValue) complete")
        case .failed: Console.current.print(output.paint("\(record.address): \(record.action.rawValue) failed: \(record.errorCode ?? ""): \(record.message ?? "")", .red))
        case .skipped: Console.current.print("\(record.address): skipped (\(record.message ?? ""))")
        case .started: break
        }
    }

    func outcome(_ outcome: ApplyOutcome, summary: PlanSummary) throws {
        if !outcome.resumed.isEmpty {
            Console.current.print("Repaired an apply that was interrupted during: " + Set(outcome.resumed.map(\.address.description)).sorted().joined(separator: ", "))
        }
        switch outcome.result {
        case .succeeded:
            Console.current.print(output.paint("\nApply complete! Resources: \(summary.add + summary.replace) added, \(summary.change) changed, \(summary.destroy + summary.replace) destroyed.", .green))
        case .noChanges, .driftReported:
            Console.current.print("\nApply complete! No changes were needed.")
        case .failed:
            Console.current.print(output.paint("\nApply failed. Finished steps are recorded; the next apply continues from the platform as it is.", .red))
        }
    }

    func rollingBack(to record: HistoryRecord) {
        Console.current.print("Rolling back to \(record.source.commit?.prefix(10) ?? "") (\(record.source.summary ?? "")), applied \(ISO8601DateFormatter().string(from: record.time)).\n")
    }
}

/// A reconcile for programs: one document on standard output (the plan's, the apply's, or the invalid
/// manifests'); an apply's plan goes to standard error as text, and warnings are in the plan's document.
struct ReconcileJSONView: ReconcileView {
    /// Standard error's colours, for an apply's plan.
    var error: Terminal

    func invalidManifests(_ diagnostics: [Diagnostic]) throws {
        try JSONOutput.print(InvalidManifestsJSON(diagnostics: diagnostics.sortedForDisplay().map(DiagnosticJSON.init)))
    }

    func manifestWarnings(_ diagnostics: [Diagnostic]) {}

    func plan(_ plan: Plan) throws {
        Console.current.print(try JSONOutput.text(PlanJSON(plan)))
    }

    func applyPlan(_ plan: Plan) throws {
        printError(PlanRendering.text(plan, terminal: error))
    }

    func savedPlan(_ path: String) {}

    func step(_ record: StepRecord) {}

    func outcome(_ outcome: ApplyOutcome, summary: PlanSummary) throws {
        try JSONOutput.print(ApplyJSON(outcome: outcome, summary: summary))
    }

    func rollingBack(to record: HistoryRecord) {}
}
