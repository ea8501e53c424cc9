import CofferModel
import CofferRules
import CofferTestSupport
import Foundation
import Testing

@testable import CofferPlatform

/// `updateKeyVault`: a key vault's settings through `KeyVaultRules`, and its access policies as one full list,
/// in one transaction.
@Suite struct KeyVaultSettingsTests {
    static let world = WorldLoaderTests.minimal + """
        keyVaults:
          - name: kv-a
            resourceGroup: rg
            region: eastus
            softDelete: false
          - name: kv-b
            resourceGroup: rg
            region: eastus
            purgeProtection: true

        """
    static let other = "0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"

    static func settings(_ info: KeyVaultInfo) -> KeyVaultSettings {
        KeyVaultSettings(
            enabledForDiskEncryption: info.enabledForDiskEncryption, softDelete: info.softDelete, softDeleteRetentionDays: info.softDeleteRetentionDays,
            purgeProtection: info.purgeProtection, rbacAuthorization: info.permissionModel == .rbac)
    }

    @Test func settingsChangeThroughTheRules() throws {
        let directory = try TemporaryDirectory()
        let platform = try Platform.create(stateDirectory: directory.path("state"), world: try WorldLoader.load(text: Self.world, file: "w.yaml"))
        // Soft delete turned on with a retention of its own, then purge protection.
        var wanted = Self.settings(try platform.keyVaultInfo(named: "kv-a"))
        wanted.softDelete = true
        wanted.softDeleteRetentionDays = 30
        var info = try platform.updateKeyVault(name: "kv-a", settings: wanted)
        #expect(info.softDelete && info.softDeleteRetentionDays == 30)
        wanted.purgeProtection = true
        info = try platform.updateKeyVault(name: "kv-a", settings: wanted)
        #expect(info.purgeProtection)
        // Now one-way, and the retention fixed.
        let changes: [(inout KeyVaultSettings) -> Void] = [{ $0.purgeProtection = false }, { $0.softDelete = false }, { $0.softDeleteRetentionDays = 60 }]
        for change in changes {
            var refused = wanted
            change(&refused)
            let error = #expect(throws: PlatformError.self) { try platform.updateKeyVault(name: "kv-a", settings: refused) }
            #expect(error?.code == "BadRequest")
            #expect(Self.settings(try platform.keyVaultInfo(named: "kv-a")) == wanted)
        }
    }

    @Test func accessPoliciesBecomeTheListGivenInOneTransaction() throws {
        let directory = try TemporaryDirectory()
        let platform = try Platform.create(stateDirectory: directory.path("state"), world: try WorldLoader.load(text: Self.world, file: "w.yaml"))
        let current = Self.settings(try platform.keyVaultInfo(named: "kv-b"))
        let grants = [
            AccessPolicyGrant(principal: .backupManagementService, keyPermissions: [.get, .list, .backup], secretPermissions: [.get, .list, .backup]),
            AccessPolicyGrant(principal: .objectID(Self.other.uppercased()), keyPermissions: [.get], secretPermissions: []),
        ]
        var info = try platform.updateKeyVault(name: "kv-b", settings: current, accessPolicies: grants)
        #expect(info.accessPolicies.count == 2)
        #expect(info.accessPolicies.first { $0.objectID == Self.other }?.keyPermissions == [.get])
        // The list without a principal removes its policy; a changed list sets exactly what it lists.
        info = try platform.updateKeyVault(
            name: "kv-b", settings: current,
            accessPolicies: [AccessPolicyGrant(principal: .backupManagementService, keyPermissions: [], secretPermissions: [.get])])
        #expect(info.accessPolicies.map(\.objectID) == [Platform.backupManagementServiceObjectID])
        #expect(info.accessPolicies.first?.keyPermissions == [] && info.accessPolicies.first?.secretPermissions == [.get])
        // Azure RBAC and a new access policy at once: refused as a whole.
        var rbac = current
        rbac.rbacAuthorization = true
        #expect(throws: PlatformError.self) { try platform.updateKeyVault(name: "kv-b", settings: rbac, accessPolicies: grants) }
        #expect(try platform.keyVaultInfo(named: "kv-b").permissionModel == .accessPolicies)
        // The same list again on an RBAC key vault changes no policy, so it passes.
        info = try platform.updateKeyVault(name: "kv-b", settings: rbac, accessPolicies: [
            AccessPolicyGrant(principal: .backupManagementService, keyPermissions: [], secretPermissions: [.get]),
        ])
        #expect(info.permissionModel == .rbac && info.accessPolicies.count == 1)
    }
}
