public import CofferModel

/// What a principal lacks on a key vault, in the terms of the key vault's permission model: access-policy
/// permissions on a key vault that uses access policies, data actions on one that uses Azure RBAC.
public struct KeyVaultAccessShortfall: Sendable, Hashable {
    public var permissionModel: KeyVaultPermissionModel
    /// Key permissions missing from the principal's access policy (access-policy model), sorted.
    public var keyPermissions: [KeyPermission]
    /// Secret permissions missing from the principal's access policy (access-policy model), sorted.
    public var secretPermissions: [SecretPermission]
    /// Data actions none of the principal's roles allows (Azure RBAC model), in the order they were asked.
    public var dataActions: [String]

    public init(
        permissionModel: KeyVaultPermissionModel, keyPermissions: [KeyPermission] = [], secretPermissions: [SecretPermission] = [],
        dataActions: [String] = []
    ) {
        self.permissionModel = permissionModel
        self.keyPermissions = keyPermissions
        self.secretPermissions = secretPermissions
        self.dataActions = dataActions
    }

    /// What is missing, in words: `keys Backup, Get and secrets List`, or `data actions
    /// Microsoft.KeyVault/vaults/keys/read, ...`.
    public var words: String {
        switch permissionModel {
        case .accessPolicies:
            var parts: [String] = []
            if !keyPermissions.isEmpty { parts.append("keys " + keyPermissions.map(\.rawValue).joined(separator: ", ")) }
            if !secretPermissions.isEmpty { parts.append("secrets " + secretPermissions.map(\.rawValue).joined(separator: ", ")) }
            return parts.joined(separator: " and ")
        case .rbac:
            return "data action\(dataActions.count == 1 ? "" : "s") " + dataActions.joined(separator: ", ")
        }
    }
}

/// The Key Vault access rules of the service, once: whether a principal holds what an operation needs on a
/// key vault under the key vault's permission model, what Azure Backup needs for an ADE VM, and which grant
/// (access policy or role assignment) a key vault accepts. Pure functions over `KeyVaultFacts`; the platform
/// calls them when it backs up and grants, the plan calls them on the key vault as the plan leaves it.
public enum KeyVaultAccessRules {
    /// The service's code when the Backup Management Service cannot read an ADE VM's keys.
    public static let permissionsNotConfigured = ServiceCode.keyVaultPermissionsNotConfigured
    /// coffer's code for an access policy put on a key vault that uses Azure RBAC.
    public static let usesRBAC = "KeyVaultUsesRbacAuthorization"
    /// coffer's code for a role assignment put on a key vault that uses access policies.
    public static let usesAccessPolicies = "KeyVaultUsesAccessPolicies"
    /// ARM's code for a role name or id that names no role definition.
    public static let roleDefinitionDoesNotExist = "RoleDefinitionDoesNotExist"

    // MARK: Any principal

    /// What `objectID` lacks of `keys` and `secrets` on `keyVault`, or nil when it holds them all.
    ///
    /// With access policies, the principal's one access policy must list every permission. With Azure RBAC,
    /// each permission's data action (`KeyPermission.dataAction`, `SecretPermission.dataAction`: keys Get and
    /// List are both `keys/read`) must be allowed by one of the roles assigned to the principal at the key
    /// vault's scope; a role's `notDataActions` take actions out of that role only, as in ARM.
    public static func shortfall(
        of objectID: String, on keyVault: KeyVaultFacts, keys: Set<KeyPermission>, secrets: Set<SecretPermission>
    ) -> KeyVaultAccessShortfall? {
        let principal = objectID.lowercased()
        switch keyVault.permissionModel {
        case .accessPolicies:
            let policy = keyVault.accessPolicies.first { $0.objectID.lowercased() == principal }
            let missingKeys = keys.subtracting(policy?.keyPermissions ?? []).sorted()
            let missingSecrets = secrets.subtracting(policy?.secretPermissions ?? []).sorted()
            guard !missingKeys.isEmpty || !missingSecrets.isEmpty else { return nil }
            return KeyVaultAccessShortfall(permissionModel: .accessPolicies, keyPermissions: missingKeys, secretPermissions: missingSecrets)
        case .rbac:
            let missing = dataActions(keys: keys, secrets: secrets).filter { !allows(principal, $0, on: keyVault) }
            guard !missing.isEmpty else { return nil }
            return KeyVaultAccessShortfall(permissionModel: .rbac, dataActions: missing)
        }
    }

    /// The data actions that stand for these access-policy permissions, without repeats: keys first, then
    /// secrets, each in the order of `KeyPermission.allCases` and `SecretPermission.allCases`.
    public static func dataActions(keys: Set<KeyPermission>, secrets: Set<SecretPermission>) -> [String] {
        var seen = Set<String>()
        var actions: [String] = []
        for action in KeyPermission.allCases.filter(keys.contains).map(\.dataAction)
            + SecretPermission.allCases.filter(secrets.contains).map(\.dataAction) where seen.insert(action).inserted {
            actions.append(action)
        }
        return actions
    }

    /// Whether a role assigned to `objectID` (lower-case) at the key vault's scope allows `dataAction`.
    static func allows(_ objectID: String, _ dataAction: String, on keyVault: KeyVaultFacts) -> Bool {
        keyVault.roleAssignments.contains { $0.objectID.lowercased() == objectID && $0.role.allows(dataAction) }
    }

    // MARK: Azure Backup of ADE VMs

    /// What the Backup Management Service needs on the key vault of an ADE VM (reference 3.1 and 3.2):
    /// secrets Get, List and Backup, and keys Get, List and Backup when a KEK wraps the BEK; nothing for
    /// other VMs. On a key vault that uses Azure RBAC these are the five data actions of the reference's
    /// custom role (keys/read, keys/backup/action, secrets/getSecret/action, secrets/readMetadata/action,
    /// secrets/backup/action), and a BEK-only VM needs only the three secret ones, as its access policy needs
    /// no key permissions.
    public static func backupRequirement(for encryption: VMEncryptionKind) -> (keys: Set<KeyPermission>, secrets: Set<SecretPermission>) {
        switch encryption {
        case .adeBEKAndKEK: ([.get, .list, .backup], [.get, .list, .backup])
        case .adeBEKOnly: ([], [.get, .list, .backup])
        case .ssePlatformKey, .sseCustomerKey: ([], [])
        }
    }

    /// What the Backup Management Service lacks to back up a VM encrypted `encryption` whose keys are in
    /// `keyVault`, or nil when it has what it needs.
    public static func backupShortfall(on keyVault: KeyVaultFacts, encryption: VMEncryptionKind) -> KeyVaultAccessShortfall? {
        let needed = backupRequirement(for: encryption)
        return shortfall(of: keyVault.backupManagementServiceObjectID, on: keyVault, keys: needed.keys, secrets: needed.secrets)
    }

    /// The service's refusal to back up VM `vm` (encrypted `encryption`, keys in `keyVault`), or nil when the
    /// Backup Management Service has the access it needs. The hint names the grant of the key vault's model.
    public static func backupAccessViolation(vm: String, keyVault: KeyVaultFacts, encryption: VMEncryptionKind) -> RuleViolation? {
        guard backupShortfall(on: keyVault, encryption: encryption) != nil else { return nil }
        return RuleViolation(
            permissionsNotConfigured,
            "Azure Backup Service does not have sufficient permissions to Key Vault '\(keyVault.name)' for Backup of Encrypted Virtual Machine '\(vm)'",
            hint: backupGrantHint(keyVault: keyVault.name, model: keyVault.permissionModel, encryption: encryption) + ", then retry")
    }

    /// How to give the Backup Management Service what backups of a VM encrypted `encryption` need, in the
    /// terms of the key vault's model.
    public static func backupGrantHint(keyVault: String, model: KeyVaultPermissionModel, encryption: VMEncryptionKind) -> String {
        let service = "the Backup Management Service (\(Principal.backupManagementServiceAppID))"
        switch model {
        case .accessPolicies:
            let needed = backupRequirement(for: encryption)
            let keys = needed.keys.isEmpty ? "" : "keys: \(needed.keys.sorted().map(\.rawValue).joined(separator: ", ")); "
            return "grant \(service) \(keys)secrets: \(needed.secrets.sorted().map(\.rawValue).joined(separator: ", ")) on '\(keyVault)' (a KeyVaultAccessPolicy)"
        case .rbac:
            return "assign \(service) the role \(RoleDefinition.keyVaultAdministrator.name) on '\(keyVault)' (a KeyVaultRoleAssignment), "
                + "or a custom role whose dataActions cover \(backupDataActions(for: encryption).joined(separator: ", "))"
        }
    }

    /// The data actions backups of a VM encrypted `encryption` need on a key vault that uses Azure RBAC.
    public static func backupDataActions(for encryption: VMEncryptionKind) -> [String] {
        let needed = backupRequirement(for: encryption)
        return dataActions(keys: needed.keys, secrets: needed.secrets)
    }

    // MARK: Which grant a key vault accepts

    /// The refusal of an access policy on `keyVault` when it uses Azure RBAC (its access policies would be
    /// ignored), or nil.
    public static func accessPolicyViolation(on keyVault: KeyVaultFacts) -> RuleViolation? {
        guard keyVault.permissionModel == .rbac else { return nil }
        return RuleViolation(
            usesRBAC,
            "key vault '\(keyVault.name)' uses Azure RBAC: it ignores access policies, so one would grant nothing",
            hint: "assign a role instead (a KeyVaultRoleAssignment; \(RoleDefinition.keyVaultAdministrator.name) for Azure Backup)",
            field: "spec.keyVault")
    }

    /// The refusal of a role assignment of `role` on `keyVault`, or nil: a key vault that uses access
    /// policies ignores role assignments for its keys and secrets, and the role must exist.
    public static func roleAssignmentViolation(on keyVault: KeyVaultFacts, role: String) -> RuleViolation? {
        if keyVault.permissionModel == .accessPolicies {
            return RuleViolation(
                usesAccessPolicies,
                "key vault '\(keyVault.name)' uses vault access policies: it ignores role assignments for its keys and secrets, so '\(role)' would grant nothing",
                hint: "grant an access policy instead (a KeyVaultAccessPolicy), or switch the key vault to Azure RBAC",
                field: "spec.keyVault")
        }
        if keyVault.roleDefinition(role) == nil {
            let custom = keyVault.customRoles.map(\.name)
            return RuleViolation(
                roleDefinitionDoesNotExist, "the role definition '\(role)' does not exist",
                hint: "use a built-in Key Vault role such as \(RoleDefinition.keyVaultAdministrator.name)"
                    + (custom.isEmpty ? "" : ", or a custom role of the tenant: " + custom.sorted().joined(separator: ", ")),
                field: "spec.role")
        }
        return nil
    }
}
