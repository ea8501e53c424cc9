import AsyncHTTPClient
import CofferARM
import CofferModel
import Foundation
import NIOHTTP1

/// The reconciler's provider over an ARM endpoint (`coffer serve`, or Azure Resource Manager where a user
/// has one): reads, creates, updates and deletes of the five manifest kinds as ARM REST calls, and a
/// snapshot read in batches of list calls. Specs go to and come from ARM bodies through CofferARM's wire
/// model, the one coffer serve answers with.
///
/// One `HTTPClient` (HTTP/1.1, keep-alive, TLS through swift-nio-ssl) serves every call; `shutdown()` closes
/// it and must be called once the provider is no longer used.
public final class ARMClientProvider: Provider, Sendable {
    let transport: ARMTransport
    private let tenantCache = TenantCache()
    private let vaultIDs = ResourceIDCache()
    private let keyVaultIDs = ResourceIDCache()
    /// The VMs the plan's lists gave, by lower-cased id: a protected VM's create names its VM by that id
    /// without reading it (a VM gone since answers the PUT with the platform's error).
    private let vmIDs = ResourceIDCache()

    public init(configuration: ARMClientConfiguration) throws {
        transport = try ARMTransport(configuration: configuration)
    }

    /// Closes the connection pool.
    public func shutdown() async throws {
        try await transport.shutdown()
    }

    // MARK: The tenant

    /// The tenant's facts and subscriptions, read fresh.
    func loadTenant() async throws -> Tenant {
        async let facts = transport.get(
            PlatformFactsResource.self, ARMTransport.path(PlatformFactsResource.path, apiVersion: ClientAPIVersion.resources), what: "platform facts")
        async let subscriptions = transport.list(
            SubscriptionResource.self, ARMTransport.path("/subscriptions", apiVersion: ClientAPIVersion.resources), what: "subscriptions")
        guard let facts = try await facts else {
            throw ProviderError(
                code: "PlatformFactsUnavailable",
                message: "the endpoint does not answer \(PlatformFactsResource.path): coffer reads its default subscription, regions and principals there",
                hint: "point --endpoint at coffer serve")
        }
        let tenant = Tenant(facts: facts, subscriptions: try await subscriptions ?? [])
        await tenantCache.set(tenant)
        return tenant
    }

    /// The tenant as last read (its subscriptions and principals are fixed while the endpoint runs).
    func tenant() async throws -> Tenant {
        if let cached = await tenantCache.value { return cached }
        return try await loadTenant()
    }

    // MARK: Provider

    public func snapshot() async throws -> any ProviderSnapshot {
        let tenant = try await loadTenant()
        let catalog = try await Catalog.load(transport, tenant: tenant)
        // The apply that follows finds a vault or key vault by name with one GET of the id the lists gave.
        await vaultIDs.remember(vaults: catalog.vaults.values)
        await keyVaultIDs.remember(catalog.keyVaults.values.map { ($0.name, $0.id) })
        await vmIDs.remember(catalog.virtualMachines.map { ($0.id, $0.id) })
        return ARMSnapshot(catalog: catalog, transport: transport)
    }

    public func resourceID(name: String, spec: ResourceSpec, parents: ResourceParents) async throws -> String? {
        let tenant = try await tenant()
        switch spec {
        case .vault(let vault):
            return ResourceIDs.vault(subscription: try tenant.subscriptionID(vault.subscription), resourceGroup: vault.resourceGroup, name: name)
        case .backupPolicy(let policy):
            return try await vaultID(policy.vault, parents: parents, tenant: tenant).map { ResourceIDs.policy(vaultID: $0, name: name) }
        case .protectedVM(let protected):
            return try await vaultID(protected.vault, parents: parents, tenant: tenant).map {
                ResourceIDs.protectedItem(vaultID: $0, vmResourceGroup: protected.vm.resourceGroup, vm: protected.vm.name)
            }
        case .keyVaultAccessPolicy(let access):
            guard let keyVault = try await findKeyVault(access.keyVault, tenant: tenant) else { return nil }
            return ARMIDs.accessPolicy(keyVaultID: keyVault.id, objectID: tenant.objectID(of: access.principal))
        case .keyVaultRoleAssignment(let assignment):
            guard let keyVault = try await findKeyVault(assignment.keyVault, tenant: tenant), let role = tenant.role(assignment.role) else { return nil }
            let name = RoleDefinition.assignmentName(
                scope: keyVault.id, principalObjectID: tenant.objectID(of: assignment.principal), roleDefinitionID: role.id)
            return ARMIDs.roleAssignment(keyVaultID: keyVault.id, name: name)
        }
    }

    public func read(kind: ResourceKind, id: String) async throws -> ObservedResource? {
        let tenant = try await tenant()
        switch kind {
        case .recoveryServicesVault:
            guard ARMIDs.segment(id, after: "vaults") != nil, ARMResourceReference(id) != nil,
                let vault = try await transport.get(VaultResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.vaults), what: "vault")
            else { return nil }
            return try Translation.observedVault(vault, registeredItems: try await items(ofVault: vault).count, tenant: tenant)
        case .backupPolicy:
            guard let vault = ARMIDs.segment(id, after: "vaults"), ARMIDs.segment(id, after: "backupPolicies") != nil, ARMResourceReference(id) != nil,
                let policy = try await transport.get(BackupPolicyResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), what: "backup policy")
            else { return nil }
            return try Translation.observedPolicy(policy, vault: try await vaultName(vault, tenant: tenant))
        case .protectedVM:
            guard let vault = ARMIDs.segment(id, after: "vaults"), ARMIDs.segment(id, after: "protectedItems") != nil, ARMResourceReference(id) != nil,
                let item = try await transport.get(ProtectedItemResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), what: "backup item")
            else { return nil }
            return try Translation.observedItem(item, vault: try await vaultName(vault, tenant: tenant), tenant: tenant)
        case .keyVaultAccessPolicy:
            guard let range = id.range(of: "/objectId/", options: .caseInsensitive), let objectID = ARMIDs.segment(id, after: "objectId"),
                ARMResourceReference(String(id[..<range.lowerBound])) != nil,
                let keyVault = try await transport.get(
                    KeyVaultResource.self, ARMTransport.path(String(id[..<range.lowerBound]), apiVersion: ClientAPIVersion.keyVault), what: "key vault")
            else { return nil }
            return try Translation.accessEntries(keyVault).first { $0.objectID.lowercased() == objectID.lowercased() }.map {
                Translation.observedAccessPolicy($0, keyVault: keyVault, tenant: tenant)
            }
        case .keyVaultRoleAssignment:
            guard let range = id.range(of: "/providers/Microsoft.Authorization/roleAssignments/", options: .caseInsensitive),
                ARMResourceReference(String(id[..<range.lowerBound])) != nil,
                let keyVault = try await transport.get(
                    KeyVaultResource.self, ARMTransport.path(String(id[..<range.lowerBound]), apiVersion: ClientAPIVersion.keyVault), what: "key vault"),
                let assignment = try await transport.get(
                    RoleAssignmentResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.authorization), what: "role assignment")
            else { return nil }
            return Translation.observedRoleAssignment(assignment, keyVault: keyVault, tenant: tenant)
        }
    }

    public func create(name: String, spec: ResourceSpec) async throws -> ObservedResource {
        let tenant = try await tenant()
        switch spec {
        case .vault(let vault):
            let id = ResourceIDs.vault(subscription: try tenant.subscriptionID(vault.subscription), resourceGroup: vault.resourceGroup, name: name)
            if try await transport.get(VaultResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.vaults), what: "vault") != nil {
                throw ProviderError(
                    code: "ResourceAlreadyExists", message: "a Recovery Services vault named '\(name)' already exists",
                    hint: "vault names are unique in the platform; choose another name or import the existing vault")
            }
            // The service cannot create a vault Locked: create it Unlocked, then lock it (as azurerm does).
            var first = vault
            if vault.immutability == .locked { first.immutability = .unlocked }
            try await putVault(id, first, owned: true)
            if vault.immutability == .locked { try await putVault(id, vault, owned: true) }
            await vaultIDs.remember([(name, id)])
            return try await required(.recoveryServicesVault, id)
        case .backupPolicy(let policy):
            let vault = try await requireVault(policy.vault, tenant: tenant)
            let id = ResourceIDs.policy(vaultID: vault.id ?? "", name: name)
            if try await transport.get(BackupPolicyResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), what: "backup policy") != nil {
                throw ProviderError(
                    code: "ResourceAlreadyExists", message: "vault '\(vault.name ?? policy.vault)' already has a policy named '\(name)'",
                    hint: "import it (coffer adopts it when it matches) or choose another name")
            }
            try await putPolicy(id, name: name, policy)
            return try await required(.backupPolicy, id)
        case .protectedVM(let protected):
            return try await createProtection(protected, tenant: tenant)
        case .keyVaultAccessPolicy(let access):
            let keyVault = try await requireKeyVault(access.keyVault, tenant: tenant)
            let objectID = tenant.objectID(of: access.principal)
            if !keyVault.properties.enableRbacAuthorization,
                try Translation.accessEntries(keyVault).contains(where: { $0.objectID.lowercased() == objectID.lowercased() })
            {
                throw ProviderError(
                    code: "ResourceAlreadyExists", message: "key vault '\(keyVault.name)' already has an access policy for '\(access.principal)'",
                    hint: "import it (coffer adopts it when it matches) or update it")
            }
            try await updateAccessPolicy(keyVault, kind: .add, objectID: objectID, keys: access.keyPermissions.map(\.rawValue),
                                         secrets: access.secretPermissions.map(\.rawValue), tenant: tenant)
            return try await required(.keyVaultAccessPolicy, ARMIDs.accessPolicy(keyVaultID: keyVault.id, objectID: objectID))
        case .keyVaultRoleAssignment(let assignment):
            let keyVault = try await requireKeyVault(assignment.keyVault, tenant: tenant)
            guard let role = tenant.role(assignment.role) else {
                throw ProviderError(
                    code: "RoleDefinitionDoesNotExist", message: "the role '\(assignment.role)' does not exist in the tenant",
                    hint: "use a built-in Key Vault role or one of the tenant's custom roles")
            }
            let objectID = tenant.objectID(of: assignment.principal)
            let name = RoleDefinition.assignmentName(scope: keyVault.id, principalObjectID: objectID, roleDefinitionID: role.id)
            let id = ARMIDs.roleAssignment(keyVaultID: keyVault.id, name: name)
            let subscription = ARMIDs.subscription(keyVault.id) ?? tenant.facts.defaultSubscriptionId
            let body = RoleAssignmentCreateResource(
                roleDefinitionId: RoleAssignmentResource.roleDefinitionID(subscription: subscription, guid: role.id), principalId: objectID)
            try await transport.write(.PUT, ARMTransport.path(id, apiVersion: ClientAPIVersion.authorization), body: try ARMTransport.encode(body),
                                      what: "role assignment '\(name)'")
            return try await required(.keyVaultRoleAssignment, id)
        }
    }

    public func update(id: String, name: String, spec: ResourceSpec) async throws -> ObservedResource {
        let tenant = try await tenant()
        switch spec {
        case .vault(let vault):
            guard let current = try await transport.get(VaultResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.vaults), what: "vault")
            else { throw Self.notFound("Recovery Services vault", name) }
            let owned = current.tags?[ObservedResource.managedByTag] == ObservedResource.managedByValue
            if current.properties?.securitySettings?.immutabilitySettings?.state?.lowercased() == "disabled" && vault.immutability == .locked {
                // Disabled goes through Unlocked to Locked.
                var step = vault
                step.immutability = .unlocked
                try await putVault(id, step, owned: owned)
            }
            try await putVault(id, vault, owned: owned)
            return try await required(.recoveryServicesVault, id)
        case .backupPolicy(let policy):
            guard try await transport.get(BackupPolicyResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), what: "backup policy") != nil
            else { throw Self.notFound("backup policy", name) }
            try await putPolicy(id, name: name, policy)
            return try await required(.backupPolicy, id)
        case .protectedVM(let protected):
            return try await updateProtection(protected, tenant: tenant)
        case .keyVaultAccessPolicy(let access):
            let keyVault = try await requireKeyVault(access.keyVault, tenant: tenant)
            let objectID = tenant.objectID(of: access.principal)
            try await updateAccessPolicy(keyVault, kind: .replace, objectID: objectID, keys: access.keyPermissions.map(\.rawValue),
                                         secrets: access.secretPermissions.map(\.rawValue), tenant: tenant)
            return try await required(.keyVaultAccessPolicy, ARMIDs.accessPolicy(keyVaultID: keyVault.id, objectID: objectID))
        case .keyVaultRoleAssignment:
            // An assignment's scope, principal and role cannot change: only one that already says what `spec`
            // says can be "updated", to itself.
            guard let current = try await read(kind: .keyVaultRoleAssignment, id: id) else { throw Self.notFound("role assignment", name) }
            let wanted = try await resourceID(name: name, spec: spec, parents: ResourceParents())
            guard wanted?.lowercased() == current.id.lowercased() else {
                throw ProviderError(
                    code: "RoleAssignmentUpdateNotPermitted", message: "the scope, principal and role of role assignment '\(current.name)' cannot be changed",
                    hint: "delete the assignment and create a new one")
            }
            return current
        }
    }

    public func delete(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) async throws {
        switch kind {
        case .recoveryServicesVault:
            try await transport.write(.DELETE, ARMTransport.path(id, apiVersion: ClientAPIVersion.vaults), body: nil, what: "vault delete")
        case .backupPolicy:
            try await transport.write(.DELETE, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), body: nil, what: "backup policy delete")
        case .protectedVM:
            switch deletionPolicy {
            case .retain:
                try await putItem(id, Translation.itemBody(state: .protectionStopped), what: "stop protection")
            case .delete:
                try await transport.write(.DELETE, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), body: nil, what: "backup item delete")
            }
        case .keyVaultAccessPolicy:
            let tenant = try await tenant()
            guard let range = id.range(of: "/objectId/", options: .caseInsensitive), let objectID = ARMIDs.segment(id, after: "objectId"),
                let keyVault = try await transport.get(
                    KeyVaultResource.self, ARMTransport.path(String(id[..<range.lowerBound]), apiVersion: ClientAPIVersion.keyVault), what: "key vault")
            else { throw Self.notFound("access policy", id) }
            try await updateAccessPolicy(keyVault, kind: .remove, objectID: objectID, keys: ["all"], secrets: ["all"], tenant: tenant)
        case .keyVaultRoleAssignment:
            try await transport.write(.DELETE, ARMTransport.path(id, apiVersion: ClientAPIVersion.authorization), body: nil, what: "role assignment delete")
        }
    }

    // MARK: Protection recipes

    /// Enables protection, or recovers the VM's soft-deleted item in the same vault and resumes it (as
    /// azurerm's recover_soft_deleted_backup_protected_vm does), then reaches the wanted protection state.
    func createProtection(_ protected: ProtectedVMSpec, tenant: Tenant) async throws -> ObservedResource {
        // The vault's id and name as a list gave them: its state matters only to stop protection with the
        // data retained as per policy (an immutable vault), and a vault gone since answers the PUT with 404.
        let vaultID: String
        let vaultName: String
        if protected.protectionState != .backupsSuspended, let id = await vaultIDs.id(of: protected.vault) {
            vaultID = id
            vaultName = ARMIDs.lastName(id) ?? protected.vault
        } else {
            let vault = try await requireVault(protected.vault, tenant: tenant)
            if protected.protectionState == .backupsSuspended,
                vault.properties?.securitySettings?.immutabilitySettings?.state?.lowercased() == "disabled"
            {
                throw ProviderError(
                    code: "UserErrorBackupsSuspendedRequiresImmutableVault",
                    message: "stop protection and retain data as per policy needs an immutable vault; '\(protected.vault)' has immutability Disabled",
                    hint: "use protectionState ProtectionStopped, or make the vault immutable")
            }
            vaultID = vault.id ?? ""
            vaultName = vault.name ?? protected.vault
        }
        let vmID = try await requireVM(protected.vm, tenant: tenant)
        let id = ResourceIDs.protectedItem(vaultID: vaultID, vmResourceGroup: protected.vm.resourceGroup, vm: protected.vm.name)
        let policyID = ResourceIDs.policy(vaultID: vaultID, name: protected.policy)
        let existing = try await transport.get(ProtectedItemResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), what: "backup item")
        var item: ProtectedItemResource?
        if let existing, Translation.isSoftDeleted(existing) {
            try await putItem(id, Translation.itemBody(policyID: policyID, rehydrate: true), what: "recover the backup item")
            item = try await putItem(
                id, Translation.itemBody(policyID: policyID, include: protected.includeDiskLuns, exclude: protected.excludeDiskLuns),
                what: "change protection")
        } else if existing != nil {
            throw ProviderError(
                code: "ResourceAlreadyExists", message: "VM '\(protected.vm.name)' is already protected in vault '\(vaultName)'",
                hint: "change its policy instead, or import the existing item")
        } else {
            item = try await putItem(
                id, Translation.itemBody(vmID: vmID, policyID: policyID, include: protected.includeDiskLuns, exclude: protected.excludeDiskLuns),
                what: "enable protection")
        }
        item = try await applyProtectionState(id, wanted: protected.protectionState, policyID: policyID, current: item)
        return try await observedItem(id, item, vault: vaultName, tenant: tenant)
    }

    func updateProtection(_ protected: ProtectedVMSpec, tenant: Tenant) async throws -> ObservedResource {
        let vmID = try await requireVM(protected.vm, tenant: tenant)
        guard let found = try await findItem(ofVM: vmID, tenant: tenant), !Translation.isSoftDeleted(found.1), let id = found.1.id else {
            throw ProviderError(
                code: "UserErrorBcmDatasourceNotPresent", message: "VM '\(protected.vm.name)' is not protected",
                hint: "enable protection first (a ProtectedVM manifest, then 'coffer apply')")
        }
        let (vaultName, item) = found
        guard vaultName.lowercased() == protected.vault.lowercased() else {
            throw ProviderError(
                code: "UserErrorVmAlreadyProtectedInAnotherVault",
                message: "VM '\(protected.vm.name)' is protected in vault '\(vaultName)'; moving it to '\(protected.vault)' needs a new item",
                hint: "stop protection and delete its data in '\(vaultName)', then protect it in '\(protected.vault)'")
        }
        let vaultID = String(id[..<(id.range(of: "/backupFabrics/", options: .caseInsensitive)?.lowerBound ?? id.endIndex)])
        let policyID = ResourceIDs.policy(vaultID: vaultID, name: protected.policy)
        let status = Translation.protectionStatus(item)
        let stopped = status == .protectionStopped || status == .backupsSuspended
        if stopped && protected.protectionState == .protected {
            try await putItem(id, Translation.itemBody(policyID: policyID), what: "resume protection")
        }
        var current: ProtectedItemResource?
        if !stopped || protected.protectionState == .protected {
            current = try await putItem(
                id, Translation.itemBody(policyID: policyID, include: protected.includeDiskLuns, exclude: protected.excludeDiskLuns),
                what: "change protection")
        }
        current = try await applyProtectionState(id, wanted: protected.protectionState, policyID: policyID, current: current)
        return try await observedItem(id, current, vault: vaultName, tenant: tenant)
    }

    /// Brings the item to the wanted protection state, from `current` (the item as the last write answered
    /// it) or, when that is nil, from a read of it; the item as the last write answered it, nil when that
    /// answer had no item (or nothing was known and nothing written).
    func applyProtectionState(_ id: String, wanted: ProtectionState, policyID: String, current: ProtectedItemResource?) async throws
        -> ProtectedItemResource?
    {
        let read: ProtectedItemResource?
        if let current {
            read = current
        } else {
            read = try await transport.get(ProtectedItemResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), what: "backup item")
        }
        guard let item = read else { return nil }
        let status = Translation.protectionStatus(item)
        switch wanted {
        case .protected:
            if status == .protectionStopped || status == .backupsSuspended {
                return try await putItem(id, Translation.itemBody(policyID: policyID), what: "resume protection")
            }
        case .protectionStopped:
            if status != .protectionStopped { return try await putItem(id, Translation.itemBody(state: .protectionStopped), what: "stop protection") }
        case .backupsSuspended:
            if status != .backupsSuspended { return try await putItem(id, Translation.itemBody(state: .backupsSuspended), what: "stop protection") }
        }
        return item
    }

    /// PUTs a backup item; the item as the answer gave it (200 with the item, at once or at the operation's
    /// `Location`), nil when the answer carried none (201, 202 or 204 without a body).
    @discardableResult
    func putItem(_ id: String, _ body: ProtectedItemResource, what: String) async throws -> ProtectedItemResource? {
        let reply = try await transport.write(.PUT, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), body: try ARMTransport.encode(body), what: what)
        guard reply.status == 200, !reply.body.isEmpty else { return nil }
        let item = try transport.decode(ProtectedItemResource.self, reply, what)
        return item.id?.lowercased() == id.lowercased() ? item : nil
    }

    /// The item just written as the reconciler observes it: from the write's answer when it carried the item,
    /// else read back.
    func observedItem(_ id: String, _ item: ProtectedItemResource?, vault: String, tenant: Tenant) async throws -> ObservedResource {
        guard let item, let observed = try Translation.observedItem(item, vault: vault, tenant: tenant) else { return try await required(.protectedVM, id) }
        return observed
    }

    // MARK: Helpers

    func putVault(_ id: String, _ spec: VaultSpec, owned: Bool) async throws {
        try await transport.write(
            .PUT, ARMTransport.path(id, apiVersion: ClientAPIVersion.vaults), body: try ARMTransport.encode(Translation.vaultBody(spec, owned: owned)),
            what: "vault '\(ARMIDs.lastName(id) ?? id)'")
    }

    func putPolicy(_ id: String, name: String, _ spec: BackupPolicySpec) async throws {
        var body = BackupPolicyResource(id: id, name: name, spec: spec, protectedItems: 0)
        body.id = nil
        body.properties?.protectedItemsCount = nil
        try await transport.write(.PUT, ARMTransport.path(id, apiVersion: ClientAPIVersion.backup), body: try ARMTransport.encode(body),
                                  what: "backup policy '\(name)'")
    }

    func updateAccessPolicy(
        _ keyVault: KeyVaultResource, kind: AccessPolicyUpdateKind, objectID: String, keys: [String], secrets: [String], tenant: Tenant
    ) async throws {
        let entry = AccessPolicyEntry(
            tenantId: tenant.facts.tenantId, objectId: objectID,
            permissions: AccessPolicyEntry.Permissions(keys: keys.map { $0.lowercased() }, secrets: secrets.map { $0.lowercased() }, certificates: [], storage: []))
        let body = AccessPolicyUpdateResource(id: nil, name: nil, location: nil, accessPolicies: [entry])
        try await transport.write(
            .PUT, ARMTransport.path(keyVault.id + "/accessPolicies/\(kind.rawValue)", apiVersion: ClientAPIVersion.keyVault),
            body: try ARMTransport.encode(body), what: "access policy of '\(objectID)' on key vault '\(keyVault.name)'")
    }

    /// A resource just written, read back.
    func required(_ kind: ResourceKind, _ id: String) async throws -> ObservedResource {
        guard let found = try await read(kind: kind, id: id) else {
            throw ProviderError(code: "ResourceNotFound", message: "\(kind.rawValue) '\(id)' is not there after it was written", retryable: true)
        }
        return found
    }

    static func notFound(_ what: String, _ name: String) -> ProviderError {
        ProviderError(code: "ResourceNotFound", message: "there is no \(what) '\(name)'")
    }

    /// Every vault of every subscription (vault names are unique in the platform).
    func allVaults(tenant: Tenant) async throws -> [VaultResource] {
        let transport = transport
        return try await boundedMap(tenant.subscriptions.map(\.subscriptionId), limit: transport.configuration.concurrency) { subscription in
            try await transport.list(
                VaultResource.self,
                ARMTransport.path("/subscriptions/\(subscription)/providers/Microsoft.RecoveryServices/vaults", apiVersion: ClientAPIVersion.vaults),
                what: "Recovery Services vaults") ?? []
        }.flatMap { $0 }
    }

    /// The vault of that name, read now: by its id when a list gave it before (one GET, where a list of every
    /// vault costs a page per hundred vaults at every step), else, or when that id no longer answers with
    /// the name, from the list of every vault.
    func findVault(_ name: String, tenant: Tenant) async throws -> VaultResource? {
        if let id = await vaultIDs.id(of: name) {
            let found = try await transport.get(VaultResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.vaults), what: "Recovery Services vault")
            if let found, found.name?.lowercased() == name.lowercased() { return found }
            await vaultIDs.forget(name)
        }
        let all = try await allVaults(tenant: tenant)
        await vaultIDs.remember(vaults: all)
        return all.first { $0.name?.lowercased() == name.lowercased() }
    }

    func requireVault(_ name: String, tenant: Tenant) async throws -> VaultResource {
        guard let vault = try await findVault(name, tenant: tenant) else { throw Self.notFound("Recovery Services vault", name) }
        return vault
    }

    /// The platform's name of the vault (its casing), or `name` when none has it.
    func vaultName(_ name: String, tenant: Tenant) async throws -> String {
        try await findVault(name, tenant: tenant)?.name ?? name
    }

    func vaultID(_ vault: String, parents: ResourceParents, tenant: Tenant) async throws -> String? {
        if let found = try await findVault(vault, tenant: tenant), let id = found.id { return id }
        guard let spec = parents.vault(vault) else { return nil }
        return ResourceIDs.vault(subscription: try tenant.subscriptionID(spec.subscription), resourceGroup: spec.resourceGroup, name: vault)
    }

    func items(ofVault vault: VaultResource) async throws -> [ProtectedItemResource] {
        try await transport.list(
            ProtectedItemResource.self,
            ARMTransport.path((vault.id ?? "") + "/backupProtectedItems", apiVersion: ClientAPIVersion.backup,
                              query: [("$filter", "backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'")]),
            what: "backup items") ?? []
    }

    /// The VM's backup item in any vault, soft-deleted ones included, with its vault's name.
    func findItem(ofVM vmID: String, tenant: Tenant) async throws -> (String, ProtectedItemResource)? {
        for vault in try await allVaults(tenant: tenant) {
            if let item = try await items(ofVault: vault).first(where: { $0.properties?.sourceResourceId?.lowercased() == vmID.lowercased() }) {
                return (vault.name ?? "", item)
            }
        }
        return nil
    }

    /// The key vault of that name, read now: by its id when a list gave it before (one GET instead of a list
    /// of every key vault at every step that grants access), else from the list of every key vault.
    func findKeyVault(_ name: String, tenant: Tenant) async throws -> KeyVaultResource? {
        if let id = await keyVaultIDs.id(of: name) {
            let found = try await transport.get(KeyVaultResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.keyVault), what: "key vault")
            if let found, found.name.lowercased() == name.lowercased() { return found }
            await keyVaultIDs.forget(name)
        }
        let transport = transport
        let all = try await boundedMap(tenant.subscriptions.map(\.subscriptionId), limit: transport.configuration.concurrency) { subscription in
            try await transport.list(
                KeyVaultResource.self,
                ARMTransport.path("/subscriptions/\(subscription)/providers/Microsoft.KeyVault/vaults", apiVersion: ClientAPIVersion.keyVault),
                what: "key vaults") ?? []
        }.flatMap { $0 }
        await keyVaultIDs.remember(all.map { ($0.name, $0.id) })
        return all.first { $0.name.lowercased() == name.lowercased() }
    }

    func requireKeyVault(_ name: String, tenant: Tenant) async throws -> KeyVaultResource {
        guard let keyVault = try await findKeyVault(name, tenant: tenant) else { throw Self.notFound("key vault", name) }
        return keyVault
    }

    /// The id of the VM a reference names, as the plan's list gave it or read now; `ResourceNotFound` when
    /// there is none.
    func requireVM(_ reference: VMReference, tenant: Tenant) async throws -> String {
        let subscription = try tenant.subscriptionID(reference.subscription)
        let id = ResourceIDs.virtualMachine(subscription: subscription, resourceGroup: reference.resourceGroup, name: reference.name)
        if let listed = await vmIDs.id(of: id) { return listed }
        guard let vm = try await transport.get(VirtualMachineResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.compute), what: "VM")
        else {
            throw ProviderError(
                code: "ResourceNotFound",
                message: "there is no VM '\(reference.name)' in resource group '\(reference.resourceGroup)' of subscription '\(tenant.subscriptionName(id: subscription))'")
        }
        return vm.id
    }
}

/// The ids of the vaults (or key vaults, or VMs by id) the lists gave, by lower-cased name: where to read one
/// by name with one GET. Only ids are kept, never a resource's state, which is read afresh each time.
actor ResourceIDCache {
    private var ids: [String: String] = [:]

    func id(of name: String) -> String? { ids[name.lowercased()] }

    func remember(_ named: [(name: String, id: String)]) {
        for (name, id) in named { ids[name.lowercased()] = id }
    }

    /// The vaults a list gave (those with a name and an id).
    func remember(vaults: some Sequence<VaultResource>) {
        for vault in vaults { if let name = vault.name, let id = vault.id { ids[name.lowercased()] = id } }
    }

    func forget(_ name: String) { ids[name.lowercased()] = nil }
}

/// The tenant as last read.
actor TenantCache {
    var value: Tenant?
    func set(_ tenant: Tenant) { value = tenant }
}

/// A snapshot over HTTP: the catalog's lists, and a VM's instance view read when the plan asks for it.
struct ARMSnapshot: ProviderSnapshot {
    let catalog: Catalog
    let transport: ARMTransport

    var operatorGrantsKeyVaultAccess: Bool { catalog.tenant.facts.operatorUserType.lowercased() == "member" }
    /// The platform's time, from its facts: a plan dates the purge of soft-deleted data by it.
    var platformTime: String? { catalog.tenant.facts.platformTime }

    func resourceIDs(_ resources: [ResourceDeclaration], parents: ResourceParents) async throws -> [String?] {
        try resources.map { try catalog.resourceID(name: $0.name, spec: $0.spec, parents: parents) }
    }

    func read(_ requests: [ResourceReference]) async throws -> [ObservedResource?] {
        try requests.map { try catalog.read(kind: $0.kind, id: $0.id) }
    }

    /// The VMs' facts, with the agent's state and the disks' encryption from their instance views, which
    /// the catalog's list leaves out. Where the plan asks about at least a quarter of a resource group's VMs
    /// (and two or more), the group is listed once with `$expand=instanceView` (VirtualMachines_List), a
    /// page per hundred VMs; the others, and any the list did not expand, are read one by one.
    func virtualMachines(_ references: [VMReference]) async throws -> [VirtualMachineFacts?] {
        let catalog = catalog
        let transport = transport
        let limit = transport.configuration.concurrency
        let listed = references.map { catalog.virtualMachine($0) }
        var asked: [String: Set<String>] = [:]
        for vm in listed.compactMap({ $0 }) { asked[Self.resourceGroupID(of: vm.id), default: []].insert(vm.id.lowercased()) }
        var inGroup: [String: Int] = [:]
        for vm in catalog.virtualMachines { inGroup[Self.resourceGroupID(of: vm.id), default: 0] += 1 }
        let groups = asked.filter { $0.value.count >= 2 && 4 * $0.value.count >= inGroup[$0.key, default: 0] }.keys.sorted()
        let lists = try await boundedMap(groups, limit: limit) { group -> [VirtualMachineResource] in
            do {
                return try await transport.list(
                    VirtualMachineResource.self,
                    ARMTransport.path(group + "/providers/Microsoft.Compute/virtualMachines", apiVersion: ClientAPIVersion.compute,
                                      query: [("$expand", "instanceView")]),
                    what: "virtual machines") ?? []
            } catch is ProviderError {
                // An endpoint that does not expand a list: the VMs are read one by one below.
                return []
            }
        }
        var bodies: [String: VirtualMachineResource] = [:]
        for body in lists.joined() where body.properties.instanceView != nil { bodies[body.id.lowercased()] = body }
        let expanded = bodies
        return try await boundedMap(listed, limit: limit) { listed -> VirtualMachineFacts? in
            guard let listed else { return nil }
            let body: VirtualMachineResource
            if let found = expanded[listed.id.lowercased()] {
                body = found
            } else {
                body = try await transport.get(
                    VirtualMachineResource.self, ARMTransport.path(listed.id, apiVersion: ClientAPIVersion.compute, query: [("$expand", "instanceView")]),
                    what: "VM") ?? listed
            }
            return Translation.virtualMachineFacts(body, tenant: catalog.tenant, item: catalog.item(ofVM: listed.id))
        }
    }

    /// `/subscriptions/{id}/resourceGroups/{name}` of a resource id, lower-cased.
    static func resourceGroupID(of id: String) -> String {
        guard let range = id.range(of: "/providers/", options: .caseInsensitive) else { return id.lowercased() }
        return String(id[..<range.lowerBound]).lowercased()
    }

    func keyVaults(named names: [String]) async throws -> [KeyVaultFacts?] {
        try names.map { try catalog.keyVaultFacts($0) }
    }

    func resourceGroupsExist(_ groups: [ResourceGroupReference]) async throws -> [Bool] {
        groups.map { catalog.resourceGroupExists($0) }
    }

    func availableRegions() async throws -> [String] { catalog.tenant.facts.regions }
}
