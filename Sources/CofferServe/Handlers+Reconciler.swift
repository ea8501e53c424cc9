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
        let overview = try await access.run { try $0.overview() }
        let byDefault = overview.subscriptions.sorted { ($0.isDefault ? 0 : 1, $0.name) < ($1.isDefault ? 0 : 1, $1.name) }
        guard let first = byDefault.first else {
            throw ARMError(status: 500, code: "InternalServerError", message: "The platform has no subscription.")
        }
        let certificateBacked = overview.keyVaults.flatMap { keyVault in
            keyVault.objects.filter { $0.kind == "key" && !$0.deleted && $0.certificateBacked == true }.map {
                PlatformFactsResource.KeyName(keyVault: keyVault.name, name: $0.name)
            }
        }
        return .json(
            PlatformFactsResource(
                tenantId: world.tenantID, defaultSubscriptionId: first.id,
                operatorUserType: overview.operatorIdentity.type == .member ? "Member" : "Guest",
                backupManagementServiceObjectId: overview.backupManagementServiceObjectID, regions: overview.regions,
                customRoles: overview.roleDefinitions,
                diskEncryptionSets: overview.diskEncryptionSets.map {
                    PlatformFactsResource.DiskEncryptionSet(name: $0.name, keyVault: $0.keyVault, key: $0.key, identityObjectId: $0.identityPrincipalID)
                },
                certificateBackedKeys: certificateBacked, platformTime: overview.clock.formatted(.iso8601)))
    }
}
