import CofferModel
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

/// Expects `body` to fail with the platform error `code`.
func expectCode(_ code: String, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        expectFailure(code, nil, sourceLocation: sourceLocation)
    } catch {
        expectFailure(code, error, sourceLocation: sourceLocation)
    }
}

/// `expectCode` for an asynchronous body.
func expectCode(_ code: String, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        expectFailure(code, nil, sourceLocation: sourceLocation)
    } catch {
        expectFailure(code, error, sourceLocation: sourceLocation)
    }
}

/// Records an issue unless `error` is a platform or provider error with `code`.
private func expectFailure(_ code: String, _ error: (any Error)?, sourceLocation: Testing.SourceLocation) {
    switch error {
    case nil: Issue.record("expected \(code), but it succeeded", sourceLocation: sourceLocation)
    case let error as PlatformError: #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    case let error as ProviderError: #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    case let error?: Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct VaultRulesTests {
    @Test func createsAVaultWithItsOwnStore() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        let vault = try platform.createVault(name: "rsv-east", spec: TestWorld.vaultSpec, managedBy: "coffer")
        #expect(vault.id == "/subscriptions/\(TestWorld.subscriptionID)/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/rsv-east")
        #expect(vault.spec == TestWorld.vaultSpec)
        #expect(vault.tags == ["managed-by": "coffer"])
        #expect(vault.registeredItems == 0)
        #expect(FileManager.default.fileExists(atPath: directory.path("vaults/rsv-east/store/config")))
        expectCode("ResourceAlreadyExists") { try platform.createVault(name: "RSV-EAST", spec: TestWorld.vaultSpec) }
        expectCode("InvalidResourceName") { try platform.createVault(name: "1bad", spec: TestWorld.vaultSpec) }
        expectCode("ResourceNotFound") { try platform.createVault(name: "v2", spec: VaultSpec(resourceGroup: "nope", location: "eastus")) }
        expectCode("BMSUserErrorInvalidInput") { try platform.createVault(name: "v2", spec: VaultSpec(resourceGroup: "rg", location: "japaneast")) }
        expectCode("BMSUserErrorInvalidInput") {
            try platform.createVault(name: "v2", spec: VaultSpec(resourceGroup: "rg", location: "eastus", softDeleteRetentionDays: 10))
        }
    }

    @Test func crossRegionRestoreNeedsGeoRedundancyAndCannotBeTurnedOff() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        expectCode("UserErrorCrossRegionRestoreRequiresGeoRedundancy") {
            try platform.createVault(name: "v1", spec: VaultSpec(resourceGroup: "rg", location: "eastus", storageRedundancy: .locallyRedundant,
                                                                 crossRegionRestore: true))
        }
        expectCode("UserErrorGeoRedundancyNotAvailableInRegion") {
            try platform.createVault(name: "v1", spec: VaultSpec(resourceGroup: "rg-qa", location: "qatarcentral"))
        }
        try platform.createVault(name: "v-qa", spec: VaultSpec(resourceGroup: "rg-qa", location: "qatarcentral", storageRedundancy: .zoneRedundant))
        try platform.createVault(name: "v1", spec: TestWorld.vaultSpec)
        var off = TestWorld.vaultSpec
        off.crossRegionRestore = false
        // Off again while the vault protects nothing; one-way once protection starts.
        #expect(try platform.updateVault(name: "v1", spec: off).spec.crossRegionRestore == false)
        try platform.updateVault(name: "v1", spec: TestWorld.vaultSpec)
        var lrs = TestWorld.vaultSpec
        lrs.storageRedundancy = .locallyRedundant
        expectCode("UserErrorCrossRegionRestoreRequiresGeoRedundancy") { try platform.updateVault(name: "v1", spec: lrs) }
        try platform.createPolicy(name: "daily", spec: { var policy = TestWorld.dailyPolicy; policy.vault = "v1"; return policy }())
        try platform.enableProtection(vm: "lnx-pmk", vault: "v1", policy: "daily")
        expectCode("UserErrorCrossRegionRestoreCannotBeDisabled") { try platform.updateVault(name: "v1", spec: off) }
    }

    @Test func redundancyIsLockedOnceAnItemIsRegistered() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        var spec = VaultSpec(resourceGroup: "rg", location: "eastus")
        try TestWorld.withVault(platform, spec: spec)
        spec.storageRedundancy = .locallyRedundant
        try platform.updateVault(name: "rsv-east", spec: spec)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        spec.storageRedundancy = .zoneRedundant
        expectCode("StorageModelModifyError") { try platform.updateVault(name: "rsv-east", spec: spec) }
        #expect(try platform.vault(named: "rsv-east")?.registeredItems == 1)
        // Other settings still change.
        spec.storageRedundancy = .locallyRedundant
        spec.tags = ["team": "platform"]
        #expect(try platform.updateVault(name: "rsv-east", spec: spec).spec.tags == ["team": "platform"])
        // A soft-deleted item still counts.
        try platform.deleteProtection(vm: "lnx-pmk")
        spec.storageRedundancy = .zoneRedundant
        expectCode("StorageModelModifyError") { try platform.updateVault(name: "rsv-east", spec: spec) }
    }

    @Test func immutabilityTransitions() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        var spec = TestWorld.vaultSpec
        spec.immutability = .locked
        expectCode("UserErrorInvalidImmutabilityTransition") { try platform.createVault(name: "v1", spec: spec) }
        spec.immutability = .disabled
        try platform.createVault(name: "v1", spec: spec)
        spec.immutability = .locked
        expectCode("UserErrorInvalidImmutabilityTransition") { try platform.updateVault(name: "v1", spec: spec) }
        spec.immutability = .unlocked
        try platform.updateVault(name: "v1", spec: spec)
        spec.immutability = .disabled
        try platform.updateVault(name: "v1", spec: spec)
        spec.immutability = .unlocked
        try platform.updateVault(name: "v1", spec: spec)
        spec.immutability = .locked
        try platform.updateVault(name: "v1", spec: spec)
        for next in [Immutability.unlocked, .disabled] {
            spec.immutability = next
            expectCode("UserErrorImmutabilityLocked") { try platform.updateVault(name: "v1", spec: spec) }
        }
    }

    @Test func softDeleteAlwaysOnIsTerminal() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        var spec = TestWorld.vaultSpec
        spec.softDeleteState = .alwaysOn
        try platform.createVault(name: "v1", spec: spec)
        spec.softDeleteState = .enabled
        expectCode("BMSUserErrorSoftDeleteStateAlwaysOn") { try platform.updateVault(name: "v1", spec: spec) }
        spec.softDeleteState = .alwaysOn
        spec.softDeleteRetentionDays = 30
        #expect(try platform.updateVault(name: "v1", spec: spec).spec.softDeleteRetentionDays == 30)
    }

    @Test func customerKeyOnlyOnAnEmptyVaultAndIrreversible() throws {
        let (platform, directory) = try TestWorld.platform(purgeProtection: true)
        defer { withExtendedLifetime(directory) {} }
        var spec = VaultSpec(resourceGroup: "rg", location: "eastus", systemAssignedIdentity: true)
        try TestWorld.withVault(platform, spec: spec)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        spec.encryption = VaultEncryption(keyVault: "kv-east", key: "vault-cmk")
        expectCode("UserErrorCmkEncryptionRequiresEmptyVault") { try platform.updateVault(name: "rsv-east", spec: spec) }
        // A new vault: the key must be in a purge-protected key vault of its region, with the identity on.
        var cmk = VaultSpec(resourceGroup: "rg", location: "eastus", systemAssignedIdentity: false,
                            encryption: VaultEncryption(keyVault: "kv-east", key: "vault-cmk"))
        expectCode("UserErrorCmkInvalidKey") { try platform.createVault(name: "v-cmk", spec: cmk) }
        cmk.systemAssignedIdentity = true
        cmk.encryption = VaultEncryption(keyVault: "kv-east", key: "missing")
        expectCode("UserErrorCmkInvalidKey") { try platform.createVault(name: "v-cmk", spec: cmk) }
        cmk.encryption = VaultEncryption(keyVault: "kv-br", key: "x")
        expectCode("UserErrorCmkInvalidKey") { try platform.createVault(name: "v-cmk", spec: cmk) }
        cmk.encryption = nil
        let created = try platform.createVault(name: "v-cmk", spec: cmk)
        let identity = try #require(created.identityPrincipalID)
        cmk.encryption = VaultEncryption(keyVault: "kv-east", key: "vault-cmk")
        #expect(try platform.updateVault(name: "v-cmk", spec: cmk).spec.encryption == cmk.encryption)
        var removed = cmk
        removed.encryption = nil
        expectCode("UserErrorCmkEncryptionCannotBeDisabled") { try platform.updateVault(name: "v-cmk", spec: removed) }
        var noIdentity = cmk
        noIdentity.systemAssignedIdentity = false
        expectCode("UserErrorManagedIdentityInUse") { try platform.updateVault(name: "v-cmk", spec: noIdentity) }
        var sku = cmk
        sku.sku = .rs0
        expectCode("BMSUserErrorInvalidInput") { try platform.updateVault(name: "v-cmk", spec: sku) }
        var infra = cmk
        infra.encryption?.infrastructureEncryption = true
        expectCode("BMSUserErrorInvalidInput") { try platform.updateVault(name: "v-cmk", spec: infra) }
        // Without access for the vault's identity, backups cannot reach the vault's storage.
        try platform.createPolicy(name: "daily", spec: { var p = TestWorld.dailyPolicy; p.vault = "v-cmk"; return p }())
        try platform.deleteProtection(vm: "lnx-pmk")
        try platform.enableProtection(vm: "lnx-ade", vault: "v-cmk", policy: "daily")
        try TestWorld.grantBackupAccess(platform)
        expectCode("BCMProtGetSaSUriAsyncError") { try platform.backup(vm: "lnx-ade") }
        try platform.setAccessPolicy(keyVault: "kv-east", principal: .objectID(identity), keyPermissions: [.get, .list, .wrapKey, .unwrapKey],
                                     secretPermissions: [])
        // The key vault names the principals it grants: the vault's identity, and the backup service.
        let granted = try platform.keyVaultInfo(named: "kv-east").accessPolicies
        #expect(granted.first { $0.objectID == identity }?.principalName == "vault v-cmk")
        #expect(granted.contains { $0.principalName == "Backup Management Service" })
        let job = try platform.backup(vm: "lnx-ade")
        #expect(job.status == .completed)
        #expect(try platform.verify(vm: "lnx-ade").ok)
        // Losing the key fails the next backup with the same code.
        try platform.deleteKey(keyVault: "kv-east", name: "vault-cmk")
        expectCode("BCMProtGetSaSUriAsyncError") { try platform.backup(vm: "lnx-ade") }
        try platform.recoverDeleted(keyVault: "kv-east", name: "vault-cmk")
        try platform.removeAccessPolicy(keyVault: "kv-east", principal: .objectID(identity))
        expectCode("BCMProtGetSaSUriAsyncError") { try platform.backup(vm: "lnx-ade") }
    }

    @Test func aVaultWithItemsCannotBeDeletedEvenSoftDeletedOnes() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        try TestWorld.withVault(platform)
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        expectCode("ServiceResourceNotEmpty") { try platform.deleteVault(name: "rsv-east") }
        try platform.deleteProtection(vm: "lnx-pmk")
        expectCode("ServiceResourceNotEmpty") { try platform.deleteVault(name: "rsv-east") }
        // The soft-delete period passes: the item is purged, and the vault can go.
        try platform.advanceClock(by: 15 * 86400)
        #expect(try platform.protectedItems().isEmpty)
        try platform.deleteVault(name: "rsv-east")
        #expect(try platform.vaults().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory.path("vaults/rsv-east")))
    }
}

/// The platform words naming problems its own way, from CofferModel's table of limits.
@Suite struct PlatformNamingTests {
    @Test func messagesNameTheLimitsOfTheTable() {
        #expect(Naming.vaultNameProblem("rsv-prod") == nil)
        #expect(Naming.vaultNameProblem("1rsv")
            == "a Recovery Services vault name is 2 to 50 letters, digits and hyphens, starting with a letter")
        #expect(Naming.policyNameProblem("daily-")
            == "a backup policy name is 3 to 150 letters, digits, '-', '_' and '!', starting with a letter and not ending with '-'")
        #expect(Naming.resourceGroupNameProblem("rg.")
            == "a resource group name is 1 to 90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'")
        #expect(Naming.keyVaultNameProblem("kv") == "a key vault name is 3 to 24 characters")
        #expect(Naming.keyVaultNameProblem("kv_app") == "a key vault name holds only letters, digits and hyphens")
        #expect(Naming.keyVaultNameProblem("1kv") == "a key vault name starts with a letter")
        #expect(Naming.keyVaultNameProblem("kv-") == "a key vault name ends with a letter or digit")
        #expect(Naming.keyVaultNameProblem("kv--app") == "a key vault name has no consecutive hyphens")
        #expect(Naming.keyVaultObjectNameProblem("key_1") == "a key vault key or secret name is 1 to 127 letters, digits and hyphens")
        #expect(Naming.diskEncryptionSetNameProblem(String(repeating: "d", count: 81)) == "a disk encryption set name is 1 to 80 characters")
        #expect(Naming.vmNameProblem("win-app-0123456789", windows: true) == "a Windows VM name is 1 to 15 characters")
        #expect(Naming.vmNameProblem("win.app", windows: true) == "a VM name holds only letters, digits, '-', '_'")
        #expect(Naming.vmNameProblem("lnx.db", windows: false) == nil)
        #expect(Naming.vmNameProblem("lnx?", windows: false) == "a VM name holds only letters, digits, '-', '_' and '.'")
        #expect(Naming.vmNameProblem("-vm", windows: false) == "a VM name starts with a letter or digit")
        #expect(Naming.vmNameProblem("vm.", windows: false) == "a VM name does not end with '-' or '.'")
        #expect(Naming.vmNameProblem("123", windows: false) == "a VM name is not all digits")
        #expect(Naming.isGUID("11111111-1111-1111-1111-111111111111") && !Naming.isGUID("1111"))
    }
}
