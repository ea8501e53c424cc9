import CofferModel
import CofferRules
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

/// Plans with the default policies every vault has (DefaultPolicy, EnhancedPolicy): a ProtectedVM may name
/// them undeclared, the plan knows them, and coffer never prunes them.
@Suite struct DefaultPolicyPlanTests {
    static let defaultAddress = ResourceAddress(kind: .backupPolicy, name: "DefaultPolicy")

    static func protected(policy: String, excludeDiskLuns: [Int] = []) -> ResourceSpec {
        .protectedVM(
            ProtectedVMSpec(
                vm: VMReference(resourceGroup: "rg-app", name: "win-app-01"), vault: "rsv-prod-eastus", policy: policy,
                excludeDiskLuns: excludeDiskLuns))
    }

    /// The vault, the Backup Management Service's access, and the VM protected by `policy`, undeclared.
    static func desired(policy: String = "DefaultPolicy", excludeDiskLuns: [Int] = [], declaring declared: ResourceSpec? = nil) -> DesiredState {
        var resources = [
            Fixture.resource(Fixture.vaultAddress, Fixture.vault(), line: 1),
            Fixture.resource(Fixture.accessAddress, Fixture.access(), line: 40),
            Fixture.resource(Fixture.vmAddress, protected(policy: policy, excludeDiskLuns: excludeDiskLuns), line: 60),
        ]
        if let declared { resources.append(Fixture.resource(defaultAddress, declared, line: 20)) }
        return DesiredState(resources: resources)
    }

    static func defaultPolicy(daily: Int) -> ResourceSpec {
        var spec = DefaultPolicies.standard.spec(in: "rsv-prod-eastus")
        spec.retention.daily = DailyRetention(count: daily)
        return .backupPolicy(spec)
    }

    static func defaultPolicyID(_ provider: InMemoryProvider) async throws -> String {
        try await provider.id(name: "DefaultPolicy", spec: .backupPolicy(DefaultPolicies.standard.spec(in: "rsv-prod-eastus")))
    }

    @Test func aPlanThatCreatesAVaultAndProtectsAVMWithDefaultPolicyIsCleanAndApplies() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        let plan = try await planner.plan(desired: Self.desired(), inventory: [:])
        #expect(plan.diagnostics.isEmpty)
        #expect(plan.changes.map(\.address) == [Fixture.vaultAddress, Fixture.accessAddress, Fixture.vmAddress].sorted())
        #expect(plan.changes.allSatisfy { $0.action == .create })

        let outcome = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(outcome.error == nil)
        #expect(provider.mutations == [
            "create RecoveryServicesVault/rsv-prod-eastus", "create KeyVaultAccessPolicy/kv-backup", "create ProtectedVM/win-app-01",
        ])
        let policy = try #require(await provider.read(kind: .backupPolicy, id: try await Self.defaultPolicyID(provider)))
        #expect(policy.status.backupPolicy?.protectedItems == 1)
        // coffer does not own the vault's default policy: it is not in the inventory.
        #expect(try store.inventory().keys.sorted() == [Fixture.vaultAddress, Fixture.accessAddress, Fixture.vmAddress].sorted())
        let again = try await planner.plan(desired: Self.desired(), inventory: try store.inventory())
        #expect(!again.hasChanges && again.diagnostics.isEmpty)
    }

    /// The plan simulation gives a vault it creates its default policies, with their types: disk exclusion
    /// for an ADE VM is refused under DefaultPolicy (Standard), allowed under EnhancedPolicy.
    @Test func theSimulationKnowsTheDefaultPoliciesOfAVaultThePlanCreates() async throws {
        let standard = try await Planner(provider: Fixture.provider()).plan(desired: Self.desired(excludeDiskLuns: [1]), inventory: [:])
        let diagnostic = try #require(standard.diagnostics.first { $0.code == "UserErrorEncryptedVmNotSupportedWithDiskEx" })
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.summary.hasPrefix("ProtectedVM/win-app-01:"))
        #expect(!standard.diagnostics.contains { $0.code == "ResourceNotFound" })

        let enhanced = try await Planner(provider: Fixture.provider())
            .plan(desired: Self.desired(policy: "EnhancedPolicy", excludeDiskLuns: [1]), inventory: [:])
        #expect(enhanced.diagnostics.isEmpty)
    }

    /// For a vault that exists, refresh reads the default policy a VM names through the provider.
    @Test func refreshReadsTheDefaultPolicyOfAnExistingVault() async throws {
        let provider = Fixture.provider()
        _ = try await provider.create(name: "rsv-prod-eastus", spec: Fixture.vault())
        let observed = try await Planner(provider: provider).refresh(desired: Self.desired(excludeDiskLuns: [1]), inventory: [:])
        let id = try await Self.defaultPolicyID(provider)
        #expect(observed.vaultDefaultPolicies.map(\.id) == [id])
        #expect(observed.vaultDefaultPolicies.first?.spec == .backupPolicy(DefaultPolicies.standard.spec(in: "rsv-prod-eastus")))
        #expect(observed.byAddress[Self.defaultAddress] == nil)

        // The rules see it: disk exclusion for an ADE VM under it is refused.
        let plan = try await Planner(provider: provider).plan(desired: Self.desired(excludeDiskLuns: [1]), inventory: [:])
        #expect(plan.diagnostics.map(\.code).contains("UserErrorEncryptedVmNotSupportedWithDiskEx"))
        #expect(!plan.diagnostics.map(\.code).contains("ResourceNotFound"))
    }

    /// A default policy deleted from an existing vault cannot protect a VM: the plan says so at the manifest.
    @Test func aDeletedDefaultPolicyOfAnExistingVaultIsAnError() async throws {
        let provider = Fixture.provider()
        _ = try await provider.create(name: "rsv-prod-eastus", spec: Fixture.vault())
        try await provider.delete(kind: .backupPolicy, id: try await Self.defaultPolicyID(provider), deletionPolicy: .delete)
        let plan = try await Planner(provider: provider).plan(desired: Self.desired(), inventory: [:])
        let diagnostic = try #require(plan.diagnostics.first { $0.code == "ResourceNotFound" })
        #expect(diagnostic.summary == "ProtectedVM/win-app-01: vault 'rsv-prod-eastus' has no policy 'DefaultPolicy'")
        #expect(plan.hasErrors)
    }

    /// A declared DefaultPolicy is adopted and changed as the manifest says; once the declaration leaves the
    /// manifests, a prune forgets it (the vault keeps it, as the manifest left it) and never deletes it.
    @Test func aPruneForgetsADeclaredDefaultPolicyAndNeverDeletesIt() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        let declared = Self.desired(declaring: Self.defaultPolicy(daily: 45))
        let first = try await planner.plan(desired: declared, inventory: [:])
        #expect(first.diagnostics.isEmpty)
        _ = try await Applier(provider: provider, store: store).apply(first, source: ApplySource())
        // The vault's own DefaultPolicy is found and changed, not made a second time.
        #expect(!provider.mutations.contains("create BackupPolicy/DefaultPolicy"))
        #expect(provider.mutations.contains("update BackupPolicy/DefaultPolicy"))
        #expect(try store.inventory()[Self.defaultAddress]?.adopted == true)
        #expect(!(try await planner.plan(desired: declared, inventory: try store.inventory())).hasChanges)

        // The declaration leaves the manifests; the VM still names DefaultPolicy, now undeclared.
        let undeclared = Self.desired()
        let withoutPrune = try await planner.plan(desired: undeclared, inventory: try store.inventory())
        #expect(!withoutPrune.changes.contains { $0.address == Self.defaultAddress })
        #expect(withoutPrune.diagnostics.first { $0.code == "not-in-manifests" }?.hint?.contains("forgotten, not deleted") == true)
        let pruning = try await planner.plan(desired: undeclared, inventory: try store.inventory(), options: PlanOptions(prune: true))
        let change = try #require(pruning.changes.first { $0.address == Self.defaultAddress })
        #expect(change.action == .noOp)
        #expect(change.reason == .forget)
        #expect(pruning.summary == PlanSummary())
        #expect(pruning.diagnostics.isEmpty)

        let outcome = try await Applier(provider: provider, store: store).apply(pruning, source: ApplySource())
        #expect(outcome.error == nil)
        #expect(!provider.mutations.contains { $0.hasPrefix("delete BackupPolicy/DefaultPolicy") })
        #expect(try store.inventory()[Self.defaultAddress] == nil)
        let kept = try await provider.read(kind: .backupPolicy, id: try await Self.defaultPolicyID(provider))
        #expect(kept?.spec == Self.defaultPolicy(daily: 45))
        let after = try await planner.plan(desired: undeclared, inventory: try store.inventory(), options: PlanOptions(prune: true))
        #expect(!after.hasChanges && after.changes.allSatisfy { $0.action == .noOp && $0.reason == .none })
    }

    /// A prune that deletes the protection keeps the default policy the VM used, as a prune of the whole
    /// manifests would.
    @Test func aPruneOfEverythingButTheVaultDeletesTheProtectionAndForgetsTheDefaultPolicy() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let planner = Planner(provider: provider)
        _ = try await Applier(provider: provider, store: store)
            .apply(try await planner.plan(desired: Self.desired(declaring: Self.defaultPolicy(daily: 30)), inventory: [:]), source: ApplySource())
        let onlyVault = DesiredState(resources: [Fixture.resource(Fixture.vaultAddress, Fixture.vault())])
        let plan = try await planner.plan(desired: onlyVault, inventory: try store.inventory(), options: PlanOptions(prune: true))
        #expect(plan.changes.filter { $0.action == .delete }.map(\.address) == [Fixture.vmAddress, Fixture.accessAddress])
        #expect(plan.changes.first { $0.address == Self.defaultAddress }?.reason == .forget)
        _ = try await Applier(provider: provider, store: store).apply(plan, source: ApplySource())
        #expect(provider.all.contains { $0.name == "DefaultPolicy" })
        #expect(try store.inventory().keys.sorted() == [Fixture.vaultAddress])
    }
}
