import CofferGit
import CofferModel
import CofferReconciler
import Foundation

/// Settings of a watch loop.
public struct WatchSettings: Sendable {
    /// The repository: a path, or a URL mirrored under `STATE/git`.
    public var repository: String
    /// The branch, tag or commit to follow.
    public var ref: String
    /// The manifests' folder inside the repository (nil: its root).
    public var path: String?
    /// Seconds between polls.
    public var interval: Double
    /// Seconds between re-plans without a new commit, to find changes made outside of coffer.
    public var driftInterval: Double
    /// Report drift found between commits instead of repairing it.
    public var reportOnly: Bool
    /// Reconcile once and return.
    public var once: Bool
    public var prune: Bool
    /// Seconds each reconcile waits for the state lock.
    public var lockTimeout: Double
    /// Steps each apply runs at once, at most.
    public var parallelism: Int = Applier.defaultParallelism
    /// Backoff after errors: base, cap, and ± jitter fraction.
    public var backoffBase: Double = 1
    public var backoffCap: Double = 300
    public var jitter: Double = 0.1
    /// Several replicas of one watch: the group's name (nil: this watch runs alone). Only the replica that
    /// holds the group's lease reconciles; the others poll the lease every `interval` and take over when it
    /// lapses.
    public var replicasGroup: String?
    /// Seconds a lease lasts unless renewed (the leader renews it every third of that).
    public var leaseTTL: Double = 15

    public init(
        repository: String, ref: String, path: String?, interval: Double, driftInterval: Double, reportOnly: Bool, once: Bool, prune: Bool,
        lockTimeout: Double
    ) {
        self.repository = repository
        self.ref = ref
        self.path = path
        self.interval = interval
        self.driftInterval = driftInterval
        self.reportOnly = reportOnly
        self.once = once
        self.prune = prune
        self.lockTimeout = lockTimeout
    }
}

/// What a watch loop did, for a view to log.
public enum WatchEvent: Sendable {
    /// The loop started.
    case started(repository: String, ref: String, interval: Double)
    /// A poll failed; the loop retries after `retryIn` seconds (unless it runs once).
    case failed(any Error, retryIn: Double)
    /// The ref was rewritten: the applied commit is not an ancestor of the new one.
    case forcePushed(previous: String, commit: String)
    /// A new commit leaves the manifests' tree as it was: nothing to do.
    case unchanged(commit: String)
    /// A new commit's manifests are invalid; the loop waits for the next commit.
    case invalid(commit: String, diagnostics: [Diagnostic])
    /// With `reportOnly`, a drift check found changes made outside of coffer.
    case driftFound(commit: String, plan: Plan)
    /// A new commit needs no change.
    case inSync(commit: String)
    /// A step of an apply finished.
    case stepFinished(StepRecord)
    /// A commit was applied, or (`repairedDrift`) drift was repaired; `message` is the commit's summary.
    case applied(commit: String, message: String?, repairedDrift: Bool, summary: PlanSummary)
    /// The loop ended.
    case stopped(polls: Int, applies: Int)
    /// This replica became the leader of its group with `term`; it reconciles from `commit` on (the last
    /// revision the group reconciled, nil if none).
    case elected(group: String, term: Int64, resumingFrom: String?)
    /// Another replica leads the group (nil: none yet); this one waits.
    case following(group: String, leader: String?, term: Int64?)
    /// This replica lost the lead; it stops applying and follows.
    case deposed(group: String, term: Int64, reason: String)
}

/// The GitOps loop: poll the ref, apply each new commit, re-plan every drift interval, back off on errors,
/// stop cleanly on request. Polls that find nothing new read no manifests. One thread runs it; only `stop`
/// is touched from others. Time comes from its clock, randomness from `random`, and everything it does is
/// told to `events`.
public final class WatchLoop: @unchecked Sendable {
    public let settings: WatchSettings
    public let workspace: Workspace
    public let stop: StopSignal
    public let clock: any WatchClock
    /// The randomness of the jitter: a number in 0..<1.
    public var random: @Sendable () -> Double
    private let events: @Sendable (WatchEvent) -> Void

    public private(set) var appliedCommit: String?
    /// The replica's leadership, with `settings.replicasGroup`.
    public private(set) var leadership: Leadership?
    private var lastFollowed: LeaderLease?
    private var ledTerm: Int64?
    private var appliedTree: String?
    private var invalidCommit: String?
    private var lastReconcile: Date?
    public private(set) var consecutiveFailures = 0
    /// Counts, for tests and the final event.
    public private(set) var polls = 0
    public private(set) var manifestLoads = 0
    public private(set) var applies = 0

    /// A loop over `workspace`; `clock` defaults to the wall clock, woken by `stop`.
    public init(
        settings: WatchSettings, workspace: Workspace, stop: StopSignal = StopSignal(), clock: (any WatchClock)? = nil,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, events: @escaping @Sendable (WatchEvent) -> Void
    ) {
        self.settings = settings
        self.workspace = workspace
        self.stop = stop
        self.clock = clock ?? SystemWatchClock(stop: stop)
        self.random = random
        self.events = events
    }

    /// Runs until stopped (or once). Returns whether the last reconcile succeeded.
    @discardableResult
    public func run() async -> Bool {
        events(.started(repository: settings.repository, ref: settings.ref, interval: settings.interval))
        var healthy = true
        while !stop.isStopped {
            let delay: Double
            do {
                guard try lead() else {
                    if settings.once { break }
                    if !(await clock.sleep(seconds: Self.followerDelay(interval: settings.interval, lease: lastFollowed, now: Date()))) { break }
                    continue
                }
                try await poll()
                consecutiveFailures = 0
                healthy = true
                delay = settings.interval
            } catch {
                consecutiveFailures += 1
                healthy = false
                delay = backoff(consecutiveFailures)
                events(.failed(error, retryIn: delay))
            }
            if settings.once || stop.isStopped { break }
            if !(await clock.sleep(seconds: delay)) { break }
        }
        leadership?.resign()
        events(.stopped(polls: polls, applies: applies))
        return healthy
    }

    /// With a replicas group: campaigns (or checks that this replica still leads) and says whether it may
    /// reconcile now. Without one: always.
    func lead() throws -> Bool {
        guard let group = settings.replicasGroup else { return true }
        if leadership == nil {
            leadership = Leadership(election: try workspace.backend.leaderElection(), group: group, ttl: settings.leaseTTL)
        }
        let leadership = leadership!
        if let reason = leadership.takeDeposedReason(), let term = ledTerm {
            events(.deposed(group: group, term: term, reason: reason))
            forgetProgress()
        }
        switch try leadership.campaign() {
        case .leading(let lease):
            if ledTerm != lease.term {
                // A new leader goes on from what the group reconciled last, not from scratch.
                try resumeFromHistory()
                ledTerm = lease.term
                lastFollowed = nil
                events(.elected(group: group, term: lease.term, resumingFrom: appliedCommit))
            }
            return true
        case .following(let lease):
            ledTerm = nil
            if lease?.holder != lastFollowed?.holder || lease?.term != lastFollowed?.term || lastFollowed == nil {
                events(.following(group: group, leader: lease?.holder, term: lease?.term))
            }
            lastFollowed = lease ?? LeaderLease(group: group, holder: "", term: 0, expires: .distantPast)
            return false
        }
    }

    /// Forgets what this replica applied: another leader may have moved on since.
    private func forgetProgress() {
        appliedCommit = nil
        appliedTree = nil
        invalidCommit = nil
        lastReconcile = nil
        ledTerm = nil
    }

    /// Takes the group's last reconciled revision of this source from the shared history.
    private func resumeFromHistory() throws {
        forgetProgress()
        let source = ApplySource(repository: settings.repository, ref: settings.ref, subdirectory: settings.path)
        guard let status = try workspace.status(of: source), let commit = status.reconciled.source.commit,
            status.reconciled.result == .succeeded || status.reconciled.result == .noChanges
        else { return }
        appliedCommit = commit
        let repo = try GitMirror.open(settings.repository, stateDirectory: workspace.stateDirectory, fetch: true)
        appliedTree = try? repo.treeID(at: commit, under: settings.path)
        lastReconcile = clock.now()
    }

    /// The delay before retry `n` (1-based): exponential from the base, capped, with ± jitter.
    /// How long a follower waits before it campaigns again: the poll interval, or less when the leader's lease
    /// ends sooner, so that it campaigns as the lease lapses (a few milliseconds after, for the clocks of
    /// the replica and the backend). A follower takes over a dead leader's lease within its TTL plus the time
    /// of one campaign, not TTL plus a whole interval.
    public static func followerDelay(interval: Double, lease: LeaderLease?, now: Date) -> Double {
        guard let lease, lease.term > 0 else { return interval }
        let untilExpiry = lease.expires.timeIntervalSince(now) + 0.02
        return min(interval, max(0.01, untilExpiry))
    }

    public func backoff(_ n: Int) -> Double {
        let raw = min(settings.backoffCap, settings.backoffBase * pow(2, Double(n - 1)))
        return raw * (1 + settings.jitter * (2 * random() - 1))
    }

    /// One poll: fetch, resolve, and reconcile when there is a new commit or drift is due.
    public func poll() async throws {
        polls += 1
        let repo = try GitMirror.open(settings.repository, stateDirectory: workspace.stateDirectory, fetch: true)
        let commit = try repo.resolve(settings.ref)
        let now = clock.now()
        let driftDue = lastReconcile.map { now.timeIntervalSince($0) >= settings.driftInterval } ?? true
        let newCommit = commit != appliedCommit && commit != invalidCommit
        guard newCommit || (driftDue && appliedCommit != nil) else { return }

        if newCommit, let previous = appliedCommit, !(try repo.isAncestor(previous, of: commit)) {
            events(.forcePushed(previous: previous, commit: commit))
        }
        let tree = try repo.treeID(at: commit, under: settings.path)
        if newCommit, tree == appliedTree, !driftDue {
            // The platform is at this revision too: recorded, so that history and status name it.
            let info = try repo.commitInfo(commit)
            let lock = try workspace.lock("watch", timeout: settings.lockTimeout)
            defer { lock.release() }
            try workspace.record(
                HistoryRecord(
                    time: Date(),
                    source: ApplySource(
                        repository: settings.repository, ref: settings.ref, subdirectory: settings.path, commit: commit,
                        author: "\(info.authorName) <\(info.authorEmail)>", summary: info.summary),
                    summary: PlanSummary(), result: .noChanges, error: nil, steps: []))
            events(.unchanged(commit: commit))
            appliedCommit = commit
            return
        }

        manifestLoads += 1
        let target = newCommit ? commit : appliedCommit!
        let loaded = try ManifestSource.load(repo: repo, repository: settings.repository, ref: settings.ref, commit: target, path: settings.path)
        guard loaded.result.state != nil else {
            invalidCommit = commit
            events(.invalid(commit: commit, diagnostics: loaded.result.diagnostics))
            return
        }

        let stop = self.stop
        let applied = try await workspace.apply(
            .loaded(loaded, source: .git(repository: settings.repository, ref: settings.ref, path: settings.path), options: PlanOptions(prune: settings.prune)),
            lockTimeout: settings.lockTimeout, operation: "watch",
            observer: Reconcile(loop: self, commit: commit, tree: tree, newCommit: newCommit),
            hooks: ApplyHooks(isCancelled: { [leadership] in stop.isStopped || leadership.map { !$0.isLeading } == true },
                              trigger: newCommit ? .revision : .drift), parallelism: settings.parallelism)
        guard let applied else { return }
        let outcome = applied.outcome
        if let error = outcome.error {
            applies += 1
            throw error
        }
        appliedCommit = target
        appliedTree = tree
        let adopted = applied.planned.plan.changes.contains { $0.reason == .adopt || $0.reason == .forget }
        if outcome.result == .noChanges && newCommit && !adopted {
            // A revision that needs no change: recorded by the apply (history and note), nothing applied.
            events(.inSync(commit: target))
            return
        }
        applies += 1
        events(.applied(commit: target, message: loaded.applySource.summary, repairedDrift: !newCommit, summary: applied.planned.plan.summary))
    }

    /// One reconcile's part in the apply sequence: it refuses a plan with errors as the loop does (the commit
    /// is not tried again), only reports drift with `reportOnly`, and applies nothing when there is nothing
    /// to do.
    private struct Reconcile: ApplyObserver {
        let loop: WatchLoop
        let commit: String
        let tree: String?
        let newCommit: Bool

        func planned(_ planned: PlannedChanges, fromSavedPlan: Bool) throws -> ApplyDecision {
            let plan = planned.plan
            loop.lastReconcile = loop.clock.now()
            if plan.hasErrors {
                loop.invalidCommit = commit
                let first = plan.diagnostics.first { $0.severity == .error }
                throw GitOpsError(
                    code: GitOpsError.Code(rawValue: first?.code ?? GitOpsError.Code.planHasErrors.rawValue),
                    message: "the plan for \(commit.prefix(10)) has errors: \(first?.summary ?? "")", hint: first?.hint)
            }
            if !newCommit && loop.settings.reportOnly {
                if !plan.drift.isEmpty || plan.hasChanges {
                    // Recorded once while it stays the same, not at every drift check.
                    let record = HistoryRecord(
                        time: Date(), source: planned.applySource, summary: plan.summary, result: .driftReported, error: nil, steps: [],
                        trigger: .drift, drift: plan.drift.map(\.address))
                    let last = try loop.workspace.store.history().last
                    if !(last?.result == .driftReported && last?.source == record.source && last?.drift == record.drift && last?.summary == record.summary) {
                        try loop.workspace.store.appendHistory(record)
                    }
                    loop.events(.driftFound(commit: planned.commit ?? commit, plan: plan))
                }
                return .skip
            }
            // A new revision is applied even when it needs no change, so that the history and a git note
            // record it; a drift check that finds nothing records nothing.
            if !newCommit && !plan.hasChanges && !plan.changes.contains(where: { $0.reason == .adopt || $0.reason == .forget }) {
                return .skip
            }
            return .apply
        }

        func stepFinished(_ record: StepRecord) {
            loop.events(.stepFinished(record))
        }
    }
}
