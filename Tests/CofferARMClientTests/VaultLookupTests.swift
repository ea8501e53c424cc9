import CofferARM
import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferARMClient

/// A vault named in a recipe is read by the id a list gave before (one GET, not a list of every vault), and
/// read afresh each time: a vault deleted and made again in another resource group is found in the list again.
@Suite struct VaultLookupTests {
    static let group = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/"

    @Test func aVaultIsReadByItsRememberedIDAndFoundAgainWhenItMoved() async throws {
        let directory = try TemporaryDirectory()
        let serve = try await RunningServe.start(state: try PristineWorld.reference.copy(into: directory))
        let provider = try serve.provider()
        do {
            let transport = provider.transport
            let tenant = try await provider.tenant()
            func put(_ group: String, _ location: String) async throws {
                let body = #"{"location": "\#(location)", "sku": {"name": "Standard"}, "properties": {"publicNetworkAccess": "Enabled"}}"#
                try await transport.write(
                    .PUT, ARMTransport.path(Self.group + group + "/providers/Microsoft.RecoveryServices/vaults/rsv-moving", apiVersion: ClientAPIVersion.vaults),
                    body: Array(body.utf8), what: "vault")
            }
            func delete(_ group: String) async throws {
                try await transport.write(
                    .DELETE, ARMTransport.path(Self.group + group + "/providers/Microsoft.RecoveryServices/vaults/rsv-moving", apiVersion: ClientAPIVersion.vaults),
                    body: nil, what: "vault")
            }
            try await put("rg-backup-eastus", "eastus")
            let first = try await provider.findVault("rsv-moving", tenant: tenant)
            #expect(first?.id?.contains("/rg-backup-eastus/") == true)
            // Read again (by its id now), in any casing.
            let again = try await provider.findVault("RSV-Moving", tenant: tenant)
            #expect(again?.id == first?.id)

            try await delete("rg-backup-eastus")
            try await put("rg-backup-westeurope", "westeurope")
            let moved = try await provider.findVault("rsv-moving", tenant: tenant)
            #expect(moved?.id?.contains("/rg-backup-westeurope/") == true)
            #expect(moved?.location == "westeurope")

            try await delete("rg-backup-westeurope")
            #expect(try await provider.findVault("rsv-moving", tenant: tenant) == nil)
        } catch {
            try await provider.shutdown()
            await serve.stop()
            throw error
        }
        try await provider.shutdown()
        await serve.stop()
    }
}
