import CofferARM
import CofferModel
import Foundation

/// The platform read in batches, for a plan: per subscription its resource groups, vaults, key vaults and
/// VMs; per vault its policies and backup items; per key vault its role assignments, keys and secrets.
/// Every list follows `nextLink`; the lists run concurrently, up to the configuration's limit.
struct Catalog: Sendable {
    var tenant: Tenant
    /// `subscription-id/group`, lower-cased.
    var resourceGroups: Set<String>
    var vaults: [String: VaultResource]
    var policies: [String: [BackupPolicyResource]]
    var items: [String: [ProtectedItemResource]]
    var keyVaults: [String: KeyVaultResource]
    var roleAssignments: [String: [RoleAssignmentResource]]
    var keys: [String: [KeyVaultObjectResource]]
    var secrets: [String: [KeyVaultObjectResource]]
    var virtualMachines: [VirtualMachineResource]
    /// Indexes made once the lists are read (`index()`), so that a plan of N resources looks each up in
    /// constant time: VMs by lower-cased id; backup items by their VM's lower-cased id, with their vault's
    /// name; per vault (lower-cased) its policies and items by lower-cased name and VM; per key vault its
    /// role assignments by lower-cased name.
    var vmsByID: [String: VirtualMachineResource] = [:]
    var itemsByVMID: [String: (vault: String, body: ProtectedItemResource)] = [:]
    var policiesByName: [String: [String: BackupPolicyResource]] = [:]
    var itemsByVM: [String: [String: ProtectedItemResource]] = [:]
    var roleAssignmentsByName: [String: [String: RoleAssignmentResource]] = [:]
    /// Per key vault (lower-cased name), the VMs whose disk keys it holds (ADE, or a disk encryption set's
    /// key), with their references: one pass over the VMs for every key vault's facts, not one per key vault.
    var encryptedVMs: [String: [(name: String, reference: VMReference)]] = [:]

    static func key(_ name: String) -> String { name.lowercased() }

    static func load(_ transport: ARMTransport, tenant: Tenant) async throws -> Catalog {
        let limit = transport.configuration.concurrency
        let subscriptions = tenant.subscriptions.map(\.subscriptionId)
        struct PerSubscription: Sendable {
            var groups: [ResourceGroupResource]
            var vaults: [VaultResource]
            var keyVaults: [KeyVaultResource]
            var vms: [VirtualMachineResource]
        }
        let perSubscription = try await boundedMap(subscriptions, limit: max(1, limit / 4)) { subscription -> PerSubscription in
            let base = "/subscriptions/\(subscription)"
            async let groups = transport.list(
                ResourceGroupResource.self, ARMTransport.path(base + "/resourcegroups", apiVersion: ClientAPIVersion.resources), what: "resource groups")
            async let vaults = transport.list(
                VaultResource.self, ARMTransport.path(base + "/providers/Microsoft.RecoveryServices/vaults", apiVersion: ClientAPIVersion.vaults),
                what: "Recovery Services vaults")
            async let keyVaults = transport.list(
                KeyVaultResource.self, ARMTransport.path(base + "/providers/Microsoft.KeyVault/vaults", apiVersion: ClientAPIVersion.keyVault),
                what: "key vaults")
            async let vms = transport.list(
                VirtualMachineResource.self, ARMTransport.path(base + "/providers/Microsoft.Compute/virtualMachines", apiVersion: ClientAPIVersion.compute),
                what: "virtual machines")
            return PerSubscription(
                groups: try await groups ?? [], vaults: try await vaults ?? [], keyVaults: try await keyVaults ?? [], vms: try await vms ?? [])
        }
        var catalog = Catalog(
            tenant: tenant, resourceGroups: [], vaults: [:], policies: [:], items: [:], keyVaults: [:], roleAssignments: [:], keys: [:],
            secrets: [:], virtualMachines: [])
        for (subscription, found) in zip(subscriptions, perSubscription) {
            for group in found.groups { catalog.resourceGroups.insert("\(subscription)/\(group.name)".lowercased()) }
            for vault in found.vaults { if let name = vault.name { catalog.vaults[key(name)] = vault } }
            for keyVault in found.keyVaults { catalog.keyVaults[key(keyVault.name)] = keyVault }
            catalog.virtualMachines += found.vms
        }
        let vaultList = Array(catalog.vaults.values)
        let vaultChildren = try await boundedMap(vaultList, limit: limit) { vault -> ([BackupPolicyResource], [ProtectedItemResource]) in
            let id = vault.id ?? ""
            async let policies = transport.list(
                BackupPolicyResource.self, ARMTransport.path(id + "/backupPolicies", apiVersion: ClientAPIVersion.backup), what: "backup policies")
            async let items = transport.list(
                ProtectedItemResource.self,
                ARMTransport.path(
                    id + "/backupProtectedItems", apiVersion: ClientAPIVersion.backup,
                    query: [("$filter", "backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'")]),
                what: "backup items")
            return (try await policies ?? [], try await items ?? [])
        }
        for (vault, children) in zip(vaultList, vaultChildren) {
            catalog.policies[key(vault.name ?? "")] = children.0
            catalog.items[key(vault.name ?? "")] = children.1
        }

        let keyVaultList = Array(catalog.keyVaults.values)
        let keyVaultChildren = try await boundedMap(keyVaultList, limit: limit) {
            keyVault -> ([RoleAssignmentResource], [KeyVaultObjectResource], [KeyVaultObjectResource]) in
            async let assignments = transport.list(
                RoleAssignmentResource.self,
                ARMTransport.path(keyVault.id + "/providers/Microsoft.Authorization/roleAssignments", apiVersion: ClientAPIVersion.authorization),
                what: "role assignments")
            async let keys = transport.list(
                KeyVaultObjectResource.self, ARMTransport.path(keyVault.id + "/keys", apiVersion: ClientAPIVersion.keyVault), what: "keys")
            async let secrets = transport.list(
                KeyVaultObjectResource.self, ARMTransport.path(keyVault.id + "/secrets", apiVersion: ClientAPIVersion.keyVault), what: "secrets")
            return (try await assignments ?? [], try await keys ?? [], try await secrets ?? [])
        }
        for (keyVault, children) in zip(keyVaultList, keyVaultChildren) {
            catalog.roleAssignments[key(keyVault.name)] = children.0
            catalog.keys[key(keyVault.name)] = children.1
            catalog.secrets[key(keyVault.name)] = children.2
        }
        catalog.index()
        return catalog
    }

    /// Makes the indexes from the lists (first entry wins where two share a key, as the scans they replace
    /// did).
    mutating func index() {
        for vm in virtualMachines where vmsByID[vm.id.lowercased()] == nil { vmsByID[vm.id.lowercased()] = vm }
        for (vaultKey, list) in items {
            var byVM: [String: ProtectedItemResource] = [:]
            for body in list {
                if let vmID = (body.properties?.sourceResourceId ?? body.properties?.virtualMachineId)?.lowercased(), itemsByVMID[vmID] == nil {
                    itemsByVMID[vmID] = (vaults[vaultKey]?.name ?? vaultKey, body)
                }
                if let name = body.name, let parsed = IaasVMName(item: name), byVM[parsed.vm.lowercased()] == nil {
                    byVM[parsed.vm.lowercased()] = body
                }
            }
            itemsByVM[vaultKey] = byVM
        }
        for (vaultKey, list) in policies {
            var byName: [String: BackupPolicyResource] = [:]
            for policy in list { if let name = policy.name?.lowercased(), byName[name] == nil { byName[name] = policy } }
            policiesByName[vaultKey] = byName
        }
        for (keyVaultKey, list) in roleAssignments {
            var byName: [String: RoleAssignmentResource] = [:]
            for assignment in list where byName[assignment.name.lowercased()] == nil { byName[assignment.name.lowercased()] = assignment }
            roleAssignmentsByName[keyVaultKey] = byName
        }
        for vm in virtualMachines {
            let facts = Translation.virtualMachineFacts(vm, tenant: tenant, item: nil)
            for holder in Set([facts.keyVault, facts.diskEncryptionSet?.keyVault].compactMap { $0?.lowercased() }) {
                encryptedVMs[holder, default: []].append((vm.name, facts.reference))
            }
        }
    }

    // MARK: Ids

    func resourceID(name: String, spec: ResourceSpec, parents: ResourceParents) throws -> String? {
        switch spec {
        case .vault(let vault):
            return ResourceIDs.vault(subscription: try tenant.subscriptionID(vault.subscription), resourceGroup: vault.resourceGroup, name: name)
        case .backupPolicy(let policy):
            return try vaultID(policy.vault, parents: parents).map { ResourceIDs.policy(vaultID: $0, name: name) }
        case .protectedVM(let protected):
            return try vaultID(protected.vault, parents: parents).map {
                ResourceIDs.protectedItem(vaultID: $0, vmResourceGroup: protected.vm.resourceGroup, vm: protected.vm.name)
            }
        case .keyVaultAccessPolicy(let access):
            guard let keyVault = keyVaults[Self.key(access.keyVault)] else { return nil }
            return ARMIDs.accessPolicy(keyVaultID: keyVault.id, objectID: tenant.objectID(of: access.principal))
        case .keyVaultRoleAssignment(let assignment):
            guard let keyVault = keyVaults[Self.key(assignment.keyVault)], let role = tenant.role(assignment.role) else { return nil }
            let name = RoleDefinition.assignmentName(
                scope: keyVault.id, principalObjectID: tenant.objectID(of: assignment.principal), roleDefinitionID: role.id)
            return ARMIDs.roleAssignment(keyVaultID: keyVault.id, name: name)
        }
    }

    /// The id of the vault named `vault`: the platform's, else the one its declared spec gives it.
    func vaultID(_ vault: String, parents: ResourceParents) throws -> String? {
        if let found = vaults[Self.key(vault)], let id = found.id { return id }
        guard let spec = parents.vault(vault) else { return nil }
        return ResourceIDs.vault(subscription: try tenant.subscriptionID(spec.subscription), resourceGroup: spec.resourceGroup, name: vault)
    }

    // MARK: Reads

    func read(kind: ResourceKind, id: String) throws -> ObservedResource? {
        switch kind {
        case .recoveryServicesVault:
            guard let name = ARMIDs.segment(id, after: "vaults"), let vault = vaults[Self.key(name)] else { return nil }
            return try Translation.observedVault(vault, registeredItems: items[Self.key(name)]?.count ?? 0, tenant: tenant)
        case .backupPolicy:
            guard let vault = ARMIDs.segment(id, after: "vaults"), let name = ARMIDs.segment(id, after: "backupPolicies"),
                let vaultBody = vaults[Self.key(vault)],
                let policy = policiesByName[Self.key(vault)]?[name.lowercased()]
            else { return nil }
            return try Translation.observedPolicy(policy, vault: vaultBody.name ?? vault)
        case .protectedVM:
            guard let vault = ARMIDs.segment(id, after: "vaults"), let item = ARMIDs.segment(id, after: "protectedItems"),
                let vm = item.removingPercentEncoding?.split(separator: ";").last.map(String.init), let vaultBody = vaults[Self.key(vault)]
            else { return nil }
            let found = itemsByVM[Self.key(vault)]?[vm.lowercased()]
            return try found.flatMap { try Translation.observedItem($0, vault: vaultBody.name ?? vault, tenant: tenant) }
        case .keyVaultAccessPolicy:
            guard let name = ARMIDs.segment(id, after: "vaults"), let objectID = ARMIDs.segment(id, after: "objectId"),
                let keyVault = keyVaults[Self.key(name)]
            else { return nil }
            return try Translation.accessEntries(keyVault).first { $0.objectID.lowercased() == objectID.lowercased() }.map {
                Translation.observedAccessPolicy($0, keyVault: keyVault, tenant: tenant)
            }
        case .keyVaultRoleAssignment:
            guard let name = ARMIDs.segment(id, after: "vaults"), let assignment = ARMIDs.segment(id, after: "roleAssignments"),
                let keyVault = keyVaults[Self.key(name)]
            else { return nil }
            return roleAssignmentsByName[Self.key(name)]?[assignment.lowercased()].map {
                Translation.observedRoleAssignment($0, keyVault: keyVault, tenant: tenant)
            }
        }
    }

    // MARK: Facts

    /// The VM a reference names, from the lists (without its instance view).
    func virtualMachine(_ reference: VMReference) -> VirtualMachineResource? {
        guard let subscription = try? tenant.subscriptionID(reference.subscription) else { return nil }
        return vmsByID[ResourceIDs.virtualMachine(subscription: subscription, resourceGroup: reference.resourceGroup, name: reference.name).lowercased()]
    }

    /// The backup item of a VM, soft-deleted ones included, and its vault's name.
    func item(ofVM vmID: String) -> (vault: String, body: ProtectedItemResource)? {
        itemsByVMID[vmID.lowercased()]
    }

    func keyVaultFacts(_ name: String) throws -> KeyVaultFacts? {
        guard let body = keyVaults[Self.key(name)] else { return nil }
        let subscription = ARMIDs.subscription(body.id) ?? tenant.facts.defaultSubscriptionId
        let assignments = (roleAssignments[Self.key(name)] ?? []).compactMap { assignment -> KeyVaultFacts.RoleAssignmentEntry? in
            let guid = RoleAssignmentResource.roleDefinitionGUID(assignment.properties.roleDefinitionId) ?? assignment.properties.roleDefinitionId
            let role = RoleDefinition.builtIn(guid) ?? tenant.facts.customRoles.first { $0.id == guid }
            return role.map { KeyVaultFacts.RoleAssignmentEntry(objectID: assignment.properties.principalId, role: $0) }
        }
        let certificateBacked = Set(
            tenant.facts.certificateBackedKeys.filter { $0.keyVault.lowercased() == body.name.lowercased() }.map { $0.name.lowercased() })
        let encrypted = encryptedVMs[Self.key(body.name)] ?? []
        return KeyVaultFacts(
            id: body.id, name: body.name, subscription: tenant.subscriptionName(id: subscription), region: body.location,
            permissionModel: body.properties.enableRbacAuthorization ? .rbac : .accessPolicies, accessPolicies: try Translation.accessEntries(body),
            roleAssignments: assignments, customRoles: tenant.facts.customRoles,
            backupManagementServiceObjectID: tenant.facts.backupManagementServiceObjectId, softDelete: body.properties.enableSoftDelete,
            purgeProtection: body.properties.enablePurgeProtection ?? false,
            keys: (keys[Self.key(name)] ?? []).map { KeyVaultFacts.KeyEntry(name: $0.name, certificateBacked: certificateBacked.contains($0.name.lowercased())) },
            secrets: (secrets[Self.key(name)] ?? []).map(\.name),
            encryptedVMs: encrypted.sorted { $0.name < $1.name }.map(\.reference))
    }

    func resourceGroupExists(_ group: ResourceGroupReference) -> Bool {
        guard let subscription = try? tenant.subscriptionID(group.subscription) else { return false }
        return resourceGroups.contains("\(subscription)/\(group.name)".lowercased())
    }
}

/// `body` over `items`, at most `limit` at once, answers in the order of `items`.
func boundedMap<T: Sendable, R: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
    guard !items.isEmpty else { return [] }
    return try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var results = [R?](repeating: nil, count: items.count)
        var next = 0
        for _ in 0..<min(max(1, limit), items.count) {
            let index = next
            group.addTask { (index, try await body(items[index])) }
            next += 1
        }
        while let finished = try await group.next() {
            let (index, result) = finished
            results[index] = result
            if next < items.count {
                let index = next
                group.addTask { (index, try await body(items[index])) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
