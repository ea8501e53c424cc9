import CofferCrypto
import CofferModel
import CofferSnapshot
import CofferTestSupport
import Foundation
@testable import CofferPlatform
import Testing

@Suite struct PlatformWorldTests {
    @Test func theReferenceWorldBuildsWithADEKeysAsADEWritesThem() throws {
        let (platform, directory) = try TestWorld.reference()
        defer { withExtendedLifetime(directory) {} }
        let overview = try platform.overview()
        #expect(overview.tenant == "contoso")
        #expect(overview.operatorIdentity.type == .guest)
        #expect(overview.virtualMachines.map(\.name) == ["lnx-api-01", "lnx-db-01", "lnx-web-01", "win-app-01", "win-cmk-01"])
        let kv = try platform.keyVaultInfo(named: "kv-app-eastus")
        let secrets = kv.objects.filter { $0.kind == "secret" }
        #expect(secrets.count == 2)
        let win = try #require(overview.virtualMachines.first { $0.name == "win-app-01" })
        #expect(win.encryption == .adeBEKAndKEK)
        let winSecret = try #require(secrets.first { $0.tags["MachineName"] == "win-app-01" })
        #expect(winSecret.contentType == "Wrapped BEK")
        #expect(winSecret.tags["DiskEncryptionKeyFileName"] == "\(winSecret.name).BEK")
        #expect(winSecret.tags["DiskEncryptionKeyEncryptionAlgorithm"] == "RSA-OAEP")
        #expect(winSecret.tags["VolumeLetter"] == "C:\\")
        #expect(winSecret.tags["DiskEncryptionKeyEncryptionKeyURL"]?.hasPrefix("https://kv-app-eastus.vault.azure.net/keys/kek-win-app-01/") == true)
        #expect(UUID(uuidString: winSecret.name) != nil)
        let dbSecret = try #require(secrets.first { $0.tags["MachineName"] == "lnx-db-01" })
        #expect(dbSecret.contentType == "BEK")
        #expect(dbSecret.tags["DiskEncryptionKeyFileName"] == "LinuxPassPhraseFileName")
        #expect(dbSecret.tags["DiskEncryptionKeyEncryptionKeyURL"] == nil)
        let cmk = try #require(overview.virtualMachines.first { $0.name == "win-cmk-01" })
        #expect(cmk.disks.first?.encryptionAtRest == "EncryptionAtRestWithCustomerKey")
        // The disk encryption set's identity got access to its key.
        let des = try #require(overview.diskEncryptionSets.first)
        let desVault = try platform.keyVaultInfo(named: "kv-app-westeurope")
        #expect(desVault.accessPolicies.contains { $0.objectID == des.identityPrincipalID && $0.keyPermissions == [.get, .unwrapKey, .wrapKey] })
        // A key vault that uses Azure RBAC, with no role assigned until the manifests assign one.
        let rbac = try platform.keyVaultInfo(named: "kv-rbac-eastus")
        #expect(rbac.permissionModel == .rbac && rbac.accessPolicies.isEmpty && rbac.roleAssignments.isEmpty)
        #expect(kv.permissionModel == .accessPolicies)
        // Initial data is what the seed generates, through each VM's encryption.
        #expect(try platform.readGuest(vm: "win-app-01", disk: .os, offset: 0, count: 4096) == GuestData.bytes(seed: 101, count: 4096))
        #expect(try platform.readGuest(vm: "lnx-db-01", disk: .lun(0), offset: 1000, count: 100)
                == Array(GuestData.bytes(seed: 202, count: 1100)[1000...]))
        #expect(try platform.readGuest(vm: "win-cmk-01", disk: .os, offset: 0, count: 64) == GuestData.bytes(seed: 401, count: 64))
        let expected = TestWorld.expectedChecksum(size: 128 << 30, writes: [(0, GuestData.bytes(seed: 101, count: 1 << 20))])
        #expect(try platform.guestChecksum(vm: "win-app-01", disk: .os) == expected)
    }

    @Test func theWrappedBEKUnwrapsWithTheKEKAndDecryptsTheStoredSectors() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        let bek = try platform.pool.read { db -> SecureBytes in
            let vm = try Platform.vm(db, "win-ade")
            let secret = try #require(try KeyVaultStore.activeSecret(db, keyVault: "kv-east", name: vm.encryption.bekSecret!))
            let kek = try KeyVaultStore.privateKey(try #require(try KeyVaultStore.activeKey(db, keyVault: "kv-east", name: "kek")), hsm: platform.hsm)
            let bek = try Platform.bek(fromSecretValue: try KeyVaultStore.secretValue(secret, hsm: platform.hsm),
                                       contentType: secret.contentType, kek: kek)
            return bek
        }
        #expect(bek.count == 64)
        // The device holds ADE ciphertext (after the storage layer's at-rest decryption), which the BEK decrypts.
        let disk = try platform.pool.read { db in try Platform.disk(db, vm: "win-ade", slot: .os) }
        let device = try platform.openDevice(disk)
        let ciphertext = try device.read(at: 0, count: 8192)
        let plaintext = GuestData.bytes(seed: 1, count: 8192)
        #expect(ciphertext != plaintext)
        #expect(try AES256XTS(key: bek).decryptSectors(ciphertext, firstSector: 0) == plaintext)
    }

    @Test func noKeyMaterialOrGuestPlaintextReachesTheStateDirectory() throws {
        let (platform, directory) = try TestWorld.platform()
        try TestWorld.withVault(platform)
        try TestWorld.grantBackupAccess(platform)
        try platform.enableProtection(vm: "lnx-ade", vault: "rsv-east", policy: "daily")
        try platform.enableProtection(vm: "lnx-pmk", vault: "rsv-east", policy: "daily")
        try platform.backup(vm: "lnx-ade")
        try platform.backup(vm: "lnx-pmk")
        let bek = try platform.pool.read { db in try Platform.guestBEK(try Platform.vm(db, "lnx-ade"), hsm: platform.hsm)! }
        let needles = [Array(GuestData.bytes(seed: 3, count: 64)[32..<64]), Array(GuestData.bytes(seed: 4, count: 64)[32..<64]),
                       Array(bek.bytes[0..<32]), Array(bek.bytes[32..<64])]
        let files = FileManager.default.enumerator(atPath: directory.path)!.compactMap { $0 as? String }
        var scanned = 0
        for file in files {
            let path = directory.path(file)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: path) else { continue }
            scanned += 1
            let bytes = [UInt8](data)
            for needle in needles {
                #expect(bytes.firstRange(of: needle) == nil, "plaintext found in \(file)")
            }
        }
        #expect(scanned > 10)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path("hsm.key"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((attributes[.size] as? NSNumber)?.intValue == 32)
    }

    @Test func initRefusesAnExistingPlatformUnlessForced() throws {
        let (platform, directory) = try TestWorld.platform()
        try platform.writeGuest(vm: "lnx-pmk", disk: .os, offset: 0, bytes: [1, 2, 3])
        let other = FileManager.default.createFile(atPath: directory.path("history.sqlite"), contents: Data([9]))
        #expect(other)
        #expect(throws: PlatformError.self) { try Platform.create(stateDirectory: directory.path, world: TestWorld.world()) }
        let again = try Platform.create(stateDirectory: directory.path, world: TestWorld.world(), force: true)
        #expect(try again.readGuest(vm: "lnx-pmk", disk: .os, offset: 0, count: 3) == Array(GuestData.bytes(seed: 4, count: 3)))
        #expect(FileManager.default.fileExists(atPath: directory.path("history.sqlite")))
        let missing = try TemporaryDirectory()
        do {
            _ = try Platform(stateDirectory: missing.path)
            Issue.record("opened a platform that does not exist")
        } catch let error as PlatformError {
            #expect(error.code == "PlatformNotInitialized")
        }
    }

    @Test func guestWritesGoThroughEncryptionAndReadBack() throws {
        let (platform, directory) = try TestWorld.platform()
        defer { withExtendedLifetime(directory) {} }
        for vm in ["win-ade", "lnx-pmk", "win-cmk"] {
            let data = GuestData.bytes(seed: 77, count: 10_000)
            try platform.writeGuest(vm: vm, disk: .os, offset: 123_457, bytes: data)
            #expect(try platform.readGuest(vm: vm, disk: .os, offset: 123_457, count: 10_000) == data)
            // Unaligned partial sectors keep their neighbours.
            let before: UInt8 = vm == "win-ade" ? GuestData.bytes(seed: 1, count: 123_457)[123_456] : 0
            #expect(try platform.readGuest(vm: vm, disk: .os, offset: 123_456, count: 1) == [before])
            #expect(try platform.readGuest(vm: vm, disk: .os, offset: 133_457, count: 1) == [vm == "win-ade" ? GuestData.bytes(seed: 1, count: 133_458)[133_457] : 0])
        }
        #expect(throws: PlatformError.self) { try platform.writeGuest(vm: "lnx-pmk", disk: .os, offset: (1 << 30) - 2, bytes: [1, 2, 3]) }
        #expect(throws: PlatformError.self) { try platform.readGuest(vm: "lnx-pmk", disk: .lun(9), offset: 0, count: 1) }
        let expected = TestWorld.expectedChecksum(size: 1 << 30, writes: [(4096, GuestData.bytes(seed: 3, count: 100_000))])
        #expect(try platform.guestChecksum(vm: "lnx-ade", disk: .os) == expected)
    }

    @Test func guestDataIsAStableStream() {
        var generator = GuestData(seed: 42)
        let pieces = generator.next(3) + generator.next(13) + generator.next(100)
        #expect(pieces == GuestData.bytes(seed: 42, count: 116))
        #expect(GuestData.bytes(seed: 0, count: 8) == [0xaf, 0xcd, 0x1d, 0x7b, 0x39, 0xa8, 0x20, 0xe2])  // SplitMix64(0) = 0xE220A8397B1DCDAF
    }
}
