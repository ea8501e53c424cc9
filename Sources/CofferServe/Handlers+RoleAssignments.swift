import CofferARM
import CofferModel
import CofferPlatform
import Foundation

// Role assignments at a key vault's scope (Microsoft.Authorization/roleAssignments under a key vault), for
// key vaults that use Azure RBAC.
//
// The platform names an assignment by its scope, principal and role (RoleDefinition.assignmentName, the
// `guid(scope, principal, role)` convention), so the name of a PUT must be that GUID: a PUT under any other
// name is refused with 400 `RoleAssignmentNameMismatch`, whose message gives the name to use.
extension Handlers {
    /// The role assignment the path names, at the path's key vault, or 404 `RoleAssignmentNotFound`.
    func roleAssignment(_ request: ARMRequest, in info: KeyVaultInfo) throws(ARMError) -> RoleAssignmentInfo {
        let name = request["roleAssignment"]
        guard let found = info.roleAssignments.first(where: { $0.name.lowercased() == name.lowercased() }) else {
            throw Self.roleAssignmentNotFound(name)
        }
        return found
    }

    static func roleAssignmentNotFound(_ name: String) -> ARMError {
        ARMError(status: 404, code: "RoleAssignmentNotFound", message: "The role assignment '\(name.prefix(64))' is not found.")
    }

    func roleAssignmentBody(_ assignment: RoleAssignmentInfo, keyVault info: KeyVaultInfo) -> RoleAssignmentResource {
        let subscription = info.id.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        let principalType: String? = switch assignment.principalName {
        case nil: nil
        case "operator": "User"
        default: "ServicePrincipal"
        }
        return RoleAssignmentResource(
            id: assignment.id, name: assignment.name,
            properties: RoleAssignmentResource.Properties(
                roleDefinitionId: RoleAssignmentResource.roleDefinitionID(subscription: subscription, guid: assignment.roleDefinitionID),
                principalId: assignment.objectID, principalType: principalType, scope: info.id))
    }

    func listRoleAssignments(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let info = try await keyVault(request)
        return try page(info.roleAssignments.map { roleAssignmentBody($0, keyVault: info) }, request)
    }

    func getRoleAssignment(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let info = try await keyVault(request)
        return .json(roleAssignmentBody(try roleAssignment(request, in: info), keyVault: info))
    }

    /// `PUT` (RoleAssignments_Create): 201 with the assignment. The platform's refusals keep their codes:
    /// `KeyVaultUsesAccessPolicies` (400), `RoleDefinitionDoesNotExist` (400), `RoleAssignmentExists` (409).
    func putRoleAssignment(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let info = try await keyVault(request)
        let name = request["roleAssignment"].lowercased()
        guard Self.isGUID(name) else {
            throw ARMError(status: 400, code: "InvalidRoleAssignmentId",
                           message: "The role assignment ID '\(name.prefix(64))' is not valid. The role assignment ID must be a GUID.")
        }
        let body = try request.decode(RoleAssignmentCreateResource.self)
        guard let definitionID = body.properties?.roleDefinitionId else {
            throw ARMError(status: 400, code: "InvalidRequestContent", message: "properties.roleDefinitionId is required.",
                           target: "properties.roleDefinitionId")
        }
        guard let roleGUID = RoleAssignmentResource.roleDefinitionGUID(definitionID) else {
            throw ARMError(status: 400, code: "InvalidRoleDefinitionId",
                           message: "The role definition ID '\(definitionID.prefix(200))' is not valid: give "
                               + "/subscriptions/SUBSCRIPTION/providers/Microsoft.Authorization/roleDefinitions/GUID.",
                           target: "properties.roleDefinitionId")
        }
        guard let principalID = body.properties?.principalId?.lowercased(), Self.isGUID(principalID) else {
            throw ARMError(status: 400, code: "InvalidPrincipalId", message: "properties.principalId must be the object id (a GUID) of the principal.",
                           target: "properties.principalId")
        }
        let keyVaultName = info.name
        let scope = info.id
        let usesRBAC = info.permissionModel == .rbac
        let existing = Set(info.roleAssignments.map { "\($0.objectID.lowercased())/\($0.roleDefinitionID.lowercased())" })
        let created = try await access.run { platform -> RoleAssignmentInfo in
            let definition = try RoleDefinition.builtIn(roleGUID) ?? platform.roleDefinitions().first { $0.id.lowercased() == roleGUID }
            // The platform's own refusals (access policies, an unknown role, a duplicate) come first; then the name.
            if usesRBAC, let definition, !existing.contains("\(principalID)/\(definition.id.lowercased())") {
                let expected = RoleDefinition.assignmentName(scope: scope, principalObjectID: principalID, roleDefinitionID: definition.id)
                guard expected == name else {
                    throw ARMError(
                        status: 400, code: "RoleAssignmentNameMismatch",
                        message: "coffer names a role assignment after its scope, principal and role: the assignment of role '\(definition.name)' "
                            + "to '\(principalID)' on key vault '\(keyVaultName)' is named '\(expected)', not '\(name)'. Put it under that name.",
                        target: "name")
                }
            }
            return try platform.assignRole(keyVault: keyVaultName, principal: Platform.principal(parsing: principalID), role: roleGUID)
        }
        let after = try await keyVault(request)
        let assignment = after.roleAssignments.first { $0.name == created.name } ?? created
        return .json(roleAssignmentBody(assignment, keyVault: after), status: 201)
    }

    /// `DELETE` (RoleAssignments_Delete): 200 with the assignment it removed, 204 when there was none.
    func deleteRoleAssignment(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let info = try await keyVault(request)
        guard let assignment = info.roleAssignments.first(where: { $0.name.lowercased() == request["roleAssignment"].lowercased() }) else {
            return ARMResponse(status: 204)
        }
        let keyVaultName = info.name
        try await access.run { platform in
            try platform.removeRoleAssignment(
                keyVault: keyVaultName, principal: Platform.principal(parsing: assignment.objectID), role: assignment.roleDefinitionID)
        }
        return .json(roleAssignmentBody(assignment, keyVault: info))
    }

    /// `8-4-4-4-12` hexadecimal digits.
    static func isGUID(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return false }
        for (index, byte) in utf8.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20) else {
                    return false
                }
            }
        }
        return true
    }
}
