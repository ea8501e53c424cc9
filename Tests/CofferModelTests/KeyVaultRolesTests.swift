import CofferModel
import Testing

/// The built-in Key Vault roles, ARM's action matching, the access-policy permissions' data actions, and the
/// role assignment names derived from scope, principal and role.
@Suite struct KeyVaultRolesTests {
    @Test func builtInRolesAreFoundByNameInAnyCaseOrByGUID() {
        #expect(RoleDefinition.builtIn("Key Vault Administrator") == .keyVaultAdministrator)
        #expect(RoleDefinition.builtIn("key vault administrator") == .keyVaultAdministrator)
        #expect(RoleDefinition.builtIn("00482A5A-887F-4FB3-B363-3B7FE8E74483") == .keyVaultAdministrator)
        #expect(RoleDefinition.builtIn("Key Vault Secrets User")?.id == "4633458b-17de-408a-b874-0445c86b69e6")
        #expect(RoleDefinition.builtIn("Owner") == nil)
        #expect(Set(RoleDefinition.builtInKeyVaultRoles.map(\.id)).count == RoleDefinition.builtInKeyVaultRoles.count)
        #expect(RoleDefinition.builtInKeyVaultRoles.allSatisfy { $0.isBuiltIn })
    }

    @Test(arguments: [
        ("Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaults/keys/backup/action", true),
        ("microsoft.keyvault/VAULTS/*", "Microsoft.KeyVault/vaults/secrets/getSecret/action", true),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/keys/read", true),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", false),
        ("Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/keys/read", false),
        ("Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/read", true),
        ("Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/readx", false),
        ("*", "Microsoft.KeyVault/vaults/keys/read", true),
        ("Microsoft.KeyVault/*/backup/action", "Microsoft.KeyVault/vaults/keys/backup/action", true),
        ("Microsoft.KeyVault/*/backup/action", "Microsoft.KeyVault/vaults/keys/backup/actions", false),
    ])
    func actionsMatchAsARMMatchesThem(pattern: String, action: String, matches: Bool) {
        #expect(RoleDefinition.matches(pattern: pattern, action) == matches)
    }

    @Test func aRoleAllowsItsDataActionsLessItsNotDataActions() {
        let role = RoleDefinition(
            id: "11111111-2222-4333-8444-555555555555", name: "Most", dataActions: ["Microsoft.KeyVault/vaults/*"],
            notDataActions: ["Microsoft.KeyVault/vaults/keys/*"])
        #expect(role.allows("Microsoft.KeyVault/vaults/secrets/backup/action"))
        #expect(!role.allows("Microsoft.KeyVault/vaults/keys/read"))
        #expect(RoleDefinition.keyVaultReader.allows("Microsoft.KeyVault/vaults/secrets/readMetadata/action"))
        #expect(!RoleDefinition.keyVaultReader.allows("Microsoft.KeyVault/vaults/secrets/getSecret/action"))
    }

    /// Key Get and List are both `keys/read`; secret Get reads the value and List the metadata.
    @Test func accessPolicyPermissionsHaveTheirDataActions() {
        #expect(KeyPermission.get.dataAction == "Microsoft.KeyVault/vaults/keys/read")
        #expect(KeyPermission.list.dataAction == KeyPermission.get.dataAction)
        #expect(KeyPermission.backup.dataAction == "Microsoft.KeyVault/vaults/keys/backup/action")
        #expect(KeyPermission.unwrapKey.dataAction == "Microsoft.KeyVault/vaults/keys/unwrap/action")
        #expect(KeyPermission.setRotationPolicy.dataAction == "Microsoft.KeyVault/vaults/keyrotationpolicies/write")
        #expect(SecretPermission.get.dataAction == "Microsoft.KeyVault/vaults/secrets/getSecret/action")
        #expect(SecretPermission.list.dataAction == "Microsoft.KeyVault/vaults/secrets/readMetadata/action")
        #expect(SecretPermission.backup.dataAction == "Microsoft.KeyVault/vaults/secrets/backup/action")
        // Every permission's action is one a built-in role grants: Key Vault Administrator grants them all.
        for action in KeyPermission.allCases.map(\.dataAction) + SecretPermission.allCases.map(\.dataAction) {
            #expect(RoleDefinition.keyVaultAdministrator.allows(action), "\(action)")
        }
    }

    @Test func assignmentNamesAreStableGUIDsOfScopePrincipalAndRole() throws {
        let scope = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
        let name = RoleDefinition.assignmentName(
            scope: scope, principalObjectID: "f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a64", roleDefinitionID: RoleDefinition.keyVaultAdministrator.id)
        // Known at plan time and the same in every process: a fixed answer.
        #expect(name == RoleDefinition.assignmentName(
            scope: scope.uppercased(), principalObjectID: "F40E5C5A-8B5E-4D0A-9A6D-3C2B1E0F7A64",
            roleDefinitionID: RoleDefinition.keyVaultAdministrator.id.uppercased()))
        let parts = name.split(separator: "-").map(\.count)
        #expect(parts == [8, 4, 4, 4, 12])
        #expect(name.dropFirst(14).first == "8")  // version 8
        #expect("89ab".contains(name.dropFirst(19).first!))  // the RFC variant
        #expect(name == name.lowercased())
        let others = [
            RoleDefinition.assignmentName(scope: scope, principalObjectID: "f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a64", roleDefinitionID: RoleDefinition.keyVaultSecretsUser.id),
            RoleDefinition.assignmentName(scope: scope + "2", principalObjectID: "f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a64", roleDefinitionID: RoleDefinition.keyVaultAdministrator.id),
            RoleDefinition.assignmentName(scope: scope, principalObjectID: "0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6", roleDefinitionID: RoleDefinition.keyVaultAdministrator.id),
        ]
        #expect(Set(others + [name]).count == 4)
    }

    @Test func keyVaultFactsResolveBuiltInAndCustomRoles() {
        let custom = RoleDefinition(id: "7D3E8A61-2B4C-4F0A-9E1D-5C6B7A8F9012", name: "Backup Key Vault Reader", dataActions: ["x/y"])
        let facts = KeyVaultFacts(
            id: "kv", name: "kv", subscription: "s", region: "eastus", permissionModel: .rbac, accessPolicies: [], customRoles: [custom],
            backupManagementServiceObjectID: "bms")
        #expect(custom.id == "7d3e8a61-2b4c-4f0a-9e1d-5c6b7a8f9012")
        #expect(facts.roleDefinition("backup key vault reader") == custom)
        #expect(facts.roleDefinition(custom.id) == custom)
        #expect(facts.roleDefinition("Key Vault Reader") == .keyVaultReader)
        #expect(facts.roleDefinition("Reader") == nil)
        #expect(facts.objectID(of: .backupManagementService) == "bms")
        #expect(facts.objectID(of: .objectID("ABC")) == "abc")
        // The default model is the one existing key vaults and worlds have.
        #expect(KeyVaultFacts(id: "", name: "", subscription: "", region: "", accessPolicies: [], backupManagementServiceObjectID: "").permissionModel == .accessPolicies)
    }

    @Test func theRoleAssignmentKindComesBetweenAccessPoliciesAndProtection() {
        #expect(ResourceKind.keyVaultAccessPolicy < .keyVaultRoleAssignment)
        #expect(ResourceKind.keyVaultRoleAssignment < .protectedVM)
        #expect(Set(ResourceKind.allCases.map(\.creationRank)).count == ResourceKind.allCases.count)
        #expect(ResourceSpec.keyVaultRoleAssignment(KeyVaultRoleAssignmentSpec(keyVault: "kv", principal: .backupManagementService, role: "r")).kind
                == .keyVaultRoleAssignment)
        #expect(ResourceAddress(parsing: "KeyVaultRoleAssignment/kv-admin") == ResourceAddress(kind: .keyVaultRoleAssignment, name: "kv-admin"))
    }
}
