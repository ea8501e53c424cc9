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

/// Applies a plan step by step in dependency order, recording each step before and after it runs so that an
/// apply killed at any point is finished or repaired by the next one: every step is idempotent because the
/// next plan re-reads the platform first, and ids are deterministic, so nothing is ever created twice.
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
        try store.clearJournal()
        var inventory = try known ?? store.inventory()
        var records: [StepRecord] = []
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

        for (index, change) in plan.changes.enumerated() {
            if change.action != .noOp, isCancelled?() == true {
                let record = StepRecord(address: change.address, action: change.action, status: .skipped, errorCode: "Interrupted", message: "not run: coffer was asked to stop")
                records.append(record)
                firstError = firstError ?? ProviderError(code: "Interrupted", message: "apply stopped before \(change.address) on request", hint: "apply again to finish", retryable: true)
                onStep?(record)
                continue
            }
            if let blocker = dependencies(of: change).first(where: failedAddresses.contains) {
                let record = StepRecord(
                    address: change.address, action: change.action, status: .skipped,
                    message: "not run: \(blocker) failed")
                records.append(record)
                failedAddresses.insert(change.address)
                onStep?(record)
                continue
            }
            if change.action == .noOp {
                // Adoption, owned resources that are already gone, and default policies coffer forgets only
                // touch the inventory.
                if change.reason == .adopt, let spec = change.spec {
                    inventory[change.address] = InventoryEntry(address: change.address, id: change.id, lastApplied: spec, adopted: true, updated: now)
                    try recordInventory(change.address)
                } else if change.reason == .notInManifests || change.reason == .forget {
                    inventory[change.address] = nil
                    try recordInventory(change.address)
                } else if let spec = change.spec, inventory[change.address]?.lastApplied != spec {
                    inventory[change.address]?.lastApplied = spec
                    try recordInventory(change.address)
                }
                continue
            }

            try faultPoint?(Double(index))
            try store.journal(StepRecord(address: change.address, action: change.action, status: .started))
            do {
                try await run(change, inventory: &inventory, parents: parents, now: now)
                try recordInventory(change.address)
                let record = StepRecord(address: change.address, action: change.action, status: .succeeded)
                try store.journal(record)
                records.append(record)
                onStep?(record)
            } catch let error as ProviderError {
                let record = StepRecord(
                    address: change.address, action: change.action, status: .failed, errorCode: error.code,
                    message: error.message)
                try store.journal(record)
                records.append(record)
                failedAddresses.insert(change.address)
                firstError = firstError ?? error
                onStep?(record)
            }
            try faultPoint?(Double(index) + 0.5)
        }

        // Fold the recorded changes into one inventory file.
        if inventoryChanged { try store.saveInventory(inventory) }
        try store.clearJournal()
        let result: ApplyResult = firstError != nil ? .failed : (records.isEmpty ? .noChanges : .succeeded)
        try store.appendHistory(
            HistoryRecord(
                time: now, source: source, summary: plan.summary, result: result,
                error: firstError.map { "\($0.code): \($0.message)" }, steps: records, trigger: trigger, drift: plan.drift.map(\.address)))
        return ApplyOutcome(steps: records, result: result, error: firstError, resumed: resumed)
    }

    private func run(
        _ change: ResourceChange, inventory: inout [ResourceAddress: InventoryEntry], parents: ResourceParents, now: Date
    ) async throws {
        let name = change.address.name
        switch change.action {
        case .create:
            guard let spec = change.spec else { return }
            // A create interrupted after the platform made the resource is finished by reading it back.
            let existing = change.id.isEmpty ? nil : try await provider.read(kind: change.address.kind, id: change.id)
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
            inventory[change.address] = InventoryEntry(address: change.address, id: created.id, lastApplied: spec, adopted: adopted, updated: now)
        case .update:
            guard let spec = change.spec else { return }
            let updated = try await provider.update(id: change.id, name: name, spec: spec)
            let adopted = inventory[change.address]?.adopted ?? true
            inventory[change.address] = InventoryEntry(address: change.address, id: updated.id, lastApplied: spec, adopted: adopted, updated: now)
        case .replace:
            guard let spec = change.spec else { return }
            let policy: DeletionPolicy = if case .protectedVM(let old) = inventory[change.address]?.lastApplied { old.deletionPolicy } else { .retain }
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
            inventory[change.address] = InventoryEntry(address: change.address, id: created.id, lastApplied: spec, adopted: false, updated: now)
        case .delete:
            if try await provider.read(kind: change.address.kind, id: change.id) != nil {
                try await provider.delete(kind: change.address.kind, id: change.id, deletionPolicy: change.deletionPolicy ?? .retain)
            }
            inventory[change.address] = nil
        case .noOp:
            return
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
