import CofferARM
import CofferModel
import CofferPlatform
import Foundation

// Discovery, protection, Backup now, recovery points, restore and jobs.
extension Handlers {
    // MARK: Discovery

    /// `refreshContainers`: discovery is immediate in the simulation, but the API is asynchronous (202 and a
    /// `Location` the caller polls until 204).
    func refreshContainers(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        try checkFabric(request)
        let base = request.path.segments.dropLast().joined(separator: "/")
        return try await accepted(
            request, vaultID: vault.id, statusPath: { "/\(base)/operationsStatus/\($0)" }, resultPath: { "/\(base)/operationResults/\($0)" },
            work: { .success(nil) })
    }

    func refreshResult(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        try checkFabric(request)
        return try await operationResult(request) { _ async throws(ARMError) in ARMResponse(status: 204) }
    }

    /// The VMs in the vault's subscription and region that no vault protects.
    func listProtectableItems(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let vms = try await access.run { try $0.virtualMachines() }
        let subscriptionID = request["subscription"].lowercased()
        let items = vms.filter { vm in
            vm.protectedBy == nil && vm.region == vault.spec.location && vm.id.lowercased().hasPrefix("/subscriptions/\(subscriptionID)/")
        }.map { vm in
            ProtectableItemResource(
                id: ResourceIDs.protectableItem(vaultID: vault.id, vmResourceGroup: vm.resourceGroup, vm: vm.name),
                name: ResourceIDs.itemName(vmResourceGroup: vm.resourceGroup, vm: vm.name), friendlyName: vm.name, virtualMachineId: vm.id)
        }
        return try page(items, request)
    }

    func checkFabric(_ request: ARMRequest) throws(ARMError) {
        guard request["fabric"].lowercased() == "azure" else {
            throw .resourceNotFound(type: "Microsoft.RecoveryServices/vaults/backupFabrics", name: request["fabric"])
        }
    }

    // MARK: Protected items

    /// The VM a protected item path names (container and item must name the same one).
    func itemVM(_ request: ARMRequest) throws(ARMError) -> IaasVMName {
        try checkFabric(request)
        guard let container = IaasVMName(container: request["container"]) else {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput,
                message: "'\(request["container"].prefix(100))' is not an Azure VM container name (IaasVMContainer;iaasvmcontainerv2;RG;VM).",
                target: "containerName")
        }
        guard let item = IaasVMName(item: request["item"]),
            item.resourceGroup.lowercased() == container.resourceGroup.lowercased(), item.vm.lowercased() == container.vm.lowercased()
        else {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput,
                message: "'\(request["item"].prefix(100))' is not the item of container '\(request["container"].prefix(100))' (VM;iaasvmcontainerv2;RG;VM).",
                target: "protectedItemName")
        }
        return container
    }

    /// The protected item of the path's VM in the path's vault, soft-deleted ones included; nil when the VM
    /// has none there.
    func findItem(_ request: ARMRequest, vault: VaultInfo) async throws(ARMError) -> ProtectedItemInfo? {
        let name = try itemVM(request)
        let item = try await access.run { try $0.protectedItem(vm: name.vm) }
        guard let item, item.vault == vault.name, item.vmResourceGroup.lowercased() == name.resourceGroup.lowercased() else { return nil }
        return item
    }

    func requireItem(_ request: ARMRequest, vault: VaultInfo) async throws(ARMError) -> ProtectedItemInfo {
        guard let item = try await findItem(request, vault: vault) else {
            throw .resourceNotFound(type: ProtectedItemResource.type, name: request["item"])
        }
        return item
    }

    func itemBody(_ item: ProtectedItemInfo, vault: VaultInfo, oldestPoint: Date? = nil) -> ProtectedItemResource {
        var body = ProtectedItemResource()
        body.id = item.id
        body.name = ResourceIDs.itemName(vmResourceGroup: item.vmResourceGroup, vm: item.vm)
        body.type = ProtectedItemResource.type
        var properties = ProtectedItemResource.Properties()
        properties.protectedItemType = ProtectedItemResource.itemType
        properties.backupManagementType = "AzureIaasVM"
        properties.workloadType = "VM"
        properties.containerName = ResourceIDs.containerName(vmResourceGroup: item.vmResourceGroup, vm: item.vm)
        properties.sourceResourceId = item.vmID
        properties.virtualMachineId = item.vmID
        properties.friendlyName = item.vm
        properties.policyId = item.policy.map { ResourceIDs.policy(vaultID: vault.id, name: $0) }
        properties.policyName = item.policy
        let softDeleted = item.state == .softDeleted
        properties.protectionState = softDeleted ? "ProtectionStopped" : item.state.rawValue
        properties.protectionStatus = item.state == .protected || item.state == .irPending ? "Healthy" : "Unhealthy"
        properties.healthStatus = item.lastBackupStatus == "Failed" ? "ActionRequired" : "Passed"
        properties.lastBackupStatus = item.lastBackupStatus
        properties.lastBackupTime = item.lastBackup?.armTime
        properties.lastRecoveryPoint = item.lastBackup?.armTime
        properties.protectedItemDataId = ServedWorld.guid(from: "item:" + item.id.lowercased())
        properties.isScheduledForDeferredDelete = softDeleted
        properties.deferredDeleteTimeInUTC = softDeleted ? item.purgeAt?.armTime : nil
        properties.extendedInfo = ProtectedItemResource.ExtendedInfo(
            oldestRecoveryPoint: oldestPoint?.armTime, recoveryPointCount: item.recoveryPoints, policyInconsistent: false)
        if !item.includeDiskLuns.isEmpty || !item.excludeDiskLuns.isEmpty {
            let inclusion = !item.includeDiskLuns.isEmpty
            properties.extendedProperties = ProtectedItemResource.ExtendedProperties(
                diskExclusionProperties: ProtectedItemResource.DiskExclusionProperties(
                    diskLunList: inclusion ? item.includeDiskLuns : item.excludeDiskLuns, isInclusionList: inclusion))
        }
        body.properties = properties
        return body
    }

    /// Lists the vault's backup items, soft-deleted ones included (as the service does), filtered by
    /// `backupManagementType` and `itemType` when the `$filter` names them.
    func listProtectedItems(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let filter = ODataFilter(request.query["$filter"])
        if let type = filter["backupManagementType"], type.lowercased() != "azureiaasvm" { return try page([ProtectedItemResource](), request) }
        if let type = filter["itemType"], type.lowercased() != "vm" { return try page([ProtectedItemResource](), request) }
        let vaultName = vault.name
        // Every page reads the whole list: it is made once per change of the platform.
        let bodies = try await readModel(request, "protectedItems:" + vault.id.lowercased()) { () async throws(ARMError) in
            try await access.run { try $0.protectedItems(vault: vaultName) }.map { itemBody($0, vault: vault) }
        }
        return try page(bodies, request)
    }

    /// One trip to the platform's threads for the vault, the item and its oldest point (the most frequent
    /// read clients make: every poll of an item ends in it).
    func getProtectedItem(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let name: IaasVMName
        do {
            name = try itemVM(request)
        } catch {
            _ = try await vault(request)  // a vault that does not exist is 404 before a malformed item name is 400
            throw error
        }
        let vaultName = request["vault"]
        let (found, item, oldest) = try await access.run { platform in
            let vault = try platform.vault(named: vaultName)
            let item = try vault == nil ? nil : platform.protectedItem(vm: name.vm)
            let oldest = try item == nil ? nil : platform.oldestRecoveryPointTime(vm: name.vm)
            return (vault, item, oldest)
        }
        let vault = try checkedVault(found, request)
        guard let item, item.vault == vault.name, item.vmResourceGroup.lowercased() == name.resourceGroup.lowercased() else {
            throw .resourceNotFound(type: ProtectedItemResource.type, name: request["item"])
        }
        return .json(itemBody(item, vault: vault, oldestPoint: oldest))
    }

    /// What a protected item PUT asks for.
    enum ProtectionChange: Sendable {
        case enable(policy: String, exclude: [Int], include: [Int])
        case change(policy: String, exclude: [Int]?, include: [Int]?)
        case stop(StopProtectionMode)
        case resume(policy: String?)
        case rehydrate(then: ProtectionState?, policy: String?)
    }

    /// Enables protection (`sourceResourceId`, `policyId`), changes its policy or disks, stops it with data
    /// kept (`protectionState: ProtectionStopped`, or `BackupsSuspended` on an immutable vault), resumes it
    /// (a policy on a stopped item), or recovers a soft-deleted item (`isRehydrate`). The body's shape is
    /// checked at once (400); the platform's rules answer in the operation (202, then `Failed` with the
    /// service's code).
    func putProtectedItem(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let name = try itemVM(request)
        let body = try request.decode(ProtectedItemResource.self)
        guard let properties = body.properties else {
            throw ARMError(status: 400, code: PlatformErrorCode.invalidConfigureProtectionRequest, message: "The request has no properties.", target: "properties")
        }
        if let type = properties.protectedItemType, type.lowercased() != ProtectedItemResource.itemType.lowercased() {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidConfigureProtectionRequest,
                message: "coffer serve protects Azure VMs only (protectedItemType \(ProtectedItemResource.itemType)), not \(type.prefix(80)).",
                target: "properties.protectedItemType")
        }
        if let source = properties.sourceResourceId {
            guard let reference = ARMResourceReference(source), let vmName = reference.name(ofType: "Microsoft.Compute/virtualMachines"),
                vmName.lowercased() == name.vm.lowercased(), reference.resourceGroup.lowercased() == name.resourceGroup.lowercased()
            else {
                throw ARMError(
                    status: 400, code: PlatformErrorCode.invalidConfigureProtectionRequest,
                    message: "sourceResourceId '\(source.prefix(300))' is not the VM '\(name.resourceGroup)/\(name.vm)' that the item's name gives.",
                    target: "properties.sourceResourceId")
            }
        }
        let policy = try properties.policyId.map { id throws(ARMError) in try policyName(id, vault: vault) }
        let exclusion = properties.extendedProperties?.diskExclusionProperties
        let luns = exclusion?.diskLunList ?? []
        let include = exclusion?.isInclusionList == true ? luns : []
        let exclude = exclusion?.isInclusionList == true ? [] : luns
        let state = try properties.protectionState.map { text throws(ARMError) -> ProtectionState in
            switch text.lowercased() {
            case "protectionstopped": return .protectionStopped
            case "backupssuspended": return .backupsSuspended
            case "protected", "irpending": return .protected
            default:
                throw ARMError(
                    status: 400, code: PlatformErrorCode.invalidConfigureProtectionRequest,
                    message: "protectionState '\(text.prefix(40))' cannot be asked for; give ProtectionStopped, BackupsSuspended, or a policyId to protect.",
                    target: "properties.protectionState")
            }
        }
        let existing = try await findItem(request, vault: vault)
        let change: ProtectionChange
        if properties.isRehydrate == true {
            change = .rehydrate(then: state, policy: policy)
        } else if let existing, existing.state != .softDeleted {
            switch state {
            case .protectionStopped?: change = .stop(.retainForever)
            case .backupsSuspended?: change = .stop(.retainAsPerPolicy)
            default:
                if existing.state == .protectionStopped || existing.state == .backupsSuspended {
                    change = .resume(policy: policy)
                } else {
                    guard let policy else {
                        throw ARMError(
                            status: 400, code: PlatformErrorCode.invalidConfigureProtectionRequest,
                            message: "Give a policyId to change the protection of '\(existing.vm)', or protectionState ProtectionStopped to stop it.",
                            target: "properties.policyId")
                    }
                    change = .change(policy: policy, exclude: exclusion == nil ? nil : exclude, include: exclusion == nil ? nil : include)
                }
            }
        } else {
            guard let policy else {
                throw ARMError(
                    status: 400, code: PlatformErrorCode.invalidConfigureProtectionRequest,
                    message: "Enabling protection of '\(name.vm)' needs properties.policyId (a policy of vault '\(vault.name)').",
                    target: "properties.policyId")
            }
            if state == .protectionStopped || state == .backupsSuspended {
                throw ARMError(
                    status: 400, code: PlatformErrorCode.invalidConfigureProtectionRequest,
                    message: "VM '\(name.vm)' is not protected in vault '\(vault.name)'; there is no protection to stop.",
                    target: "properties.protectionState")
            }
            change = .enable(policy: policy, exclude: exclude, include: include)
        }
        let vm = existing?.vm ?? name.vm
        let vaultName = vault.name
        let access = access
        let base = "/" + request.path.segments.joined(separator: "/")
        let handlers = self
        // ProtectedItems_CreateOrUpdate lists 200 (the item) beside 202.
        return try await accepted(
            request, vaultID: vault.id, statusPath: { "\(base)/operationsStatus/\($0)" }, resultPath: { "\(base)/operationResults/\($0)" },
            synchronous: { _ async throws(ARMError) in
                let answer = try await handlers.itemResult(vault: vault, vm: name)
                return answer.status == 200 ? answer : nil
            },
            work: {
                await Result.from { () async throws(ARMError) -> String? in
                    try await access.run { platform in
                        try Self.apply(change, vm: vm, vault: vaultName, platform: platform)
                        return nil
                    }
                }
            })
    }

    static func apply(_ change: ProtectionChange, vm: String, vault: String, platform: Platform) throws {
        switch change {
        case .enable(let policy, let exclude, let include):
            try platform.enableProtection(vm: vm, vault: vault, policy: policy, excludeDiskLuns: exclude, includeDiskLuns: include)
        case .change(let policy, let exclude, let include):
            try platform.changeProtection(vm: vm, policy: policy, excludeDiskLuns: exclude, includeDiskLuns: include)
        case .stop(let mode):
            try platform.stopProtection(vm: vm, mode: mode)
        case .resume(let policy):
            try platform.resumeProtection(vm: vm, policy: policy)
        case .rehydrate(let state, let policy):
            try platform.undeleteProtection(vm: vm)
            if state == .backupsSuspended {
                try platform.stopProtection(vm: vm, mode: .retainAsPerPolicy)
            } else if state != .protectionStopped, let policy {
                try platform.resumeProtection(vm: vm, policy: policy)
            }
        }
    }

    /// The name of a policy of `vault` from its id; 400 for an id of another vault or that is not a policy's.
    func policyName(_ id: String, vault: VaultInfo) throws(ARMError) -> String {
        guard let reference = ARMResourceReference(id),
            let names = reference.names(ofTypes: ["vaults", "backupPolicies"], namespace: "Microsoft.RecoveryServices"),
            ResourceIDs.vault(subscription: reference.subscription, resourceGroup: reference.resourceGroup, name: names[0]).lowercased()
                == vault.id.lowercased()
        else {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidConfigureProtectionRequest,
                message: "policyId '\(id.prefix(300))' is not the id of a backup policy of vault '\(vault.name)'.", target: "properties.policyId")
        }
        return names[1]
    }

    /// Stops protection and deletes the data (the item is soft-deleted): 202, and the operation fails with
    /// the service's code when the vault keeps the data (`UserErrorDeleteBackupItemOnImmutableItem`).
    func deleteProtectedItem(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        guard let item = try await findItem(request, vault: vault) else { return ARMResponse(status: 204) }
        let access = access
        let vm = item.vm
        let name = try itemVM(request)
        let base = "/" + request.path.segments.joined(separator: "/")
        let handlers = self
        // ProtectedItems_Delete lists 200 and 204 beside 202: the item, soft-deleted, or nothing.
        return try await accepted(
            request, vaultID: vault.id, statusPath: { "\(base)/operationsStatus/\($0)" }, resultPath: { "\(base)/operationResults/\($0)" },
            synchronous: { _ async throws(ARMError) in try await handlers.itemResult(vault: vault, vm: name) },
            work: {
                await Result.from { () async throws(ARMError) -> String? in
                    try await access.run { platform in
                        try platform.deleteProtection(vm: vm)
                        return nil
                    }
                }
            })
    }

    /// The `Location` of an item's operation: 202 while it runs, then the item (200) or nothing (204).
    func itemOperationResult(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let name = try itemVM(request)
        let handlers = self
        return try await operationResult(request) { _ async throws(ARMError) in try await handlers.itemResult(vault: vault, vm: name) }
    }

    /// What an item's ended operation answers: the item (200), or nothing (204) when the vault has none for the VM.
    func itemResult(vault: VaultInfo, vm name: IaasVMName) async throws(ARMError) -> ARMResponse {
        let item = try await access.run { try $0.protectedItem(vm: name.vm) }
        guard let item, item.vault == vault.name else { return ARMResponse(status: 204) }
        return .json(itemBody(item, vault: vault))
    }

    // MARK: Backup now

    /// "Backup now": 202 at once; the operation runs the backup job and ends `Succeeded` with its job id in
    /// `properties.jobId` (a job that fails still succeeds the operation: its error is the job's, in
    /// `errorDetails`); a backup refused without a job (not protected, another job running) fails the
    /// operation with the code.
    func triggerBackup(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let item = try await requireItem(request, vault: vault)
        let body = try request.decode(BackupRequestResource.self)
        if let type = body.properties?.objectType, type != "IaasVMBackupRequest" {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput, message: "An Azure VM takes an IaasVMBackupRequest, not \(type.prefix(60)).",
                target: "properties.objectType")
        }
        let expiry = try body.properties?.recoveryPointExpiryTimeInUTC.map { text throws(ARMError) -> Date in
            guard let date = Self.parseTime(text) else {
                throw ARMError(
                    status: 400, code: PlatformErrorCode.invalidInput, message: "recoveryPointExpiryTimeInUTC '\(text.prefix(60))' is not an ISO 8601 time.",
                    target: "properties.recoveryPointExpiryTimeInUTC")
            }
            return date
        }
        let access = access
        let vm = item.vm
        let base = "/" + request.path.segments.dropLast().joined(separator: "/")
        return try await accepted(
            request, vaultID: vault.id, statusPath: { "\(base)/operationsStatus/\($0)" }, resultPath: { "\(base)/operationResults/\($0)" },
            work: { await Self.runJob(access) { try $0.backup(vm: vm, retainUntil: expiry).id } })
    }

    /// Runs a job-making platform call: its job id on success, and also when the job itself failed (the job
    /// holds the error); the platform's refusal, without a job, as the operation's error.
    static func runJob(_ access: PlatformAccess, _ body: @escaping @Sendable (Platform) throws -> String) async -> Result<String?, ARMError> {
        do {
            let id = try await access.pool.runIfActive { try body(access.platform) }
            return .success(id)
        } catch let error as PlatformError {
            if let job = error.jobID { return .success(job) }
            return .failure(PlatformAccess.armError(error))
        } catch {
            return .failure(ARMError(status: 500, code: "InternalServerError", message: "coffer serve failed: \(error)"))
        }
    }

    /// An ISO 8601 time as clients send it: `2027-01-01T00:00:00Z`, with fractional seconds, an offset, or
    /// none (read as UTC).
    static func parseTime(_ text: String) -> Date? {
        guard text.count <= 64 else { return nil }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate],
            [.withFullDate],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    // MARK: Recovery points and restore

    /// A recovery point; an ADE VM's names its BEK secret (and KEK) by URL in `keyAndSecret`, with the ids
    /// of their key vaults (`keyVaults`: name to id).
    func pointBody(_ point: RecoveryPointSummary, item: ProtectedItemInfo, vm: VirtualMachineInfo?, keyVaults: [String: String]) -> RecoveryPointResource {
        let windows = vm?.os.lowercased() == "windows"
        var tiers: [RecoveryPointResource.TierInformation] = []
        if point.tier.hasPrefix("Snapshot") { tiers.append(.init(type: "InstantRP", status: "Valid")) }
        if point.tier.hasSuffix("ault") { tiers.append(.init(type: "HardenedRP", status: "Valid")) }
        var keyAndSecret: RecoveryPointResource.KeyAndSecret?
        if let secretURL = point.bekSecretURL, let keyVault = point.keyVault, let keyVaultID = keyVaults[keyVault] {
            keyAndSecret = .init(
                encryptionMechanism: vm?.aadClientID == nil ? "SinglePass" : "DualPass",
                bekDetails: .init(secretUrl: secretURL, secretVaultId: keyVaultID),
                kekDetails: point.kekURL.map { .init(keyUrl: $0, keyVaultId: keyVaultID) })
        }
        var body = RecoveryPointResource(
            id: ResourceIDs.recoveryPoint(itemID: item.id, id: point.id), name: point.id,
            properties: RecoveryPointResource.Properties(
                recoveryPointType: windows ? "AppConsistent" : "FileSystemConsistent", recoveryPointTime: point.time.armTime,
                isSourceVMEncrypted: point.hasKeyBackup, isManagedVirtualMachine: point.disks.allSatisfy(\.managed),
                osType: windows ? "Windows" : "Linux", recoveryPointTierDetails: tiers,
                recoveryPointProperties: RecoveryPointResource.PointProperties(expiryTime: point.expiry?.armTime, ruleName: nil),
                recoveryPointAdditionalInfo: point.type))
        body.properties.keyAndSecret = keyAndSecret
        return body
    }

    /// Every key vault's id by name.
    func keyVaultIDs() async throws(ARMError) -> [String: String] {
        let vaults = try await access.run { try $0.overview().keyVaults }
        return Dictionary(vaults.map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
    }

    func recoveryPointContext(_ request: ARMRequest) async throws(ARMError) -> (ProtectedItemInfo, [RecoveryPointSummary], VirtualMachineInfo?) {
        let vault = try await vault(request)
        let item = try await requireItem(request, vault: vault)
        let vm = item.vm
        let (points, info) = try await access.run { platform in
            (try platform.recoveryPoints(vm: vm), try platform.virtualMachines().first { $0.name == vm })
        }
        return (item, points.filter { $0.vault == vault.name }, info)
    }

    /// The item's recovery points, newest first, within `startDate` and `endDate` when the `$filter` gives them.
    func listRecoveryPoints(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let (item, points, vm) = try await recoveryPointContext(request)
        let filter = ODataFilter(request.query["$filter"])
        let start = filter["startDate"].flatMap(Self.parseTime)
        let end = filter["endDate"].flatMap(Self.parseTime)
        let selected = points.filter { point in
            (start.map { point.time >= $0 } ?? true) && (end.map { point.time <= $0 } ?? true)
        }.sorted { $0.time > $1.time }
        let keyVaults = try await keyVaultIDs()
        return try page(selected.map { pointBody($0, item: item, vm: vm, keyVaults: keyVaults) }, request)
    }

    func getRecoveryPoint(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let (item, points, vm) = try await recoveryPointContext(request)
        guard let point = points.first(where: { $0.id == request["recoveryPoint"] }) else {
            throw .resourceNotFound(type: RecoveryPointResource.type, name: request["recoveryPoint"])
        }
        return .json(pointBody(point, item: item, vm: vm, keyVaults: try await keyVaultIDs()))
    }

    /// Restores a recovery point (`IaasVMRestoreRequest`): `RestoreDisks` into `targetResourceGroupId`,
    /// `AlternateLocation` as a new VM, `OriginalLocation` over the VM's disks. 202; the operation ends with
    /// the restore job's id.
    func triggerRestore(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let (item, points, _) = try await recoveryPointContext(request)
        guard points.contains(where: { $0.id == request["recoveryPoint"] }) else {
            throw .resourceNotFound(type: RecoveryPointResource.type, name: request["recoveryPoint"])
        }
        let body = try request.decode(RestoreRequestResource.self)
        let (mode, target) = try Self.restore(body, vm: item.vm)
        let vault = try await vault(request)
        let access = access
        let vm = item.vm
        let point = request["recoveryPoint"]
        let base = "/" + request.path.segments.prefix(request.path.segments.count - 3).joined(separator: "/")
        return try await accepted(
            request, vaultID: vault.id, statusPath: { "\(base)/operationsStatus/\($0)" }, resultPath: { "\(base)/operationResults/\($0)" },
            work: { await Self.runJob(access) { try $0.restore(vm: vm, recoveryPoint: point, mode: mode, target: target).job.id } })
    }

    /// The platform's restore mode and target for a restore request.
    static func restore(_ body: RestoreRequestResource, vm: String) throws(ARMError) -> (RestoreMode, RestoreTarget) {
        guard let properties = body.properties else {
            throw ARMError(status: 400, code: PlatformErrorCode.invalidInput, message: "The restore request has no properties.", target: "properties")
        }
        if let type = properties.objectType, !["iaasvmrestorerequest", "iaasvmrestorewithrehydrationrequest"].contains(type.lowercased()) {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput, message: "An Azure VM takes an IaasVMRestoreRequest, not \(type.prefix(60)).",
                target: "properties.objectType")
        }
        let groupPath = properties.targetResourceGroupId.flatMap { id in
            ARMPath(raw: id).flatMap { $0.segments.count == 4 && $0.segments[2].lowercased() == "resourcegroups" ? $0.segments : nil }
        }
        let group = groupPath?[3]
        // The target group's subscription: another than the vault's is refused by the platform
        // (UserErrorCrossSubscriptionRestoreNotSupported for an ADE VM).
        let subscription = groupPath?[1]
        if properties.targetResourceGroupId != nil && group == nil {
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput, message: "targetResourceGroupId is not a resource group's id.",
                target: "properties.targetResourceGroupId")
        }
        switch properties.recoveryType?.lowercased() {
        case "restoredisks"?:
            return (.restoreDisks, RestoreTarget(resourceGroup: group, region: properties.region, subscription: subscription))
        case "alternatelocation"?:
            let name = properties.targetVirtualMachineId.flatMap { ARMResourceReference($0)?.name(ofType: "Microsoft.Compute/virtualMachines") }
            return (.createVM, RestoreTarget(resourceGroup: group, region: properties.region, name: name, subscription: subscription))
        case "originallocation"?:
            return (.replaceExisting, RestoreTarget(region: properties.region))
        default:
            throw ARMError(
                status: 400, code: PlatformErrorCode.invalidInput,
                message: "recoveryType '\(properties.recoveryType?.prefix(40) ?? "")' is not one of RestoreDisks, AlternateLocation, OriginalLocation.",
                target: "properties.recoveryType")
        }
    }

    // MARK: Jobs

    /// A job; a restore's `propertyBag` names its target and, once it completed, each disk it created
    /// (`Restored Disk (OS)`, `Restored Disk (LUN 0)`: the restored disk's name, which the CLI reads back).
    func jobBody(_ job: JobInfo, vaultID: String, restoredDisks: [RestoredDiskInfo] = []) -> JobResource {
        let duration = max(0, (job.end ?? job.start).timeIntervalSince(job.start))
        var errors: [JobResource.ErrorInfo]?
        if job.status == .failed, let code = job.errorCode {
            errors = [
                JobResource.ErrorInfo(
                    errorCode: JobResource.numericCode(code), errorString: "\(code): \(job.errorMessage ?? "the job failed")", errorTitle: code,
                    recommendations: [])
            ]
        }
        let isBackup = job.operation == "Backup"
        let tasks: [JobResource.Task] =
            isBackup
            ? [
                .init(taskId: "Take Snapshot", status: Self.taskStatus(job, done: job.recoveryPoint != nil || job.status == .completed)),
                .init(taskId: "Transfer data to vault", status: Self.taskStatus(job, done: job.status == .completed)),
            ] : [.init(taskId: "Transfer data", status: Self.taskStatus(job, done: job.status == .completed))]
        var bag = ["VM Name": job.vm]
        if isBackup { bag["Backup Size"] = "\(job.bytesTransferred / 1_048_576) MB" }
        if let point = job.recoveryPoint { bag["Recovery Point ID"] = point }
        if job.operation == "Restore" {
            if let region = job.targetRegion { bag["Target Region"] = region }
            if let group = job.targetResourceGroup { bag["Target Resource Group"] = group }
            for disk in restoredDisks {
                bag[disk.disk == .os ? "Restored Disk (OS)" : "Restored Disk (LUN \(disk.disk))"] = disk.name
            }
        }
        return JobResource(
            id: ResourceIDs.job(vaultID: vaultID, id: job.id), name: job.id,
            properties: JobResource.Properties(
                entityFriendlyName: job.vm, operation: job.operation, status: job.status.rawValue, startTime: job.start.armTime,
                endTime: job.end?.armTime, duration: "PT\(Int(duration))S", activityId: ServedWorld.guid(from: "job:" + job.id),
                isUserTriggered: job.trigger != "Scheduled", actionsInfo: job.status == .inProgress ? ["Cancellable"] : [],
                errorDetails: errors,
                extendedInfo: JobResource.ExtendedInfo(tasksList: tasks, propertyBag: bag, progressPercentage: job.status == .inProgress ? 0 : 100)))
    }

    static func taskStatus(_ job: JobInfo, done: Bool) -> String {
        if done { return "Completed" }
        return job.status == .failed ? "Failed" : "InProgress"
    }

    /// The vault's jobs, newest first, filtered by `operation`, `status` and `backupManagementType`.
    func listJobs(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let filter = ODataFilter(request.query["$filter"])
        if let type = filter["backupManagementType"], type.lowercased() != "azureiaasvm" { return try page([JobResource](), request) }
        let vaultName = vault.name
        let (jobs, disks) = try await readModel(request, "jobs:" + vault.id.lowercased()) { () async throws(ARMError) in
            try await access.run { platform in
                (try platform.jobs().filter { $0.vault == vaultName }, Dictionary(grouping: try platform.restoredDisks(), by: \.jobID))
            }
        }
        let start = filter["startTime"].flatMap(Self.parseTime)
        let end = filter["endTime"].flatMap(Self.parseTime)
        let selected = jobs.reversed().filter { job in
            (filter["operation"].map { $0.lowercased() == job.operation.lowercased() } ?? true)
                && (filter["status"].map { $0.lowercased() == job.status.rawValue.lowercased() } ?? true)
                && (start.map { job.start >= $0 } ?? true) && (end.map { job.start <= $0 } ?? true)
        }
        return try page(selected.map { jobBody($0, vaultID: vault.id, restoredDisks: disks[$0.id] ?? []) }, request)
    }

    func getJob(_ request: ARMRequest) async throws(ARMError) -> ARMResponse {
        let vault = try await vault(request)
        let id = request["job"]
        let (job, disks) = try await access.run { platform in
            (try platform.job(id: id), try platform.restoredDisks().filter { $0.jobID == id })
        }
        guard let job, job.vault == vault.name else { throw .resourceNotFound(type: JobResource.type, name: id) }
        return .json(jobBody(job, vaultID: vault.id, restoredDisks: disks))
    }
}
