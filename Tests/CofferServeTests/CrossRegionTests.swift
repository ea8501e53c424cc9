import CofferARM
import CofferPlatform
@testable import CofferServe
import CofferTestSupport
import Foundation
import Testing

/// The cross-region restore world (examples/cross-region-restore): eastus, its pair westus, brazilsouth.
enum CrossRegionWorld {
    static let pristine = WorldState.make("examples/cross-region-restore/world.yaml")
    static let subscription = "33333333-3333-3333-3333-333333333333"
    static let group = "/subscriptions/\(subscription)/resourceGroups/rg-backup-eastus"
    static let vault = group + "/providers/Microsoft.RecoveryServices/vaults/rsv-crr"
    static let plainVault = group + "/providers/Microsoft.RecoveryServices/vaults/rsv-plain"
    static let item = vault
        + "/backupFabrics/Azure/protectionContainers/IaasVMContainer%3Biaasvmcontainerv2%3Brg-erp-eastus%3Bwin-erp-01/protectedItems/VM%3Biaasvmcontainerv2%3Brg-erp-eastus%3Bwin-erp-01"
    static let location = "/subscriptions/\(subscription)/providers/Microsoft.RecoveryServices/locations"
    static let crrAPI = "api-version=2021-11-15"
    static let vmID = "/subscriptions/\(subscription)/resourceGroups/rg-erp-eastus/providers/Microsoft.Compute/virtualMachines/win-erp-01"

    static func vaultBody(crossRegionRestore: Bool) -> String {
        """
        {"location": "eastus", "sku": {"name": "Standard"}, "properties": {"redundancySettings":
          {"standardTierStorageRedundancy": "GeoRedundant", "crossRegionRestore": "\(crossRegionRestore ? "Enabled" : "Disabled")"}}}
        """
    }

    static func restoreBody(token: [String: Any], point: String, region: String = "westus", group: String? = "rg-restore-westus") throws -> String {
        var request: [String: Any] = [
            "objectType": "IaasVMRestoreRequest", "recoveryPointId": point, "recoveryType": "RestoreDisks", "sourceResourceId": vmID, "region": region,
        ]
        if let group { request["targetResourceGroupId"] = "/subscriptions/\(subscription)/resourceGroups/\(group)" }
        let body: [String: Any] = ["crossRegionRestoreAccessDetails": token, "restoreRequest": request]
        return String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    /// Polls an operation's `Azure-AsyncOperation` until it ends, for up to a minute: a restore from the
    /// vault tier takes longer than the harness's short wait.
    static func waitLong(_ client: ServeHarness.Client, _ reply: ServeHarness.Reply) async throws -> [String: Any] {
        let header = try #require(reply.header("Azure-AsyncOperation"))
        let url = try #require(URL(string: header))
        for _ in 0..<600 {
            let status = try await client.send(.get, url.path + "?" + (url.query ?? ""))
            let object = try status.object()
            if object["status"] as? String != "InProgress" { return object }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the operation did not end in a minute")
        return [:]
    }

    /// A harness whose platform has rsv-crr (GeoRedundant, cross-region restore on) protecting win-erp-01
    /// with two on-demand backups; the ids of the points, oldest first.
    static func prepared() async throws -> (ServeHarness, [String]) {
        let harness = try await ServeHarness(pristine: pristine)
        let statuses = try await harness.run { client in
            [
                try await client.send(.put, vault + "?api-version=2026-11-01", body: vaultBody(crossRegionRestore: true)).status,
                try await client.send(.put, vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody).status,
            ]
        }
        #expect(statuses == [201, 200])
        let platform = try harness.platform
        try platform.setAccessPolicy(
            keyVault: "kv-erp-eastus", principal: .backupManagementService, keyPermissions: [.get, .list, .backup], secretPermissions: [.get, .list, .backup])
        _ = try platform.enableProtection(vm: "win-erp-01", vault: "rsv-crr", policy: "daily")
        var points: [String] = []
        for seed: UInt64 in [11, 12] {
            try platform.writeGuest(vm: "win-erp-01", disk: .lun(0), offset: 1 << 20, length: 8192, seed: seed)
            points.append(try #require(try platform.backup(vm: "win-erp-01").recoveryPoint))
        }
        return (harness, points)
    }
}

@Suite struct CrossRegionRestoreTests {
    @Test func aRecoveryPointIsRestoredInThePairedRegionWithItsData() async throws {
        let (harness, points) = try await CrossRegionWorld.prepared()
        let expected = try #require(try harness.platform.recoveryPoints(vm: "win-erp-01").first { $0.id == points[0] })
        try await harness.run { client in
            let aad = try await client.send(.get, CrossRegionWorld.location + "/westus/backupAadProperties?" + CrossRegionWorld.crrAPI)
            #expect(aad.status == 200)
            let aadProperties = try #require(try aad.object()["properties"] as? [String: Any])
            #expect(aadProperties["servicePrincipalObjectId"] as? String == Platform.backupManagementServiceObjectID)

            // The replicated points: the vault tier only, newest first.
            let listed = try await client.send(.get, CrossRegionWorld.item + "/recoveryPoints/?" + CrossRegionWorld.crrAPI).object()
            let values = try #require(listed["value"] as? [[String: Any]])
            #expect(values.compactMap { $0["name"] as? String } == points.reversed())
            let tiers = (values.first?["properties"] as? [String: Any])?["recoveryPointTierDetails"] as? [[String: Any]]
            #expect(tiers?.compactMap { $0["type"] as? String } == ["HardenedRP"])

            let tokenReply = try await client.send(
                .post, CrossRegionWorld.item + "/recoveryPoints/\(points[0])/accessToken?" + CrossRegionWorld.crrAPI, body: String(decoding: aad.body, as: UTF8.self))
            #expect(tokenReply.status == 200)
            let token = try #require(try tokenReply.object()["properties"] as? [String: Any])
            #expect(token["objectType"] as? String == "WorkloadCrrAccessToken" && token["recoveryPointId"] as? String == points[0])
            #expect(token["bMSActiveRegion"] as? String == "eastus")
            let tokenString = try #require(token["accessTokenString"] as? String)
            #expect(!tokenString.contains("win-erp-01") && !tokenString.contains(points[0]))

            // Refused, with the CLI's codes, until it names a resource group of westus and the BEK and KEK are
            // in a key vault of westus.
            let restorePath = CrossRegionWorld.location + "/westus/backupCrossRegionRestore?" + CrossRegionWorld.crrAPI
            for (group, code) in [(nil, "BMSUserErrorInvalidInput"), ("rg-erp-eastus", "BMSUserErrorInvalidInput"), ("rg-restore-westus", "DiskEncryptionInternalError")] {
                let refused = try await client.send(.post, restorePath, body: try CrossRegionWorld.restoreBody(token: token, point: points[0], group: group))
                #expect(refused.status == 202)
                let failed = try await CrossRegionWorld.waitLong(client, refused)
                #expect(failed["status"] as? String == "Failed")
                #expect((failed["error"] as? [String: Any])?["code"] as? String == code, "\(String(describing: group))")
            }
            #expect(try harness.platform.restoredDisks().isEmpty)
            let keys = try harness.platform.restoreKeys(vm: "win-erp-01", recoveryPoint: points[0], targetKeyVault: "kv-erp-westus")
            #expect(keys.map(\.action) == ["restored", "restored"])

            let trigger = try await client.send(.post, restorePath, body: try CrossRegionWorld.restoreBody(token: token, point: points[0]))
            #expect(trigger.status == 202)
            #expect(trigger.header("Azure-AsyncOperation")?.contains("/locations/westus/backupCrrOperationsStatus/") == true)
            #expect(trigger.header("Location")?.contains("/locations/westus/backupCrrOperationResults/") == true)
            let done = try await CrossRegionWorld.waitLong(client, trigger)
            #expect(done["status"] as? String == "Succeeded")
            let jobID = try #require((done["properties"] as? [String: Any])?["jobId"] as? String)
            let location = try #require(trigger.header("Location"))
            let result = try #require(URL(string: location))
            #expect(try await client.send(.get, result.path + "?" + (result.query ?? "")).status == 200)

            let job = try await client.send(
                .post, CrossRegionWorld.location + "/westus/backupCrrJob?" + CrossRegionWorld.crrAPI,
                body: #"{"resourceId": "\#(CrossRegionWorld.vault)", "jobName": "\#(jobID)"}"#)
            #expect(job.status == 200)
            let jobProperties = try #require(try job.object()["properties"] as? [String: Any])
            #expect(jobProperties["operation"] as? String == "CrossRegionRestore" && jobProperties["status"] as? String == "Completed")
            let bag = try #require((jobProperties["extendedInfo"] as? [String: Any])?["propertyBag"] as? [String: String])
            #expect(bag["Target Region"] == "westus")
            let jobs = try await client.send(
                .post, CrossRegionWorld.location + "/westus/backupCrrJobs?" + CrossRegionWorld.crrAPI, body: #"{"resourceId": "\#(CrossRegionWorld.vault)"}"#)
            #expect((try jobs.object()["value"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == [jobID])

            // The disks are in westus and hold the point's data.
            let platform = try harness.platform
            let disks = try platform.restoredDisks().filter { $0.jobID == jobID }
            #expect(disks.count == 2 && disks.allSatisfy { $0.region == "westus" && $0.resourceGroup == "rg-restore-westus" })
            #expect(disks.allSatisfy { $0.kekURL?.hasPrefix("https://kv-erp-westus.vault.azure.net/keys/kek-erp/") == true })
            for disk in disks {
                #expect(bag[disk.disk == .os ? "Restored Disk (OS)" : "Restored Disk (LUN \(disk.disk))"] == disk.name)
                let sum = try platform.restoredDiskChecksum(name: disk.name)
                #expect(sum == expected.disks.first { $0.disk == disk.disk }?.checksum)
            }
        }
    }

    @Test func aTokenIsBoundToItsPointAndCannotBeAltered() async throws {
        let (harness, points) = try await CrossRegionWorld.prepared()
        try await harness.run { client in
            let reply = try await client.send(.post, CrossRegionWorld.item + "/recoveryPoints/\(points[0])/accessToken?" + CrossRegionWorld.crrAPI, body: "{}")
            var token = try #require(try reply.object()["properties"] as? [String: Any])
            let restore = CrossRegionWorld.location + "/westus/backupCrossRegionRestore?" + CrossRegionWorld.crrAPI
            let other = try await client.send(.post, restore, body: try CrossRegionWorld.restoreBody(token: token, point: points[1]))
            #expect(other.status == 400 && other.errorCode == PlatformErrorCode.invalidInput)
            var text = try #require(token["accessTokenString"] as? String)
            text = String(text.dropLast()) + (text.hasSuffix("A") ? "B" : "A")
            token["accessTokenString"] = text
            let altered = try await client.send(.post, restore, body: try CrossRegionWorld.restoreBody(token: token, point: points[0]))
            #expect(altered.status == 400 && altered.errorCode == PlatformErrorCode.invalidInput)
            #expect(try harness.platform.jobs().filter { $0.operation == "Restore" }.isEmpty)
        }
    }

    @Test func theVaultsPairAndCrossRegionRestoreAreRequired() async throws {
        let (harness, points) = try await CrossRegionWorld.prepared()
        try await harness.run { client in
            let reply = try await client.send(.post, CrossRegionWorld.item + "/recoveryPoints/\(points[0])/accessToken?" + CrossRegionWorld.crrAPI, body: "{}")
            let token = try #require(try reply.object()["properties"] as? [String: Any])
            // Another region's endpoint: refused at once.
            let elsewhere = try await client.send(
                .post, CrossRegionWorld.location + "/brazilsouth/backupCrossRegionRestore?" + CrossRegionWorld.crrAPI,
                body: try CrossRegionWorld.restoreBody(token: token, point: points[0], region: "brazilsouth", group: "rg-erp-brazilsouth"))
            #expect(elsewhere.status == 400 && elsewhere.errorCode == PlatformErrorCode.crossRegionRestoreNotSupported)
            // The pair's endpoint asked for another region: the platform refuses, the operation fails.
            let refused = try await client.send(
                .post, CrossRegionWorld.location + "/westus/backupCrossRegionRestore?" + CrossRegionWorld.crrAPI,
                body: try CrossRegionWorld.restoreBody(token: token, point: points[0], region: "brazilsouth", group: "rg-erp-brazilsouth"))
            #expect(refused.status == 202)
            let failed = try await CrossRegionWorld.waitLong(client, refused)
            #expect(failed["status"] as? String == "Failed")
            #expect((failed["error"] as? [String: Any])?["code"] as? String == PlatformErrorCode.crossRegionRestoreNotSupported)

            // A vault without cross-region restore has nothing in the secondary region.
            #expect(try await client.send(.put, CrossRegionWorld.plainVault + "?api-version=2026-11-01", body: CrossRegionWorld.vaultBody(crossRegionRestore: false)).status < 300)
            let items = try await client.send(.get, CrossRegionWorld.plainVault + "/backupProtectedItems/?" + CrossRegionWorld.crrAPI)
            #expect(items.status == 400 && items.errorCode == PlatformErrorCode.crossRegionRestoreNotSupported)
            // Without the trailing slash it is the active stamp's list, at its own api-version.
            #expect(try await client.send(.get, CrossRegionWorld.plainVault + "/backupProtectedItems?" + Reference.backupAPI).status == 200)
            let wrongVersion = try await client.send(.get, CrossRegionWorld.vault + "/backupProtectedItems/?" + Reference.backupAPI)
            #expect(wrongVersion.status == 400 && wrongVersion.errorCode == ARMError.invalidAPIVersionCode)
            let jobs = try await client.send(
                .post, CrossRegionWorld.location + "/westus/backupCrrJobs?" + CrossRegionWorld.crrAPI, body: #"{"resourceId": "\#(CrossRegionWorld.plainVault)"}"#)
            #expect(jobs.status == 400 && jobs.errorCode == PlatformErrorCode.crossRegionRestoreNotSupported)
        }
    }

    @Test func tokensExpireAndNeverCarryTheirGrantInTheClear() throws {
        let tokens = CrossRegionTokens()
        let grant = CrossRegionTokens.Grant(vaultID: CrossRegionWorld.vault, itemID: "item", recoveryPoint: "1234567890123456")
        let now = Date()
        let token = tokens.issue(grant, now: now)
        #expect(!token.contains("1234567890123456") && !token.lowercased().contains("rsv-crr"))
        let redeemed = try tokens.redeem(token, now: now.addingTimeInterval(60)).get()
        #expect(redeemed.recoveryPoint == grant.recoveryPoint && redeemed.vaultID == grant.vaultID)
        #expect(throws: CrossRegionTokens.Refusal.self) { try tokens.redeem(token, now: now.addingTimeInterval(CrossRegionTokens.lifetime + 1)).get() }
        // Another process's key does not open it.
        #expect(throws: CrossRegionTokens.Refusal.self) { try CrossRegionTokens().redeem(token, now: now).get() }
    }
}
