public import CofferModel

/// The Key Vault access each principal of a backup needs, and what a key vault's access policies leave
/// missing (reference section 3).
public enum KeyVaultAccess {
    /// What a principal needs on a key vault: key and secret permissions.
    public struct Need: Sendable, Hashable {
        public var keys: Set<KeyPermission>
        public var secrets: Set<SecretPermission>
        public var isEmpty: Bool { keys.isEmpty && secrets.isEmpty }

        public init(keys: Set<KeyPermission> = [], secrets: Set<SecretPermission> = []) {
            self.keys = keys
            self.secrets = secrets
        }

        /// "keys Backup, Get and secrets List": the permissions in words, sorted.
        public var words: String {
            var parts: [String] = []
            if !keys.isEmpty { parts.append("keys " + keys.map(\.rawValue).sorted().joined(separator: ", ")) }
            if !secrets.isEmpty { parts.append("secrets " + secrets.map(\.rawValue).sorted().joined(separator: ", ")) }
            return parts.joined(separator: " and ")
        }
    }

    /// What the Backup Management Service needs for a VM encrypted as `encryption`: for ADE, secrets Get,
    /// List, Backup, and with a KEK keys Get, List, Backup too; nothing otherwise.
    public static func backupManagementServiceNeed(_ encryption: VMEncryptionKind) -> Need {
        switch encryption {
        case .adeBEKOnly: Need(secrets: [.get, .list, .backup])
        case .adeBEKAndKEK: Need(keys: [.get, .list, .backup], secrets: [.get, .list, .backup])
        case .ssePlatformKey, .sseCustomerKey: Need()
        }
    }

    /// What an identity that wraps keys with a key vault key needs: a disk encryption set's, or a Recovery
    /// Services vault's for its customer key.
    public static let keyWrappingNeed = Need(keys: [.get, .wrapKey, .unwrapKey])

    /// The part of `need` that `objectID`'s access policy on `keyVault` does not grant.
    public static func missing(_ need: Need, objectID: String, on keyVault: KeyVaultFacts) -> Need {
        let entry = keyVault.accessPolicy(of: objectID)
        return Need(
            keys: need.keys.subtracting(entry?.keyPermissions ?? []),
            secrets: need.secrets.subtracting(entry?.secretPermissions ?? []))
    }
}
