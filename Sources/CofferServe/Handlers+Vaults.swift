import CofferARM
import CofferModel
import CofferPlatform
import Foundation

// Subscriptions, resource groups and Recovery Services vaults.
extension Handlers {
    // MARK: Microsoft.Resources

    func listSubscriptions(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        try page(world.subscriptions.map { SubscriptionResource(subscriptionId: $0.id, displayName: $0.name, tenantId: world.tenantID) }, request)
    }

    func getSubscription(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        guard let subscription = world.subscription(id: request["subscription"]) else { throw .subscriptionNotFound(request["subscription"]) }
        return .json(SubscriptionResource(subscriptionId: subscription.id, displayName: subscription.name, tenantId: world.tenantID))
    }

    func listResourceGroups(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let subscription = request["subscription"].lowercased()
        let groups = world.resourceGroups.filter { $0.subscriptionID.lowercased() == subscription }
        return try page(groups.map { ResourceGroupResource(subscription: $0.subscriptionID, name: $0.name, location: $0.region) }, request)
    }

    func getResourceGroup(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        guard let group = world.resourceGroup(subscriptionID: request["subscription"], name: request["resourceGroup"]) else {
            throw .resourceGroupNotFound(request["resourceGroup"])
        }
        return .json(ResourceGroupResource(subscription: group.subscriptionID, name: group.name, location: group.region))
    }

    // MARK: Vaults

    /// The vault the request's path names, or 404: vault names are unique in the platform, so the one with
    /// the name must also sit in the path's subscription and resource group.
    func vault(_ request: ARMRequest) async throws(ARMError) -> VaultInfo {
        let name = request["vault"]
        let info = try await access.run { try $0.vault(named: name) }
        return try checkedVault(info, request)
    }

    /// The platform's vault of the request's name when it is the one the path names (its subscription and
    /// resource group), else 404.
    func checkedVault(_ info: VaultInfo?, _ request: ARMRequest) throws(ARMError) -> VaultInfo {
        let name = request["vault"]
        let expected = ResourceIDs.vault(subscription: request["subscription"], resourceGroup: request["resourceGroup"], name: name)
        guard let info, info.id.lowercased() == expected.lowercased() else {
            throw .resourceNotFound(type: VaultResource.type, name: name, resourceGroup: request["resourceGroup"])
        }
        return info
    }

    func vaultBody(_ info: VaultInfo) -> VaultResource {
        VaultResource(id: info.id, name: info.name, spec: info.spec, tags: info.tags, identityPrincipalID: info.identityPrincipalID, tenantID: world.tenantID)
    }

    func listVaults(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let prefix = (request.match.values["resourceGroup"].map {
            ResourceIDs.resourceGroup(subscription: request["subscription"], name: $0)
        } ?? ResourceIDs.subscription(request["subscription"])).lowercased() + "/"
        let vaults = try await access.run { try $0.vaults() }
        return try page(vaults.filter { $0.id.lowercased().hasPrefix(prefix) }.map(vaultBody), request)
    }

    func getVault(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        .json(vaultBody(try await vault(request)))
    }

    /// Creates (201) or updates (200) a vault; the body's settings over the current ones on an update.
    func putVault(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let body = try request.decode(VaultResource.self)
        let name = request["vault"]
        let existing: VaultInfo?
        do {
            existing = try await vault(request)
        } catch let error where error.status == 404 {
            existing = nil
        }
        let spec = try body.spec(subscription: request["subscription"], resourceGroup: request["resourceGroup"], existing: existing?.spec)
        if let existing {
            let info = try await access.run { try $0.updateVault(name: existing.name, spec: spec) }
            return .json(vaultBody(info), status: 200)
        }
        let info = try await access.run { try $0.createVault(name: name, spec: spec) }
        return .json(vaultBody(info), status: 201)
    }

    /// Deletes a vault: 204 (also when there is none, as ARM answers); refused while it holds items.
    func deleteVault(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let info: VaultInfo
        do {
            info = try await vault(request)
        } catch let error where error.status == 404 {
            return ARMResponse(status: 204)
        }
        try await access.run { try $0.deleteVault(name: info.name) }
        return ARMResponse(status: 204)
    }

    /// `PATCH {vault}` (Vaults_Update): the body's settings (tags, redundancy, soft delete, immutability,
    /// public network access, identity, encryption) over the current ones, through the platform's rules;
    /// 200 with the vault (a terminal provisioningState, so the SDK's poller ends at once).
    func patchVault(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let body = try request.decode(VaultResource.self)
        let existing = try await vault(request)
        let spec = try body.spec(subscription: request["subscription"], resourceGroup: request["resourceGroup"], existing: existing.spec)
        let info = try await access.run { try $0.updateVault(name: existing.name, spec: spec) }
        return .json(vaultBody(info))
    }

    /// Applies `change` to the vault's spec through the platform (its rules refuse with the service's codes)
    /// and returns the vault after it; nothing is written when the spec does not change.
    func changeVault(_ request: ARMRequest, _ change: (VaultSpec) throws(ARMError) -> VaultSpec) async throws(ARMError) -> VaultInfo {
        let existing = try await vault(request)
        let spec = try change(existing.spec)
        guard spec != existing.spec else { return existing }
        let name = existing.name
        return try await access.run { try $0.updateVault(name: name, spec: spec) }
    }

    /// The vault's backup configuration (`backupconfig/vaultconfig`): its soft-delete settings.
    func getVaultConfig(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        .json(vaultConfigBody(try await vault(request)))
    }

    /// `PUT` and `PATCH backupconfig/vaultconfig` (BackupResourceVaultConfigs_Put, _Update): soft delete's state
    /// and retention; 200 with the configuration. AlwaysON cannot be undone (`BMSUserErrorSoftDeleteStateAlwaysOn`).
    func putVaultConfig(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let body = try request.decode(VaultConfigRequest.self)
        return .json(vaultConfigBody(try await changeVault(request) { current throws(ARMError) in try body.spec(over: current) }))
    }

    func vaultConfigBody(_ info: VaultInfo) -> ConfigResource {
        let alwaysOn = info.spec.softDeleteState == .alwaysOn
        return ConfigResource(
            id: info.id + "/backupconfig/vaultconfig", name: "vaultconfig", type: "Microsoft.RecoveryServices/vaults/backupconfig",
            properties: [
                "softDeleteFeatureState": .string(alwaysOn ? "AlwaysON" : "Enabled"),
                "softDeleteRetentionPeriodInDays": .number(info.spec.softDeleteRetentionDays),
                "enhancedSecurityState": .string("Enabled"),
                "isSoftDeleteFeatureStateEditable": .bool(!alwaysOn),
                "storageModelType": .string(info.spec.storageRedundancy.rawValue),
                "storageType": .string(info.spec.storageRedundancy.rawValue),
                "storageTypeState": .string(info.registeredItems > 0 ? "Locked" : "Unlocked"),
            ])
    }

    /// The vault's storage configuration (`backupstorageconfig/vaultstorageconfig`): its redundancy, locked
    /// once an item is registered.
    func getStorageConfig(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        .json(storageConfigBody(try await vault(request)))
    }

    /// `PUT backupstorageconfig/vaultstorageconfig` (BackupResourceStorageConfigsNonCRR_Update): 200 with the
    /// configuration. A redundancy change once items are registered is `StorageModelModifyError`.
    func putStorageConfig(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let body = try request.decode(StorageConfigRequest.self)
        return .json(storageConfigBody(try await changeVault(request) { current throws(ARMError) in try body.spec(over: current) }))
    }

    /// `PATCH backupstorageconfig/vaultstorageconfig` (BackupResourceStorageConfigsNonCRR_Patch): the same
    /// change, answered 204 without a body, as the service does.
    func patchStorageConfig(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let body = try request.decode(StorageConfigRequest.self)
        _ = try await changeVault(request) { current throws(ARMError) in try body.spec(over: current) }
        return ARMResponse(status: 204)
    }

    func storageConfigBody(_ info: VaultInfo) -> ConfigResource {
        ConfigResource(
            id: info.id + "/backupstorageconfig/vaultstorageconfig", name: "vaultstorageconfig",
            type: "Microsoft.RecoveryServices/vaults/backupstorageconfig",
            properties: [
                "storageModelType": .string(info.spec.storageRedundancy.rawValue),
                "storageType": .string(info.spec.storageRedundancy.rawValue),
                "storageTypeState": .string(info.registeredItems > 0 ? "Locked" : "Unlocked"),
                "crossRegionRestoreFlag": .bool(info.spec.crossRegionRestore),
            ])
    }
}

/// A configuration resource with a flat property bag.
struct ConfigResource: Encodable, Sendable {
    var id: String
    var name: String
    var type: String
    var properties: [String: ConfigValue]
}

enum ConfigValue: Encodable, Sendable {
    case string(String)
    case number(Int)
    case bool(Bool)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }
}
