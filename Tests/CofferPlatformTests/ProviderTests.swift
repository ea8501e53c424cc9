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

    @Test func theReferenceManifestsConvergeWithNoDiff() throws {
        let (platform, directory) = try TestWorld.reference()
        defer { withExtendedLifetime(directory) {} }
        let provider: any Provider = platform
        for (name, spec) in ReferenceManifests.resources {
            let id = try provider.resourceID(name: name, spec: spec)
            #expect(try provider.read(kind: spec.kind, id: id) == nil)
            let created = try provider.create(name: name, spec: spec)
            #expect(created.id == id, "\(name)")
            #expect(created.spec == spec, "\(name)")
            #expect(created.tags[ObservedResource.managedByTag] == ObservedResource.managedByValue)
        }
        // Read back, every resource equals its manifest: a plan would show no change.
        for (name, spec) in ReferenceManifests.resources {
            let observed = try #require(try provider.read(kind: spec.kind, id: try provider.resourceID(name: name, spec: spec)))
            #expect(observed.spec == spec, "\(name)")
        }
        let vault = try #require(try provider.read(kind: .recoveryServicesVault, id: try provider.resourceID(name: "rsv-prod-eastus", spec: ReferenceManifests.resources[0].1)))
        #expect(vault.computed["registeredItems"] == "2")
        #expect(vault.id == "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-backup-eastus/providers/Microsoft.RecoveryServices/vaults/rsv-prod-eastus")
        let item = try #require(try provider.read(kind: .protectedVM, id: try provider.resourceID(name: "lnx-db-01", spec: ReferenceManifests.resources[8].1)))
        #expect(item.computed["protectionStatus"] == "IRPending")
        #expect(item.name == "lnx-db-01")
        // The guest operator's access policy is what lets the ADE VMs back up.
        #expect(try platform.backup(vm: "lnx-db-01").status == .completed)
        #expect(try platform.backup(vm: "win-app-01").status == .completed)
        let facts = try #require(try provider.virtualMachine(VMReference(resourceGroup: "rg-app-eastus", name: "win-app-01")))
        #expect(facts.encryption == .adeBEKAndKEK && facts.keyVault == "kv-app-eastus" && facts.protectedBy == "rsv-prod-eastus")
        #expect(try provider.virtualMachine(VMReference(resourceGroup: "rg-app-westeurope", name: "win-app-01")) == nil)
        let kv = try #require(try provider.keyVault(named: "kv-app-eastus"))
        #expect(kv.backupManagementServiceObjectID == Platform.backupManagementServiceObjectID)
        #expect(kv.accessPolicies.contains { $0.objectID == Platform.backupManagementServiceObjectID && $0.keyPermissions == [.backup, .get, .list] })
    }

    @Test func updatesAndDeletesGoThroughTheRules() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        let provider: any Provider = platform
        var vaultSpec = TestWorld.vaultSpec
        vaultSpec.immutability = .locked
        // Created Unlocked then locked, as azurerm does.
        let vault = try provider.create(name: "rsv-east", spec: .vault(vaultSpec))
        #expect(vault.spec == .vault(vaultSpec))
        vaultSpec.crossRegionRestore = false
        do {
            _ = try provider.update(id: vault.id, name: "rsv-east", spec: .vault(vaultSpec))
            Issue.record("turned cross-region restore off")
        } catch let error as ProviderError {
            #expect(error.code == "UserErrorCrossRegionRestoreCannotBeDisabled")
            #expect(!error.retryable)
        }
        let policyID = try provider.resourceID(name: "daily", spec: .backupPolicy(TestWorld.dailyPolicy))
        #expect(policyID.hasSuffix("/vaults/rsv-east/backupPolicies/daily") && policyID.contains("/resourceGroups/rg/"))
        _ = try provider.create(name: "daily", spec: .backupPolicy(TestWorld.dailyPolicy))
        var shorter = TestWorld.dailyPolicy
        shorter.retention.daily = DailyRetention(count: 8)
        shorter.retention.weekly = nil
        expectCode("UserErrorDeleteBackupItemOnImmutableItem") { _ = try provider.update(id: policyID, name: "daily", spec: .backupPolicy(shorter)) }
        // A child whose vault is not there yet gets a provisional id.
        var elsewhere = TestWorld.dailyPolicy
        elsewhere.vault = "rsv-new"
        #expect(try provider.resourceID(name: "daily", spec: .backupPolicy(elsewhere)).contains("/resourceGroups/-/providers/Microsoft.RecoveryServices/vaults/rsv-new/"))

        // Protected VM: created stopped, resumed, stopped again by a delete that retains, then deleted.
        var protected = ProtectedVMSpec(vm: VMReference(resourceGroup: "rg", name: "lnx-pmk"), vault: "rsv-east", policy: "daily",
                                        protectionState: .protectionStopped)
        let item = try provider.create(name: "lnx-pmk", spec: .protectedVM(protected))
        #expect(item.spec == .protectedVM(protected))
        #expect(item.computed["protectionStatus"] == "ProtectionStopped")
        protected.protectionState = .protected
        #expect(try provider.update(id: item.id, name: "lnx-pmk", spec: .protectedVM(protected)).spec == .protectedVM(protected))
        protected.protectionState = .backupsSuspended
        #expect(try provider.update(id: item.id, name: "lnx-pmk", spec: .protectedVM(protected)).computed["protectionStatus"] == "BackupsSuspended")
        protected.protectionState = .protected
        _ = try provider.update(id: item.id, name: "lnx-pmk", spec: .protectedVM(protected))
        try provider.delete(kind: .protectedVM, id: item.id, deletionPolicy: .retain)
        #expect(try provider.read(kind: .protectedVM, id: item.id)?.computed["protectionStatus"] == "ProtectionStopped")
        var unlockedVault = TestWorld.vaultSpec
        unlockedVault.immutability = .disabled
        try platform.createVault(name: "rsv-plain", spec: VaultSpec(resourceGroup: "rg", location: "eastus"))
        try platform.createPolicy(name: "daily", spec: { var p = TestWorld.dailyPolicy; p.vault = "rsv-plain"; return p }())
        let plain = ProtectedVMSpec(vm: VMReference(resourceGroup: "rg", name: "win-cmk"), vault: "rsv-plain", policy: "daily")
        var suspended = plain
        suspended.protectionState = .backupsSuspended
        expectCode("UserErrorBackupsSuspendedRequiresImmutableVault") { _ = try provider.create(name: "win-cmk", spec: .protectedVM(suspended)) }
        #expect(try platform.protectedItem(vm: "win-cmk") == nil)
        let cmk = try provider.create(name: "win-cmk", spec: .protectedVM(plain))
        try provider.delete(kind: .protectedVM, id: cmk.id, deletionPolicy: .delete)
        #expect(try provider.read(kind: .protectedVM, id: cmk.id) == nil)
        #expect(try platform.protectedItem(vm: "win-cmk")?.state == .softDeleted)
        // Created again: the soft-deleted item is recovered and resumed.
        let again = try provider.create(name: "win-cmk", spec: .protectedVM(plain))
        #expect(again.spec == .protectedVM(plain))
        #expect(again.computed["protectionStatus"] == "IRPending")
        // A VM that is not where the reference says.
        expectCode("ResourceNotFound") {
            _ = try provider.create(name: "x", spec: .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-eu", name: "lnx-ade"),
                                                                                  vault: "rsv-plain", policy: "daily")))
        }

        // Access policies: created, refused twice, updated, removed.
        let access = KeyVaultAccessPolicySpec(keyVault: "kv-east", principal: .backupManagementService, secretPermissions: [.get, .list, .backup])
        let policy = try provider.create(name: "bms", spec: .keyVaultAccessPolicy(access))
        #expect(policy.spec == .keyVaultAccessPolicy(access))
        expectCode("ResourceAlreadyExists") { _ = try provider.create(name: "bms", spec: .keyVaultAccessPolicy(access)) }
        let wider = KeyVaultAccessPolicySpec(keyVault: "kv-east", principal: .backupManagementService, keyPermissions: [.get, .list, .backup],
                                             secretPermissions: [.get, .list, .backup])
        #expect(try provider.update(id: policy.id, name: "bms", spec: .keyVaultAccessPolicy(wider)).spec == .keyVaultAccessPolicy(wider))
        #expect(try provider.read(kind: .keyVaultAccessPolicy, id: policy.id)?.tags == ["managed-by": "coffer"])
        try provider.delete(kind: .keyVaultAccessPolicy, id: policy.id, deletionPolicy: .delete)
        #expect(try provider.read(kind: .keyVaultAccessPolicy, id: policy.id) == nil)

        // Deleting in reverse order: a policy in use and a vault with items are refused.
        expectCode("UserErrorBackupPolicyInUse") { try provider.delete(kind: .backupPolicy, id: policyID, deletionPolicy: .delete) }
        expectCode("ServiceResourceNotEmpty") { try provider.delete(kind: .recoveryServicesVault, id: vault.id, deletionPolicy: .delete) }
    }
}
