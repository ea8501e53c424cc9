import CofferPlatform
import CofferServe
import CofferTestSupport
import Foundation
import Testing

/// Vaults, policies, protection, Backup now, jobs, recovery points, key vaults and paging, in process.
@Suite struct ResourceTests {
    @Test func aVaultPutCreatesThenUpdatesWithOneCanonicalID() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            let created = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            #expect(created.status == 201)
            #expect(try created.object()["id"] as? String == "/subscriptions/\(Reference.subscription)/resourceGroups/rg-backup-eastus/providers/Microsoft.RecoveryServices/vaults/rsv-test")
            // The same PUT again, with the path in another case: an update (200), the same canonical id.
            let upper = Reference.vault.uppercased().replacingOccurrences(of: "RSV-TEST", with: "rsv-test")
            let updated = try await client.send(.put, upper + "?" + Reference.vaultAPI, body: #"{"tags": {"team": "platform"}}"#)
            #expect(updated.status == 200)
            #expect(try updated.object()["id"] as? String == (try created.object()["id"] as? String))
            #expect((try updated.object()["tags"] as? [String: String]) == ["team": "platform"])
            let listed = try await client.send(.get, "/subscriptions/\(Reference.subscription)/providers/Microsoft.RecoveryServices/vaults?\(Reference.vaultAPI)")
            #expect((try listed.object()["value"] as? [Any])?.count == 1)
            // A vault of another resource group is not found under this one.
            let elsewhere = try await client.send(
                .get, "/subscriptions/\(Reference.subscription)/resourceGroups/rg-app-eastus/providers/Microsoft.RecoveryServices/vaults/rsv-test?\(Reference.vaultAPI)")
            #expect(elsewhere.status == 404 && elsewhere.errorCode == "ResourceNotFound")
            // A rule of the platform keeps its code: redundancy in a region without a pair is fine, a
            // retention out of range is not.
            let bad = try await client.send(
                .put, Reference.vault + "2?" + Reference.vaultAPI,
                body: #"{"location": "eastus", "properties": {"securitySettings": {"softDeleteSettings": {"softDeleteRetentionPeriodInDays": 3}}}}"#)
            #expect(bad.status == 400)
            #expect(bad.errorCode?.isEmpty == false)
            let deleted = try await client.send(.delete, Reference.vault + "?" + Reference.vaultAPI)
            #expect(deleted.status == 204)
            #expect(try await client.send(.get, Reference.vault + "?" + Reference.vaultAPI).status == 404)
        }
    }

    @Test func policiesRoundTripAndTheirRulesKeepTheirCodes() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let put = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            #expect(put.status == 200)
            let properties = try #require(try put.object()["properties"] as? [String: Any])
            #expect(properties["policyType"] as? String == "V1" && properties["protectedItemsCount"] as? Int == 0)
            // Three days of daily retention is below the service's minimum of seven.
            let short = Reference.policyBody.replacingOccurrences(of: #""count": 30"#, with: #""count": 3"#)
            let refused = try await client.send(.put, Reference.vault + "/backupPolicies/short?" + Reference.backupAPI, body: short)
            #expect(refused.status == 400 && refused.errorCode == "BMSUserErrorInvalidPolicyInput")
            let list = try await client.send(
                .get, Reference.vault + "/backupPolicies?" + Reference.backupAPI + "&$filter=backupManagementType%20eq%20%27AzureIaasVM%27")
            // The policy made here, and the vault's own DefaultPolicy and EnhancedPolicy.
            let names = (try list.object()["value"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted()
            #expect(names == ["DefaultPolicy", "EnhancedPolicy", "daily"])
            #expect(try await client.send(.delete, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI).status == 200)
            #expect(try await client.send(.get, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI).status == 404)
        }
    }

    @Test func protectBackUpAndListThroughOperations() async throws {
        let harness = try await ServeHarness(minimumPolls: 1)
        // The operator of the reference world is a guest: grant the Backup Management Service first.
        try harness.platform.setAccessPolicy(
            keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: [.get, .list, .backup], secretPermissions: [.get, .list, .backup])
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            let item = Reference.item("win-app-01")
            let enable = try await client.send(
                .put, item + "?" + Reference.backupAPI,
                body: """
                    {"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines",
                      "sourceResourceId": "/subscriptions/\(Reference.subscription)/resourceGroups/rg-app-eastus/providers/Microsoft.Compute/virtualMachines/win-app-01",
                      "policyId": "\(Reference.vault)/backupPolicies/daily"}}
                    """)
            #expect(enable.status == 202)
            #expect(enable.header("Retry-After") == "1")
            let status = try #require(enable.header("Azure-AsyncOperation"))
            #expect(status.hasPrefix("https://") && status.contains("/operationsStatus/"))
            #expect(enable.header("Location")?.contains("/operationResults/") == true)
            // The first poll sees the operation run, the next its end.
            let path = try #require(URL(string: status)).path + "?" + Reference.backupAPI
            #expect(try await client.send(.get, path).object()["status"] as? String == "InProgress")
            let done = try await client.waitForOperation(enable)
            #expect(done["status"] as? String == "Succeeded")
            let got = try await client.send(.get, item + "?" + Reference.backupAPI).object()
            #expect((got["properties"] as? [String: Any])?["protectionState"] as? String == "IRPending")
            #expect((got["properties"] as? [String: Any])?["protectedItemType"] as? String == "Microsoft.Compute/virtualMachines")

            let backup = try await client.send(
                .post, item + "/backup?" + Reference.backupAPI,
                body: #"{"properties": {"objectType": "IaasVMBackupRequest", "recoveryPointExpiryTimeInUTC": "2026-03-01T00:00:00.000Z"}}"#)
            #expect(backup.status == 202)
            let finished = try await client.waitForOperation(backup)
            #expect(finished["status"] as? String == "Succeeded")
            let jobID = try #require((finished["properties"] as? [String: Any])?["jobId"] as? String)
            let job = try await client.send(.get, Reference.vault + "/backupJobs/\(jobID)?" + Reference.backupAPI).object()
            let jobProperties = try #require(job["properties"] as? [String: Any])
            #expect(jobProperties["status"] as? String == "Completed" && jobProperties["jobType"] as? String == "AzureIaaSVMJob")
            let points = try await client.send(.get, item + "/recoveryPoints?" + Reference.backupAPI).object()
            let value = try #require(points["value"] as? [[String: Any]])
            #expect(value.count == 1)
            let point = try #require(value.first?["properties"] as? [String: Any])
            #expect(point["objectType"] as? String == "IaasVMRecoveryPoint" && point["isSourceVMEncrypted"] as? Bool == true)
            #expect((point["recoveryPointProperties"] as? [String: Any])?["expiryTime"] as? String == "2026-03-01T00:00:00Z")
            // The BEK and KEK by URL and key vault; their backed-up values never leave the vault.
            let keys = try #require(point["keyAndSecret"] as? [String: Any])
            #expect(keys["encryptionMechanism"] as? String == "SinglePass")
            let bek = try #require(keys["bekDetails"] as? [String: Any])
            #expect((bek["secretUrl"] as? String)?.hasPrefix("https://kv-app-eastus.vault.azure.net/secrets/") == true)
            #expect(bek["secretVaultId"] as? String == Reference.keyVault && bek["secretData"] == nil)
            let kek = try #require(keys["kekDetails"] as? [String: Any])
            #expect((kek["keyUrl"] as? String)?.hasPrefix("https://kv-app-eastus.vault.azure.net/keys/kek-win-app-01/") == true)
            #expect(kek["keyVaultId"] as? String == Reference.keyVault && kek["keyBackupData"] == nil)

            // Stop protection and keep the data, then delete it (an operation too).
            let stop = try await client.send(
                .put, item + "?" + Reference.backupAPI,
                body: #"{"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "protectionState": "ProtectionStopped"}}"#)
            #expect(try await client.waitForOperation(stop)["status"] as? String == "Succeeded")
            #expect(try harness.platform.protectedItem(vm: "win-app-01")?.state == .protectionStopped)
            let delete = try await client.send(.delete, item + "?" + Reference.backupAPI)
            #expect(delete.status == 202)
            #expect(try await client.waitForOperation(delete)["status"] as? String == "Succeeded")
            let soft = try await client.send(.get, item + "?" + Reference.backupAPI).object()
            #expect((soft["properties"] as? [String: Any])?["isScheduledForDeferredDelete"] as? Bool == true)
        }
    }

    @Test func aBackupWithoutKeyVaultAccessFailsItsJobWithTheServicesCode() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            let item = Reference.item("lnx-db-01")
            let enable = try await client.send(
                .put, item + "?" + Reference.backupAPI, body: #"{"properties": {"policyId": "\#(Reference.vault)/backupPolicies/daily"}}"#)
            #expect(try await client.waitForOperation(enable)["status"] as? String == "Succeeded")
            let backup = try await client.send(.post, item + "/backup?" + Reference.backupAPI, body: #"{"properties": {"objectType": "IaasVMBackupRequest"}}"#)
            let finished = try await client.waitForOperation(backup)
            let jobID = try #require((finished["properties"] as? [String: Any])?["jobId"] as? String)
            let job = try await client.send(.get, Reference.vault + "/backupJobs/\(jobID)?" + Reference.backupAPI).object()
            let properties = try #require(job["properties"] as? [String: Any])
            #expect(properties["status"] as? String == "Failed")
            let error = try #require((properties["errorDetails"] as? [[String: Any]])?.first)
            #expect(error["errorTitle"] as? String == "UserErrorKeyVaultPermissionsNotConfigured")
            #expect((error["errorString"] as? String)?.hasPrefix("UserErrorKeyVaultPermissionsNotConfigured: ") == true)
            #expect(error["errorCode"] is Int)
            // The failed job is listed by a status filter.
            let failed = try await client.send(.get, Reference.vault + "/backupJobs?" + Reference.backupAPI + "&$filter=status%20eq%20%27Failed%27").object()
            #expect((failed["value"] as? [Any])?.count == 1)
        }
    }

    @Test func aRefusedOperationFailsWithTheCodeAndAMalformedOneIsRefusedAtOnce() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            // lnx-web-01 is in westeurope; the vault in eastus.
            let item = Reference.item("lnx-web-01", group: "rg-app-westeurope")
            let enable = try await client.send(
                .put, item + "?" + Reference.backupAPI, body: #"{"properties": {"policyId": "\#(Reference.vault)/backupPolicies/daily"}}"#)
            let ended = try await client.waitForOperation(enable)
            #expect(ended["status"] as? String == "Failed")
            #expect((ended["error"] as? [String: Any])?["code"] as? String == "UserErrorVmAndVaultNotInSameSubscriptionAndRegion")
            let noPolicy = try await client.send(.put, Reference.item("win-app-01") + "?" + Reference.backupAPI, body: #"{"properties": {}}"#)
            #expect(noPolicy.status == 400 && noPolicy.errorCode == "BMSUserErrorInvalidConfigureProtectionRequest")
            let otherVault = try await client.send(
                .put, Reference.item("win-app-01") + "?" + Reference.backupAPI,
                body: #"{"properties": {"policyId": "/subscriptions/\#(Reference.subscription)/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/other/backupPolicies/daily"}}"#)
            #expect(otherVault.status == 400)
            let mismatched = try await client.send(
                .get,
                Reference.vault + "/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app-eastus;win-app-01/protectedItems/VM;iaasvmcontainerv2;rg-app-eastus;lnx-db-01?" + Reference.backupAPI)
            #expect(mismatched.status == 400)
        }
    }

    @Test func listsPageWithANextLinkOnServesAddress() async throws {
        let harness = try await ServeHarness(pageSize: 3)
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            for index in 0..<8 {
                let reply = try await client.send(.put, Reference.vault + "/backupPolicies/policy-\(index)?" + Reference.backupAPI, body: Reference.policyBody)
                #expect(reply.status == 200)
            }
            var names: [String] = []
            var next: String? = Reference.vault + "/backupPolicies?" + Reference.backupAPI
            var pages = 0
            while let link = next, pages < 10 {
                let path = link.hasPrefix("https://") ? try #require(URL(string: link)).path + "?" + (URL(string: link)?.query ?? "") : link
                let page = try await client.send(.get, path).object()
                names += (page["value"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                next = page["nextLink"] as? String
                if let next { #expect(next.hasPrefix("https://") && next.contains("api-version=2026-10-01") && next.contains("$skipToken=")) }
                pages += 1
            }
            // Eight policies and the vault's two default ones, three to a page.
            #expect(pages == 4)
            #expect(names.sorted() == ["DefaultPolicy", "EnhancedPolicy"] + (0..<8).map { "policy-\($0)" })
            let bad = try await client.send(.get, Reference.vault + "/backupPolicies?" + Reference.backupAPI + "&$skipToken=nope")
            #expect(bad.status == 400)
        }
    }

    @Test func keyVaultAccessPoliciesAddReplaceRemove() async throws {
        let harness = try await ServeHarness()
        let bms = Platform.backupManagementServiceObjectID
        try await harness.run { client in
            let vault = try await client.send(.get, Reference.keyVault + "?" + Reference.keyVaultAPI).object()
            let properties = try #require(vault["properties"] as? [String: Any])
            #expect(properties["enableSoftDelete"] as? Bool == true && properties["vaultUri"] as? String == "https://kv-app-eastus.vault.azure.net/")
            let tenant = try #require(properties["tenantId"] as? String)
            let add = try await client.send(
                .put, Reference.keyVault + "/accessPolicies/add?" + Reference.keyVaultAPI,
                body: #"{"properties": {"accessPolicies": [{"tenantId": "\#(tenant)", "objectId": "\#(bms)", "permissions": {"keys": ["get", "list"], "secrets": ["get"]}}]}}"#)
            #expect(add.status == 200)
            _ = try await client.send(
                .put, Reference.keyVault + "/accessPolicies/add?" + Reference.keyVaultAPI,
                body: #"{"properties": {"accessPolicies": [{"tenantId": "\#(tenant)", "objectId": "\#(bms)", "permissions": {"keys": ["backup"], "secrets": ["list", "backup"]}}]}}"#)
            let granted = try #require(try harness.platform.accessPolicies().first { $0.objectID == bms })
            #expect(granted.keyPermissions == [.backup, .get, .list] && granted.secretPermissions == [.backup, .get, .list])
            _ = try await client.send(
                .put, Reference.keyVault + "/accessPolicies/remove?" + Reference.keyVaultAPI,
                body: #"{"properties": {"accessPolicies": [{"tenantId": "\#(tenant)", "objectId": "\#(bms)", "permissions": {"keys": ["backup"]}}]}}"#)
            #expect(try harness.platform.accessPolicies().first { $0.objectID == bms }?.keyPermissions == [.get, .list])
            let replaced = try await client.send(
                .put, Reference.keyVault + "/accessPolicies/replace?" + Reference.keyVaultAPI,
                body: #"{"properties": {"accessPolicies": [{"tenantId": "\#(tenant)", "objectId": "\#(bms)", "permissions": {"keys": [], "secrets": ["get"]}}]}}"#)
            #expect(replaced.status == 200)
            #expect(try harness.platform.accessPolicies().first { $0.objectID == bms }?.secretPermissions == [.get])
            let wrongTenant = try await client.send(
                .put, Reference.keyVault + "/accessPolicies/add?" + Reference.keyVaultAPI,
                body: #"{"properties": {"accessPolicies": [{"tenantId": "00000000-0000-0000-0000-000000000000", "objectId": "x", "permissions": {}}]}}"#)
            #expect(wrongTenant.status == 400)
            // Keys and secrets are listed by name; no value appears.
            let secrets = try await client.send(.get, Reference.keyVault + "/secrets?" + Reference.keyVaultAPI)
            #expect(secrets.status == 200)
            #expect(!String(decoding: secrets.body, as: UTF8.self).contains("\"value\":\""))
            let keys = try await client.send(.get, Reference.keyVault + "/keys?" + Reference.keyVaultAPI).object()
            #expect((keys["value"] as? [[String: Any]])?.first?["name"] as? String == "kek-win-app-01")
        }
    }

    @Test func virtualMachinesShowTheirADESettings() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            let vm = try await client.send(
                .get, "/subscriptions/\(Reference.subscription)/resourceGroups/rg-app-eastus/providers/Microsoft.Compute/virtualMachines/win-app-01?api-version=2026-04-01&$expand=instanceView")
            #expect(vm.status == 200)
            let properties = try #require(try vm.object()["properties"] as? [String: Any])
            let osDisk = try #require((properties["storageProfile"] as? [String: Any])?["osDisk"] as? [String: Any])
            let settings = try #require(osDisk["encryptionSettings"] as? [String: Any])
            #expect((settings["keyEncryptionKey"] as? [String: Any])?["keyUrl"] as? String != nil)
            #expect(properties["instanceView"] != nil)
            let extensions = try #require(try vm.object()["resources"] as? [[String: Any]])
            #expect(extensions.first?["name"] as? String == "AzureDiskEncryption")
        }
    }
}
