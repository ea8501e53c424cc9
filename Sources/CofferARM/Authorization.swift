/// A role assignment (`Microsoft.Authorization/roleAssignments`), as azure-mgmt-authorization's
/// `RoleAssignment` reads it: coffer serves those at a key vault's scope.
public struct RoleAssignmentResource: Codable, Sendable, Hashable {
    public static let type = "Microsoft.Authorization/roleAssignments"

    public var id: String
    public var name: String
    public var type: String = Self.type
    public var properties: Properties

    public struct Properties: Codable, Sendable, Hashable {
        public var roleDefinitionId: String
        public var principalId: String
        /// `ServicePrincipal` or `User` when the platform knows the principal; absent otherwise.
        public var principalType: String?
        public var scope: String

        public init(roleDefinitionId: String, principalId: String, principalType: String?, scope: String) {
            self.roleDefinitionId = roleDefinitionId
            self.principalId = principalId
            self.principalType = principalType
            self.scope = scope
        }
    }

    public init(id: String, name: String, properties: Properties) {
        self.id = id
        self.name = name
        self.properties = properties
    }

    /// The id of a role definition in a subscription: `/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/GUID`.
    public static func roleDefinitionID(subscription: String, guid: String) -> String {
        "/subscriptions/\(subscription)/providers/Microsoft.Authorization/roleDefinitions/\(guid)"
    }

    /// The GUID at the end of a role definition id (`.../providers/Microsoft.Authorization/roleDefinitions/GUID`,
    /// with or without a subscription in front), lower-cased; nil for anything else.
    public static func roleDefinitionGUID(_ id: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 4, parts[parts.count - 2].lowercased() == "roledefinitions",
            parts[parts.count - 3].lowercased() == "microsoft.authorization", parts[parts.count - 4].lowercased() == "providers"
        else { return nil }
        let prefix = parts.dropLast(4)
        guard prefix.isEmpty || (prefix.count == 2 && prefix.first?.lowercased() == "subscriptions") else { return nil }
        return parts[parts.count - 1].lowercased()
    }
}

/// The body of a role assignment PUT (`RoleAssignmentCreateParameters`).
public struct RoleAssignmentCreateResource: Codable, Sendable, Hashable {
    public var properties: Properties?

    public struct Properties: Codable, Sendable, Hashable {
        public var roleDefinitionId: String?
        public var principalId: String?
        public var principalType: String?
        public var description: String?
        public var condition: String?
    }
}
