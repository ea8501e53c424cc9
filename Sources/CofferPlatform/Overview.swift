import CofferModel
import Foundation
import GRDB

extension Platform {
    // MARK: What the platform holds

    /// Everything the platform holds, for `coffer platform show`: never a secret value or key material.
    public func overview() throws -> PlatformOverview {
        let vaults = try vaults()
        let policies = try policies()
        let items = try protectedItems()
        let restored = try restoredDisks()
        return try pool.read { db in
            let subscriptions = try SubscriptionRow.fetchAll(db, sql: "SELECT * FROM subscription ORDER BY name")
            return PlatformOverview(
                tenant: try PlatformStore.meta(db, "tenant") ?? "", clock: try Self.now(db),
                operatorIdentity: try Self.operatorIdentity(db), backupManagementServiceObjectID: Self.backupManagementServiceObjectID,
                subscriptions: subscriptions.map { .init(name: $0.name, id: $0.id, isDefault: $0.isDefault) },
                regions: try String.fetchAll(db, sql: "SELECT name FROM regionInUse ORDER BY name"),
                resourceGroups: try ResourceGroupRow.fetchAll(db, sql: "SELECT * FROM resourceGroup ORDER BY subscription, name").map {
                    .init(subscription: $0.subscription, name: $0.name, region: $0.region)
                },
                roleDefinitions: try KeyVaultStore.customRoles(db),
                keyVaults: try KeyVaultRow.fetchAll(db, sql: "SELECT * FROM keyVault ORDER BY name").map { try Self.keyVaultInfo(db, $0) },
                diskEncryptionSets: try DiskEncryptionSetRow.fetchAll(db, sql: "SELECT * FROM diskEncryptionSet ORDER BY name").map {
                    .init(name: $0.name, resourceGroup: $0.resourceGroup, region: $0.region, keyVault: $0.keyVault, key: $0.key,
                          identityPrincipalID: $0.identityObjectID)
                },
                virtualMachines: try VMRow.fetchAll(db, sql: "SELECT * FROM virtualMachine ORDER BY name").map { try Self.vmInfo(db, $0) },
                vaults: vaults, policies: policies, protectedItems: items, restoredDisks: restored)
        }
    }

    /// What a reconciler reads of the platform beside its resources, from one read transaction and without
    /// reading them: the tenant, the clock, the operator, the subscriptions, the regions in use, the custom
    /// roles and the disk encryption sets (the overview's other lists are left empty), and the keys (not
    /// deleted) that belong to a certificate.
    public func reconcilerFacts() throws -> (overview: PlatformOverview, certificateBackedKeys: [(keyVault: String, name: String)]) {
        try pool.read { db in
            let subscriptions = try SubscriptionRow.fetchAll(db, sql: "SELECT * FROM subscription ORDER BY name")
            let overview = PlatformOverview(
                tenant: try PlatformStore.meta(db, "tenant") ?? "", clock: try Self.now(db),
                operatorIdentity: try Self.operatorIdentity(db), backupManagementServiceObjectID: Self.backupManagementServiceObjectID,
                subscriptions: subscriptions.map { .init(name: $0.name, id: $0.id, isDefault: $0.isDefault) },
                regions: try String.fetchAll(db, sql: "SELECT name FROM regionInUse ORDER BY name"), resourceGroups: [],
                roleDefinitions: try KeyVaultStore.customRoles(db), keyVaults: [],
                diskEncryptionSets: try DiskEncryptionSetRow.fetchAll(db, sql: "SELECT * FROM diskEncryptionSet ORDER BY name").map {
                    .init(name: $0.name, resourceGroup: $0.resourceGroup, region: $0.region, keyVault: $0.keyVault, key: $0.key,
                          identityPrincipalID: $0.identityObjectID)
                },
                virtualMachines: [], vaults: [], policies: [], protectedItems: [], restoredDisks: [])
            let keys = try KeyRow.fetchAll(db, sql: "SELECT * FROM keyVaultKey ORDER BY keyVault, name")
                .filter { $0.certificateBacked && $0.deletedAt == nil }.map { (keyVault: $0.keyVault, name: $0.name) }
            return (overview, keys)
        }
    }

    /// What VMs' ARM bodies need, without the rest of the platform (`overview()` reads every table): the VMs
    /// (every one, or the one named), the subscriptions, the key vaults those VMs' disk encryption uses and the
    /// disk encryption sets, from one read transaction. Vaults, policies, protected items, restored disks,
    /// resource groups and roles are left empty; for one VM, its key vault holds only the VM's KEK among its
    /// objects, and no secret or grant.
    public func computeOverview(vm name: String? = nil) throws -> PlatformOverview {
        try pool.read { db in
            let rows =
                if let name {
                    try VMRow.fetchAll(db, sql: "SELECT * FROM virtualMachine WHERE name = ? COLLATE NOCASE", arguments: [name])
                } else {
                    try VMRow.fetchAll(db, sql: "SELECT * FROM virtualMachine ORDER BY name")
                }
            let vms = try rows.map { try Self.vmInfo(db, $0) }
            let used = Set(vms.compactMap(\.keyVault))
            let subscriptions = try SubscriptionRow.fetchAll(db, sql: "SELECT * FROM subscription ORDER BY name")
            return PlatformOverview(
                tenant: try PlatformStore.meta(db, "tenant") ?? "", clock: try Self.now(db),
                operatorIdentity: try Self.operatorIdentity(db), backupManagementServiceObjectID: Self.backupManagementServiceObjectID,
                subscriptions: subscriptions.map { .init(name: $0.name, id: $0.id, isDefault: $0.isDefault) },
                regions: [], resourceGroups: [], roleDefinitions: [],
                keyVaults: try (name == nil
                    ? KeyVaultRow.fetchAll(db, sql: "SELECT * FROM keyVault ORDER BY name").filter { used.contains($0.name) }
                    : used.sorted().compactMap { try KeyVaultRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM keyVault WHERE name = ?"), arguments: [$0]) }
                ).map {
                    // One VM's body needs its key vault's id and its KEK, not the key vault's every object and grant
                    // (thousands in a large world, read again for each VM).
                    name == nil ? try Self.keyVaultInfo(db, $0) : try Self.keyVaultInfo(db, $0, keysNamed: Set(vms.compactMap(\.kek)))
                },
                diskEncryptionSets: try DiskEncryptionSetRow.fetchAll(db, sql: "SELECT * FROM diskEncryptionSet ORDER BY name").map {
                    .init(name: $0.name, resourceGroup: $0.resourceGroup, region: $0.region, keyVault: $0.keyVault, key: $0.key,
                          identityPrincipalID: $0.identityObjectID)
                },
                virtualMachines: vms, vaults: [], policies: [], protectedItems: [], restoredDisks: [])
        }
    }

    /// Every VM.
    public func virtualMachines() throws -> [VirtualMachineInfo] {
        try pool.read { db in try VMRow.fetchAll(db, sql: "SELECT * FROM virtualMachine ORDER BY name").map { try Self.vmInfo(db, $0) } }
    }

    /// Every key vault access policy.
    public func accessPolicies() throws -> [AccessPolicyInfo] {
        try pool.read { db in
            try KeyVaultRow.fetchAll(db, sql: "SELECT * FROM keyVault ORDER BY name").flatMap { try Self.keyVaultInfo(db, $0).accessPolicies }
        }
    }

    /// Every role assignment at a key vault's scope, by key vault, principal and role.
    public func roleAssignments() throws -> [RoleAssignmentInfo] {
        try pool.read { db in
            try KeyVaultRow.fetchAll(db, sql: "SELECT * FROM keyVault ORDER BY name").flatMap { try Self.keyVaultInfo(db, $0).roleAssignments }
        }
    }

    /// The tenant's custom role definitions.
    public func roleDefinitions() throws -> [RoleDefinition] {
        try pool.read { db in try KeyVaultStore.customRoles(db) }
    }

    /// A key vault, with its keys and secrets (never their values), access policies and role assignments.
    public func keyVaultInfo(named name: String) throws -> KeyVaultInfo {
        try pool.read { db in try Self.keyVaultInfo(db, try Self.keyVault(db, name)) }
    }

    /// Every key vault, by name (what `overview()` lists of them, without reading the rest of the platform).
    public func keyVaults() throws -> [KeyVaultInfo] {
        try pool.read { db in try KeyVaultRow.fetchAll(db, sql: "SELECT * FROM keyVault ORDER BY name").map { try Self.keyVaultInfo(db, $0) } }
    }

    /// A key vault with only the keys named `keys` among its objects, and none of its secrets, access
    /// policies or role assignments.
    static func keyVaultInfo(_ db: Database, _ row: KeyVaultRow, keysNamed keys: Set<String>) throws -> KeyVaultInfo {
        let subscription = try Self.subscription(db, row.subscription)
        let id = keyVaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name)
        var objects: [KeyVaultObjectInfo] = []
        for key in keys.sorted() {
            for found in try KeyRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM keyVaultKey WHERE keyVault = ? AND name = ?"), arguments: [row.name, key]) {
                objects.append(keyObject(found))
            }
        }
        return KeyVaultInfo(name: row.name, id: id, subscription: row.subscription, resourceGroup: row.resourceGroup, region: row.region,
                            enabledForDiskEncryption: row.enabledForDiskEncryption, softDelete: row.softDelete,
                            softDeleteRetentionDays: row.softDeleteRetentionDays, purgeProtection: row.purgeProtection,
                            permissionModel: row.permissionModel, objects: objects, accessPolicies: [], roleAssignments: [])
    }

    /// A key as `KeyVaultInfo` lists it (its name and version, never its material).
    static func keyObject(_ row: KeyRow) -> KeyVaultObjectInfo {
        KeyVaultObjectInfo(name: row.name, version: row.version, kind: "key", contentType: nil, keyType: row.keyType, bits: row.bits,
                           certificateBacked: row.certificateBacked, tags: row.tags, deleted: row.deletedAt != nil, scheduledPurge: row.scheduledPurge)
    }

    static func keyVaultInfo(_ db: Database, _ row: KeyVaultRow) throws -> KeyVaultInfo {
        let subscription = try Self.subscription(db, row.subscription)
        let id = keyVaultID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name)
        let keys = try KeyRow.fetchAll(db, sql: "SELECT * FROM keyVaultKey WHERE keyVault = ? ORDER BY name", arguments: [row.name]).map {
            keyObject($0)
        }
        let secrets = try SecretRow.fetchAll(db, sql: "SELECT * FROM keyVaultSecret WHERE keyVault = ? ORDER BY name", arguments: [row.name]).map {
            KeyVaultObjectInfo(name: $0.name, version: $0.version, kind: "secret", contentType: $0.contentType, keyType: nil, bits: nil,
                               certificateBacked: nil, tags: $0.tags, deleted: $0.deletedAt != nil, scheduledPurge: $0.scheduledPurge)
        }
        let policyRows = try AccessPolicyRow.fetchAll(db, sql: "SELECT * FROM accessPolicy WHERE keyVault = ? ORDER BY objectID", arguments: [row.name])
        let assignmentRows = try KeyVaultStore.roleAssignments(db, keyVault: row.name)
        let names = try principalNames(db, of: policyRows.map(\.objectID) + assignmentRows.map(\.objectID))
        let policies = policyRows.map {
            AccessPolicyInfo(keyVault: row.name, id: accessPolicyID(keyVaultID: id, objectID: $0.objectID), objectID: $0.objectID,
                             principalName: names[$0.objectID], keyPermissions: $0.keyPermissions, secretPermissions: $0.secretPermissions,
                             managedBy: $0.managedBy)
        }
        let assignments = try assignmentRows.map { try roleAssignmentInfo(db, $0, keyVaultID: id, names: names) }
        return KeyVaultInfo(name: row.name, id: id, subscription: row.subscription, resourceGroup: row.resourceGroup, region: row.region,
                            enabledForDiskEncryption: row.enabledForDiskEncryption, softDelete: row.softDelete,
                            softDeleteRetentionDays: row.softDeleteRetentionDays, purgeProtection: row.purgeProtection,
                            permissionModel: row.permissionModel, objects: keys + secrets, accessPolicies: policies,
                            roleAssignments: assignments)
    }

    /// The names the platform knows these principals by (the Backup Management Service, the operator, the
    /// identity of a vault or of a disk encryption set), looked up one by one: a key vault names the few
    /// principals it grants, and reading every vault to name them made each key vault's read cost the
    /// platform's size.
    static func principalNames(_ db: Database, of objectIDs: [String]) throws -> [String: String] {
        var names: [String: String] = [:]
        let operatorID = try PlatformStore.meta(db, "operatorObjectID")
        for objectID in Set(objectIDs) {
            if let vault = try String.fetchOne(db.cachedStatement(sql: "SELECT name FROM vault WHERE identityObjectID = ? ORDER BY name"),
                                               arguments: [objectID]) {
                names[objectID] = "vault \(vault)"
            } else if let set = try String.fetchOne(
                db.cachedStatement(sql: "SELECT name FROM diskEncryptionSet WHERE identityObjectID = ? ORDER BY name"), arguments: [objectID]) {
                names[objectID] = "disk encryption set \(set)"
            } else if objectID == operatorID {
                names[objectID] = "operator"
            } else if objectID == backupManagementServiceObjectID {
                names[objectID] = Principal.backupManagementServiceName
            }
        }
        return names
    }

    /// A role assignment as `coffer get role-assignments` lists it.
    static func roleAssignmentInfo(
        _ db: Database, _ row: RoleAssignmentRow, keyVaultID: String? = nil, names: [String: String]? = nil
    ) throws -> RoleAssignmentInfo {
        let scope = try keyVaultID ?? KeyVaultStore.keyVaultID(db, try keyVault(db, row.keyVault))
        let role = try KeyVaultStore.role(db, row.roleDefinitionID)
        return RoleAssignmentInfo(
            keyVault: row.keyVault, id: roleAssignmentID(keyVaultID: scope, name: row.name), name: row.name, objectID: row.objectID,
            principalName: try (names ?? principalNames(db, of: [row.objectID]))[row.objectID], role: role?.name ?? row.roleDefinitionID,
            roleDefinitionID: row.roleDefinitionID, managedBy: row.managedBy)
    }

    static func vmInfo(_ db: Database, _ row: VMRow) throws -> VirtualMachineInfo {
        let subscription = try Self.subscription(db, row.subscription)
        let disks = try Self.disks(db, vm: row.name).map {
            DiskInfo(disk: $0.slot, name: $0.name, sizeGiB: $0.sizeGiB, managed: $0.managed,
                     encryptionAtRest: $0.keyWrapping == "customer" ? "EncryptionAtRestWithCustomerKey" : "EncryptionAtRestWithPlatformKey",
                     diskEncryptionSet: $0.diskEncryptionSet)
        }
        var bekURL: String?
        if let keyVault = row.encryption.keyVault, let secret = row.encryption.bekSecret, let version = row.encryption.bekVersion {
            bekURL = secretURL(keyVault: keyVault, name: secret, version: version)
        }
        return VirtualMachineInfo(
            name: row.name, id: vmID(subscriptionID: subscription.id, resourceGroup: row.resourceGroup, name: row.name),
            subscription: row.subscription, resourceGroup: row.resourceGroup, region: row.region, os: row.os, agent: row.agent,
            encryption: row.encryption.kind, keyVault: row.encryption.keyVault, kek: row.encryption.kek, bekSecretURL: bekURL,
            aadClientID: row.encryption.aadClientID, disks: disks, protectedBy: try Self.item(db, vm: row.name)?.vault,
            restoredFrom: row.restoredFrom, securityType: row.security)
    }
}
