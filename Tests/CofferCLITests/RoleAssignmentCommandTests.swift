import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

/// `coffer get role-assignments`, `platform show` with each key vault's permission model, and the
/// out-of-band `assign-role` and `remove-role`, on the reference world's RBAC key vault.
@Suite struct RoleAssignmentCommandTests {
    func run(_ arguments: [String]) async -> (status: Int32, output: String, errors: String) {
        let capture = ViewTests.Capture()
        let status = await Console.$current.withValue(capture.console) { await runCoffer(arguments) }
        return (status, capture.standardOutput, capture.standardError)
    }

    @Test func getListsRoleAssignmentsAsATableAndAsJSON() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let empty = await run(["get", "role-assignments", "--state", state])
        #expect(empty.status == 0 && empty.output == "No role assignments.\n")

        let assigned = await run([
            "platform", "keyvault", "assign-role", "--state", state, "kv-rbac-eastus", "Backup Management Service", "key vault administrator",
        ])
        #expect(assigned.status == 0)
        #expect(assigned.output.hasPrefix("Assigned Key Vault Administrator to Backup Management Service on key vault kv-rbac-eastus ("))

        let text = await run(["get", "role-assignments", "--state", state])
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                == "KEY VAULT PRINCIPAL OBJECT ID ROLE NAME MANAGED BY")
        #expect(lines.last?.contains("kv-rbac-eastus") == true && lines.last?.contains("Key Vault Administrator") == true)
        #expect(lines.last?.contains("f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a64") == true)

        let json = await run(["get", "role-assignments", "--state", state, "--output", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(document["format_version"] as? String == "1")
        let assignments = try #require(document["roleAssignments"] as? [[String: Any]])
        let assignment = try #require(assignments.first)
        #expect(assignments.count == 1)
        #expect(assignment["keyVault"] as? String == "kv-rbac-eastus")
        #expect(assignment["role"] as? String == "Key Vault Administrator")
        #expect(assignment["roleDefinitionID"] as? String == RoleDefinition.keyVaultAdministrator.id)
        #expect(assignment["principalName"] as? String == "Backup Management Service")
        let id = try #require(assignment["id"] as? String)
        #expect(id.hasPrefix("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-keys-eastus/providers/Microsoft.KeyVault/vaults/kv-rbac-eastus/providers/Microsoft.Authorization/roleAssignments/"))
        #expect(id.hasSuffix(try #require(assignment["name"] as? String)))

        // Access policies are listed apart, and the RBAC key vault has none.
        let policies = await run(["get", "access-policies", "--state", state, "--output", "json"])
        #expect(!policies.output.contains("kv-rbac-eastus"))

        #expect(await run(["platform", "keyvault", "remove-role", "--state", state, "kv-rbac-eastus", "BackupManagementService", "Key Vault Administrator"]).status == 0)
        #expect(await run(["get", "role-assignments", "--state", state]).output == "No role assignments.\n")
    }

    @Test func eachModelRefusesTheOthersGrantOnTheCommandLine() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let policy = try CofferProcess.run(
            ["platform", "keyvault", "set-access", "kv-rbac-eastus", "BackupManagementService", "--secret-permissions", "Get,List,Backup"], state: state)
        #expect(policy.status == 1)
        #expect(policy.stderr.hasPrefix("error[KeyVaultUsesRbacAuthorization]: key vault 'kv-rbac-eastus' uses Azure RBAC"))
        let role = try CofferProcess.run(
            ["platform", "keyvault", "assign-role", "kv-app-eastus", "BackupManagementService", "Key Vault Administrator"], state: state)
        #expect(role.status == 1)
        #expect(role.stderr.hasPrefix("error[KeyVaultUsesAccessPolicies]: key vault 'kv-app-eastus' uses vault access policies"))
        let unknown = try CofferProcess.run(["platform", "keyvault", "assign-role", "kv-rbac-eastus", "BackupManagementService", "Owner"], state: state)
        #expect(unknown.status == 1 && unknown.stderr.hasPrefix("error[RoleDefinitionDoesNotExist]: the role definition 'Owner' does not exist"))
    }

    @Test func platformShowGivesEachKeyVaultsPermissionModel() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        #expect(await run(["platform", "keyvault", "assign-role", "--state", state, "kv-rbac-eastus", "BackupManagementService", "Key Vault Administrator"]).status == 0)
        let text = await run(["platform", "show", "--state", state])
        #expect(text.output.contains("Key vault kv-app-eastus (eastus, rg-keys-eastus, enabled for disk encryption, soft delete 90 days, purge protection, permission model: vault access policies)"))
        #expect(text.output.contains("Key vault kv-rbac-eastus (eastus, rg-keys-eastus, enabled for disk encryption, soft delete 90 days, purge protection, permission model: Azure RBAC)"))
        let rbacSection = try #require(text.output.components(separatedBy: "Key vault kv-rbac-eastus").last)
        #expect(rbacSection.contains("Backup Management Service") && rbacSection.contains("Key Vault Administrator"))

        let json = await run(["platform", "show", "--state", state, "--output", "json"])
        let overview = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let keyVaults = try #require(overview["keyVaults"] as? [[String: Any]])
        let models = Dictionary(uniqueKeysWithValues: keyVaults.map { ($0["name"] as? String ?? "", $0["permissionModel"] as? String ?? "") })
        #expect(models == ["kv-app-eastus": "AccessPolicies", "kv-app-westeurope": "AccessPolicies", "kv-rbac-eastus": "RBAC"])
        let rbac = try #require(keyVaults.first { $0["name"] as? String == "kv-rbac-eastus" })
        #expect((rbac["roleAssignments"] as? [[String: Any]])?.first?["role"] as? String == "Key Vault Administrator")
        #expect(overview["roleDefinitions"] as? [Any] != nil)
    }
}
