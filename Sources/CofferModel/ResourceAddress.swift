/// The five kinds of resource a manifest can declare, in the order their creation must follow.
public enum ResourceKind: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case recoveryServicesVault = "RecoveryServicesVault"
    case backupPolicy = "BackupPolicy"
    case keyVaultAccessPolicy = "KeyVaultAccessPolicy"
    case keyVaultRoleAssignment = "KeyVaultRoleAssignment"
    case protectedVM = "ProtectedVM"

    /// Position in the dependency graph: a vault before its policies, the Key Vault grants (access policy or
    /// role assignment) before the VM that needs them. Deletes run in the reverse order, so a grant is
    /// revoked only after the protection that needed it is gone.
    public var creationRank: Int {
        switch self {
        case .recoveryServicesVault: 0
        case .backupPolicy: 1
        case .keyVaultAccessPolicy: 2
        case .keyVaultRoleAssignment: 3
        case .protectedVM: 4
        }
    }

    public static func < (lhs: ResourceKind, rhs: ResourceKind) -> Bool { lhs.creationRank < rhs.creationRank }
}

/// A resource's address, `Kind/name`, as plans and diagnostics print it.
public struct ResourceAddress: Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    public var kind: ResourceKind
    public var name: String

    public init(kind: ResourceKind, name: String) {
        self.kind = kind
        self.name = name
    }

    /// Parses `Kind/name`; returns nil when the kind is unknown or the name is empty.
    public init?(parsing text: String) {
        guard let slash = text.firstIndex(of: "/"),
            let kind = ResourceKind(rawValue: String(text[..<slash]))
        else { return nil }
        let name = String(text[text.index(after: slash)...])
        guard !name.isEmpty else { return nil }
        self.init(kind: kind, name: name)
    }

    public var description: String { "\(kind.rawValue)/\(name)" }

    /// Creation order: by kind rank, then by name, so that plans are deterministic.
    public static func < (lhs: ResourceAddress, rhs: ResourceAddress) -> Bool {
        (lhs.kind.creationRank, lhs.name) < (rhs.kind.creationRank, rhs.name)
    }
}
