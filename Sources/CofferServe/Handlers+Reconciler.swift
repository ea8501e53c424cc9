import CofferARM
import CofferModel
import CofferPlatform
import Foundation

// What a reconciler reads that no ARM resource body carries (CofferARM's PlatformFactsResource): the
// default subscription, the operator's membership of the tenant, the Backup Management Service's object id,
// the regions offered, the tenant's custom roles, the disk encryption sets, which keys belong to
// certificates, and the platform's (simulated) time. coffer's ARM client reads it once per snapshot.
extension Handlers {
    func getPlatformFacts(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let (overview, keys) = try await access.run { try $0.reconcilerFacts() }
        let byDefault = overview.subscriptions.sorted { ($0.isDefault ? 0 : 1, $0.name) < ($1.isDefault ? 0 : 1, $1.name) }
        guard let first = byDefault.first else {
            throw ARMError(status: 500, code: "InternalServerError", message: "The platform has no subscription.")
        }
        let certificateBacked = keys.map { PlatformFactsResource.KeyName(keyVault: $0.keyVault, name: $0.name) }
        return .json(
            PlatformFactsResource(
                tenantId: world.tenantID, defaultSubscriptionId: first.id,
                operatorUserType: overview.operatorIdentity.type == .member ? "Member" : "Guest",
                backupManagementServiceObjectId: overview.backupManagementServiceObjectID, regions: overview.regions,
                customRoles: overview.roleDefinitions,
                diskEncryptionSets: overview.diskEncryptionSets.map {
                    PlatformFactsResource.DiskEncryptionSet(name: $0.name, keyVault: $0.keyVault, key: $0.key, identityObjectId: $0.identityPrincipalID)
                },
                certificateBackedKeys: certificateBacked, platformTime: overview.clock.formatted(.iso8601),
                operatorObjectId: overview.operatorIdentity.objectID))
    }
}

// What coffer's commands ask of a recovery point that ARM has no operation for: a test restore compared with
// the checksums recorded at snapshot time (`coffer verify`), and putting an ADE VM's backed-up BEK and KEK back
// into a key vault (`coffer restore-keys`; Azure does it through the Key Vault data plane's restore of the
// point's `keyAndSecret` backups, which serve does not answer). Both are extension actions under
// `providers/Coffer.Platform` of the recovery point, answered when done (200).
extension Handlers {
    /// What `restoreKeys` reads from its body.
    struct RestoreKeysRequest: Decodable, Sendable {
        var targetKeyVault: String?
    }

    /// The VM and recovery point a recovery point's path names, checked to exist in the request's vault.
    func recoveryPointTarget(_ request: ARMRequest) async throws(ARMError) -> (vm: String, point: String) {
        let (item, points, _) = try await recoveryPointContext(request)
        guard let point = points.first(where: { $0.id == request["recoveryPoint"] }) else {
            throw .resourceNotFound(type: RecoveryPointResource.type, name: request["recoveryPoint"])
        }
        return (item.vm, point.id)
    }

    func verifyRecoveryPoint(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let (vm, point) = try await recoveryPointTarget(request)
        return .json(try await access.run { try $0.verify(vm: vm, recoveryPoint: point) })
    }

    func restoreRecoveryPointKeys(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let (vm, point) = try await recoveryPointTarget(request)
        let body = request.body.isEmpty ? RestoreKeysRequest(targetKeyVault: nil) : try request.decode(RestoreKeysRequest.self)
        let actions = try await access.run { try $0.restoreKeys(vm: vm, recoveryPoint: point, targetKeyVault: body.targetKeyVault) }
        return .json(ARMList(value: actions, nextLink: nil))
    }
}
