import CofferPlatform
import CofferServe
import CofferTestSupport
import Foundation
import Testing

/// A Trusted Launch VM over ARM (the limitations world's lnx-tl-16): compute shows its security profile as
/// Azure does, and enabling its protection under a Standard policy fails with the code the CLI gives.
@Suite struct TrustedLaunchTests {
    static let pristine = WorldState.make("examples/limitations/world.yaml")
    static let subscription = "77777777-7777-7777-7777-777777777777"
    static let vault = "/subscriptions/\(subscription)/resourceGroups/rg-backup/providers/Microsoft.RecoveryServices/vaults/rsv-tl"
    static func vm(_ name: String) -> String { "/subscriptions/\(subscription)/resourceGroups/rg-apps/providers/Microsoft.Compute/virtualMachines/\(name)" }
    static func item(_ name: String) -> String {
        vault + "/backupFabrics/Azure/protectionContainers/IaasVMContainer%3Biaasvmcontainerv2%3Brg-apps%3B\(name)/protectedItems/VM%3Biaasvmcontainerv2%3Brg-apps%3B\(name)"
    }

    @Test func aTrustedLaunchVMShowsItsSecurityTypeAndNeedsAnEnhancedPolicy() async throws {
        let harness = try await ServeHarness(pristine: Self.pristine)
        try await harness.run { client in
            let trusted = try await client.send(.get, Self.vm("lnx-tl-16") + "?api-version=2026-04-01").object()
            let profile = try #require((trusted["properties"] as? [String: Any])?["securityProfile"] as? [String: Any])
            #expect(profile["securityType"] as? String == "TrustedLaunch")
            let uefi = profile["uefiSettings"] as? [String: Any]
            #expect(uefi?["secureBootEnabled"] as? Bool == true && uefi?["vTpmEnabled"] as? Bool == true)
            let standard = try await client.send(.get, Self.vm("lnx-dev-14").replacingOccurrences(of: "rg-apps", with: "rg-dev")
                .replacingOccurrences(of: Self.subscription, with: "88888888-8888-8888-8888-888888888888") + "?api-version=2026-04-01").object()
            #expect(standard["properties"] != nil && (standard["properties"] as? [String: Any])?["securityProfile"] == nil)

            _ = try await client.send(.put, Self.vault + "?" + Reference.vaultAPI, body: Reference.vaultBody)
            _ = try await client.send(.put, Self.vault + "/backupPolicies/daily?" + Reference.backupAPI, body: Reference.policyBody)
            let standardPolicy = try await client.send(
                .put, Self.item("lnx-tl-16") + "?" + Reference.backupAPI,
                body: #"{"properties": {"sourceResourceId": "\#(Self.vm("lnx-tl-16"))", "policyId": "\#(Self.vault)/backupPolicies/daily"}}"#)
            let refused = try await client.waitForOperation(standardPolicy)
            #expect(refused["status"] as? String == "Failed")
            let error = refused["error"] as? [String: Any]
            #expect(error?["code"] as? String == "UserErrorTrustedLaunchVMRequiresEnhancedPolicy")
            #expect((error?["message"] as? String)?.contains("Trusted Launch") == true)
            #expect(try await client.send(.get, Self.item("lnx-tl-16") + "?" + Reference.backupAPI).status == 404)

            let enhanced = try await client.send(
                .put, Self.item("lnx-tl-16") + "?" + Reference.backupAPI,
                body: #"{"properties": {"sourceResourceId": "\#(Self.vm("lnx-tl-16"))", "policyId": "\#(Self.vault)/backupPolicies/EnhancedPolicy"}}"#)
            #expect(try await client.waitForOperation(enhanced)["status"] as? String == "Succeeded")
            // Moving it to the Standard policy is refused too.
            let move = try await client.send(
                .put, Self.item("lnx-tl-16") + "?" + Reference.backupAPI,
                body: #"{"properties": {"sourceResourceId": "\#(Self.vm("lnx-tl-16"))", "policyId": "\#(Self.vault)/backupPolicies/daily"}}"#)
            let moveRefused = try await client.waitForOperation(move)
            #expect((moveRefused["error"] as? [String: Any])?["code"] as? String == "UserErrorPolicyTypeChangeNotAllowed")
        }
    }
}
