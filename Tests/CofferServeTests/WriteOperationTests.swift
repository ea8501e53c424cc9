import CofferModel
import CofferPlatform
import CofferServe
import CofferTestSupport
import Foundation
import Testing

/// The write operations beside PUT: a vault's PATCH, its backup and storage configurations, and a key
/// vault's PUT and PATCH, each through the platform's rules and with the service's codes.
@Suite struct WriteOperationTests {
    static let vaultConfig = Reference.vault + "/backupconfig/vaultconfig?" + Reference.backupAPI
    static let storageConfig = Reference.vault + "/backupstorageconfig/vaultstorageconfig?" + Reference.backupAPI

    @Test func aVaultPatchChangesItsSettingsThroughTheRules() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            let missing = try await client.send(.patch, Reference.vault + "?" + Reference.vaultAPI, body: #"{"tags": {"a": "b"}}"#)
            #expect(missing.status == 404 && missing.errorCode == "ResourceNotFound")
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let patched = try await client.send(
                .patch, Reference.vault + "?" + Reference.vaultAPI,
                body: #"""
                    {"tags": {"team": "backup"}, "properties": {"publicNetworkAccess": "Disabled",
                      "redundancySettings": {"standardTierStorageRedundancy": "LocallyRedundant"},
                      "securitySettings": {"softDeleteSettings": {"softDeleteRetentionPeriodInDays": 30}, "immutabilitySettings": {"state": "Unlocked"}}}}
                    """#)
            #expect(patched.status == 200)
            let body = try patched.object()
            #expect(body["tags"] as? [String: String] == ["team": "backup"])
            let properties = try #require(body["properties"] as? [String: Any])
            #expect(properties["publicNetworkAccess"] as? String == "Disabled" && properties["provisioningState"] as? String == "Succeeded")
            let spec = try #require(try harness.platform.vault(named: "rsv-test")?.spec)
            #expect(spec.storageRedundancy == .locallyRedundant && spec.softDeleteRetentionDays == 30 && spec.immutability == .unlocked)
            #expect(spec.location == "eastus")

            // AlwaysON is one-way; Locked immutability goes through Unlocked (it is Unlocked now, so it may).
            let alwaysOn = try await client.send(
                .patch, Reference.vault + "?" + Reference.vaultAPI,
                body: #"{"properties": {"securitySettings": {"softDeleteSettings": {"softDeleteState": "AlwaysON"}}}}"#)
            #expect(alwaysOn.status == 200)
            for state in ["Enabled", "Disabled"] {
                let back = try await client.send(
                    .patch, Reference.vault + "?" + Reference.vaultAPI,
                    body: #"{"properties": {"securitySettings": {"softDeleteSettings": {"softDeleteState": "\#(state)"}}}}"#)
                #expect(back.status == 400 && back.errorCode == "BMSUserErrorSoftDeleteStateAlwaysOn", "\(state)")
            }
            let moved = try await client.send(.patch, Reference.vault + "?" + Reference.vaultAPI, body: #"{"location": "westeurope"}"#)
            #expect(moved.status == 400 && moved.errorCode == "BMSUserErrorInvalidInput")
            let retention = try await client.send(
                .patch, Reference.vault + "?" + Reference.vaultAPI,
                body: #"{"properties": {"securitySettings": {"softDeleteSettings": {"softDeleteRetentionPeriodInDays": 7}}}}"#)
            #expect(retention.status == 400 && retention.errorCode == "BMSUserErrorInvalidInput")
            #expect(try harness.platform.vault(named: "rsv-test")?.spec.softDeleteRetentionDays == 30)
        }
    }

    @Test func theBackupConfigSetsSoftDeleteAndAlwaysOnIsForGood() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let put = try await client.send(
                .put, Self.vaultConfig, body: #"{"properties": {"softDeleteFeatureState": "Enabled", "softDeleteRetentionPeriodInDays": 60, "enhancedSecurityState": "Enabled"}}"#)
            #expect(put.status == 200)
            let properties = try #require(try put.object()["properties"] as? [String: Any])
            #expect(properties["softDeleteRetentionPeriodInDays"] as? Int == 60 && properties["isSoftDeleteFeatureStateEditable"] as? Bool == true)
            let disable = try await client.send(.patch, Self.vaultConfig, body: #"{"properties": {"softDeleteFeatureState": "Disabled"}}"#)
            #expect(disable.status == 400 && disable.errorCode == "BMSUserErrorSoftDeleteDisableNotAllowed")
            let short = try await client.send(.patch, Self.vaultConfig, body: #"{"properties": {"softDeleteRetentionPeriodInDays": 5}}"#)
            #expect(short.status == 400 && short.errorCode == "BMSUserErrorInvalidInput")
            let patched = try await client.send(.patch, Self.vaultConfig, body: #"{"properties": {"softDeleteFeatureState": "AlwaysON"}}"#)
            #expect(patched.status == 200)
            let after = try #require(try patched.object()["properties"] as? [String: Any])
            #expect(after["softDeleteFeatureState"] as? String == "AlwaysON" && after["isSoftDeleteFeatureStateEditable"] as? Bool == false)
            for state in ["Enabled", "Disabled"] {
                let back = try await client.send(.put, Self.vaultConfig, body: #"{"properties": {"softDeleteFeatureState": "\#(state)"}}"#)
                #expect(back.status == 400 && back.errorCode == "BMSUserErrorSoftDeleteStateAlwaysOn", "\(state)")
            }
            #expect(try harness.platform.vault(named: "rsv-test")?.spec.softDeleteState == .alwaysOn)
            let guarded = try await client.send(.patch, Self.vaultConfig, body: #"{"properties": {"resourceGuardOperationRequests": ["x"]}}"#)
            #expect(guarded.status == 400 && guarded.errorCode == "BMSUserErrorInvalidInput")
        }
    }

    @Test func theStorageConfigIsLockedOnceAnItemIsRegistered() async throws {
        let harness = try await ServeHarness()
        try harness.platform.setAccessPolicy(
            keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: [.get, .list, .backup], secretPermissions: [.get, .list, .backup])
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let put = try await client.send(.put, Self.storageConfig, body: #"{"properties": {"storageModelType": "LocallyRedundant", "storageType": "LocallyRedundant"}}"#)
            #expect(put.status == 200)
            #expect((try put.object()["properties"] as? [String: Any])?["storageType"] as? String == "LocallyRedundant")
            // Cross-region restore needs GeoRedundant storage.
            let crr = try await client.send(.patch, Self.storageConfig, body: #"{"properties": {"crossRegionRestoreFlag": true}}"#)
            #expect(crr.status == 400 && crr.errorCode == "UserErrorCrossRegionRestoreRequiresGeoRedundancy")
            let patch = try await client.send(.patch, Self.storageConfig, body: #"{"properties": {"storageType": "GeoRedundant", "crossRegionRestoreFlag": true}}"#)
            #expect(patch.status == 204 && patch.body.isEmpty)
            let disagree = try await client.send(.put, Self.storageConfig, body: #"{"properties": {"storageModelType": "GeoRedundant", "storageType": "ZoneRedundant"}}"#)
            #expect(disagree.status == 400 && disagree.errorCode == "BMSUserErrorInvalidInput")

            _ = try harness.platform.enableProtection(vm: "win-app-01", vault: "rsv-test", policy: "DefaultPolicy")
            let got = try await client.send(.get, Self.storageConfig).object()
            let properties = try #require(got["properties"] as? [String: Any])
            #expect(properties["storageTypeState"] as? String == "Locked" && properties["crossRegionRestoreFlag"] as? Bool == true)
            let locked = try await client.send(.patch, Self.storageConfig, body: #"{"properties": {"storageType": "LocallyRedundant", "crossRegionRestoreFlag": false}}"#)
            #expect(locked.status == 400 && locked.errorCode == "StorageModelModifyError")
            let off = try await client.send(.put, Self.storageConfig, body: #"{"properties": {"crossRegionRestoreFlag": false}}"#)
            #expect(off.status == 400 && off.errorCode == "UserErrorCrossRegionRestoreCannotBeDisabled")
            let spec = try #require(try harness.platform.vault(named: "rsv-test")?.spec)
            #expect(spec.storageRedundancy == .geoRedundant && spec.crossRegionRestore)
        }
    }

    @Test func aKeyVaultPutIsAFullReplaceOfItsAccessPolicies() async throws {
        let harness = try await ServeHarness()
        let bms = Platform.backupManagementServiceObjectID
        let other = "0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"
        try await harness.run { client in
            let got = try await client.send(.get, Reference.keyVault + "?" + Reference.keyVaultAPI)
            var body = try got.object()
            var properties = try #require(body["properties"] as? [String: Any])
            let tenant = try #require(properties["tenantId"] as? String)
            // As `az keyvault set-policy` does: the GET's body back, with one more policy.
            properties["accessPolicies"] = [
                ["tenantId": tenant, "objectId": bms, "permissions": ["keys": ["get", "list", "backup"], "secrets": ["Get", "List", "Backup"]]],
                ["tenantId": tenant, "objectId": other, "permissions": ["keys": ["all"], "secrets": []]],
            ]
            body["properties"] = properties
            let put = try await client.send(.put, Reference.keyVault + "?" + Reference.keyVaultAPI, body: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
            #expect(put.status == 200)
            #expect(((try put.object()["properties"] as? [String: Any])?["accessPolicies"] as? [Any])?.count == 2)
            let policies = try harness.platform.accessPolicies()
            #expect(policies.first { $0.objectID == bms }?.secretPermissions == [.backup, .get, .list])
            #expect(policies.first { $0.objectID == other }?.keyPermissions == KeyPermission.allCases.sorted())
            // As `az keyvault delete-policy` does: the list without one principal removes its policy.
            properties["accessPolicies"] = [["tenantId": tenant, "objectId": bms, "permissions": ["keys": ["get"], "secrets": ["get"]]]]
            body["properties"] = properties
            let removed = try await client.send(.put, Reference.keyVault + "?" + Reference.keyVaultAPI, body: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
            #expect(removed.status == 200)
            let after = try harness.platform.accessPolicies().filter { $0.keyVault == "kv-app-eastus" }
            #expect(after.map(\.objectID) == [bms] && after.first?.keyPermissions == [.get])
            // A PUT without accessPolicies keeps them.
            let settingsOnly = try await client.send(.put, Reference.keyVault + "?" + Reference.keyVaultAPI, body: #"{"location": "eastus", "properties": {"enabledForDiskEncryption": false}}"#)
            #expect(settingsOnly.status == 200)
            #expect(try harness.platform.accessPolicies().filter { $0.keyVault == "kv-app-eastus" }.count == 1)
            #expect(try harness.platform.keyVaultInfo(named: "kv-app-eastus").enabledForDiskEncryption == false)
            // A key vault the world does not have is not created; a name in use elsewhere is a conflict.
            let created = try await client.send(
                .put, Reference.keyVault.replacingOccurrences(of: "kv-app-eastus", with: "kv-new-eastus") + "?" + Reference.keyVaultAPI,
                body: #"{"location": "eastus", "properties": {"tenantId": "\#(tenant)", "sku": {"family": "A", "name": "standard"}}}"#)
            #expect(created.status == 400 && created.errorCode == "OperationNotAllowed")
            let taken = try await client.send(
                .put, Reference.keyVault.replacingOccurrences(of: "rg-keys-eastus", with: "rg-app-eastus") + "?" + Reference.keyVaultAPI,
                body: #"{"location": "eastus", "properties": {"tenantId": "\#(tenant)", "sku": {"family": "A", "name": "standard"}}}"#)
            #expect(taken.status == 409 && taken.errorCode == "VaultAlreadyExists")
            let template = try await client.send(.put, Reference.keyVault + "?" + Reference.keyVaultAPI, body: #"{"properties": {"enabledForTemplateDeployment": true}}"#)
            #expect(template.status == 400 && template.errorCode == "BadRequest")
        }
    }

    @Test func aKeyVaultPatchKeepsItsOneWaySettings() async throws {
        let harness = try await ServeHarness()
        let bms = Platform.backupManagementServiceObjectID
        try await harness.run { client in
            let url = Reference.keyVault + "?" + Reference.keyVaultAPI
            for (body, field) in [
                (#"{"properties": {"enablePurgeProtection": false}}"#, "enablePurgeProtection"),
                (#"{"properties": {"enableSoftDelete": false}}"#, "enableSoftDelete"),
                (#"{"properties": {"softDeleteRetentionInDays": 30}}"#, "retention"),
            ] {
                let refused = try await client.send(.patch, url, body: body)
                #expect(refused.status == 400 && refused.errorCode == "BadRequest", "\(field)")
                let message = (try refused.object()["error"] as? [String: Any])?["message"] as? String
                #expect(message?.contains(field) == true, "\(message ?? "")")
            }
            let info = try harness.platform.keyVaultInfo(named: "kv-app-eastus")
            #expect(info.purgeProtection && info.softDelete && info.softDeleteRetentionDays == 90)
            // Switching to Azure RBAC and adding an access policy at once is refused as a whole.
            let both = try await client.send(
                .patch, url, body: #"{"properties": {"enableRbacAuthorization": true, "accessPolicies": [{"objectId": "\#(bms)", "permissions": {"secrets": ["get"]}}]}}"#)
            #expect(both.status == 400 && both.errorCode == "KeyVaultUsesRbacAuthorization")
            #expect(try harness.platform.keyVaultInfo(named: "kv-app-eastus").permissionModel == .accessPolicies)
            let rbac = try await client.send(.patch, url, body: #"{"properties": {"enableRbacAuthorization": true}}"#)
            #expect(rbac.status == 200)
            #expect((try rbac.object()["properties"] as? [String: Any])?["enableRbacAuthorization"] as? Bool == true)
            #expect(try harness.platform.keyVaultInfo(named: "kv-app-eastus").permissionModel == .rbac)
            let missing = try await client.send(
                .patch, Reference.keyVault.replacingOccurrences(of: "kv-app-eastus", with: "kv-none") + "?" + Reference.keyVaultAPI, body: "{}")
            #expect(missing.status == 404 && missing.errorCode == "ResourceNotFound")
        }
    }

    @Test func aRestoreTargetKeepsTheSubscriptionOfItsResourceGroup() async throws {
        let harness = try await ServeHarness()
        try harness.platform.setAccessPolicy(
            keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: [.get, .list, .backup], secretPermissions: [.get, .list, .backup])
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try harness.platform.enableProtection(vm: "win-app-01", vault: "rsv-test", policy: "DefaultPolicy")
            let point = try harness.platform.backup(vm: "win-app-01").recoveryPoint
            let id = try #require(point)
            let restore = Reference.item("win-app-01") + "/recoveryPoints/\(id)/restore?" + Reference.backupAPI
            // A resource group of a subscription the world does not have: the platform looks the target up there.
            let elsewhere = try await client.send(
                .post, restore,
                body: #"{"properties": {"objectType": "IaasVMRestoreRequest", "recoveryType": "RestoreDisks", "targetResourceGroupId": "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-app-eastus"}}"#)
            #expect(elsewhere.status == 202)
            let failed = try await client.waitForOperation(elsewhere)
            #expect(failed["status"] as? String == "Failed")
            #expect((failed["error"] as? [String: Any])?["code"] as? String == "ResourceNotFound")
            let here = try await client.send(
                .post, restore,
                body: #"{"properties": {"objectType": "IaasVMRestoreRequest", "recoveryType": "RestoreDisks", "targetResourceGroupId": "/subscriptions/\#(Reference.subscription)/resourceGroups/rg-app-eastus"}}"#)
            #expect(try await client.waitForOperation(here)["status"] as? String == "Succeeded")
        }
    }
}
