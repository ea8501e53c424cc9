import CofferTestSupport
import Foundation
import Testing

/// A clean plan means the apply succeeds and tonight's backups run; a plan error means they would not.
/// Over seeded mutations of the reference world and the shipped manifests (see `Mutations`), checked on the
/// embedded platform. A failure prints its seed, the fewest mutations that show it and the manifests they
/// lead to; `make fuzz-plan`
/// runs many more seeds (`COFFER_PLAN_TRUTH_SEEDS`, `COFFER_PLAN_TRUTH_FIRST`).
@Suite struct PlanTruthTests {
    static let seeds: [UInt64] = {
        let environment = ProcessInfo.processInfo.environment
        let count = environment["COFFER_PLAN_TRUTH_SEEDS"].flatMap(UInt64.init) ?? 200
        let first = environment["COFFER_PLAN_TRUTH_FIRST"].flatMap(UInt64.init) ?? 1
        return Array(first..<(first + count))
    }()

    @Test func theUnchangedManifestsPlanCleanAndBackUp() async throws {
        let verdict = try await PlanTruth.judge([])
        #expect(verdict.errors.isEmpty && verdict.failure == nil, "\(verdict)")
    }

    @Test(arguments: seeds)
    func aCleanPlanAppliesAndBacksUpAndAnErrorIsReal(seed: UInt64) async throws {
        var mutations = Mutations(seed: seed)
        let generated = mutations.make()
        let verdict = try await PlanTruth.judge(generated)
        guard !verdict.holds else { return }
        let smallest = try await PlanTruth.shrink(generated)
        let smallestVerdict = try await PlanTruth.judge(smallest)
        Issue.record(
            """
            seed \(seed): \(verdict)
            smallest mutations: \(smallest.map(\.description).joined(separator: "; "))
            which give: \(smallestVerdict)
            the manifests, where they differ from manifests/:
            \(try await PlanTruth.manifestDifference(smallest))
            """)
    }
}
