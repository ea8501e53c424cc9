import CofferModel
import Foundation

/// What an apply did.
public struct ApplyOutcome: Sendable, Hashable, Codable {
    public var steps: [StepRecord]
    public var result: ApplyResult
    /// The first failure, when a step failed.
    public var error: ProviderError?
    /// The steps of an earlier apply that had not finished when it stopped; this apply re-read the platform
    /// and finished or repaired them.
    public var resumed: [StepRecord]

    public var succeeded: Bool { result != .failed }

    public init(steps: [StepRecord], result: ApplyResult, error: ProviderError? = nil, resumed: [StepRecord] = []) {
        self.steps = steps
        self.result = result
        self.error = error
        self.resumed = resumed
    }
}

/// Applies a plan step by step in dependency order, up to `parallelism` independent steps at once, recording
/// each step before and after it runs so that an apply killed at any point is finished or repaired by the next
/// one: every step is idempotent because the next plan re-reads the platform first, and ids are deterministic,
/// so nothing is ever created twice. Steps are reported, and recorded in the outcome, in plan order.
public struct Applier: Sendable {
    public let provider: any Provider
    public let store: any ReconcilerStateStore
    /// Called after each step with its record, for progress output.
    public var onStep: (@Sendable (StepRecord) -> Void)?
    /// Asked before each step: when it returns true (a SIGTERM arrived), the steps not yet started are
    /// recorded as skipped and the apply ends after the step that was running.
    public var isCancelled: (@Sendable () -> Bool)?
    /// Test hook: called with the step's index before it runs and after it ran (as index + 0.5), and may
    /// throw or kill the process there to simulate a crash.
    public var faultPoint: (@Sendable (Double) throws -> Void)?
    /// Steps run at once, at most (1: one after the other). Steps that conflict (a vault and what is in it, a
    /// policy and the items that use it, two grants on one key vault) still run in plan order.
    public var parallelism: Int = 1

    /// `--parallelism`'s default, as Terraform's.
    public static let defaultParallelism = 10

    public init(provider: any Provider, store: any ReconcilerStateStore, onStep: (@Sendable (StepRecord) -> Void)? = nil) {
        self.provider = provider
        self.store = store
        self.onStep = onStep
    }

    /// Applies `plan`. Refuses a plan with errors. Returns the outcome and records it in the history.
    /// `inventory` is the inventory the plan was made from, read under the same lock (the store's is read
    /// again when it is nil).
    public func apply(
        _ plan: Plan, source: ApplySource, now: Date = Date(), inventory known: [ResourceAddress: InventoryEntry]? = nil,
        trigger: HistoryTrigger = .revision
    ) async throws -> ApplyOutcome {
        guard !plan.hasErrors else {
            throw ReconcilerError(
                code: .planHasErrors, message: "the plan has errors; nothing was applied",
                hint: "fix the errors the plan reports, then plan again")
        }
        let resumed = try store.unfinishedJournal()
        // The steps an interrupted apply started: the platform may have carried them out already.
        let interrupted = Set(resumed.map(\.address))
        try store.clearJournal()
        var inventory = try known ?? store.inventory()
        let changes = plan.changes
        var records = [StepRecord?](repeating: nil, count: changes.count)
        var finished = [Bool](repeating: false, count: changes.count)
        var emitted = 0
        var failedAddresses: Set<ResourceAddress> = []
        var firstError: ProviderError?
        var inventoryChanged = false
        // The vaults the plan declares, from which the id of a replaced child is built.
        let parents = ResourceParents(plan.changes.compactMap { change in change.spec.map { (name: change.address.name, spec: $0) } })
        /// Records the inventory entry of `address` as it now is.
        func recordInventory(_ address: ResourceAddress) throws {
            try store.updateInventory(address, to: inventory[address])
            inventoryChanged = true
        }
        /// Marks a step finished, and reports the finished steps in plan order (whatever order they ran in).
        func finish(_ index: Int, _ record: StepRecord?) {
            records[index] = record
            finished[index] = true
            while emitted < changes.count && finished[emitted] {
                if let record = records[emitted] { onStep?(record) }
                emitted += 1
            }
        }
        /// A step that needs no provider call, or cannot run: handled at once. False when it must run.
        func settle(_ index: Int) throws -> Bool {
            let change = changes[index]
            if change.action != .noOp, isCancelled?() == true {
                firstError = firstError ?? ProviderError(code: "Interrupted", message: "apply stopped before \(change.address) on request", hint: "apply again to finish", retryable: true)
                finish(index, StepRecord(address: change.address, action: change.action, status: .skipped, errorCode: "Interrupted", message: "not run: coffer was asked to stop"))
                return true
            }
            if let blocker = dependencies(of: change).first(where: failedAddresses.contains) {
                failedAddresses.insert(change.address)
                finish(index, StepRecord(address: change.address, action: change.action, status: .skipped, message: "not run: \(blocker) failed"))
                return true
            }
            guard change.action == .noOp else { return false }
            // Adoption, owned resources that are already gone, and default policies coffer forgets only
            // touch the inventory.
            if change.reason == .adopt, let spec = change.spec {
                inventory[change.address] = InventoryEntry(
                    address: change.address, id: change.id, lastApplied: spec, adopted: true, updated: now, declaredAt: change.location,
                    revision: source.commit)
                try recordInventory(change.address)
            } else if change.reason == .notInManifests || change.reason == .forget {
                inventory[change.address] = nil
                try recordInventory(change.address)
            } else if let spec = change.spec, inventory[change.address]?.lastApplied != spec {
                inventory[change.address]?.lastApplied = spec
                inventory[change.address]?.declaredAt = change.location
                inventory[change.address]?.revision = source.commit
                try recordInventory(change.address)
            } else if change.spec != nil, let entry = inventory[change.address],
                entry.declaredAt != change.location || entry.revision != source.commit
            {
                // Only where the resource is declared moved (or the revision is newer): saved with the
                // inventory at the end, no journal entry needed.
                inventory[change.address]?.declaredAt = change.location
                inventory[change.address]?.revision = source.commit
                inventoryChanged = true
            }
            finish(index, nil)
            return true
        }
        /// The `succeeded` and `failed` entries of steps whose inventory changes are recorded, journaled with
        /// the next steps' `started` entries in one write (or at the end): until then such a step reads as
        /// started, and a crash makes the next apply look at it again, which finds it done.
        var endedEntries: [StepRecord] = []
        /// What the steps that ended together came to, recorded with one inventory write (group commit); their
        /// journal entries wait for the next journal write (`endedEntries`).
        func complete(_ results: [StepResult]) throws {
            var changed: [(address: ResourceAddress, entry: InventoryEntry?)] = []
            var ended: [(index: Int, record: StepRecord)] = []
            for step in results {
                let change = changes[step.index]
                switch step.result {
                case .success(var entry):
                    if entry != nil, change.spec != nil {
                        entry?.declaredAt = change.location
                        entry?.revision = source.commit
                    }
                    inventory[change.address] = entry
                    changed.append((change.address, entry))
                    ended.append((step.index, StepRecord(address: change.address, action: change.action, status: .succeeded)))
                case .failure(let error):
                    failedAddresses.insert(change.address)
                    firstError = firstError ?? error
                    ended.append(
                        (step.index, StepRecord(address: change.address, action: change.action, status: .failed, errorCode: error.code, message: error.message)))
                }
            }
            if !changed.isEmpty {
                try store.updateInventory(batch: changed)
                inventoryChanged = true
            }
            endedEntries += ended.map(\.record)
            for step in ended {
                finish(step.index, step.record)
                try faultPoint?(Double(step.index) + 0.5)
            }
        }

        // Steps run in plan order, up to `parallelism` at once; a step waits for every earlier step it
        // conflicts with (`StepScopes`: its vault's, its policy's, its VM's, its key vault's), so dependency
        // order holds and no two steps write the same resource at once. The coordinator alone writes the
        // journal and the inventory: the steps it starts together are journaled in one write, with the end
        // of the steps recorded since, and the steps that ended while it was writing are recorded together
        // (`StepResults` hands them over at once).
        let scheduler = StepScheduler(changes.map(StepScopes.of))
        let limit = max(1, parallelism)
        let provider = provider
        let ended = StepResults()
        // A discarding group: a step's task is freed as soon as it ends (its result went to `ended`).
        try await withThrowingDiscardingTaskGroup { group in
            var running = 0
            while true {
                var settled = false
                var starting: [Int] = []
                for index in scheduler.startable(limit: limit - running) {
                    scheduler.start(index)
                    if try settle(index) {
                        scheduler.done(index)
                        settled = true
                        continue
                    }
                    try faultPoint?(Double(index))
                    starting.append(index)
                }
                if !starting.isEmpty {
                    try store.journal(
                        batch: endedEntries + starting.map { StepRecord(address: changes[$0].address, action: changes[$0].action, status: .started) })
                    endedEntries = []
                    for index in starting {
                        let change = changes[index]
                        let current = inventory[change.address]
                        running += 1
                        group.addTask {
                            do {
                                let entry = try await Self.run(
                                    change, provider: provider, current: current, parents: parents, now: now,
                                    interrupted: interrupted.contains(change.address))
                                ended.post(StepResult(index: index, result: .success(entry)))
                            } catch let error as ProviderError {
                                ended.post(StepResult(index: index, result: .failure(error)))
                            } catch {
                                // Not the provider's refusal: the apply stops with it, as it would have thrown.
                                ended.abort(error)
                            }
                        }
                    }
                }
                guard running > 0 else {
                    if scheduler.isFinished { break }
                    // Steps settled at once (no provider call) may let others start: look again.
                    if settled { continue }
                    // Nothing runs and nothing may start: a step waits on one that is not done, which cannot be.
                    throw ReconcilerError(code: .stateCorrupt, message: "the apply's steps wait on each other; nothing was left running")
                }
                let results = try await ended.take().sorted { $0.index < $1.index }
                running -= results.count
                for step in results { scheduler.done(step.index) }
                try complete(results)
            }
        }

        if !endedEntries.isEmpty { try store.journal(batch: endedEntries) }

        // Fold the recorded changes into one inventory file.
        if inventoryChanged { try store.saveInventory(inventory) }
        try store.clearJournal()
        let steps = records.compactMap { $0 }
        let result: ApplyResult = firstError != nil ? .failed : (steps.isEmpty ? .noChanges : .succeeded)
        try store.appendHistory(
            HistoryRecord(
                time: now, source: source, summary: plan.summary, result: result,
                error: firstError.map { "\($0.code): \($0.message)" }, steps: steps, trigger: trigger, drift: plan.drift.map(\.address)))
        return ApplyOutcome(steps: steps, result: result, error: firstError, resumed: resumed)
    }

    /// Runs one step's provider calls; the inventory entry it leaves (nil: none). `current` is the entry
    /// before the step; `interrupted`: an apply that did not finish started this step.
    private static func run(
        _ change: ResourceChange, provider: any Provider, current: InventoryEntry?, parents: ResourceParents, now: Date,
        interrupted: Bool
    ) async throws -> InventoryEntry? {
        let name = change.address.name
        switch change.action {
        case .create:
            guard let spec = change.spec else { return current }
            // A create interrupted after the platform made the resource is finished by reading it back, and
            // a resource an earlier step made (a vault's default policy, made with the vault; the backup
            // service's access, granted when an ADE VM is protected) is found there. No step makes a backup
            // item but its own: a protected VM's create that no earlier apply started goes straight to the
            // provider, whose create refuses an item made since the plan with ResourceAlreadyExists.
            let mayExist = interrupted || change.address.kind != .protectedVM
            let existing = change.id.isEmpty || !mayExist ? nil : try await provider.read(kind: change.address.kind, id: change.id)
            let created: ObservedResource
            if let existing {
                created = existing
            } else {
                created = try await provider.create(name: name, spec: spec)
            }
            if existing != nil, existing.map({ ResourceRules.normalise($0.spec, against: spec) }) != spec {
                _ = try await provider.update(id: created.id, name: name, spec: spec)
            }
            // A resource found that coffer did not make (a vault's default policy, made with the vault) is adopted.
            let adopted = existing.map { $0.tags[ObservedResource.managedByTag] != ObservedResource.managedByValue } ?? false
            return InventoryEntry(address: change.address, id: created.id, lastApplied: spec, adopted: adopted, updated: now)
        case .update:
            guard let spec = change.spec else { return current }
            let updated = try await provider.update(id: change.id, name: name, spec: spec)
            let adopted = current?.adopted ?? true
            return InventoryEntry(address: change.address, id: updated.id, lastApplied: spec, adopted: adopted, updated: now)
        case .replace:
            guard let spec = change.spec else { return current }
            let policy: DeletionPolicy = if case .protectedVM(let old) = current?.lastApplied { old.deletionPolicy } else { .retain }
            if try await provider.read(kind: change.address.kind, id: change.id) != nil {
                try await provider.delete(kind: change.address.kind, id: change.id, deletionPolicy: policy)
            }
            let newID = try await provider.resourceID(name: name, spec: spec, parents: parents)
            let found = try await newID.asyncFlatMap { try await provider.read(kind: change.address.kind, id: $0) }
            let created: ObservedResource
            if let found {
                created = found
            } else {
                created = try await provider.create(name: name, spec: spec)
            }
            return InventoryEntry(address: change.address, id: created.id, lastApplied: spec, adopted: false, updated: now)
        case .delete:
            if try await provider.read(kind: change.address.kind, id: change.id) != nil {
                try await provider.delete(kind: change.address.kind, id: change.id, deletionPolicy: change.deletionPolicy ?? .retain)
            }
            return nil
        case .noOp:
            return current
        }
    }

    /// The resources a change needs to exist first (for creates and updates) or to be gone first (deletes
    /// need their dependents gone, which the reverse order already gives).
    private func dependencies(of change: ResourceChange) -> [ResourceAddress] {
        guard let spec = change.spec else { return [] }
        switch spec {
        case .vault: return []
        case .backupPolicy(let policy): return [ResourceAddress(kind: .recoveryServicesVault, name: policy.vault)]
        case .keyVaultAccessPolicy, .keyVaultRoleAssignment: return []
        case .protectedVM(let vm):
            return [
                ResourceAddress(kind: .recoveryServicesVault, name: vm.vault),
                ResourceAddress(kind: .backupPolicy, name: vm.policy),
            ]
        }
    }
}

extension Optional {
    /// `flatMap` with an asynchronous transform.
    fileprivate func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

/// What a step running in the apply's task group ends in: its index in the plan and its provider calls' result.
/// (A struct, not a tuple: a task group of `(Int, Result<…>)` read back a wrong index in release builds.)
struct StepResult: Sendable {
    var index: Int
    var result: Result<InventoryEntry?, ProviderError>
}

/// Where the running steps leave their results for the coordinator, which takes all that have arrived at
/// once: the steps that ended while it was writing the journal are recorded in one write (group commit).
final class StepResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [StepResult] = []
    private var error: (any Error)?
    private var waiter: CheckedContinuation<[StepResult], any Error>?

    func post(_ result: StepResult) {
        lock.withLock { results.append(result) }
        wake()
    }

    /// A step failed in a way that is not the provider's refusal: the next take throws it.
    func abort(_ error: any Error) {
        lock.withLock { self.error = self.error ?? error }
        wake()
    }

    private func wake() {
        let woken: (CheckedContinuation<[StepResult], any Error>, Result<[StepResult], any Error>)? = lock.withLock {
            guard let waiter else { return nil }
            self.waiter = nil
            return (waiter, drain())
        }
        if let (waiter, result) = woken { waiter.resume(with: result) }
    }

    /// What a take gives (under the lock): the error, or every result since the last take.
    private func drain() -> Result<[StepResult], any Error> {
        if let error { return .failure(error) }
        defer { results = [] }
        return .success(results)
    }

    /// Every result posted since the last take; waits for one when there is none.
    func take() async throws -> [StepResult] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[StepResult], any Error>) in
            let ready: Result<[StepResult], any Error>? = lock.withLock {
                guard results.isEmpty, error == nil else { return drain() }
                waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
