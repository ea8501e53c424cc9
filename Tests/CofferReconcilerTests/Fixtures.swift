import CofferModel
import CofferTestSupport
import Foundation
import Testing

enum Fixture {
    static let vaultAddress = ResourceAddress(kind: .recoveryServicesVault, name: "rsv-prod-eastus")
    static let policyAddress = ResourceAddress(kind: .backupPolicy, name: "daily")
    static let accessAddress = ResourceAddress(kind: .keyVaultAccessPolicy, name: "kv-backup")
    static let vmAddress = ResourceAddress(kind: .protectedVM, name: "win-app-01")

    static func vault(location: String = "eastus", redundancy: StorageRedundancy = .geoRedundant, crr: Bool = true, immutability: Immutability = .disabled, tags: [String: String] = [:]) -> ResourceSpec {
        .vault(VaultSpec(resourceGroup: "rg-backup", location: location, storageRedundancy: redundancy, crossRegionRestore: crr, immutability: immutability, tags: tags))
    }

    static func policy(daily: Int = 30) -> ResourceSpec {
        .backupPolicy(
            BackupPolicySpec(
                vault: "rsv-prod-eastus", schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)),
                instantRestoreRetentionDays: 2, retention: RetentionSpec(daily: DailyRetention(count: daily))))
    }

    static func access(keys: [KeyPermission] = [.get, .list, .backup], secrets: [SecretPermission] = [.get, .list, .backup]) -> ResourceSpec {
        .keyVaultAccessPolicy(
            KeyVaultAccessPolicySpec(keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: keys, secretPermissions: secrets))
    }

    static func protected(vm: String = "win-app-01", deletion: DeletionPolicy = .retain) -> ResourceSpec {
        .protectedVM(ProtectedVMSpec(vm: VMReference(resourceGroup: "rg-app", name: vm), vault: "rsv-prod-eastus", policy: "daily", deletionPolicy: deletion))
    }

    static func resource(_ address: ResourceAddress, _ spec: ResourceSpec, line: Int = 1) -> DesiredResource {
        DesiredResource(
            address: address, spec: spec, location: SourceLocation(file: "m.yaml", line: line, column: 1),
            fieldLocations: [
                "spec.vm": SourceLocation(file: "m.yaml", line: line + 4, column: 7),
                "spec.storageRedundancy": SourceLocation(file: "m.yaml", line: line + 5, column: 22),
            ])
    }

    /// The full desired state: vault, policy, access policy, protected VM.
    static func desired(policyDays: Int = 30, vaultLocation: String = "eastus") -> DesiredState {
        DesiredState(resources: [
            resource(vaultAddress, vault(location: vaultLocation), line: 1),
            resource(policyAddress, policy(daily: policyDays), line: 20),
            resource(accessAddress, access(), line: 40),
            resource(vmAddress, protected(), line: 60),
        ])
    }

    /// A provider with the reference VM (ADE BEK+KEK in kv-app-eastus) and its key vault.
    static func provider(encryption: VMEncryptionKind = .adeBEKAndKEK, certificateKEK: Bool = false, region: String = "eastus") -> InMemoryProvider {
        let provider = InMemoryProvider()
        for name in ["win-app-01", "lnx-db-01"] {
            provider.addVM(
                VirtualMachineFacts(
                    id: "/subscriptions/sub-prod/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/\(name)",
                    reference: VMReference(subscription: "sub-prod", resourceGroup: "rg-app", name: name),
                    subscription: "sub-prod", region: region, os: "windows", encryption: encryption,
                    keyVault: "kv-app-eastus", kekIsCertificateBacked: certificateKEK,
                    disks: [DiskFacts(lun: -1, sizeGiB: 128), DiskFacts(lun: 0, sizeGiB: 256), DiskFacts(lun: 1, sizeGiB: 256)]))
        }
        provider.addKeyVault(
            KeyVaultFacts(
                id: "/keyVaults/kv-app-eastus", name: "kv-app-eastus", subscription: "sub-prod", region: "eastus",
                accessPolicies: [], backupManagementServiceObjectID: "bms-object-id"))
        return provider
    }
}

extension InMemoryProvider {
    /// The id of a resource the fixtures declare: the vaults of `Fixture.desired()` are its parents.
    func id(name: String, spec: ResourceSpec) async throws -> String {
        try #require(try await resourceID(name: name, spec: spec, parents: ResourceParents(desired: Fixture.desired())))
    }
}

/// An in-memory state store, for tests that need no files.
final class MemoryStateStore: ReconcilerStateStore, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [ResourceAddress: InventoryEntry] = [:]
    private var journalRecords: [StepRecord] = []
    private var records: [HistoryRecord] = []

    func inventory() throws -> [ResourceAddress: InventoryEntry] { lock.withLock { entries } }
    func saveInventory(_ entries: [ResourceAddress: InventoryEntry]) throws { lock.withLock { self.entries = entries } }
    func journal(_ step: StepRecord) throws { lock.withLock { journalRecords.append(step) } }
    func unfinishedJournal() throws -> [StepRecord] { lock.withLock { journalRecords } }
    func clearJournal() throws { lock.withLock { journalRecords = [] } }
    func appendHistory(_ record: HistoryRecord) throws { lock.withLock { records.append(record) } }
    func history() throws -> [HistoryRecord] { lock.withLock { records } }
}

@testable import CofferReconciler
