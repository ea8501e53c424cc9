import CofferReconciler
import Foundation

/// How `coffer history` shows the applies recorded in the state directory: a table, or an array under
/// `applies`.
protocol HistoryView {
    func history(_ records: [HistoryRecord]) throws
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
            return [formatter.string(from: record.time), commit, changes, record.result.rawValue, what + (record.error.map { "  (\($0))" } ?? "")]
        }
        Console.current.print(TextTable(headers: ["TIME", "COMMIT", "CHANGES", "RESULT", "SOURCE"], rows: rows).rendered)
    }
}

struct HistoryJSONView: HistoryView {
    func history(_ records: [HistoryRecord]) throws {
        try JSONOutput.print(records, under: "applies")
    }
}
