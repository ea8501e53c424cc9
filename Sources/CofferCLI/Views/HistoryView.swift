import CofferGitOps
import CofferReconciler
import Foundation

/// How `coffer history` shows the applies recorded in the state directory: a table, or an array under
/// `applies`.
protocol HistoryView {
    func history(_ records: [HistoryRecord]) throws
    /// Where the platform stands for a source: `coffer status`.
    func status(_ status: ReconcileStatus) throws
}

extension OutputFormat {
    /// The history view of this format.
    var historyView: any HistoryView {
        switch self {
        case .text: HistoryTextView()
        case .json: HistoryJSONView()
        }
    }
}

struct HistoryTextView: HistoryView {
    func history(_ records: [HistoryRecord]) throws {
        guard !records.isEmpty else {
            Console.current.print("No applies yet.")
            return
        }
        let formatter = ISO8601DateFormatter()
        let rows = records.map { record -> [String] in
            let changes = "+\(record.summary.add) ~\(record.summary.change) ±\(record.summary.replace) -\(record.summary.destroy)"
            let commit = record.source.commit.map { String($0.prefix(10)) } ?? "-"
            let what = record.source.summary ?? record.source.paths?.joined(separator: " ") ?? "-"
            let result = record.result.rawValue + (record.isDriftCheck && record.result != .driftReported ? " (drift)" : "")
            return [formatter.string(from: record.time), commit, changes, result, what + (record.error.map { "  (\($0))" } ?? "")]
        }
        Console.current.print(TextTable(headers: ["TIME", "COMMIT", "CHANGES", "RESULT", "SOURCE"], rows: rows).rendered)
    }
}

extension HistoryTextView {
    func status(_ status: ReconcileStatus) throws {
        Console.current.print(Self.text(status))
    }

    static func text(_ status: ReconcileStatus) -> String {
        let record = status.reconciled
        let source = record.source
        let time = ISO8601DateFormatter()
        var lines: [String] = []
        if let repository = source.repository {
            lines.append("Source:      \(repository) (ref \(source.ref ?? "-")\(source.subdirectory.map { ", path \($0)" } ?? ""))")
            lines.append("Revision:    \(source.commit ?? "-")\(source.summary.map { "  \($0)" } ?? "")")
        } else {
            lines.append("Source:      \(source.paths?.joined(separator: " ") ?? "-")")
        }
        let summary = record.summary
        lines.append("Reconciled:  \(time.string(from: record.time))")
        lines.append(
            "Result:      \(record.result.rawValue) (+\(summary.add) ~\(summary.change) ±\(summary.replace) -\(summary.destroy))"
                + (record.error.map { "  \($0)" } ?? ""))
        if status.driftSince.isEmpty {
            lines.append("Drift:       none found since")
        } else {
            for (index, check) in status.driftSince.enumerated() {
                let what = (check.drift ?? []).map(\.description).joined(separator: ", ")
                let outcome = check.result == .driftReported ? "reported, not repaired" : "repaired: \(check.result.rawValue)"
                lines.append("\(index == 0 ? "Drift:      " : "            ") found \(time.string(from: check.time)): \(what.isEmpty ? "-" : what) (\(outcome))")
            }
        }
        return lines.joined(separator: "\n")
    }
}

struct HistoryJSONView: HistoryView {
    func history(_ records: [HistoryRecord]) throws {
        try JSONOutput.print(records, under: "applies")
    }

    func status(_ status: ReconcileStatus) throws {
        try JSONOutput.print(status)
    }
}
