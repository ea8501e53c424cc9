import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

@Suite struct PlannerTests {
    @Test func emptyPlatformPlansCreatesInDependencyOrder() throws {
        let plan = try Planner(provider: Fixture.provider()).plan(desired: Fixture.desired(), inventory: [:])
        #expect(plan.changes.map(\.address) == [Fixture.vaultAddress, Fixture.policyAddress, Fixture.accessAddress, Fixture.vmAddress])
        #expect(plan.changes.allSatisfy { $0.action == .create && $0.reason == .absent })
        #expect(plan.summary == PlanSummary(add: 4))
        #expect(!plan.hasErrors)
    }

    @Test func applyThenPlanHasNoChanges() throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        let plan = try planner.plan(desired: Fixture.desired(), inventory: try store.inventory())
        let outcome = try Applier(provider: provider, store: store).apply(plan, source: ApplySource(paths: ["m"]))
        #expect(outcome.result == .succeeded)
        let again = try planner.plan(desired: Fixture.desired(), inventory: try store.inventory())
        #expect(!again.hasChanges)
        #expect(again.changes.allSatisfy { $0.action == .noOp && $0.reason == .none })
        #expect(again.drift.isEmpty)
        #expect(try store.history().map(\.result) == [.succeeded])
    }

    @Test func attributeChangeIsAnUpdateAndLocationForcesReplacement() throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try Applier(provider: provider, store: store).apply(try planner.plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())

        let update = try planner.plan(desired: Fixture.desired(policyDays: 60), inventory: try store.inventory())
        let policyChange = try #require(update.changes.first { $0.address == Fixture.policyAddress })
        #expect(policyChange.action == .update)
        #expect(policyChange.reason == .attributeChanged)
        #expect(policyChange.changedPaths == ["retention.daily.count"])
        #expect(update.summary == PlanSummary(change: 1))

        let move = try planner.plan(desired: Fixture.desired(vaultLocation: "westus"), inventory: try store.inventory())
        let vaultChange = try #require(move.changes.first { $0.address == Fixture.vaultAddress })
        // A vault moved to another region is a new resource id: created anew, the old one kept until pruned.
        #expect(vaultChange.action == .create || vaultChange.action == .replace)
    }

    @Test func replacePathsForARegionChangeOnTheSameID() throws {
        let desired = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault(location: "westus"))])
        let observed = ObservedState(
            byAddress: [Fixture.vaultAddress: ObservedResource(id: "v", spec: Fixture.vault(location: "eastus"), name: "rsv-prod-eastus")],
            ids: [Fixture.vaultAddress: "v"])
        let plan = try Planner.plan(desired: desired, observed: observed, inventory: [:])
        let change = try #require(plan.changes.first)
        #expect(change.action == .replace)
        #expect(change.reason == .forcesReplacement)
        #expect(change.replacePaths == ["location"])
        #expect(plan.summary == PlanSummary(replace: 1))
    }

    @Test func crossRegionRestoreOffForcesReplacementButOnIsInPlace() throws {
        func plan(from: Bool, to: Bool) throws -> ResourceChange {
            let desired = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault(crr: to))])
            let observed = ObservedState(
                byAddress: [Fixture.vaultAddress: ObservedResource(id: "v", spec: Fixture.vault(crr: from), name: "rsv")],
                ids: [Fixture.vaultAddress: "v"])
            return try #require(try Planner.plan(desired: desired, observed: observed, inventory: [:]).changes.first)
        }
        #expect(try plan(from: false, to: true).action == .update)
        #expect(try plan(from: true, to: false).action == .replace)
    }

    @Test func outOfBandChangeIsDriftAndApplyRepairsIt() throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try Applier(provider: provider, store: store).apply(try planner.plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())
        let policyID = try provider.resourceID(name: "daily", spec: Fixture.policy())
        provider.tamper(id: policyID) { spec in
            if case .backupPolicy(var policy) = spec {
                policy.retention.daily = DailyRetention(count: 7)
                spec = .backupPolicy(policy)
            }
        }
        let accessID = try provider.resourceID(name: "kv-backup", spec: Fixture.access())
        provider.remove(id: accessID)

        let plan = try planner.plan(desired: Fixture.desired(), inventory: try store.inventory())
        #expect(plan.drift.map(\.address) == [Fixture.policyAddress, Fixture.accessAddress].sorted())
        #expect(plan.drift.first { $0.address == Fixture.policyAddress }?.changedPaths == ["retention.daily.count"])
        #expect(plan.changes.first { $0.address == Fixture.policyAddress }?.reason == .drifted)
        #expect(plan.changes.first { $0.address == Fixture.accessAddress }?.action == .create)

        _ = try Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(!(try planner.plan(desired: Fixture.desired(), inventory: try store.inventory())).hasChanges)
    }

    @Test func matchingExistingResourceIsAdoptedNotRecreated() throws {
        let provider = Fixture.provider()
        try provider.seed(name: "rsv-prod-eastus", spec: Fixture.vault())
        let store = MemoryStateStore()
        let plan = try Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:])
        let vault = try #require(plan.changes.first { $0.address == Fixture.vaultAddress })
        #expect(vault.action == .noOp)
        #expect(vault.reason == .adopt)
        _ = try Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(!provider.mutations.contains("create RecoveryServicesVault/rsv-prod-eastus"))
        #expect(try store.inventory()[Fixture.vaultAddress]?.adopted == true)
    }

    @Test func pruneDeletesOnlyOwnedResourcesInReverseOrderHonouringDeletionPolicy() throws {
        let provider = Fixture.provider()
        try provider.seed(name: "someone-elses", spec: .vault(VaultSpec(resourceGroup: "rg-other", location: "eastus")))
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try Applier(provider: provider, store: store).apply(try planner.plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())

        // Keep only the vault: the rest leaves the manifests.
        let smaller = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault())])
        let withoutPrune = try planner.plan(desired: smaller, inventory: try store.inventory())
        #expect(!withoutPrune.hasChanges)
        #expect(withoutPrune.diagnostics.contains { $0.code == "not-in-manifests" })

        let plan = try planner.plan(desired: smaller, inventory: try store.inventory(), options: PlanOptions(prune: true))
        let deletes = plan.changes.filter { $0.action == .delete }
        #expect(deletes.map(\.address) == [Fixture.vmAddress, Fixture.accessAddress, Fixture.policyAddress])
        #expect(deletes.first?.deletionPolicy == .retain)
        _ = try Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(provider.mutations.contains("delete ProtectedVM/win-app-01 Retain"))
        #expect(provider.all.contains { $0.name == "someone-elses" })
        #expect(try store.inventory().keys.sorted() == [Fixture.vaultAddress])
    }

    @Test func pruneOfEverythingIsRefusedUnlessAllowed() throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try Applier(provider: provider, store: store).apply(try planner.plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())
        let refused = try planner.plan(desired: DesiredState(resources: []), inventory: try store.inventory(), options: PlanOptions(prune: true))
        #expect(refused.diagnostics.contains { $0.code == "prune-everything-refused" && $0.severity == .error })
        #expect(throws: ReconcilerError.self) { try Applier(provider: provider, store: store).apply(refused, source: ApplySource()) }
        let allowed = try planner.plan(desired: DesiredState(resources: []), inventory: try store.inventory(), options: PlanOptions(prune: true, allowPruneAll: true))
        #expect(!allowed.hasErrors)
        #expect(allowed.summary.destroy == 4)
    }

    @Test func planIsPure() throws {
        let provider = Fixture.provider()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let first = try encoder.encode(try Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:]))
        let second = try encoder.encode(try Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:]))
        #expect(first == second)
    }

    @Test func sensitiveTagValuesAreMasked() throws {
        let desired = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault(tags: ["db-password": "hunter2", "team": "platform"]))])
        let plan = try Planner.plan(desired: desired, observed: ObservedState(byAddress: [:], ids: [:]), inventory: [:])
        let json = String(decoding: try JSONEncoder().encode(plan.changes.map { [$0.before, $0.after] }), as: UTF8.self)
        #expect(!json.contains("hunter2"))
        #expect(json.contains("platform"))
        #expect(plan.changes.first?.sensitivePaths == ["tags.db-password"])
    }

    @Test func savedPlanFingerprintsChangeWithInputs() throws {
        let provider = Fixture.provider()
        let planner = Planner(provider: provider)
        let a = try planner.plan(desired: Fixture.desired(), inventory: [:])
        let b = try planner.plan(desired: Fixture.desired(policyDays: 31), inventory: [:])
        #expect(a.desiredFingerprint != b.desiredFingerprint)
        #expect(a.observedFingerprint == b.observedFingerprint)
        try provider.seed(name: "rsv-prod-eastus", spec: Fixture.vault())
        let c = try planner.plan(desired: Fixture.desired(), inventory: [:])
        #expect(a.observedFingerprint != c.observedFingerprint)
    }
}

@Suite struct AdoptionWarningTests {
    @Test func adoptingAForeignResourceWithChangesWarns() throws {
        let provider = Fixture.provider()
        try provider.seed(name: "daily", spec: Fixture.policy(daily: 10))
        let plan = try Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:])
        let warning = try #require(plan.diagnostics.first { $0.code == "adopt-with-changes" })
        #expect(warning.severity == .warning)
        #expect(warning.summary.contains("retention.daily.count"))
        #expect(plan.changes.first { $0.address == Fixture.policyAddress }?.action == .update)
    }
}

@Suite struct OwnershipTagTests {
    @Test func aManifestThatWritesTheOwnershipTagConverges() throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let desired = DesiredState(resources: [
            Fixture.resource(Fixture.vaultAddress, Fixture.vault(tags: ["managed-by": "coffer", "team": "platform"]))
        ])
        _ = try Applier(provider: provider, store: store).apply(try Planner(provider: provider).plan(desired: desired, inventory: [:]), source: ApplySource())
        let again = try Planner(provider: provider).plan(desired: desired, inventory: try store.inventory())
        #expect(!again.hasChanges)
        #expect(again.drift.isEmpty)
    }
}
