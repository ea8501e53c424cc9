import CofferModel
import Foundation
import GRDB

/// The platform as the reconciler drives it: the four manifest kinds read, created, updated and deleted
/// through the same rules as the rest of the platform, with failures as `ProviderError`s carrying the
/// service's error codes. What coffer creates is marked `managed-by: coffer`.
///
/// Ids are ARM-style. Vault names are unique in the platform, so a policy or protected item is found by
/// its vault's name and its own; the id of a child whose vault does not exist yet has `-` as the vault's
/// resource group.
extension Platform: Provider {
    /// Runs `body`, turning platform errors into provider errors.
    func providing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PlatformError {
            throw error.providerError
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError(code: PlatformErrorCode.storageError, message: "the platform failed: \(error)", retryable: true,
                                underlying: error)
        }
    }

    public func resourceID(name: String, spec: ResourceSpec) throws -> String {
        try providing { try pool.read { db in try Self.resourceID(Lookup(db), name: name, spec: spec) } }
    }

    public func resourceIDs(_ resources: [(name: String, spec: ResourceSpec)]) throws -> [String] {
        try providing {
            try pool.read { db in
                let lookup = try batchLookup(db, count: resources.count)
                guard lookup.isPreloaded else { return try resources.map { try Self.resourceID(lookup, name: $0.name, spec: $0.spec) } }
                return try resources.concurrentMap { try Self.resourceID(lookup, name: $0.name, spec: $0.spec) }
            }
        }
    }

    /// Above this many resources, a batch read loads whole tables instead of looking rows up one by one.
    static let batchThreshold = 32

    /// The lookup for a batch of `count` reads: the refresh's preloaded one when a refresh is in progress
    /// and nothing was committed since, else whole tables for a large batch, else row by row.
    func batchLookup(_ db: Database, count: Int) throws -> Lookup {
        if let cached = store.refreshCache.current() { return cached }
        return count > Self.batchThreshold ? try Lookup.preloaded(db) : Lookup(db)
    }

    /// Loads the tables a refresh reads in one read transaction, while the planner loads the manifests.
    public func beginRefresh() throws {
        let generation = store.refreshCache.currentGeneration()
        let lookup = try providing { try pool.read { db in try Lookup.preloaded(db) } }
        store.refreshCache.store(lookup, ifStill: generation)
    }

    public func endRefresh() {
        store.refreshCache.clear()
    }

    static func resourceID(_ lookup: Lookup, name: String, spec: ResourceSpec) throws -> String {
        switch spec {
        case .vault(let vault):
            let subscription = try lookup.subscription(vault.subscription)
            return Self.vaultID(subscriptionID: subscription.id, resourceGroup: vault.resourceGroup, name: name)
        case .backupPolicy(let policy):
            return Self.policyID(vaultID: try Self.vaultIDOrPlaceholder(lookup, policy.vault), name: name)
        case .protectedVM(let protected):
            return Self.protectedItemID(vaultID: try Self.vaultIDOrPlaceholder(lookup, protected.vault),
                                        vmResourceGroup: protected.vm.resourceGroup, vm: protected.vm.name)
        case .keyVaultAccessPolicy(let access):
            let keyVaultID: String
            if let row = try lookup.keyVault(access.keyVault) {
                let subscription = try lookup.subscription(row.subscription)
                keyVaultID = Self.keyVaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name)
            } else {
                keyVaultID = Self.keyVaultID(subscriptionID: try lookup.subscription(nil).id, resourceGroup: "-", name: access.keyVault)
            }
            return Self.accessPolicyID(keyVaultID: keyVaultID, objectID: Self.objectID(of: access.principal))
        }
    }

    static func vaultIDOrPlaceholder(_ lookup: Lookup, _ vault: String) throws -> String {
        if let row = try lookup.vault(vault) {
            let subscription = try lookup.subscription(row.subscription)
            return vaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name)
        }
        return vaultID(subscriptionID: try lookup.subscription(nil).id, resourceGroup: "-", name: vault)
    }

    /// The segment after `marker` in an id (case-insensitive), up to the next `/`.
    static func segment(_ id: String, after marker: String) -> String? {
        // A byte scan: Foundation's case-insensitive search, or splitting the id, costs more than the rest
        // of a read. Markers are ASCII; letters compare case-insensitively.
        let wanted = Array(marker.utf8)
        var id = id
        return id.withUTF8 { bytes -> String? in
            let slash: UInt8 = 0x2f
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != slash { end += 1 }
                if end - start == wanted.count, end < bytes.count,
                    (0..<wanted.count).allSatisfy({ Self.asciiLower(bytes[start + $0]) == Self.asciiLower(wanted[$0]) })
                {
                    let valueStart = end + 1
                    var valueEnd = valueStart
                    while valueEnd < bytes.count && bytes[valueEnd] != slash { valueEnd += 1 }
                    return valueEnd > valueStart ? String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self) : nil
                }
                start = end + 1
            }
            return nil
        }
    }

    private static func asciiLower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte }

    public func read(kind: ResourceKind, id: String) throws -> ObservedResource? {
        try providing { try pool.read { db in try Self.read(Lookup(db), kind: kind, id: id) } }
    }

    /// Many resources in one read transaction: one consistent view of the platform.
    public func read(_ requests: [(kind: ResourceKind, id: String)]) throws -> [ObservedResource?] {
        try providing {
            try pool.read { db in
                let lookup = try batchLookup(db, count: requests.count)
                // A preloaded lookup is read-only and never touches the database: describe the resources on
                // every core.
                guard lookup.isPreloaded else { return try requests.map { try Self.read(lookup, kind: $0.kind, id: $0.id) } }
                return try requests.concurrentMap { try Self.read(lookup, kind: $0.kind, id: $0.id) }
            }
        }
    }

    static func read(_ lookup: Lookup, kind: ResourceKind, id: String) throws -> ObservedResource? {
        switch kind {
        case .recoveryServicesVault:
            guard let name = Self.segment(id, after: "vaults"), let row = try lookup.vault(name) else { return nil }
            return try Self.observedVault(lookup, row)
        case .backupPolicy:
            guard let vault = Self.segment(id, after: "vaults"), let name = Self.segment(id, after: "backupPolicies"),
                let row = try lookup.policy(vault: vault, name: name)
            else { return nil }
            return try Self.observedPolicy(lookup, row)
        case .protectedVM:
            guard let vault = Self.segment(id, after: "vaults"), let item = Self.segment(id, after: "protectedItems"),
                let vm = item.split(separator: ";").last.map(String.init),
                let row = try lookup.item(vm: vm), row.vault.lowercased() == vault.lowercased(), row.state != .softDeleted
            else { return nil }
            return try Self.observedItem(lookup, row)
        case .keyVaultAccessPolicy:
            guard let keyVault = Self.segment(id, after: "vaults"), let objectID = Self.segment(id, after: "objectId"),
                let row = try lookup.accessPolicy(keyVault: keyVault, objectID: objectID)
            else { return nil }
            return try Self.observedAccessPolicy(lookup, row)
        }
    }

    public func create(name: String, spec: ResourceSpec) throws -> ObservedResource {
        try providing {
            switch spec {
            case .vault(let vault):
                var first = vault
                // The service cannot create a vault Locked: create it Unlocked, then lock it (as azurerm does).
                if vault.immutability == .locked { first.immutability = .unlocked }
                try createVault(name: name, spec: first, managedBy: ObservedResource.managedByValue)
                if vault.immutability == .locked { try updateVault(name: name, spec: vault) }
                return try observed(kind: .recoveryServicesVault, name: name)
            case .backupPolicy(let policy):
                try createPolicy(name: name, spec: policy, managedBy: ObservedResource.managedByValue)
                return try observedPolicy(vault: policy.vault, name: name)
            case .protectedVM(let protected):
                let vm = try checkedVM(protected.vm)
                if protected.protectionState == .backupsSuspended, try self.vault(named: protected.vault)?.spec.immutability == .disabled {
                    throw PlatformError(PlatformErrorCode.backupsSuspendedNeedsImmutability,
                                        "stop protection and retain data as per policy needs an immutable vault; '\(protected.vault)' has immutability Disabled",
                                        hint: "use protectionState ProtectionStopped, or make the vault immutable")
                }
                if let existing = try protectedItem(vm: vm), existing.state == .softDeleted,
                    existing.vault.lowercased() == protected.vault.lowercased() {
                    // Recover the soft-deleted item and resume it, as azurerm's recover_soft_deleted_backup_protected_vm does.
                    try undeleteProtection(vm: vm)
                    try changeProtection(vm: vm, policy: protected.policy, excludeDiskLuns: protected.excludeDiskLuns,
                                         includeDiskLuns: protected.includeDiskLuns, deletionPolicy: protected.deletionPolicy)
                    try resumeProtection(vm: vm, policy: protected.policy)
                    try pool.write { db in
                        try db.execute(sql: "UPDATE protectedItem SET managedBy = ? WHERE vm = ?", arguments: [ObservedResource.managedByValue, vm])
                    }
                } else {
                    try enableProtection(vm: vm, vault: protected.vault, policy: protected.policy,
                                         excludeDiskLuns: protected.excludeDiskLuns, includeDiskLuns: protected.includeDiskLuns,
                                         deletionPolicy: protected.deletionPolicy, managedBy: ObservedResource.managedByValue)
                }
                try applyProtectionState(vm: vm, wanted: protected.protectionState, policy: protected.policy)
                return try observedItem(vm: vm)
            case .keyVaultAccessPolicy(let access):
                let objectID = Self.objectID(of: access.principal)
                try pool.write { db in
                    let keyVault = try Self.keyVault(db, access.keyVault)
                    if try KeyVaultStore.accessPolicy(db, keyVault: keyVault.name, objectID: objectID) != nil {
                        throw PlatformError(PlatformErrorCode.resourceAlreadyExists,
                                            "key vault '\(keyVault.name)' already has an access policy for '\(access.principal)'",
                                            hint: "import it (coffer adopts it when it matches) or update it")
                    }
                    let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM accessPolicy WHERE keyVault = ?", arguments: [keyVault.name]) ?? 0
                    if count >= 1024 {
                        throw PlatformError(PlatformErrorCode.limitExceeded, "key vault '\(keyVault.name)' already holds 1024 access policies")
                    }
                    try AccessPolicyRow(keyVault: keyVault.name, objectID: objectID, keyPermissions: access.keyPermissions,
                                        secretPermissions: access.secretPermissions, managedBy: ObservedResource.managedByValue).insert(db)
                }
                return try observedAccessPolicy(keyVault: access.keyVault, objectID: objectID)
            }
        }
    }

    public func update(id: String, name: String, spec: ResourceSpec) throws -> ObservedResource {
        try providing {
            switch spec {
            case .vault(let vault):
                let current = try self.vault(named: name)?.spec
                if current?.immutability == .disabled && vault.immutability == .locked {
                    // Disabled goes through Unlocked to Locked.
                    var step = vault
                    step.immutability = .unlocked
                    try updateVault(name: name, spec: step)
                }
                try updateVault(name: name, spec: vault)
                return try observed(kind: .recoveryServicesVault, name: name)
            case .backupPolicy(let policy):
                try updatePolicy(name: name, spec: policy)
                return try observedPolicy(vault: policy.vault, name: name)
            case .protectedVM(let protected):
                let vm = try checkedVM(protected.vm)
                guard let item = try protectedItem(vm: vm), item.state != .softDeleted else { throw Self.notProtected(vm) }
                guard item.vault.lowercased() == protected.vault.lowercased() else {
                    throw PlatformError(PlatformErrorCode.vmAlreadyProtected,
                                        "VM '\(vm)' is protected in vault '\(item.vault)'; moving it to '\(protected.vault)' needs a new item",
                                        hint: "stop protection and delete its data in '\(item.vault)', then protect it in '\(protected.vault)'")
                }
                let stopped = item.state == .protectionStopped || item.state == .backupsSuspended
                if stopped && protected.protectionState == .protected {
                    try resumeProtection(vm: vm, policy: protected.policy)
                }
                try changeProtection(vm: vm, policy: protected.policy, excludeDiskLuns: protected.excludeDiskLuns,
                                     includeDiskLuns: protected.includeDiskLuns, deletionPolicy: protected.deletionPolicy)
                try applyProtectionState(vm: vm, wanted: protected.protectionState, policy: protected.policy)
                return try observedItem(vm: vm)
            case .keyVaultAccessPolicy(let access):
                try setAccessPolicy(keyVault: access.keyVault, principal: access.principal, keyPermissions: access.keyPermissions,
                                    secretPermissions: access.secretPermissions)
                return try observedAccessPolicy(keyVault: access.keyVault, objectID: Self.objectID(of: access.principal))
            }
        }
    }

    public func delete(kind: ResourceKind, id: String, deletionPolicy: DeletionPolicy) throws {
        try providing {
            switch kind {
            case .recoveryServicesVault:
                guard let name = Self.segment(id, after: "vaults") else { throw Self.badID(id) }
                try deleteVault(name: name)
            case .backupPolicy:
                guard let vault = Self.segment(id, after: "vaults"), let name = Self.segment(id, after: "backupPolicies") else {
                    throw Self.badID(id)
                }
                try deletePolicy(vault: vault, name: name)
            case .protectedVM:
                guard let item = Self.segment(id, after: "protectedItems"), let vm = item.split(separator: ";").last.map(String.init) else {
                    throw Self.badID(id)
                }
                switch deletionPolicy {
                case .retain: try stopProtection(vm: vm, mode: .retainForever)
                case .delete: try deleteProtection(vm: vm)
                }
            case .keyVaultAccessPolicy:
                guard let keyVault = Self.segment(id, after: "vaults"), let objectID = Self.segment(id, after: "objectId") else {
                    throw Self.badID(id)
                }
                try removeAccessPolicy(keyVault: keyVault, principal: .objectID(objectID))
            }
        }
    }

    public func virtualMachine(_ reference: VMReference) throws -> VirtualMachineFacts? {
        try providing { try pool.read { db in try Self.virtualMachine(Lookup(db), reference) } }
    }

    public func virtualMachines(_ references: [VMReference]) throws -> [VirtualMachineFacts?] {
        try providing {
            try pool.read { db in
                let lookup = try batchLookup(db, count: references.count)
                guard lookup.isPreloaded else { return try references.map { try Self.virtualMachine(lookup, $0) } }
                return try references.concurrentMap { try Self.virtualMachine(lookup, $0) }
            }
        }
    }

    static func virtualMachine(_ lookup: Lookup, _ reference: VMReference) throws -> VirtualMachineFacts? {
        guard let row = try lookup.vm(reference.name),
            row.resourceGroup.lowercased() == reference.resourceGroup.lowercased(),
            try lookup.subscription(reference.subscription).name == row.subscription
        else { return nil }
        let subscription = try lookup.subscription(row.subscription)
        var certificateBacked = false
        if let kek = row.encryption.kek, let keyVault = row.encryption.keyVault {
            certificateBacked = try lookup.keyIsCertificateBacked(keyVault: keyVault, name: kek)
        }
        return VirtualMachineFacts(
            id: Self.vmID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name),
            reference: VMReference(subscription: subscription.isDefault ? nil : subscription.name, resourceGroup: row.resourceGroup,
                                   name: row.name),
            subscription: row.subscription, region: row.region, os: row.os, encryption: row.encryption.kind,
            keyVault: row.encryption.keyVault, kekIsCertificateBacked: certificateBacked, agentState: row.agent,
            protectedBy: try lookup.item(vm: row.name)?.vault)
    }

    /// A member of the tenant who enables protection of an ADE VM grants the Backup Management Service its
    /// Key Vault access by doing so; a guest does not.
    public func operatorGrantsKeyVaultAccess() throws -> Bool {
        try operatorIdentity().type == .member
    }

    public func keyVault(named name: String) throws -> KeyVaultFacts? {
        try providing { try pool.read { db in try Self.keyVaultFacts(Lookup(db), name) } }
    }

    public func keyVaults(named names: [String]) throws -> [KeyVaultFacts?] {
        try providing {
            try pool.read { db in
                let lookup = try batchLookup(db, count: names.count)
                return try names.map { try Self.keyVaultFacts(lookup, $0) }
            }
        }
    }

    static func keyVaultFacts(_ lookup: Lookup, _ name: String) throws -> KeyVaultFacts? {
        guard let row = try lookup.keyVault(name) else { return nil }
        let subscription = try lookup.subscription(row.subscription)
        let policies = try lookup.accessPolicies(keyVault: row.name)
        return KeyVaultFacts(
            id: Self.keyVaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name), name: row.name,
            subscription: row.subscription, region: row.region,
            accessPolicies: policies.map { .init(objectID: $0.objectID, keyPermissions: $0.keyPermissions, secretPermissions: $0.secretPermissions) },
            backupManagementServiceObjectID: Self.backupManagementServiceObjectID)
    }

    // MARK: Helpers

    static func badID(_ id: String) -> PlatformError {
        PlatformError(PlatformErrorCode.invalidArgument, "'\(id)' is not an id of this kind of resource")
    }

    /// The VM a reference names, checking its resource group and subscription.
    func checkedVM(_ reference: VMReference) throws -> String {
        try pool.read { db in
            let row = try Self.vm(db, reference.name)
            let subscription = try Self.subscription(db, reference.subscription)
            guard row.resourceGroup.lowercased() == reference.resourceGroup.lowercased(), row.subscription == subscription.name else {
                throw PlatformError(PlatformErrorCode.resourceNotFound,
                                    "there is no VM '\(reference.name)' in resource group '\(reference.resourceGroup)' of subscription '\(subscription.name)'",
                                    hint: "VM '\(row.name)' is in resource group '\(row.resourceGroup)' of subscription '\(row.subscription)'")
            }
            return row.name
        }
    }

    func applyProtectionState(vm: String, wanted: ProtectionState, policy: String) throws {
        guard let item = try protectedItem(vm: vm) else { return }
        switch wanted {
        case .protected:
            if item.state == .protectionStopped || item.state == .backupsSuspended { try resumeProtection(vm: vm, policy: policy) }
        case .protectionStopped:
            if item.state != .protectionStopped { try stopProtection(vm: vm, mode: .retainForever) }
        case .backupsSuspended:
            if item.state != .backupsSuspended { try stopProtection(vm: vm, mode: .retainAsPerPolicy) }
        }
    }

    func observed(kind: ResourceKind, name: String) throws -> ObservedResource {
        try pool.read { db in try Self.observedVault(Lookup(db), try Self.vault(db, name)) }
    }

    func observedPolicy(vault: String, name: String) throws -> ObservedResource {
        try pool.read { db in try Self.observedPolicy(Lookup(db), try Self.policy(db, vault: vault, name: name)) }
    }

    func observedItem(vm: String) throws -> ObservedResource {
        try pool.read { db in
            guard let row = try Self.item(db, vm: vm) else { throw Self.notProtected(vm) }
            return try Self.observedItem(Lookup(db), row)
        }
    }

    func observedAccessPolicy(keyVault: String, objectID: String) throws -> ObservedResource {
        try pool.read { db in
            guard let row = try KeyVaultStore.accessPolicy(db, keyVault: keyVault, objectID: objectID) else {
                throw PlatformError(PlatformErrorCode.resourceNotFound, "key vault '\(keyVault)' has no access policy for '\(objectID)'")
            }
            return try Self.observedAccessPolicy(Lookup(db), row)
        }
    }

    static func managedTags(_ managedBy: String?) -> [String: String] {
        managedBy.map { [ObservedResource.managedByTag: $0] } ?? [:]
    }

    static func observedVault(_ lookup: Lookup, _ row: VaultRow) throws -> ObservedResource {
        let info = try vaultInfo(lookup, row)
        var computed = ["registeredItems": String(info.registeredItems),
                        "storageRedundancyLocked": String(info.registeredItems > 0)]
        if let identity = info.identityPrincipalID { computed["identityPrincipalId"] = identity }
        return ObservedResource(id: info.id, spec: .vault(info.spec), name: info.name, tags: info.tags, computed: computed)
    }

    static func observedPolicy(_ lookup: Lookup, _ row: PolicyRow) throws -> ObservedResource {
        let info = try policyInfo(lookup, row)
        return ObservedResource(id: info.id, spec: .backupPolicy(info.spec), name: info.name, tags: managedTags(row.managedBy),
                                computed: ["protectedItems": String(info.protectedItems)])
    }

    static func observedItem(_ lookup: Lookup, _ row: ProtectedItemRow) throws -> ObservedResource {
        let info = try itemInfo(lookup, row)
        let vm = try lookup.vm(row.vm)
        let subscription = try vm.map { try lookup.subscription($0.subscription) }
        let state: ProtectionState = switch row.state {
        case .protectionStopped: .protectionStopped
        case .backupsSuspended: .backupsSuspended
        default: .protected
        }
        let spec = ProtectedVMSpec(
            vm: VMReference(subscription: subscription?.isDefault == false ? subscription?.name : nil, resourceGroup: info.vmResourceGroup,
                            name: row.vm),
            vault: row.vault, policy: row.policy ?? "", protectionState: state, deletionPolicy: row.deletionPolicy,
            excludeDiskLuns: row.excludeDiskLuns, includeDiskLuns: row.includeDiskLuns)
        var computed = ["protectionStatus": row.state.rawValue, "recoveryPoints": String(info.recoveryPoints), "vmId": info.vmID]
        if let status = info.lastBackupStatus { computed["lastBackupStatus"] = status }
        if let last = info.lastBackup { computed["lastBackupTime"] = formatISO8601(last) }
        return ObservedResource(id: info.id, spec: .protectedVM(spec), name: row.vm, tags: managedTags(row.managedBy), computed: computed)
    }

    static func observedAccessPolicy(_ lookup: Lookup, _ row: AccessPolicyRow) throws -> ObservedResource {
        guard let keyVault = try lookup.keyVault(row.keyVault) else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no key vault '\(row.keyVault)'")
        }
        let subscription = try lookup.subscription(keyVault.subscription)
        let id = accessPolicyID(keyVaultID: keyVaultID(subscriptionID: subscription.id, resourceGroup: keyVault.resourceGroup, name: keyVault.name),
                                objectID: row.objectID)
        let principal: Principal = row.objectID == backupManagementServiceObjectID ? .backupManagementService : .objectID(row.objectID)
        let spec = KeyVaultAccessPolicySpec(keyVault: keyVault.name, principal: principal, keyPermissions: row.keyPermissions,
                                            secretPermissions: row.secretPermissions)
        return ObservedResource(id: id, spec: .keyVaultAccessPolicy(spec), name: row.objectID, tags: managedTags(row.managedBy))
    }
}

