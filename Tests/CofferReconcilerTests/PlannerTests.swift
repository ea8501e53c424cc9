import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

@Suite struct PlannerTests {
    @Test func emptyPlatformPlansCreatesInDependencyOrder() async throws {
        let plan = try await Planner(provider: Fixture.provider()).plan(desired: Fixture.desired(), inventory: [:])
        #expect(plan.changes.map(\.address) == [Fixture.vaultAddress, Fixture.policyAddress, Fixture.accessAddress, Fixture.vmAddress])
        #expect(plan.changes.allSatisfy { $0.action == .create && $0.reason == .absent })
        #expect(plan.summary == PlanSummary(add: 4))
        #expect(!plan.hasErrors)
    }

    @Test func applyThenPlanHasNoChanges() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        let plan = try await planner.plan(desired: Fixture.desired(), inventory: try store.inventory())
        let outcome = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource(paths: ["m"]))
        #expect(outcome.result == .succeeded)
        let again = try await planner.plan(desired: Fixture.desired(), inventory: try store.inventory())
        #expect(!again.hasChanges)
        #expect(again.changes.allSatisfy { $0.action == .noOp && $0.reason == .none })
        #expect(again.drift.isEmpty)
        #expect(try store.history().map(\.result) == [.succeeded])
    }

    @Test func attributeChangeIsAnUpdateAndLocationForcesReplacement() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try await Applier(provider: provider, store: store).apply(try await planner.plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())

        let update = try await planner.plan(desired: Fixture.desired(policyDays: 60), inventory: try store.inventory())
        let policyChange = try #require(update.changes.first { $0.address == Fixture.policyAddress })
        #expect(policyChange.action == .update)
        #expect(policyChange.reason == .attributeChanged)
        #expect(policyChange.changedPaths == ["retention.daily.count"])
        #expect(update.summary == PlanSummary(change: 1))

        let move = try await planner.plan(desired: Fixture.desired(vaultLocation: "westus"), inventory: try store.inventory())
        let vaultChange = try #require(move.changes.first { $0.address == Fixture.vaultAddress })
        // A vault moved to another region is a new resource id: created anew, the old one kept until pruned.
        #expect(vaultChange.action == .create || vaultChange.action == .replace)
    }

    @Test func replacePathsForARegionChangeOnTheSameID() async throws {
        let desired = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault(location: "westus"))])
        let observed = ObservedState(
            byAddress: [Fixture.vaultAddress: ObservedResource(id: "v", spec: Fixture.vault(location: "eastus"), name: "rsv-prod-eastus")],
            ids: [Fixture.vaultAddress: "v"])
        let plan = try await Planner.plan(desired: desired, observed: observed, inventory: [:])
        let change = try #require(plan.changes.first)
        #expect(change.action == .replace)
        #expect(change.reason == .forcesReplacement)
        #expect(change.replacePaths == ["location"])
        #expect(plan.summary == PlanSummary(replace: 1))
    }

    /// Cross-region restore is turned off in place on a vault without items; on a vault with items the rule
    /// refuses it (an error at the field), and no replacement is proposed for it either way.
    @Test func crossRegionRestoreChangesInPlace() async throws {
        func plan(from: Bool, to: Bool) async throws -> ResourceChange {
            let desired = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault(crr: to))])
            let observed = ObservedState(
                byAddress: [Fixture.vaultAddress: ObservedResource(id: "v", spec: Fixture.vault(crr: from), name: "rsv")],
                ids: [Fixture.vaultAddress: "v"])
            return try #require(try await Planner.plan(desired: desired, observed: observed, inventory: [:]).changes.first)
        }
        #expect(try await plan(from: false, to: true).action == .update)
        #expect(try await plan(from: true, to: false).action == .update)
    }

    @Test func outOfBandChangeIsDriftAndApplyRepairsIt() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try await Applier(provider: provider, store: store).apply(try await planner.plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())
        let policyID = try await provider.id(name: "daily", spec: Fixture.policy())
        provider.tamper(id: policyID) { spec in
            if case .backupPolicy(var policy) = spec {
                policy.retention.daily = DailyRetention(count: 7)
                spec = .backupPolicy(policy)
            }
        }
        let accessID = try await provider.id(name: "kv-backup", spec: Fixture.access())
        provider.remove(id: accessID)

        let plan = try await planner.plan(desired: Fixture.desired(), inventory: try store.inventory())
        #expect(plan.drift.map(\.address) == [Fixture.policyAddress, Fixture.accessAddress].sorted())
        #expect(plan.drift.first { $0.address == Fixture.policyAddress }?.changedPaths == ["retention.daily.count"])
        #expect(plan.changes.first { $0.address == Fixture.policyAddress }?.reason == .drifted)
        #expect(plan.changes.first { $0.address == Fixture.accessAddress }?.action == .create)

        _ = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(!(try await planner.plan(desired: Fixture.desired(), inventory: try store.inventory())).hasChanges)
    }

    @Test func matchingExistingResourceIsAdoptedNotRecreated() async throws {
        let provider = Fixture.provider()
        try provider.seed(name: "rsv-prod-eastus", spec: Fixture.vault())
        let store = MemoryStateStore()
        let plan = try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:])
        let vault = try #require(plan.changes.first { $0.address == Fixture.vaultAddress })
        #expect(vault.action == .noOp)
        #expect(vault.reason == .adopt)
        _ = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(!provider.mutations.contains("create RecoveryServicesVault/rsv-prod-eastus"))
        #expect(try store.inventory()[Fixture.vaultAddress]?.adopted == true)
    }

    @Test func pruneDeletesOnlyOwnedResourcesInReverseOrderHonouringDeletionPolicy() async throws {
        let provider = Fixture.provider()
        try provider.seed(name: "someone-elses", spec: .vault(VaultSpec(resourceGroup: "rg-other", location: "eastus")))
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try await Applier(provider: provider, store: store).apply(try await planner.plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())

        // Keep only the vault: the rest leaves the manifests.
        let smaller = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault())])
        let withoutPrune = try await planner.plan(desired: smaller, inventory: try store.inventory())
        #expect(!withoutPrune.hasChanges)
        #expect(withoutPrune.diagnostics.contains { $0.code == "not-in-manifests" })

        let plan = try await planner.plan(desired: smaller, inventory: try store.inventory(), options: PlanOptions(prune: true))
        let deletes = plan.changes.filter { $0.action == .delete }
        #expect(deletes.map(\.address) == [Fixture.vmAddress, Fixture.accessAddress, Fixture.policyAddress])
        #expect(deletes.first?.deletionPolicy == .retain)
        let outcome = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(provider.mutations.contains("delete ProtectedVM/win-app-01 Retain"))
        #expect(provider.all.contains { $0.name == "someone-elses" })
        // Retained, the stopped item keeps its data but no longer uses the policy, which is then deleted.
        #expect(outcome.error == nil)
        #expect(try store.inventory().keys.sorted() == [Fixture.vaultAddress])
    }

    @Test func pruneOfEverythingIsRefusedUnlessAllowed() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try await Applier(provider: provider, store: store).apply(try await planner.plan(desired: Fixture.desired(), inventory: [:]), source: ApplySource())
        let refused = try await planner.plan(desired: DesiredState(resources: []), inventory: try store.inventory(), options: PlanOptions(prune: true))
        #expect(refused.diagnostics.contains { $0.code == "prune-everything-refused" && $0.severity == .error })
        await #expect(throws: ReconcilerError.self) { try await Applier(provider: provider, store: store).apply(refused, source: ApplySource()) }
        let allowed = try await planner.plan(desired: DesiredState(resources: []), inventory: try store.inventory(), options: PlanOptions(prune: true, allowPruneAll: true))
        #expect(!allowed.diagnostics.contains { $0.code == "prune-everything-refused" })
        #expect(allowed.summary.destroy == 4)
        // The stopped item keeps its data in the vault, so the vault's delete would fail: the plan says so.
        #expect(allowed.diagnostics.map(\.code) == ["ServiceResourceNotEmpty"])
    }

    @Test func planIsPure() async throws {
        let provider = Fixture.provider()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let first = try encoder.encode(try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:]))
        let second = try encoder.encode(try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:]))
        #expect(first == second)
    }

    @Test func sensitiveTagValuesAreMasked() async throws {
        let desired = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault(tags: ["db-password": "hunter2", "team": "platform"]))])
        let plan = try await Planner.plan(desired: desired, observed: ObservedState(byAddress: [:], ids: [:]), inventory: [:])
        let json = String(decoding: try JSONEncoder().encode(plan.changes.map { [$0.before, $0.after] }), as: UTF8.self)
        #expect(!json.contains("hunter2"))
        #expect(json.contains("platform"))
        #expect(plan.changes.first?.sensitivePaths == ["tags.db-password"])
    }

    @Test func savedPlanFingerprintsChangeWithInputs() async throws {
        let provider = Fixture.provider()
        let planner = Planner(provider: provider)
        let a = try await planner.plan(desired: Fixture.desired(), inventory: [:])
        let b = try await planner.plan(desired: Fixture.desired(policyDays: 31), inventory: [:])
        #expect(a.desiredFingerprint != b.desiredFingerprint)
        #expect(a.observedFingerprint == b.observedFingerprint)
        try provider.seed(name: "rsv-prod-eastus", spec: Fixture.vault())
        let c = try await planner.plan(desired: Fixture.desired(), inventory: [:])
        #expect(a.observedFingerprint != c.observedFingerprint)
    }
}

@Suite struct AdoptionWarningTests {
    @Test func adoptingAForeignResourceWithChangesWarns() async throws {
        let provider = Fixture.provider()
        try provider.seed(name: "daily", spec: Fixture.policy(daily: 10), parents: ResourceParents(desired: Fixture.desired()))
        let plan = try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:])
        let warning = try #require(plan.diagnostics.first { $0.code == "adopt-with-changes" })
        #expect(warning.severity == .warning)
        #expect(warning.summary.contains("retention.daily.count"))
        #expect(plan.changes.first { $0.address == Fixture.policyAddress }?.action == .update)
    }
}

@Suite struct OwnershipTagTests {
    @Test func aManifestThatWritesTheOwnershipTagConverges() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let desired = DesiredState(resources: [
            Fixture.resource(Fixture.vaultAddress, Fixture.vault(tags: ["managed-by": "coffer", "team": "platform"]))
        ])
        _ = try await Applier(provider: provider, store: store).apply(try await Planner(provider: provider).plan(desired: desired, inventory: [:]), source: ApplySource())
        let again = try await Planner(provider: provider).plan(desired: desired, inventory: try store.inventory())
        #expect(!again.hasChanges)
        #expect(again.drift.isEmpty)
    }
}

@Suite struct ResourceIDTests {
    @Test func childrenOfAVaultNotCreatedYetGetTheIDsTheyWillHave() async throws {
        let provider = Fixture.provider()
        let plan = try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:])
        let vaultID = "/subscriptions/sub-prod/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/rsv-prod-eastus"
        #expect(plan.changes.first { $0.address == Fixture.vaultAddress }?.id == vaultID)
        #expect(plan.changes.first { $0.address == Fixture.policyAddress }?.id == vaultID + "/backupPolicies/daily")
        #expect(plan.changes.first { $0.address == Fixture.vmAddress }?.id
            == vaultID + "/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg-app;win-app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;win-app-01")
        #expect(plan.changes.first { $0.address == Fixture.accessAddress }?.id == "/keyVaults/kv-app-eastus/objectId/bms-object-id")
        #expect(!plan.changes.contains { $0.id.contains("/resourceGroups/-/") || $0.id.isEmpty })
        // Applied, each resource has exactly the id planned for it.
        let outcome = try await Applier(provider: provider, store: MemoryStateStore()).apply(plan, source: ApplySource())
        #expect(outcome.succeeded)
        for change in plan.changes {
            #expect(try await provider.read(kind: change.address.kind, id: change.id) != nil, "\(change.address)")
        }
    }

    @Test func anAccessPolicyOfAMissingKeyVaultHasNoIDAndIsAnError() async throws {
        let provider = Fixture.provider()
        let access = KeyVaultAccessPolicySpec(keyVault: "kv-missing", principal: .backupManagementService, secretPermissions: [.get, .list, .backup])
        let desired = DesiredState(resources: [Fixture.resource(Fixture.accessAddress, .keyVaultAccessPolicy(access), line: 40)])
        let plan = try await Planner(provider: provider).plan(desired: desired, inventory: [:])
        #expect(plan.diagnostics.map(\.code) == ["KeyVaultNotFound"])
        #expect(plan.diagnostics.first?.severity == .error)
        #expect(plan.diagnostics.first?.location?.line == 40)
        let change = try #require(plan.changes.first)
        #expect(change.action == .create)
        #expect(change.id == "")
    }
}
