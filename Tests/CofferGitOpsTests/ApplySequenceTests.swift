import CofferGit
import CofferGitOps
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

/// Records what the sequence showed it, and refuses approval when told to.
final class RecordingObserver: ApplyObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String] = []
    let refuse: Bool

    init(refuse: Bool = false) { self.refuse = refuse }

    var calls: [String] { lock.withLock { seen } }

    private func note(_ call: String) { lock.withLock { seen.append(call) } }

    func manifestsLoaded(_ manifests: LoadedManifests) { note("loaded") }
    func planned(_ planned: PlannedChanges, fromSavedPlan: Bool) throws -> ApplyDecision {
        note("planned \(planned.plan.summary.add)")
        return .apply
    }
    func approve(_ plan: Plan) throws {
        note("approve")
        if refuse { throw GitOpsError(code: GitOpsError.Code(rawValue: "apply-cancelled"), message: "apply cancelled") }
    }
    func stepFinished(_ record: StepRecord) { note("step \(record.address)") }
}

@Suite struct ApplySequenceTests {
    private func manifests(in directory: TemporaryDirectory, files: [String: Data]) throws -> String {
        let root = directory.path("manifests")
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for (path, data) in files { try data.write(to: URL(fileURLWithPath: root + "/" + (path as NSString).lastPathComponent)) }
        return root
    }

    @Test func loadsPlansAsksAppliesAndRecordsInThatOrder() async throws {
        let directory = try TemporaryDirectory()
        let provider = InMemoryProvider()
        let workspace = Workspace(stateDirectory: directory.path("state"), provider: provider)
        let root = try manifests(in: directory, files: GitOpsFixture.files(days: 30))
        let observer = RecordingObserver()
        let applied = try #require(try await workspace.apply(.manifests(.paths([root]), PlanOptions()), lockTimeout: 0, observer: observer))
        #expect(applied.outcome.result == .succeeded)
        #expect(observer.calls == ["loaded", "planned 2", "approve", "step RecoveryServicesVault/rsv-prod-eastus", "step BackupPolicy/daily-standard-eastus"])
        #expect(try workspace.history().map(\.summary) == [PlanSummary(add: 2)])

        // Nothing to change: no approval is asked.
        let again = RecordingObserver(refuse: true)
        #expect(try await workspace.apply(.manifests(.paths([root]), PlanOptions()), lockTimeout: 0, observer: again)?.outcome.result == .noChanges)
        #expect(again.calls == ["loaded", "planned 0"])
    }

    @Test func refusesInvalidManifestsAPlanWithErrorsAndAnUnapprovedPlan() async throws {
        let directory = try TemporaryDirectory()
        let provider = InMemoryProvider()
        let workspace = Workspace(stateDirectory: directory.path("state"), provider: provider)

        let broken = try manifests(in: directory, files: ["policy.yaml": Data("kind: [unclosed\n".utf8)])
        let invalid = try await #require(throws: GitOpsError.self) { try await workspace.apply(.manifests(.paths([broken]), PlanOptions()), lockTimeout: 0) }
        #expect(invalid.code == .invalidManifests)
        #expect(invalid.message == "the manifests have 1 error(s); nothing was planned")
        #expect(invalid.diagnostics.contains { $0.severity == .error })

        let root = try manifests(in: directory, files: GitOpsFixture.files(days: 30))
        let refused = try await #require(throws: GitOpsError.self) {
            try await workspace.apply(.manifests(.paths([root]), PlanOptions()), lockTimeout: 0, observer: RecordingObserver(refuse: true))
        }
        #expect(refused.code.rawValue == "apply-cancelled")
        #expect(provider.all.isEmpty)

        try await workspace.apply(.manifests(.paths([root]), PlanOptions()), lockTimeout: 0)
        let empty = try manifests(in: directory, files: ["empty.yaml": Data("# nothing declared\n".utf8)])
        let pruneAll = try await #require(throws: GitOpsError.self) { try await workspace.apply(.manifests(.paths([empty]), PlanOptions(prune: true)), lockTimeout: 0) }
        #expect(pruneAll.code == .planHasErrors)
        #expect(provider.made.count == 2)
        #expect(try workspace.history().count == 1)
        #expect(provider.mutations.count == 2)
    }

    @Test func aHeldLockIsTheReconcilersLockedError() async throws {
        let directory = try TemporaryDirectory()
        let workspace = Workspace(stateDirectory: directory.path("state"), provider: InMemoryProvider())
        let root = try manifests(in: directory, files: GitOpsFixture.files())
        let held = try workspace.lock("test", timeout: 0)
        defer { held.release() }
        let error = try await #require(throws: ReconcilerError.self) { try await workspace.plan(.paths([root]), options: PlanOptions(), lockTimeout: 0) }
        #expect(error.code == .locked)
    }

    /// Rollback finds the newest apply of a commit and applies its manifests again, from the repository it
    /// came from.
    @Test func rollbackAppliesAnEarlierCommitAgain() async throws {
        let world = try WatchWorld()
        let workspace = world.workspace
        let source = ManifestSource.git(repository: world.directory.path("origin"), ref: "main", path: "manifests")
        let first = try world.commit(GitOpsFixture.files(days: 30), "Keep 30 days")
        try await workspace.apply(.manifests(source, PlanOptions()), lockTimeout: 0)
        let second = try world.commit(GitOpsFixture.files(days: 45), "Keep 45 days")
        try await workspace.apply(.manifests(source, PlanOptions()), lockTimeout: 0)
        #expect(world.policyDays == 45)

        let (record, rollback) = try workspace.rollbackTarget(String(first.prefix(8)))
        #expect(record.source.commit == first)
        #expect(rollback == .git(repository: world.directory.path("origin"), ref: first, path: "manifests"))
        try await workspace.apply(.manifests(rollback, PlanOptions()), lockTimeout: 0)
        #expect(world.policyDays == 30)
        #expect(try workspace.history().map(\.source.commit) == [first, second, first])
        #expect(try workspace.history(limit: 1).map(\.source.summary) == ["Keep 30 days"])

        let unknown = try await #require(throws: GitOpsError.self) { try workspace.rollbackTarget("0000000") }
        #expect(unknown.code == .unknownRevision)
        #expect(unknown.message == "no apply of a revision '0000000' from git is in the history")
    }
}
