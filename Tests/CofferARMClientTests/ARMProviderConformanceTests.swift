import CofferARM
import CofferARMClient
import CofferModel
import CofferPlatform
import CofferServe
import CofferTestSupport
import Foundation
import Testing

/// The ARM client meets the provider contract against a real `coffer serve` over TLS, on the reference
/// world: the same suite the embedded platform and the in-memory fake pass.
@Suite struct ARMProviderConformanceTests {
    static let subscriptionID = "11111111-1111-1111-1111-111111111111"

    static var world: ConformanceWorld {
        let keys = "/subscriptions/\(subscriptionID)/resourceGroups/rg-keys-eastus/providers/Microsoft.KeyVault/vaults/"
        return ConformanceWorld(
            subscriptionID: subscriptionID, resourceGroup: "rg-backup-westeurope", location: "westeurope",
            vm: VMReference(resourceGroup: "rg-app-westeurope", name: "lnx-web-01"),
            vmID: ResourceIDs.virtualMachine(subscription: subscriptionID, resourceGroup: "rg-app-westeurope", name: "lnx-web-01"),
            keyVault: "kv-app-eastus", keyVaultID: keys + "kv-app-eastus", rbacKeyVault: "kv-rbac-eastus", rbacKeyVaultID: keys + "kv-rbac-eastus",
            backupManagementServiceObjectID: Platform.backupManagementServiceObjectID, operatorGrantsKeyVaultAccess: false,
            accessGrantsCarryOwnershipTag: false)
    }

    /// Under serve's default grace (long-running operations that end at once answered as their end) and
    /// with none (every one answered 202 and polled).
    @Test(arguments: [Duration.milliseconds(500), .zero])
    func theARMClientMeetsTheProviderContractAgainstServe(syncGrace: Duration) async throws {
        let keeper = Keeper()
        do {
            try await ProviderConformance(world: Self.world) {
                let directory = try TemporaryDirectory()
                keeper.keep(directory)
                let serve = try await RunningServe.start(
                    state: try PristineWorld.reference.copy(into: directory), syncGrace: syncGrace)
                keeper.keep(serve)
                let provider = try serve.provider()
                keeper.keep(provider)
                return provider
            }.run()
        } catch {
            await keeper.close()
            throw error
        }
        await keeper.close()
    }

    /// A client that trusts only the system's roots refuses serve's certificate: the CA file is what makes
    /// the connection trusted.
    @Test func withoutServesCAtheClientRefusesTheConnection() async throws {
        let directory = try TemporaryDirectory()
        let serve = try await RunningServe.start(state: try PristineWorld.reference.copy(into: directory))
        let provider = try ARMClientProvider(
            configuration: ARMClientConfiguration(endpoint: serve.endpoint, token: serve.token, retryDeadline: .seconds(1)))
        await #expect(throws: (any Error).self) { _ = try await provider.snapshot() }
        try await provider.shutdown()
        await serve.stop()
        withExtendedLifetime(directory) {}
    }

    /// A token serve did not issue is refused with ARM's code, as a provider error.
    @Test func aWrongTokenIsRefusedWithARMsCode() async throws {
        let directory = try TemporaryDirectory()
        let serve = try await RunningServe.start(state: try PristineWorld.reference.copy(into: directory))
        let provider = try ARMClientProvider(
            configuration: ARMClientConfiguration(endpoint: serve.endpoint, token: "coffer.not.issued", caFile: serve.caPath))
        do {
            _ = try await provider.snapshot()
            Issue.record("a snapshot with a wrong token succeeded")
        } catch let error as ProviderError {
            #expect(error.code == "InvalidAuthenticationToken")
            #expect(!error.message.contains("coffer.not.issued"))
        }
        try await provider.shutdown()
        await serve.stop()
        withExtendedLifetime(directory) {}
    }
}
