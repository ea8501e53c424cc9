import ArgumentParser
import CofferModel
import CofferPlatform
import Foundation

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "List resources on the platform.",
        discussion: """
            Lists what the platform holds now, whoever made it (MANAGED BY says coffer for what coffer owns). \
            Recovery points and jobs can be narrowed to one VM.

            Examples:
              coffer get protected-vms
              coffer get recovery-points --vm win-app-01
              coffer get jobs --output json
            """)
    enum What: String, ExpressibleByArgument, CaseIterable {
        case vaults, policies
        case protectedVMs = "protected-vms"
        case accessPolicies = "access-policies"
        case recoveryPoints = "recovery-points"
        case jobs
    }
    @OptionGroup var global: GlobalOptions
    @Argument(help: "What to list.") var what: What
    @Option(help: ArgumentHelp("Only this VM's recovery points or jobs (default: every VM's).", valueName: "vm"), completion: CofferCompletion.vm)
    var vm: String?
    @Option(help: OutputFormat.help("an array under the kind's name (vaults, policies, protectedVMs, ...).")) var output: OutputFormat = .text

    func validate() throws {
        if vm != nil && what != .recoveryPoints && what != .jobs {
            throw ValidationError("--vm goes with recovery-points and jobs")
        }
    }

    func run() throws {
        let platform = try PlatformCLI.open(global)
        if output == .json {
            switch what {
            case .vaults: try PlatformCLI.printJSON(try PlatformCLI.call { try platform.vaults() }, key: "vaults")
            case .policies: try PlatformCLI.printJSON(try PlatformCLI.call { try platform.policies() }, key: "policies")
            case .protectedVMs: try PlatformCLI.printJSON(try PlatformCLI.call { try platform.protectedItems() }, key: "protectedVMs")
            case .accessPolicies: try PlatformCLI.printJSON(try PlatformCLI.call { try platform.accessPolicies() }, key: "accessPolicies")
            case .recoveryPoints:
                try PlatformCLI.printJSON(try PlatformCLI.call { try platform.recoveryPoints(vm: vm) }, key: "recoveryPoints")
            case .jobs: try PlatformCLI.printJSON(try PlatformCLI.call { try platform.jobs(vm: vm) }, key: "jobs")
            }
            return
        }
        try Self.render(what, platform: platform, vm: vm)
    }

    /// Prints a listing as a text table.
    static func render(_ what: What, platform: Platform, vm: String? = nil) throws {
        switch what {
        case .vaults:
            var table = TextTable("VAULT", "RESOURCE GROUP", "REGION", "REDUNDANCY", "CRR", "IMMUTABILITY", "SOFT DELETE", "ENCRYPTION", "ITEMS", "MANAGED BY")
            for vault in try PlatformCLI.call({ try platform.vaults() }) {
                let spec = vault.spec
                table.add(vault.name, spec.resourceGroup, spec.location, spec.storageRedundancy.rawValue, spec.crossRegionRestore ? "on" : "off",
                          spec.immutability.rawValue, "\(spec.softDeleteState.rawValue) \(spec.softDeleteRetentionDays)d",
                          spec.encryption.map { "customer key \($0.keyVault)/\($0.key)" } ?? "platform key", String(vault.registeredItems),
                          vault.tags[ObservedResource.managedByTag] ?? "-")
            }
            table.print(empty: "No vaults.")
        case .policies:
            var table = TextTable("POLICY", "VAULT", "TYPE", "SCHEDULE", "TIME ZONE", "INSTANT RESTORE", "RETENTION", "ITEMS")
            for policy in try PlatformCLI.call({ try platform.policies() }) {
                let spec = policy.spec
                let schedule: String
                switch spec.schedule.frequency {
                case .hourly:
                    schedule = "every \(spec.schedule.hourInterval ?? 0)h from \(spec.schedule.time) for \(spec.schedule.hourDuration ?? 0)h"
                case .daily: schedule = "daily \(spec.schedule.time)"
                case .weekly: schedule = "weekly \(spec.schedule.weekdays.map(\.rawValue).joined(separator: ",")) \(spec.schedule.time)"
                }
                var retention: [String] = []
                if let daily = spec.retention.daily { retention.append("\(daily.count)d") }
                if let weekly = spec.retention.weekly { retention.append("\(weekly.count)w") }
                if let monthly = spec.retention.monthly { retention.append("\(monthly.count)m") }
                if let yearly = spec.retention.yearly { retention.append("\(yearly.count)y") }
                table.add(policy.name, spec.vault, spec.policyType.rawValue, schedule, spec.timeZone, "\(spec.instantRestoreRetentionDays)d",
                          retention.joined(separator: " "), String(policy.protectedItems))
            }
            table.print(empty: "No policies.")
        case .protectedVMs:
            var table = TextTable("VM", "VAULT", "POLICY", "STATE", "LAST BACKUP", "STATUS", "POINTS", "MANAGED BY")
            for item in try PlatformCLI.call({ try platform.protectedItems() }) {
                table.add(item.vm, item.vault, item.policy ?? "-", item.state.rawValue, PlatformCLI.time(item.lastBackup),
                          item.lastBackupStatus ?? "-", String(item.recoveryPoints), item.managedBy ?? "-")
            }
            table.print(empty: "No protected VMs.")
        case .accessPolicies:
            var table = TextTable("KEY VAULT", "PRINCIPAL", "OBJECT ID", "KEYS", "SECRETS", "MANAGED BY")
            for policy in try PlatformCLI.call({ try platform.accessPolicies() }) {
                table.add(policy.keyVault, policy.principalName ?? "-", policy.objectID, policy.keyPermissions.map(\.rawValue).joined(separator: ","),
                          policy.secretPermissions.map(\.rawValue).joined(separator: ","), policy.managedBy ?? "-")
            }
            table.print(empty: "No access policies.")
        case .recoveryPoints:
            var table = TextTable("RECOVERY POINT", "VM", "VAULT", "TIME", "TYPE", "TIER", "EXPIRES", "KEYS")
            for point in try PlatformCLI.call({ try platform.recoveryPoints(vm: vm) }) {
                table.add(point.id, point.vm, point.vault, PlatformCLI.time(point.time), point.type, point.tier,
                          point.expiry.map { PlatformCLI.time($0) } ?? "never", point.hasKeyBackup ? "BEK/KEK" : "-")
            }
            table.print(empty: "No recovery points.")
        case .jobs:
            var table = TextTable("JOB", "OPERATION", "VM", "VAULT", "STATUS", "START", "BYTES", "ERROR")
            for job in try PlatformCLI.call({ try platform.jobs(vm: vm) }) {
                table.add(job.id, job.operation + (job.trigger.map { " (\($0))" } ?? ""), job.vm, job.vault, job.status.rawValue,
                          PlatformCLI.time(job.start), PlatformCLI.bytes(job.bytesTransferred), job.errorCode ?? "-")
            }
            table.print(empty: "No jobs.")
        }
    }
}
