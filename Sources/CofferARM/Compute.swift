/// A virtual machine (`Microsoft.Compute/virtualMachines`) as far as backup looks at it: its disks, their
/// encryption (ADE's key references, the disk encryption set of SSE with a customer key) and the ADE
/// extension's settings.
public struct VirtualMachineResource: Codable, Sendable, Hashable {
    public static let type = "Microsoft.Compute/virtualMachines"

    public var id: String
    public var name: String
    public var type: String = Self.type
    public var location: String
    public var properties: Properties
    /// Extensions (the ADE one for an ADE VM).
    public var resources: [ExtensionResource]?

    public struct Properties: Codable, Sendable, Hashable {
        public var vmId: String
        public var provisioningState = "Succeeded"
        public var storageProfile: StorageProfile
        /// Present for a Trusted Launch VM (`securityType: TrustedLaunch`, secure boot and vTPM on); compute
        /// leaves it out for a Standard VM.
        public var securityProfile: SecurityProfile?
        public var instanceView: InstanceView?

        public init(vmId: String, storageProfile: StorageProfile, securityProfile: SecurityProfile? = nil, instanceView: InstanceView?) {
            self.vmId = vmId
            self.storageProfile = storageProfile
            self.securityProfile = securityProfile
            self.instanceView = instanceView
        }
    }

    public struct SecurityProfile: Codable, Sendable, Hashable {
        /// `TrustedLaunch`, `ConfidentialVM`; absent (or `Standard`) for a Standard VM.
        public var securityType: String?
        public var uefiSettings: UefiSettings?
        public init(securityType: String?, uefiSettings: UefiSettings?) {
            self.securityType = securityType
            self.uefiSettings = uefiSettings
        }

        /// A Trusted Launch VM's profile, as compute shows one created with the defaults.
        public static let trustedLaunch = SecurityProfile(
            securityType: "TrustedLaunch", uefiSettings: UefiSettings(secureBootEnabled: true, vTpmEnabled: true))
    }

    public struct UefiSettings: Codable, Sendable, Hashable {
        public var secureBootEnabled: Bool
        public var vTpmEnabled: Bool
        public init(secureBootEnabled: Bool, vTpmEnabled: Bool) {
            self.secureBootEnabled = secureBootEnabled
            self.vTpmEnabled = vTpmEnabled
        }
    }

    public struct StorageProfile: Codable, Sendable, Hashable {
        public var osDisk: OSDisk
        public var dataDisks: [DataDisk]
        public init(osDisk: OSDisk, dataDisks: [DataDisk]) {
            self.osDisk = osDisk
            self.dataDisks = dataDisks
        }
    }

    public struct OSDisk: Codable, Sendable, Hashable {
        /// `Windows`, `Linux`.
        public var osType: String
        public var name: String
        public var createOption = "FromImage"
        public var diskSizeGB: Int
        public var managedDisk: ManagedDisk?
        public var vhd: VirtualHardDisk?
        /// ADE 1.0 (dual pass) settings, when the VM has them.
        public var encryptionSettings: EncryptionSettings?

        public init(osType: String, name: String, diskSizeGB: Int, managedDisk: ManagedDisk?, vhd: VirtualHardDisk?, encryptionSettings: EncryptionSettings?) {
            self.osType = osType
            self.name = name
            self.diskSizeGB = diskSizeGB
            self.managedDisk = managedDisk
            self.vhd = vhd
            self.encryptionSettings = encryptionSettings
        }
    }

    public struct DataDisk: Codable, Sendable, Hashable {
        public var lun: Int
        public var name: String
        public var createOption = "Empty"
        public var diskSizeGB: Int
        public var managedDisk: ManagedDisk?
        public var vhd: VirtualHardDisk?

        public init(lun: Int, name: String, diskSizeGB: Int, managedDisk: ManagedDisk?, vhd: VirtualHardDisk?) {
            self.lun = lun
            self.name = name
            self.diskSizeGB = diskSizeGB
            self.managedDisk = managedDisk
            self.vhd = vhd
        }
    }

    public struct ManagedDisk: Codable, Sendable, Hashable {
        public var id: String
        public var storageAccountType = "Premium_LRS"
        public var diskEncryptionSet: SubResource?
        public init(id: String, diskEncryptionSet: SubResource?) {
            self.id = id
            self.diskEncryptionSet = diskEncryptionSet
        }
    }

    public struct VirtualHardDisk: Codable, Sendable, Hashable {
        public var uri: String
        public init(uri: String) { self.uri = uri }
    }

    public struct SubResource: Codable, Sendable, Hashable {
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct EncryptionSettings: Codable, Sendable, Hashable {
        public var enabled: Bool
        public var diskEncryptionKey: SecretReference?
        public var keyEncryptionKey: KeyReference?
        public init(enabled: Bool, diskEncryptionKey: SecretReference?, keyEncryptionKey: KeyReference?) {
            self.enabled = enabled
            self.diskEncryptionKey = diskEncryptionKey
            self.keyEncryptionKey = keyEncryptionKey
        }
    }

    public struct SecretReference: Codable, Sendable, Hashable {
        public var secretUrl: String
        public var sourceVault: SubResource
        public init(secretUrl: String, sourceVault: SubResource) {
            self.secretUrl = secretUrl
            self.sourceVault = sourceVault
        }
    }

    public struct KeyReference: Codable, Sendable, Hashable {
        public var keyUrl: String
        public var sourceVault: SubResource
        public init(keyUrl: String, sourceVault: SubResource) {
            self.keyUrl = keyUrl
            self.sourceVault = sourceVault
        }
    }

    public struct InstanceView: Codable, Sendable, Hashable {
        public var vmAgent: AgentView
        public var disks: [DiskView]
        public init(vmAgent: AgentView, disks: [DiskView]) {
            self.vmAgent = vmAgent
            self.disks = disks
        }
    }

    public struct AgentView: Codable, Sendable, Hashable {
        public var vmAgentVersion: String
        public var statuses: [Status]
        public init(vmAgentVersion: String, statuses: [Status]) {
            self.vmAgentVersion = vmAgentVersion
            self.statuses = statuses
        }
    }

    public struct DiskView: Codable, Sendable, Hashable {
        public var name: String
        public var statuses: [Status]
        public init(name: String, statuses: [Status]) {
            self.name = name
            self.statuses = statuses
        }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var code: String
        public var level = "Info"
        public var displayStatus: String
        public init(code: String, displayStatus: String) {
            self.code = code
            self.displayStatus = displayStatus
        }
    }

    public struct ExtensionResource: Codable, Sendable, Hashable {
        public var id: String
        public var name: String
        public var type = "Microsoft.Compute/virtualMachines/extensions"
        public var location: String
        public var properties: ExtensionProperties
        public init(id: String, name: String, location: String, properties: ExtensionProperties) {
            self.id = id
            self.name = name
            self.location = location
            self.properties = properties
        }
    }

    public struct ExtensionProperties: Codable, Sendable, Hashable {
        public var publisher = "Microsoft.Azure.Security"
        public var type: String
        public var typeHandlerVersion: String
        public var provisioningState = "Succeeded"
        public var settings: [String: String]
        public init(type: String, typeHandlerVersion: String, settings: [String: String]) {
            self.type = type
            self.typeHandlerVersion = typeHandlerVersion
            self.settings = settings
        }
    }

    public init(id: String, name: String, location: String, properties: Properties, resources: [ExtensionResource]?) {
        self.id = id
        self.name = name
        self.location = location
        self.properties = properties
        self.resources = resources
    }
}

/// A managed disk (`Microsoft.Compute/disks`): size and encryption at rest.
public struct DiskResource: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var type = "Microsoft.Compute/disks"
    public var location: String
    public var managedBy: String?
    public var properties: Properties

    public struct Properties: Codable, Sendable, Hashable {
        public var diskSizeGB: Int
        public var osType: String?
        public var diskState = "Attached"
        public var provisioningState = "Succeeded"
        public var encryption: Encryption
        public init(diskSizeGB: Int, osType: String?, encryption: Encryption) {
            self.diskSizeGB = diskSizeGB
            self.osType = osType
            self.encryption = encryption
        }
    }

    public struct Encryption: Codable, Sendable, Hashable {
        /// `EncryptionAtRestWithPlatformKey`, `EncryptionAtRestWithCustomerKey`.
        public var type: String
        public var diskEncryptionSetId: String?
        public init(type: String, diskEncryptionSetId: String?) {
            self.type = type
            self.diskEncryptionSetId = diskEncryptionSetId
        }
    }

    public init(id: String, name: String, location: String, managedBy: String?, properties: Properties) {
        self.id = id
        self.name = name
        self.location = location
        self.managedBy = managedBy
        self.properties = properties
    }
}
