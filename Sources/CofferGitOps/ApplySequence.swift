import CofferGit
import CofferModel
import CofferReconciler
import Foundation

/// What to apply: the manifests of a source, planned now, or a saved plan.
public enum ApplyInput: Sendable {
    /// Load the manifests of the source under the lock, and plan them.
    case manifests(ManifestSource, PlanOptions)
    /// Manifests loaded already from `source` (as the watch loop reads a commit before it takes the lock);
    /// invalid ones throw `invalidManifests`.
    case loaded(LoadedManifests, source: ManifestSource, options: PlanOptions)
    /// A saved plan: planned again from its desired state, and refused when that plan differs.
    case savedPlan(SavedPlan)
}

/// Whether an apply goes on once its plan is made.
public enum ApplyDecision: Sendable {
    case apply
    /// Stop here, changing nothing and recording nothing.
    case skip
}

/// Follows an apply as it goes, for a view to render it; every method has a default that does nothing.
/// Methods are called on the thread that runs the apply.
public protocol ApplyObserver: Sendable {
    /// Valid manifests were loaded (with their warnings, if any); not called for a saved plan.
    func manifestsLoaded(_ manifests: LoadedManifests)
    /// The plan was made (for a saved plan: made again and found to be the saved one), before its errors
    /// are checked; the observer may end the apply there, or throw.
    func planned(_ planned: PlannedChanges, fromSavedPlan: Bool) throws -> ApplyDecision
    /// Asked before a plan made from `manifests` changes anything; throws to refuse (a saved plan was
    /// approved when it was saved; manifests given `loaded` are the watch loop's, which asks no one).
    func approve(_ plan: Plan) throws
    /// A step finished: succeeded, failed or skipped.
    func stepFinished(_ record: StepRecord)
}

extension ApplyObserver {
    public func manifestsLoaded(_ manifests: LoadedManifests) {}
    public func planned(_ planned: PlannedChanges, fromSavedPlan: Bool) throws -> ApplyDecision { .apply }
    public func approve(_ plan: Plan) throws {}
    public func stepFinished(_ record: StepRecord) {}
}

/// An observer that observes nothing and approves everything.
public struct SilentApplyObserver: ApplyObserver {
    public init() {}
}

/// What an apply planned and did.
public struct AppliedPlan: Sendable {
    public var planned: PlannedChanges
    public var outcome: ApplyOutcome
}

/// Hooks into the steps of an apply.
public struct ApplyHooks: Sendable {
    /// Asked before each step; true ends the apply after the running step (the rest are skipped).
    public var isCancelled: (@Sendable () -> Bool)?
    /// Called before each step (its index) and after it (index + 0.5); may throw or end the process there,
    /// to test recovery from a crash.
    public var faultPoint: (@Sendable (Double) throws -> Void)?
    /// Why the apply runs, as the history records it: a revision, or a drift check of the applied one.
    public var trigger: HistoryTrigger

    public init(
        isCancelled: (@Sendable () -> Bool)? = nil, faultPoint: (@Sendable (Double) throws -> Void)? = nil, trigger: HistoryTrigger = .revision
    ) {
        self.isCancelled = isCancelled
        self.faultPoint = faultPoint
        self.trigger = trigger
    }
}

extension Workspace {
    /// One apply, as `apply`, `rollback`, `apply --plan` and each reconcile of `watch` run it: take the lock
    /// (for `operation`), load the manifests and plan (or make a saved plan again and refuse it when stale),
    /// let the observer see the plan, refuse a plan with errors, ask for approval, apply step by step
    /// (up to `parallelism` independent steps at once, recorded in the history), and note the commit when the manifests came from git. A failed step is not
    /// thrown: the outcome says so, for the caller to report. Nil when the observer skipped the apply.
    @discardableResult
    public func apply(
        _ input: ApplyInput, lockTimeout: Double, operation: String = "apply", observer: some ApplyObserver = SilentApplyObserver(),
        hooks: ApplyHooks = ApplyHooks(), parallelism: Int = Applier.defaultParallelism
    ) async throws -> AppliedPlan? {
        let lock = try lock(operation, timeout: lockTimeout)
        defer { lock.release() }
        let provider = try provider()
        let planned: PlannedChanges
        let decision: ApplyDecision
        switch input {
        case .manifests(let source, let options):
            planned = try await plan(source, provider: provider, options: options, loaded: observer.manifestsLoaded)
            decision = try observer.planned(planned, fromSavedPlan: false)
        case .loaded(let manifests, let source, let options):
            let desired = try manifests.desiredState(
                message: "the manifests have \(manifests.errorCount) error(s); nothing was planned", hint: "fix them (coffer validate shows the same list)")
            let inventory = try store.inventory()
            var plan = try await Planner(provider: provider).plan(desired: desired, inventory: inventory, options: options)
            plan.diagnostics = manifests.result.sources.withSnippets(plan.diagnostics)
            planned = PlannedChanges(
                plan: plan, desired: desired,
                source: source, applySource: manifests.applySource, commit: manifests.commit, options: options,
                diagnostics: manifests.result.diagnostics, inventory: inventory)
            decision = try observer.planned(planned, fromSavedPlan: false)
        case .savedPlan(let saved):
            let inventory = try store.inventory()
            let fresh = try await Planner(provider: provider).plan(desired: saved.desired, inventory: inventory, options: saved.options)
            if let stale = saved.staleness(of: fresh) { throw stale }
            planned = PlannedChanges(
                plan: fresh, desired: saved.desired, source: saved.source, applySource: saved.applySource, commit: saved.commit,
                options: saved.options, inventory: inventory)
            decision = try observer.planned(planned, fromSavedPlan: true)
        }
        guard decision == .apply else { return nil }
        if planned.plan.hasErrors {
            throw GitOpsError(code: .planHasErrors, message: "the plan has errors; nothing was applied", hint: "fix the errors above")
        }
        if case .manifests = input, planned.plan.changes.contains(where: { $0.action != .noOp }) {
            try observer.approve(planned.plan)
        }
        var applier = Applier(provider: provider, store: store) { observer.stepFinished($0) }
        applier.isCancelled = hooks.isCancelled
        applier.faultPoint = hooks.faultPoint
        applier.parallelism = parallelism
        let outcome = try await applier.apply(planned.plan, source: planned.applySource, inventory: planned.inventory, trigger: hooks.trigger)
        // A note that cannot be written (a repository gone since) does not undo the apply.
        if let commit = planned.commit, let repository = planned.applySource.repository,
            let repo = try? GitMirror.open(repository, stateDirectory: stateDirectory, fetch: false)
        {
            try? GitNote.add(to: commit, in: repo, outcome: outcome, summary: planned.plan.summary)
        }
        return AppliedPlan(planned: planned, outcome: outcome)
    }
}

extension Workspace {
    /// Records in the history, and in a git note on its commit, a revision reconciled without an apply: a
    /// new commit that leaves the manifests' tree as the applied one had it (nothing to plan), or a drift
    /// check with `--report-only` that found changes and changed nothing.
    public func record(_ record: HistoryRecord) throws {
        try store.appendHistory(record)
        if let commit = record.source.commit, let repository = record.source.repository,
            let repo = try? GitMirror.open(repository, stateDirectory: stateDirectory, fetch: false)
        {
            try? GitNote.add(
                to: commit, in: repo, outcome: ApplyOutcome(steps: [], result: record.result), summary: record.summary, time: record.time)
        }
    }
}
