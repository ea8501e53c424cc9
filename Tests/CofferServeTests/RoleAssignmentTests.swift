import CofferModel
import CofferPlatform
import Foundation
import Testing

@Suite struct RoleAssignmentTests {
    static let rbacKeyVault = "/subscriptions/\(Reference.subscription)/resourceGroups/rg-keys-eastus/providers/Microsoft.KeyVault/vaults/kv-rbac-eastus"
    static let api = "api-version=2022-04-01"
    static let administrator = RoleDefinition.keyVaultAdministrator.id

    static func body(role: String = administrator, principal: String = Platform.backupManagementServiceObjectID) -> String {
        #"{"properties": {"roleDefinitionId": "/subscriptions/\#(Reference.subscription)/providers/Microsoft.Authorization/roleDefinitions/\#(role)", "principalId": "\#(principal)", "principalType": "ServicePrincipal"}}"#
    }

    @Test func assignReadListAndRemoveAtAKeyVaultsScope() async throws {
        let harness = try await ServeHarness()
        let bms = Platform.backupManagementServiceObjectID
        let name = RoleDefinition.assignmentName(scope: Self.rbacKeyVault, principalObjectID: bms, roleDefinitionID: Self.administrator)
        let path = Self.rbacKeyVault + "/providers/Microsoft.Authorization/roleAssignments/"
        try await harness.run { client in
            let before = try await client.send(.get, String(path.dropLast()) + "?" + Self.api).object()
            #expect((before["value"] as? [Any])?.isEmpty == true)

            let created = try await client.send(.put, path + name + "?" + Self.api, body: Self.body())
            #expect(created.status == 201)
            let object = try created.object()
            #expect(object["id"] as? String == path + name)
            #expect(object["name"] as? String == name)
            #expect(object["type"] as? String == "Microsoft.Authorization/roleAssignments")
            let properties = try #require(object["properties"] as? [String: Any])
            #expect(properties["roleDefinitionId"] as? String
                == "/subscriptions/\(Reference.subscription)/providers/Microsoft.Authorization/roleDefinitions/\(Self.administrator)")
            #expect(properties["principalId"] as? String == bms)
            #expect(properties["principalType"] as? String == "ServicePrincipal")
            #expect(properties["scope"] as? String == Self.rbacKeyVault)
            let assigned = try harness.platform.roleAssignments()
            #expect(assigned.map(\.name) == [name] && assigned.first?.role == RoleDefinition.keyVaultAdministrator.name)

            let again = try await client.send(.put, path + name + "?" + Self.api, body: Self.body())
            #expect(again.status == 409 && again.errorCode == "RoleAssignmentExists")

            let read = try await client.send(.get, path + name.uppercased() + "?" + Self.api)
            #expect(read.status == 200)
            #expect(try read.object()["name"] as? String == name)
            let list = try await client.send(.get, String(path.dropLast()) + "?" + Self.api).object()
            #expect((list["value"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == [name])

            let removed = try await client.send(.delete, path + name + "?" + Self.api)
            #expect(removed.status == 200)
            #expect(try removed.object()["name"] as? String == name)
            #expect(try harness.platform.roleAssignments().isEmpty)
            let absent = try await client.send(.delete, path + name + "?" + Self.api)
            #expect(absent.status == 204)
            let gone = try await client.send(.get, path + name + "?" + Self.api)
            #expect(gone.status == 404 && gone.errorCode == "RoleAssignmentNotFound")
        }
    }

    @Test func thePlatformsRefusalsKeepTheirCodes() async throws {
        let harness = try await ServeHarness()
        let bms = Platform.backupManagementServiceObjectID
        try await harness.run { client in
            // A key vault that uses access policies.
            let policies = Reference.keyVault + "/providers/Microsoft.Authorization/roleAssignments/"
            let onPolicies = RoleDefinition.assignmentName(scope: Reference.keyVault, principalObjectID: bms, roleDefinitionID: Self.administrator)
            let refused = try await client.send(.put, policies + onPolicies + "?" + Self.api, body: Self.body())
            #expect(refused.status == 400 && refused.errorCode == "KeyVaultUsesAccessPolicies")
            // A role that does not exist.
            let path = Self.rbacKeyVault + "/providers/Microsoft.Authorization/roleAssignments/"
            let unknown = try await client.send(
                .put, path + "0b7d4d8e-1c3a-4e55-9f0a-2b6c8d1e3f40?" + Self.api, body: Self.body(role: "0b7d4d8e-1c3a-4e55-9f0a-2b6c8d1e3f41"))
            #expect(unknown.status == 400 && unknown.errorCode == "RoleDefinitionDoesNotExist")
            // A name other than the one coffer derives: refused, naming the right one.
            let expected = RoleDefinition.assignmentName(scope: Self.rbacKeyVault, principalObjectID: bms, roleDefinitionID: Self.administrator)
            let mismatch = try await client.send(.put, path + "0b7d4d8e-1c3a-4e55-9f0a-2b6c8d1e3f40?" + Self.api, body: Self.body())
            #expect(mismatch.status == 400 && mismatch.errorCode == "RoleAssignmentNameMismatch")
            #expect(String(decoding: mismatch.body, as: UTF8.self).contains(expected))
            let notGUID = try await client.send(.put, path + "not-a-guid?" + Self.api, body: Self.body())
            #expect(notGUID.status == 400 && notGUID.errorCode == "InvalidRoleAssignmentId")
            let badRole = try await client.send(
                .put, path + expected + "?" + Self.api,
                body: #"{"properties": {"roleDefinitionId": "Key Vault Administrator", "principalId": "\#(bms)"}}"#)
            #expect(badRole.status == 400 && badRole.errorCode == "InvalidRoleDefinitionId")
            // Authorization's api-versions: the date form up to 2022-04-01.
            let preview = try await client.send(.get, String(path.dropLast()) + "?api-version=2020-04-01-preview")
            #expect(preview.status == 200)
            let future = try await client.send(.get, String(path.dropLast()) + "?api-version=2026-05-15")
            #expect(future.status == 400 && future.errorCode == "InvalidApiVersionParameter")
            let noVault = try await client.send(
                .get, Self.rbacKeyVault.replacingOccurrences(of: "kv-rbac-eastus", with: "kv-none") + "/providers/Microsoft.Authorization/roleAssignments?" + Self.api)
            #expect(noVault.status == 404)
            #expect(try harness.platform.roleAssignments().isEmpty)
        }
    }

    @Test func roleAssignmentListsPage() async throws {
        let harness = try await ServeHarness(pageSize: 1)
        let platform = try harness.platform
        try platform.assignRole(keyVault: "kv-rbac-eastus", principal: .backupManagementService, role: RoleDefinition.keyVaultAdministrator.name)
        try platform.assignRole(keyVault: "kv-rbac-eastus", principal: .objectID("5d1c3e1a-2b4f-4c6d-8e9f-0a1b2c3d4e5f"), role: RoleDefinition.keyVaultAdministrator.name)
        try await harness.run { client in
            let first = try await client.send(.get, Self.rbacKeyVault + "/providers/Microsoft.Authorization/roleAssignments?" + Self.api).object()
            #expect((first["value"] as? [Any])?.count == 1)
            let next = try #require(first["nextLink"] as? String)
            let url = try #require(URL(string: next))
            let second = try await client.send(.get, url.path + "?" + (url.query ?? "")).object()
            #expect((second["value"] as? [Any])?.count == 1 && second["nextLink"] == nil)
        }
    }
}
