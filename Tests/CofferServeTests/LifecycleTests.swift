import CofferPlatform
import CofferServe
import CofferTestSupport
import Foundation
import Testing

/// The lifecycle rules over ARM, with the codes the CLI gives: soft delete and undelete (rehydrate), a
/// vault that still holds items, AlwaysOn soft delete, and one vault per VM.
@Suite struct LifecycleTests {
    static let sourceVM = "/subscriptions/\(Reference.subscription)/resourceGroups/rg-app-eastus/providers/Microsoft.Compute/virtualMachines/lnx-db-01"

    @Test func softDeleteUndeleteAndTheRulesAroundThem() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            let item = Reference.item("lnx-db-01")
            let enableBody = #"{"properties": {"sourceResourceId": "\#(Self.sourceVM)", "policyId": "\#(Reference.vault)/backupPolicies/daily"}}"#
            let enable = try await client.send(.put, item + "?" + Reference.backupAPI, body: enableBody)
            #expect(try await client.waitForOperation(enable)["status"] as? String == "Succeeded")

            // One vault per VM: a second vault cannot protect it.
            let other = Reference.vault.replacingOccurrences(of: "rsv-test", with: "rsv-other")
            _ = try await client.send(.put, other + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let otherItem = item.replacingOccurrences(of: "rsv-test", with: "rsv-other")
            let twice = try await client.send(
                .put, otherItem + "?" + Reference.backupAPI,
                body: #"{"properties": {"sourceResourceId": "\#(Self.sourceVM)", "policyId": "\#(other)/backupPolicies/DefaultPolicy"}}"#)
            let refused = try await client.waitForOperation(twice)
            #expect(refused["status"] as? String == "Failed")
            #expect((refused["error"] as? [String: Any])?["code"] as? String == "UserErrorVmAlreadyProtectedInAnotherVault")

            // Delete the data: the item is soft-deleted, still readable, with the date its data goes.
            let delete = try await client.send(.delete, item + "?" + Reference.backupAPI)
            #expect(try await client.waitForOperation(delete)["status"] as? String == "Succeeded")
            let soft = try #require(try await client.send(.get, item + "?" + Reference.backupAPI).object()["properties"] as? [String: Any])
            #expect(soft["isScheduledForDeferredDelete"] as? Bool == true)
            #expect(soft["deferredDeleteTimeInUTC"] as? String == "2026-01-19T00:00:00Z")

            // The vault still holds it: it cannot be deleted.
            let vaultDelete = try await client.send(.delete, Reference.vault + "?" + Reference.vaultAPI)
            #expect(vaultDelete.status >= 400 && vaultDelete.errorCode == "ServiceResourceNotEmpty")

            // Protecting the VM again is refused until the item is rehydrated.
            let again = try await client.send(.put, item + "?" + Reference.backupAPI, body: enableBody)
            let blocked = try await client.waitForOperation(again)
            #expect((blocked["error"] as? [String: Any])?["code"] as? String == "UserErrorSoftDeletedBackupItemExists")
            let rehydrate = try await client.send(
                .put, item + "?" + Reference.backupAPI, body: #"{"properties": {"isRehydrate": true, "protectionState": "ProtectionStopped"}}"#)
            #expect(try await client.waitForOperation(rehydrate)["status"] as? String == "Succeeded")
            let back = try #require(try await client.send(.get, item + "?" + Reference.backupAPI).object()["properties"] as? [String: Any])
            #expect(back["protectionState"] as? String == "ProtectionStopped")
            #expect(back["isScheduledForDeferredDelete"] as? Bool != true)
            // A second undelete has nothing to undelete: the same code as 'coffer undelete'.
            let twiceUndeleted = try await client.send(.put, item + "?" + Reference.backupAPI, body: #"{"properties": {"isRehydrate": true}}"#)
            #expect((try await client.waitForOperation(twiceUndeleted)["error"] as? [String: Any])?["code"] as? String == "UserErrorBackupItemNotSoftDeleted")
        }
    }

    @Test func alwaysOnSoftDeleteCannotBeTurnedBack() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            let alwaysOn = #"{"location": "eastus", "properties": {"securitySettings": {"softDeleteSettings": {"softDeleteState": "AlwaysON"}}}}"#
            #expect(try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: alwaysOn).status == 201)
            let back = try await client.send(
                .put, Reference.vault + "?" + Reference.vaultAPI,
                body: #"{"location": "eastus", "properties": {"securitySettings": {"softDeleteSettings": {"softDeleteState": "Enabled"}}}}"#)
            #expect(back.status == 400 && back.errorCode == "BMSUserErrorSoftDeleteStateAlwaysOn")
        }
    }
    @Test func theFourthOnDemandBackupOfADayIsRefusedWithTheServicesCode() async throws {
        let harness = try await ServeHarness()
        try harness.platform.setAccessPolicy(
            keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: [], secretPermissions: [.get, .list, .backup])
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            let item = Reference.item("lnx-db-01")
            let enable = try await client.send(
                .put, item + "?" + Reference.backupAPI, body: #"{"properties": {"sourceResourceId": "\#(Self.sourceVM)", "policyId": "\#(Reference.vault)/backupPolicies/daily"}}"#)
            #expect(try await client.waitForOperation(enable)["status"] as? String == "Succeeded")
            // Three Backup now today (through the platform, as 'coffer backup' does), then a fourth over ARM.
            for _ in 0..<3 {
                #expect(try harness.platform.backup(vm: "lnx-db-01").status == .completed)
                try harness.platform.advanceClock(by: 600)
            }
            let backup = try await client.send(.post, item + "/backup?" + Reference.backupAPI, body: #"{"properties": {"objectType": "IaasVMBackupRequest"}}"#)
            #expect(backup.status == 202)
            let refused = try await client.waitForOperation(backup)
            #expect(refused["status"] as? String == "Failed")
            #expect((refused["error"] as? [String: Any])?["code"] as? String == "CloudDosAbsoluteLimitReached")
        }
    }
}
