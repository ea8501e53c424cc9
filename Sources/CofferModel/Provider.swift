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
    /// Read-only facts the plan may need: `registeredItems` for a vault, `protectionStatus`, and the like.
    public var computed: [String: String]

    public init(id: String, spec: ResourceSpec, name: String, tags: [String: String] = [:], computed: [String: String] = [:]) {
        self.id = id
        self.spec = spec
        self.name = name
        self.tags = tags
        self.computed = computed
    }

    public static let managedByTag = "managed-by"
    public static let managedByValue = "coffer"
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

/// What the plan needs to know about a VM to predict whether backing it up will work.
public struct VirtualMachineFacts: Codable, Sendable, Hashable {
    public var id: String
    public var reference: VMReference
    public var subscription: String
    public var region: String
    public var os: String
    public var encryption: VMEncryptionKind
    /// The key vault that holds the BEK (and KEK) of an ADE VM.
    public var keyVault: String?
    /// Whether the KEK belongs to a certificate (unsupported by the backup service).
    public var kekIsCertificateBacked: Bool
    /// `running`, `stopped` or `absent`.
    public var agentState: String
    /// The name of the vault that protects the VM now, if any.
    public var protectedBy: String?

    public init(
        id: String, reference: VMReference, subscription: String, region: String, os: String,
        encryption: VMEncryptionKind, keyVault: String? = nil, kekIsCertificateBacked: Bool = false,
        agentState: String = "running", protectedBy: String? = nil
    ) {
        self.id = id
        self.reference = reference
        self.subscription = subscription
        self.region = region
        self.os = os
        self.encryption = encryption
        self.keyVault = keyVault
        self.kekIsCertificateBacked = kekIsCertificateBacked
        self.agentState = agentState
        self.protectedBy = protectedBy
    }
}

/// What the plan needs to know about a key vault.
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

    public var id: String
    public var name: String
    public var subscription: String
    public var region: String
    public var accessPolicies: [AccessEntry]
    /// The object id of the Backup Management Service principal in this tenant.
    public var backupManagementServiceObjectID: String

    public init(
        id: String, name: String, subscription: String, region: String, accessPolicies: [AccessEntry],
        backupManagementServiceObjectID: String
    ) {
        self.id = id
        self.name = name
        self.subscription = subscription
        self.region = region
        self.accessPolicies = accessPolicies
        self.backupManagementServiceObjectID = backupManagementServiceObjectID
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

/// The platform as the reconciler sees it: read, create, update and delete for the four manifest kinds,
/// plus the facts that plan-time checks need. The simulated platform implements it; a REST client of an
/// ARM-like API could too, without touching the reconciler.
///
/// Name references inside specs (a policy's `vault`, a protected VM's `vault` and `policy`) are platform
/// names: the reconciler passes manifest names, which are the platform names of vaults and policies.
public protocol Provider: Sendable {
    /// The id the resource with this name and spec has, or would have once created. Pure: no I/O beyond
    /// reading defaults such as the default subscription.
    func resourceID(name: String, spec: ResourceSpec) throws -> String

    /// The resource with this id, or nil when the platform has none (soft-deleted protected items count as
    /// gone).
    func read(kind: ResourceKind, id: String) throws -> ObservedResource?

    /// Creates the resource, tagging it `managed-by: coffer` where the kind has tags; fails with the
    /// platform's code when a rule refuses it.
    func create(name: String, spec: ResourceSpec) throws -> ObservedResource

    /// Updates the resource in place.
    func update(id: String, name: String, spec: ResourceSpec) throws -> ObservedResource

    /// Deletes the resource. For a protected VM, `deletionPolicy` says whether the data is kept (stop
    /// protection, retain data) or deleted.
    func delete(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) throws

    /// Facts about a VM, or nil when there is no such VM.
    func virtualMachine(_ reference: VMReference) throws -> VirtualMachineFacts?

    /// Facts about a key vault, or nil when there is none with that name.
    func keyVault(named name: String) throws -> KeyVaultFacts?

    /// Whether enabling protection of an ADE VM grants the Backup Management Service its Key Vault access
    /// by itself: true when the operator is a member of the key vault's tenant, false for a guest.
    func operatorGrantsKeyVaultAccess() throws -> Bool

    // Batch forms, which a refresh of many resources uses. Each answers in the order asked; a provider
    // that can should answer from one consistent view of the platform and in one round trip. The defaults
    // ask one at a time.

    /// The ids of many resources (see `resourceID(name:spec:)`).
    func resourceIDs(_ resources: [(name: String, spec: ResourceSpec)]) throws -> [String]

    /// Many resources by kind and id (see `read(kind:id:)`).
    func read(_ requests: [(kind: ResourceKind, id: String)]) throws -> [ObservedResource?]

    /// Facts about many VMs (see `virtualMachine(_:)`).
    func virtualMachines(_ references: [VMReference]) throws -> [VirtualMachineFacts?]

    /// Facts about many key vaults (see `keyVault(named:)`).
    func keyVaults(named names: [String]) throws -> [KeyVaultFacts?]

    /// Starts a refresh of many resources. The planner calls it on a second thread while it loads the
    /// manifests; a provider may read the platform now and answer the batch reads that follow from that one
    /// consistent read, until `endRefresh` or until it changes the platform itself.
    func beginRefresh() throws

    /// Ends what `beginRefresh` started; the reads that follow see the platform as it is again.
    func endRefresh()
}

extension Provider {
    /// By default nothing is granted automatically: the manifests must declare the access.
    public func operatorGrantsKeyVaultAccess() throws -> Bool { false }

    public func resourceIDs(_ resources: [(name: String, spec: ResourceSpec)]) throws -> [String] {
        try resources.map { try resourceID(name: $0.name, spec: $0.spec) }
    }

    public func read(_ requests: [(kind: ResourceKind, id: String)]) throws -> [ObservedResource?] {
        try requests.map { try read(kind: $0.kind, id: $0.id) }
    }

    public func virtualMachines(_ references: [VMReference]) throws -> [VirtualMachineFacts?] {
        try references.map { try virtualMachine($0) }
    }

    public func keyVaults(named names: [String]) throws -> [KeyVaultFacts?] {
        try names.map { try keyVault(named: $0) }
    }

    public func beginRefresh() throws {}
    public func endRefresh() {}
}
