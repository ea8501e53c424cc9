import CofferGit
import CofferModel
import CofferReconciler
import Foundation

/// What to apply: the manifests of a source, planned now, or a saved plan.
public enum ApplyInput: Sendable {
    case manifests(ManifestSource, PlanOptions)
    case savedPlan(SavedPlan)
}

/// Follows an apply as it goes, for a view to render it; every method has a default that does nothing.
/// Methods are called on the thread that runs the apply.
public protocol ApplyObserver: Sendable {
    /// Valid manifests were loaded (with their warnings, if any); not called for a saved plan.
    func manifestsLoaded(_ manifests: LoadedManifests)
    /// The plan was made (for a saved plan: made again and found to be the saved one), before its errors
    /// are checked.
    func planned(_ planned: PlannedChanges, fromSavedPlan: Bool) throws
    /// Asked before a plan made from manifests changes anything; throws to refuse (a saved plan was
    /// approved when it was saved).
    func approve(_ plan: Plan) throws
    /// A step finished: succeeded, failed or skipped.
    func stepFinished(_ record: StepRecord)
}

extension ApplyObserver {
    public func manifestsLoaded(_ manifests: LoadedManifests) {}
    public func planned(_ planned: PlannedChanges, fromSavedPlan: Bool) throws {}
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

    public init(isCancelled: (@Sendable () -> Bool)? = nil, faultPoint: (@Sendable (Double) throws -> Void)? = nil) {
        self.isCancelled = isCancelled
        self.faultPoint = faultPoint
    }
}

extension Workspace {
    /// One apply, as `apply`, `rollback` and `apply --plan` run it: take the lock, load the manifests and plan
    /// (or make a saved plan again and refuse it when stale), refuse a plan with errors, ask for approval,
    /// apply step by step (recorded in the history), and note the commit when the manifests came from git.
    /// A failed step is not thrown: the outcome says so, for the caller to report.
    public func apply(
        _ input: ApplyInput, lockTimeout: Double, observer: some ApplyObserver = SilentApplyObserver(), hooks: ApplyHooks = ApplyHooks()
    ) throws -> AppliedPlan {
        let lock = try lock("apply", timeout: lockTimeout)
        defer { lock.release() }
        let provider = try provider()
        let planned: PlannedChanges
        switch input {
        case .manifests(let source, let options):
            planned = try plan(source, provider: provider, options: options, loaded: observer.manifestsLoaded)
            try observer.planned(planned, fromSavedPlan: false)
        case .savedPlan(let saved):
            let inventory = try store.inventory()
            let fresh = try Planner(provider: provider).plan(desired: saved.desired, inventory: inventory, options: saved.options)
            if let stale = saved.staleness(of: fresh) { throw stale }
            planned = PlannedChanges(
                plan: fresh, desired: saved.desired, source: saved.source, applySource: saved.applySource, commit: saved.commit,
                options: saved.options, inventory: inventory)
            try observer.planned(planned, fromSavedPlan: true)
        }
        if planned.plan.hasErrors {
            throw GitOpsError(code: .planHasErrors, message: "the plan has errors; nothing was applied", hint: "fix the errors above")
        }
        if case .manifests = input, planned.plan.changes.contains(where: { $0.action != .noOp }) {
            try observer.approve(planned.plan)
        }
        let stateDirectory = self.stateDirectory
        let outcome = try apply(planned, provider: provider, hooks: hooks, onStep: { observer.stepFinished($0) }) { repository in
            try GitMirror.open(repository, stateDirectory: stateDirectory, fetch: false)
        }
        return AppliedPlan(planned: planned, outcome: outcome)
    }

    /// Applies a plan made under the lock the caller holds, recording it in the history, then adds the note
    /// to the commit the manifests came from, if any (`repository` opens the repository it is in). A note
    /// that cannot be written (a repository gone since) does not undo the apply.
    func apply(
        _ planned: PlannedChanges, provider: any Provider, hooks: ApplyHooks, onStep: (@Sendable (StepRecord) -> Void)? = nil,
        repository: (String) throws -> GitRepository
    ) throws -> ApplyOutcome {
        var applier = Applier(provider: provider, store: store, onStep: onStep)
        applier.isCancelled = hooks.isCancelled
        applier.faultPoint = hooks.faultPoint
        let outcome = try applier.apply(planned.plan, source: planned.applySource, inventory: planned.inventory)
        if let commit = planned.commit, let path = planned.applySource.repository, let repo = try? repository(path) {
            try? GitNote.add(to: commit, in: repo, outcome: outcome, summary: planned.plan.summary)
        }
        return outcome
    }
}
