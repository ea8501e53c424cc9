import CofferGitOps
import CofferManifest
import CofferModel
import CofferPlatform
import CofferReconciler
import Foundation
import Logging
import Testing

@testable import CofferCLI

/// Each command family's view, in both formats, on a small value: the JSON view writes a document with its
/// `format_version`, the text view the text people read; nothing runs a subprocess.
@Suite struct CommandViewTests {
    /// What `body` wrote to standard output and standard error through the console.
    private func capture(_ body: () throws -> Void) rethrows -> (out: String, error: String) {
        let capture = ViewTests.Capture()
        try Console.$current.withValue(capture.console) { try body() }
        return (capture.standardOutput, capture.standardError)
    }

    /// The document's top-level object, after checking its `format_version`.
    private func document(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], sourceLocation: sourceLocation)
        #expect(object["format_version"] as? String == "1", sourceLocation: sourceLocation)
        return object
    }

    private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    private let emptyPlan = Plan(changes: [], drift: [], diagnostics: [], desiredFingerprint: "", observedFingerprint: "")

    @Test func eachFormatHasItsView() {
        #expect(OutputFormat.text.listingView is ListingTextView)
        #expect(OutputFormat.json.listingView is ListingJSONView)
        #expect(OutputFormat.json.jobView is JobJSONView)
        #expect(OutputFormat.json.reconcileView is ReconcileJSONView)
        #expect(OutputFormat.text.reconcileView is ReconcileTextView)
        #expect(OutputFormat.json.watchView is WatchJSONView)
    }

    @Test func listingView() throws {
        let text = capture { try? ListingTextView().listing(.jobs([])) }
        #expect(text.out == "No jobs.\n")
        let json = try capture { try ListingJSONView().listing(.vaults([])) }
        #expect(try document(json.out)["vaults"] as? [Any] != nil)
    }

    @Test func platformView() throws {
        let epoch = Date(timeIntervalSince1970: 0)
        #expect(try capture { try PlatformTextView().clock(epoch) }.out == "1970-01-01T00:00:00Z\n")
        #expect(try document(try capture { try PlatformJSONView().clock(epoch) }.out)["clock"] as? String == "1970-01-01T00:00:00Z")
    }

    @Test func jobView() throws {
        let actions = try decode([KeyRestoreAction].self, #"[{"kind": "secret", "keyVault": "kv-app", "name": "bek", "action": "recovered"}]"#)
        #expect(try capture { try JobTextView().restoredKeys(actions) }.out == "KIND    KEY VAULT  NAME  ACTION\nsecret  kv-app     bek   recovered\n")
        let keys = try #require(try document(try capture { try JobJSONView().restoredKeys(actions) }.out)["keys"] as? [[String: Any]])
        #expect(keys.first?["action"] as? String == "recovered")
    }

    @Test func validateView() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-views-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let report = ValidationReport(result: ManifestLoader().load(paths: [empty]))
        #expect(try capture { try ValidateTextView(colour: false).report(report) }.out == """
            error[no-manifests]: no .yaml or .yml files found in \(empty)
              = hint: give the directory that holds the manifests

            1 error, 0 warnings in 0 files

            """)
        let json = try document(try capture { try ValidateJSONView().report(report) }.out)
        #expect(json["valid"] as? Bool == false)
        #expect(json["resources"] as? Int == 0)
    }

    @Test func diffView() throws {
        let diff = try DesiredStateDiff(from: DesiredState(resources: []), to: DesiredState(resources: []))
        #expect(try capture { try DiffTextView(terminal: .plain).diff(diff) }.out == "No differences in the desired state.\n")
        #expect(try document(try capture { try DiffJSONView().diff(diff) }.out)["added"] as? [Any] != nil)
    }

    @Test func historyView() throws {
        #expect(try capture { try HistoryTextView().history([]) }.out == "No applies yet.\n")
        #expect(try document(try capture { try HistoryJSONView().history([]) }.out)["applies"] as? [Any] != nil)
    }

    @Test func reconcileViewPlansAndSteps() throws {
        let text = ReconcileTextView(output: .plain, error: .plain)
        let planText = try capture { try text.plan(emptyPlan) }
        #expect(planText.out == PlanRendering.text(emptyPlan, terminal: .plain) + "\n")
        #expect(planText.error.isEmpty)
        let record = StepRecord(address: ResourceAddress(kind: .backupPolicy, name: "p"), action: .update, status: .succeeded)
        #expect(capture { text.step(record) }.out == "\(record.address): update complete\n")
        #expect(capture { text.savedPlan("t.plan") }.out == "\nSaved the plan to t.plan. Apply exactly this plan with: coffer apply --plan t.plan\n")

        let json = ReconcileJSONView(error: .plain)
        #expect(try document(try capture { try json.plan(emptyPlan) }.out)["resource_changes"] as? [Any] != nil)
        #expect(capture { json.step(record); json.savedPlan("t.plan") } == ("", ""))
        let applyPlan = try capture { try json.applyPlan(emptyPlan) }
        #expect(applyPlan.out.isEmpty && applyPlan.error == PlanRendering.text(emptyPlan, terminal: .plain) + "\n")
    }

    @Test func reconcileViewOutcomes() throws {
        let outcome = try decode(ApplyOutcome.self, #"{"steps": [], "result": "no-changes", "resumed": []}"#)
        let text = try capture { try ReconcileTextView(output: .plain, error: .plain).outcome(outcome, summary: emptyPlan.summary) }
        #expect(text.out == "\nApply complete! No changes were needed.\n")
        let json = try document(try capture { try ReconcileJSONView(error: .plain).outcome(outcome, summary: emptyPlan.summary) }.out)
        #expect(json["result"] as? String == "no-changes")
        #expect(json["error"] is NSNull)

        let invalid = [Diagnostic.error("E1", "broken")]
        let invalidJSON = try document(try capture { try ReconcileJSONView(error: .plain).invalidManifests(invalid) }.out)
        #expect(invalidJSON["valid"] as? Bool == false)
        let invalidText = try capture { try ReconcileTextView(output: .plain, error: .plain).invalidManifests(invalid) }
        #expect(invalidText.out.isEmpty && invalidText.error == DiagnosticRendering.render(invalid, terminal: .plain) + "\n")
    }

    @Test func watchJSONLinesAreWhatJSONEncoderWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let controls = String(decoding: (0..<0x20).map { UInt8($0) } + [0x7f], as: UTF8.self)
        let values = [
            "", "plain", "GET /subscriptions/x/resourceGroups/y?api-version=1 200", #"quote " and back\slash / slash"#, controls,
            "tab\there\nnewline", "ünïcödé ✓ 日本 \u{2028}\u{2029} 🙂",
        ]
        let keySets: [[String]] = [
            ["request-id", "ms"], ["event", "url", "port", "ca"], ["a", "B", "b", "A"], ["a10", "a9", "a1", "a_b", "a-b", "aB"],
            ["ä", "z", "Z", "é", "e"], ["key\"quoted", "key/slash", "key\twith tab"],
        ]
        for keys in keySets {
            for value in values {
                var metadata: Logger.Metadata = [:]
                for key in keys { metadata[key] = .string(value + key) }
                let line = try #require(WatchJSONView().line(time: "2026-12-07T12:00:00Z", level: .info, message: value, metadata: metadata))
                var object: [String: String] = ["time": "2026-12-07T12:00:00Z", "level": "info", "message": value]
                for key in keys { object[key] = value + key }
                #expect(line == String(decoding: try encoder.encode(object), as: UTF8.self))
            }
        }
    }

    @Test func watchView() throws {
        let metadata: Logger.Metadata = ["event": "start", "ref": "main"]
        #expect(WatchTextView().line(time: "T", level: .info, message: "watch started", metadata: metadata) == "T info watch started  [ref=main]")
        #expect(WatchJSONView().line(time: "T", level: .info, message: "watch started", metadata: metadata)
            == #"{"event":"start","level":"info","message":"watch started","ref":"main","time":"T"}"#)
    }
}
