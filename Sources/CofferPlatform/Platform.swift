#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CofferCrypto
import CofferModel
import CofferSnapshot
import CofferSystem
import Foundation
import GRDB

/// The simulated Azure Backup platform in a state directory: the world (key vaults, VMs and their disks),
/// Recovery Services vaults, policies, protection, jobs, recovery points, restore and the platform clock,
/// each checked against the real service's rules.
///
/// State is an SQLite database (GRDB, WAL mode) with the disks (`disks/VM/DISK`), the vault stores
/// (`vaults/VAULT/store`) and the HSM root key (`hsm.key`) beside it. Several processes may open the same
/// platform; jobs on one VM are serialised by a file lock.
public final class Platform: Sendable {
    /// The state directory.
    public let stateDirectory: String
    let store: PlatformStore
    let hsm: HSM
    /// Called after each named step of a job; tests throw from it to simulate a crash at that point.
    let faultHook: (@Sendable (String) throws -> Void)?

    var pool: DatabasePool { store.pool }

    /// The object id the Backup Management Service principal has in every tenant of this platform.
    public static let backupManagementServiceObjectID = "f40e5c5a-8b5e-4d0a-9a6d-3c2b1e0f7a64"
    /// The files and folders of a platform inside the state directory (what `init --force` replaces).
    static let ownedEntries = [
        PlatformStore.fileName, PlatformStore.fileName + "-wal", PlatformStore.fileName + "-shm", HSM.fileName,
        "disks", "vaults", "restored", "scratch", "locks",
    ]

    /// Opens the platform that `coffer platform init` created in `stateDirectory`.
    public convenience init(stateDirectory: String) throws {
        try self.init(stateDirectory: stateDirectory, faultHook: nil)
    }

    init(stateDirectory: String, faultHook: (@Sendable (String) throws -> Void)?, requireComplete: Bool = true) throws {
        let databasePath = (stateDirectory as NSString).appendingPathComponent(PlatformStore.fileName)
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw PlatformError(
                PlatformErrorCode.notInitialized, "there is no platform in \(stateDirectory)",
                hint: "create one with 'coffer platform init --world examples/reference/world.yaml'")
        }
        self.stateDirectory = stateDirectory
        self.faultHook = faultHook
        do {
            store = try PlatformStore(directory: stateDirectory)
        } catch {
            throw PlatformError(PlatformErrorCode.storageError, "cannot open the platform database: \(error)", underlying: error)
        }
        hsm = try HSM.open(directory: stateDirectory)
        guard try store.meta(requireComplete ? "complete" : "tenant") != nil else {
            throw PlatformError(
                PlatformErrorCode.notInitialized, "the platform in \(stateDirectory) was never completely created",
                hint: "create it again with 'coffer platform init --world FILE --force'")
        }
    }

    /// Creates a platform from a world in `stateDirectory`; `force` replaces an existing one (only the
    /// platform's own files: other state in the directory is kept).
    @discardableResult
    public static func create(stateDirectory: String, world: World, force: Bool = false) throws -> Platform {
        try create(stateDirectory: stateDirectory, world: world, force: force, faultHook: nil)
    }

    static func create(
        stateDirectory: String, world: World, force: Bool, faultHook: (@Sendable (String) throws -> Void)?
    ) throws -> Platform {
        var validator = WorldValidator(world: world)
        validator.validate()
        if validator.diagnostics.hasErrors { throw WorldError(diagnostics: validator.diagnostics) }
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let existing = ownedEntries.filter {
            fileManager.fileExists(atPath: (stateDirectory as NSString).appendingPathComponent($0))
        }
        if !existing.isEmpty {
            guard force else {
                throw PlatformError(
                    PlatformErrorCode.alreadyInitialized, "\(stateDirectory) already holds a platform",
                    hint: "pass --force to replace it (its disks, vaults and recovery points are deleted)")
            }
            for entry in existing {
                try fileManager.removeItem(atPath: (stateDirectory as NSString).appendingPathComponent(entry))
            }
        }
        let hsm = try HSM.create(directory: stateDirectory)
        let store = try PlatformStore(directory: stateDirectory)
        try WorldBuilder(world: world, stateDirectory: stateDirectory, store: store, hsm: hsm).build()
        return try Platform(stateDirectory: stateDirectory, faultHook: faultHook)
    }

    // MARK: Paths, locks, faults

    /// An absolute path for a path relative to the state directory.
    func absolute(_ relative: String) -> String {
        (stateDirectory as NSString).appendingPathComponent(relative)
    }

    /// Takes the exclusive lock `name` (a file under `locks/`) without waiting; nil when another holder has it.
    func tryLock(_ name: String) throws -> FileLock? {
        let directory = absolute("locks")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try FileLock.tryAcquire((directory as NSString).appendingPathComponent(name + ".lock"))
    }

    /// A number that changes whenever anything commits a change to the platform (`PlatformStore.changeStamp`):
    /// this process's calls, another process's (the CLI's `apply`, `platform clock`, `backup`), the clock's
    /// scheduled backups and expiry. Equal stamps mean that nothing the database holds changed in between.
    public func changeStamp() throws -> Int64 {
        do {
            return try store.changeStamp()
        } catch {
            throw PlatformError(PlatformErrorCode.storageError, "cannot read the platform database's version: \(error)", underlying: error)
        }
    }

    // MARK: Meta and the clock

    /// The platform's current (simulated) time.
    public func now() throws -> Date {
        try pool.read { db in try Self.now(db) }
    }

    static func now(_ db: Database) throws -> Date {
        guard let text = try PlatformStore.meta(db, "clock"), let seconds = Double(text) else {
            throw PlatformError(PlatformErrorCode.storageError, "the platform clock is missing from the database")
        }
        return Date(timeIntervalSince1970: seconds)
    }

    static func setNow(_ db: Database, _ date: Date) throws {
        try PlatformStore.setMeta(db, "clock", String(date.timeIntervalSince1970))
    }

    /// The tenant's name.
    public func tenant() throws -> String { try store.meta("tenant") ?? "" }

    /// The operator identity: who runs coffer, and whether they are a member of the tenant or a guest.
    public func operatorIdentity() throws -> World.OperatorIdentity {
        try pool.read { db in try Self.operatorIdentity(db) }
    }

    static func operatorIdentity(_ db: Database) throws -> World.OperatorIdentity {
        World.OperatorIdentity(
            user: try PlatformStore.meta(db, "operatorUser") ?? "",
            type: World.OperatorType(rawValue: try PlatformStore.meta(db, "operatorType") ?? "") ?? .guest,
            objectID: try PlatformStore.meta(db, "operatorObjectID"))
    }

    /// A sequence number that orders jobs and recovery points made within the same simulated second.
    static func nextSequence(_ db: Database) throws -> Int64 {
        let next = Int64(try PlatformStore.meta(db, "sequence").flatMap { Int64($0) } ?? 0) + 1
        try PlatformStore.setMeta(db, "sequence", String(next))
        return next
    }

    // MARK: Lookups

    static func subscription(_ db: Database, _ nameOrID: String?) throws -> SubscriptionRow {
        if let nameOrID {
            if let row = try SubscriptionRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM subscription WHERE name = ? OR lower(id) = lower(?)"),
                                                       arguments: [nameOrID, nameOrID]) {
                return row
            }
            throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no subscription '\(nameOrID)'",
                                hint: "use a subscription of the world: \(try String.fetchAll(db, sql: "SELECT name FROM subscription").joined(separator: ", "))")
        }
        guard let row = try SubscriptionRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM subscription ORDER BY isDefault DESC, name LIMIT 1")) else {
            throw PlatformError(PlatformErrorCode.storageError, "the platform has no subscription")
        }
        return row
    }

    static func defaultSubscription(_ db: Database) throws -> SubscriptionRow { try subscription(db, nil) }

    static func vm(_ db: Database, _ name: String) throws -> VMRow {
        guard let row = try VMRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM virtualMachine WHERE lower(name) = lower(?)"), arguments: [name]) else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no VM '\(name)'",
                                hint: "list VMs with 'coffer platform show'")
        }
        return row
    }

    static func disks(_ db: Database, vm: String) throws -> [DiskRow] {
        try DiskRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM disk WHERE vm = ? ORDER BY lun"), arguments: [vm])
    }

    static func disk(_ db: Database, vm: String, slot: DiskSlot) throws -> DiskRow {
        guard let row = try DiskRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM disk WHERE vm = ? AND lun = ?"),
                                             arguments: [vm, slot.storedValue]) else {
            let have = try disks(db, vm: vm).map { $0.slot.description }.joined(separator: ", ")
            throw PlatformError(PlatformErrorCode.resourceNotFound, "VM '\(vm)' has no disk '\(slot)'",
                                hint: "its disks are: \(have)")
        }
        return row
    }

    static func keyVault(_ db: Database, _ name: String) throws -> KeyVaultRow {
        guard let row = try KeyVaultRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM keyVault WHERE lower(name) = lower(?)"), arguments: [name]) else {
            throw PlatformError(PlatformErrorCode.resourceNotFound, "there is no key vault '\(name)'",
                                hint: "list key vaults with 'coffer platform show'")
        }
        return row
    }

    static func vault(_ db: Database, _ name: String) throws -> VaultRow {
        guard let row = try VaultRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM vault WHERE lower(name) = lower(?)"), arguments: [name]) else {
            throw noVault(name)
        }
        return row
    }

    static func noVault(_ name: String) -> PlatformError {
        PlatformError(PlatformErrorCode.resourceNotFound, "there is no Recovery Services vault '\(name)'",
                      hint: "list vaults with 'coffer get vaults'")
    }

    static func item(_ db: Database, vm: String) throws -> ProtectedItemRow? {
        try ProtectedItemRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM protectedItem WHERE lower(vm) = lower(?)"), arguments: [vm])
    }

    // MARK: Resource ids

    static func resourceGroupID(subscriptionID: String, resourceGroup: String) -> String {
        "/subscriptions/\(subscriptionID)/resourceGroups/\(resourceGroup)"
    }

    static func vmID(subscriptionID: String, resourceGroup: String, name: String) -> String {
        resourceGroupID(subscriptionID: subscriptionID, resourceGroup: resourceGroup)
            + "/providers/Microsoft.Compute/virtualMachines/\(name)"
    }

    static func keyVaultID(subscriptionID: String, resourceGroup: String, name: String) -> String {
        resourceGroupID(subscriptionID: subscriptionID, resourceGroup: resourceGroup) + "/providers/Microsoft.KeyVault/vaults/\(name)"
    }

    static func vaultID(subscriptionID: String, resourceGroup: String, name: String) -> String {
        resourceGroupID(subscriptionID: subscriptionID, resourceGroup: resourceGroup)
            + "/providers/Microsoft.RecoveryServices/vaults/\(name)"
    }

    static func policyID(vaultID: String, name: String) -> String { "\(vaultID)/backupPolicies/\(name)" }

    static func protectedItemID(vaultID: String, vmResourceGroup: String, vm: String) -> String {
        let container = "iaasvmcontainer;iaasvmcontainerv2;\(vmResourceGroup);\(vm)"
        return "\(vaultID)/backupFabrics/Azure/protectionContainers/\(container)/protectedItems/VM;iaasvmcontainerv2;\(vmResourceGroup);\(vm)"
    }

    static func accessPolicyID(keyVaultID: String, objectID: String) -> String { "\(keyVaultID)/objectId/\(objectID)" }

    /// A role assignment's id at a key vault's scope; `name` is the assignment's GUID.
    static func roleAssignmentID(keyVaultID: String, name: String) -> String {
        "\(keyVaultID)/providers/Microsoft.Authorization/roleAssignments/\(name)"
    }

    static func secretURL(keyVault: String, name: String, version: String) -> String {
        "https://\(keyVault).vault.azure.net/secrets/\(name)/\(version)"
    }

    static func keyURL(keyVault: String, name: String, version: String) -> String {
        "https://\(keyVault).vault.azure.net/keys/\(name)/\(version)"
    }

    /// A random lower-case GUID.
    static func guid() -> String { UUID().uuidString.lowercased() }

    /// A random Key Vault object version: 32 lower-case hexadecimal digits.
    static func objectVersion() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
}

/// An exclusive `flock` on a file (CofferSystem's `SystemFile.lock`), released when the value is freed (or
/// the process ends).
final class FileLock: @unchecked Sendable {
    private let file: SystemFile

    private init(file: SystemFile) { self.file = file }

    /// Takes the lock without waiting; nil when another open file description holds it.
    static func tryAcquire(_ path: String) throws -> FileLock? {
        let file: SystemFile
        do {
            file = try SystemFile.open(path, flags: O_RDWR | O_CREAT)
        } catch let error as SystemError {
            throw PlatformError(PlatformErrorCode.storageError, "cannot open the lock file \(path): \(error.reason)", underlying: error)
        }
        do {
            guard try file.lock(exclusive: true, wait: false) else { return nil }
        } catch let error as SystemError {
            throw PlatformError(PlatformErrorCode.storageError, "cannot lock \(path): \(error.reason)", underlying: error)
        }
        return FileLock(file: file)
    }

    deinit { file.unlock() }
}

extension SystemError {
    /// The system's text for the failed call's `errno` (what `strerror` says), else the message.
    var reason: String { systemCall?.reason ?? message }
}
