import CofferARM
import CofferModel
import CofferPlatform
import Foundation

// Virtual machines and their disks, as backup reads them.
extension Handlers {
    /// Everything a VM body needs: the VMs (every one, or the one named), and the key vaults (for the ids and
    /// key versions of ADE's references) and disk encryption sets; not the rest of the platform.
    func computeView(vm: String? = nil) async throws(ARMError) -> PlatformOverview {
        try await access.run { try $0.computeOverview(vm: vm) }
    }

    func vmBody(_ vm: VirtualMachineInfo, in overview: PlatformOverview, instanceView: Bool) -> VirtualMachineResource {
        let subscriptionID = overview.subscriptions.first { $0.name == vm.subscription }?.id ?? vm.subscription
        let osType = vm.os.lowercased() == "windows" ? "Windows" : "Linux"
        let keyVault = vm.keyVault.flatMap { name in overview.keyVaults.first { $0.name == name } }
        func diskEncryptionSetID(_ name: String?) -> VirtualMachineResource.SubResource? {
            guard let name, let set = overview.diskEncryptionSets.first(where: { $0.name == name }) else { return nil }
            return .init(id: ResourceIDs.resourceGroup(subscription: subscriptionID, name: set.resourceGroup) + "/providers/Microsoft.Compute/diskEncryptionSets/\(set.name)")
        }
        func managed(_ disk: DiskInfo) -> VirtualMachineResource.ManagedDisk? {
            guard disk.managed else { return nil }
            return .init(id: ResourceIDs.disk(subscription: subscriptionID, resourceGroup: vm.resourceGroup, name: disk.name), diskEncryptionSet: diskEncryptionSetID(disk.diskEncryptionSet))
        }
        func vhd(_ disk: DiskInfo) -> VirtualMachineResource.VirtualHardDisk? {
            disk.managed ? nil : .init(uri: "https://\(vm.name.lowercased().filter { $0.isLetter || $0.isNumber })disks.blob.core.windows.net/vhds/\(disk.name).vhd")
        }
        var encryption: VirtualMachineResource.EncryptionSettings?
        var kekURL: String?
        if let keyVault, let bek = vm.bekSecretURL {
            let source = VirtualMachineResource.SubResource(id: keyVault.id)
            if let kek = vm.kek, let key = keyVault.objects.first(where: { $0.kind == "key" && $0.name == kek }) {
                kekURL = KeyVaultResource.vaultURI(keyVault.name) + "keys/\(key.name)/\(key.version)"
            }
            encryption = .init(
                enabled: true, diskEncryptionKey: .init(secretUrl: bek, sourceVault: source),
                keyEncryptionKey: kekURL.map { .init(keyUrl: $0, sourceVault: source) })
        }
        let osDisk = vm.disks.first { $0.disk == .os }
        let dataDisks = vm.disks.compactMap { disk -> VirtualMachineResource.DataDisk? in
            guard case .lun(let lun) = disk.disk else { return nil }
            return .init(lun: lun, name: disk.name, diskSizeGB: disk.sizeGiB, managedDisk: managed(disk), vhd: vhd(disk))
        }
        let storage = VirtualMachineResource.StorageProfile(
            osDisk: .init(
                osType: osType, name: osDisk?.name ?? "\(vm.name)_OsDisk", diskSizeGB: osDisk?.sizeGiB ?? 0, managedDisk: osDisk.flatMap(managed),
                vhd: osDisk.flatMap(vhd), encryptionSettings: encryption),
            dataDisks: dataDisks)
        var view: VirtualMachineResource.InstanceView?
        if instanceView {
            let agent = vm.agent.lowercased() == "running"
            view = .init(
                vmAgent: .init(
                    vmAgentVersion: vm.agent.lowercased() == "absent" ? "Unknown" : "2.7.41491.1102",
                    statuses: [.init(code: agent ? "ProvisioningState/succeeded" : "ProvisioningState/Unavailable", displayStatus: agent ? "Ready" : "Not Ready")]),
                disks: vm.disks.map { disk in
                    let encrypted = vm.encryption == .adeBEKOnly || vm.encryption == .adeBEKAndKEK
                    return .init(
                        name: disk.name,
                        statuses: [.init(code: encrypted ? "EncryptionState/encrypted" : "EncryptionState/notEncrypted", displayStatus: encrypted ? "Encryption is enabled on disk" : "Encryption is not enabled on disk")])
                })
        }
        var extensions: [VirtualMachineResource.ExtensionResource]?
        if let keyVault, encryption != nil {
            let windows = osType == "Windows"
            var settings = [
                "EncryptionOperation": "EnableEncryption", "KeyVaultURL": KeyVaultResource.vaultURI(keyVault.name), "KeyVaultResourceId": keyVault.id,
                "VolumeType": "All",
            ]
            if let kekURL {
                settings["KeyEncryptionKeyURL"] = kekURL
                settings["KekVaultResourceId"] = keyVault.id
                settings["KeyEncryptionAlgorithm"] = "RSA-OAEP"
            }
            let name = windows ? "AzureDiskEncryption" : "AzureDiskEncryptionForLinux"
            extensions = [
                .init(
                    id: vm.id + "/extensions/\(name)", name: name, location: vm.region,
                    properties: .init(type: name, typeHandlerVersion: windows ? "2.2" : "1.1", settings: settings))
            ]
        }
        return VirtualMachineResource(
            id: vm.id, name: vm.name, location: vm.region,
            properties: .init(
                vmId: ServedWorld.guid(from: "vm:" + vm.id.lowercased()), storageProfile: storage,
                securityProfile: vm.securityType == .trustedLaunch ? .trustedLaunch : nil, instanceView: view),
            resources: extensions)
    }

    /// The VMs of a subscription or resource group, each with its instance view when `$expand=instanceView`
    /// (VirtualMachines_List and ListAll's `ExpandTypesForListVMs`).
    func listVirtualMachines(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let prefix = (request.match.values["resourceGroup"].map {
            ResourceIDs.resourceGroup(subscription: request["subscription"], name: $0)
        } ?? ResourceIDs.subscription(request["subscription"])).lowercased() + "/"
        let expand = request.query["$expand"]?.lowercased() == "instanceview"
        // Every page reads the whole list: it is made once per change of the platform, not once per page.
        let bodies = try await readModel(request, "virtualMachines:" + (expand ? "instanceView:" : "") + prefix) { () async throws(ARMError) in
            let overview = try await computeView()
            return overview.virtualMachines.filter { $0.id.lowercased().hasPrefix(prefix) }.map { vmBody($0, in: overview, instanceView: expand) }
        }
        return try page(bodies, request)
    }

    /// A VM, with its instance view when `$expand=instanceView`.
    func getVirtualMachine(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let overview = try await computeView(vm: request["vm"])
        let id = ResourceIDs.virtualMachine(subscription: request["subscription"], resourceGroup: request["resourceGroup"], name: request["vm"]).lowercased()
        guard let vm = overview.virtualMachines.first(where: { $0.id.lowercased() == id }) else {
            throw .resourceNotFound(type: VirtualMachineResource.type, name: request["vm"], resourceGroup: request["resourceGroup"])
        }
        let expand = request.query["$expand"]?.lowercased() == "instanceview"
        return .json(vmBody(vm, in: overview, instanceView: expand))
    }

    /// A managed disk of a VM.
    func getDisk(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let overview = try await computeView()
        let group = request["resourceGroup"].lowercased()
        let name = request["disk"].lowercased()
        for vm in overview.virtualMachines where vm.resourceGroup.lowercased() == group && vm.id.lowercased().contains("/subscriptions/\(request["subscription"].lowercased())/") {
            guard let disk = vm.disks.first(where: { $0.managed && $0.name.lowercased() == name }) else { continue }
            let subscriptionID = overview.subscriptions.first { $0.name == vm.subscription }?.id ?? vm.subscription
            let set = disk.diskEncryptionSet.flatMap { setName in overview.diskEncryptionSets.first { $0.name == setName } }
            return .json(
                DiskResource(
                    id: ResourceIDs.disk(subscription: subscriptionID, resourceGroup: vm.resourceGroup, name: disk.name), name: disk.name,
                    location: vm.region, managedBy: vm.id,
                    properties: .init(
                        diskSizeGB: disk.sizeGiB, osType: disk.disk == .os ? (vm.os.lowercased() == "windows" ? "Windows" : "Linux") : nil,
                        encryption: .init(
                            type: disk.encryptionAtRest,
                            diskEncryptionSetId: set.map {
                                ResourceIDs.resourceGroup(subscription: subscriptionID, name: $0.resourceGroup) + "/providers/Microsoft.Compute/diskEncryptionSets/\($0.name)"
                            }))))
        }
        // A managed disk a restore created: unattached until a VM is made from it.
        let subscriptionID = request["subscription"].lowercased()
        let restored = try await access.run { try $0.restoredDisks() }
        if let disk = restored.first(where: {
            $0.kind == "ManagedDisk" && $0.name.lowercased() == name && $0.resourceGroup.lowercased() == group
                && $0.id.lowercased().contains("/subscriptions/\(subscriptionID)/")
        }) {
            var properties = DiskResource.Properties(
                diskSizeGB: disk.sizeGiB, osType: nil, encryption: .init(type: "EncryptionAtRestWithPlatformKey", diskEncryptionSetId: nil))
            properties.diskState = "Unattached"
            return .json(DiskResource(id: disk.id, name: disk.name, location: disk.region, managedBy: nil, properties: properties))
        }
        throw .resourceNotFound(type: "Microsoft.Compute/disks", name: request["disk"], resourceGroup: request["resourceGroup"])
    }
}
