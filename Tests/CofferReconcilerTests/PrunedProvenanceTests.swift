import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

/// A resource that left the manifests has no line left; the inventory remembers where it was last declared
/// (file:line:col and commit), so that a plan error about deleting it says where it was.
@Suite struct PrunedProvenanceTests {
    static let commit = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"

    @Test func theInventoryRecordsWhereEachResourceWasDeclaredAndInWhichRevision() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let plan = try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:])
        _ = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource(commit: Self.commit))
        let inventory = try store.inventory()
        #expect(inventory[Fixture.vaultAddress]?.declaredAt == SourceLocation(file: "m.yaml", line: 1, column: 1))
        #expect(inventory[Fixture.vmAddress]?.declaredAt == SourceLocation(file: "m.yaml", line: 60, column: 1))
        #expect(inventory[Fixture.vaultAddress]?.provenance == "m.yaml:1:1 in revision 1a2b3c4d5e6f")

        // The same manifests moved in their file, from files: nothing to change, and the inventory follows them.
        var moved = Fixture.desired()
        moved.resources[0].location = SourceLocation(file: "vaults.yaml", line: 3, column: 1)
        let again = try await Planner(provider: provider).plan(desired: moved, inventory: inventory)
        #expect(again.changes.allSatisfy { $0.action == .noOp })
        _ = try await Applier(provider: provider, store: store).apply(again, source: ApplySource(paths: ["manifests"]))
        #expect(try store.inventory()[Fixture.vaultAddress]?.provenance == "vaults.yaml:3:1")
    }

    @Test func deletingAPrunedVaultThatHoldsItemsNamesWhereItWasDeclared() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let plan = try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: [:])
        _ = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource(commit: Self.commit))

        // Everything pruned: the protected VM's data is retained, so the vault still holds its item.
        let pruned = try await Planner(provider: provider).plan(
            desired: DesiredState(resources: []), inventory: try store.inventory(), options: PlanOptions(prune: true, allowPruneAll: true))
        let error = try #require(pruned.diagnostics.first { $0.code == "ServiceResourceNotEmpty" })
        #expect(error.severity == .error)
        #expect(error.summary.hasPrefix("RecoveryServicesVault/rsv-prod-eastus (declared at m.yaml:1:1 in revision 1a2b3c4d5e6f, removed since): deleting it fails"))
        #expect(error.location == nil)

        // An inventory written before it recorded provenance: the same refusal, without it.
        let inventory = try store.inventory()
        var legacy = inventory
        legacy[Fixture.vaultAddress]?.declaredAt = nil
        let unknown = try await Planner(provider: provider).plan(
            desired: DesiredState(resources: []), inventory: legacy, options: PlanOptions(prune: true, allowPruneAll: true))
        #expect(unknown.diagnostics.first { $0.code == "ServiceResourceNotEmpty" }?.summary.hasPrefix("RecoveryServicesVault/rsv-prod-eastus: deleting it fails") == true)
    }
}
