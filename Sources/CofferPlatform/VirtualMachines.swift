import CofferSystem
import CofferCrypto
import CofferModel
import CofferRules
import CofferSnapshot
import Foundation
import GRDB

/// What the guest of a VM sees on one disk: the block device (already decrypted from its at-rest key by
/// the storage layer) seen through Azure Disk Encryption's AES-256-XTS when the VM has ADE.
///
/// ADE sectors are 4096 bytes with the sector number as the tweak (`aes-xts-plain64`). A sector never
/// written reads as zeros to the guest, as on a fresh thin-provisioned disk (its stored ciphertext is all
/// zeros, which AES-XTS output of a written sector is not in practice).
struct GuestVolume {
    static let sectorSize = 4096
    /// The largest piece a read or write handles at once.
    static let pieceSize = 4 << 20

    /// Reads stored bytes: the live disk or a snapshot.
    let readStored: (UInt64, Int) throws -> [UInt8]
    let writeStored: ((UInt64, [UInt8]) throws -> Void)?
    let cipher: AES256XTS?
    let size: UInt64

    init(device: BlockDevice, cipher: AES256XTS?) {
        readStored = { try device.read(at: $0, count: $1) }
        writeStored = { try device.write($1, at: $0) }
        self.cipher = cipher
        size = device.size
    }

    init(device: BlockDevice, snapshot: SnapshotID, cipher: AES256XTS?) {
        readStored = { try device.read(snapshot: snapshot, at: $0, count: $1) }
        writeStored = nil
        self.cipher = cipher
        size = device.size
    }

    func checkRange(_ offset: UInt64, _ count: Int) throws {
        guard offset <= size, UInt64(count) <= size - offset else {
            throw PlatformError(PlatformErrorCode.invalidArgument,
                                "bytes \(offset)..<\(offset + UInt64(count)) run past the end of the \(size)-byte disk",
                                hint: "keep offset + length within the disk's size")
        }
    }

    /// What the guest reads at `offset`.
    func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        try checkRange(offset, count)
        guard let cipher else { return try readStored(offset, count) }
        let sector = UInt64(Self.sectorSize)
        let first = offset / sector
        let end = (offset + UInt64(count) + sector - 1) / sector
        let plain = try readSectors(first: first, count: Int(end - first), cipher: cipher)
        let skip = Int(offset - first * sector)
        return Array(plain[skip..<(skip + count)])
    }

    /// Whole sectors as the guest reads them.
    private func readSectors(first: UInt64, count: Int, cipher: AES256XTS) throws -> [UInt8] {
        let stored = try readStored(first * UInt64(Self.sectorSize), count * Self.sectorSize)
        var result = [UInt8](repeating: 0, count: stored.count)
        var index = 0
        while index < count {
            let range = (index * Self.sectorSize)..<((index + 1) * Self.sectorSize)
            if stored[range].allSatisfy({ $0 == 0 }) {
                index += 1
                continue
            }
            // Decrypt a run of written sectors at once.
            var runEnd = index + 1
            while runEnd < count, !stored[(runEnd * Self.sectorSize)..<((runEnd + 1) * Self.sectorSize)].allSatisfy({ $0 == 0 }) {
                runEnd += 1
            }
            let run = Array(stored[(index * Self.sectorSize)..<(runEnd * Self.sectorSize)])
            let plain = try cipher.decryptSectors(run, firstSector: first + UInt64(index))
            result.replaceSubrange((index * Self.sectorSize)..<(runEnd * Self.sectorSize), with: plain)
            index = runEnd
        }
        return result
    }

    /// Writes what the guest writes at `offset`, through ADE when the VM has it.
    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        guard let writeStored else { preconditionFailure("a snapshot is read-only") }
        try checkRange(offset, bytes.count)
        guard let cipher else { return try writeStored(offset, bytes) }
        let sector = UInt64(Self.sectorSize)
        let first = offset / sector
        let end = (offset + UInt64(bytes.count) + sector - 1) / sector
        var plain: [UInt8]
        let skip = Int(offset - first * sector)
        if skip == 0 && bytes.count % Self.sectorSize == 0 {
            plain = bytes
        } else {
            plain = try readSectors(first: first, count: Int(end - first), cipher: cipher)
            plain.replaceSubrange(skip..<(skip + bytes.count), with: bytes)
        }
        try writeStored(first * sector, try cipher.encryptSectors(plain, firstSector: first))
    }
}

/// The canonical digest of a disk as its guest sees it: SHA-256 of `coffer-guest-view-v1`, the disk's size
/// (64-bit little-endian), then for each 4096-byte sector that is not all zeros, in order, its number
/// (64-bit little-endian) and its bytes. Two disks with the same guest view have the same digest whatever
/// their encryption and layout; it costs time in proportion to the data written, not to the disk's size.
enum GuestChecksum {
    static func compute(volume: GuestVolume, blocks: [UInt64], blockSize: Int) throws -> String {
        var hasher = SHA256.Hasher()
        hasher.update(Array("coffer-guest-view-v1".utf8))
        hasher.update(littleEndian(volume.size))
        let sectorsPerBlock = blockSize / GuestVolume.sectorSize
        for block in blocks.sorted() {
            let offset = block * UInt64(blockSize)
            guard offset < volume.size else { continue }
            let count = Int(min(UInt64(blockSize), volume.size - offset))
            let data = try volume.read(at: offset, count: count)
            for index in 0..<min(sectorsPerBlock, count / GuestVolume.sectorSize) {
                let sector = data[(index * GuestVolume.sectorSize)..<((index + 1) * GuestVolume.sectorSize)]
                if sector.allSatisfy({ $0 == 0 }) { continue }
                hasher.update(littleEndian(offset / UInt64(GuestVolume.sectorSize) + UInt64(index)))
                hasher.update(Array(sector))
            }
        }
        return Hex.encode(hasher.finalize())
    }

    static func littleEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}

/// Disks: creation with their at-rest key, and opening them with it.
enum Disks {
    /// The block size of a new disk: 64 KiB at every size (up to 32 TiB). Block maps, snapshots and
    /// recovery points cost what was written, not the disk's size, so a larger disk needs no larger block;
    /// disks created with a larger one by earlier versions keep it.
    static func blockSize(sizeGiB: Int) -> Int { BlockDevice.defaultBlockSize }

    /// A random 64-byte AES-256-XTS key whose halves differ.
    static func randomXTSKey() throws -> SecureBytes {
        while true {
            let key = try SecureBytes(randomCount: 64)
            let differ = key.withUnsafeBytes { !$0[0..<32].elementsEqual($0[32..<64]) }
            if differ { return key }
        }
    }

    static func keyContext(path: String) -> String { "disk:\(path)" }

    /// Wraps a disk's at-rest key: under the HSM (platform key), or RSA-OAEP-256 under the disk encryption
    /// set's key-vault key (customer key).
    static func wrapKey(_ key: SecureBytes, path: String, diskEncryptionSet: DiskEncryptionSetRow?, db: Database, hsm: HSM)
        throws -> (wrapping: String, wrapped: Data)
    {
        if let set = diskEncryptionSet {
            guard let kvKey = try KeyVaultStore.activeKey(db, keyVault: set.keyVault, name: set.key) else {
                throw PlatformError(PlatformErrorCode.keyVaultKeyDoesNotExist,
                                    "the key '\(set.key)' of disk encryption set '\(set.name)' is not in key vault '\(set.keyVault)'",
                                    hint: "restore or recover the key in the key vault")
            }
            return ("customer", Data(try KeyVaultStore.publicKey(kvKey).wrap(key, digest: .sha256)))
        }
        return ("platform", try hsm.seal(key, purpose: "disks", context: keyContext(path: path)))
    }

    /// Unwraps a disk's at-rest key.
    static func unwrapKey(wrapping: String, wrapped: Data, path: String, vm: String, diskEncryptionSet: String?, db: Database, hsm: HSM)
        throws -> SecureBytes
    {
        guard wrapping == "customer" else {
            return try hsm.open(wrapped, purpose: "disks", context: keyContext(path: path))
        }
        guard let setName = diskEncryptionSet,
            let set = try DiskEncryptionSetRow.fetchOne(db, key: setName)
        else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "the disk encryption set of the disk at \(path) is gone")
        }
        // The set's identity must still reach its key: without Get, WrapKey and UnwrapKey the disk cannot be read.
        let facts = DiskEncryptionSetFacts(name: set.name, keyVault: set.keyVault, key: set.key, identityObjectID: set.identityObjectID)
        if let violation = BackupRules.diskEncryptionSet(facts, vm: vm, keyVault: try Platform.keyVaultFacts(Lookup(db), set.keyVault)).first {
            throw PlatformError(violation)
        }
        guard let kvKey = try KeyVaultStore.activeKey(db, keyVault: set.keyVault, name: set.key) else {
            throw PlatformError(PlatformErrorCode.keyVaultKeyDoesNotExist,
                                "the key '\(set.key)' of disk encryption set '\(set.name)' is not in key vault '\(set.keyVault)': the disk cannot be read",
                                hint: "recover or restore the key in key vault '\(set.keyVault)'")
        }
        return try KeyVaultStore.privateKey(kvKey, hsm: hsm).unwrap([UInt8](wrapped), digest: .sha256)
    }
}

extension Platform {
    // MARK: VMs and guest I/O

    /// The BEK the guest of an ADE VM uses, from its own copy; nil for a VM without ADE.
    static func guestBEK(_ vm: VMRow, hsm: HSM) throws -> SecureBytes? {
        guard vm.encryption.type == "ade", let sealed = vm.encryption.sealedBEK else { return nil }
        return try hsm.open(sealed, purpose: "bek", context: "bek:\(vm.name.lowercased())")
    }

    static func xts(_ bek: SecureBytes?) throws -> AES256XTS? {
        try bek.map { try AES256XTS(key: $0, sectorSize: .bytes4096) }
    }

    /// Opens a VM disk's block device with its at-rest key.
    func openDevice(_ disk: DiskRow) throws -> BlockDevice {
        let key = try pool.read { db in
            try Disks.unwrapKey(wrapping: disk.keyWrapping, wrapped: disk.wrappedKey, path: disk.path, vm: disk.vm,
                                diskEncryptionSet: disk.diskEncryptionSet, db: db, hsm: hsm)
        }
        do {
            return try BlockDevice.open(at: absolute(disk.path), atRestKey: key)
        } catch {
            throw PlatformError(PlatformErrorCode.storageError, "cannot open disk \(disk.name) of VM \(disk.vm): \(error)",
                                hint: "another command may be using the disk; try again", retryable: true, underlying: error)
        }
    }

    func guestVolume(vm: String, disk slot: DiskSlot) throws -> (GuestVolume, BlockDevice) {
        let (row, disk) = try pool.read { db in (try Self.vm(db, vm), try Self.disk(db, vm: try Self.vm(db, vm).name, slot: slot)) }
        let device = try openDevice(disk)
        return (GuestVolume(device: device, cipher: try Self.xts(Self.guestBEK(row, hsm: hsm))), device)
    }

    /// Writes `bytes` to a VM's disk as its guest does: through ADE when the VM has it, then encrypted at
    /// rest by the storage layer.
    public func writeGuest(vm: String, disk: DiskSlot, offset: UInt64, bytes: [UInt8]) throws {
        let (volume, device) = try guestVolume(vm: vm, disk: disk)
        var position = 0
        while position < bytes.count {
            let end = min(bytes.count, position + GuestVolume.pieceSize)
            try volume.write(Array(bytes[position..<end]), at: offset + UInt64(position))
            position = end
        }
        try device.flush()
    }

    /// Writes `length` bytes of ``GuestData`` generated from `seed` to a VM's disk at `offset`.
    public func writeGuest(vm: String, disk: DiskSlot, offset: UInt64, length: UInt64, seed: UInt64) throws {
        let (volume, device) = try guestVolume(vm: vm, disk: disk)
        try volume.checkRange(offset, Int(length))
        var generator = GuestData(seed: seed)
        var done: UInt64 = 0
        while done < length {
            let piece = Int(min(UInt64(GuestVolume.pieceSize), length - done))
            try volume.write(generator.next(piece), at: offset + done)
            done += UInt64(piece)
        }
        try device.flush()
    }

    /// What the guest of a VM reads from a disk.
    public func readGuest(vm: String, disk: DiskSlot, offset: UInt64, count: Int) throws -> [UInt8] {
        let (volume, _) = try guestVolume(vm: vm, disk: disk)
        return try volume.read(at: offset, count: count)
    }

    /// The ``GuestChecksum`` of what the guest of a VM reads from a disk, in hexadecimal.
    public func guestChecksum(vm: String, disk: DiskSlot) throws -> String {
        let (volume, device) = try guestVolume(vm: vm, disk: disk)
        return try GuestChecksum.compute(volume: volume, blocks: try Self.writtenBlocks(device), blockSize: device.blockSize)
    }

    /// The guest checksums of every disk of a VM.
    public func guestChecksums(vm: String) throws -> [DiskSlot: String] {
        let disks = try pool.read { db in try Self.disks(db, vm: try Self.vm(db, vm).name) }
        var result: [DiskSlot: String] = [:]
        for disk in disks { result[disk.slot] = try guestChecksum(vm: vm, disk: disk.slot) }
        return result
    }

    /// Every block of the live device that may hold data: from its snapshots' maps and the changes since the
    /// latest, or from a momentary snapshot when it has none.
    static func writtenBlocks(_ device: BlockDevice) throws -> [UInt64] {
        let snapshots = try device.snapshots()
        if let latest = snapshots.last {
            var blocks = Set(try device.changedBlocks(from: nil, to: latest))
            blocks.formUnion(try device.changedBlocks(since: latest))
            return blocks.sorted()
        }
        let temporary = try device.takeSnapshot()
        defer { try? device.deleteSnapshot(temporary) }
        return try device.changedBlocks(from: nil, to: temporary)
    }

    /// Sets the state of a VM's agent.
    public func setAgentState(vm: String, _ state: World.AgentState) throws {
        try pool.write { db in
            let row = try Self.vm(db, vm)
            try db.execute(sql: "UPDATE virtualMachine SET agent = ? WHERE name = ?", arguments: [state.rawValue, row.name])
        }
    }

    /// Changes a VM's security type, as compute does out of band: a VM that a Standard policy protects (its
    /// backup item, unless soft-deleted, has a Standard policy) cannot become a Trusted Launch VM
    /// (`OperationNotAllowed`). Going back to Standard is allowed.
    public func setSecurityType(vm: String, _ type: VMSecurityType) throws {
        try pool.write { db in
            let row = try Self.vm(db, vm)
            if type == .trustedLaunch && row.security != .trustedLaunch, let item = try Self.item(db, vm: row.name), item.state != .softDeleted,
                let policyName = item.policy
            {
                let policy = try PolicyRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM policy WHERE vault = ? AND name = ?"), arguments: [item.vault, policyName])
                if let violation = ProtectionRules.upgradeToTrustedLaunch(vm: row.name, policyType: policy?.spec.policyType) {
                    throw PlatformError(violation)
                }
            }
            try db.execute(sql: "UPDATE virtualMachine SET securityType = ? WHERE name = ?", arguments: [type.rawValue, row.name])
        }
    }
}
