/// A resource as the platform holds it, read back through the provider.
public struct ObservedResource: Codable, Sendable, Hashable {
    /// The platform's id for the resource (an ARM-style id).
    public var id: String
    /// The spec read back, normalised with the same defaults the manifests use. Name references (a policy's
    /// vault, a protected VM's policy) use the platform names.
    public var spec: ResourceSpec
    /// The platform name of the resource (vault name, policy name, VM name, principal object id).
    public var name: String
    /// Tags on the platform resource; `managed-by: coffer` marks what coffer created.
    public var tags: [String: String]
    /// Read-only facts the plan may need, typed by kind: a vault's registered items, a protected item's
    /// protection status, and the like.
    public var status: ObservedStatus

    public init(id: String, spec: ResourceSpec, name: String, tags: [String: String] = [:], status: ObservedStatus = .none) {
        self.id = id
        self.spec = spec
        self.name = name
        self.tags = tags
        self.status = status
    }

    public static let managedByTag = "managed-by"
    public static let managedByValue = "coffer"
}

/// The read-only status of an observed resource, one shape per kind (ARM's `properties` that a spec does
/// not set).
public enum ObservedStatus: Codable, Sendable, Hashable {
    /// No status (a key vault access policy or role assignment has none).
    case none
    case vault(VaultStatus)
    case backupPolicy(BackupPolicyStatus)
    case protectedVM(ProtectedItemStatus)

    public var vault: VaultStatus? { if case .vault(let status) = self { status } else { nil } }
    public var backupPolicy: BackupPolicyStatus? { if case .backupPolicy(let status) = self { status } else { nil } }
    public var protectedVM: ProtectedItemStatus? { if case .protectedVM(let status) = self { status } else { nil } }
}

/// What a Recovery Services vault reports beyond its spec.
public struct VaultStatus: Codable, Sendable, Hashable {
    /// Backup items registered in the vault, soft-deleted ones included.
    public var registeredItems: Int
    /// The principal id of the vault's system-assigned identity, when it has one.
    public var identityPrincipalID: String?

    /// Storage redundancy can no longer change once an item is registered.
    public var storageRedundancyLocked: Bool { registeredItems > 0 }

    public init(registeredItems: Int = 0, identityPrincipalID: String? = nil) {
        self.registeredItems = registeredItems
        self.identityPrincipalID = identityPrincipalID
    }
}

/// What a backup policy reports beyond its spec.
public struct BackupPolicyStatus: Codable, Sendable, Hashable {
    /// Protected items that use the policy.
    public var protectedItems: Int

    public init(protectedItems: Int = 0) {
        self.protectedItems = protectedItems
    }
}

/// The protection state of a backup item, as the service names it.
public enum ProtectionStatus: String, Codable, Sendable, Hashable, CaseIterable {
    /// Protection enabled, no recovery point yet.
    case irPending = "IRPending"
    case protected = "Protected"
    /// Stopped, data retained forever.
    case protectionStopped = "ProtectionStopped"
    /// Stopped, data retained as per policy (immutable vaults).
    case backupsSuspended = "BackupsSuspended"
    /// Stopped with data deleted, within the vault's soft-delete period.
    case softDeleted = "SoftDeleted"
}

/// What a protected item reports beyond its spec.
public struct ProtectedItemStatus: Codable, Sendable, Hashable {
    public var protectionStatus: ProtectionStatus
    /// The number of recovery points the item has.
    public var recoveryPoints: Int
    /// The id of the protected VM.
    public var vmID: String
    /// The status of the newest finished backup job (`Completed`, `Failed`, ...), if any ran.
    public var lastBackupStatus: String?
    /// When the newest backup was taken: an ISO 8601 UTC time, as the service reports it.
    public var lastBackupTime: String?

    public init(
        protectionStatus: ProtectionStatus, recoveryPoints: Int = 0, vmID: String, lastBackupStatus: String? = nil,
        lastBackupTime: String? = nil
    ) {
        self.protectionStatus = protectionStatus
        self.recoveryPoints = recoveryPoints
        self.vmID = vmID
        self.lastBackupStatus = lastBackupStatus
        self.lastBackupTime = lastBackupTime
    }
}

/// How a VM's disks are encrypted, as far as the backup service cares.
public enum VMEncryptionKind: String, Codable, Sendable, Hashable {
    /// Server-side encryption with a platform-managed key.
    case ssePlatformKey = "sse-pmk"
    /// Server-side encryption with a customer-managed key through a disk encryption set.
    case sseCustomerKey = "sse-cmk"
    /// Azure Disk Encryption with the BEK only.
    case adeBEKOnly = "ade-bek"
    /// Azure Disk Encryption with the BEK wrapped by a KEK.
    case adeBEKAndKEK = "ade-bek-kek"

    public var isADE: Bool { self == .adeBEKOnly || self == .adeBEKAndKEK }
}

/// A disk of a VM: its LUN (-1 for the OS disk) and size.
public struct DiskFacts: Codable, Sendable, Hashable {
    public var lun: Int
    public var sizeGiB: Int

    public init(lun: Int, sizeGiB: Int) {
        self.lun = lun
        self.sizeGiB = sizeGiB
    }
}

/// A disk encryption set: the key vault key it encrypts its disks' keys with, and the identity that uses it.
public struct DiskEncryptionSetFacts: Codable, Sendable, Hashable {
    public var name: String
    public var keyVault: String
    public var key: String
    /// The object id of the set's managed identity, which needs Get, WrapKey and UnwrapKey on the key.
    public var identityObjectID: String

    public init(name: String, keyVault: String, key: String, identityObjectID: String) {
        self.name = name
        self.keyVault = keyVault
        self.key = key
        self.identityObjectID = identityObjectID
    }
}

/// A VM's backup item as the platform holds it: its vault, policy and protection status.
public struct VMProtectionFacts: Codable, Sendable, Hashable {
    public var vault: String
    public var policy: String?
    public var status: ProtectionStatus
    /// Recovery points the item has.
    public var recoveryPoints: Int

    public init(vault: String, policy: String?, status: ProtectionStatus, recoveryPoints: Int = 0) {
        self.vault = vault
        self.policy = policy
        self.status = status
        self.recoveryPoints = recoveryPoints
    }
}

/// A VM's security type, as compute names it (`securityProfile.securityType`): a Trusted Launch VM (secure
/// boot and a virtual TPM) is backed up with an Enhanced policy only.
public enum VMSecurityType: String, Codable, Sendable, Hashable, CaseIterable {
    case standard = "Standard"
    case trustedLaunch = "TrustedLaunch"
}

/// What the plan needs to know about a VM to predict whether backing it up will work.
public struct VirtualMachineFacts: Codable, Sendable, Hashable {
    public var id: String
    public var reference: VMReference
    public var subscription: String
    public var region: String
    public var os: String
    public var securityType: VMSecurityType
    public var encryption: VMEncryptionKind
    /// The key vault that holds the BEK (and KEK) of an ADE VM.
    public var keyVault: String?
    /// The name of the Key Vault secret that holds an ADE VM's BEK (a reference, never the value).
    public var bekSecret: String?
    /// The name of the Key Vault key that wraps an ADE VM's BEK, when it has a KEK.
    public var kek: String?
    /// Whether the KEK belongs to a certificate (unsupported by the backup service).
    public var kekIsCertificateBacked: Bool
    /// `running`, `stopped` or `absent`.
    public var agentState: String
    /// The VM's disks, the OS disk first.
    public var disks: [DiskFacts]
    /// The disk encryption set of an SSE-CMK VM's disks.
    public var diskEncryptionSet: DiskEncryptionSetFacts?
    /// The VM's backup item, soft-deleted ones included, if it has one.
    public var protection: VMProtectionFacts?

    /// The name of the vault that protects the VM now, if any (a soft-deleted item counts: its vault keeps it).
    public var protectedBy: String? { protection?.vault }

    public init(
        id: String, reference: VMReference, subscription: String, region: String, os: String,
        encryption: VMEncryptionKind, keyVault: String? = nil, bekSecret: String? = nil, kek: String? = nil,
        kekIsCertificateBacked: Bool = false, agentState: String = "running", disks: [DiskFacts] = [],
        diskEncryptionSet: DiskEncryptionSetFacts? = nil, protection: VMProtectionFacts? = nil, securityType: VMSecurityType = .standard
    ) {
        self.id = id
        self.reference = reference
        self.subscription = subscription
        self.region = region
        self.os = os
        self.securityType = securityType
        self.encryption = encryption
        self.keyVault = keyVault
        self.bekSecret = bekSecret
        self.kek = kek
        self.kekIsCertificateBacked = kekIsCertificateBacked
        self.agentState = agentState
        self.disks = disks
        self.diskEncryptionSet = diskEncryptionSet
        self.protection = protection
    }
}

/// What the plan needs to know about a key vault: its permission model and the grants of both models.
public struct KeyVaultFacts: Codable, Sendable, Hashable {
    public struct AccessEntry: Codable, Sendable, Hashable {
        public var objectID: String
        public var keyPermissions: [KeyPermission]
        public var secretPermissions: [SecretPermission]
        public init(objectID: String, keyPermissions: [KeyPermission], secretPermissions: [SecretPermission]) {
            self.objectID = objectID
            self.keyPermissions = keyPermissions
            self.secretPermissions = secretPermissions
        }
    }

    /// A key the key vault holds (not deleted), by name.
    public struct KeyEntry: Codable, Sendable, Hashable {
        public var name: String
        public var certificateBacked: Bool
        public init(name: String, certificateBacked: Bool = false) {
            self.name = name
            self.certificateBacked = certificateBacked
        }
    }

    /// A role assigned to a principal at the key vault's scope, with the role's definition resolved.
    public struct RoleAssignmentEntry: Codable, Sendable, Hashable {
        public var objectID: String
        public var role: RoleDefinition
        public init(objectID: String, role: RoleDefinition) {
            self.objectID = objectID
            self.role = role
        }
    }

    public var id: String
    public var name: String
    public var subscription: String
    public var region: String
    /// Which of its two permission models the key vault honours.
    public var permissionModel: KeyVaultPermissionModel
    public var accessPolicies: [AccessEntry]
    public var roleAssignments: [RoleAssignmentEntry]
    /// The custom roles of the tenant that can be assigned on the key vault (the built-in Key Vault roles
    /// always can: `RoleDefinition.builtInKeyVaultRoles`).
    public var customRoles: [RoleDefinition]
    /// The object id of the Backup Management Service principal in this tenant.
    public var backupManagementServiceObjectID: String
    public var softDelete: Bool
    public var purgeProtection: Bool
    /// The keys the key vault holds, deleted ones left out.
    public var keys: [KeyEntry]
    /// The names of the secrets the key vault holds, deleted ones left out (names only, never values).
    public var secrets: [String]
    /// The VMs whose disk keys live here (ADE VMs, and VMs whose disk encryption set uses a key here).
    public var encryptedVMs: [VMReference]

    public init(
        id: String, name: String, subscription: String, region: String, permissionModel: KeyVaultPermissionModel = .accessPolicies,
        accessPolicies: [AccessEntry], roleAssignments: [RoleAssignmentEntry] = [], customRoles: [RoleDefinition] = [],
        backupManagementServiceObjectID: String, softDelete: Bool = true, purgeProtection: Bool = true,
        keys: [KeyEntry] = [], secrets: [String] = [], encryptedVMs: [VMReference] = []
    ) {
        self.id = id
        self.name = name
        self.subscription = subscription
        self.region = region
        self.permissionModel = permissionModel
        self.accessPolicies = accessPolicies
        self.roleAssignments = roleAssignments
        self.customRoles = customRoles
        self.backupManagementServiceObjectID = backupManagementServiceObjectID
        self.softDelete = softDelete
        self.purgeProtection = purgeProtection
        self.keys = keys
        self.secrets = secrets
        self.encryptedVMs = encryptedVMs
    }

    /// The key named `name` (names compare case-insensitively, as Key Vault's do), if the key vault holds it.
    public func key(named name: String) -> KeyEntry? {
        let lowered = name.lowercased()
        return keys.first { $0.name.lowercased() == lowered }
    }

    /// Whether the key vault holds a secret named `name`.
    public func hasSecret(named name: String) -> Bool {
        let lowered = name.lowercased()
        return secrets.contains { $0.lowercased() == lowered }
    }

    /// The access policy of `objectID`, if it has one.
    public func accessPolicy(of objectID: String) -> AccessEntry? {
        let lowered = objectID.lowercased()
        return accessPolicies.first { $0.objectID.lowercased() == lowered }
    }

    /// The role with this name or GUID that can be assigned here: a built-in Key Vault role, else one of
    /// `customRoles`; names compare case-insensitively.
    public func roleDefinition(_ nameOrID: String) -> RoleDefinition? {
        if let builtIn = RoleDefinition.builtIn(nameOrID) { return builtIn }
        let wanted = nameOrID.lowercased()
        return customRoles.first { $0.name.lowercased() == wanted || $0.id == wanted }
    }

    /// The object id a principal has in this key vault's tenant.
    public func objectID(of principal: Principal) -> String {
        switch principal {
        case .backupManagementService: backupManagementServiceObjectID
        case .objectID(let id): id.lowercased()
        }
    }
}

/// An error from a provider, with the platform's error code (`UserErrorKeyVaultPermissionsNotConfigured`,
/// `StorageModelModifyError`, ...).
public struct ProviderError: CofferError, Hashable, Codable {
    public var code: String
    public var message: String
    public var hint: String?
    /// Whether trying again later may succeed (a busy resource), as opposed to a rule that refuses.
    public var retryable: Bool
    /// The error that caused this one, in this process only: it is neither encoded nor compared.
    public var underlying: (any Error)?

    public init(code: String, message: String, hint: String? = nil, retryable: Bool = false, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.retryable = retryable
        self.underlying = underlying
    }

    private enum CodingKeys: String, CodingKey {
        case code, message, hint, retryable
    }

    /// The provider's error code.
    public var errorCode: String { code }

    public static func == (lhs: ProviderError, rhs: ProviderError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.hint == rhs.hint && lhs.retryable == rhs.retryable
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(hint)
        hasher.combine(retryable)
    }

    public var description: String { "\(code): \(message)" }
}

/// A resource to resolve the id of: its manifest name (the platform name) and spec.
public struct ResourceDeclaration: Sendable, Hashable {
    public var name: String
    public var spec: ResourceSpec

    public init(name: String, spec: ResourceSpec) {
        self.name = name
        self.spec = spec
    }
}

/// A resource group: its subscription (a name or id; nil for the platform's default) and name.
public struct ResourceGroupReference: Sendable, Hashable, Codable {
    public var subscription: String?
    public var name: String

    public init(subscription: String?, name: String) {
        self.subscription = subscription
        self.name = name
    }
}

/// A resource to read: its kind and id.
public struct ResourceReference: Sendable, Hashable {
    public var kind: ResourceKind
    public var id: String

    public init(kind: ResourceKind, id: String) {
        self.kind = kind
        self.id = id
    }
}

/// The parents a child's id derives from when the platform does not hold them yet: the vaults the
/// desired state declares, by name. ARM builds a policy's or protected item's id from its vault's id, and a
/// vault's id from its spec (subscription, resource group, name), so a child of a vault that is not created
/// yet has the id it will really have.
public struct ResourceParents: Sendable, Hashable {
    public var vaults: [String: VaultSpec]

    public init(vaults: [String: VaultSpec] = [:]) {
        self.vaults = vaults
    }

    /// The vaults `desired` declares (the first of a name).
    public init(desired: DesiredState) {
        var vaults: [String: VaultSpec] = [:]
        for resource in desired.resources {
            if case .vault(let spec) = resource.spec, vaults[resource.address.name] == nil { vaults[resource.address.name] = spec }
        }
        self.vaults = vaults
    }

    /// The vaults among `specs` (the first of a name).
    public init(_ specs: [(name: String, spec: ResourceSpec)]) {
        var vaults: [String: VaultSpec] = [:]
        for (name, spec) in specs {
            if case .vault(let vault) = spec, vaults[name] == nil { vaults[name] = vault }
        }
        self.vaults = vaults
    }

    /// The vault spec declared under `name`, matching names case-insensitively as the platform does.
    public func vault(_ name: String) -> VaultSpec? {
        if let exact = vaults[name] { return exact }
        let lowered = name.lowercased()
        return vaults.first { $0.key.lowercased() == lowered }?.value
    }
}

/// The platform as the reconciler sees it, at one moment: what a plan reads, answered from one consistent
/// view. A provider takes it with `Provider.snapshot()`; an embedded platform answers it from one read
/// transaction, an HTTP provider from a few list calls (vaults, policies, protected items, VMs, key vaults
/// with their access policies, role assignments at their scope and the tenant's custom roles). It is a
/// value: nothing in it changes once taken, and nothing is cached in the provider.
///
/// Every batch method answers in the order asked.
public protocol ProviderSnapshot: Sendable {
    /// The ids of many resources (see `Provider.resourceID(name:spec:parents:)`), resolved against this
    /// view of the platform and `parents`; nil where the id cannot be known.
    func resourceIDs(_ resources: [ResourceDeclaration], parents: ResourceParents) async throws -> [String?]

    /// Many resources by kind and id (see `Provider.read(kind:id:)`).
    func read(_ requests: [ResourceReference]) async throws -> [ObservedResource?]

    /// Facts about many VMs; nil for a VM the platform does not have.
    func virtualMachines(_ references: [VMReference]) async throws -> [VirtualMachineFacts?]

    /// Facts about many key vaults; nil for a key vault the platform does not have.
    func keyVaults(named names: [String]) async throws -> [KeyVaultFacts?]

    /// Whether each resource group exists (a subscription the platform does not have has none).
    func resourceGroupsExist(_ groups: [ResourceGroupReference]) async throws -> [Bool]

    /// The regions the platform offers, as lower-case ARM names.
    func availableRegions() async throws -> [String]

    /// The platform's clock when the snapshot was taken, as an ISO 8601 UTC time, when the provider knows it
    /// (the embedded platform does; an ARM endpoint does not say): what a plan dates the purge of soft-deleted
    /// data by.
    var platformTime: String? { get }

    /// Whether enabling protection of an ADE VM grants the Backup Management Service its Key Vault access
    /// by itself: true when the operator is a member of the key vault's tenant, false for a guest. Only an
    /// access policy is granted so: on a key vault that uses Azure RBAC the role must be assigned.
    var operatorGrantsKeyVaultAccess: Bool { get }
}

extension ProviderSnapshot {
    public var platformTime: String? { nil }
}

/// The platform as the reconciler sees it: read, create, update and delete for the five manifest kinds,
/// and a snapshot of what a plan reads. The embedded platform implements it; a REST client of an ARM-like
/// API can too, without touching the reconciler. Every call is `async`: a remote provider waits on the
/// network, the embedded one on its database.
///
/// Name references inside specs (a policy's `vault`, a protected VM's `vault` and `policy`) are platform
/// names: the reconciler passes manifest names, which are the platform names of vaults and policies.
public protocol Provider: Sendable {
    /// The id the resource with this name and spec has, or would have once created, built the way ARM
    /// builds it: a child's id from its vault's (the platform's vault, else the one in `parents`). Nil when
    /// it cannot be known: a child of a vault neither on the platform nor in `parents`, or an access policy
    /// or role assignment of a key vault the platform does not have. Never a made-up id. Throws when a
    /// subscription is unknown. A role assignment's id ends in a GUID derived from its scope, principal and
    /// role (`RoleDefinition.assignmentName`), so it too is known before the assignment exists.
    func resourceID(name: String, spec: ResourceSpec, parents: ResourceParents) async throws -> String?

    /// The resource with this id, or nil when the platform has none (soft-deleted protected items count as
    /// gone).
    func read(kind: ResourceKind, id: String) async throws -> ObservedResource?

    /// Creates the resource, tagging it `managed-by: coffer` where the kind has tags; fails with the
    /// platform's code when a rule refuses it.
    func create(name: String, spec: ResourceSpec) async throws -> ObservedResource

    /// Updates the resource in place.
    func update(id: String, name: String, spec: ResourceSpec) async throws -> ObservedResource

    /// Deletes the resource. For a protected VM, `deletionPolicy` says whether the data is kept (stop
    /// protection, retain data) or deleted.
    func delete(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) async throws

    /// The platform as it is now, for a plan: see `ProviderSnapshot`.
    func snapshot() async throws -> any ProviderSnapshot
}

extension Provider {
    /// The id of a resource whose parents are on the platform (or that has none).
    public func resourceID(name: String, spec: ResourceSpec) async throws -> String? {
        try await resourceID(name: name, spec: spec, parents: ResourceParents())
    }
}
