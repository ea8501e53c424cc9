import CofferModel
import CofferTestSupport
import Testing

/// The in-memory fake answers as the embedded platform does (CofferPlatformTests runs the same suite
/// against the platform, on the same world facts).
@Suite struct InMemoryProviderConformanceTests {
    static let subscriptionID = "22222222-2222-2222-2222-222222222222"
    static let world = ConformanceWorld(
        subscriptionID: subscriptionID, resourceGroup: "rg", location: "eastus", vm: VMReference(resourceGroup: "rg", name: "lnx-pmk"),
        vmID: "/subscriptions/\(subscriptionID)/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/lnx-pmk", keyVault: "kv-east",
        keyVaultID: "/subscriptions/\(subscriptionID)/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-east", rbacKeyVault: "kv-rbac",
        rbacKeyVaultID: "/subscriptions/\(subscriptionID)/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-rbac",
        backupManagementServiceObjectID: "f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a64", operatorGrantsKeyVaultAccess: false)

    static func provider() -> InMemoryProvider {
        let provider = InMemoryProvider(defaultSubscription: "sub", subscriptionIDs: ["sub": subscriptionID])
        provider.addVM(
            VirtualMachineFacts(
                id: world.vmID, reference: VMReference(subscription: "sub", resourceGroup: "rg", name: "lnx-pmk"), subscription: "sub",
                region: "eastus", os: "linux", encryption: .ssePlatformKey))
        provider.addKeyVault(
            KeyVaultFacts(
                id: world.keyVaultID, name: "kv-east", subscription: "sub", region: "eastus", accessPolicies: [],
                backupManagementServiceObjectID: world.backupManagementServiceObjectID))
        provider.addKeyVault(
            KeyVaultFacts(
                id: world.rbacKeyVaultID, name: "kv-rbac", subscription: "sub", region: "eastus", permissionModel: .rbac, accessPolicies: [],
                backupManagementServiceObjectID: world.backupManagementServiceObjectID))
        return provider
    }

    @Test func theFakeMeetsTheProviderContract() async throws {
        try await ProviderConformance(world: Self.world) { Self.provider() }.run()
    }

    @Test func aProviderThatAnswersOtherwiseFailsTheContract() async throws {
        // The suite can fail: a snapshot whose operator flag is not the world's is caught.
        let member = Self.provider()
        member.operatorIsMember = true
        await #expect(throws: ProviderConformance.Failure.self) {
            try await ProviderConformance(world: Self.world) { member }.checkSnapshot()
        }
    }
}
