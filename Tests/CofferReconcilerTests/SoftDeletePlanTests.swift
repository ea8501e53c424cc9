import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

/// The plan around soft delete: deleting a protected VM's data names the soft delete and the date the data
/// really goes, and putting the ProtectedVM back is a recovery (rehydrate), not a create.
@Suite struct SoftDeletePlanTests {
    private let vmID = "/subscriptions/sub-prod/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/win-app-01"
    private let itemID = "/subscriptions/sub-prod/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/rsv-prod-eastus/item/win-app-01"

    private func facts(protection: VMProtectionFacts?) -> VirtualMachineFacts {
        VirtualMachineFacts(
            id: vmID, reference: VMReference(resourceGroup: "rg-app", name: "win-app-01"), subscription: "sub-prod", region: "eastus",
            os: "windows", encryption: .ssePlatformKey, disks: [DiskFacts(lun: -1, sizeGiB: 128)], protection: protection)
    }

    private func vault(retention: Int) -> ObservedResource {
        var spec = VaultSpec(resourceGroup: "rg-backup", location: "eastus")
        spec.softDeleteRetentionDays = retention
        return ObservedResource(id: "vault-id", spec: .vault(spec), name: "rsv-prod-eastus", status: .vault(VaultStatus(registeredItems: 1)))
    }

    @Test func pruningAProtectedVMWithItsDataNamesTheSoftDeleteAndThePurgeDate() async throws {
        let item = ObservedResource(
            id: itemID, spec: Fixture.protected(deletion: .delete), name: "win-app-01",
            status: .protectedVM(ProtectedItemStatus(protectionStatus: .protected, recoveryPoints: 3, vmID: vmID)))
        let observed = ObservedState(
            byAddress: [Fixture.vaultAddress: vault(retention: 30), Fixture.vmAddress: item],
            ids: [Fixture.vaultAddress: "vault-id", Fixture.vmAddress: itemID],
            virtualMachines: [VMReference(resourceGroup: "rg-app", name: "win-app-01"): facts(protection: .init(vault: "rsv-prod-eastus", policy: "daily", status: .protected, recoveryPoints: 3))],
            platformTime: "2026-01-05T00:00:00Z")
        let inventory = [
            Fixture.vaultAddress: InventoryEntry(address: Fixture.vaultAddress, id: "vault-id", lastApplied: vault(retention: 30).spec, adopted: false, updated: Date()),
            Fixture.vmAddress: InventoryEntry(address: Fixture.vmAddress, id: itemID, lastApplied: Fixture.protected(deletion: .delete), adopted: false, updated: Date()),
        ]
        let desired = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, vault(retention: 30).spec)])
        let plan = try await Planner.plan(desired: desired, observed: observed, inventory: inventory, options: PlanOptions(prune: true))
        let delete = try #require(plan.changes.first { $0.address == Fixture.vmAddress })
        #expect(delete.action == .delete && delete.deletionPolicy == .delete)
        #expect(delete.softDelete == SoftDeleteOutcome(retentionDays: 30, purgeAfter: "2026-02-04T00:00:00Z"))

        // Retained data is not soft-deleted; a provider that does not tell its clock gives no date.
        var retained = inventory
        retained[Fixture.vmAddress]?.lastApplied = Fixture.protected(deletion: .retain)
        let kept = try await Planner.plan(desired: desired, observed: observed, inventory: retained, options: PlanOptions(prune: true))
        #expect(kept.changes.first { $0.address == Fixture.vmAddress }?.softDelete == nil)
        var clockless = observed
        clockless.platformTime = nil
        let undated = try await Planner.plan(desired: desired, observed: clockless, inventory: inventory, options: PlanOptions(prune: true))
        #expect(undated.changes.first { $0.address == Fixture.vmAddress }?.softDelete == SoftDeleteOutcome(retentionDays: 30, purgeAfter: nil))
    }

    @Test func reAddingAProtectedVMWhoseItemIsSoftDeletedPlansARecovery() async throws {
        let desired = DesiredState(resources: [
            Fixture.resource(Fixture.vaultAddress, vault(retention: 14).spec),
            Fixture.resource(Fixture.vmAddress, Fixture.protected(), line: 60),
        ])
        func plan(_ protection: VMProtectionFacts?) async throws -> ResourceChange? {
            let observed = ObservedState(
                byAddress: [Fixture.vaultAddress: vault(retention: 14)], ids: [Fixture.vaultAddress: "vault-id", Fixture.vmAddress: itemID],
                virtualMachines: [VMReference(resourceGroup: "rg-app", name: "win-app-01"): facts(protection: protection)])
            return try await Planner.plan(desired: desired, observed: observed, inventory: [:]).changes.first { $0.address == Fixture.vmAddress }
        }
        let recovered = try #require(try await plan(.init(vault: "rsv-prod-eastus", policy: "daily", status: .softDeleted, recoveryPoints: 2)))
        #expect(recovered.action == .create && recovered.reason == .recoverSoftDeleted)
        // Without an item, or with one soft-deleted in another vault, it is a create.
        #expect(try await plan(nil)?.reason == .absent)
        #expect(try await plan(.init(vault: "rsv-other", policy: "daily", status: .softDeleted))?.reason == .absent)
    }
}
