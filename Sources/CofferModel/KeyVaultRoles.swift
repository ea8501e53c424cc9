// Key Vault's two permission models and the Azure RBAC side of them, as values: the built-in Key Vault roles
// with their dataActions (Microsoft's "Azure built-in roles for Security", 2026), and which dataAction each
// access-policy permission stands for (the Key Vault RBAC migration guide's mapping). The platform, the plan's
// checks and the rules in CofferRules read these tables; none of them knows the roles another way.

/// How a key vault authorizes its data plane: ARM's `enableRbacAuthorization`. With access policies the key
/// vault ignores role assignments for data actions; with Azure RBAC it ignores access policies.
public enum KeyVaultPermissionModel: String, Codable, Sendable, Hashable, CaseIterable {
    /// Vault access policies (`enableRbacAuthorization: false`, the default).
    case accessPolicies = "AccessPolicies"
    /// Azure role-based access control (`enableRbacAuthorization: true`).
    case rbac = "RBAC"

    /// The model in words, as the portal names it.
    public var words: String {
        switch self {
        case .accessPolicies: "vault access policies"
        case .rbac: "Azure RBAC"
        }
    }
}

/// A role definition: a name, a GUID and the data actions it allows (Key Vault's data plane is all that
/// matters here, so control-plane `actions` are left out).
public struct RoleDefinition: Codable, Sendable, Hashable {
    /// The role definition's GUID (its ARM name), lower-case.
    public var id: String
    /// The role's name, such as `Key Vault Administrator`.
    public var name: String
    /// Data actions the role allows; `*` is a wildcard, compared case-insensitively as ARM does.
    public var dataActions: [String]
    /// Data actions taken out of `dataActions`.
    public var notDataActions: [String]
    /// Whether the role is one of Azure's built-in roles (else a custom role of the tenant).
    public var isBuiltIn: Bool

    public init(id: String, name: String, dataActions: [String], notDataActions: [String] = [], isBuiltIn: Bool = false) {
        self.id = id.lowercased()
        self.name = name
        self.dataActions = dataActions
        self.notDataActions = notDataActions
        self.isBuiltIn = isBuiltIn
    }

    /// Whether the role allows `dataAction`: one of its data actions matches and none of its not-data actions
    /// does.
    public func allows(_ dataAction: String) -> Bool {
        dataActions.contains { Self.matches(pattern: $0, dataAction) }
            && !notDataActions.contains { Self.matches(pattern: $0, dataAction) }
    }

    /// ARM's action matching: case-insensitive, `*` standing for any run of characters (slashes included).
    public static func matches(pattern: String, _ action: String) -> Bool {
        let pattern = Array(pattern.lowercased().utf8)
        let text = Array(action.lowercased().utf8)
        let star = UInt8(ascii: "*")
        // Greedy matching with one backtrack point: the classic glob walk, linear in practice.
        var p = 0, t = 0
        var starAt: Int?
        var resumeAt = 0
        while t < text.count {
            if p < pattern.count && pattern[p] == star {
                starAt = p
                resumeAt = t
                p += 1
            } else if p < pattern.count && pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let starAt {
                p = starAt + 1
                resumeAt += 1
                t = resumeAt
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == star { p += 1 }
        return p == pattern.count
    }

    /// The GUID of a role assignment, derived from its scope, principal and role: the same three always give
    /// the same name, so the assignment's id is known before it exists (Bicep's `guid(scope, principal,
    /// role)` convention). A name-based UUID of version 8 (RFC 9562's custom kind) made of two 64-bit FNV-1a
    /// hashes of the three, lower-cased, so that this module needs no cryptography.
    public static func assignmentName(scope: String, principalObjectID: String, roleDefinitionID: String) -> String {
        let text = [scope.lowercased(), principalObjectID.lowercased(), roleDefinitionID.lowercased()].joined(separator: "\u{1}")
        var bytes: [UInt8] = []
        // FNV-1a's offset basis, then the same hash continued from a second, unrelated basis.
        for basis: UInt64 in [0xcbf2_9ce4_8422_2325, 0x6c62_272e_07bb_0142] {
            var hash = basis
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: hash >> UInt64(shift))) }
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x80  // version 8
        bytes[8] = (bytes[8] & 0x3f) | 0x80  // the RFC variant
        let digits = Array("0123456789abcdef")
        var hex = ""
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { hex.append("-") }
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return hex
    }
}

extension RoleDefinition {
    /// Every data-plane operation on the key vault and its keys, secrets and certificates.
    public static let keyVaultAdministrator = RoleDefinition(
        id: "00482a5a-887f-4fb3-b363-3b7fe8e74483", name: "Key Vault Administrator",
        dataActions: ["Microsoft.KeyVault/vaults/*"], isBuiltIn: true)
    /// Metadata of the key vault and its objects, never secret values or key material.
    public static let keyVaultReader = RoleDefinition(
        id: "21090545-7ca7-4776-b22c-e363652d74d2", name: "Key Vault Reader",
        dataActions: ["Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"], isBuiltIn: true)
    /// Any action on secrets.
    public static let keyVaultSecretsOfficer = RoleDefinition(
        id: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", name: "Key Vault Secrets Officer",
        dataActions: ["Microsoft.KeyVault/vaults/secrets/*"], isBuiltIn: true)
    /// Secret values and metadata.
    public static let keyVaultSecretsUser = RoleDefinition(
        id: "4633458b-17de-408a-b874-0445c86b69e6", name: "Key Vault Secrets User",
        dataActions: ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
        isBuiltIn: true)
    /// Any action on keys and their rotation policies.
    public static let keyVaultCryptoOfficer = RoleDefinition(
        id: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", name: "Key Vault Crypto Officer",
        dataActions: ["Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"], isBuiltIn: true)
    /// Cryptographic operations with keys (and their backup).
    public static let keyVaultCryptoUser = RoleDefinition(
        id: "12338af0-0e69-4776-bea7-57ae8d297424", name: "Key Vault Crypto User",
        dataActions: [
            "Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/update/action",
            "Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/vaults/keys/encrypt/action",
            "Microsoft.KeyVault/vaults/keys/decrypt/action", "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action", "Microsoft.KeyVault/vaults/keys/sign/action",
            "Microsoft.KeyVault/vaults/keys/verify/action",
        ], isBuiltIn: true)
    /// Key metadata, wrap and unwrap: what a disk encryption set's or a vault's identity needs.
    public static let keyVaultCryptoServiceEncryptionUser = RoleDefinition(
        id: "e147488a-f6f5-4113-8e2d-b22465e65bf6", name: "Key Vault Crypto Service Encryption User",
        dataActions: [
            "Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
        ], isBuiltIn: true)
    /// Any action on certificates.
    public static let keyVaultCertificatesOfficer = RoleDefinition(
        id: "a4417e6f-fecd-4de8-b567-7b0420556985", name: "Key Vault Certificates Officer",
        dataActions: [
            "Microsoft.KeyVault/vaults/certificatecas/*", "Microsoft.KeyVault/vaults/certificates/*",
            "Microsoft.KeyVault/vaults/certificatecontacts/write",
        ], isBuiltIn: true)
    /// Certificate contents (and the secrets and keys behind them, read only).
    public static let keyVaultCertificateUser = RoleDefinition(
        id: "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", name: "Key Vault Certificate User",
        dataActions: [
            "Microsoft.KeyVault/vaults/certificates/read", "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action", "Microsoft.KeyVault/vaults/keys/read",
        ], isBuiltIn: true)

    /// Azure's built-in roles for Key Vault's data plane, in the order the documentation lists them.
    public static let builtInKeyVaultRoles: [RoleDefinition] = [
        keyVaultAdministrator, keyVaultCertificateUser, keyVaultCertificatesOfficer, keyVaultCryptoOfficer,
        keyVaultCryptoServiceEncryptionUser, keyVaultCryptoUser, keyVaultReader, keyVaultSecretsOfficer, keyVaultSecretsUser,
    ]

    /// The built-in role with this name (compared case-insensitively, as ARM compares role names) or GUID.
    public static func builtIn(_ nameOrID: String) -> RoleDefinition? {
        let wanted = nameOrID.lowercased()
        return builtInKeyVaultRoles.first { $0.name.lowercased() == wanted || $0.id == wanted }
    }
}

extension KeyPermission {
    /// The Azure RBAC data action an access policy's key permission stands for (Get and List both read keys).
    public var dataAction: String {
        let prefix = "Microsoft.KeyVault/vaults/"
        switch self {
        case .get, .list: return prefix + "keys/read"
        case .delete: return prefix + "keys/delete"
        case .unwrapKey: return prefix + "keys/unwrap/action"
        case .wrapKey: return prefix + "keys/wrap/action"
        case .getRotationPolicy: return prefix + "keyrotationpolicies/read"
        case .setRotationPolicy: return prefix + "keyrotationpolicies/write"
        case .backup, .create, .decrypt, .encrypt, .import, .purge, .recover, .restore, .sign, .update, .verify, .release, .rotate:
            return prefix + "keys/\(rawValue.lowercased())/action"
        }
    }
}

extension SecretPermission {
    /// The Azure RBAC data action an access policy's secret permission stands for (List reads metadata).
    public var dataAction: String {
        let prefix = "Microsoft.KeyVault/vaults/secrets/"
        switch self {
        case .get: return prefix + "getSecret/action"
        case .list: return prefix + "readMetadata/action"
        case .set: return prefix + "setSecret/action"
        case .delete: return prefix + "delete"
        case .backup, .purge, .recover, .restore: return prefix + "\(rawValue.lowercased())/action"
        }
    }
}
