import CofferARM
import CofferModel
import CofferPlatform
import Foundation

// Key vaults on the management plane: settings, access policies, and the names of keys and secrets.
extension Handlers {
    /// The key vault the path names, in the path's subscription and resource group, or 404.
    func keyVault(_ request: ARMRequest) async throws(ARMError) -> KeyVaultInfo {
        let name = request["keyVault"]
        let info: KeyVaultInfo
        do {
            // A GET's lists (keys, secrets, role assignments, each page) read the key vault once per change.
            info = try await readModel(request, "keyVault:" + name.lowercased()) { () async throws(ARMError) in
                try await access.run { try $0.keyVaultInfo(named: name) }
            }
        } catch let error where error.status == 404 {
            throw .resourceNotFound(type: KeyVaultResource.type, name: name, resourceGroup: request["resourceGroup"])
        }
        let expected = ResourceIDs.keyVault(subscription: request["subscription"], resourceGroup: request["resourceGroup"], name: name)
        guard info.id.lowercased() == expected.lowercased() else {
            throw .resourceNotFound(type: KeyVaultResource.type, name: name, resourceGroup: request["resourceGroup"])
        }
        return info
    }

    func keyVaultBody(_ info: KeyVaultInfo) -> KeyVaultResource {
        KeyVaultResource(
            id: info.id, name: info.name, location: info.region,
            properties: KeyVaultResource.Properties(
                tenantId: world.tenantID, accessPolicies: accessPolicyEntries(info), vaultUri: KeyVaultResource.vaultURI(info.name),
                enabledForDiskEncryption: info.enabledForDiskEncryption, enableSoftDelete: info.softDelete,
                softDeleteRetentionInDays: info.softDeleteRetentionDays, enablePurgeProtection: info.purgeProtection,
                enableRbacAuthorization: info.permissionModel == .rbac))
    }

    func accessPolicyEntries(_ info: KeyVaultInfo) -> [AccessPolicyEntry] {
        info.accessPolicies.map {
            AccessPolicyEntry(tenantID: world.tenantID, objectID: $0.objectID, keys: $0.keyPermissions, secrets: $0.secretPermissions)
        }
    }

    func listKeyVaults(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let prefix = (request.match.values["resourceGroup"].map {
            ResourceIDs.resourceGroup(subscription: request["subscription"], name: $0)
        } ?? ResourceIDs.subscription(request["subscription"])).lowercased() + "/"
        // Every page reads the whole list: it is made once per change of the platform.
        let bodies = try await readModel(request, "keyVaults:" + prefix) { () async throws(ARMError) in
            try await access.run { try $0.keyVaults() }.filter { $0.id.lowercased().hasPrefix(prefix) }.map(keyVaultBody)
        }
        return try page(bodies, request)
    }

    func getKeyVault(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        .json(keyVaultBody(try await keyVault(request)))
    }

    /// `PUT {keyVault}` (Vaults_CreateOrUpdate) of a key vault that exists: its settings and, when the body
    /// lists them, its access policies, exactly as listed (a changed list is `accessPolicies/replace` for the
    /// principals listed, and a removal for those left out: what `az keyvault set-policy` and `delete-policy`
    /// send). 200 with the key vault. The platform's key vaults are part of its world, so a PUT of a new one
    /// is refused: 409 `VaultAlreadyExists` when the name is taken elsewhere, else 400 `OperationNotAllowed`.
    func putKeyVault(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let body = try request.decode(KeyVaultUpdateRequest.self)
        let info: KeyVaultInfo
        do {
            info = try await keyVault(request)
        } catch let error where error.status == 404 {
            let name = request["keyVault"]
            let taken = try await access.run { platform in try platform.overview().keyVaults.contains { $0.name.lowercased() == name.lowercased() } }
            if taken {
                throw ARMError(status: 409, code: "VaultAlreadyExists", message: "The vault name '\(name.prefix(64))' is already in use.")
            }
            throw ARMError(
                status: 400, code: "OperationNotAllowed",
                message: "coffer serve cannot create key vault '\(name.prefix(64))': the platform's key vaults are part of its world (the world file given to 'coffer platform init'); add it there.",
                target: "name")
        }
        return .json(keyVaultBody(try await updateKeyVault(info, body)))
    }

    /// `PATCH {keyVault}` (Vaults_Update): the same change as a PUT, on a key vault that exists (404 otherwise).
    func patchKeyVault(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let body = try request.decode(KeyVaultUpdateRequest.self)
        let info = try await keyVault(request)
        return .json(keyVaultBody(try await updateKeyVault(info, body)))
    }

    /// The body's settings and access policies over the key vault's, through the platform's rules.
    func updateKeyVault(_ info: KeyVaultInfo, _ body: KeyVaultUpdateRequest) async throws(ARMError) -> KeyVaultInfo {
        let current = KeyVaultSettings(
            enabledForDiskEncryption: info.enabledForDiskEncryption, softDelete: info.softDelete, softDeleteRetentionDays: info.softDeleteRetentionDays,
            purgeProtection: info.purgeProtection, rbacAuthorization: info.permissionModel == .rbac)
        let settings = try body.settings(over: current, tenantID: world.tenantID, region: info.region)
        var grants: [AccessPolicyGrant]?
        if let entries = body.properties?.accessPolicies {
            guard entries.count <= 1024 else {
                throw ARMError(status: 400, code: "BadRequest", message: "A key vault holds at most 1024 access policies.", target: "properties.accessPolicies")
            }
            var list: [AccessPolicyGrant] = []
            for (index, entry) in entries.enumerated() {
                if let tenant = entry.tenantId, tenant.lowercased() != world.tenantID.lowercased() {
                    throw ARMError(
                        status: 400, code: "BadRequest", message: "tenantId '\(tenant.prefix(64))' is not the key vault's tenant (\(world.tenantID)).",
                        target: "properties.accessPolicies[\(index)].tenantId")
                }
                let requested = try entry.requested(field: "properties.accessPolicies[\(index)]")
                list.append(
                    AccessPolicyGrant(
                        principal: Platform.principal(parsing: requested.objectID), keyPermissions: requested.keys, secretPermissions: requested.secrets))
            }
            grants = list
        }
        let name = info.name
        let policies = grants
        return try await access.run { try $0.updateKeyVault(name: name, settings: settings, accessPolicies: policies) }
    }

    /// `PUT {keyVault}/accessPolicies/{add|replace|remove}` (Vaults_UpdateAccessPolicy): `add` merges the
    /// permissions into each principal's policy, `replace` sets them, `remove` takes them away (a policy
    /// left empty goes). The answer is the key vault's policies after the change.
    func updateAccessPolicy(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        guard let kind = AccessPolicyUpdateKind(rawValue: request["kind"].lowercased()) else {
            throw .resourceNotFound(type: "Microsoft.KeyVault/vaults/accessPolicies", name: request["kind"])
        }
        let info = try await keyVault(request)
        let body = try request.decode(AccessPolicyUpdateResource.self)
        guard let entries = body.properties?.accessPolicies, !entries.isEmpty else {
            throw ARMError(status: 400, code: "BadRequest", message: "Give at least one access policy in properties.accessPolicies.", target: "properties.accessPolicies")
        }
        guard entries.count <= 1024 else {
            throw ARMError(status: 400, code: "BadRequest", message: "A key vault holds at most 1024 access policies.", target: "properties.accessPolicies")
        }
        var requested: [(objectID: String, keys: [KeyPermission], secrets: [SecretPermission])] = []
        for (index, entry) in entries.enumerated() {
            if let tenant = entry.tenantId, tenant.lowercased() != world.tenantID.lowercased() {
                throw ARMError(
                    status: 400, code: "BadRequest", message: "tenantId '\(tenant.prefix(64))' is not the key vault's tenant (\(world.tenantID)).",
                    target: "properties.accessPolicies[\(index)].tenantId")
            }
            requested.append(try entry.requested(field: "properties.accessPolicies[\(index)]"))
        }
        let keyVaultName = info.name
        let changes = requested
        let current = Dictionary(info.accessPolicies.map { ($0.objectID.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        try await access.run { platform in
            for change in changes {
                let principal = Platform.principal(parsing: change.objectID)
                let existing = current[change.objectID.lowercased()]
                var keys = Set(existing?.keyPermissions ?? [])
                var secrets = Set(existing?.secretPermissions ?? [])
                switch kind {
                case .add:
                    keys.formUnion(change.keys)
                    secrets.formUnion(change.secrets)
                case .replace:
                    keys = Set(change.keys)
                    secrets = Set(change.secrets)
                case .remove:
                    keys.subtract(change.keys)
                    secrets.subtract(change.secrets)
                }
                if kind == .remove && keys.isEmpty && secrets.isEmpty {
                    if existing != nil { try platform.removeAccessPolicy(keyVault: keyVaultName, principal: principal) }
                } else if kind != .remove || existing != nil {
                    try platform.setAccessPolicy(
                        keyVault: keyVaultName, principal: principal, keyPermissions: keys.sorted(), secretPermissions: secrets.sorted())
                }
            }
        }
        let after = try await keyVault(request)
        return .json(
            AccessPolicyUpdateResource(
                id: after.id + "/accessPolicies/\(kind.rawValue)", name: kind.rawValue, location: after.region,
                accessPolicies: accessPolicyEntries(after)))
    }

    /// The key vault's keys: names and attributes, never key material.
    func listKeys(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let info = try await keyVault(request)
        let keys = info.objects.filter { $0.kind == "key" && !$0.deleted }.map { object in
            var properties = KeyVaultObjectResource.Properties(attributes: .init(enabled: true, recoveryLevel: recoveryLevel(info)))
            properties.kty = object.keyType
            properties.keySize = object.bits
            properties.keyUri = KeyVaultResource.vaultURI(info.name) + "keys/\(object.name)"
            properties.keyUriWithVersion = properties.keyUri! + "/\(object.version)"
            return KeyVaultObjectResource(id: info.id + "/keys/\(object.name)", name: object.name, type: "Microsoft.KeyVault/vaults/keys", properties: properties)
        }
        return try page(keys, request)
    }

    /// The key vault's secrets: names, content types and attributes, never values.
    func listSecrets(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let info = try await keyVault(request)
        let secrets = info.objects.filter { $0.kind == "secret" && !$0.deleted }.map { object in
            var properties = KeyVaultObjectResource.Properties(attributes: .init(enabled: true, recoveryLevel: recoveryLevel(info)))
            properties.contentType = object.contentType
            properties.secretUri = KeyVaultResource.vaultURI(info.name) + "secrets/\(object.name)"
            properties.secretUriWithVersion = properties.secretUri! + "/\(object.version)"
            return KeyVaultObjectResource(
                id: info.id + "/secrets/\(object.name)", name: object.name, type: "Microsoft.KeyVault/vaults/secrets", properties: properties)
        }
        return try page(secrets, request)
    }

    func recoveryLevel(_ info: KeyVaultInfo) -> String {
        if !info.softDelete { return "Purgeable" }
        return info.purgeProtection ? "Recoverable" : "Recoverable+Purgeable"
    }
}
