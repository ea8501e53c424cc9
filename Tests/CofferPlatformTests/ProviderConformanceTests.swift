import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferPlatform

/// The embedded platform meets the provider contract that the in-memory fake is held to
/// (CofferReconcilerTests runs the same suite against the fake, on the same world facts).
@Suite struct PlatformProviderConformanceTests {
    /// Keeps each check's platform directory until the test ends.
    final class Directories: @unchecked Sendable {
        private let lock = NSLock()
        private var kept: [TemporaryDirectory] = []
        func keep(_ directory: TemporaryDirectory) { lock.withLock { kept.append(directory) } }
    }

    @Test func thePlatformMeetsTheProviderContract() async throws {
        let subscriptionID = TestWorld.subscriptionID
        let world = ConformanceWorld(
            subscriptionID: subscriptionID, resourceGroup: "rg", location: "eastus", vm: VMReference(resourceGroup: "rg", name: "lnx-pmk"),
            vmID: Platform.vmID(subscriptionID: subscriptionID, resourceGroup: "rg", name: "lnx-pmk"), keyVault: "kv-east",
            keyVaultID: Platform.keyVaultID(subscriptionID: subscriptionID, resourceGroup: "rg", name: "kv-east"), rbacKeyVault: "kv-rbac",
            rbacKeyVaultID: Platform.keyVaultID(subscriptionID: subscriptionID, resourceGroup: "rg", name: "kv-rbac"),
            backupManagementServiceObjectID: Platform.backupManagementServiceObjectID, operatorGrantsKeyVaultAccess: false)
        let directories = Directories()
        try await ProviderConformance(world: world) {
            let (platform, directory) = try TestWorld.platform()
            directories.keep(directory)
            return platform
        }.run()
        withExtendedLifetime(directories) {}
    }
}
