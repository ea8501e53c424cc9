import CofferModel
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

/// The desired state of the reference manifests, as the manifest loader resolves it.
enum ReferenceManifests {
    static func vault(_ region: String, crossRegionRestore: Bool) -> VaultSpec {
        VaultSpec(resourceGroup: "rg-backup-\(region)", location: region, storageRedundancy: .geoRedundant, crossRegionRestore: crossRegionRestore)
    }

    static func daily(_ vault: String) -> BackupPolicySpec {
        BackupPolicySpec(
            vault: vault, schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)), instantRestoreRetentionDays: 2,
            retention: RetentionSpec(
                daily: DailyRetention(count: 30), weekly: WeeklyRetention(count: 12, weekdays: [.sunday]),
                monthly: CalendarRetention(count: 12, weekdays: [.sunday], weeks: [.first]),
                yearly: CalendarRetention(count: 3, months: [.january], weekdays: [.sunday], weeks: [.first])))
    }

    static func hourly(_ vault: String) -> BackupPolicySpec {
        BackupPolicySpec(
            vault: vault, policyType: .enhanced,
            schedule: BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 24),
            instantRestoreRetentionDays: 7, retention: RetentionSpec(daily: DailyRetention(count: 30)))
    }

    static let resources: [(String, ResourceSpec)] = [
        ("rsv-prod-eastus", .vault(vault("eastus", crossRegionRestore: true))),
        ("rsv-prod-westeurope", .vault(vault("westeurope", crossRegionRestore: false))),
        ("daily-standard-eastus", .backupPolicy(daily("rsv-prod-eastus"))),
        ("daily-standard-westeurope", .backupPolicy(daily("rsv-prod-westeurope"))),
        ("hourly-enhanced-eastus", .backupPolicy(hourly("rsv-prod-eastus"))),
        ("hourly-enhanced-westeurope", .backupPolicy(hourly("rsv-prod-westeurope"))),
        ("kv-app-eastus-backup", .keyVaultAccessPolicy(KeyVaultAccessPolicySpec(
            keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: [.get, .list, .backup],
            secretPermissions: [.get, .list, .backup]))),
        ("win-app-01", .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app-eastus", name: "win-app-01"),
                                                    vault: "rsv-prod-eastus", policy: "daily-standard-eastus"))),
        ("lnx-db-01", .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app-eastus", name: "lnx-db-01"),
                                                   vault: "rsv-prod-eastus", policy: "daily-standard-eastus"))),
        ("lnx-web-01", .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app-westeurope", name: "lnx-web-01"),
                                                    vault: "rsv-prod-westeurope", policy: "hourly-enhanced-westeurope"))),
        ("win-cmk-01", .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app-westeurope", name: "win-cmk-01"),
                                                    vault: "rsv-prod-westeurope", policy: "daily-standard-westeurope"))),
    ]
}

@Suite struct ProviderTests {
    @Test func idSegmentsAreFoundCaseInsensitively() {
        let id = "/subscriptions/S/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/rsv-1/backupPolicies/daily"
        #expect(Platform.segment(id, after: "vaults") == "rsv-1")
        #expect(Platform.segment(id, after: "BACKUPPOLICIES") == "daily")
        #expect(Platform.segment(id.uppercased(), after: "vaults") == "RSV-1")
        #expect(Platform.segment(id, after: "protectedItems") == nil)
        #expect(Platform.segment("/a/vaults/", after: "vaults") == nil)
        #expect(Platform.segment("/a/myvaults/x", after: "vaults") == nil)
    }

    /// The id a resource has or will have; fails the test when the provider cannot know it.
    static func id(_ provider: any Provider, _ name: String, _ spec: ResourceSpec, parents: ResourceParents = ResourceParents()) async throws -> String {
        try #require(try await provider.resourceID(name: name, spec: spec, parents: parents))
    }

    @Test func theReferenceManifestsConvergeWithNoDiff() async throws {
        let (platform, directory) = try TestWorld.reference()
        defer { withExtendedLifetime(directory) {} }
        let provider: any Provider = platform
        for (name, spec) in ReferenceManifests.resources {
            let id = try await Self.id(provider, name, spec)
            #expect(try await provider.read(kind: spec.kind, id: id) == nil)
            let created = try await provider.create(name: name, spec: spec)
            #expect(created.id == id, "\(name)")
            #expect(created.spec == spec, "\(name)")
            #expect(created.tags[ObservedResource.managedByTag] == ObservedResource.managedByValue)
        }
        // Read back, every resource equals its manifest: a plan would show no change.
        for (name, spec) in ReferenceManifests.resources {
            let observed = try #require(try await provider.read(kind: spec.kind, id: try await Self.id(provider, name, spec)))
            #expect(observed.spec == spec, "\(name)")
        }
        let vaultID = try await Self.id(provider, "rsv-prod-eastus", ReferenceManifests.resources[0].1)
        let vault = try #require(try await provider.read(kind: .recoveryServicesVault, id: vaultID))
        #expect(vault.status.vault?.registeredItems == 2)
        #expect(vault.status.vault?.storageRedundancyLocked == true)
        #expect(vault.id == "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-backup-eastus/providers/Microsoft.RecoveryServices/vaults/rsv-prod-eastus")
        let itemID = try await Self.id(provider, "lnx-db-01", ReferenceManifests.resources[8].1)
        let item = try #require(try await provider.read(kind: .protectedVM, id: itemID))
        #expect(item.status.protectedVM?.protectionStatus == .irPending)
        #expect(item.status.protectedVM?.lastBackupTime == nil)
        #expect(item.name == "lnx-db-01")
        // The guest operator's access policy is what lets the ADE VMs back up.
        #expect(try platform.backup(vm: "lnx-db-01").status == .completed)
        #expect(try platform.backup(vm: "win-app-01").status == .completed)
        let backedUp = try #require(try await provider.read(kind: .protectedVM, id: itemID)?.status.protectedVM)
        #expect(backedUp.protectionStatus == .protected && backedUp.lastBackupStatus == "Completed" && backedUp.recoveryPoints == 1)
        #expect(backedUp.lastBackupTime != nil)
        let snapshot = try await provider.snapshot()
        #expect(!snapshot.operatorGrantsKeyVaultAccess)
        let machines = try await snapshot.virtualMachines([
            VMReference(resourceGroup: "rg-app-eastus", name: "win-app-01"), VMReference(resourceGroup: "rg-app-westeurope", name: "win-app-01"),
        ])
        let facts = try #require(machines[0])
        #expect(facts.encryption == .adeBEKAndKEK && facts.keyVault == "kv-app-eastus" && facts.protectedBy == "rsv-prod-eastus")
        #expect(machines[1] == nil)
        let keyVaults = try await snapshot.keyVaults(named: ["kv-app-eastus", "kv-none"])
        let kv = try #require(keyVaults[0])
        #expect(keyVaults[1] == nil)
        #expect(kv.backupManagementServiceObjectID == Platform.backupManagementServiceObjectID)
        #expect(kv.accessPolicies.contains { $0.objectID == Platform.backupManagementServiceObjectID && $0.keyPermissions == [.backup, .get, .list] })
    }

    @Test func childIDsDeriveFromTheDeclaredVaultWhenItIsNotCreatedYet() async throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        let provider: any Provider = platform
        var policy = TestWorld.dailyPolicy
        policy.vault = "rsv-new"
        let vaultID = "/subscriptions/\(TestWorld.subscriptionID)/resourceGroups/rg-west/providers/Microsoft.RecoveryServices/vaults/rsv-new"
        let parents = ResourceParents(vaults: ["rsv-new": VaultSpec(resourceGroup: "rg-west", location: "westus")])
        #expect(try await provider.resourceID(name: "daily", spec: .backupPolicy(policy), parents: parents) == vaultID + "/backupPolicies/daily")
        let protected = ProtectedVMSpec(vm: VMReference(resourceGroup: "rg", name: "lnx-pmk"), vault: "rsv-new", policy: "daily")
        let itemID = try await Self.id(provider, "lnx-pmk", .protectedVM(protected), parents: parents)
        #expect(itemID.hasPrefix(vaultID + "/backupFabrics/Azure/protectionContainers/"))
        #expect(!itemID.contains("/resourceGroups/-/"))
        // A vault declared in another subscription.
        let other = ResourceParents(vaults: ["rsv-new": VaultSpec(subscription: "other", resourceGroup: "rg-other", location: "eastus")])
        #expect(try await provider.resourceID(name: "daily", spec: .backupPolicy(policy), parents: other)
            == "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg-other/providers/Microsoft.RecoveryServices/vaults/rsv-new/backupPolicies/daily")
        // Once created, the policy has exactly the id predicted for it.
        try platform.createVault(name: "rsv-new", spec: VaultSpec(resourceGroup: "rg-west", location: "westus"))
        let created = try await provider.create(name: "daily", spec: .backupPolicy(policy))
        #expect(created.id == vaultID + "/backupPolicies/daily")
        // A vault neither on the platform nor declared has no id to give its children.
        policy.vault = "rsv-nowhere"
        #expect(try await provider.resourceID(name: "daily", spec: .backupPolicy(policy)) == nil)
        #expect(try await provider.resourceID(name: "lnx-pmk", spec: .protectedVM({ var p = protected; p.vault = "rsv-nowhere"; return p }())) == nil)
        // An access policy of a key vault the platform does not have: no id, rather than a made-up one.
        let access = KeyVaultAccessPolicySpec(keyVault: "kv-nowhere", principal: .backupManagementService, secretPermissions: [.get])
        #expect(try await provider.resourceID(name: "bms", spec: .keyVaultAccessPolicy(access)) == nil)
        let snapshot = try await provider.snapshot()
        let ids = try await snapshot.resourceIDs(
            [ResourceDeclaration(name: "bms", spec: .keyVaultAccessPolicy(access)),
             ResourceDeclaration(name: "daily", spec: .backupPolicy({ var p = policy; p.vault = "rsv-new"; return p }()))],
            parents: ResourceParents())
        #expect(ids == [nil, vaultID + "/backupPolicies/daily"])
    }

    @Test func updatesAndDeletesGoThroughTheRules() async throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        let provider: any Provider = platform
        var vaultSpec = TestWorld.vaultSpec
        vaultSpec.immutability = .locked
        // Created Unlocked then locked, as azurerm does.
        let vault = try await provider.create(name: "rsv-east", spec: .vault(vaultSpec))
        #expect(vault.spec == .vault(vaultSpec))
        // Cross-region restore goes off in place while the vault protects nothing, and back on.
        vaultSpec.crossRegionRestore = false
        #expect(try await provider.update(id: vault.id, name: "rsv-east", spec: .vault(vaultSpec)).spec == .vault(vaultSpec))
        vaultSpec.crossRegionRestore = true
        _ = try await provider.update(id: vault.id, name: "rsv-east", spec: .vault(vaultSpec))
        let policyID = try await Self.id(provider, "daily", .backupPolicy(TestWorld.dailyPolicy))
        #expect(policyID.hasSuffix("/vaults/rsv-east/backupPolicies/daily") && policyID.contains("/resourceGroups/rg/"))
        _ = try await provider.create(name: "daily", spec: .backupPolicy(TestWorld.dailyPolicy))
        var shorter = TestWorld.dailyPolicy
        shorter.retention.daily = DailyRetention(count: 8)
        shorter.retention.weekly = nil
        await expectCode("UserErrorDeleteBackupItemOnImmutableItem") { _ = try await provider.update(id: policyID, name: "daily", spec: .backupPolicy(shorter)) }

        // Protected VM: created stopped, resumed, stopped again by a delete that retains, then deleted.
        var protected = ProtectedVMSpec(vm: VMReference(resourceGroup: "rg", name: "lnx-pmk"), vault: "rsv-east", policy: "daily",
                                        protectionState: .protectionStopped)
        let item = try await provider.create(name: "lnx-pmk", spec: .protectedVM(protected))
        #expect(item.spec == .protectedVM(protected))
        #expect(item.status.protectedVM?.protectionStatus == .protectionStopped)
        protected.protectionState = .protected
        #expect(try await provider.update(id: item.id, name: "lnx-pmk", spec: .protectedVM(protected)).spec == .protectedVM(protected))
        protected.protectionState = .backupsSuspended
        #expect(try await provider.update(id: item.id, name: "lnx-pmk", spec: .protectedVM(protected)).status.protectedVM?.protectionStatus == .backupsSuspended)
        protected.protectionState = .protected
        _ = try await provider.update(id: item.id, name: "lnx-pmk", spec: .protectedVM(protected))
        try await provider.delete(kind: .protectedVM, id: item.id, deletionPolicy: .retain)
        #expect(try await provider.read(kind: .protectedVM, id: item.id)?.status.protectedVM?.protectionStatus == .protectionStopped)
        var unlockedVault = TestWorld.vaultSpec
        unlockedVault.immutability = .disabled
        try platform.createVault(name: "rsv-plain", spec: VaultSpec(resourceGroup: "rg", location: "eastus"))
        try platform.createPolicy(name: "daily", spec: { var p = TestWorld.dailyPolicy; p.vault = "rsv-plain"; return p }())
        let plain = ProtectedVMSpec(vm: VMReference(resourceGroup: "rg", name: "win-cmk"), vault: "rsv-plain", policy: "daily")
        var suspended = plain
        suspended.protectionState = .backupsSuspended
        await expectCode("UserErrorBackupsSuspendedRequiresImmutableVault") { _ = try await provider.create(name: "win-cmk", spec: .protectedVM(suspended)) }
        #expect(try platform.protectedItem(vm: "win-cmk") == nil)
        let cmk = try await provider.create(name: "win-cmk", spec: .protectedVM(plain))
        try await provider.delete(kind: .protectedVM, id: cmk.id, deletionPolicy: .delete)
        #expect(try await provider.read(kind: .protectedVM, id: cmk.id) == nil)
        #expect(try platform.protectedItem(vm: "win-cmk")?.state == .softDeleted)
        // Created again: the soft-deleted item is recovered and resumed.
        let again = try await provider.create(name: "win-cmk", spec: .protectedVM(plain))
        #expect(again.spec == .protectedVM(plain))
        #expect(again.status.protectedVM?.protectionStatus == .irPending)
        // A VM that is not where the reference says.
        await expectCode("ResourceNotFound") {
            _ = try await provider.create(name: "x", spec: .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-eu", name: "lnx-ade"),
                                                                                  vault: "rsv-plain", policy: "daily")))
        }

        // Access policies: created, refused twice, updated, removed.
        let access = KeyVaultAccessPolicySpec(keyVault: "kv-east", principal: .backupManagementService, secretPermissions: [.get, .list, .backup])
        let policy = try await provider.create(name: "bms", spec: .keyVaultAccessPolicy(access))
        #expect(policy.spec == .keyVaultAccessPolicy(access))
        await expectCode("ResourceAlreadyExists") { _ = try await provider.create(name: "bms", spec: .keyVaultAccessPolicy(access)) }
        let wider = KeyVaultAccessPolicySpec(keyVault: "kv-east", principal: .backupManagementService, keyPermissions: [.get, .list, .backup],
                                             secretPermissions: [.get, .list, .backup])
        #expect(try await provider.update(id: policy.id, name: "bms", spec: .keyVaultAccessPolicy(wider)).spec == .keyVaultAccessPolicy(wider))
        #expect(try await provider.read(kind: .keyVaultAccessPolicy, id: policy.id)?.tags == ["managed-by": "coffer"])
        try await provider.delete(kind: .keyVaultAccessPolicy, id: policy.id, deletionPolicy: .delete)
        #expect(try await provider.read(kind: .keyVaultAccessPolicy, id: policy.id) == nil)

        // Once protection starts, cross-region restore stays on.
        var off = vaultSpec
        off.crossRegionRestore = false
        await expectCode("UserErrorCrossRegionRestoreCannotBeDisabled") { _ = try await provider.update(id: vault.id, name: "rsv-east", spec: .vault(off)) }

        // Deleting in reverse order: the policy of a stopped item goes, the vault that keeps its data does not.
        try await provider.delete(kind: .backupPolicy, id: policyID, deletionPolicy: .delete)
        await expectCode("ServiceResourceNotEmpty") { try await provider.delete(kind: .recoveryServicesVault, id: vault.id, deletionPolicy: .delete) }
    }
}
