import CofferModel
import CofferTestSupport
import Foundation
@testable import CofferPlatform

/// Template directories to remove when the test process exits.
nonisolated(unsafe) private var templates: [String] = []
private let removeTemplatesAtExit: Void = {
    atexit {
        for path in templates { try? FileManager.default.removeItem(atPath: path) }
    }
}()

/// A small world for tests: 1 GiB sparse disks with little data, RSA-2048 keys.
enum TestWorld {
    static let subscriptionID = "22222222-2222-2222-2222-222222222222"

    static func world(operatorType: World.OperatorType = .guest, purgeProtection: Bool = false) -> World {
        World(
            tenant: "fabrikam", clock: Fixtures.date("2026-01-05T00:00:00Z"),
            operatorIdentity: .init(user: "ops@example.com", type: operatorType),
            subscriptions: [.init(name: "sub", id: subscriptionID, isDefault: true),
                            .init(name: "other", id: "33333333-3333-3333-3333-333333333333")],
            regions: ["eastus", "westus", "westeurope", "brazilsouth", "southcentralus", "qatarcentral"],
            resourceGroups: [
                .init(name: "rg", region: "eastus"), .init(name: "rg-west", region: "westus"),
                .init(name: "rg-eu", region: "westeurope"), .init(name: "rg-br", region: "brazilsouth"),
                .init(name: "rg-qa", region: "qatarcentral"), .init(name: "rg-scus", region: "southcentralus"), .init(name: "rg-other", region: "eastus", subscription: "other"),
            ],
            roleDefinitions: [backupKeyReader, backupSecretsReader],
            keyVaults: [
                .init(name: "kv-east", resourceGroup: "rg", region: "eastus", enabledForDiskEncryption: true,
                      purgeProtection: purgeProtection,
                      keys: [.init(name: "kek"), .init(name: "cert-kek", certificateBacked: true), .init(name: "vault-cmk")]),
                .init(name: "kv-des", resourceGroup: "rg", region: "eastus", purgeProtection: true, keys: [.init(name: "des-key")]),
                .init(name: "kv-br", resourceGroup: "rg-br", region: "brazilsouth", enabledForDiskEncryption: true),
                .init(name: "kv-rbac", resourceGroup: "rg", region: "eastus", enabledForDiskEncryption: true, rbacAuthorization: true,
                      keys: [.init(name: "kek-rbac")]),
                // The paired region's key vault, where a cross-region restore of an ADE VM needs its keys.
                .init(name: "kv-west", resourceGroup: "rg-west", region: "westus", enabledForDiskEncryption: true),
            ],
            diskEncryptionSets: [.init(name: "des-east", resourceGroup: "rg", region: "eastus", keyVault: "kv-des", key: "des-key")],
            virtualMachines: [
                .init(name: "win-ade", os: .windows, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 1),
                      dataDisks: [.init(lun: 0, sizeGiB: 1)], encryption: .ade(keyVault: "kv-east", kek: "kek", aadClientID: nil),
                      initialData: [.init(disk: .os, offset: 0, length: 200_000, seed: 1), .init(disk: .lun(0), offset: 1 << 20, length: 70_000, seed: 2)]),
                .init(name: "lnx-ade", os: .linux, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 1),
                      encryption: .ade(keyVault: "kv-east", kek: nil, aadClientID: nil),
                      initialData: [.init(disk: .os, offset: 4096, length: 100_000, seed: 3)]),
                .init(name: "lnx-pmk", os: .linux, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 1),
                      dataDisks: [.init(lun: 0, sizeGiB: 1), .init(lun: 1, sizeGiB: 1)],
                      initialData: [.init(disk: .os, offset: 0, length: 65536, seed: 4)]),
                .init(name: "win-cmk", os: .windows, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 1),
                      encryption: .sseCustomerKey(diskEncryptionSet: "des-east"),
                      initialData: [.init(disk: .os, offset: 0, length: 10_000, seed: 5)]),
                .init(name: "lnx-unmanaged", os: .linux, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 1, managed: false),
                      initialData: [.init(disk: .os, offset: 0, length: 8192, seed: 6)]),
                .init(name: "lnx-br", os: .linux, region: "brazilsouth", resourceGroup: "rg-br", osDisk: .init(sizeGiB: 1),
                      encryption: .ade(keyVault: "kv-br", kek: nil, aadClientID: nil),
                      initialData: [.init(disk: .os, offset: 0, length: 8192, seed: 7)]),
                .init(name: "lnx-big", os: .linux, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 5000),
                      encryption: .ade(keyVault: "kv-east", kek: nil, aadClientID: nil)),
                .init(name: "win-cert", os: .windows, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 1),
                      encryption: .ade(keyVault: "kv-east", kek: "cert-kek", aadClientID: "44444444-4444-4444-4444-444444444444")),
                .init(name: "lnx-br-pmk", os: .linux, region: "brazilsouth", resourceGroup: "rg-br", osDisk: .init(sizeGiB: 1),
                      initialData: [.init(disk: .os, offset: 0, length: 8192, seed: 8)]),
                .init(name: "lnx-rbac", os: .linux, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 1),
                      encryption: .ade(keyVault: "kv-rbac", kek: nil, aadClientID: nil),
                      initialData: [.init(disk: .os, offset: 0, length: 8192, seed: 9)]),
                .init(name: "win-rbac", os: .windows, region: "eastus", resourceGroup: "rg", osDisk: .init(sizeGiB: 1),
                      encryption: .ade(keyVault: "kv-rbac", kek: "kek-rbac", aadClientID: nil),
                      initialData: [.init(disk: .os, offset: 0, length: 8192, seed: 10)]),
            ])
    }

    /// A custom role with the five data actions the reference lists for Azure Backup of ADE VMs.
    static let backupKeyReader = RoleDefinition(
        id: "7d3e8a61-2b4c-4f0a-9e1d-5c6b7a8f9012", name: "Backup Key Vault Reader",
        dataActions: [
            "Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/vaults/secrets/backup/action",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ])

    /// A custom role with the secret data actions only: enough for a BEK-only VM, not for one with a KEK.
    static let backupSecretsReader = RoleDefinition(
        id: "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", name: "Backup Secrets Reader",
        dataActions: ["Microsoft.KeyVault/vaults/secrets/*"], notDataActions: ["Microsoft.KeyVault/vaults/secrets/purge/action"])

    /// The test world built once per test process; each test gets a copy (RSA key generation dominates the
    /// cost of building a world).
    static let template: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-template-\(UUID().uuidString)").path
        removeTemplatesAtExit
        templates.append(path)
        do {
            let platform = try Platform.create(stateDirectory: path, world: world())
            _ = try platform.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        } catch {
            fatalError("cannot build the test world: \(error)")
        }
        return path
    }()

    /// The reference world, built once per test process (its RSA-3072 key is slow to generate).
    static let referenceTemplate: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-reference-\(UUID().uuidString)").path
        removeTemplatesAtExit
        templates.append(path)
        do {
            let platform = try Platform.create(stateDirectory: path, world: try WorldLoader.load(path: Fixtures.referenceWorldPath))
            _ = try platform.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        } catch {
            fatalError("cannot build the reference world: \(error)")
        }
        return path
    }()

    /// A copy of a template platform in a fresh directory.
    static func copy(_ template: String, faultHook: (@Sendable (String) throws -> Void)? = nil) throws -> (Platform, TemporaryDirectory) {
        let directory = try TemporaryDirectory(prefix: "coffer-platform")
        for entry in try FileManager.default.contentsOfDirectory(atPath: template) where !entry.hasSuffix("-shm") {
            try FileManager.default.copyItem(atPath: (template as NSString).appendingPathComponent(entry), toPath: directory.path(entry))
        }
        return (try Platform(stateDirectory: directory.path, faultHook: faultHook), directory)
    }

    /// The reference world's platform in a fresh directory.
    static func reference() throws -> (Platform, TemporaryDirectory) { try copy(referenceTemplate) }

    /// A platform made from the test world in a fresh directory (keep the directory alive while using it).
    static func platform(
        operatorType: World.OperatorType = .guest, purgeProtection: Bool = false,
        faultHook: (@Sendable (String) throws -> Void)? = nil
    ) throws -> (Platform, TemporaryDirectory) {
        let (platform, directory) = try copy(template, faultHook: faultHook)
        try platform.pool.write { db in
            try PlatformStore.setMeta(db, "operatorType", operatorType.rawValue)
            try db.execute(sql: "UPDATE keyVault SET purgeProtection = ? WHERE name = 'kv-east'", arguments: [purgeProtection])
        }
        return (platform, directory)
    }

    static let dailyPolicy = BackupPolicySpec(
        vault: "rsv-east", schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)),
        instantRestoreRetentionDays: 2,
        retention: RetentionSpec(daily: DailyRetention(count: 7), weekly: WeeklyRetention(count: 4, weekdays: [.sunday])))

    static let vaultSpec = VaultSpec(resourceGroup: "rg", location: "eastus", crossRegionRestore: true)

    /// A vault `rsv-east` (GRS, cross-region restore) with the daily policy `daily`.
    static func withVault(_ platform: Platform, spec: VaultSpec = vaultSpec) throws {
        try platform.createVault(name: "rsv-east", spec: spec)
        try platform.createPolicy(name: "daily", spec: dailyPolicy)
    }

    /// The Backup Management Service access ADE backups need.
    static func grantBackupAccess(_ platform: Platform, keyVault: String = "kv-east") throws {
        try platform.setAccessPolicy(keyVault: keyVault, principal: .backupManagementService, keyPermissions: [.get, .list, .backup],
                                     secretPermissions: [.get, .list, .backup])
    }

    /// The guest-view checksum of `bytes` at `offset` on an otherwise empty disk of `size` bytes, computed
    /// independently of the platform (4096-byte sectors, zero sectors skipped).
    static func expectedChecksum(size: UInt64, writes: [(offset: UInt64, bytes: [UInt8])]) -> String {
        var sectors: [UInt64: [UInt8]] = [:]
        for write in writes {
            var position = 0
            while position < write.bytes.count {
                let absolute = write.offset + UInt64(position)
                let sector = absolute / 4096
                let within = Int(absolute % 4096)
                var data = sectors[sector] ?? [UInt8](repeating: 0, count: 4096)
                let take = min(4096 - within, write.bytes.count - position)
                data.replaceSubrange(within..<(within + take), with: write.bytes[position..<(position + take)])
                sectors[sector] = data
                position += take
            }
        }
        var input = Array("coffer-guest-view-v1".utf8) + GuestChecksum.littleEndian(size)
        for sector in sectors.keys.sorted() where !sectors[sector]!.allSatisfy({ $0 == 0 }) {
            input += GuestChecksum.littleEndian(sector) + sectors[sector]!
        }
        return CofferTestSupport.hexString(SHA256Reference.hash(input))
    }
}

/// SHA-256 through CofferCrypto, named apart so tests read clearly.
import CofferCrypto
enum SHA256Reference {
    static func hash(_ bytes: [UInt8]) -> [UInt8] { CofferCrypto.SHA256.hash(bytes) }
}
