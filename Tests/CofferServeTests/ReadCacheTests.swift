import CofferPlatform
@testable import CofferServe
import CofferTestSupport
import Foundation
import Testing

/// Serve's read cache never answers what a write that returned has changed: each test reads a resource
/// twice (the second answer comes from the cache), changes it, through serve or through another opener of
/// the platform (as the CLI in another process does), and reads it again.
@Suite struct ReadCacheTests {
    static let protectedItemType = "Microsoft.Compute/virtualMachines"

    /// The value at a path of keys in a JSON object.
    static func value(_ object: [String: Any], _ path: String...) -> Any? {
        var current: Any? = object
        for key in path { current = (current as? [String: Any])?[key] }
        return current
    }

    @Test func theStampIsReadBeforeAndAnswersOfAnOlderStampAreNeitherKeptNorServed() {
        let stamp = LockedBox<Int64>(1)
        let cache = ReadCache(stamp: { stamp.value })
        let answer = ARMResponse(status: 200, body: Data("one".utf8))
        let first = cache.currentStamp()
        #expect(first == 1)
        cache.store(answer, "k", at: 1)
        #expect(cache.response("k", at: 1)?.body == answer.body)
        cache.store(value: [1, 2, 3], "v", at: 1)
        #expect(cache.value("v", at: 1, as: [Int].self) == [1, 2, 3])
        #expect(cache.value("v", at: 1, as: String.self) == nil)
        // A commit: the stamp moves; nothing of the old one is served, even when asked for by its stamp.
        stamp.value = 2
        #expect(cache.currentStamp() == 2)
        #expect(cache.response("k", at: 2) == nil)
        #expect(cache.response("k", at: 1) == nil)
        #expect(cache.value("v", at: 2, as: [Int].self) == nil)
        // An answer computed from the old stamp (a request that began before the commit) is not kept.
        cache.store(answer, "k", at: 1)
        #expect(cache.response("k", at: 1) == nil && cache.response("k", at: 2) == nil)
        // No stamp: nothing cached.
        let broken = ReadCache(stamp: { nil })
        #expect(broken.currentStamp() == nil)
    }

    @Test func aVaultAndItsConfigurationsAfterWritesThroughServe() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let vaultURL = Reference.vault + "?" + Reference.vaultAPI
            let storageURL = Reference.vault + "/backupstorageconfig/vaultstorageconfig?" + Reference.backupAPI
            let configURL = Reference.vault + "/backupconfig/vaultconfig?" + Reference.backupAPI
            var redundancy: [String] = []
            for _ in 0..<2 {
                let vault = try await client.send(.get, vaultURL).object()
                redundancy.append(try #require(Self.value(vault, "properties", "redundancySettings", "standardTierStorageRedundancy") as? String))
                _ = try await client.send(.get, storageURL)
                _ = try await client.send(.get, configURL)
            }
            #expect(redundancy[0] == redundancy[1])
            let other = redundancy[0] == "LocallyRedundant" ? "GeoRedundant" : "LocallyRedundant"
            let patch = try await client.send(.patch, storageURL, body: #"{"properties": {"storageModelType": "\#(other)"}}"#)
            #expect(patch.status == 204)
            let vault = try await client.send(.get, vaultURL).object()
            #expect(Self.value(vault, "properties", "redundancySettings", "standardTierStorageRedundancy") as? String == other)
            #expect(Self.value(try await client.send(.get, storageURL).object(), "properties", "storageModelType") as? String == other)

            let days = try #require(Self.value(try await client.send(.get, configURL).object(), "properties", "softDeleteRetentionPeriodInDays") as? Int)
            let put = try await client.send(.patch, configURL, body: #"{"properties": {"softDeleteRetentionPeriodInDays": \#(days + 3)}}"#)
            #expect(put.status == 200)
            #expect(Self.value(try await client.send(.get, configURL).object(), "properties", "softDeleteRetentionPeriodInDays") as? Int == days + 3)
            // The vault list too.
            let list = try await client.send(.get, Reference.backupGroup + "/providers/Microsoft.RecoveryServices/vaults?" + Reference.vaultAPI).object()
            #expect((list["value"] as? [[String: Any]])?.count == 1)
            #expect(try await client.send(.delete, vaultURL).status == 204)
            #expect(try await client.send(.get, vaultURL).status == 404)
            let empty = try await client.send(.get, Reference.backupGroup + "/providers/Microsoft.RecoveryServices/vaults?" + Reference.vaultAPI).object()
            #expect((empty["value"] as? [[String: Any]])?.isEmpty == true)
        }
    }

    @Test func aPolicyAfterAWriteThroughServeAndOneOfAnotherOpener() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let url = Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI
            #expect(try await client.send(.put, url, body: Reference.policyBody).status == 200)
            func count() async throws -> Int? {
                let policy = try await client.send(.get, url).object()
                return Self.value(policy, "properties", "retentionPolicy", "dailySchedule", "retentionDuration", "count") as? Int
            }
            #expect(try await count() == 30)
            #expect(try await count() == 30)
            let longer = Reference.policyBody.replacingOccurrences(of: #""count": 30"#, with: #""count": 45"#)
            #expect(try await client.send(.put, url, body: longer).status == 200)
            #expect(try await count() == 45)
            // Another opener of the platform (another process) deletes it.
            try harness.platform.deletePolicy(vault: "rsv-test", name: "daily")
            #expect(try await client.send(.get, url).status == 404)
            let list = try await client.send(.get, Reference.vault + "/backupPolicies?" + Reference.backupAPI).object()
            #expect((list["value"] as? [[String: Any]])?.contains { $0["name"] as? String == "daily" } == false)
        }
    }

    @Test func protectedItemsAndEveryPageOfTheirListAfterWritesOfAnotherOpener() async throws {
        let harness = try await ServeHarness(pageSize: 1)
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            let platform = try harness.platform
            try platform.enableProtection(vm: "win-app-01", vault: "rsv-test", policy: "daily")
            let item = Reference.item("win-app-01") + "?" + Reference.backupAPI
            let listURL = Reference.vault + "/backupProtectedItems?" + Reference.backupAPI + "&$filter=backupManagementType%20eq%20%27AzureIaasVM%27"
            /// Every page of the list: each item's name and protection state.
            func listing() async throws -> [String: String] {
                var result: [String: String] = [:]
                var path: String? = listURL
                while let next = path {
                    let page = try await client.send(.get, next).object()
                    for value in page["value"] as? [[String: Any]] ?? [] {
                        result[value["name"] as? String ?? ""] = Self.value(value, "properties", "protectionState") as? String
                    }
                    path = (page["nextLink"] as? String).flatMap { URL(string: $0) }.map { $0.path + "?" + ($0.query ?? "") }
                }
                return result
            }
            for _ in 0..<2 {
                #expect(Self.value(try await client.send(.get, item).object(), "properties", "protectionState") as? String == "IRPending")
                #expect(try await listing() == ["VM;iaasvmcontainerv2;rg-app-eastus;win-app-01": "IRPending"])
            }
            // A second item: a second page appears.
            try platform.enableProtection(vm: "lnx-db-01", vault: "rsv-test", policy: "daily")
            let two = try await listing()
            #expect(two.count == 2 && two["VM;iaasvmcontainerv2;rg-app-eastus;lnx-db-01"] == "IRPending")
            // Protection stopped: the item and its page say so.
            _ = try platform.stopProtection(vm: "win-app-01", mode: .retainForever)
            #expect(Self.value(try await client.send(.get, item).object(), "properties", "protectionState") as? String == "ProtectionStopped")
            #expect(try await listing()["VM;iaasvmcontainerv2;rg-app-eastus;win-app-01"] == "ProtectionStopped")
        }
    }

    @Test func recoveryPointsAndJobsAfterBackupsOfAnotherOpenerAndOfTheClock() async throws {
        let harness = try await ServeHarness()
        let platform = try harness.platform
        try platform.setAccessPolicy(
            keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: [.get, .list, .backup], secretPermissions: [.get, .list, .backup])
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            try platform.enableProtection(vm: "win-app-01", vault: "rsv-test", policy: "daily")
            let points = Reference.item("win-app-01") + "/recoveryPoints?" + Reference.backupAPI
            let jobs = Reference.vault + "/backupJobs?" + Reference.backupAPI
            func count(_ url: String) async throws -> Int {
                try #require(try await client.send(.get, url).object()["value"] as? [[String: Any]]).count
            }
            let jobsBefore = try await count(jobs)
            #expect(try await count(points) == 0)
            #expect(try await count(points) == 0)
            #expect(try await count(jobs) == jobsBefore)
            // Backup now, by another opener.
            let job = try platform.backup(vm: "win-app-01")
            #expect(try await count(points) == 1)
            #expect(try await count(jobs) == jobsBefore + 1)
            let jobURL = Reference.vault + "/backupJobs/\(job.id)?" + Reference.backupAPI
            #expect(Self.value(try await client.send(.get, jobURL).object(), "properties", "status") as? String == "Completed")
            let point = try #require(try platform.recoveryPoints(vm: "win-app-01").first)
            let pointURL = Reference.item("win-app-01") + "/recoveryPoints/\(point.id)?" + Reference.backupAPI
            #expect(try await client.send(.get, pointURL).status == 200)
            // The clock runs the daily backup: a new point and a new job, seen at once.
            let report = try platform.advanceClock(by: 86400)
            #expect(report.jobs.count == 1)
            #expect(try await count(points) == 2)
            #expect(try await count(jobs) == jobsBefore + 2)
        }
    }

    @Test func aKeyVaultAndAVirtualMachineAfterWritesOfAnotherOpener() async throws {
        let harness = try await ServeHarness()
        let platform = try harness.platform
        let bms = Platform.backupManagementServiceObjectID
        try await harness.run { client in
            let keyVault = Reference.keyVault + "?" + Reference.keyVaultAPI
            func granted() async throws -> Bool {
                let body = try await client.send(.get, keyVault).object()
                let policies = Self.value(body, "properties", "accessPolicies") as? [[String: Any]] ?? []
                return policies.contains { $0["objectId"] as? String == bms }
            }
            #expect(try await granted() == false)
            #expect(try await granted() == false)
            try platform.setAccessPolicy(keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: [.get], secretPermissions: [.get])
            #expect(try await granted() == true)

            let vm = "/subscriptions/\(Reference.subscription)/resourceGroups/rg-app-eastus/providers/Microsoft.Compute/virtualMachines/win-app-01?api-version=2026-04-01&$expand=instanceView"
            func agent() async throws -> String? {
                let body = try await client.send(.get, vm).object()
                let statuses = Self.value(body, "properties", "instanceView", "vmAgent", "statuses") as? [[String: Any]]
                return statuses?.first?["displayStatus"] as? String
            }
            #expect(try await agent() == "Ready")
            #expect(try await agent() == "Ready")
            try platform.setAgentState(vm: "win-app-01", .stopped)
            #expect(try await agent() == "Not Ready")
        }
    }
}
