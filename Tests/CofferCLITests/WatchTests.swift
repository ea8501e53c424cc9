import CofferGit
import CofferModel
import CofferReconciler
import CofferTestSupport
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

enum GitOpsFixture {
    static func vault(crr: Bool = false) -> String {
        """
        apiVersion: coffer.dev/v1
        kind: RecoveryServicesVault
        metadata:
          name: rsv-prod-eastus
        spec:
          resourceGroup: rg-backup-eastus
          location: eastus
          crossRegionRestore: \(crr)

        """
    }

    static func policy(days: Int) -> String {
        """
        apiVersion: coffer.dev/v1
        kind: BackupPolicy
        metadata:
          name: daily-standard-eastus
        spec:
          vault: rsv-prod-eastus
          schedule:
            frequency: Daily
            time: "02:00"
          retention:
            daily:
              count: \(days)

        """
    }

    static func files(_ documents: [String: String]) -> [String: Data] {
        documents.mapValues { Data($0.utf8) }
    }

    /// A watch loop over `repository` with an in-memory provider, logging into `lines`.
    static func loop(
        repository: String, state: String, provider: InMemoryProvider, lines: LogLines, driftInterval: Double = 3600,
        reportOnly: Bool = false, json: Bool = false
    ) -> WatchLoop {
        let workspace = Workspace(stateDirectory: state, makeProvider: { _ in provider })
        let logger = Logger(label: "test") { _ in EventLogHandler(json: json, write: { lines.append($0) }) }
        var settings = WatchSettings(
            repository: repository, ref: "main", path: "manifests", interval: 0.05, driftInterval: driftInterval,
            reportOnly: reportOnly, once: false, prune: true, lockTimeout: 5)
        // Errors (such as the empty repository before the first commit) retry quickly in tests.
        settings.backoffBase = 0.05
        settings.backoffCap = 0.2
        return WatchLoop(settings: settings, workspace: workspace, logger: logger, stop: StopSignal())
    }
}

@Suite struct WatchTests {
    @Test func followsCommitsSkipsInvalidOnesAndCopesWithAForcePush() async throws {
        let directory = try TemporaryDirectory()
        let origin = try GitRepository.create(at: directory.path("origin"))
        let provider = InMemoryProvider()
        let lines = LogLines()
        let loop = GitOpsFixture.loop(repository: directory.path("origin"), state: directory.path("state"), provider: provider, lines: lines)
        let store = FileStateStore(stateDirectory: directory.path("state"))

        // 1: a vault.
        let first = try origin.commit(files: GitOpsFixture.files(["manifests/vault.yaml": GitOpsFixture.vault()]), message: "Add the vault", branch: "main")
        try await loop.poll()
        #expect(provider.all.map(\.name) == ["rsv-prod-eastus"])
        #expect(try store.history().map(\.source.commit) == [first])
        #expect(try origin.note(for: first)?.contains("coffer apply succeeded") == true)

        // Nothing new: no manifests are read.
        let loads = loop.manifestLoads
        try await loop.poll()
        #expect(loop.manifestLoads == loads)

        // 2: a policy.
        let second = try origin.commit(
            files: GitOpsFixture.files(["manifests/vault.yaml": GitOpsFixture.vault(), "manifests/policy.yaml": GitOpsFixture.policy(days: 30)]),
            message: "Add a daily policy", branch: "main")
        try await loop.poll()
        #expect(Set(provider.all.map(\.name)) == ["rsv-prod-eastus", "daily-standard-eastus"])
        #expect(try store.history().last?.source.commit == second)
        #expect(try store.history().last?.source.summary == "Add a daily policy")

        // 3: invalid manifests are never applied, and not re-read until the next commit.
        _ = try origin.commit(
            files: GitOpsFixture.files(["manifests/vault.yaml": GitOpsFixture.vault(), "manifests/policy.yaml": "kind: [unclosed\n"]),
            message: "Break it", branch: "main")
        try await loop.poll()
        #expect(try store.history().count == 2)
        #expect(lines.all.contains { $0.contains("invalid manifests") })
        let afterInvalid = loop.manifestLoads
        try await loop.poll()
        #expect(loop.manifestLoads == afterInvalid)

        // 4: the fix is applied.
        let fourth = try origin.commit(
            files: GitOpsFixture.files(["manifests/vault.yaml": GitOpsFixture.vault(), "manifests/policy.yaml": GitOpsFixture.policy(days: 60)]),
            message: "Fix it, keep 60 days", branch: "main")
        try await loop.poll()
        #expect(try store.history().last?.source.commit == fourth)
        #expect(policyDays(provider) == 60)

        // A force-push back to the second commit: the rewritten branch is followed.
        try origin.setBranch("main", to: second)
        try await loop.poll()
        #expect(policyDays(provider) == 30)
        #expect(lines.all.contains { $0.contains("force-push") })
        #expect(try store.history().last?.source.commit == second)
    }

    @Test func driftIsRepairedOnTheDriftIntervalOrOnlyReported() async throws {
        for reportOnly in [false, true] {
            let directory = try TemporaryDirectory()
            let origin = try GitRepository.create(at: directory.path("origin"))
            let provider = InMemoryProvider()
            let lines = LogLines()
            let loop = GitOpsFixture.loop(
                repository: directory.path("origin"), state: directory.path("state"), provider: provider, lines: lines, driftInterval: 0,
                reportOnly: reportOnly)
            _ = try origin.commit(
                files: GitOpsFixture.files(["manifests/vault.yaml": GitOpsFixture.vault(), "manifests/policy.yaml": GitOpsFixture.policy(days: 30)]),
                message: "Vault and policy", branch: "main")
            try await loop.poll()
            let policyID = try #require(provider.all.first { $0.name == "daily-standard-eastus" }?.id)
            provider.tamper(id: policyID) { spec in
                if case .backupPolicy(var policy) = spec {
                    policy.retention.daily = DailyRetention(count: 7)
                    spec = .backupPolicy(policy)
                }
            }
            try await loop.poll()
            #expect(policyDays(provider) == (reportOnly ? 7 : 30))
            #expect(lines.all.contains { $0.contains(reportOnly ? "drift found" : "to repair drift") })
        }
    }

    @Test func followsAFileURLRemoteThroughAMirrorInTheStateDirectory() async throws {
        let directory = try TemporaryDirectory()
        let origin = try GitRepository.create(at: directory.path("origin"), bare: true)
        let provider = InMemoryProvider()
        let lines = LogLines()
        let url = "file://" + directory.path("origin")
        let loop = GitOpsFixture.loop(repository: url, state: directory.path("state"), provider: provider, lines: lines, json: true)
        let commit = try origin.commit(files: GitOpsFixture.files(["manifests/vault.yaml": GitOpsFixture.vault()]), message: "Vault", branch: "main")
        try origin.setHead(branch: "main")
        try await loop.poll()
        #expect(provider.all.map(\.name) == ["rsv-prod-eastus"])
        #expect(FileManager.default.fileExists(atPath: directory.path("state/git")))
        // The note reaches the origin.
        #expect(try GitRepository.open(at: directory.path("origin")).note(for: commit)?.contains("succeeded") == true)
        // JSON lines, one object per event.
        for line in lines.all {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            #expect(object["event"] != nil && object["time"] != nil)
        }
        _ = try origin.commit(
            files: GitOpsFixture.files(["manifests/vault.yaml": GitOpsFixture.vault(crr: true)]), message: "CRR on", branch: "main")
        try await loop.poll()
        if case .vault(let vault)? = provider.all.first?.spec { #expect(vault.crossRegionRestore) } else { Issue.record("no vault") }
    }

    @Test func runLoopAppliesThreeCommitsAndStopsOnRequest() async throws {
        let directory = try TemporaryDirectory()
        let origin = try GitRepository.create(at: directory.path("origin"))
        let provider = InMemoryProvider()
        let lines = LogLines()
        let loop = GitOpsFixture.loop(repository: directory.path("origin"), state: directory.path("state"), provider: provider, lines: lines)
        let store = FileStateStore(stateDirectory: directory.path("state"))
        let running = Task.detached { await loop.run() }
        var commits: [String] = []
        for days in [30, 45, 60] {
            commits.append(
                try origin.commit(
                    files: GitOpsFixture.files(["manifests/vault.yaml": GitOpsFixture.vault(), "manifests/policy.yaml": GitOpsFixture.policy(days: days)]),
                    message: "Keep \(days) days", branch: "main"))
            // Wait (bounded: 60 s, for a loaded machine) until watch has applied it.
            var waited = 0
            while (try store.history().last?.source.commit) != commits.last && waited < 2400 {
                try await Task.sleep(for: .milliseconds(25))
                waited += 1
            }
            #expect(try store.history().last?.source.commit == commits.last)
            #expect(policyDays(provider) == days)
        }
        loop.stop.stop()
        _ = await running.value
        #expect(lines.all.last?.contains("watch stopped") == true)
        // The lock is free again.
        _ = try StateLock.acquire(stateDirectory: directory.path("state"), operation: "test")
    }

    @Test func backoffGrowsExponentiallyWithBoundedJitter() async throws {
        let directory = try TemporaryDirectory()
        let workspace = Workspace(stateDirectory: directory.path("state"), makeProvider: { _ in InMemoryProvider() })
        let settings = WatchSettings(
            repository: directory.path("missing"), ref: "main", path: nil, interval: 1, driftInterval: 60, reportOnly: false, once: false,
            prune: false, lockTimeout: 1)
        let loop = WatchLoop(settings: settings, workspace: workspace, logger: Logger(label: "test") { _ in EventLogHandler(json: false, write: { _ in }) }, stop: StopSignal())
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
}

private func policyDays(_ provider: InMemoryProvider) -> Int? {
    for resource in provider.all {
        if case .backupPolicy(let policy) = resource.spec { return policy.retention.daily?.count }
    }
    return nil
}
