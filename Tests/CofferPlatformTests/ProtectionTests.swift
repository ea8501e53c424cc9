import CofferModel
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

@Suite struct ProtectionTests {
    @Test func policiesFollowTheServiceRules() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        expectCode("ResourceAlreadyExists") { try platform.createPolicy(name: "daily", spec: TestWorld.dailyPolicy) }
        expectCode("InvalidResourceName") { try platform.createPolicy(name: "p", spec: TestWorld.dailyPolicy) }
        var bad = TestWorld.dailyPolicy
        bad.instantRestoreRetentionDays = 9
        expectCode("BMSUserErrorInvalidPolicyInput") { try platform.createPolicy(name: "bad", spec: bad) }
        var missing = TestWorld.dailyPolicy
        missing.vault = "nowhere"
        expectCode("ResourceNotFound") { try platform.createPolicy(name: "other", spec: missing) }
        var enhanced = TestWorld.dailyPolicy
        enhanced.policyType = .enhanced
        enhanced.instantRestoreRetentionDays = 7
        try platform.createPolicy(name: "enhanced", spec: enhanced)
        var standard = enhanced
        standard.policyType = .standard
        standard.instantRestoreRetentionDays = 2
        expectCode("UserErrorPolicyTypeChangeNotAllowed") { try platform.updatePolicy(name: "enhanced", spec: standard) }
        // A policy's type is fixed either way: Standard to Enhanced is a new policy, and the VMs move to it.
        var upgraded = TestWorld.dailyPolicy
        upgraded.policyType = .enhanced
        expectCode("UserErrorPolicyTypeChangeNotAllowed") { try platform.updatePolicy(name: "daily", spec: upgraded) }
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        expectCode("UserErrorBackupPolicyInUse") { try platform.deletePolicy(vault: "rsv-east", name: "daily") }
        #expect(try platform.changeProtection(vm: "lnx-pmk", policy: "enhanced").policy == "enhanced")
        try platform.deletePolicy(vault: "rsv-east", name: "daily")
        expectCode("UserErrorBackupPolicyInUse") { try platform.deletePolicy(vault: "rsv-east", name: "enhanced") }
        // A protection stopped with its data kept for ever no longer uses its policy.
        try platform.stopProtection(vm: "lnx-pmk", mode: .retainForever)
        try platform.deletePolicy(vault: "rsv-east", name: "enhanced")
        // What is left is the vault's own default policies.
        #expect(try platform.policies().map(\.name) == ["DefaultPolicy", "EnhancedPolicy"])
    }

    /// The limit counts the default policies the vault was made with: 198 more fit in a new vault, and
    /// deleting a default policy frees a place.
    @Test func aVaultHoldsAtMost200Policies() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        let held = try platform.policies().count
        #expect(held == 3)
        for index in held..<200 { try platform.createPolicy(name: "policy-\(index)", spec: TestWorld.dailyPolicy) }
        expectCode("UserErrorLimitExceeded") { try platform.createPolicy(name: "policy-200", spec: TestWorld.dailyPolicy) }
        try platform.deletePolicy(vault: "rsv-east", name: "EnhancedPolicy")
        try platform.createPolicy(name: "policy-200", spec: TestWorld.dailyPolicy)
        expectCode("UserErrorLimitExceeded") { try platform.createPolicy(name: "policy-201", spec: TestWorld.dailyPolicy) }
    }

    @Test func retentionCannotShrinkOnAnImmutableVault() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        var spec = TestWorld.vaultSpec
        spec.immutability = .unlocked
        try TestWorld.withVault(platform, spec: spec)
        var shorter = TestWorld.dailyPolicy
        shorter.retention.weekly?.count = 2
        expectCode("UserErrorDeleteBackupItemOnImmutableItem") { try platform.updatePolicy(name: "daily", spec: shorter) }
        var longer = TestWorld.dailyPolicy
        longer.retention.daily = DailyRetention(count: 60)
        try platform.updatePolicy(name: "daily", spec: longer)
        try platform.createPolicy(name: "short", spec: TestWorld.dailyPolicy)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        expectCode("UserErrorDeleteBackupItemOnImmutableItem") { try platform.changeProtection(vm: "lnx-pmk", policy: "short") }
    }

    @Test func aVMIsInOneVaultOfItsRegionAndSubscription() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        func vaults(of vm: String) throws -> [String] { try platform.protectedItems().filter { $0.vm == vm }.map(\.vault) }
        // rsv-two shares the VMs' region (eastus) and subscription; rsv-eu has another region; rsv-other
        // has the same region in another subscription.
        try platform.createVault(name: "rsv-two", spec: TestWorld.vaultSpec)
        try platform.createPolicy(name: "daily", spec: { var p = TestWorld.dailyPolicy; p.vault = "rsv-two"; return p }())
        try platform.createVault(name: "rsv-eu", spec: VaultSpec(resourceGroup: "rg-eu", location: "westeurope"))
        try platform.createPolicy(name: "daily", spec: { var p = TestWorld.dailyPolicy; p.vault = "rsv-eu"; return p }())
        try platform.createVault(name: "rsv-other", spec: VaultSpec(subscription: "other", resourceGroup: "rg-other", location: "eastus"))
        try platform.createPolicy(name: "daily", spec: { var p = TestWorld.dailyPolicy; p.vault = "rsv-other"; return p }())

        // One vault only: a protected VM is refused by any other vault, even one that would otherwise take it.
        let item = try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        #expect(item.state == .irPending)
        #expect(item.id.hasSuffix("/vaults/rsv-east/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;rg;lnx-pmk/protectedItems/VM;iaasvmcontainerv2;rg;lnx-pmk"))
        expectCode("UserErrorVmAlreadyProtectedInAnotherVault") { try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-two", policy: "daily") }
        expectCode("ResourceAlreadyExists") { try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily") }
        #expect(try vaults(of: "lnx-pmk") == ["rsv-east"])

        // The vault's region: refused in westeurope for a VM in eastus.
        expectCode("UserErrorVmAndVaultNotInSameSubscriptionAndRegion") {
            try platform.enableProtection(vm: "win-cmk", vault: "rsv-eu", policy: "daily")
        }
        // The vault's subscription: refused in eastus under another subscription.
        expectCode("UserErrorVmAndVaultNotInSameSubscriptionAndRegion") {
            try platform.enableProtection(vm: "win-cmk", vault: "rsv-other", policy: "daily")
        }
        #expect(try vaults(of: "win-cmk").isEmpty)
        // A vault of its region and subscription takes it.
        try platform.enableProtection(vm: "win-cmk", vault: "rsv-two", policy: "daily")
        #expect(try vaults(of: "win-cmk") == ["rsv-two"])
        expectCode("ResourceNotFound") { try platform.enableProtection(vm: "nope", vault: "rsv-east", policy: "daily") }
        expectCode("ResourceNotFound") { try platform.enableProtection(vm: "win-cmk", vault: "rsv-east", policy: "nope") }
        // Soft-deleted, it still holds the VM: not in another vault, and not again here until undeleted.
        try platform.deleteProtection(vm: "lnx-pmk")
        expectCode("UserErrorVmAlreadyProtectedInAnotherVault") { try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-two", policy: "daily") }
        expectCode("UserErrorSoftDeletedBackupItemExists") { try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily") }
    }

    @Test func diskSelection() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        expectCode("BMSUserErrorInvalidConfigureProtectionRequest") {
            try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily", excludeDiskLuns: [0], includeDiskLuns: [1])
        }
        expectCode("BMSUserErrorInvalidConfigureProtectionRequest") {
            try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily", excludeDiskLuns: [7])
        }
        expectCode("UserErrorEncryptedVmNotSupportedWithDiskEx") {
            try platform.enableProtection(vm: "win-ade", vault: "rsv-east", policy: "daily", excludeDiskLuns: [0])
        }
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily", excludeDiskLuns: [1])
        let job = try platform.backup(vm: "lnx-pmk")
        #expect(job.status == .completed)
        let point = try #require(try platform.recoveryPoints(vm: "lnx-pmk").first)
        #expect(point.disks.map(\.disk) == [.os, .lun(0)])
    }

    /// A Trusted Launch VM is backed up with an Enhanced policy only: enabling, resuming or moving its
    /// protection under a Standard policy is refused, and compute refuses to make a VM that a Standard
    /// policy protects a Trusted Launch one.
    @Test func aTrustedLaunchVMNeedsAnEnhancedPolicy() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        var enhanced = TestWorld.dailyPolicy
        enhanced.policyType = .enhanced
        enhanced.instantRestoreRetentionDays = 7
        try platform.createPolicy(name: "enhanced", spec: enhanced)

        try platform.setSecurityType(vm: "win-cmk", .trustedLaunch)
        #expect(try platform.overview().virtualMachines.first { $0.name == "win-cmk" }?.securityType == .trustedLaunch)
        expectCode("UserErrorTrustedLaunchVMRequiresEnhancedPolicy") { try platform.enableProtection(vm: "win-cmk", vault: "rsv-east", policy: "daily") }
        #expect(try platform.protectedItem(vm: "win-cmk") == nil)
        try platform.enableProtection(vm: "win-cmk", vault: "rsv-east", policy: "enhanced")
        #expect(try platform.backup(vm: "win-cmk").status == .completed)
        // Stopped, then resumed under the Standard policy: refused; under its Enhanced one: fine.
        try platform.stopProtection(vm: "win-cmk", mode: .retainForever)
        expectCode("UserErrorTrustedLaunchVMRequiresEnhancedPolicy") { try platform.resumeProtection(vm: "win-cmk", policy: "daily") }
        #expect(try platform.resumeProtection(vm: "win-cmk", policy: "enhanced").state == .protected)

        // A VM under a Standard policy cannot become Trusted Launch; once it moved to an Enhanced one it can.
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        expectCode("OperationNotAllowed") { try platform.setSecurityType(vm: "lnx-pmk", .trustedLaunch) }
        #expect(try platform.overview().virtualMachines.first { $0.name == "lnx-pmk" }?.securityType == .standard)
        try platform.changeProtection(vm: "lnx-pmk", policy: "enhanced")
        try platform.setSecurityType(vm: "lnx-pmk", .trustedLaunch)
        expectCode("UserErrorPolicyTypeChangeNotAllowed") { try platform.changeProtection(vm: "lnx-pmk", policy: "daily") }
        #expect(try platform.protectedItem(vm: "lnx-pmk")?.policy == "enhanced")
    }

    @Test func protectionStates() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        #expect(try platform.protectedItem(vm: "lnx-pmk")?.state == .irPending)
        try platform.backup(vm: "lnx-pmk")
        #expect(try platform.protectedItem(vm: "lnx-pmk")?.state == .protected)
        // Retain as per policy needs an immutable vault.
        expectCode("UserErrorBackupsSuspendedRequiresImmutableVault") { try platform.stopProtection(vm: "lnx-pmk", mode: .retainAsPerPolicy) }
        #expect(try platform.stopProtection(vm: "lnx-pmk", mode: .retainForever).state == .protectionStopped)
        // Stopped: no backups.
        expectCode("UserErrorBcmDatasourceNotPresent") { try platform.backup(vm: "lnx-pmk") }
        expectCode("UserErrorBackupItemNotSoftDeleted") { try platform.undeleteProtection(vm: "lnx-pmk") }
        #expect(try platform.resumeProtection(vm: "lnx-pmk").state == .protected)
        // Stop and delete: soft-deleted, points kept until the purge.
        let deleted = try platform.deleteProtection(vm: "lnx-pmk")
        #expect(deleted.state == .softDeleted)
        #expect(deleted.purgeAt == (try platform.now()).addingTimeInterval(14 * 86400))
        #expect(try platform.recoveryPoints(vm: "lnx-pmk").count == 1)
        expectCode("UserErrorInvalidProtectionStateTransition") { try platform.resumeProtection(vm: "lnx-pmk") }
        #expect(try platform.undeleteProtection(vm: "lnx-pmk").state == .protectionStopped)
        #expect(try platform.resumeProtection(vm: "lnx-pmk").state == .protected)
        // On an immutable vault, suspension is allowed and deleting data with points is not.
        var spec = TestWorld.vaultSpec
        spec.immutability = .unlocked
        try platform.updateVault(name: "rsv-east", spec: spec)
        #expect(try platform.stopProtection(vm: "lnx-pmk", mode: .retainAsPerPolicy).state == .backupsSuspended)
        expectCode("UserErrorDeleteBackupItemOnImmutableItem") { try platform.deleteProtection(vm: "lnx-pmk") }
        #expect(try platform.resumeProtection(vm: "lnx-pmk").state == .protected)
    }

    @Test func aMemberOperatorGrantsTheBackupServiceKeyVaultAccessAGuestDoesNot() throws {
        for type in [World.OperatorType.member, .guest] {
            let (platform, directory) = try TestWorld.platform(operatorType: type)
            defer { withExtendedLifetime(directory) {} }
            try TestWorld.withVault(platform)
            try platform.enableProtection(vm: "win-ade", vault: "rsv-east", policy: "daily")
            let policy = try platform.keyVaultInfo(named: "kv-east").accessPolicies.first { $0.objectID == Platform.backupManagementServiceObjectID }
            if type == .member {
                #expect(policy?.keyPermissions == [.backup, .get, .list])
                #expect(policy?.secretPermissions == [.backup, .get, .list])
                #expect(try platform.backup(vm: "win-ade").status == .completed)
            } else {
                #expect(policy == nil)
                expectCode("UserErrorKeyVaultPermissionsNotConfigured") { try platform.backup(vm: "win-ade") }
            }
        }
        // BEK only: secrets are enough.
        let (platform, directory) = try TestWorld.platform(operatorType: .member)
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-ade", vault: "rsv-east", policy: "daily")
        let policy = try platform.keyVaultInfo(named: "kv-east").accessPolicies.first { $0.objectID == Platform.backupManagementServiceObjectID }
        #expect(policy?.keyPermissions == [])
        #expect(policy?.secretPermissions == [.backup, .get, .list])
    }
}
