import CofferGitOps
import CofferModel
import CofferReconciler
import Foundation
import Logging
import Testing

@testable import CofferCLI

/// Collects log lines.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var all: [String] { lock.withLock { lines } }
    func append(_ line: String) { lock.withLock { lines.append(line) } }
}

/// The watch loop's events become `coffer watch`'s log lines: text, or one JSON object per line.
@Suite struct WatchLogTests {
    private func log(_ events: [WatchEvent], json: Bool) -> [String] {
        let lines = LogLines()
        let log = WatchLog(logger: Logger(label: "test") { _ in EventLogHandler(view: json ? WatchJSONView() : WatchTextView(), write: { lines.append($0) }) })
        events.forEach(log.log)
        return lines.all
    }

    private let commit = "8a9e938f295f56fcec46de2484bd9fcabe13e0a2"

    @Test func eventsBecomeTextLines() async {
        let lines = log(
            [
                .started(repository: "repo", ref: "main", interval: 30),
                .applied(commit: commit, message: "Keep 45 days", repairedDrift: false, summary: PlanSummary(change: 4)),
                .applied(commit: commit, message: nil, repairedDrift: true, summary: PlanSummary(change: 1)),
                .inSync(commit: commit),
                .unchanged(commit: commit),
                .forcePushed(previous: "1234567890abcdef", commit: commit),
                .failed(GitOpsError(code: .planHasErrors, message: "the plan has errors"), retryIn: 2.04),
                .stepFinished(StepRecord(address: ResourceAddress(kind: .backupPolicy, name: "p"), action: .update, status: .succeeded)),
                .stopped(polls: 3, applies: 1),
            ], json: false)
        let withoutTime = lines.map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" }
        #expect(
            withoutTime == [
                "info watch started  [interval=30.0s ref=main repo=repo]",
                "info applied 8a9e938f29 (Keep 45 days) : Plan: 0 to add, 4 to change, 0 to destroy.  [add=0 change=4 commit=\(commit) destroy=0]",
                "info applied 8a9e938f29 to repair drift : Plan: 0 to add, 1 to change, 0 to destroy.  [add=0 change=1 commit=\(commit) destroy=0]",
                "info revision 8a9e938f29 reconciled: no changes  [commit=\(commit)]",
                "info revision 8a9e938f29 reconciled: no changes (its manifests are those applied)  [commit=\(commit)]",
                "warning the ref was rewritten (force-push): 1234567890 is not an ancestor of 8a9e938f29  [commit=\(commit)]",
                "error the plan has errors  [code=plan-has-errors retry_in=2.0s]",
                "info watch stopped  [applies=1 polls=3]",
            ])
    }

    @Test func eventsBecomeJSONLines() async throws {
        let lines = log(
            [
                .invalid(
                    commit: commit,
                    diagnostics: [.error("yaml-syntax", "unclosed flow sequence", at: SourceLocation(file: "manifests/policy.yaml", line: 1, column: 7))]),
                .stopped(polls: 1, applies: 0),
            ], json: true)
        #expect(lines.count == 2)
        let invalid = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        #expect(invalid["event"] == "invalid")
        #expect(invalid["level"] == "error")
        #expect(invalid["errors"] == "1")
        #expect(invalid["first"] == "manifests/policy.yaml:1:7: unclosed flow sequence")
        #expect(invalid["message"] == "commit 8a9e938f29 has invalid manifests; waiting for the next commit")
        #expect(invalid["time"] != nil)
    }
}
