import CofferGit
import CofferGitOps
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

/// The watch loop, driven through a manual clock: no test waits for the wall clock.
@Suite struct WatchLoopTests {
    @Test func aFollowerCampaignsAsTheLeadersLeaseLapsesNotAWholeIntervalLater() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        func lease(expiresIn seconds: Double, term: Int64 = 3) -> LeaderLease {
            LeaderLease(group: "g", holder: "other", term: term, expires: now.addingTimeInterval(seconds))
        }
        // No leader known (or none yet): the poll interval.
        #expect(WatchLoop.followerDelay(interval: 5, lease: nil, now: now) == 5)
        #expect(WatchLoop.followerDelay(interval: 5, lease: lease(expiresIn: 1, term: 0), now: now) == 5)
        // A lease that ends before the next poll: just after it ends.
        #expect(abs(WatchLoop.followerDelay(interval: 5, lease: lease(expiresIn: 1.5), now: now) - 1.52) < 1e-9)
        // One that outlives the interval: the interval (the leader may renew it meanwhile).
        #expect(WatchLoop.followerDelay(interval: 5, lease: lease(expiresIn: 12), now: now) == 5)
        // One already past: at once, but never a busy loop.
        #expect(WatchLoop.followerDelay(interval: 5, lease: lease(expiresIn: -3), now: now) == 0.01)
    }

    @Test func followsCommitsSkipsInvalidOnesAndCopesWithAForcePush() async throws {
        let world = try WatchWorld()
        let loop = world.loop(clock: ManualWatchClock())

        // 1: a vault.
        let first = try world.commit(GitOpsFixture.files(), "Add the vault")
        try await loop.poll()
        #expect(world.provider.made.map(\.name) == ["rsv-prod-eastus"])
        #expect(try world.store.history().map(\.source.commit) == [first])
        #expect(try world.origin.note(for: first)?.contains("coffer apply succeeded") == true)

        // Nothing new: no manifests are read.
        let loads = loop.manifestLoads
        try await loop.poll()
        #expect(loop.manifestLoads == loads)

        // 2: a policy.
        let second = try world.commit(GitOpsFixture.files(days: 30), "Add a daily policy")
        try await loop.poll()
        #expect(Set(world.provider.made.map(\.name)) == ["rsv-prod-eastus", "daily-standard-eastus"])
        #expect(try world.store.history().last?.source.commit == second)
        #expect(try world.store.history().last?.source.summary == "Add a daily policy")

        // 3: invalid manifests are never applied, and not re-read until the next commit.
        var broken = GitOpsFixture.files(days: 30)
        broken["manifests/policy.yaml"] = Data("kind: [unclosed\n".utf8)
        try world.commit(broken, "Break it")
        try await loop.poll()
        #expect(try world.store.history().count == 2)
        #expect(world.events.names.contains("invalid"))
        let afterInvalid = loop.manifestLoads
        try await loop.poll()
        #expect(loop.manifestLoads == afterInvalid)

        // 4: the fix is applied.
        let fourth = try world.commit(GitOpsFixture.files(days: 60), "Fix it, keep 60 days")
        try await loop.poll()
        #expect(try world.store.history().last?.source.commit == fourth)
        #expect(world.policyDays == 60)

        // A force-push back to the second commit: the rewritten branch is followed.
        try world.origin.setBranch("main", to: second)
        try await loop.poll()
        #expect(world.policyDays == 30)
        #expect(world.events.names.contains("force-push"))
        #expect(try world.store.history().last?.source.commit == second)
    }

    @Test(arguments: [false, true])
    func driftIsRepairedOnTheDriftIntervalOrOnlyReported(reportOnly: Bool) async throws {
        let world = try WatchWorld()
        let loop = world.loop(clock: ManualWatchClock(), driftInterval: 0, reportOnly: reportOnly)
        try world.commit(GitOpsFixture.files(days: 30), "Vault and policy")
        try await loop.poll()
        try tamperPolicy(world.provider, days: 7)
        try await loop.poll()
        #expect(world.policyDays == (reportOnly ? 7 : 30))
        #expect(world.events.names.contains(reportOnly ? "drift" : "repaired"))
    }

    @Test func followsAFileURLRemoteThroughAMirrorInTheStateDirectory() async throws {
        let world = try WatchWorld(bare: true)
        let url = "file://" + world.directory.path("origin")
        let loop = world.loop(clock: ManualWatchClock(), repository: url)
        let commit = try world.commit(GitOpsFixture.files(), "Vault")
        try world.origin.setHead(branch: "main")
        try await loop.poll()
        #expect(world.provider.made.map(\.name) == ["rsv-prod-eastus"])
        #expect(FileManager.default.fileExists(atPath: world.directory.path("state/git")))
        // The note reaches the origin.
        #expect(try GitRepository.open(at: world.directory.path("origin")).note(for: commit)?.contains("succeeded") == true)
        try world.commit(GitOpsFixture.files(crr: true), "CRR on")
        try await loop.poll()
        if case .vault(let vault)? = world.provider.all.first?.spec { #expect(vault.crossRegionRestore) } else { Issue.record("no vault") }
    }

    /// Each commit made while the loop sleeps is applied at the next poll; a stop ends the loop and frees
    /// the lock.
    @Test func aNewCommitIsAppliedOnTheNextPoll() async throws {
        let world = try WatchWorld()
        let commits = LockedBox<[String]>([try world.commit(GitOpsFixture.files(days: 30), "Keep 30 days")])
        let appliedBeforeSleep = LockedBox<[String?]>([])
        let clock = ManualWatchClock { index, _ in
            appliedBeforeSleep.value.append(try? world.store.history().last?.source.commit)
            guard index < 2 else { return false }
            commits.value.append(try! world.commit(GitOpsFixture.files(days: [45, 60][index]), "Keep \([45, 60][index]) days"))
            return true
        }
        let loop = world.loop(clock: clock)
        #expect(await loop.run())
        #expect(appliedBeforeSleep.value == commits.value.map(Optional.some))
        #expect(try world.store.history().map(\.source.commit) == commits.value)
        #expect(world.policyDays == 60)
        #expect(clock.sleeps == [30, 30, 30])
        #expect(world.events.names.filter { $0 != "step" } == ["start", "applied", "applied", "applied", "stop"])
        _ = try StateLock.acquire(stateDirectory: world.state, operation: "test")
    }

    @Test func anInvalidCommitIsRefusedAndTheNextValidOneApplied() async throws {
        let world = try WatchWorld()
        let first = try world.commit(GitOpsFixture.files(days: 30), "Keep 30 days")
        let fixed = LockedBox<String?>(nil)
        let clock = ManualWatchClock { index, _ in
            switch index {
            case 0:
                var broken = GitOpsFixture.files(days: 30)
                broken["manifests/policy.yaml"] = Data("kind: [unclosed\n".utf8)
                try! world.commit(broken, "Break the policy")
            case 2: fixed.value = try! world.commit(GitOpsFixture.files(days: 45), "Keep 45 days")
            default: break
            }
            return index < 3
        }
        let loop = world.loop(clock: clock)
        #expect(await loop.run())
        #expect(try world.store.history().map(\.source.commit) == [first, fixed.value])
        #expect(world.policyDays == 45)
        #expect(world.events.names.filter { $0 != "step" } == ["start", "applied", "invalid", "applied", "stop"])
        // The invalid commit was read once, not at every poll; an invalid commit is no error to back off from.
        #expect(loop.manifestLoads == 3)
        #expect(clock.sleeps == [30, 30, 30, 30])
    }

    /// Errors back off 1 s, 2 s, 4 s ... up to 5 minutes, each within ±10 %, and a success starts again
    /// from the poll interval.
    @Test func errorsBackOffExponentiallyWithJitter() async throws {
        for fixedRandom in [true, false] {
            let world = try WatchWorld()
            let later = world.directory.path("later")
            let clock = ManualWatchClock { index, _ in
                if index == 10 {
                    // The repository appears: the next poll succeeds.
                    let repository = try! GitRepository.create(at: later)
                    try! repository.commit(files: GitOpsFixture.files(), message: "Vault", branch: "main")
                }
                return index < 12
            }
            var generator = SeededGenerator(seed: 42)
            let randoms = LockedBox((0..<11).map { _ in Double.random(in: 0..<1, using: &generator) })
            let loop = world.loop(clock: clock, repository: later) {
                fixedRandom ? 0.5 : randoms.value.removeFirst()
            }
            #expect(await loop.run())
            let nominal: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
            let sleeps = clock.sleeps
            try #require(sleeps.count == 13)
            if fixedRandom {
                #expect(Array(sleeps.prefix(11)) == nominal)
            } else {
                for (sleep, expected) in zip(sleeps, nominal) {
                    #expect(sleep >= expected * 0.9 && sleep <= expected * 1.1, "\(sleep) is not within 10 % of \(expected)")
                }
                #expect(zip(sleeps, nominal).contains { $0 != $1 }, "no jitter")
            }
            // After the success, the poll interval again.
            #expect(sleeps[11] == 30 && sleeps[12] == 30)
            #expect(world.events.names.filter { $0 == "error" }.count == 11)
            #expect(world.provider.made.map(\.name) == ["rsv-prod-eastus"])
        }
    }

    @Test func backoffIsExponentialCappedAndJittered() async throws {
        let world = try WatchWorld()
        let loop = world.loop(clock: ManualWatchClock(), repository: world.directory.path("missing"))
        loop.random = { 0.5 }
        #expect(loop.backoff(1) == 1)
        #expect(loop.backoff(4) == 8)
        #expect(loop.backoff(30) == 300)
        loop.random = { 0.999 }
        #expect(loop.backoff(2) > 2 && loop.backoff(2) <= 2.2)
        loop.random = { 0 }
        #expect(loop.backoff(2) == 1.8)
        // A missing repository is an error that the loop reports and retries, not a crash.
        await #expect(throws: (any Error).self) { try await loop.poll() }
    }

    /// A stop during an apply lets the running step finish, skips the rest, and ends the loop without
    /// another sleep, the lock released.
    @Test func stopEndsTheLoopAfterTheRunningStep() async throws {
        let world = try WatchWorld()
        try world.commit(GitOpsFixture.files(days: 30), "Vault and policy")
        let stop = world.stop
        world.events.onEvent = { event in
            if case .stepFinished = event { stop.stop() }
        }
        let clock = ManualWatchClock()
        let loop = world.loop(clock: clock)
        let healthy = await loop.run()
        #expect(!healthy)
        #expect(world.provider.made.map(\.name) == ["rsv-prod-eastus"])
        let record = try #require(try world.store.history().last)
        #expect(record.steps.map(\.status) == [.succeeded, .skipped])
        #expect(clock.sleeps.isEmpty)
        #expect(world.events.names.last == "stop")
        _ = try StateLock.acquire(stateDirectory: world.state, operation: "test")
    }

    /// With no new commit, the drift interval alone brings a re-plan that repairs a change made outside of
    /// coffer; before it is due, nothing is read.
    @Test func driftIntervalTriggersARePlanWithoutANewCommit() async throws {
        let world = try WatchWorld()
        try world.commit(GitOpsFixture.files(days: 30), "Vault and policy")
        let daysBeforeDue = LockedBox<Int?>(nil)
        let clock = ManualWatchClock { index, _ in
            if index == 0 { try! tamperPolicy(world.provider, days: 7) }
            // Sleeps 0 ... 18 end at 30 ... 570 s: drift is due at the poll after sleep 19 (600 s).
            if index == 18 { daysBeforeDue.value = world.policyDays }
            return index < 20
        }
        let loop = world.loop(clock: clock, interval: 30, driftInterval: 600)
        #expect(await loop.run())
        #expect(daysBeforeDue.value == 7)
        #expect(world.policyDays == 30)
        #expect(loop.manifestLoads == 2)
        #expect(world.events.names.filter { $0 != "step" } == ["start", "applied", "repaired", "stop"])
        #expect(try world.store.history().count == 2)
    }
}

