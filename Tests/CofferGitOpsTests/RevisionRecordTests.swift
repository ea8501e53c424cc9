import CofferGit
import CofferGitOps
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

/// Every revision watch reconciles is recorded, with its commit, in the history and a git note, also when
/// it needs no change; `Workspace.status` names the revision the platform is at and the drift found since.
@Suite struct RevisionRecordTests {
    /// Apply a commit, refuse an invalid one, then a commit that puts back the first one's manifests.
    @Test func aRevisionThatNeedsNoChangeIsRecorded() async throws {
        let world = try WatchWorld()
        let first = try world.commit(GitOpsFixture.files(days: 30), "Keep 30 days")
        try await world.loop(clock: ManualWatchClock()).poll()
        var broken = GitOpsFixture.files(days: 30)
        broken["manifests/policy.yaml"] = Data("kind: [unclosed\n".utf8)
        let invalid = try world.commit(broken, "Break the policy")
        // A new watch, as `coffer watch --once` runs: the invalid commit is refused and not recorded.
        try await world.loop(clock: ManualWatchClock()).poll()
        #expect(world.events.names.contains("invalid"))
        let back = try world.commit(GitOpsFixture.files(days: 30), "Put the policy back")
        try await world.loop(clock: ManualWatchClock()).poll()
        #expect(world.events.names.last == "in-sync")

        let history = try world.store.history()
        #expect(history.map(\.source.commit) == [first, back])
        #expect(history.last?.result == .noChanges && history.last?.trigger == .revision && history.last?.steps == [])
        #expect(!history.contains { $0.source.commit == invalid })
        #expect(try world.origin.note(for: back)?.hasPrefix("coffer apply no-changes at ") == true)
        let status = try #require(try world.workspace.status())
        #expect(status.reconciled.source.commit == back && status.reconciled.result == .noChanges && status.driftSince.isEmpty)
        // Named by its repository, with or without its ref and folder; another folder has no record.
        let repository = world.directory.path("origin")
        #expect(try world.workspace.status(of: ApplySource(repository: repository))?.reconciled.source.commit == back)
        #expect(try world.workspace.status(of: ApplySource(repository: repository, ref: "main", subdirectory: "manifests"))?.reconciled == status.reconciled)
        #expect(try world.workspace.status(of: ApplySource(repository: repository, subdirectory: "other")) == nil)
    }

    /// The same in one running loop: the commit leaves the manifests' tree as applied, so nothing is planned,
    /// and the revision is recorded all the same. A commit reconciled again keeps its first note.
    @Test func aCommitWithTheAppliedTreeIsRecordedWithoutPlanning() async throws {
        let world = try WatchWorld()
        let loop = world.loop(clock: ManualWatchClock())
        var files = GitOpsFixture.files(days: 30)
        let first = try world.commit(files, "Keep 30 days")
        try await loop.poll()
        files["README.md"] = Data("Backup configuration.\n".utf8)
        let docs = try world.commit(files, "Add a README")
        let loads = loop.manifestLoads
        try await loop.poll()
        #expect(loop.manifestLoads == loads)
        #expect(world.events.names.last == "unchanged")
        #expect(try world.store.history().map(\.source.commit) == [first, docs])
        #expect(try world.store.history().last?.result == .noChanges)
        #expect(try world.store.history().last?.source.summary == "Add a README")

        // A new watch finds the first commit's note and appends to it: the apply's note stays first.
        try world.origin.setBranch("main", to: first)
        try await world.loop(clock: ManualWatchClock()).poll()
        let note = try #require(try world.origin.note(for: first))
        #expect(note.hasPrefix("coffer apply succeeded") && note.contains("coffer apply no-changes"))
        #expect(try world.workspace.status()?.reconciled.source.commit == first)
    }

    /// A drift check that finds nothing records nothing; one that finds drift records it, repaired or (with
    /// --report-only) reported, and status says so.
    @Test(arguments: [false, true])
    func driftChecksAreRecordedOnlyWhenTheyFindDrift(reportOnly: Bool) async throws {
        let world = try WatchWorld()
        let loop = world.loop(clock: ManualWatchClock(), driftInterval: 0, reportOnly: reportOnly)
        let commit = try world.commit(GitOpsFixture.files(days: 30), "Vault and policy")
        try await loop.poll()
        try await loop.poll()
        #expect(try world.store.history().count == 1)
        #expect(try world.workspace.status()?.driftSince.isEmpty == true)

        try tamperPolicy(world.provider, days: 7)
        try await loop.poll()
        let history = try world.store.history()
        #expect(history.count == 2)
        let check = try #require(history.last)
        #expect(check.trigger == .drift && check.source.commit == commit)
        #expect(check.result == (reportOnly ? .driftReported : .succeeded))
        #expect(check.drift == [ResourceAddress(kind: .backupPolicy, name: "daily-standard-eastus")])
        let status = try #require(try world.workspace.status())
        #expect(status.reconciled.source.commit == commit && status.reconciled.trigger == .revision)
        #expect(status.driftSince.map(\.result) == [reportOnly ? .driftReported : .succeeded])
    }
}
