import ArgumentParser
import CofferARMClient
import CofferGitOps
import CofferModel
import CofferPlatform
import CofferReconciler
import Foundation

extension EndpointOptions {
    /// Runs `body` with the ARM client of the endpoint in force, or nil for the embedded platform; the
    /// client's connections are closed after it, whatever it ends in. Its errors come out as the CLI's.
    func withClient<T>(_ body: (ARMClientProvider?) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        guard let configuration = try clientConfiguration(environment: environment) else { return try await body(nil) }
        let client: ARMClientProvider
        do {
            client = try ARMClientProvider(configuration: configuration)
        } catch {
            throw CLIError.from(error)
        }
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            if error is CLIError || error is ExitCode { throw error }
            throw CLIError.from(error)
        }
    }
}

/// What the operator commands show of a platform reached over an ARM endpoint, in the same values (and so the
/// same tables and JSON) as the embedded platform's. ARM carries no "managed by" mark on policies, backup items
/// and access: over an endpoint a resource is coffer's when the reconciler's inventory holds it, and a
/// protected VM's deletionPolicy is the one last applied (the default, Retain, for one coffer does not manage).
enum RemoteListing {
    /// The kind `what` read through `client`; `inventory` is the reconciler's (by resource id, lower-cased).
    static func read(
        _ what: GetCommand.What, client: ARMClientProvider, vm: String?, inventory: [String: InventoryEntry]
    ) async throws -> Listing {
        func managed(_ id: String) -> String? { inventory[id.lowercased()] == nil ? nil : ObservedResource.managedByValue }
        switch what {
        case .recoveryPoints:
            return .recoveryPoints(try await client.recoveryPoints(vm: vm).sorted { ($0.vm, $0.time) < ($1.vm, $1.time) }.map(summary))
        case .jobs:
            return .jobs(try await client.jobs(vm: vm).map(job))
        default:
            break
        }
        let resources = try await client.resources()
        switch what {
        case .vaults:
            return .vaults(resources.vaults.compactMap { observed in
                guard case .vault(let spec) = observed.spec else { return nil }
                return VaultInfo(
                    name: observed.name, id: observed.id, spec: spec, tags: observed.tags, registeredItems: observed.status.vault?.registeredItems ?? 0,
                    identityPrincipalID: observed.status.vault?.identityPrincipalID)
            }.sorted { $0.name < $1.name })
        case .policies:
            return .policies(resources.policies.compactMap { observed in
                guard case .backupPolicy(let spec) = observed.spec else { return nil }
                return PolicyInfo(
                    name: observed.name, id: observed.id, spec: spec, managedBy: managed(observed.id),
                    protectedItems: observed.status.backupPolicy?.protectedItems ?? 0)
            }.sorted { ($0.spec.vault, $0.name) < ($1.spec.vault, $1.name) })
        case .protectedVMs:
            return .protectedVMs(resources.protectedItems.map { item in
                var deletionPolicy = DeletionPolicy.retain
                if case .protectedVM(let spec)? = inventory[item.id.lowercased()]?.lastApplied { deletionPolicy = spec.deletionPolicy }
                return ProtectedItemInfo(
                    vm: item.vm, id: item.id, vmID: item.vmID, vmResourceGroup: item.vmResourceGroup, vault: item.vault, policy: item.policy,
                    state: ItemState(rawValue: item.status.rawValue) ?? .protected, deletionPolicy: deletionPolicy,
                    excludeDiskLuns: item.excludeDiskLuns, includeDiskLuns: item.includeDiskLuns, managedBy: managed(item.id),
                    lastBackup: item.lastBackup, lastBackupStatus: item.lastBackupStatus, recoveryPoints: item.recoveryPoints, purgeAt: item.purgeAt)
            }.sorted { ($0.vault, $0.vm) < ($1.vault, $1.vm) })
        case .accessPolicies:
            return .accessPolicies(resources.accessPolicies.map {
                AccessPolicyInfo(
                    keyVault: $0.keyVault, id: $0.id, objectID: $0.objectID, principalName: $0.principalName, keyPermissions: $0.keyPermissions,
                    secretPermissions: $0.secretPermissions, managedBy: managed($0.id))
            })
        case .roleAssignments:
            return .roleAssignments(resources.roleAssignments.map {
                RoleAssignmentInfo(
                    keyVault: $0.keyVault, id: $0.id, name: $0.name, objectID: $0.objectID, principalName: $0.principalName, role: $0.role,
                    roleDefinitionID: $0.roleDefinitionID, managedBy: managed($0.id))
            })
        case .recoveryPoints, .jobs:
            preconditionFailure("read above")
        }
    }

    /// The reconciler's inventory by lower-cased resource id.
    static func inventory(global: GlobalOptions, backend: StateBackendOptions) async throws -> [String: InventoryEntry] {
        let state = global.stateDirectory(environment: ProcessInfo.processInfo.environment)
        return try await backend.withBackend { backend in
            let entries = try Workspace(stateDirectory: state, backend: backend).store.inventory()
            return Dictionary(entries.values.map { ($0.id.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    static func summary(_ point: RemoteRecoveryPoint) -> RecoveryPointSummary {
        // ARM does not carry a point's per-disk checksums: `disks` stays empty over an endpoint.
        RecoveryPointSummary(
            id: point.id, vm: point.vm, vault: point.vault, time: point.time, type: point.type, tier: point.tier, expiry: point.expiry, disks: [],
            hasKeyBackup: point.hasKeyBackup, hasKEKBackup: point.hasKEKBackup, keyVault: point.keyVault, bekSecretURL: point.bekSecretURL,
            kekURL: point.kekURL)
    }

    static func job(_ job: RemoteJob) -> JobInfo {
        let trigger: String? = job.operation == "Backup" ? (job.userTriggered ? "OnDemand" : "Scheduled") : nil
        return JobInfo(
            id: job.id, operation: job.operation, vm: job.vm, vault: job.vault, status: JobStatus(rawValue: job.status) ?? .failed, start: job.start,
            end: job.end, bytesTransferred: job.bytesTransferred, errorCode: job.errorCode, errorMessage: job.errorMessage,
            recoveryPoint: job.recoveryPoint, trigger: trigger, targetRegion: job.targetRegion, targetResourceGroup: job.targetResourceGroup)
    }

    /// `restore-keys`' answer over an endpoint.
    struct Actions: Decodable {
        var value: [KeyRestoreAction]
    }

    /// An extension action's JSON answer as `type`.
    static func decode<T: Decodable>(_ type: T.Type, _ json: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(json))
        } catch {
            throw CLIError(code: "InvalidResponse", message: "\(what): the endpoint's answer is not the expected body", hint: nil, exitCode: .failure)
        }
    }

    /// A job that failed, as the embedded platform reports it: its code and message, and the job's id.
    static func failure(_ job: JobInfo) -> CLIError {
        CLIError(
            code: job.errorCode ?? "JobFailed", message: (job.errorMessage ?? "the job failed") + " (job \(job.id))", hint: nil,
            exitCode: .failure)
    }
}
