import CofferModel
import CofferRules
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

/// A new vault comes with the service's default policies, DefaultPolicy and EnhancedPolicy, as in Azure.
@Suite struct DefaultPolicyTests {
    @Test func aNewVaultHasDefaultPolicyAndEnhancedPolicy() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec, managedBy: "coffer")
        let policies = try platform.policies()
        #expect(policies.map(\.name) == ["DefaultPolicy", "EnhancedPolicy"])
        let standard = try #require(policies.first { $0.name == "DefaultPolicy" })
        #expect(standard.spec == DefaultPolicies.standard.spec(in: "rsv-east"))
        #expect(standard.spec.policyType == .standard)
        #expect(standard.spec.schedule == BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 0, minute: 0)))
        #expect(standard.spec.instantRestoreRetentionDays == 2)
        #expect(standard.spec.retention == RetentionSpec(daily: DailyRetention(count: 30)))
        let enhanced = try #require(policies.first { $0.name == "EnhancedPolicy" })
        #expect(enhanced.spec == DefaultPolicies.enhanced.spec(in: "rsv-east"))
        #expect(enhanced.spec.policyType == .enhanced)
        #expect(enhanced.spec.schedule == BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 24))
        #expect(enhanced.spec.instantRestoreRetentionDays == 7)
        #expect(enhanced.spec.retention == RetentionSpec(daily: DailyRetention(count: 180)))
        // The service made them, not coffer, even in a vault coffer made.
        #expect(policies.allSatisfy { $0.managedBy == nil && $0.protectedItems == 0 })
        #expect(standard.id == Platform.policyID(vaultID: try #require(try platform.vault(named: "rsv-east")).id, name: "DefaultPolicy"))
        // One vault's policies, read alone, are those of the whole list that are its own.
        try platform.createVault(name: "rsv-second", spec: TestWorld.vaultSpec, managedBy: "coffer")
        #expect(try platform.policies().count == 4)
        #expect(try platform.policies(vault: "rsv-east").map(\.id) == policies.map(\.id))
        #expect(try platform.policies(vault: "rsv-none").isEmpty)
    }

    /// The values pass the platform's own policy rules, so a vault never holds a policy it would refuse.
    @Test(arguments: DefaultPolicies.all)
    func theDefaultPoliciesPassThePolicyRules(_ policy: DefaultPolicy) {
        #expect(PolicyRules.problems(policy.spec(in: "rsv-east")).isEmpty)
    }

    @Test func aDefaultPolicyProtectsVMsAndMayBeDeletedLikeAnyPolicy() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec)
        #expect(try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "DefaultPolicy").policy == "DefaultPolicy")
        expectCode("UserErrorBackupPolicyInUse") { try platform.deletePolicy(vault: "rsv-east", name: "DefaultPolicy") }
        // A name taken by a default policy is taken.
        expectCode("ResourceAlreadyExists") { try platform.createPolicy(name: "EnhancedPolicy", spec: TestWorld.dailyPolicy) }
        // Unused, it may be deleted, as in the service; nothing makes it again.
        try platform.deletePolicy(vault: "rsv-east", name: "EnhancedPolicy")
        #expect(try platform.policies().map(\.name) == ["DefaultPolicy"])
        try platform.createPolicy(name: "EnhancedPolicy", spec: TestWorld.dailyPolicy, managedBy: "coffer")
        #expect(try platform.policies().map(\.name) == ["DefaultPolicy", "EnhancedPolicy"])
    }

    /// DefaultPolicy backs up daily at 00:00 UTC: a day on the clock runs one scheduled backup.
    @Test func aVMUnderDefaultPolicyIsBackedUpAtMidnightUTC() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "DefaultPolicy")
        let report = try platform.advanceClock(by: 86_400)
        #expect(report.jobs.map(\.status) == [.completed])
        #expect(report.jobs.map(\.start) == [Fixtures.date("2026-01-06T00:00:00Z")])
        #expect(report.jobs.first?.trigger == "Scheduled")
    }

    /// A vault deleted takes its default policies with it.
    @Test func theDefaultPoliciesGoWithTheirVault() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec)
        try platform.deleteVault(name: "rsv-east")
        #expect(try platform.policies().isEmpty)
    }
}
