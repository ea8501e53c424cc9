import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

@Suite struct PlanChecksTests {
    private func desired(access: ResourceSpec?, vault: ResourceSpec = Fixture.vault(), policyDays: Int = 30) -> DesiredState {
        var resources = [
            Fixture.resource(Fixture.vaultAddress, vault, line: 1),
            Fixture.resource(Fixture.policyAddress, Fixture.policy(daily: policyDays), line: 20),
            Fixture.resource(Fixture.vmAddress, Fixture.protected(), line: 60),
        ]
        if let access { resources.append(Fixture.resource(Fixture.accessAddress, access, line: 40)) }
        return DesiredState(resources: resources)
    }

    @Test func adeVMWithoutKeyVaultAccessIsAnErrorAtTheManifestLocation() async throws {
        let plan = try await Planner(provider: Fixture.provider()).plan(desired: desired(access: nil), inventory: [:])
        let diagnostic = try #require(plan.diagnostics.first { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.location == SourceLocation(file: "m.yaml", line: 64, column: 7))
        #expect(diagnostic.summary.contains("keys Backup, Get, List"))
        #expect(diagnostic.hint?.contains("KeyVaultAccessPolicy") == true)
        #expect(plan.hasErrors)
    }

    @Test func diskExclusionForAnADEVMUnderAStandardPolicyIsAnError() async throws {
        var resources = desired(access: Fixture.access()).resources
        let index = try #require(resources.firstIndex { $0.address == Fixture.vmAddress })
        guard case .protectedVM(var spec) = resources[index].spec else { Issue.record("not a protected VM"); return }
        spec.excludeDiskLuns = [0]
        resources[index].spec = .protectedVM(spec)
        let plan = try await Planner(provider: Fixture.provider()).plan(desired: DesiredState(resources: resources), inventory: [:])
        let diagnostic = try #require(plan.diagnostics.first { $0.code == "UserErrorEncryptedVmNotSupportedWithDiskEx" })
        #expect(diagnostic.severity == .error && plan.hasErrors)
        #expect(diagnostic.hint?.contains("Enhanced") == true)

        // An Enhanced policy may exclude disks of an ADE VM; a VM without ADE may exclude them under any policy.
        let policyIndex = try #require(resources.firstIndex { $0.address == Fixture.policyAddress })
        guard case .backupPolicy(var policy) = resources[policyIndex].spec else { Issue.record("not a policy"); return }
        policy.policyType = .enhanced
        var enhanced = resources
        enhanced[policyIndex].spec = .backupPolicy(policy)
        let allowed = try await Planner(provider: Fixture.provider()).plan(desired: DesiredState(resources: enhanced), inventory: [:])
        #expect(!allowed.diagnostics.contains { $0.code == "UserErrorEncryptedVmNotSupportedWithDiskEx" })
        let plain = try await Planner(provider: Fixture.provider(encryption: .ssePlatformKey)).plan(desired: DesiredState(resources: resources), inventory: [:])
        #expect(!plain.diagnostics.contains { $0.code == "UserErrorEncryptedVmNotSupportedWithDiskEx" })
    }

    @Test func bekAndKekNeedsKeyPermissionsToo() async throws {
        let plan = try await Planner(provider: Fixture.provider()).plan(desired: desired(access: Fixture.access(keys: [])), inventory: [:])
        let diagnostic = try #require(plan.diagnostics.first { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })
        #expect(diagnostic.summary.contains("keys Backup, Get, List"))
        #expect(!diagnostic.summary.contains("secrets"))
    }

    @Test func bekOnlyNeedsSecretsOnlyAndKeyPermissionsAreAWarning() async throws {
        let provider = Fixture.provider(encryption: .adeBEKOnly)
        let ok = try await Planner(provider: provider).plan(desired: desired(access: Fixture.access(keys: [])), inventory: [:])
        #expect(ok.diagnostics.isEmpty)
        let extra = try await Planner(provider: provider).plan(desired: desired(access: Fixture.access()), inventory: [:])
        #expect(extra.diagnostics.map(\.code) == ["UnneededKeyPermissions"])
        #expect(extra.diagnostics.first?.severity == .warning)
    }

    @Test func existingAccessOnTheKeyVaultCounts() async throws {
        let provider = Fixture.provider(encryption: .adeBEKOnly)
        provider.addKeyVault(
            KeyVaultFacts(
                id: "kv", name: "kv-app-eastus", subscription: "sub-prod", region: "eastus",
                accessPolicies: [.init(objectID: "bms-object-id", keyPermissions: [], secretPermissions: [.get, .list, .backup])],
                backupManagementServiceObjectID: "bms-object-id"))
        let plan = try await Planner(provider: provider).plan(desired: desired(access: nil), inventory: [:])
        #expect(plan.diagnostics.isEmpty)
    }

    /// A member operator's platform grants the access when it enables protection: the plan plays that
    /// grant forward, so the backup after the plan has its access and nothing is reported.
    @Test func memberOperatorEnablingProtectionGetsTheAccessFromThePlatform() async throws {
        let provider = Fixture.provider()
        provider.operatorIsMember = true
        let plan = try await Planner(provider: provider).plan(desired: desired(access: nil), inventory: [:])
        #expect(!plan.diagnostics.contains { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })
        #expect(!plan.hasErrors)
    }

    /// A member operator's platform grants the access only when it enables protection: for a VM already
    /// protected whose access was removed, apply changes nothing and every backup fails, so the plan says so.
    @Test func memberOperatorsAlreadyProtectedVMWithoutAccessIsAnError() async throws {
        let provider = Fixture.provider()
        provider.operatorIsMember = true
        let store = MemoryStateStore()
        let first = try await Planner(provider: provider).plan(desired: desired(access: nil), inventory: [:])
        #expect(!first.hasErrors)
        #expect(try await Applier(provider: provider, store: store).apply(first, source: ApplySource()).result == .succeeded)

        let plan = try await Planner(provider: provider).plan(desired: desired(access: nil), inventory: try store.inventory())
        let diagnostic = try #require(plan.diagnostics.first { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.location == SourceLocation(file: "m.yaml", line: 64, column: 7))
        #expect(diagnostic.hint?.contains("(a KeyVaultAccessPolicy)") == true)
    }

    /// A prune that deletes the Backup Management Service's access policy while an ADE VM that needs it stays
    /// protected is an error at the VM, as the same manifests without the policy from the start are.
    @Test func pruningTheAccessAProtectedADEVMNeedsIsAnError() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        let first = try await Planner(provider: provider).plan(desired: desired(access: Fixture.access()), inventory: [:])
        #expect(try await Applier(provider: provider, store: store).apply(first, source: ApplySource()).result == .succeeded)

        let kept = try await Planner(provider: provider).plan(desired: desired(access: nil), inventory: try store.inventory())
        #expect(!kept.hasErrors, "without --prune the access policy stays: \(kept.diagnostics)")
        let pruned = try await Planner(provider: provider).plan(
            desired: desired(access: nil), inventory: try store.inventory(), options: PlanOptions(prune: true))
        #expect(pruned.changes.contains { $0.address == Fixture.accessAddress && $0.action == .delete })
        let diagnostic = try #require(pruned.diagnostics.first { $0.code == "UserErrorKeyVaultPermissionsNotConfigured" })
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.location == SourceLocation(file: "m.yaml", line: 64, column: 7))
        #expect(pruned.hasErrors)
    }

    /// Facts of the fixture's VM with `change` applied.
    private func provider(_ change: (inout VirtualMachineFacts) -> Void) -> InMemoryProvider {
        let provider = Fixture.provider()
        var facts = VirtualMachineFacts(
            id: "/subscriptions/sub-prod/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/win-app-01",
            reference: VMReference(subscription: "sub-prod", resourceGroup: "rg-app", name: "win-app-01"),
            subscription: "sub-prod", region: "eastus", os: "windows", encryption: .adeBEKAndKEK, keyVault: "kv-app-eastus")
        change(&facts)
        provider.addVM(facts)
        return provider
    }

    @Test func aVMProtectedByAnotherVaultIsAnErrorAtTheVault() async throws {
        let plan = try await Planner(provider: provider { $0.protection = VMProtectionFacts(vault: "rsv-other", policy: "daily", status: .protected) }).plan(desired: desired(access: Fixture.access()), inventory: [:])
        let diagnostic = try #require(plan.diagnostics.first { $0.code == "UserErrorVmAlreadyProtectedInAnotherVault" })
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.summary.contains("rsv-other"))
        let same = try await Planner(provider: provider { $0.protection = VMProtectionFacts(vault: "RSV-PROD-EASTUS", policy: "daily", status: .protected) }).plan(desired: desired(access: Fixture.access()), inventory: [:])
        #expect(!same.diagnostics.contains { $0.code == "UserErrorVmAlreadyProtectedInAnotherVault" })
    }

    @Test(arguments: ["stopped", "absent"])
    func aVMWhoseAgentIsNotRunningIsAnError(state: String) async throws {
        let plan = try await Planner(provider: provider { $0.agentState = state }).plan(desired: desired(access: Fixture.access()), inventory: [:])
        let diagnostic = try #require(plan.diagnostics.first { $0.code == "UserErrorGuestAgentStatusUnavailable" })
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.summary.contains("the VM agent of 'win-app-01' is \(state)"))
        let running = try await Planner(provider: provider { $0.agentState = "running" }).plan(desired: desired(access: Fixture.access()), inventory: [:])
        #expect(running.diagnostics.isEmpty)
    }

    @Test func certificateBackedKEKIsAnError() async throws {
        let plan = try await Planner(provider: Fixture.provider(certificateKEK: true)).plan(desired: desired(access: Fixture.access()), inventory: [:])
        #expect(plan.diagnostics.map(\.code) == ["UserErrorCertificateBackedKeyNotSupported"])
    }

    @Test func vmInAnotherRegionThanItsVaultIsAnError() async throws {
        let plan = try await Planner(provider: Fixture.provider(region: "westeurope")).plan(desired: desired(access: Fixture.access()), inventory: [:])
        #expect(plan.diagnostics.map(\.code) == ["UserErrorVmAndVaultNotInSameSubscriptionAndRegion"])
    }

    @Test func vmInAnotherSubscriptionThanAVaultOfTheDefaultSubscriptionIsAnError() async throws {
        // The vault names no subscription, so it is in the default one (sub-prod); the VM is in sub-dev.
        let provider = InMemoryProvider(defaultSubscription: "sub-prod")
        provider.addVM(
            VirtualMachineFacts(
                id: "/subscriptions/sub-dev/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/lnx-dev-01",
                reference: VMReference(subscription: "sub-dev", resourceGroup: "rg-app", name: "lnx-dev-01"),
                subscription: "sub-dev", region: "eastus", os: "linux", encryption: .ssePlatformKey))
        let protected = ResourceSpec.protectedVM(
            ProtectedVMSpec(vm: VMReference(subscription: "sub-dev", resourceGroup: "rg-app", name: "lnx-dev-01"), vault: "rsv-prod-eastus", policy: "daily"))
        let desired = DesiredState(resources: [
            Fixture.resource(Fixture.vaultAddress, Fixture.vault(), line: 1),
            Fixture.resource(Fixture.policyAddress, Fixture.policy(), line: 20),
            Fixture.resource(ResourceAddress(kind: .protectedVM, name: "lnx-dev-01"), protected, line: 60),
        ])
        let plan = try await Planner(provider: provider).plan(desired: desired, inventory: [:])
        #expect(plan.diagnostics.map(\.code) == ["UserErrorVmAndVaultNotInSameSubscriptionAndRegion"])
        #expect(plan.diagnostics.first?.summary.contains("the default subscription") == true)

        // The same VM with a vault that names its subscription is fine.
        let vault = VaultSpec(subscription: "sub-dev", resourceGroup: "rg-backup", location: "eastus", crossRegionRestore: true)
        let sameSubscription = DesiredState(resources: [
            Fixture.resource(Fixture.vaultAddress, .vault(vault), line: 1),
            Fixture.resource(Fixture.policyAddress, Fixture.policy(), line: 20),
            Fixture.resource(ResourceAddress(kind: .protectedVM, name: "lnx-dev-01"), protected, line: 60),
        ])
        #expect(try await Planner(provider: provider).plan(desired: sameSubscription, inventory: [:]).diagnostics.isEmpty)
    }

    @Test func missingVMIsAnError() async throws {
        let provider = InMemoryProvider()
        let plan = try await Planner(provider: provider).plan(desired: desired(access: nil), inventory: [:])
        #expect(plan.diagnostics.map(\.code) == ["VMNotFound"])
    }

    @Test func redundancyChangeAfterRegistrationAndCRROffAreErrors() async throws {
        let provider = Fixture.provider()
        try provider.seed(name: "rsv-prod-eastus", spec: Fixture.vault(), status: .vault(VaultStatus(registeredItems: 2)), managedByCoffer: true)
        let plan = try await Planner(provider: provider).plan(
            desired: desired(access: Fixture.access(), vault: Fixture.vault(redundancy: .locallyRedundant, crr: false)), inventory: [:])
        let codes = Set(plan.diagnostics.map(\.code))
        #expect(codes == ["StorageModelModifyError", "UserErrorCrossRegionRestoreCannotBeDisabled"])
        #expect(plan.diagnostics.first { $0.code == "StorageModelModifyError" }?.location?.line == 6)
    }

    @Test func redundancyChangeBeforeRegistrationIsFine() async throws {
        let provider = Fixture.provider()
        try provider.seed(name: "rsv-prod-eastus", spec: Fixture.vault(crr: false), managedByCoffer: true)
        let plan = try await Planner(provider: provider).plan(
            desired: desired(access: Fixture.access(), vault: Fixture.vault(redundancy: .locallyRedundant, crr: false)), inventory: [:])
        #expect(plan.diagnostics.isEmpty)
    }

    @Test func retentionCutOnAnImmutableVaultIsAnError() async throws {
        let provider = Fixture.provider()
        // The policy alone, in the vault the manifests declare.
        try provider.seed(name: "daily", spec: Fixture.policy(daily: 30), managedByCoffer: true, parents: ResourceParents(desired: Fixture.desired()))
        let immutable = Fixture.vault(immutability: .unlocked)
        let cut = try await Planner(provider: provider).plan(desired: desired(access: Fixture.access(), vault: immutable, policyDays: 14), inventory: [:])
        #expect(cut.diagnostics.map(\.code) == ["UserErrorDeleteBackupItemOnImmutableItem"])
        let longer = try await Planner(provider: provider).plan(desired: desired(access: Fixture.access(), vault: immutable, policyDays: 60), inventory: [:])
        #expect(longer.diagnostics.isEmpty)
    }
}
