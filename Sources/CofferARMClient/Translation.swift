import CofferARM
import CofferModel
import Foundation

/// What every translation needs to know of the tenant: its subscriptions (ids and names), the default one,
/// and the facts no resource body carries.
struct Tenant: Sendable {
    var facts: PlatformFactsResource
    var subscriptions: [SubscriptionResource]

    /// The id of the subscription with this name or id; the default one for nil. Throws `ResourceNotFound`
    /// for one the tenant does not have, as the embedded platform does.
    func subscriptionID(_ nameOrID: String?) throws -> String {
        guard let nameOrID else { return facts.defaultSubscriptionId }
        if let byName = subscriptions.first(where: { $0.displayName == nameOrID }) { return byName.subscriptionId }
        if let byID = subscriptions.first(where: { $0.subscriptionId.lowercased() == nameOrID.lowercased() }) { return byID.subscriptionId }
        throw ProviderError(
            code: "ResourceNotFound", message: "there is no subscription '\(nameOrID)'",
            hint: "use a subscription of the world: \(subscriptions.map(\.displayName).sorted().joined(separator: ", "))")
    }

    /// The name of the subscription with this id (its id when the tenant does not list it).
    func subscriptionName(id: String) -> String {
        subscriptions.first { $0.subscriptionId.lowercased() == id.lowercased() }?.displayName ?? id
    }

    /// A subscription as a spec or VM reference carries it: nil for the default one, else its name.
    func reference(subscriptionID id: String) -> String? {
        id.lowercased() == facts.defaultSubscriptionId.lowercased() ? nil : subscriptionName(id: id)
    }

    /// The object id a principal has in the tenant.
    func objectID(of principal: Principal) -> String {
        switch principal {
        case .backupManagementService: facts.backupManagementServiceObjectId
        case .objectID(let id): id.lowercased()
        }
    }

    func principal(objectID: String) -> Principal {
        objectID.lowercased() == facts.backupManagementServiceObjectId.lowercased() ? .backupManagementService : .objectID(objectID)
    }

    /// A role by name or GUID: built-in, else one of the tenant's custom roles.
    func role(_ nameOrID: String) -> RoleDefinition? {
        if let builtIn = RoleDefinition.builtIn(nameOrID) { return builtIn }
        let wanted = nameOrID.lowercased()
        return facts.customRoles.first { $0.name.lowercased() == wanted || $0.id == wanted }
    }
}

/// Ids and the segments of ids.
enum ARMIDs {
    /// The segment after `marker` (case-insensitive), up to the next `/`.
    static func segment(_ id: String, after marker: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: true)
        let wanted = marker.lowercased()
        for index in parts.indices.dropLast() where parts[index].lowercased() == wanted {
            return String(parts[index + 1])
        }
        return nil
    }

    /// The subscription id of an ARM id.
    static func subscription(_ id: String) -> String? { segment(id, after: "subscriptions") }

    static func resourceGroup(_ id: String) -> String? { segment(id, after: "resourceGroups") }

    /// The last segment of an id (a resource's name).
    static func lastName(_ id: String) -> String? {
        id.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init)
    }

    static func accessPolicy(keyVaultID: String, objectID: String) -> String { "\(keyVaultID)/objectId/\(objectID)" }

    static func roleAssignment(keyVaultID: String, name: String) -> String {
        "\(keyVaultID)/providers/Microsoft.Authorization/roleAssignments/\(name)"
    }

    /// The name of a Key Vault object from its URL: `https://KV.vault.azure.net/secrets/NAME[/VERSION]`.
    static func objectName(_ url: String, kind: String) -> String? {
        let parts = url.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let index = parts.firstIndex(where: { $0.lowercased() == kind }), index + 1 < parts.count else { return nil }
        return parts[index + 1]
    }
}

/// Resource bodies to observed resources and facts, and specs to bodies: CofferARM's wire model read the
/// way the embedded provider reports the same platform.
enum Translation {
    static let managedBy = ObservedResource.managedByTag

    // MARK: Vaults

    static func observedVault(_ body: VaultResource, registeredItems: Int, tenant: Tenant) throws -> ObservedResource {
        guard let id = body.id, let name = body.name, let subscription = ARMIDs.subscription(id), let group = ARMIDs.resourceGroup(id) else {
            throw invalid("a vault without its id")
        }
        var spec: VaultSpec
        do throws(ARMError) {
            spec = try body.spec(subscription: tenant.reference(subscriptionID: subscription), resourceGroup: group, existing: nil)
        } catch {
            throw ProviderError(code: error.code, message: "vault '\(name)': \(error.message)")
        }
        let tags = body.tags ?? [:]
        spec.tags = tags.filter { $0.key != managedBy }
        return ObservedResource(
            id: id, spec: .vault(spec), name: name, tags: tags,
            status: .vault(VaultStatus(registeredItems: registeredItems, identityPrincipalID: body.identity?.principalId)))
    }

    /// A vault's PUT body: its spec, its tags and coffer's mark when `owned`.
    static func vaultBody(_ spec: VaultSpec, owned: Bool) -> VaultResource {
        var tags = spec.tags
        if owned { tags[managedBy] = ObservedResource.managedByValue }
        var body = VaultResource(id: "", name: "", spec: spec, tags: tags, identityPrincipalID: nil, tenantID: "")
        body.id = nil
        body.name = nil
        body.type = nil
        body.identity = VaultResource.Identity(type: spec.systemAssignedIdentity ? "SystemAssigned" : "None")
        body.properties?.provisioningState = nil
        return body
    }

    // MARK: Policies

    static func observedPolicy(_ body: BackupPolicyResource, vault: String) throws -> ObservedResource {
        guard let id = body.id, let name = body.name else { throw invalid("a backup policy without its id") }
        let spec: BackupPolicySpec
        do throws(ARMError) {
            spec = try body.spec(vault: vault)
        } catch {
            throw ProviderError(code: error.code, message: "backup policy '\(name)': \(error.message)")
        }
        return ObservedResource(
            id: id, spec: .backupPolicy(spec), name: name, tags: [:],
            status: .backupPolicy(BackupPolicyStatus(protectedItems: body.properties?.protectedItemsCount ?? 0)))
    }

    // MARK: Protected items

    static func isSoftDeleted(_ body: ProtectedItemResource) -> Bool {
        body.properties?.isScheduledForDeferredDelete == true
    }

    static func protectionStatus(_ body: ProtectedItemResource) -> ProtectionStatus {
        if isSoftDeleted(body) { return .softDeleted }
        let state = body.properties?.protectionState?.lowercased() ?? ""
        return ProtectionStatus.allCases.first { $0.rawValue.lowercased() == state } ?? .protected
    }

    /// A protected item read back; nil for a soft-deleted one (gone, as far as the reconciler goes).
    static func observedItem(_ body: ProtectedItemResource, vault: String, tenant: Tenant) throws -> ObservedResource? {
        guard !isSoftDeleted(body) else { return nil }
        guard let id = body.id, let properties = body.properties, let itemName = body.name ?? ARMIDs.lastName(id),
            let vm = IaasVMName(item: itemName)
        else { throw invalid("a protected item without its id and name") }
        let vmID = properties.sourceResourceId ?? properties.virtualMachineId ?? ""
        let subscription = ARMIDs.subscription(vmID).map { tenant.reference(subscriptionID: $0) } ?? nil
        let status = protectionStatus(body)
        let state: ProtectionState = switch status {
        case .protectionStopped: .protectionStopped
        case .backupsSuspended: .backupsSuspended
        default: .protected
        }
        let exclusion = properties.extendedProperties?.diskExclusionProperties
        let luns = exclusion?.diskLunList ?? []
        let inclusion = exclusion?.isInclusionList == true
        let spec = ProtectedVMSpec(
            vm: VMReference(subscription: subscription, resourceGroup: vm.resourceGroup, name: properties.friendlyName ?? vm.vm), vault: vault,
            policy: properties.policyName ?? properties.policyId.flatMap(ARMIDs.lastName) ?? "", protectionState: state,
            excludeDiskLuns: inclusion ? [] : luns, includeDiskLuns: inclusion ? luns : [])
        return ObservedResource(
            id: id, spec: .protectedVM(spec), name: properties.friendlyName ?? vm.vm, tags: [:],
            status: .protectedVM(
                ProtectedItemStatus(
                    protectionStatus: status, recoveryPoints: properties.extendedInfo?.recoveryPointCount ?? 0, vmID: vmID,
                    lastBackupStatus: properties.lastBackupStatus, lastBackupTime: properties.lastBackupTime)))
    }

    /// A protected item's PUT body: enable or change (`policyID`, the disks), stop (`state`), or recover.
    static func itemBody(
        vmID: String? = nil, policyID: String? = nil, include: [Int]? = nil, exclude: [Int]? = nil, state: ProtectionState? = nil,
        rehydrate: Bool = false
    ) -> ProtectedItemResource {
        var body = ProtectedItemResource()
        var properties = ProtectedItemResource.Properties()
        properties.protectedItemType = ProtectedItemResource.itemType
        properties.sourceResourceId = vmID
        properties.policyId = policyID
        if let include, let exclude {
            let inclusion = !include.isEmpty
            properties.extendedProperties = ProtectedItemResource.ExtendedProperties(
                diskExclusionProperties: ProtectedItemResource.DiskExclusionProperties(
                    diskLunList: inclusion ? include : exclude, isInclusionList: inclusion))
        }
        properties.protectionState = state?.rawValue
        if rehydrate { properties.isRehydrate = true }
        body.properties = properties
        return body
    }

    // MARK: Key vaults

    static func accessEntries(_ body: KeyVaultResource) throws -> [KeyVaultFacts.AccessEntry] {
        try body.properties.accessPolicies.enumerated().map { index, entry in
            do throws(ARMError) {
                let requested = try entry.requested(field: "properties.accessPolicies[\(index)]")
                return KeyVaultFacts.AccessEntry(objectID: requested.objectID, keyPermissions: requested.keys, secretPermissions: requested.secrets)
            } catch {
                throw ProviderError(code: error.code, message: "key vault '\(body.name)': \(error.message)")
            }
        }
    }

    static func observedAccessPolicy(_ entry: KeyVaultFacts.AccessEntry, keyVault body: KeyVaultResource, tenant: Tenant) -> ObservedResource {
        let spec = KeyVaultAccessPolicySpec(
            keyVault: body.name, principal: tenant.principal(objectID: entry.objectID), keyPermissions: entry.keyPermissions,
            secretPermissions: entry.secretPermissions)
        return ObservedResource(
            id: ARMIDs.accessPolicy(keyVaultID: body.id, objectID: entry.objectID), spec: .keyVaultAccessPolicy(spec), name: entry.objectID)
    }

    static func observedRoleAssignment(_ body: RoleAssignmentResource, keyVault: KeyVaultResource, tenant: Tenant) -> ObservedResource {
        let guid = RoleAssignmentResource.roleDefinitionGUID(body.properties.roleDefinitionId) ?? body.properties.roleDefinitionId
        let role = tenant.role(guid)?.name ?? guid
        let spec = KeyVaultRoleAssignmentSpec(keyVault: keyVault.name, principal: tenant.principal(objectID: body.properties.principalId), role: role)
        return ObservedResource(
            id: ARMIDs.roleAssignment(keyVaultID: keyVault.id, name: body.name), spec: .keyVaultRoleAssignment(spec), name: body.name)
    }

    // MARK: VMs

    /// What the plan needs of a VM, from its body (with its instance view, for the agent), the disk
    /// encryption sets, the certificate-backed keys and its backup item.
    static func virtualMachineFacts(
        _ body: VirtualMachineResource, tenant: Tenant, item: (vault: String, body: ProtectedItemResource)?
    ) -> VirtualMachineFacts {
        let subscriptionID = ARMIDs.subscription(body.id) ?? tenant.facts.defaultSubscriptionId
        let group = ARMIDs.resourceGroup(body.id) ?? ""
        let storage = body.properties.storageProfile
        let ade = storage.osDisk.encryptionSettings
        let keyVault = ade?.diskEncryptionKey.flatMap { ARMIDs.lastName($0.sourceVault.id) }
        let bek = ade?.diskEncryptionKey.flatMap { ARMIDs.objectName($0.secretUrl, kind: "secrets") }
        let kek = ade?.keyEncryptionKey.flatMap { ARMIDs.objectName($0.keyUrl, kind: "keys") }
        let setID = storage.osDisk.managedDisk?.diskEncryptionSet?.id
            ?? storage.dataDisks.compactMap { $0.managedDisk?.diskEncryptionSet?.id }.first
        let set = setID.flatMap(ARMIDs.lastName).flatMap { name in
            tenant.facts.diskEncryptionSets.first { $0.name.lowercased() == name.lowercased() }
        }
        let encryption: VMEncryptionKind
        if ade != nil {
            encryption = kek != nil ? .adeBEKAndKEK : .adeBEKOnly
        } else {
            encryption = set != nil ? .sseCustomerKey : .ssePlatformKey
        }
        let certificateBacked = kek.map { kek in
            tenant.facts.certificateBackedKeys.contains {
                $0.keyVault.lowercased() == (keyVault ?? "").lowercased() && $0.name.lowercased() == kek.lowercased()
            }
        } ?? false
        var agent = "running"
        if let view = body.properties.instanceView {
            if view.vmAgent.vmAgentVersion.lowercased() == "unknown" {
                agent = "absent"
            } else if !view.vmAgent.statuses.contains(where: { $0.code.lowercased() == "provisioningstate/succeeded" }) {
                agent = "stopped"
            }
        }
        let disks = [DiskFacts(lun: -1, sizeGiB: storage.osDisk.diskSizeGB)]
            + storage.dataDisks.sorted { $0.lun < $1.lun }.map { DiskFacts(lun: $0.lun, sizeGiB: $0.diskSizeGB) }
        let protection = item.map { item in
            VMProtectionFacts(
                vault: item.vault, policy: item.body.properties?.policyName, status: protectionStatus(item.body),
                recoveryPoints: item.body.properties?.extendedInfo?.recoveryPointCount ?? 0)
        }
        return VirtualMachineFacts(
            id: body.id, reference: VMReference(subscription: tenant.reference(subscriptionID: subscriptionID), resourceGroup: group, name: body.name),
            subscription: tenant.subscriptionName(id: subscriptionID), region: body.location, os: storage.osDisk.osType.lowercased(),
            encryption: encryption, keyVault: keyVault, bekSecret: bek, kek: kek, kekIsCertificateBacked: certificateBacked, agentState: agent,
            disks: disks,
            diskEncryptionSet: set.map {
                DiskEncryptionSetFacts(name: $0.name, keyVault: $0.keyVault, key: $0.key, identityObjectID: $0.identityObjectId)
            },
            protection: protection,
            securityType: body.properties.securityProfile?.securityType?.lowercased() == "trustedlaunch" ? .trustedLaunch : .standard)
    }

    static func invalid(_ what: String) -> ProviderError {
        ProviderError(code: "InvalidResponse", message: "the endpoint answered \(what)")
    }
}
