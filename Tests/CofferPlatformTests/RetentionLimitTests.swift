import CofferManifest
import CofferModel
import CofferTestSupport
@testable import CofferPlatform
import Testing

/// Validate and apply agree on retention counts, both driven from `PolicyLimits`: at each end of a tier's
/// range the manifest validates and the platform creates the policy; one past it, validate reports an
/// `out-of-range` error at the count and the platform refuses the policy with `BMSUserErrorInvalidPolicyInput`.
@Suite struct RetentionLimitTests {
    struct Example: CustomTestStringConvertible, Sendable {
        var limit: RetentionLimit
        var count: Int
        var testDescription: String { "\(limit.tier.rawValue) \(count)" }
    }

    static let examples: [Example] = PolicyLimits.retention.flatMap { limit in
        [limit.counts.lowerBound - 1, limit.counts.lowerBound, limit.counts.upperBound, limit.counts.upperBound + 1]
            .map { Example(limit: limit, count: $0) }
    }

    /// The line of `tier`'s rule keeping points `count` units.
    static func countLine(_ tier: RetentionTier, _ count: Int) -> String {
        switch tier {
        case .daily: "    daily: {count: \(count)}"
        case .weekly: "    weekly: {count: \(count), weekdays: [Sunday]}"
        case .monthly: "    monthly: {count: \(count), days: [1]}"
        case .yearly: "    yearly: {count: \(count), months: [January], days: [1]}"
        }
    }

    /// The test world's vault rsv-east and a Daily policy in it whose `tier` count is `count`, on the last line.
    static func manifests(_ tier: RetentionTier, _ count: Int) -> String {
        var lines = [
            "apiVersion: coffer.dev/v1", "kind: RecoveryServicesVault", "metadata: {name: rsv-east}",
            "spec: {resourceGroup: rg, location: eastus}", "---",
            "apiVersion: coffer.dev/v1", "kind: BackupPolicy", "metadata: {name: limits}", "spec:", "  vault: rsv-east",
            "  schedule: {frequency: Daily, time: \"02:00\"}", "  retention:",
        ]
        if tier != .daily { lines.append("    daily: {count: 30}") }
        lines.append(countLine(tier, count))
        return lines.joined(separator: "\n")
    }

    static func load(_ tier: RetentionTier, _ count: Int) -> ManifestLoadResult {
        ManifestLoader().load(files: [(path: "limits.yaml", contents: Array(manifests(tier, count).utf8))])
    }

    static func policy(in state: DesiredState) -> BackupPolicySpec? {
        for resource in state.resources {
            if case .backupPolicy(let spec) = resource.spec { return spec }
        }
        return nil
    }

    static func setting(_ tier: RetentionTier, of spec: BackupPolicySpec, to count: Int) -> BackupPolicySpec {
        var spec = spec
        switch tier {
        case .daily: spec.retention.daily?.count = count
        case .weekly: spec.retention.weekly?.count = count
        case .monthly: spec.retention.monthly?.count = count
        case .yearly: spec.retention.yearly?.count = count
        }
        return spec
    }

    @Test(arguments: examples)
    func validateAndApplyAgree(_ example: Example) throws {
        let (limit, count) = (example.limit, example.count)
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        let loaded = Self.load(limit.tier, count)
        if limit.accepts(count) {
            let state = try #require(loaded.state, "\(loaded.diagnostics.map { $0.rendered() })")
            #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics.map { $0.rendered() })")
            let spec = try #require(Self.policy(in: state))
            let created = try platform.createPolicy(name: "limits", spec: spec)
            #expect(created.spec == spec)
            return
        }
        // Validate: one error, at the count.
        #expect(loaded.state == nil)
        #expect(loaded.diagnostics.map(\.code) == ["out-of-range"], "\(loaded.diagnostics.map { $0.rendered() })")
        let line = Self.countLine(limit.tier, count)
        let column = line.distance(from: line.startIndex, to: line.range(of: "count: ")!.upperBound) + 1
        let lineNumber = Self.manifests(limit.tier, count).split(separator: "\n").count
        #expect(loaded.diagnostics.first?.location == SourceLocation(file: "limits.yaml", line: lineNumber, column: column))
        #expect(loaded.diagnostics.first?.hint?.contains("\(count < limit.counts.lowerBound ? limit.counts.lowerBound : limit.counts.upperBound)") == true)
        // Apply: the same policy, with the count the manifest could not carry, is refused.
        let nearest = min(max(count, limit.counts.lowerBound), limit.counts.upperBound)
        let valid = try #require(Self.load(limit.tier, nearest).state.flatMap(Self.policy(in:)))
        let spec = Self.setting(limit.tier, of: valid, to: count)
        expectCode(PlatformErrorCode.invalidPolicyInput) { try platform.createPolicy(name: "limits", spec: spec) }
        do {
            try platform.createPolicy(name: "limits", spec: spec)
        } catch let error as PlatformError {
            #expect(error.message.contains("\(limit.tier.rawValue) retention is \(limit.words), not \(count)"), "\(error)")
        }
    }
}
