import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

/// A Trusted Launch VM under a Standard policy is a plan error at its ProtectedVM, as the platform refuses it.
@Suite struct TrustedLaunchPlanTests {
    static func provider(_ type: VMSecurityType) -> InMemoryProvider {
        let provider = Fixture.provider(encryption: .ssePlatformKey)
        provider.addVM(
            VirtualMachineFacts(
                id: "/subscriptions/sub-prod/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/win-app-01",
                reference: VMReference(subscription: "sub-prod", resourceGroup: "rg-app", name: "win-app-01"), subscription: "sub-prod",
                region: "eastus", os: "windows", encryption: .ssePlatformKey, disks: [DiskFacts(lun: -1, sizeGiB: 128)], securityType: type))
        return provider
    }

    @Test func aTrustedLaunchVMUnderAStandardPolicyIsAnErrorAtItsManifest() async throws {
        let plan = try await Planner(provider: Self.provider(.trustedLaunch)).plan(desired: Fixture.desired(), inventory: [:])
        let errors = plan.diagnostics.filter { $0.severity == .error }
        #expect(errors.map(\.code) == ["UserErrorTrustedLaunchVMRequiresEnhancedPolicy"])
        #expect(errors.first?.location == SourceLocation(file: "m.yaml", line: 60, column: 1))
        #expect(errors.first?.summary.hasPrefix("ProtectedVM/win-app-01: VM 'win-app-01' is a Trusted Launch VM") == true)

        // An Enhanced policy: clean. A Standard VM under the Standard policy: clean.
        var enhanced = Fixture.desired()
        if case .backupPolicy(var policy) = enhanced.resources[1].spec {
            policy.policyType = .enhanced
            policy.instantRestoreRetentionDays = 7
            enhanced.resources[1].spec = .backupPolicy(policy)
        }
        let clean = try await Planner(provider: Self.provider(.trustedLaunch)).plan(desired: enhanced, inventory: [:])
        #expect(clean.diagnostics.filter { $0.severity == .error }.isEmpty, "\(clean.diagnostics)")
        let standard = try await Planner(provider: Self.provider(.standard)).plan(desired: Fixture.desired(), inventory: [:])
        #expect(standard.diagnostics.filter { $0.severity == .error }.isEmpty, "\(standard.diagnostics)")
    }
}
