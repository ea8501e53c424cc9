import CofferManifest
import CofferModel
import Testing

/// One retention count of one tier, at or just past an end of its range in `PolicyLimits`.
struct RetentionCountCase: CustomTestStringConvertible, Sendable {
    var limit: RetentionLimit
    var count: Int

    var testDescription: String { "\(limit.tier.rawValue) \(count)" }
    var accepted: Bool { limit.accepts(count) }

    /// Both ends of every tier's range, and one past each end.
    static let all: [RetentionCountCase] = PolicyLimits.retention.flatMap { limit in
        [limit.counts.lowerBound - 1, limit.counts.lowerBound, limit.counts.upperBound, limit.counts.upperBound + 1]
            .map { RetentionCountCase(limit: limit, count: $0) }
    }

    /// The line that sets the count.
    var countLine: String {
        switch limit.tier {
        case .daily: "    daily: {count: \(count)}"
        case .weekly: "    weekly: {count: \(count), weekdays: [Sunday]}"
        case .monthly: "    monthly: {count: \(count), days: [1]}"
        case .yearly: "    yearly: {count: \(count), months: [January], days: [1]}"
        }
    }

    /// A Daily policy in rsv-a whose `limit.tier` count is `count`, on the last line.
    var yaml: String {
        var lines = [
            "apiVersion: coffer.dev/v1", "kind: BackupPolicy", "metadata: {name: pol-c}", "spec:", "  vault: rsv-a",
            "  schedule: {frequency: Daily, time: \"02:00\"}", "  retention:",
        ]
        if limit.tier != .daily { lines.append("    daily: {count: 30}") }
        lines.append(countLine)
        return lines.joined(separator: "\n")
    }

    /// Where the count is: its line and column in `yaml`.
    var position: (line: Int, column: Int) {
        let line = yaml.split(separator: "\n").count
        let column = countLine.distance(from: countLine.startIndex, to: countLine.range(of: "count: ")!.upperBound) + 1
        return (line, column)
    }
}

/// The retention counts the loader and the JSON Schema accept are `PolicyLimits`' ranges: at each end a
/// count is accepted, one past it is an `out-of-range` error at the count, with a hint naming the limit.
@Suite struct RetentionLimitTests {
    let checker = JSONSchemaChecker(schema: SchemaTests.schema)

    @Test(arguments: RetentionCountCase.all)
    func countsFollowTheTable(_ example: RetentionCountCase) throws {
        let result = loadWithBase(example.yaml)
        let documents = JSON.documents(ofYAML: example.yaml)
        if example.accepted {
            #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map { $0.rendered() })")
            #expect(result.state != nil)
            #expect(documents.allSatisfy { checker.errors($0).isEmpty })
            return
        }
        #expect(result.state == nil)
        let diagnostic = try #require(result.diagnostics.first, "no diagnostic")
        #expect(result.diagnostics.count == 1, "\(result.diagnostics.map { $0.rendered() })")
        #expect(diagnostic.code == "out-of-range")
        #expect(diagnostic.severity == .error)
        let (line, column) = example.position
        #expect(diagnostic.location == SourceLocation(file: "case.yaml", line: line, column: column))
        let range = example.limit.counts
        #expect(diagnostic.summary.contains("found \(example.count)"), "\(diagnostic.summary)")
        #expect(diagnostic.hint == "use a value between \(range.lowerBound) and \(range.upperBound)")
        #expect(documents.contains { !checker.errors($0).isEmpty }, "the schema accepts it")
    }

    @Test func theSchemaPrintsTheTable() throws {
        let policy = try #require(SchemaTests.schema["$defs"]?["BackupPolicy"]?["properties"]?["spec"]?["properties"])
        let retention = try #require(policy["retention"]?["properties"])
        for limit in PolicyLimits.retention {
            let count = try #require(retention[limit.tier.rawValue]?["properties"]?["count"], "\(limit.tier)")
            #expect(count["minimum"] == .number(Double(limit.counts.lowerBound)), "\(limit.tier)")
            #expect(count["maximum"] == .number(Double(limit.counts.upperBound)), "\(limit.tier)")
        }
        let days = try #require(policy["instantRestoreRetentionDays"])
        #expect(days["minimum"] == .number(Double(PolicyLimits.instantRestoreDaysAnyType.lowerBound)))
        #expect(days["maximum"] == .number(Double(PolicyLimits.instantRestoreDays(.enhanced).upperBound)))
    }
}
