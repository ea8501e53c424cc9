import CofferARM
import CofferModel
import CofferPlatform
import CofferRules
import Crypto
import Foundation

// Cross-region restore, the passive stamp's API (api-version 2021-11-15): the secondary region's Azure AD
// properties, the replicated items and recovery points (the trailing-slash routes), the access token of a
// recovery point, the restore in the secondary region, its operation, and its jobs.
extension Handlers {
    static let location = subscription + "/providers/Microsoft.RecoveryServices/locations/{region}"

    // MARK: Regions and vaults

    /// The path's region, which must be an Azure region the platform knows.
    func pathRegion(_ request: ARMRequest) throws(ARMError) -> Region {
        guard let region = Regions.region(named: request["region"].lowercased()) else {
            throw ARMError(status: 400, code: PlatformErrorCode.invalidInput, message: "'\(request["region"].prefix(60))' is not an Azure region.",
                           target: "azureRegion")
        }
        return region
    }

    /// Refuses a vault without cross-region restore (it needs GeoRedundant storage with cross-region restore
    /// on: nothing of it is replicated otherwise), with the service's code; else the secondary region, the
    /// pair of the vault's region.
    static func secondaryRegion(of vault: VaultInfo) throws(ARMError) -> Region {
        guard vault.spec.storageRedundancy == .geoRedundant, vault.spec.crossRegionRestore else {
            throw ARMError(
                status: 400, code: PlatformErrorCode.crossRegionRestoreNotSupported,
                message: "Vault '\(vault.name)' does not have cross-region restore: it needs GeoRedundant storage with crossRegionRestore "
                    + "Enabled, so nothing of it is replicated to a secondary region.")
        }
        guard let pair = Regions.pair(of: vault.spec.location) else {
            throw ARMError(
                status: 400, code: PlatformErrorCode.crossRegionRestoreNotSupported,
                message: "Region '\(vault.spec.location)' of vault '\(vault.name)' has no paired region: cross-region restore is not possible.")
        }
        return pair
    }

    /// A vault's cross-region restore endpoint is its secondary region's: a call for another region is
    /// refused with the service's code.
    static func checkSecondary(_ region: Region, of vault: VaultInfo) throws(ARMError) {
        let pair = try secondaryRegion(of: vault)
        guard pair.name == region.name else {
            throw ARMError(
                status: 400, code: PlatformErrorCode.crossRegionRestoreNotSupported,
                message: "Vault '\(vault.name)' in '\(vault.spec.location)' replicates to its paired region '\(pair.name)' only, not '\(region.name)'. "
                    + "Use the '\(pair.name)' endpoint.",
                target: "azureRegion")
        }
    }

    /// The vault a body's `resourceId` names (a vault of the path's subscription).
    func vault(id: String?, request: ARMRequest) async throws(ARMError) -> VaultInfo {
        guard let id, let reference = ARMResourceReference(id), reference.subscription.lowercased() == request["subscription"].lowercased(),
            let name = reference.name(ofType: "Microsoft.RecoveryServices/vaults")
        else {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput,
                message: "resourceId '\((id ?? "").prefix(300))' is not the id of a Recovery Services vault of subscription '\(request["subscription"])'.",
                target: "resourceId")
        }
        let info = try await access.run { try $0.vault(named: name) }
        guard let info, info.id.lowercased() == id.lowercased() else {
            throw .resourceNotFound(type: VaultResource.type, name: name, resourceGroup: reference.resourceGroup)
        }
        return info
    }

    // MARK: Azure AD properties

    /// The Azure AD identity of the Backup service in a region: the tenant, and the service principal that
    /// the access token's audience names.
    func getAADProperties(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let region = try pathRegion(request)
        let filter = ODataFilter(request.query["$filter"])
        if let type = filter["backupManagementType"], type.lowercased() != "azureiaasvm" {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput, message: "coffer serve restores Azure VMs only (backupManagementType AzureIaasVM).",
                target: "$filter")
        }
        let objectID = Platform.backupManagementServiceObjectID
        return .json(
            AADPropertiesResource(
                id: request.path.description, name: "backupAadProperties", type: "Microsoft.RecoveryServices/locations/backupAadProperties",
                properties: .init(
                    servicePrincipalClientId: ServedWorld.guid(from: "application:" + objectID), tenantId: world.tenantID,
                    authority: "https://login.microsoftonline.com", audience: "https://RecoveryServices/IaasCoord/aadmgmt/\(region.name)",
                    servicePrincipalObjectId: objectID)))
    }

    // MARK: Replicated items and recovery points

    /// The vault's backup items as the secondary region holds them (soft-deleted ones included, as in the
    /// primary); refused for a vault without cross-region restore.
    func listCrossRegionItems(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        _ = try Self.secondaryRegion(of: vault)
        return try await listProtectedItems(request)
    }

    /// The item's recovery points that reached the vault tier, the only ones replicated to the secondary
    /// region, newest first (the later taken first among points of the same time; `startDate` and `endDate`
    /// of the `$filter` apply).
    func listCrossRegionRecoveryPoints(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        _ = try Self.secondaryRegion(of: vault)
        let (item, points, vm) = try await recoveryPointContext(request)
        let filter = ODataFilter(request.query["$filter"])
        let start = filter["startDate"].flatMap(Self.parseTime)
        let end = filter["endDate"].flatMap(Self.parseTime)
        let keyVaults = try await keyVaultIDs()
        // The platform lists points in the order they were taken; a stable sort keeps it among equal times.
        let selected = points.reversed().filter { point in
            Self.isReplicated(point) && (start.map { point.time >= $0 } ?? true) && (end.map { point.time <= $0 } ?? true)
        }.enumerated().sorted { ($0.element.time, $1.offset) > ($1.element.time, $0.offset) }.map(\.element)
        return try page(selected.map { crossRegionPointBody($0, item: item, vm: vm, keyVaults: keyVaults) }, request)
    }

    /// Whether a recovery point is in the vault tier (replicated to the secondary region).
    static func isReplicated(_ point: RecoveryPointSummary) -> Bool { point.tier.hasSuffix("ault") }

    /// A recovery point as the secondary region has it: the vault tier only.
    func crossRegionPointBody(
        _ point: RecoveryPointSummary, item: ProtectedItemInfo, vm: VirtualMachineInfo?, keyVaults: [String: String]
    ) -> RecoveryPointResource {
        var body = pointBody(point, item: item, vm: vm, keyVaults: keyVaults)
        body.properties.recoveryPointTierDetails = [.init(type: "HardenedRP", status: "Valid")]
        return body
    }

    // MARK: Access token

    /// The access token for restoring one recovery point of one item of one vault in the secondary region:
    /// refused for a vault without cross-region restore and for a point not in the vault tier.
    func getCrossRegionAccessToken(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let secondary = try Self.secondaryRegion(of: vault)
        if !request.body.isEmpty {
            let aad = try request.decode(AADPropertiesResource.self)
            if let tenant = aad.properties?.tenantId, tenant.lowercased() != world.tenantID.lowercased() {
                throw ARMError(
                    status: 400, code: PlatformErrorCode.invalidInput, message: "tenantId '\(tenant.prefix(60))' is not the vault's tenant.",
                    target: "properties.tenantId")
            }
        }
        let (item, points, _) = try await recoveryPointContext(request)
        guard let point = points.first(where: { $0.id == request["recoveryPoint"] }) else {
            throw .resourceNotFound(type: RecoveryPointResource.type, name: request["recoveryPoint"])
        }
        guard Self.isReplicated(point) else {
            throw ARMError(
                status: 400, code: PlatformErrorCode.crossRegionRestoreNotSupported,
                message: "Recovery point '\(point.id)' is in the snapshot tier only; only vault-tier points are replicated to '\(secondary.name)'.")
        }
        let token = crossRegionTokens.issue(CrossRegionTokens.Grant(vaultID: vault.id, itemID: item.id, recoveryPoint: point.id))
        var properties = CrrAccessToken()
        properties.objectType = CrrAccessTokenResource.objectType
        properties.accessTokenString = token
        properties.subscriptionId = request["subscription"]
        properties.resourceGroupName = request["resourceGroup"]
        properties.resourceName = vault.name
        properties.resourceId = vault.id
        properties.recoveryPointId = point.id
        properties.recoveryPointTime = point.time.armTime
        properties.containerName = ResourceIDs.containerName(vmResourceGroup: item.vmResourceGroup, vm: item.vm)
        properties.containerType = "IaasVMContainer"
        properties.backupManagementType = "AzureIaasVM"
        properties.datasourceType = "VM"
        properties.datasourceName = item.vm
        properties.datasourceId = item.vmID
        properties.datasourceContainerName = properties.containerName
        properties.coordinatorServiceStampUri = request.baseURL
        properties.protectionServiceStampUri = request.baseURL
        properties.rpTierInformation = ["HardenedRP": "Valid"]
        properties.rpOriginalSAOption = false
        properties.rpIsManagedVirtualMachine = point.disks.allSatisfy(\.managed)
        properties.bMSActiveRegion = vault.spec.location
        properties.protectableObjectUniqueName = ResourceIDs.itemName(vmResourceGroup: item.vmResourceGroup, vm: item.vm).lowercased()
        properties.protectableObjectFriendlyName = item.vm
        properties.protectableObjectWorkloadType = "VM"
        properties.protectableObjectProtectionState = item.state == .softDeleted ? "ProtectionStopped" : item.state.rawValue
        properties.containerId = ResourceIDs.container(vaultID: vault.id, vmResourceGroup: item.vmResourceGroup, vm: item.vm)
        properties.policyName = item.policy
        properties.policyId = item.policy.map { ResourceIDs.policy(vaultID: vault.id, name: $0) }
        return .json(
            CrrAccessTokenResource(
                id: request.path.description, name: point.id, type: "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/accessToken",
                properties: properties))
    }

    // MARK: Restore in the secondary region

    /// Restores the recovery point the access token grants into the secondary region (the path's, which must
    /// be the vault's pair) through the platform's cross-region restore: 202 and an operation under the
    /// region that ends with the restore job's id. The request's recovery point and source VM must be the
    /// token's.
    func triggerCrossRegionRestore(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let region = try pathRegion(request)
        let body = try request.decode(CrossRegionRestoreRequest.self)
        guard let details = body.crossRegionRestoreAccessDetails else {
            throw ARMError(status: 400, code: PlatformErrorCode.invalidInput, message: "The request has no crossRegionRestoreAccessDetails.",
                           target: "crossRegionRestoreAccessDetails")
        }
        if let type = details.objectType, type.lowercased() != CrrAccessTokenResource.objectType.lowercased() {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput, message: "An Azure VM's access details are a WorkloadCrrAccessToken, not \(type.prefix(60)).",
                target: "crossRegionRestoreAccessDetails.objectType")
        }
        let grant: CrossRegionTokens.Grant
        switch crossRegionTokens.redeem(details.accessTokenString ?? "") {
        case .success(let value): grant = value
        case .failure(let problem):
            throw ARMError(status: 400, code: PlatformErrorCode.invalidInput, message: "The access token \(problem). Get one with RecoveryPoints_GetAccessToken.",
                           target: "crossRegionRestoreAccessDetails.accessTokenString")
        }
        guard let restore = body.restoreRequest else {
            throw ARMError(status: 400, code: PlatformErrorCode.invalidInput, message: "The request has no restoreRequest.", target: "restoreRequest")
        }
        if let asked = restore.recoveryPointId, asked.split(separator: "/").last.map(String.init) != grant.recoveryPoint {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput,
                message: "The access token is for recovery point '\(grant.recoveryPoint)', not '\(asked.prefix(300))'; get a token for the point to restore.",
                target: "restoreRequest.recoveryPointId")
        }
        let vault = try await vault(id: grant.vaultID, request: request)
        try Self.checkSecondary(region, of: vault)
        let item = try await access.run { try $0.protectedItems().first { $0.id.lowercased() == grant.itemID.lowercased() } }
        guard let item, item.vault == vault.name else {
            throw .resourceNotFound(type: ProtectedItemResource.type, name: grant.itemID.split(separator: "/").last.map(String.init) ?? "")
        }
        if let source = restore.sourceResourceId, source.lowercased() != item.vmID.lowercased() {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput,
                message: "The access token is for VM '\(item.vmID)', not '\(source.prefix(300))'.", target: "restoreRequest.sourceResourceId")
        }
        let (mode, asked) = try Self.restore(RestoreRequestResource(properties: restore), vm: item.vm)
        if let other = asked.region, other.lowercased() == vault.spec.location.lowercased() {
            throw ARMError(
                status: 400, code: PlatformErrorCode.crossRegionRestoreNotSupported,
                message: "A cross-region restore goes to the secondary region '\(region.name)'; restore in '\(other)' through Restores_Trigger.",
                target: "restoreRequest.region")
        }
        // The passive stamp restores into its own region unless the request names another, which the
        // platform refuses unless it is the pair.
        let target = RestoreTarget(resourceGroup: asked.resourceGroup, region: asked.region ?? region.name, name: asked.name,
                                   subscription: asked.subscription)
        let access = access
        let vm = item.vm
        let point = grant.recoveryPoint
        let base = "/" + request.path.segments.dropLast().joined(separator: "/")
        // Always 202, though CrossRegionRestore_Trigger also lists a 200: that 200 has no body, and the
        // restore's job id reaches the client only through the operation's status (`properties.jobId`).
        return try await accepted(
            request, vaultID: Self.crossRegionScope(request), statusPath: { "\(base)/backupCrrOperationsStatus/\($0)" },
            resultPath: { "\(base)/backupCrrOperationResults/\($0)" },
            work: { await Self.runJob(access) { try $0.restore(vm: vm, recoveryPoint: point, mode: mode, target: target).job.id } })
    }

    /// The operation scope of a region's cross-region restores.
    static func crossRegionScope(_ request: ARMRequest) -> String {
        "/subscriptions/\(request["subscription"])/locations/\(request["region"])/crossRegionRestore".lowercased()
    }

    /// `backupCrrOperationsStatus/{op}`: the operation's status, with the restore job's id once it ends.
    func crossRegionOperationStatus(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        _ = try pathRegion(request)
        guard let operation = await operations.poll(request["operation"], scope: Self.crossRegionScope(request)) else {
            throw ARMError(status: 404, code: "ResourceNotFound",
                           message: "There is no cross-region restore operation '\(request["operation"].prefix(64))' in '\(request["region"].prefix(60))'.")
        }
        let status = operation.visibleStatus
        let done = status != .inProgress
        let body = OperationStatusResource(
            id: request.path.description, name: operation.id, status: status.rawValue, startTime: operation.start.armTime,
            endTime: done ? operation.end?.armTime : nil, error: done ? operation.error : nil, jobID: done ? operation.jobID : nil)
        return .json(body, headers: done ? [] : [("Retry-After", String(retryAfter))])
    }

    /// `backupCrrOperationResults/{op}`: 202 while the operation runs, 200 once it succeeded (the SDK takes
    /// no other success code), its error when it failed.
    func crossRegionOperationResult(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        _ = try pathRegion(request)
        guard let operation = await operations.poll(request["operation"], scope: Self.crossRegionScope(request)) else {
            throw ARMError(status: 404, code: "ResourceNotFound",
                           message: "There is no cross-region restore operation '\(request["operation"].prefix(64))' in '\(request["region"].prefix(60))'.")
        }
        switch operation.visibleStatus {
        case .inProgress:
            return ARMResponse(status: 202, headers: [("Location", request.url(request.path.description)), ("Retry-After", String(retryAfter))])
        case .failed:
            let error = operation.error ?? ARMErrorDetail(code: "InternalServerError", message: "the operation failed")
            return .json(ARMErrorResponse(error: error), status: 400)
        case .succeeded:
            return ARMResponse(status: 200)
        }
    }

    // MARK: Cross-region restore jobs

    /// The vault's jobs in its secondary region: its restores into that region, newest first, filtered by
    /// `operation`, `status`, `startTime` and `endTime`. One page: the SDK follows a `nextLink` with a GET,
    /// which cannot carry the vault this POST names.
    func listCrossRegionJobs(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let region = try pathRegion(request)
        let body = try request.decode(CrrJobRequest.self)
        let vault = try await vault(id: body.resourceId, request: request)
        try Self.checkSecondary(region, of: vault)
        let filter = ODataFilter(request.query["$filter"])
        if let type = filter["backupManagementType"], type.lowercased() != "azureiaasvm" { return .json(ARMList<JobResource>(value: [], nextLink: nil)) }
        let (jobs, disks) = try await crossRegionJobs(vault: vault, region: region)
        let start = filter["startTime"].flatMap(Self.parseTime)
        let end = filter["endTime"].flatMap(Self.parseTime)
        let selected = jobs.reversed().filter { job in
            (filter["operation"].map { $0.lowercased() == "crossregionrestore" || $0.lowercased() == job.operation.lowercased() } ?? true)
                && (filter["status"].map { $0.lowercased() == job.status.rawValue.lowercased() } ?? true)
                && (start.map { job.start >= $0 } ?? true) && (end.map { job.start <= $0 } ?? true)
        }
        return .json(ARMList(value: selected.map { crossRegionJobBody($0, vault: vault, region: region, disks: disks) }, nextLink: nil))
    }

    /// One of the vault's jobs in its secondary region, by `jobName`.
    func getCrossRegionJob(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let region = try pathRegion(request)
        let body = try request.decode(CrrJobRequest.self)
        let vault = try await vault(id: body.resourceId, request: request)
        try Self.checkSecondary(region, of: vault)
        guard let name = body.jobName, !name.isEmpty else {
            throw ARMError(status: 400, code: PlatformErrorCode.invalidInput, message: "The request has no jobName.", target: "jobName")
        }
        let (jobs, disks) = try await crossRegionJobs(vault: vault, region: region)
        guard let job = jobs.first(where: { $0.id.lowercased() == name.lowercased() }) else {
            throw .resourceNotFound(type: JobResource.type, name: name)
        }
        return .json(crossRegionJobBody(job, vault: vault, region: region, disks: disks))
    }

    /// The vault's restore jobs whose target is `region`, and every restored disk (by job id).
    func crossRegionJobs(vault: VaultInfo, region: Region) async throws(ARMError) -> ([JobInfo], [String: [RestoredDiskInfo]]) {
        let vaultName = vault.name
        let regionName = region.name
        return try await access.run { platform in
            let jobs = try platform.jobs().filter { $0.vault == vaultName && $0.operation == "Restore" && $0.targetRegion == regionName }
            return (jobs, Dictionary(grouping: try platform.restoredDisks(), by: \.jobID))
        }
    }

    func crossRegionJobBody(_ job: JobInfo, vault: VaultInfo, region: Region, disks: [String: [RestoredDiskInfo]]) -> JobResource {
        var body = jobBody(job, vaultID: vault.id, restoredDisks: disks[job.id] ?? [])
        body.properties.operation = "CrossRegionRestore"
        return body
    }
}

/// Access tokens for cross-region restore: each one binds a vault, an item and a recovery point, sealed
/// with AES-GCM under a key made when serve starts and never written, so a token is opaque, cannot be
/// altered or forged, and dies with the process (as the operations do) or after an hour. It carries ids
/// only, no key material.
final class CrossRegionTokens: Sendable {
    struct Grant: Codable, Sendable, Hashable {
        var vaultID: String
        var itemID: String
        var recoveryPoint: String
        /// Seconds since 1970 when the token stops being accepted.
        var expires: Double = 0
    }

    static let lifetime: TimeInterval = 3600
    static let prefix = "crr1."
    private let key = SymmetricKey(size: .bits256)

    /// A token for `grant`, good for an hour from `now`.
    func issue(_ grant: Grant, now: Date = Date()) -> String {
        var grant = grant
        grant.expires = now.addingTimeInterval(Self.lifetime).timeIntervalSince1970
        let plain = ARMBody.encode(grant)
        do {
            // A fresh random 12-byte nonce: the combined form (nonce, ciphertext, tag) always exists.
            let sealed = try AES.GCM.seal(plain, using: key, authenticating: Data(Self.prefix.utf8))
            guard let combined = sealed.combined else { preconditionFailure("AES-GCM with a 12-byte nonce has a combined form") }
            return Self.prefix + Self.base64URL(combined)
        } catch {
            preconditionFailure("sealing a cross-region restore token failed: \(error)")
        }
    }

    /// The grant of a token this process issued and that has not expired; else why not.
    func redeem(_ token: String, now: Date = Date()) -> Result<Grant, Refusal> {
        guard token.hasPrefix(Self.prefix), token.count <= 4096, let data = Self.fromBase64URL(String(token.dropFirst(Self.prefix.count))),
            let box = try? AES.GCM.SealedBox(combined: data),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Data(Self.prefix.utf8)),
            let grant = try? JSONDecoder().decode(Grant.self, from: plain)
        else { return .failure(Refusal(reason: "is not one this server issued (or it was altered)")) }
        guard grant.expires > now.timeIntervalSince1970 else { return .failure(Refusal(reason: "has expired")) }
        return .success(grant)
    }

    struct Refusal: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func fromBase64URL(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
