import CofferModel
import CofferReconciler
import Foundation

/// A plan and what it was made from: the desired state, where it came from, and the inventory read under
/// the same lock.
public struct PlannedChanges: Sendable {
    public var plan: Plan
    /// The desired state the plan was made from.
    public var desired: DesiredState
    /// The source as given (paths, or repository, ref and path).
    public var source: ManifestSource
    /// The origin as the history records it: the paths, or the commit with its author and summary.
    public var applySource: ApplySource
    /// The commit read, for a git source.
    public var commit: String?
    /// The options the plan was made with.
    public var options: PlanOptions
    /// The loader's diagnostics (warnings only: with an error there is no plan).
    public var diagnostics: [Diagnostic]
    /// The inventory the plan was made from, handed to an apply under the same lock so that it is not read
    /// twice.
    public var inventory: [ResourceAddress: InventoryEntry]?

    public init(
        plan: Plan, desired: DesiredState, source: ManifestSource, applySource: ApplySource, commit: String?, options: PlanOptions,
        diagnostics: [Diagnostic] = [], inventory: [ResourceAddress: InventoryEntry]? = nil
    ) {
        self.plan = plan
        self.desired = desired
        self.source = source
        self.applySource = applySource
        self.commit = commit
        self.options = options
        self.diagnostics = diagnostics
        self.inventory = inventory
    }
}

extension Workspace {
    /// Plans `source` under the state lock (taken for `operation`, waiting up to `lockTimeout` seconds):
    /// loads the manifests while the provider reads the platform, then refreshes and plans. Invalid
    /// manifests throw `invalidManifests` with their diagnostics; `loaded` sees valid manifests (and their
    /// warnings) as soon as they are read.
    public func plan(
        _ source: ManifestSource, options: PlanOptions, lockTimeout: Double, operation: String = "plan",
        loaded: (LoadedManifests) -> Void = { _ in }
    ) async throws -> PlannedChanges {
        let lock = try lock(operation, timeout: lockTimeout)
        defer { lock.release() }
        return try await plan(source, provider: try provider(), options: options, loaded: loaded)
    }

    /// Plans `source` with `provider`; the caller holds the state lock.
    func plan(_ source: ManifestSource, provider: any Provider, options: PlanOptions, loaded: (LoadedManifests) -> Void) async throws -> PlannedChanges {
        let store = self.store
        let stateDirectory = self.stateDirectory
        var manifests: LoadedManifests?
        var desired: DesiredState?
        // The inventory loads in a task of its own while the manifests load; it is kept for the apply that
        // may follow.
        let inventory = Task { try store.inventory() }
        var plan = try await Planner(provider: provider).plan(options: options) {
            let found = try source.load(stateDirectory: stateDirectory)
            let state = try found.desiredState(
                message: "the manifests have \(found.errorCount) error(s); nothing was planned", hint: "fix them (coffer validate shows the same list)")
            loaded(found)
            manifests = found
            desired = state
            return state
        } inventory: {
            try await inventory.value
        }
        guard let manifests, let desired else { throw GitOpsError(code: .internal, message: "the manifests were not loaded") }
        // The plan's diagnostics show their lines from the text that was loaded, not from the files now.
        plan.diagnostics = manifests.result.sources.withSnippets(plan.diagnostics)
        return PlannedChanges(
            plan: plan, desired: desired, source: source, applySource: manifests.applySource, commit: manifests.commit, options: options,
            diagnostics: manifests.result.diagnostics, inventory: try await inventory.value)
    }
}
