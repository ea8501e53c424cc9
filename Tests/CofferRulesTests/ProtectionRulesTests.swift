import CofferModel
import CofferRules
import Testing

/// A Trusted Launch VM and the policy types that may back it up.
@Suite struct ProtectionRulesTests {
    static func vm(_ type: VMSecurityType) -> VirtualMachineFacts {
        VirtualMachineFacts(
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/tl", reference: VMReference(resourceGroup: "rg", name: "tl"),
            subscription: "s", region: "eastus", os: "linux", encryption: .ssePlatformKey, securityType: type)
    }

    @Test(arguments: [(VMSecurityType.standard, PolicyType.standard, false), (.standard, .enhanced, false), (.trustedLaunch, .enhanced, false),
                      (.trustedLaunch, .standard, true)])
    func aTrustedLaunchVMNeedsAnEnhancedPolicy(type: VMSecurityType, policy: PolicyType, refused: Bool) throws {
        let violation = ProtectionRules.securityType(vm: Self.vm(type), policyType: policy, policyName: "daily")
        #expect((violation != nil) == refused)
        if let violation {
            #expect(violation.code == "UserErrorTrustedLaunchVMRequiresEnhancedPolicy")
            #expect(violation.field == "spec.policy")
            #expect(violation.message.contains("'daily' is Standard"))
        }
    }

    @Test func computeRefusesTrustedLaunchUnderAStandardPolicy() {
        #expect(ProtectionRules.upgradeToTrustedLaunch(vm: "tl", policyType: .standard)?.code == "OperationNotAllowed")
        #expect(ProtectionRules.upgradeToTrustedLaunch(vm: "tl", policyType: .enhanced) == nil)
        #expect(ProtectionRules.upgradeToTrustedLaunch(vm: "tl", policyType: nil) == nil)
    }
}
