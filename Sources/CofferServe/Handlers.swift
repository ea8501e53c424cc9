import CofferARM
import CofferPlatform
import Foundation

/// The operations serve answers, and what they share: the platform, the operation store, paging and the
/// long-running operation headers.
struct Handlers: Sendable {
    let access: PlatformAccess
    let operations: OperationStore
    /// Items per page of a list.
    let pageSize: Int
    /// Seconds a client waits between polls (`Retry-After`, at least 1: azure-core reads 0 as absent and
    /// falls back to 30 seconds).
    let retryAfter: Int
    /// How long a request that starts a long-running operation waits for it to end, to answer as its end
    /// would (where the operation's spec lists a synchronous answer); zero answers 202 at once.
    let syncGrace: Duration
    /// Serve's read model (answers and the values they are made of, at the platform's change stamp).
    let readCache: ReadCache?
    /// The key of the cross-region restore access tokens this process issues.
    let crossRegionTokens = CrossRegionTokens()

    var world: ServedWorld { access.world }

    static let subscription = "subscriptions/{subscription}"
    static let resourceGroup = "subscriptions/{subscription}/resourceGroups/{resourceGroup}"
    static let vault = resourceGroup + "/providers/Microsoft.RecoveryServices/vaults/{vault}"
    static let item = vault + "/backupFabrics/{fabric}/protectionContainers/{container}/protectedItems/{item}"
    static let keyVault = resourceGroup + "/providers/Microsoft.KeyVault/vaults/{keyVault}"

    /// Every route: method, path shape, provider, handler.
    var routes: [Route] {
        func route(
            _ method: String, _ pattern: String, _ provider: ARMProvider, trailingSlash: Bool = false,
            _ handler: @escaping @Sendable (ARMRequest) async throws(ARMError) -> ARMResponse
        ) -> Route {
            Route(method: method, pattern: ARMPathPattern(pattern), provider: provider, handler: handler, trailingSlash: trailingSlash)
        }
        /// A GET whose answer is a function of the platform's state and the request (`Route.cached`).
        func read(
            _ pattern: String, _ provider: ARMProvider, _ handler: @escaping @Sendable (ARMRequest) async throws(ARMError) -> ARMResponse
        ) -> Route {
            Route(method: "GET", pattern: ARMPathPattern(pattern), provider: provider, handler: handler, cached: true)
        }
        let vault = Self.vault
        let item = Self.item
        return [
            // Microsoft.Resources
            read("subscriptions", .resources, listSubscriptions),
            read(Self.subscription, .resources, getSubscription),
            read(Self.subscription + "/resourcegroups", .resources, listResourceGroups),
            read(Self.resourceGroup, .resources, getResourceGroup),
            // Recovery Services vaults
            read(Self.subscription + "/providers/Microsoft.RecoveryServices/vaults", .recoveryServices, listVaults),
            read(Self.resourceGroup + "/providers/Microsoft.RecoveryServices/vaults", .recoveryServices, listVaults),
            read(vault, .recoveryServices, getVault),
            route("PUT", vault, .recoveryServices, putVault),
            route("PATCH", vault, .recoveryServices, patchVault),
            route("DELETE", vault, .recoveryServices, deleteVault),
            read(vault + "/backupconfig/vaultconfig", .recoveryServices, getVaultConfig),
            route("PUT", vault + "/backupconfig/vaultconfig", .recoveryServices, putVaultConfig),
            route("PATCH", vault + "/backupconfig/vaultconfig", .recoveryServices, putVaultConfig),
            read(vault + "/backupstorageconfig/vaultstorageconfig", .recoveryServices, getStorageConfig),
            route("PUT", vault + "/backupstorageconfig/vaultstorageconfig", .recoveryServices, putStorageConfig),
            route("PATCH", vault + "/backupstorageconfig/vaultstorageconfig", .recoveryServices, patchStorageConfig),
            read(vault + "/backupResourceGuardProxies", .recoveryServices, emptyList),
            // Backup policies
            read(vault + "/backupPolicies", .recoveryServices, listPolicies),
            read(vault + "/backupPolicies/{policy}", .recoveryServices, getPolicy),
            route("PUT", vault + "/backupPolicies/{policy}", .recoveryServices, putPolicy),
            route("DELETE", vault + "/backupPolicies/{policy}", .recoveryServices, deletePolicy),
            // Discovery
            route("POST", vault + "/backupFabrics/{fabric}/refreshContainers", .recoveryServices, refreshContainers),
            route("GET", vault + "/backupFabrics/{fabric}/operationResults/{operation}", .recoveryServices, refreshResult),
            route("GET", vault + "/backupFabrics/{fabric}/operationsStatus/{operation}", .recoveryServices, operationStatus),
            read(vault + "/backupProtectableItems", .recoveryServices, listProtectableItems),
            // Protection, backup, recovery points
            read(vault + "/backupProtectedItems", .recoveryServices, listProtectedItems),
            read(item, .recoveryServices, getProtectedItem),
            route("PUT", item, .recoveryServices, putProtectedItem),
            route("DELETE", item, .recoveryServices, deleteProtectedItem),
            route("POST", item + "/backup", .recoveryServices, triggerBackup),
            route("GET", item + "/operationsStatus/{operation}", .recoveryServices, operationStatus),
            route("GET", item + "/operationResults/{operation}", .recoveryServices, itemOperationResult),
            read(item + "/recoveryPoints", .recoveryServices, listRecoveryPoints),
            read(item + "/recoveryPoints/{recoveryPoint}", .recoveryServices, getRecoveryPoint),
            route("POST", item + "/recoveryPoints/{recoveryPoint}/restore", .recoveryServices, triggerRestore),
            route("GET", vault + "/backupOperations/{operation}", .recoveryServices, operationStatus),
            // Jobs
            read(vault + "/backupJobs", .recoveryServices, listJobs),
            read(vault + "/backupJobs/{job}", .recoveryServices, getJob),
            // Key Vault
            read(Self.subscription + "/providers/Microsoft.KeyVault/vaults", .keyVault, listKeyVaults),
            read(Self.resourceGroup + "/providers/Microsoft.KeyVault/vaults", .keyVault, listKeyVaults),
            read(Self.keyVault, .keyVault, getKeyVault),
            route("PUT", Self.keyVault, .keyVault, putKeyVault),
            route("PATCH", Self.keyVault, .keyVault, patchKeyVault),
            route("PUT", Self.keyVault + "/accessPolicies/{kind}", .keyVault, updateAccessPolicy),
            read(Self.keyVault + "/keys", .keyVault, listKeys),
            read(Self.keyVault + "/secrets", .keyVault, listSecrets),
            // Role assignments at a key vault's scope
            read(Self.keyVault + "/providers/Microsoft.Authorization/roleAssignments", .authorization, listRoleAssignments),
            read(Self.keyVault + "/providers/Microsoft.Authorization/roleAssignments/{roleAssignment}", .authorization, getRoleAssignment),
            route("PUT", Self.keyVault + "/providers/Microsoft.Authorization/roleAssignments/{roleAssignment}", .authorization, putRoleAssignment),
            route("DELETE", Self.keyVault + "/providers/Microsoft.Authorization/roleAssignments/{roleAssignment}", .authorization, deleteRoleAssignment),
            // Compute
            read(Self.subscription + "/providers/Microsoft.Compute/virtualMachines", .compute, listVirtualMachines),
            read(Self.resourceGroup + "/providers/Microsoft.Compute/virtualMachines", .compute, listVirtualMachines),
            read(Self.resourceGroup + "/providers/Microsoft.Compute/virtualMachines/{vm}", .compute, getVirtualMachine),
            read(Self.resourceGroup + "/providers/Microsoft.Compute/disks/{disk}", .compute, getDisk),
            // Cross-region restore: the passive stamp (api-version 2021-11-15), in the secondary region
            route("GET", Self.location + "/backupAadProperties", .crossRegionRestore, getAADProperties),
            route("GET", vault + "/backupProtectedItems", .crossRegionRestore, trailingSlash: true, listCrossRegionItems),
            route("GET", item + "/recoveryPoints", .crossRegionRestore, trailingSlash: true, listCrossRegionRecoveryPoints),
            route("POST", item + "/recoveryPoints/{recoveryPoint}/accessToken", .crossRegionRestore, getCrossRegionAccessToken),
            route("POST", Self.location + "/backupCrossRegionRestore", .crossRegionRestore, triggerCrossRegionRestore),
            route("GET", Self.location + "/backupCrrOperationsStatus/{operation}", .crossRegionRestore, crossRegionOperationStatus),
            route("GET", Self.location + "/backupCrrOperationResults/{operation}", .crossRegionRestore, crossRegionOperationResult),
            route("POST", Self.location + "/backupCrrJobs", .crossRegionRestore, listCrossRegionJobs),
            route("POST", Self.location + "/backupCrrJob", .crossRegionRestore, getCrossRegionJob),
            // The reconciler's ARM client (Handlers+Reconciler.swift): facts no resource body carries.
            read("providers/Coffer.Platform/facts", .resources, getPlatformFacts),
            route("POST", item + "/recoveryPoints/{recoveryPoint}/providers/Coffer.Platform/verify", .recoveryServices, verifyRecoveryPoint),
            route("POST", item + "/recoveryPoints/{recoveryPoint}/providers/Coffer.Platform/restoreKeys", .recoveryServices, restoreRecoveryPointKeys),
            // End of the reconciler's routes.
        ]
    }

    // MARK: The read model

    /// The value `key` names at the request's change stamp: made once per stamp and kept in the read cache
    /// (a list's whole content, which each of its pages reads), made afresh when nothing is cached.
    func readModel<T: Sendable>(_ request: ARMRequest, _ key: String, _ make: () async throws(ARMError) -> T) async throws(ARMError) -> T {
        guard let readCache, let stamp = request.stamp else { return try await make() }
        if let value = readCache.value(key, at: stamp, as: T.self) { return value }
        let value = try await make()
        readCache.store(value: value, key, at: stamp)
        return value
    }

    // MARK: Paging

    /// A page of `items` from the request's `$skipToken` (an offset), with a `nextLink` on serve's own
    /// address when more follow.
    func page<T: Encodable & Sendable>(_ items: [T], _ request: ARMRequest) throws(ARMError) -> ARMResponse {
        var offset = 0
        if let token = request.query["$skipToken"] ?? request.query["$skiptoken"] {
            guard let value = Int(token), value >= 0, value <= items.count else {
                throw .invalidParameter("$skipToken", "'\(token.prefix(40))' is not a skip token this list gave")
            }
            offset = value
        }
        let end = min(items.count, offset + pageSize)
        var next: String?
        if end < items.count {
            var extra: [(String, String)] = []
            if let filter = request.query["$filter"] { extra.append(("$filter", filter)) }
            if let expand = request.query["$expand"] { extra.append(("$expand", expand)) }
            extra.append(("$skipToken", String(end)))
            next = request.url(request.path.description + (request.path.hasTrailingSlash ? "/" : ""), extraQuery: extra)
        }
        return .json(ARMList(value: Array(items[offset..<end]), nextLink: next))
    }

    func emptyList(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        .json(ARMList<String>(value: [], nextLink: nil))
    }

    // MARK: Long-running operations

    /// Starts `work` as an operation under the vault. When the operation's spec lists a synchronous answer
    /// (`synchronous`) and the work ends within the grace (`syncGrace`), the answer is the one its result poll
    /// would give: `synchronous`'s for a success, ARM's error envelope with the platform's code (400) for a
    /// failure. Otherwise, or when `synchronous` gives nil, the 202 that tells the client where to poll:
    /// `Azure-AsyncOperation` (the status), `Location` (the result) and `Retry-After`.
    func accepted(
        _ request: ARMRequest, vaultID: String, statusPath: (String) -> String, resultPath: (String) -> String,
        synchronous: (@Sendable (Operation) async throws(ARMError) -> ARMResponse?)? = nil,
        work: @escaping @Sendable () async -> Result<String?, ARMError>
    ) async throws(ARMError) -> ARMResponse {
        guard let operation = await operations.start(scope: vaultID, work: work) else {
            throw ARMError(status: 503, code: "ServiceUnavailable", message: "coffer serve is shutting down; retry against the next one.")
        }
        if let synchronous, syncGrace > .zero, let ended = await operations.awaitEnd(operation.id, within: syncGrace) {
            let answer: ARMResponse?
            if ended.status == .failed {
                answer = Self.failure(ended)
            } else {
                answer = try await synchronous(ended)
            }
            if let answer {
                await operations.forget(operation.id)
                return answer
            }
        }
        return ARMResponse(
            status: 202,
            headers: [
                ("Azure-AsyncOperation", request.url(statusPath(operation.id))),
                ("Location", request.url(resultPath(operation.id))),
                ("Retry-After", String(retryAfter)),
            ])
    }

    /// A failed operation's answer at its result URL: ARM's error envelope with the platform's code.
    static func failure(_ operation: Operation) -> ARMResponse {
        let error = operation.error ?? ARMErrorDetail(code: "InternalServerError", message: "the operation failed")
        return .json(ARMErrorResponse(error: error), status: 400)
    }

    /// The status document of an operation of the request's vault.
    func operationStatus(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        guard let operation = await operations.poll(request["operation"], scope: vault.id) else {
            throw ARMError(status: 404, code: "ResourceNotFound", message: "There is no operation '\(request["operation"].prefix(64))' in vault '\(vault.name)'.")
        }
        let status = operation.visibleStatus
        let done = status != .inProgress
        let body = OperationStatusResource(
            id: request.path.description, name: operation.id, status: status.rawValue, startTime: operation.start.armTime,
            endTime: done ? operation.end?.armTime : nil, error: done ? operation.error : nil, jobID: done ? operation.jobID : nil)
        return .json(body, headers: done ? [] : [("Retry-After", String(retryAfter))])
    }

    /// A `Location` poll: 202 while the operation runs, then what it ends in (`done`), or its error.
    func operationResult(_ request: ARMRequest, done: @Sendable (Operation) async throws(ARMError) -> ARMResponse) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        guard let operation = await operations.poll(request["operation"], scope: vault.id) else {
            throw ARMError(status: 404, code: "ResourceNotFound", message: "There is no operation '\(request["operation"].prefix(64))' in vault '\(vault.name)'.")
        }
        switch operation.visibleStatus {
        case .inProgress:
            return ARMResponse(status: 202, headers: [("Location", request.url(request.path.description)), ("Retry-After", String(retryAfter))])
        case .failed:
            return Self.failure(operation)
        case .succeeded:
            return try await done(operation)
        }
    }
}

extension Result where Failure == ARMError {
    /// The result of a platform call in an operation: its value, or the platform's error as ARM's.
    static func from(_ body: () async throws(ARMError) -> Success) async -> Result {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }
}
