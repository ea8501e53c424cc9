import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

/// Replacement as the service has it: what changes in place, what needs a new resource, and never an error
/// on a field together with a replacement for the same field.
@Suite struct ReplacementTests {
    /// The fixture's manifests applied on the fake: a vault, a policy, an access policy and win-app-01
    /// protected (one registered item), or the same without the protected VM (a vault without items).
    private func applied(withItem: Bool) async throws -> (InMemoryProvider, [ResourceAddress: InventoryEntry]) {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        var desired = Fixture.desired()
        if !withItem { desired.resources.removeAll { $0.address == Fixture.vmAddress } }
        let plan = try await Planner(provider: provider).plan(desired: desired, inventory: [:])
        #expect(try await Applier(provider: provider, store: store).apply(plan, source: ApplySource()).result == .succeeded)
        return (provider, try store.inventory())
    }

    private func plan(withItem: Bool, vault: VaultSpec? = nil, policy: BackupPolicySpec? = nil) async throws -> Plan {
        let (provider, inventory) = try await applied(withItem: withItem)
        var desired = Fixture.desired()
        if !withItem { desired.resources.removeAll { $0.address == Fixture.vmAddress } }
        for index in desired.resources.indices {
            if let vault, desired.resources[index].address == Fixture.vaultAddress { desired.resources[index].spec = .vault(vault) }
            if let policy, desired.resources[index].address == Fixture.policyAddress { desired.resources[index].spec = .backupPolicy(policy) }
        }
        return try await Planner(provider: provider).plan(desired: desired, inventory: inventory)
    }

    private var vaultSpec: VaultSpec {
        guard case .vault(let spec) = Fixture.vault() else { fatalError("not a vault") }
        return spec
    }

    private var policySpec: BackupPolicySpec {
        guard case .backupPolicy(let spec) = Fixture.policy() else { fatalError("not a policy") }
        return spec
    }

    private func change(_ plan: Plan, _ address: ResourceAddress) -> ResourceChange? { plan.changes.first { $0.address == address } }

    /// No plan proposes to replace a resource for a field and reports an error on that same field.
    private func expectNoErrorAndReplacementForTheSameField(_ plan: Plan) {
        for change in plan.changes where change.action == .replace {
            let fields = Set(change.replacePaths.map { "spec.\($0)" })
            for diagnostic in plan.diagnostics where diagnostic.severity == .error && diagnostic.summary.hasPrefix("\(change.address):") {
                #expect(!fields.contains { diagnostic.summary.contains($0) }, "\(change.address): \(diagnostic.summary)")
            }
        }
    }

    /// A change of the field an id is made of (an access policy's principal) gives the resource another id.
    /// The plan still finds what coffer made under the old one: it replaces it, rather than reading it as
    /// deleted outside coffer and creating a second one beside it.
    @Test func aChangeOfTheFieldThatNamesAResourceReplacesIt() async throws {
        let provider = Fixture.provider()
        let store = MemoryStateStore()
        var desired = Fixture.desired()
        desired.resources.removeAll { $0.address == Fixture.vmAddress }
        _ = try await Applier(provider: provider, store: store).apply(
            try await Planner(provider: provider).plan(desired: desired, inventory: [:]), source: ApplySource())
        let oldID = try #require(try store.inventory()[Fixture.accessAddress]?.id)

        let other = "11111111-2222-3333-4444-555555555555"
        let index = try #require(desired.resources.firstIndex { $0.address == Fixture.accessAddress })
        desired.resources[index].spec = .keyVaultAccessPolicy(
            KeyVaultAccessPolicySpec(keyVault: "kv-app-eastus", principal: .objectID(other), keyPermissions: [.get], secretPermissions: [.get]))
        let plan = try await Planner(provider: provider).plan(desired: desired, inventory: try store.inventory())
        let replaced = try #require(change(plan, Fixture.accessAddress))
        #expect(replaced.action == .replace)
        #expect(replaced.reason == .forcesReplacement)
        #expect(replaced.id == oldID)
        #expect(replaced.replacePaths.allSatisfy { $0.hasPrefix("principal") } && !replaced.replacePaths.isEmpty)
        #expect(plan.drift.isEmpty)

        #expect(try await Applier(provider: provider, store: store).apply(plan, source: ApplySource()).result == .succeeded)
        let policies = provider.all.filter { $0.spec.kind == .keyVaultAccessPolicy }
        #expect(policies.map(\.id) == [try #require(try store.inventory()[Fixture.accessAddress]?.id)])
        #expect(policies.first?.id.hasSuffix(other) == true)
        #expect(!(try await Planner(provider: provider).plan(desired: desired, inventory: try store.inventory())).hasChanges)
    }

    @Test func aCustomerKeyIsAddedInPlaceToAVaultWithoutItemsAndRefusedOnOneWithItems() async throws {
        var encrypted = vaultSpec
        encrypted.systemAssignedIdentity = true
        encrypted.encryption = VaultEncryption(keyVault: "kv-app-eastus", key: "kek-win-app-01")
        let empty = try await plan(withItem: false, vault: encrypted)
        #expect(change(empty, Fixture.vaultAddress)?.action == .update)
        #expect(!empty.diagnostics.contains { $0.code == "UserErrorCmkEncryptionRequiresEmptyVault" })

        let withItems = try await plan(withItem: true, vault: encrypted)
        #expect(change(withItems, Fixture.vaultAddress)?.action == .update)
        let diagnostic = try #require(withItems.diagnostics.first { $0.code == "UserErrorCmkEncryptionRequiresEmptyVault" })
        #expect(diagnostic.severity == .error)
        #expect(!withItems.diagnostics.contains { $0.code == "ServiceResourceNotEmpty" })
        expectNoErrorAndReplacementForTheSameField(withItems)
    }

    @Test func crossRegionRestoreGoesOffInPlaceOnAnEmptyVaultOnly() async throws {
        var off = vaultSpec
        off.crossRegionRestore = false
        let empty = try await plan(withItem: false, vault: off)
        #expect(change(empty, Fixture.vaultAddress)?.action == .update)
        #expect(!empty.hasErrors, "\(empty.diagnostics)")

        let withItems = try await plan(withItem: true, vault: off)
        #expect(change(withItems, Fixture.vaultAddress)?.action == .update)
        #expect(withItems.diagnostics.map(\.code) == ["UserErrorCrossRegionRestoreCannotBeDisabled"])
        expectNoErrorAndReplacementForTheSameField(withItems)
    }

    @Test func aLockedImmutabilityIsAnErrorNotAReplacement() async throws {
        let (provider, inventory) = try await applied(withItem: true)
        var locked = vaultSpec
        locked.immutability = .locked
        var desired = Fixture.desired()
        desired.resources[desired.resources.firstIndex { $0.address == Fixture.vaultAddress }!].spec = .vault(locked)
        let store = MemoryStateStore()
        try store.saveInventory(inventory)
        let lock = try await Planner(provider: provider).plan(desired: desired, inventory: inventory)
        #expect(!lock.hasErrors, "\(lock.diagnostics)")
        #expect(try await Applier(provider: provider, store: store).apply(lock, source: ApplySource()).result == .succeeded)

        let unlock = try await Planner(provider: provider).plan(desired: Fixture.desired(), inventory: try store.inventory())
        #expect(change(unlock, Fixture.vaultAddress)?.action == .update)
        #expect(unlock.diagnostics.map(\.code) == ["UserErrorImmutabilityLocked"])
        expectNoErrorAndReplacementForTheSameField(unlock)
    }

    @Test func aPolicysTypeIsFixedAReplacementThatItemsBlockWithTheMigrationNamed() async throws {
        var enhanced = policySpec
        enhanced.policyType = .enhanced
        enhanced.instantRestoreRetentionDays = 7
        let unused = try await plan(withItem: false, policy: enhanced)
        #expect(change(unused, Fixture.policyAddress)?.action == .replace)
        #expect(change(unused, Fixture.policyAddress)?.replacePaths == ["policyType"])
        #expect(!unused.hasErrors, "\(unused.diagnostics)")

        let used = try await plan(withItem: true, policy: enhanced)
        #expect(change(used, Fixture.policyAddress)?.action == .replace)
        let diagnostic = try #require(used.diagnostics.first { $0.code == "UserErrorBackupPolicyInUse" })
        #expect(diagnostic.summary.contains("replacing it"))
        #expect(diagnostic.hint?.contains("declare a new Enhanced policy, move the VMs to it") == true)
    }

    @Test func movingAVMFromAStandardToAnEnhancedPolicyWorksAndBackIsRefused() async throws {
        let (provider, inventory) = try await applied(withItem: true)
        let store = MemoryStateStore()
        try store.saveInventory(inventory)
        var enhanced = policySpec
        enhanced.policyType = .enhanced
        enhanced.instantRestoreRetentionDays = 7
        let enhancedAddress = ResourceAddress(kind: .backupPolicy, name: "enhanced")
        var desired = Fixture.desired()
        desired.resources.append(Fixture.resource(enhancedAddress, .backupPolicy(enhanced), line: 80))
        let index = desired.resources.firstIndex { $0.address == Fixture.vmAddress }!
        guard case .protectedVM(var protected) = desired.resources[index].spec else { return }
        protected.policy = "enhanced"
        desired.resources[index].spec = .protectedVM(protected)
        let move = try await Planner(provider: provider).plan(desired: desired, inventory: inventory)
        #expect(!move.hasErrors, "\(move.diagnostics)")
        #expect(try await Applier(provider: provider, store: store).apply(move, source: ApplySource()).result == .succeeded)

        protected.policy = "daily"
        desired.resources[index].spec = .protectedVM(protected)
        let back = try await Planner(provider: provider).plan(desired: desired, inventory: try store.inventory())
        #expect(back.diagnostics.map(\.code) == ["UserErrorPolicyTypeChangeNotAllowed"])
        #expect(back.diagnostics.first?.location == SourceLocation(file: "m.yaml", line: 60, column: 1))
    }
}
