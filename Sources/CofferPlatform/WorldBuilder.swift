import CofferCrypto
import CofferModel
import CofferSnapshot
import Foundation
import GRDB

/// Creates a platform's state from a validated world: the database rows, the key vaults' keys and secrets,
/// the disks with their at-rest keys, Azure Disk Encryption's BEKs (and their wrapping by a KEK), and the
/// initial guest data.
struct WorldBuilder {
    let world: World
    let stateDirectory: String
    let store: PlatformStore
    let hsm: HSM

    func build() throws {
        let now = world.clock
        let defaultSubscription = world.defaultSubscription!.name
        func subscriptionName(_ name: String?) -> String {
            guard let name else { return defaultSubscription }
            return world.subscriptions.first { $0.name == name || $0.id.lowercased() == name.lowercased() }?.name ?? name
        }
        try store.pool.write { db in
            try PlatformStore.setMeta(db, "tenant", world.tenant)
            try Platform.setNow(db, now)
            try PlatformStore.setMeta(db, "operatorUser", world.operatorIdentity.user)
            try PlatformStore.setMeta(db, "operatorType", world.operatorIdentity.type.rawValue)
            try PlatformStore.setMeta(db, "operatorObjectID", world.operatorIdentity.objectID?.lowercased() ?? Platform.guid())
            for subscription in world.subscriptions {
                let isDefault = subscription.name == defaultSubscription
                try SubscriptionRow(name: subscription.name, id: subscription.id.lowercased(), isDefault: isDefault).insert(db)
            }
            for region in world.regions { try db.execute(sql: "INSERT INTO regionInUse(name) VALUES (?)", arguments: [region.lowercased()]) }
            for group in world.resourceGroups {
                try ResourceGroupRow(subscription: subscriptionName(group.subscription), name: group.name,
                                     region: group.region.lowercased()).insert(db)
            }
            let operatorObjectID = try PlatformStore.meta(db, "operatorObjectID")!
            func objectID(_ principal: World.AccessPrincipal) -> String {
                switch principal {
                case .backupManagementService: Platform.backupManagementServiceObjectID
                case .operatorIdentity: operatorObjectID
                case .objectID(let id): id.lowercased()
                }
            }
            for role in world.roleDefinitions {
                try RoleDefinitionRow(id: role.id, name: role.name, dataActions: role.dataActions, notDataActions: role.notDataActions).insert(db)
            }
            for vault in world.keyVaults {
                try KeyVaultRow(
                    name: vault.name, subscription: subscriptionName(vault.subscription), resourceGroup: vault.resourceGroup,
                    region: vault.region.lowercased(), enabledForDiskEncryption: vault.enabledForDiskEncryption,
                    softDelete: vault.softDelete, softDeleteRetentionDays: vault.softDeleteRetentionDays,
                    purgeProtection: vault.purgeProtection, rbacAuthorization: vault.rbacAuthorization
                ).insert(db)
                for key in vault.keys {
                    try KeyVaultStore.createKey(db, hsm: hsm, keyVault: vault.name, name: key.name, keyType: key.keyType,
                                                bits: key.size, certificateBacked: key.certificateBacked, tags: key.tags, now: now)
                }
                for secret in vault.secrets {
                    try KeyVaultStore.setSecret(db, hsm: hsm, keyVault: vault.name, name: secret.name, value: Array(secret.value.utf8),
                                                contentType: secret.contentType, tags: secret.tags, now: now)
                }
                for policy in vault.accessPolicies {
                    try AccessPolicyRow(keyVault: vault.name, objectID: objectID(policy.principal), keyPermissions: Array(Set(policy.keyPermissions)).sorted(),
                                        secretPermissions: Array(Set(policy.secretPermissions)).sorted(), managedBy: nil).insert(db)
                }
                for assignment in vault.roleAssignments {
                    try KeyVaultStore.assignRole(db, keyVault: vault.name, objectID: objectID(assignment.principal), role: assignment.role, managedBy: nil)
                }
            }
            for set in world.diskEncryptionSets {
                let identity = Platform.guid()
                try DiskEncryptionSetRow(name: set.name, subscription: subscriptionName(set.subscription), resourceGroup: set.resourceGroup,
                                         region: set.region.lowercased(), keyVault: set.keyVault, key: set.key,
                                         identityObjectID: identity).insert(db)
                // The portal grants the set's identity what it needs on the key when the set is created: an access
                // policy, or on a key vault that uses Azure RBAC the role made for it.
                if try Platform.keyVault(db, set.keyVault).permissionModel == .rbac {
                    try KeyVaultStore.assignRole(db, keyVault: set.keyVault, objectID: identity,
                                                 role: RoleDefinition.keyVaultCryptoServiceEncryptionUser.id, managedBy: nil)
                } else {
                    try KeyVaultStore.grant(db, keyVault: set.keyVault, objectID: identity, keys: [.get, .wrapKey, .unwrapKey], secrets: [])
                }
            }
        }
        for vm in world.virtualMachines {
            try createVM(vm, subscription: subscriptionName(vm.subscription), now: now)
        }
        let platform = try Platform(stateDirectory: stateDirectory, faultHook: nil, requireComplete: false)
        for vm in world.virtualMachines {
            for data in vm.initialData {
                try platform.writeGuest(vm: vm.name, disk: data.disk, offset: data.offset, length: data.length, seed: data.seed)
            }
        }
        // The platform is complete only now: a creation that stopped half-way is not opened.
        try store.setMeta("complete", "1")
    }

    /// Creates a VM: its ADE keys when it has ADE, then its disks.
    func createVM(_ vm: World.VirtualMachine, subscription: String, now: Date) throws {
        try store.pool.write { db in
            var encryption = VMEncryptionRecord(type: "sse-pmk")
            var setRow: DiskEncryptionSetRow?
            switch vm.encryption {
            case .ssePlatformKey:
                break
            case .sseCustomerKey(let set):
                encryption = VMEncryptionRecord(type: "sse-cmk", diskEncryptionSet: set)
                setRow = try DiskEncryptionSetRow.fetchOne(db, sql: "SELECT * FROM diskEncryptionSet WHERE lower(name) = lower(?)",
                                                           arguments: [set])
            case .ade(let keyVault, let kek, let aad):
                encryption = try createADEKeys(db, vm: vm, keyVault: keyVault, kek: kek, aadClientID: aad, now: now)
            }
            try VMRow(name: vm.name, subscription: subscription, resourceGroup: vm.resourceGroup, region: vm.region.lowercased(),
                      os: vm.os.rawValue, agent: vm.agent.rawValue, encryption: encryption, created: now, restoredFrom: nil,
                      securityType: vm.securityType.rawValue).insert(db)
            for disk in [vm.osDisk] + vm.dataDisks {
                let slot: DiskSlot = disk.lun.map { .lun($0) } ?? .os
                try Self.createDisk(db, hsm: hsm, stateDirectory: stateDirectory, vm: vm.name, slot: slot, sizeGiB: disk.sizeGiB,
                                    managed: disk.managed, diskEncryptionSet: setRow)
            }
        }
    }

    /// Creates an empty disk for a VM, encrypted at rest under a new key.
    @discardableResult
    static func createDisk(
        _ db: Database, hsm: HSM, stateDirectory: String, vm: String, slot: DiskSlot, sizeGiB: Int, managed: Bool,
        diskEncryptionSet: DiskEncryptionSetRow?, pathSuffix: String = ""
    ) throws -> DiskRow {
        let path = "disks/\(vm)/\(slot == .os ? "os" : "lun\(slot.storedValue)")\(pathSuffix)"
        let absolute = (stateDirectory as NSString).appendingPathComponent(path)
        try FileManager.default.createDirectory(atPath: (absolute as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let key = try Disks.randomXTSKey()
        let (wrapping, wrapped) = try Disks.wrapKey(key, path: path, diskEncryptionSet: diskEncryptionSet, db: db, hsm: hsm)
        _ = try BlockDevice.create(at: absolute, size: UInt64(sizeGiB) << 30, blockSize: Disks.blockSize(sizeGiB: sizeGiB),
                                   atRestKey: key)
        let name = slot == .os ? "\(vm)_OsDisk_1" : "\(vm)_DataDisk_\(slot.storedValue)"
        let row = DiskRow(vm: vm, lun: slot.storedValue, name: name, sizeGiB: sizeGiB, managed: managed, path: path,
                          keyWrapping: wrapping, wrappedKey: wrapped, diskEncryptionSet: diskEncryptionSet?.name)
        try row.save(db)
        return row
    }

    /// Azure Disk Encryption's keys: a 64-byte BEK (an AES-256-XTS key) stored as a key-vault secret named by a
    /// GUID with the tags ADE writes, wrapped RSA-OAEP (SHA-1) under the KEK's public key when there is one.
    func createADEKeys(_ db: Database, vm: World.VirtualMachine, keyVault: String, kek: String?, aadClientID: String?, now: Date)
        throws -> VMEncryptionRecord
    {
        let bek = try Disks.randomXTSKey()
        let secretName = UUID().uuidString.uppercased()
        var tags = [
            "DiskEncryptionKeyEncryptionAlgorithm": "RSA-OAEP",
            "DiskEncryptionKeyFileName": vm.os == .windows ? "\(secretName).BEK" : "LinuxPassPhraseFileName",
            "MachineName": vm.name,
        ]
        if vm.os == .windows { tags["VolumeLetter"] = "C:\\" }
        var value: [UInt8]
        var contentType = "BEK"
        var kekVersion: String?
        if let kek {
            guard let kekRow = try KeyVaultStore.activeKey(db, keyVault: keyVault, name: kek) else {
                throw PlatformError(PlatformErrorCode.keyVaultKeyDoesNotExist, "key vault '\(keyVault)' has no key '\(kek)'")
            }
            let wrapped = try KeyVaultStore.publicKey(kekRow).wrap(bek, digest: .sha1)
            value = Array(Data(wrapped).base64EncodedString().utf8)
            contentType = "Wrapped BEK"
            kekVersion = kekRow.version
            tags["DiskEncryptionKeyEncryptionKeyURL"] = Platform.keyURL(keyVault: kekRow.keyVault, name: kekRow.name, version: kekRow.version)
        } else {
            value = Array(Data(bek.bytes).base64EncodedString().utf8)
        }
        defer { wipe(&value) }
        let secret = try KeyVaultStore.setSecret(db, hsm: hsm, keyVault: keyVault, name: secretName, value: value,
                                                 contentType: contentType, tags: tags, now: now)
        return VMEncryptionRecord(
            type: "ade", keyVault: keyVault, kek: kek, aadClientID: aadClientID, bekSecret: secret.name, bekVersion: secret.version,
            kekVersion: kekVersion, sealedBEK: try hsm.seal(bek, purpose: "bek", context: "bek:\(vm.name.lowercased())"))
    }
}
