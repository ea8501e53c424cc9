import AsyncHTTPClient
import CofferARM
import CofferModel
import Foundation
import NIOHTTP1

// What coffer's operator commands (get, backup, restore, restore-keys, verify) do over an ARM endpoint: lists
// read with `nextLink` paging, Backup now and restore as long-running operations whose status names the job,
// and the job read until it ends. `verify` and `restore-keys` have no ARM operation: they use coffer serve's
// extension actions on the recovery point (`providers/Coffer.Platform/verify` and `.../restoreKeys`).

/// A backup item as the endpoint lists it, soft-deleted ones included.
public struct RemoteProtectedItem: Sendable, Hashable {
    public var id: String
    public var vm: String
    public var vmID: String
    public var vmResourceGroup: String
    public var vault: String
    public var policy: String?
    public var status: ProtectionStatus
    public var excludeDiskLuns: [Int]
    public var includeDiskLuns: [Int]
    public var lastBackup: Date?
    public var lastBackupStatus: String?
    public var recoveryPoints: Int
    /// When a soft-deleted item is purged for good.
    public var purgeAt: Date?
}

/// A key vault access policy entry, with the name the tenant gives its principal when it has one.
public struct RemoteAccessPolicy: Sendable, Hashable {
    public var keyVault: String
    public var id: String
    public var objectID: String
    public var principalName: String?
    public var keyPermissions: [KeyPermission]
    public var secretPermissions: [SecretPermission]
}

/// A role assignment at a key vault's scope.
public struct RemoteRoleAssignment: Sendable, Hashable {
    public var keyVault: String
    public var id: String
    public var name: String
    public var objectID: String
    public var principalName: String?
    /// The role's name (its definition's GUID when the tenant does not know it).
    public var role: String
    /// The role definition's GUID.
    public var roleDefinitionID: String
}

/// What `coffer get` lists of the reconciled kinds.
public struct RemoteResources: Sendable {
    /// Vaults, with `VaultStatus`.
    public var vaults: [ObservedResource]
    /// Policies, with `BackupPolicyStatus`.
    public var policies: [ObservedResource]
    public var protectedItems: [RemoteProtectedItem]
    public var accessPolicies: [RemoteAccessPolicy]
    public var roleAssignments: [RemoteRoleAssignment]
}

/// A recovery point of an Azure VM.
public struct RemoteRecoveryPoint: Sendable, Hashable {
    public var id: String
    public var vm: String
    public var vault: String
    public var time: Date
    /// `Scheduled` or `OnDemand` (the point's `recoveryPointAdditionalInfo`).
    public var type: String
    /// `Snapshot`, `Snapshot and vault` or `Vault`.
    public var tier: String
    public var expiry: Date?
    /// Whether the point holds an ADE VM's BEK backup, and its KEK's.
    public var hasKeyBackup: Bool
    public var hasKEKBackup: Bool
    public var keyVault: String?
    public var bekSecretURL: String?
    public var kekURL: String?
    public var managed: Bool
}

/// A backup or restore job.
public struct RemoteJob: Sendable, Hashable {
    public var id: String
    public var operation: String
    public var vm: String
    public var vault: String
    /// `InProgress`, `Completed`, `Failed`, `CompletedWithWarnings`, `Cancelled`.
    public var status: String
    public var start: Date
    public var end: Date?
    /// A backup's size as the job reports it (`Backup Size`, in MB).
    public var bytesTransferred: Int64
    public var errorCode: String?
    public var errorMessage: String?
    public var recoveryPoint: String?
    public var userTriggered: Bool
    public var targetRegion: String?
    public var targetResourceGroup: String?
    /// The disks a restore created: `os` or the LUN, and the disk's name.
    public var restoredDisks: [(slot: String, name: String)]

    public static func == (lhs: RemoteJob, rhs: RemoteJob) -> Bool { lhs.id == rhs.id && lhs.status == rhs.status }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A managed disk as the endpoint shows it.
public struct RemoteDisk: Sendable, Hashable {
    public var id: String
    public var name: String
    public var region: String
    public var sizeGiB: Int
}

/// How a restore places what it makes.
public enum RemoteRestoreType: String, Sendable {
    case restoreDisks = "RestoreDisks"
    case alternateLocation = "AlternateLocation"
    case originalLocation = "OriginalLocation"
}

extension ARMClientProvider {
    // MARK: Lists

    /// Every vault, policy, backup item, access policy and role assignment, read in batches.
    public func resources() async throws -> RemoteResources {
        let tenant = try await loadTenant()
        let catalog = try await Catalog.load(transport, tenant: tenant)
        var names: [String: String] = [tenant.facts.backupManagementServiceObjectId.lowercased(): Principal.backupManagementServiceName]
        if let operatorID = tenant.facts.operatorObjectId { names[operatorID.lowercased()] = "operator" }
        for set in tenant.facts.diskEncryptionSets { names[set.identityObjectId.lowercased()] = "disk encryption set \(set.name)" }
        var resources = RemoteResources(vaults: [], policies: [], protectedItems: [], accessPolicies: [], roleAssignments: [])
        for (key, vault) in catalog.vaults.sorted(by: { $0.key < $1.key }) {
            if let principal = vault.identity?.principalId, let name = vault.name { names[principal.lowercased()] = "vault \(name)" }
            resources.vaults.append(try Translation.observedVault(vault, registeredItems: catalog.items[key]?.count ?? 0, tenant: tenant))
            for policy in catalog.policies[key] ?? [] {
                resources.policies.append(try Translation.observedPolicy(policy, vault: vault.name ?? key))
            }
            for item in catalog.items[key] ?? [] {
                if let found = try Self.protectedItem(item, vault: vault.name ?? key) { resources.protectedItems.append(found) }
            }
        }
        for (key, keyVault) in catalog.keyVaults.sorted(by: { $0.key < $1.key }) {
            for entry in try Translation.accessEntries(keyVault) {
                resources.accessPolicies.append(
                    RemoteAccessPolicy(
                        keyVault: keyVault.name, id: ARMIDs.accessPolicy(keyVaultID: keyVault.id, objectID: entry.objectID), objectID: entry.objectID,
                        principalName: names[entry.objectID.lowercased()], keyPermissions: entry.keyPermissions,
                        secretPermissions: entry.secretPermissions))
            }
            for assignment in catalog.roleAssignments[key] ?? [] {
                let guid = RoleAssignmentResource.roleDefinitionGUID(assignment.properties.roleDefinitionId) ?? assignment.properties.roleDefinitionId
                resources.roleAssignments.append(
                    RemoteRoleAssignment(
                        keyVault: keyVault.name, id: ARMIDs.roleAssignment(keyVaultID: keyVault.id, name: assignment.name), name: assignment.name,
                        objectID: assignment.properties.principalId, principalName: names[assignment.properties.principalId.lowercased()],
                        role: tenant.role(guid)?.name ?? guid, roleDefinitionID: guid))
            }
        }
        return resources
    }

    /// A backup item body as an item; nil for another kind of item.
    static func protectedItem(_ body: ProtectedItemResource, vault: String) throws -> RemoteProtectedItem? {
        guard let id = body.id, let properties = body.properties, let itemName = body.name ?? ARMIDs.lastName(id), let parsed = IaasVMName(item: itemName)
        else { return nil }
        let exclusion = properties.extendedProperties?.diskExclusionProperties
        let luns = exclusion?.diskLunList ?? []
        let inclusion = exclusion?.isInclusionList == true
        return RemoteProtectedItem(
            id: id, vm: properties.friendlyName ?? parsed.vm, vmID: properties.sourceResourceId ?? properties.virtualMachineId ?? "",
            vmResourceGroup: parsed.resourceGroup, vault: vault, policy: properties.policyName ?? properties.policyId.flatMap(ARMIDs.lastName),
            status: Translation.protectionStatus(body), excludeDiskLuns: inclusion ? [] : luns, includeDiskLuns: inclusion ? luns : [],
            lastBackup: properties.lastBackupTime.flatMap(ARMTime.parse), lastBackupStatus: properties.lastBackupStatus,
            recoveryPoints: properties.extendedInfo?.recoveryPointCount ?? 0,
            purgeAt: Translation.isSoftDeleted(body) ? properties.deferredDeleteTimeInUTC.flatMap(ARMTime.parse) : nil)
    }

    /// Every vault and its backup items (soft-deleted ones included).
    func vaultsAndItems() async throws -> [(vault: VaultResource, items: [ProtectedItemResource])] {
        let vaults = try await allVaults(tenant: try await tenant())
        let lists = try await boundedMap(vaults, limit: transport.configuration.concurrency) { [self] vault in try await items(ofVault: vault) }
        return Array(zip(vaults, lists)).map { (vault: $0.0, items: $0.1) }
    }

    /// The backup item of the VM named `vm` (not a soft-deleted one when there is another), with its vault.
    func item(ofVMNamed vm: String) async throws -> (vault: VaultResource, item: ProtectedItemResource) {
        var found: [(vault: VaultResource, item: ProtectedItemResource)] = []
        for (vault, items) in try await vaultsAndItems() {
            for item in items where (item.properties?.friendlyName ?? item.name.flatMap { IaasVMName(item: $0)?.vm })?.lowercased() == vm.lowercased() {
                found.append((vault, item))
            }
        }
        if let live = found.first(where: { !Translation.isSoftDeleted($0.item) }) ?? found.first { return live }
        throw ProviderError(
            code: "ResourceNotFound", message: "VM '\(vm)' has no backup item in any vault of the endpoint",
            hint: "protect it with a ProtectedVM manifest and 'coffer apply'")
    }

    /// The recovery points of every backup item, or of the VM named `vm`, newest first per item.
    public func recoveryPoints(vm: String? = nil) async throws -> [RemoteRecoveryPoint] {
        var selected: [(vault: VaultResource, item: ProtectedItemResource)] = []
        if let vm {
            selected = [try await item(ofVMNamed: vm)]
        } else {
            for (vault, items) in try await vaultsAndItems() { selected += items.map { (vault, $0) } }
        }
        let transport = transport
        let lists = try await boundedMap(selected, limit: transport.configuration.concurrency) { pair in
            try await transport.list(
                RecoveryPointResource.self, ARMTransport.path((pair.item.id ?? "") + "/recoveryPoints", apiVersion: ClientAPIVersion.backup),
                what: "recovery points") ?? []
        }
        var points: [RemoteRecoveryPoint] = []
        for (pair, list) in zip(selected, lists) {
            let vmName = pair.item.properties?.friendlyName ?? pair.item.name.flatMap { IaasVMName(item: $0)?.vm } ?? ""
            for body in list { points.append(Self.recoveryPoint(body, vm: vmName, vault: pair.vault.name ?? "")) }
        }
        return points
    }

    static func recoveryPoint(_ body: RecoveryPointResource, vm: String, vault: String) -> RemoteRecoveryPoint {
        let properties = body.properties
        let tiers = Set(properties.recoveryPointTierDetails.filter { $0.status == "Valid" }.map(\.type))
        let tier =
            tiers.contains("InstantRP") ? (tiers.contains("HardenedRP") ? "Snapshot and vault" : "Snapshot") : "Vault"
        let keys = properties.keyAndSecret
        return RemoteRecoveryPoint(
            id: body.name, vm: vm, vault: vault, time: ARMTime.parse(properties.recoveryPointTime) ?? Date(timeIntervalSince1970: 0),
            type: properties.recoveryPointAdditionalInfo ?? "", tier: tier,
            expiry: properties.recoveryPointProperties.expiryTime.flatMap(ARMTime.parse), hasKeyBackup: properties.isSourceVMEncrypted,
            hasKEKBackup: keys?.kekDetails != nil, keyVault: keys.flatMap { ARMIDs.lastName($0.bekDetails.secretVaultId) },
            bekSecretURL: keys?.bekDetails.secretUrl, kekURL: keys?.kekDetails?.keyUrl, managed: properties.isManagedVirtualMachine)
    }

    /// The jobs of every vault, or those of the VM named `vm`, oldest first.
    public func jobs(vm: String? = nil) async throws -> [RemoteJob] {
        let vaults = try await allVaults(tenant: try await tenant())
        let transport = transport
        let lists = try await boundedMap(vaults, limit: transport.configuration.concurrency) { vault in
            try await transport.list(
                JobResource.self,
                ARMTransport.path((vault.id ?? "") + "/backupJobs", apiVersion: ClientAPIVersion.backup,
                                  query: [("$filter", "backupManagementType eq 'AzureIaasVM'")]),
                what: "backup jobs") ?? []
        }
        // Each vault lists its jobs newest first, in the order the service ran them: reversed, then merged by
        // start time, jobs that started in the same second keep that order.
        var jobs: [(job: RemoteJob, order: Int)] = []
        for (vault, list) in zip(vaults, lists) {
            for body in list.reversed() where vm.map({ body.properties.entityFriendlyName.lowercased() == $0.lowercased() }) ?? true {
                jobs.append((Self.job(body, vault: vault.name ?? ""), jobs.count))
            }
        }
        return jobs.sorted { ($0.job.start, $0.order) < ($1.job.start, $1.order) }.map(\.job)
    }

    static func job(_ body: JobResource, vault: String) -> RemoteJob {
        let properties = body.properties
        let bag = properties.extendedInfo?.propertyBag ?? [:]
        let error = properties.errorDetails?.first
        var message = error?.errorString
        if let code = error?.errorTitle, let text = message, text.hasPrefix(code + ": ") { message = String(text.dropFirst(code.count + 2)) }
        var disks: [(slot: String, name: String)] = []
        for (key, name) in bag.sorted(by: { $0.key < $1.key }) where key.hasPrefix("Restored Disk (") && key.hasSuffix(")") {
            let label = key.dropFirst("Restored Disk (".count).dropLast()
            disks.append((label == "OS" ? "os" : String(label.replacingOccurrences(of: "LUN ", with: "")), name))
        }
        let megabytes = bag["Backup Size"].flatMap { Int64($0.replacingOccurrences(of: " MB", with: "")) } ?? 0
        return RemoteJob(
            id: body.name, operation: properties.operation, vm: properties.entityFriendlyName, vault: vault, status: properties.status,
            start: ARMTime.parse(properties.startTime) ?? Date(timeIntervalSince1970: 0), end: properties.endTime.flatMap(ARMTime.parse),
            bytesTransferred: megabytes * 1_048_576, errorCode: error?.errorTitle, errorMessage: message, recoveryPoint: bag["Recovery Point ID"],
            userTriggered: properties.isUserTriggered, targetRegion: bag["Target Region"], targetResourceGroup: bag["Target Resource Group"],
            restoredDisks: disks)
    }

    // MARK: Backup now and restore

    /// Backup now of the VM named `vm`, kept until `retainUntil` (the service's default, 30 days from its
    /// own now, when nil): starts the operation, follows it to the job it started, and reads the job until it
    /// ends.
    public func backup(vm: String, retainUntil: Date?) async throws -> RemoteJob {
        let (vault, item) = try await item(ofVMNamed: vm)
        let body = BackupRequestResource(expiry: retainUntil.map(ARMTime.format))
        let jobID = try await transport.startJob(
            .POST, ARMTransport.path((item.id ?? "") + "/backup", apiVersion: ClientAPIVersion.backup), body: try ARMTransport.encode(body),
            what: "Backup now of VM '\(vm)'")
        return try await finishedJob(jobID, vault: vault)
    }

    /// Restores the VM's recovery point `recoveryPoint` (an id, or `latest`); returns the finished job, the
    /// point it restored from, and the tier it restored from (the instant-restore snapshot while the point has
    /// one, as the service does, else the vault).
    public func restore(
        vm: String, recoveryPoint: String, type: RemoteRestoreType, targetResourceGroup: String?, targetSubscription: String?,
        targetName: String?
    ) async throws -> (job: RemoteJob, point: RemoteRecoveryPoint, region: String) {
        let tenant = try await tenant()
        let (vault, item) = try await item(ofVMNamed: vm)
        let point = try await resolvePoint(recoveryPoint, vm: vm)
        let vmID = item.properties?.sourceResourceId ?? item.properties?.virtualMachineId ?? ""
        let subscription = try targetSubscription.map { try tenant.subscriptionID($0) } ?? ARMIDs.subscription(vmID) ?? tenant.facts.defaultSubscriptionId
        let group = targetResourceGroup ?? ARMIDs.resourceGroup(vmID) ?? ""
        var properties = RestoreRequestResource.Properties()
        properties.objectType = "IaasVMRestoreRequest"
        properties.recoveryPointId = point.id
        properties.recoveryType = type.rawValue
        properties.sourceResourceId = vmID
        properties.region = vault.location
        if type != .originalLocation { properties.targetResourceGroupId = ResourceIDs.resourceGroup(subscription: subscription, name: group) }
        if type == .alternateLocation {
            properties.targetVirtualMachineId = ResourceIDs.virtualMachine(subscription: subscription, resourceGroup: group, name: targetName ?? "\(vm)-restored")
        }
        let jobID = try await transport.startJob(
            .POST, ARMTransport.path((item.id ?? "") + "/recoveryPoints/\(point.id)/restore", apiVersion: ClientAPIVersion.backup),
            body: try ARMTransport.encode(RestoreRequestResource(properties: properties)), what: "restore of VM '\(vm)'")
        return (try await finishedJob(jobID, vault: vault), point, vault.location ?? "")
    }

    /// The recovery point `id` of the VM (or its newest for `latest`).
    func resolvePoint(_ id: String, vm: String) async throws -> RemoteRecoveryPoint {
        let points = try await recoveryPoints(vm: vm)
        let found = id.lowercased() == "latest" ? points.max { $0.time < $1.time } : points.first { $0.id == id }
        guard let found else {
            throw ProviderError(
                code: "RecoveryPointNotFound", message: "VM '\(vm)' has no recovery point '\(id)'", hint: "list them with 'coffer get recovery-points --vm \(vm)'")
        }
        return found
    }

    /// Reads a job until it has ended.
    func finishedJob(_ id: String, vault: VaultResource) async throws -> RemoteJob {
        let clock = ContinuousClock()
        let deadline = clock.now + transport.configuration.operationDeadline
        let path = ARMTransport.path((vault.id ?? "") + "/backupJobs/\(id)", apiVersion: ClientAPIVersion.backup)
        while true {
            guard let body = try await transport.get(JobResource.self, path, what: "job \(id)") else {
                throw ProviderError(code: "ResourceNotFound", message: "job '\(id)' is not in vault '\(vault.name ?? "")'")
            }
            let job = Self.job(body, vault: vault.name ?? "")
            if job.status != "InProgress" { return job }
            try await transport.pause(.seconds(1), until: deadline, clock: clock, what: "job \(id)")
        }
    }

    /// A managed disk by name in a resource group of the subscription (the vault's when nil); nil when the
    /// endpoint has none.
    public func disk(named name: String, resourceGroup: String, subscription: String?) async throws -> RemoteDisk? {
        let tenant = try await tenant()
        let id = ResourceIDs.disk(subscription: try tenant.subscriptionID(subscription), resourceGroup: resourceGroup, name: name)
        guard let body = try await transport.get(DiskResource.self, ARMTransport.path(id, apiVersion: ClientAPIVersion.compute), what: "disk \(name)")
        else { return nil }
        return RemoteDisk(id: body.id, name: body.name, region: body.location, sizeGiB: body.properties.diskSizeGB)
    }

    // MARK: coffer serve's actions on a recovery point

    /// `verify` or `restoreKeys` on the VM's recovery point (an id, or `latest`): the JSON coffer serve
    /// answers, and the recovery point's id. Another endpoint answers 404: these actions are coffer serve's.
    public func recoveryPointAction(_ action: String, vm: String, recoveryPoint: String, body: [String: String] = [:]) async throws -> (
        json: [UInt8], recoveryPoint: String
    ) {
        let (_, item) = try await item(ofVMNamed: vm)
        let point = try await resolvePoint(recoveryPoint, vm: vm)
        let path = ARMTransport.path(
            (item.id ?? "") + "/recoveryPoints/\(point.id)/providers/Coffer.Platform/\(action)", apiVersion: ClientAPIVersion.backup)
        let reply = try await transport.send(.POST, path, body: try ARMTransport.encode(body))
        if reply.status == 404, ARMTransport.errorDetail(reply)?.code != "ResourceNotFound" || reply.body.isEmpty {
            throw ProviderError(
                code: "NotSupportedByEndpoint", message: "the endpoint has no '\(action)' action on recovery points",
                hint: "this command needs coffer serve; against Azure, use the portal or Azure's own tools")
        }
        return (try transport.check(reply, "\(action) of VM '\(vm)'").body, point.id)
    }
}

extension ARMTransport {
    /// Starts a long-running operation that makes a job (Backup now, restore), follows its status to the end,
    /// and returns the job's id. The start is not retried once it may have been carried out.
    func startJob(_ method: HTTPMethod, _ path: String, body: [UInt8], what: String) async throws -> String {
        let first = try check(try await send(method, path, body: body, idempotent: false), what)
        guard let status = first.header("Azure-AsyncOperation") else {
            throw ProviderError(code: "InvalidResponse", message: "\(what): the endpoint answered \(first.status) without an operation to follow")
        }
        let clock = ContinuousClock()
        let (_, document) = try await pollStatus(status, first: first, deadline: clock.now + configuration.operationDeadline, clock: clock, what: what)
        guard let job = document.properties?.jobId else {
            throw ProviderError(code: "InvalidResponse", message: "\(what): the operation succeeded without naming its job")
        }
        return job
    }
}

/// ARM's times: ISO 8601 in UTC, with or without fractional seconds.
enum ARMTime {
    static func parse(_ text: String) -> Date? {
        guard text.count <= 64 else { return nil }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
