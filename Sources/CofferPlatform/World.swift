import CofferModel
import Foundation

/// What exists before any manifest is applied: the tenant, its subscriptions, resource groups and regions,
/// key vaults, disk encryption sets, VMs with their disks and encryption, and the operator identity.
///
/// Written as a YAML world file (see the module README for the format) and loaded with
/// ``WorldLoader``; every field has the default the README gives.
public struct World: Codable, Sendable, Hashable {
    public var tenant: String
    /// The platform clock's starting time.
    public var clock: Date
    public var operatorIdentity: OperatorIdentity
    public var subscriptions: [Subscription]
    /// The regions the world uses; resources live only in these.
    public var regions: [String]
    public var resourceGroups: [ResourceGroup]
    /// The tenant's custom role definitions, assignable on any key vault (the built-in Key Vault roles are
    /// CofferModel's `RoleDefinition.builtInKeyVaultRoles`).
    public var roleDefinitions: [RoleDefinition]
    public var keyVaults: [KeyVault]
    public var diskEncryptionSets: [DiskEncryptionSet]
    public var virtualMachines: [VirtualMachine]

    /// The clock's start when the world file does not set one.
    public static let defaultClock = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    /// A world; see the README for what each field means.
    public init(
        tenant: String, clock: Date = World.defaultClock, operatorIdentity: OperatorIdentity,
        subscriptions: [Subscription], regions: [String], resourceGroups: [ResourceGroup], roleDefinitions: [RoleDefinition] = [],
        keyVaults: [KeyVault] = [], diskEncryptionSets: [DiskEncryptionSet] = [], virtualMachines: [VirtualMachine] = []
    ) {
        self.tenant = tenant
        self.clock = clock
        self.operatorIdentity = operatorIdentity
        self.subscriptions = subscriptions
        self.regions = regions
        self.resourceGroups = resourceGroups
        self.roleDefinitions = roleDefinitions
        self.keyVaults = keyVaults
        self.diskEncryptionSets = diskEncryptionSets
        self.virtualMachines = virtualMachines
    }

    /// The subscription that resources without one belong to.
    public var defaultSubscription: Subscription? {
        subscriptions.first { $0.isDefault } ?? subscriptions.first
    }

    /// Whether the operator is a member of the tenant or a guest in it.
    public enum OperatorType: String, Codable, Sendable, Hashable, CaseIterable {
        case member
        case guest
    }

    /// The user that runs coffer against the platform.
    public struct OperatorIdentity: Codable, Sendable, Hashable {
        public var user: String
        public var type: OperatorType
        /// The user's object id in the tenant; a random one when nil.
        public var objectID: String?

        public init(user: String, type: OperatorType, objectID: String? = nil) {
            self.user = user
            self.type = type
            self.objectID = objectID
        }
    }

    /// A subscription of the tenant.
    public struct Subscription: Codable, Sendable, Hashable {
        public var name: String
        /// The subscription id, a GUID.
        public var id: String
        public var isDefault: Bool

        public init(name: String, id: String, isDefault: Bool = false) {
            self.name = name
            self.id = id
            self.isDefault = isDefault
        }
    }

    /// A resource group of a subscription.
    public struct ResourceGroup: Codable, Sendable, Hashable {
        public var name: String
        /// Where the group's metadata lives; its resources may be in any region.
        public var region: String
        /// The subscription's name; nil for the default subscription.
        public var subscription: String?

        public init(name: String, region: String, subscription: String? = nil) {
            self.name = name
            self.region = region
            self.subscription = subscription
        }
    }

    /// An RSA key in a key vault.
    public struct Key: Codable, Sendable, Hashable {
        public var name: String
        /// `RSA` (software) or `RSA-HSM`.
        public var keyType: String
        /// 2048, 3072 or 4096.
        public var size: Int
        /// Whether the key belongs to a certificate (Azure Backup supports standalone keys only).
        public var certificateBacked: Bool
        public var tags: [String: String]

        public init(name: String, keyType: String = "RSA", size: Int = 2048, certificateBacked: Bool = false,
                    tags: [String: String] = [:]) {
            self.name = name
            self.keyType = keyType
            self.size = size
            self.certificateBacked = certificateBacked
            self.tags = tags
        }
    }

    /// A secret in a key vault.
    public struct Secret: Codable, Sendable, Hashable {
        public var name: String
        public var value: String
        public var contentType: String?
        public var tags: [String: String]

        public init(name: String, value: String, contentType: String? = nil, tags: [String: String] = [:]) {
            self.name = name
            self.value = value
            self.contentType = contentType
            self.tags = tags
        }
    }

    /// Who an access policy or a role assignment of the world file grants to.
    public enum AccessPrincipal: Codable, Sendable, Hashable {
        case backupManagementService
        case operatorIdentity
        case objectID(String)
    }

    /// An access policy of a key vault: a principal and its permissions.
    public struct AccessPolicy: Codable, Sendable, Hashable {
        public var principal: AccessPrincipal
        public var keyPermissions: [KeyPermission]
        public var secretPermissions: [SecretPermission]

        public init(principal: AccessPrincipal, keyPermissions: [KeyPermission] = [],
                    secretPermissions: [SecretPermission] = []) {
            self.principal = principal
            self.keyPermissions = keyPermissions
            self.secretPermissions = secretPermissions
        }
    }

    /// A role assigned to a principal at a key vault's scope.
    public struct RoleAssignment: Codable, Sendable, Hashable {
        public var principal: AccessPrincipal
        /// A built-in Key Vault role's name or a custom role's (or either's GUID).
        public var role: String

        public init(principal: AccessPrincipal, role: String) {
            self.principal = principal
            self.role = role
        }
    }

    /// A key vault with its keys, secrets, and the grants of its permission model (access policies, or role
    /// assignments when it uses Azure RBAC).
    public struct KeyVault: Codable, Sendable, Hashable {
        public var name: String
        public var resourceGroup: String
        public var region: String
        public var subscription: String?
        public var enabledForDiskEncryption: Bool
        /// Deleted keys and secrets stay recoverable for `softDeleteRetentionDays`.
        public var softDelete: Bool
        public var softDeleteRetentionDays: Int
        /// Deleted keys and secrets cannot be purged before their retention ends; cannot be turned off.
        public var purgeProtection: Bool
        /// ARM's `enableRbacAuthorization`: the key vault uses Azure RBAC, not access policies.
        public var rbacAuthorization: Bool
        public var keys: [Key]
        public var secrets: [Secret]
        public var accessPolicies: [AccessPolicy]
        public var roleAssignments: [RoleAssignment]

        public init(
            name: String, resourceGroup: String, region: String, subscription: String? = nil,
            enabledForDiskEncryption: Bool = false, softDelete: Bool = true, softDeleteRetentionDays: Int = 90,
            purgeProtection: Bool = false, rbacAuthorization: Bool = false, keys: [Key] = [], secrets: [Secret] = [],
            accessPolicies: [AccessPolicy] = [], roleAssignments: [RoleAssignment] = []
        ) {
            self.name = name
            self.resourceGroup = resourceGroup
            self.region = region
            self.subscription = subscription
            self.enabledForDiskEncryption = enabledForDiskEncryption
            self.softDelete = softDelete
            self.softDeleteRetentionDays = softDeleteRetentionDays
            self.purgeProtection = purgeProtection
            self.rbacAuthorization = rbacAuthorization
            self.keys = keys
            self.secrets = secrets
            self.accessPolicies = accessPolicies
            self.roleAssignments = roleAssignments
        }

        /// Which grants the key vault honours.
        public var permissionModel: KeyVaultPermissionModel { rbacAuthorization ? .rbac : .accessPolicies }
    }

    /// A disk encryption set: server-side encryption with a customer key held in a key vault.
    public struct DiskEncryptionSet: Codable, Sendable, Hashable {
        public var name: String
        public var resourceGroup: String
        public var region: String
        public var subscription: String?
        public var keyVault: String
        public var key: String

        public init(name: String, resourceGroup: String, region: String, subscription: String? = nil,
                    keyVault: String, key: String) {
            self.name = name
            self.resourceGroup = resourceGroup
            self.region = region
            self.subscription = subscription
            self.keyVault = keyVault
            self.key = key
        }
    }

    /// A VM's operating system: BitLocker on Windows, dm-crypt on Linux for ADE.
    public enum OperatingSystem: String, Codable, Sendable, Hashable, CaseIterable {
        case windows
        case linux
    }

    /// The state of the VM agent, which backups need running.
    public enum AgentState: String, Codable, Sendable, Hashable, CaseIterable {
        case running
        case stopped
        case absent
    }

    /// A disk of a VM: the OS disk or a data disk at a LUN.
    public struct Disk: Codable, Sendable, Hashable {
        /// The data disk's LUN; nil for the OS disk.
        public var lun: Int?
        public var sizeGiB: Int
        /// Managed disk, or an unmanaged page blob in a storage account.
        public var managed: Bool

        public init(lun: Int? = nil, sizeGiB: Int, managed: Bool = true) {
            self.lun = lun
            self.sizeGiB = sizeGiB
            self.managed = managed
        }
    }

    /// How a VM's disks are encrypted.
    public enum Encryption: Codable, Sendable, Hashable {
        /// Server-side encryption with a platform-managed key (the default).
        case ssePlatformKey
        /// Server-side encryption with a customer key through a disk encryption set.
        case sseCustomerKey(diskEncryptionSet: String)
        /// Azure Disk Encryption (BitLocker on Windows, dm-crypt on Linux) with its BEK in `keyVault`, wrapped by
        /// the key `kek` of that vault when given; `aadClientID` for the older version with an Azure AD app.
        case ade(keyVault: String, kek: String?, aadClientID: String?)

        /// The kind the provider reports.
        public var kind: VMEncryptionKind {
            switch self {
            case .ssePlatformKey: .ssePlatformKey
            case .sseCustomerKey: .sseCustomerKey
            case .ade(_, let kek, _): kek == nil ? .adeBEKOnly : .adeBEKAndKEK
            }
        }
    }

    /// Data the guest writes when the world is created: `length` bytes generated from `seed` at `offset`.
    public struct InitialData: Codable, Sendable, Hashable {
        public var disk: DiskSlot
        public var offset: UInt64
        public var length: UInt64
        public var seed: UInt64

        public init(disk: DiskSlot, offset: UInt64, length: UInt64, seed: UInt64) {
            self.disk = disk
            self.offset = offset
            self.length = length
            self.seed = seed
        }
    }

    /// A virtual machine with its disks, encryption and initial data.
    public struct VirtualMachine: Codable, Sendable, Hashable {
        public var name: String
        public var os: OperatingSystem
        public var region: String
        public var resourceGroup: String
        public var subscription: String?
        public var agent: AgentState
        /// Standard or Trusted Launch (secure boot and a virtual TPM; backed up with Enhanced policies only).
        public var securityType: VMSecurityType
        public var osDisk: Disk
        public var dataDisks: [Disk]
        public var encryption: Encryption
        public var initialData: [InitialData]

        public init(
            name: String, os: OperatingSystem, region: String, resourceGroup: String, subscription: String? = nil,
            agent: AgentState = .running, osDisk: Disk, dataDisks: [Disk] = [], encryption: Encryption = .ssePlatformKey,
            initialData: [InitialData] = [], securityType: VMSecurityType = .standard
        ) {
            self.name = name
            self.os = os
            self.region = region
            self.resourceGroup = resourceGroup
            self.subscription = subscription
            self.agent = agent
            self.securityType = securityType
            self.osDisk = osDisk
            self.dataDisks = dataDisks
            self.encryption = encryption
            self.initialData = initialData
        }
    }
}

/// Which disk of a VM: the OS disk or a data disk by LUN.
public enum DiskSlot: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    case os
    case lun(Int)

    /// Parses `os` or a LUN number.
    public init?(parsing text: String) {
        if text.lowercased() == "os" {
            self = .os
        } else if let lun = Int(text), lun >= 0 {
            self = .lun(lun)
        } else {
            return nil
        }
    }

    /// The number stored for the slot: -1 for the OS disk, else the LUN.
    var storedValue: Int {
        switch self {
        case .os: -1
        case .lun(let lun): lun
        }
    }

    init(storedValue: Int) {
        self = storedValue < 0 ? .os : .lun(storedValue)
    }

    public var description: String {
        switch self {
        case .os: "os"
        case .lun(let lun): String(lun)
        }
    }

    public static func < (lhs: DiskSlot, rhs: DiskSlot) -> Bool { lhs.storedValue < rhs.storedValue }

    /// Decodes `os` or a LUN, as a string or a number.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let lun = try? container.decode(Int.self), lun >= 0 {
            self = .lun(lun)
            return
        }
        let text = try container.decode(String.self)
        guard let slot = DiskSlot(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not 'os' or a LUN")
        }
        self = slot
    }

    /// Encodes `os` or the LUN as a string.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
