import CofferARM
import CofferPlatform
import CofferTestSupport
import Foundation
import Testing

@testable import CofferServe

/// A long-running operation that ends within the grace is answered as its end, where its spec lists the
/// synchronous answer (ProtectedItems_CreateOrUpdate: 200; ProtectedItems_Delete: 200, 204); the others
/// (Backup now, refreshContainers) and every operation under `syncGrace` zero answer 202.
@Suite struct SynchronousAnswerTests {
    static let sourceVM = "/subscriptions/\(Reference.subscription)/resourceGroups/rg-app-eastus/providers/Microsoft.Compute/virtualMachines/lnx-db-01"
    static let enableBody = #"{"properties": {"sourceResourceId": "\#(sourceVM)", "policyId": "\#(Reference.vault)/backupPolicies/daily"}}"#

    @Test func protectionAndItsDeleteAreAnsweredAtOnceWithinTheGrace() async throws {
        // A generous grace: the test is about the answer, not about how fast a loaded machine writes.
        let harness = try await ServeHarness(minimumPolls: 1, syncGrace: .seconds(30))
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            let item = Reference.item("lnx-db-01")

            // Enable: 200 with the item, as the final GET of the poller would read it, and no operation headers.
            let enable = try await client.send(.put, item + "?" + Reference.backupAPI, body: Self.enableBody)
            #expect(enable.status == 200)
            #expect(enable.header("Azure-AsyncOperation") == nil && enable.header("Location") == nil)
            let properties = try #require(try enable.object()["properties"] as? [String: Any])
            #expect(properties["protectionState"] as? String == "IRPending")
            #expect(properties["policyName"] as? String == "daily")
            // The same body a GET answers.
            let read = try await client.send(.get, item + "?" + Reference.backupAPI)
            #expect(try read.object()["id"] as? String == (try enable.object()["id"] as? String))
            #expect(try harness.platform.protectedItem(vm: "lnx-db-01")?.vault == "rsv-test")

            // A failure is the error the result poll would give: 400 with the platform's code.
            let other = Reference.vault.replacingOccurrences(of: "rsv-test", with: "rsv-other")
            _ = try await client.send(.put, other + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let twice = try await client.send(
                .put, item.replacingOccurrences(of: "rsv-test", with: "rsv-other") + "?" + Reference.backupAPI,
                body: #"{"properties": {"sourceResourceId": "\#(Self.sourceVM)", "policyId": "\#(other)/backupPolicies/DefaultPolicy"}}"#)
            #expect(twice.status == 400)
            #expect(twice.errorCode == "UserErrorVmAlreadyProtectedInAnotherVault")
            #expect(twice.header("Azure-AsyncOperation") == nil)

            // Backup now lists only 202: it stays asynchronous, whatever the grace.
            let backup = try await client.send(
                .post, item + "/backup?" + Reference.backupAPI,
                body: #"{"properties": {"objectType": "IaasVMBackupRequest"}}"#)
            #expect(backup.status == 202)
            #expect(try await client.waitForOperation(backup)["status"] as? String == "Succeeded")

            // Delete: the item stays, soft-deleted, so the answer is 200 with it.
            let delete = try await client.send(.delete, item + "?" + Reference.backupAPI)
            #expect(delete.status == 200)
            #expect(delete.header("Azure-AsyncOperation") == nil)
            let soft = try #require(try delete.object()["properties"] as? [String: Any])
            #expect(soft["isScheduledForDeferredDelete"] as? Bool == true)
        }
    }

    @Test func refreshContainersStaysAsynchronous() async throws {
        let harness = try await ServeHarness(syncGrace: .seconds(30))
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            let refresh = try await client.send(
                .post, Reference.vault + "/backupFabrics/Azure/refreshContainers?" + Reference.backupAPI + "&$filter=backupManagementType%20eq%20'AzureIaasVM'")
            #expect(refresh.status == 202)
            #expect(refresh.header("Location") != nil)
        }
    }

    @Test func withoutAGraceEveryOperationAnswers202() async throws {
        let harness = try await ServeHarness(minimumPolls: 1, syncGrace: .zero)
        try await harness.run { client in
            _ = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Reference.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            let item = Reference.item("lnx-db-01")
            let enable = try await client.send(.put, item + "?" + Reference.backupAPI, body: Self.enableBody)
            #expect(enable.status == 202)
            #expect(enable.header("Retry-After") == "1")
            #expect(try await client.waitForOperation(enable)["status"] as? String == "Succeeded")
            let delete = try await client.send(.delete, item + "?" + Reference.backupAPI)
            #expect(delete.status == 202)
            #expect(try await client.waitForOperation(delete)["status"] as? String == "Succeeded")
        }
    }

    /// The store's wait: an operation that ends within the grace is given back ended; one that runs longer
    /// is not (the request answers 202), and it still ends and is polled as before.
    @Test func theWaitEndsAtTheOperationsEndOrAtTheGrace() async throws {
        let store = OperationStore(minimumPolls: 0)
        let quick = try #require(await store.start(scope: "v") { .success("job-1") })
        let ended = try #require(await store.awaitEnd(quick.id, within: .seconds(30)))
        #expect(ended.status == .succeeded && ended.jobID == "job-1")

        let (gate, opener) = AsyncStream.makeStream(of: Void.self)
        let slow = try #require(
            await store.start(scope: "v") {
                for await _ in gate {}
                return .failure(ARMError(status: 400, code: "UserErrorSomething", message: "refused"))
            })
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await store.awaitEnd(slow.id, within: .milliseconds(100)) == nil)
        #expect(clock.now - start >= .milliseconds(100))
        #expect(await store.poll(slow.id, scope: "v")?.status == .inProgress)
        opener.finish()
        let failed = try #require(await store.awaitEnd(slow.id, within: .seconds(30)))
        #expect(failed.status == .failed && failed.error?.code == "UserErrorSomething")
        #expect(Handlers.failure(failed).status == 400)

        // An operation answered at its end is forgotten: no client has its URLs.
        await store.forget(quick.id)
        #expect(await store.poll(quick.id, scope: "v") == nil)
        #expect(await store.awaitEnd("no-such-operation", within: .seconds(1)) == nil)
    }
}
