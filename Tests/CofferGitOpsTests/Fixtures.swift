import CofferGit
import CofferGitOps
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

/// Manifests for the watch and apply tests: a vault and a daily policy in it.
enum GitOpsFixture {
    static func vault(crr: Bool = false, tags: [String: String] = [:]) -> String {
        """
        apiVersion: coffer.dev/v1
        kind: RecoveryServicesVault
        metadata:
          name: rsv-prod-eastus
        spec:
          resourceGroup: rg-backup-eastus
          location: eastus
          crossRegionRestore: \(crr)
        \(tags.isEmpty ? "" : "  tags:\n" + tags.keys.sorted().map { "    \($0): \(tags[$0]!)\n" }.joined())
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

    /// The files of a commit with the vault and, when `days` is given, the policy, under `manifests/`.
    static func files(days: Int? = nil, crr: Bool = false) -> [String: Data] {
        var files = ["manifests/vault.yaml": Data(vault(crr: crr).utf8)]
        if let days { files["manifests/policy.yaml"] = Data(policy(days: days).utf8) }
        return files
    }
}

/// The events a watch loop sent, in order.
final class EventRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [WatchEvent] = []
    /// Called with each event as it arrives, on the loop's thread.
    var onEvent: @Sendable (WatchEvent) -> Void = { _ in }

    var all: [WatchEvent] { lock.withLock { recorded } }

    func record(_ event: WatchEvent) {
        lock.withLock { recorded.append(event) }
        onEvent(event)
    }

    /// The names of the events, as `coffer watch` logs them in its `event` field.
    var names: [String] {
        all.map { event in
            switch event {
            case .started: "start"
            case .failed: "error"
            case .forcePushed: "force-push"
            case .unchanged: "unchanged"
            case .invalid: "invalid"
            case .driftFound: "drift"
            case .inSync: "in-sync"
            case .stepFinished: "step"
            case .applied(_, _, let repaired, _): repaired ? "repaired" : "applied"
            case .stopped: "stop"
            case .elected: "elected"
            case .following: "following"
            case .deposed: "deposed"
            }
        }
    }
}

/// A repository to watch, an in-memory provider, a state directory, and the loop's events.
struct WatchWorld {
    let directory: TemporaryDirectory
    let origin: GitRepository
    let provider = InMemoryProvider()
    let events = EventRecorder()
    let stop = StopSignal()

    init(bare: Bool = false) throws {
        directory = try TemporaryDirectory()
        origin = try GitRepository.create(at: directory.path("origin"), bare: bare)
    }

    var state: String { directory.path("state") }
    var workspace: Workspace { Workspace(stateDirectory: state, provider: provider) }
    var store: FileStateStore { FileStateStore(stateDirectory: state) }

    /// Commits `files` on main.
    @discardableResult
    func commit(_ files: [String: Data], _ message: String) throws -> String {
        try origin.commit(files: files, message: message, branch: "main")
    }

    /// A loop over the origin's main (or `repository`), following `manifests/`, with prune.
    func loop(
        clock: any WatchClock, repository: String? = nil, interval: Double = 30, driftInterval: Double = 3600, reportOnly: Bool = false,
        random: @escaping @Sendable () -> Double = { 0.5 }
    ) -> WatchLoop {
        let settings = WatchSettings(
            repository: repository ?? directory.path("origin"), ref: "main", path: "manifests", interval: interval, driftInterval: driftInterval,
            reportOnly: reportOnly, once: false, prune: true, lockTimeout: 5)
        let events = self.events
        return WatchLoop(settings: settings, workspace: workspace, stop: stop, clock: clock, random: random, events: { events.record($0) })
    }

    /// The days the daily policy keeps on the platform.
    var policyDays: Int? { CofferGitOpsTests.policyDays(provider) }
}

extension InMemoryProvider {
    /// What coffer made on the platform (tagged `managed-by: coffer`): the stored resources without the
    /// default policies the service makes with every vault.
    var made: [ObservedResource] {
        all.filter { $0.tags[ObservedResource.managedByTag] == ObservedResource.managedByValue }
    }
}

/// The days the daily policy keeps on the platform.
func policyDays(_ provider: InMemoryProvider) -> Int? {
    for resource in provider.made {
        if case .backupPolicy(let policy) = resource.spec { return policy.retention.daily?.count }
    }
    return nil
}

/// Changes the policy's daily retention on the platform, as a change made outside of coffer would.
func tamperPolicy(_ provider: InMemoryProvider, days: Int) throws {
    let policyID = try #require(provider.all.first { $0.name == "daily-standard-eastus" }?.id)
    provider.tamper(id: policyID) { spec in
        if case .backupPolicy(var policy) = spec {
            policy.retention.daily = DailyRetention(count: days)
            spec = .backupPolicy(policy)
        }
    }
}
