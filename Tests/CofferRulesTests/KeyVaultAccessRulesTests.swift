import CofferModel
import CofferRules
import Testing

/// The Key Vault access rule, on facts alone: each permission model honours only its own grants, roles
/// count by their data actions, and a BEK-only VM needs the secret actions only.
@Suite struct KeyVaultAccessRulesTests {
    static let bms = "f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a64"
    static let other = "0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"

    /// The five data actions of the reference's custom role (section 3.2).
    static let fiveActions = [
        "Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/vaults/secrets/backup/action",
        "Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/keys/read",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ]
    static let backupReader = RoleDefinition(id: "7D3E8A61-2B4C-4F0A-9E1D-5C6B7A8F9012", name: "Backup Key Vault Reader", dataActions: fiveActions)
    static let secretsOnly = RoleDefinition(
        id: "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", name: "Backup Secrets Reader", dataActions: ["Microsoft.KeyVault/vaults/secrets/*"],
        notDataActions: ["Microsoft.KeyVault/vaults/secrets/purge/action"])
    static let everythingButBackup = RoleDefinition(
        id: "11111111-2222-4333-8444-555555555555", name: "No Backups", dataActions: ["Microsoft.KeyVault/vaults/*"],
        notDataActions: ["Microsoft.KeyVault/vaults/*/backup/action"])

    static func keyVault(
        _ model: KeyVaultPermissionModel, policies: [KeyVaultFacts.AccessEntry] = [], roles: [(String, RoleDefinition)] = []
    ) -> KeyVaultFacts {
        KeyVaultFacts(
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", name: "kv", subscription: "sub", region: "eastus",
            permissionModel: model, accessPolicies: policies, roleAssignments: roles.map { .init(objectID: $0.0, role: $0.1) },
            customRoles: [backupReader, secretsOnly, everythingButBackup], backupManagementServiceObjectID: bms)
    }

    static let fullPolicy = KeyVaultFacts.AccessEntry(objectID: bms, keyPermissions: [.backup, .get, .list], secretPermissions: [.backup, .get, .list])

    // MARK: Access policies

    @Test func accessPoliciesNeedSecretsAndWithAKEKKeysToo() {
        let secretsOnly = Self.keyVault(.accessPolicies, policies: [.init(objectID: Self.bms, keyPermissions: [], secretPermissions: [.backup, .get, .list])])
        #expect(KeyVaultAccessRules.backupShortfall(on: secretsOnly, encryption: .adeBEKOnly) == nil)
        let kek = KeyVaultAccessRules.backupShortfall(on: secretsOnly, encryption: .adeBEKAndKEK)
        #expect(kek == KeyVaultAccessShortfall(permissionModel: .accessPolicies, keyPermissions: [.backup, .get, .list]))
        #expect(kek?.words == "keys Backup, Get, List")
        #expect(KeyVaultAccessRules.backupShortfall(on: Self.keyVault(.accessPolicies, policies: [Self.fullPolicy]), encryption: .adeBEKAndKEK) == nil)
        let none = KeyVaultAccessRules.backupShortfall(on: Self.keyVault(.accessPolicies), encryption: .adeBEKAndKEK)
        #expect(none?.words == "keys Backup, Get, List and secrets Backup, Get, List")
        // VMs without ADE need nothing.
        #expect(KeyVaultAccessRules.backupShortfall(on: Self.keyVault(.accessPolicies), encryption: .sseCustomerKey) == nil)
    }

    @Test func aKeyVaultThatUsesAccessPoliciesIgnoresRoles() {
        let facts = Self.keyVault(.accessPolicies, roles: [(Self.bms, .keyVaultAdministrator)])
        let shortfall = KeyVaultAccessRules.backupShortfall(on: facts, encryption: .adeBEKOnly)
        #expect(shortfall?.permissionModel == .accessPolicies)
        #expect(shortfall?.secretPermissions == [.backup, .get, .list])
    }

    // MARK: Azure RBAC

    @Test func keyVaultAdministratorCoversBackupsOfEveryADEVM() {
        let facts = Self.keyVault(.rbac, roles: [(Self.bms, .keyVaultAdministrator)])
        for encryption in [VMEncryptionKind.adeBEKOnly, .adeBEKAndKEK] {
            #expect(KeyVaultAccessRules.backupShortfall(on: facts, encryption: encryption) == nil)
            #expect(KeyVaultAccessRules.backupAccessViolation(vm: "vm", keyVault: facts, encryption: encryption) == nil)
        }
    }

    @Test func aKeyVaultThatUsesAzureRBACIgnoresAccessPolicies() throws {
        let facts = Self.keyVault(.rbac, policies: [Self.fullPolicy])
        let violation = try #require(KeyVaultAccessRules.backupAccessViolation(vm: "win-rbac", keyVault: facts, encryption: .adeBEKAndKEK))
        #expect(violation.code == "UserErrorKeyVaultPermissionsNotConfigured")
        #expect(violation.message == "Azure Backup Service does not have sufficient permissions to Key Vault 'kv' for Backup of Encrypted Virtual Machine 'win-rbac'")
        #expect(violation.hint?.contains("the role Key Vault Administrator on 'kv' (a KeyVaultRoleAssignment)") == true)
        // The data actions missing are the reference's five, keys first.
        #expect(KeyVaultAccessRules.backupShortfall(on: facts, encryption: .adeBEKAndKEK)?.dataActions == [
            "Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/secrets/backup/action", "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ])
        #expect(Set(KeyVaultAccessRules.backupDataActions(for: .adeBEKAndKEK)) == Set(Self.fiveActions))
    }

    @Test func aBEKOnlyVMNeedsTheThreeSecretActions() {
        #expect(KeyVaultAccessRules.backupDataActions(for: .adeBEKOnly) == [
            "Microsoft.KeyVault/vaults/secrets/backup/action", "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ])
        let facts = Self.keyVault(.rbac, roles: [(Self.bms, Self.secretsOnly)])
        #expect(KeyVaultAccessRules.backupShortfall(on: facts, encryption: .adeBEKOnly) == nil)
        #expect(KeyVaultAccessRules.backupShortfall(on: facts, encryption: .adeBEKAndKEK)?.dataActions == [
            "Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/vaults/keys/read",
        ])
    }

    @Test func theReferencesCustomRoleCoversAVMWithAKEK() {
        let facts = Self.keyVault(.rbac, roles: [(Self.bms, Self.backupReader)])
        #expect(KeyVaultAccessRules.backupShortfall(on: facts, encryption: .adeBEKAndKEK) == nil)
    }

    /// Roles add up, each role's not-data actions take out of that role only, and roles of another principal
    /// do not count.
    @Test func rolesAddUpAndNotDataActionsStayWithinTheirRole() {
        let secretsUser = Self.keyVault(.rbac, roles: [(Self.bms, .keyVaultSecretsUser)])
        #expect(KeyVaultAccessRules.backupShortfall(on: secretsUser, encryption: .adeBEKOnly)?.dataActions == [
            "Microsoft.KeyVault/vaults/secrets/backup/action"
        ])
        let noBackups = Self.keyVault(.rbac, roles: [(Self.bms, Self.everythingButBackup)])
        #expect(KeyVaultAccessRules.backupShortfall(on: noBackups, encryption: .adeBEKAndKEK)?.dataActions == [
            "Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/vaults/secrets/backup/action",
        ])
        let combined = Self.keyVault(.rbac, roles: [(Self.bms, Self.everythingButBackup), (Self.bms, .keyVaultCryptoUser), (Self.bms, Self.secretsOnly)])
        #expect(KeyVaultAccessRules.backupShortfall(on: combined, encryption: .adeBEKAndKEK) == nil)
        let someoneElse = Self.keyVault(.rbac, roles: [(Self.other, .keyVaultAdministrator)])
        #expect(KeyVaultAccessRules.backupShortfall(on: someoneElse, encryption: .adeBEKOnly) != nil)
        // Object ids compare case-insensitively.
        let upper = Self.keyVault(.rbac, roles: [(Self.bms.uppercased(), .keyVaultAdministrator)])
        #expect(KeyVaultAccessRules.backupShortfall(on: upper, encryption: .adeBEKOnly) == nil)
    }

    @Test func anyPrincipalAndPermissions() {
        // A customer-key vault's identity needs Get, WrapKey and UnwrapKey: Crypto Service Encryption User.
        let facts = Self.keyVault(.rbac, roles: [(Self.other, .keyVaultCryptoServiceEncryptionUser)])
        #expect(KeyVaultAccessRules.shortfall(of: Self.other, on: facts, keys: [.get, .wrapKey, .unwrapKey], secrets: []) == nil)
        #expect(KeyVaultAccessRules.shortfall(of: Self.other, on: facts, keys: [.get, .sign], secrets: [])?.dataActions == [
            "Microsoft.KeyVault/vaults/keys/sign/action"
        ])
        // Nothing asked, nothing missing, in both models.
        #expect(KeyVaultAccessRules.shortfall(of: Self.other, on: Self.keyVault(.rbac), keys: [], secrets: []) == nil)
        #expect(KeyVaultAccessRules.shortfall(of: Self.other, on: Self.keyVault(.accessPolicies), keys: [], secrets: []) == nil)
    }

    // MARK: Which grant a key vault accepts

    @Test func eachModelRefusesTheOthersGrant() throws {
        let rbac = Self.keyVault(.rbac)
        let policies = Self.keyVault(.accessPolicies)
        let onRBAC = try #require(KeyVaultAccessRules.accessPolicyViolation(on: rbac))
        #expect(onRBAC.code == "KeyVaultUsesRbacAuthorization")
        #expect(onRBAC.field == "spec.keyVault")
        #expect(KeyVaultAccessRules.accessPolicyViolation(on: policies) == nil)
        let onPolicies = try #require(KeyVaultAccessRules.roleAssignmentViolation(on: policies, role: "Key Vault Administrator"))
        #expect(onPolicies.code == "KeyVaultUsesAccessPolicies")
        #expect(onPolicies.field == "spec.keyVault")
        #expect(KeyVaultAccessRules.roleAssignmentViolation(on: rbac, role: "Key Vault Administrator") == nil)
        #expect(KeyVaultAccessRules.roleAssignmentViolation(on: rbac, role: "backup key vault reader") == nil)
        let unknown = try #require(KeyVaultAccessRules.roleAssignmentViolation(on: rbac, role: "Key Vault Superuser"))
        #expect(unknown.code == "RoleDefinitionDoesNotExist")
        #expect(unknown.field == "spec.role")
        #expect(unknown.hint?.contains("Backup Key Vault Reader, Backup Secrets Reader, No Backups") == true)
    }
}
