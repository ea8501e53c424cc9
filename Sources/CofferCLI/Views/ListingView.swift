import CofferModel
import CofferPlatform

/// One kind of resource as the platform lists it now: what `coffer get` shows, and `platform show` reuses.
enum Listing {
    case vaults([VaultInfo])
    case policies([PolicyInfo])
    case protectedVMs([ProtectedItemInfo])
    case accessPolicies([AccessPolicyInfo])
    case roleAssignments([RoleAssignmentInfo])
    case recoveryPoints([RecoveryPointSummary])
    case jobs([JobInfo])

    /// Reads one kind from the platform (recovery points and jobs only of `vm` when it is given).
    static func read(_ what: GetCommand.What, from platform: Platform, vm: String? = nil) throws -> Listing {
        switch what {
        case .vaults: .vaults(try PlatformCLI.call { try platform.vaults() })
        case .policies: .policies(try PlatformCLI.call { try platform.policies() })
        case .protectedVMs: .protectedVMs(try PlatformCLI.call { try platform.protectedItems() })
        case .accessPolicies: .accessPolicies(try PlatformCLI.call { try platform.accessPolicies() })
        case .roleAssignments: .roleAssignments(try PlatformCLI.call { try platform.roleAssignments() })
        case .recoveryPoints: .recoveryPoints(try PlatformCLI.call { try platform.recoveryPoints(vm: vm) })
        case .jobs: .jobs(try PlatformCLI.call { try platform.jobs(vm: vm) })
        }
    }
}

/// How `coffer get` shows a listing: a table, or an array under the kind's name.
protocol ListingView {
    func listing(_ listing: Listing) throws
}

extension OutputFormat {
    /// The listing view of this format.
    var listingView: any ListingView {
        switch self {
        case .text: ListingTextView()
        case .json: ListingJSONView()
        }
    }
}

/// A listing as a text table, or a sentence when it is empty.
struct ListingTextView: ListingView {
    func listing(_ listing: Listing) throws {
        switch listing {
        case .vaults(let vaults): Self.table(vaults).print(empty: "No vaults.")
        case .policies(let policies): Self.table(policies).print(empty: "No policies.")
        case .protectedVMs(let items): Self.table(items).print(empty: "No protected VMs.")
        case .accessPolicies(let policies): Self.table(policies).print(empty: "No access policies.")
        case .roleAssignments(let assignments): Self.table(assignments).print(empty: "No role assignments.")
        case .recoveryPoints(let points): Self.table(points).print(empty: "No recovery points.")
        case .jobs(let jobs): Self.table(jobs).print(empty: "No jobs.")
        }
    }

    static func table(_ vaults: [VaultInfo]) -> TextTable {
        var table = TextTable("VAULT", "RESOURCE GROUP", "REGION", "REDUNDANCY", "CRR", "IMMUTABILITY", "SOFT DELETE", "ENCRYPTION", "ITEMS", "MANAGED BY")
        for vault in vaults {
            let spec = vault.spec
            table.add(vault.name, spec.resourceGroup, spec.location, spec.storageRedundancy.rawValue, spec.crossRegionRestore ? "on" : "off",
                      spec.immutability.rawValue, "\(spec.softDeleteState.rawValue) \(spec.softDeleteRetentionDays)d",
                      spec.encryption.map { "customer key \($0.keyVault)/\($0.key)" } ?? "platform key", String(vault.registeredItems),
                      vault.tags[ObservedResource.managedByTag] ?? "-")
        }
        return table
    }

    static func table(_ policies: [PolicyInfo]) -> TextTable {
        var table = TextTable("POLICY", "VAULT", "TYPE", "SCHEDULE", "TIME ZONE", "INSTANT RESTORE", "RETENTION", "ITEMS", "MANAGED BY")
        for policy in policies {
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
                      retention.joined(separator: " "), String(policy.protectedItems), policy.managedBy ?? "-")
        }
        return table
    }

    static func table(_ items: [ProtectedItemInfo]) -> TextTable {
        var table = TextTable("VM", "VAULT", "POLICY", "STATE", "LAST BACKUP", "STATUS", "POINTS", "MANAGED BY")
        for item in items {
            table.add(item.vm, item.vault, item.policy ?? "-", item.state.rawValue, PlatformCLI.time(item.lastBackup),
                      item.lastBackupStatus ?? "-", String(item.recoveryPoints), item.managedBy ?? "-")
        }
        return table
    }

    static func table(_ policies: [AccessPolicyInfo]) -> TextTable {
        var table = TextTable("KEY VAULT", "PRINCIPAL", "OBJECT ID", "KEYS", "SECRETS", "MANAGED BY")
        for policy in policies {
            table.add(policy.keyVault, policy.principalName ?? "-", policy.objectID, policy.keyPermissions.map(\.rawValue).joined(separator: ","),
                      policy.secretPermissions.map(\.rawValue).joined(separator: ","), policy.managedBy ?? "-")
        }
        return table
    }

    static func table(_ assignments: [RoleAssignmentInfo]) -> TextTable {
        var table = TextTable("KEY VAULT", "PRINCIPAL", "OBJECT ID", "ROLE", "NAME", "MANAGED BY")
        for assignment in assignments {
            table.add(assignment.keyVault, assignment.principalName ?? "-", assignment.objectID, assignment.role, assignment.name,
                      assignment.managedBy ?? "-")
        }
        return table
    }

    static func table(_ points: [RecoveryPointSummary]) -> TextTable {
        var table = TextTable("RECOVERY POINT", "VM", "VAULT", "TIME", "TYPE", "TIER", "EXPIRES", "KEYS")
        for point in points {
            table.add(point.id, point.vm, point.vault, PlatformCLI.time(point.time), point.type, point.tier,
                      point.expiry.map { PlatformCLI.time($0) } ?? "never", point.keyBackupContents ?? "-")
        }
        return table
    }

    static func table(_ jobs: [JobInfo]) -> TextTable {
        var table = TextTable("JOB", "OPERATION", "VM", "VAULT", "STATUS", "START", "BYTES", "ERROR")
        for job in jobs {
            table.add(job.id, job.operation + (job.trigger.map { " (\($0))" } ?? ""), job.vm, job.vault, job.status.rawValue,
                      PlatformCLI.time(job.start), PlatformCLI.bytes(job.bytesTransferred), job.errorCode ?? "-")
        }
        return table
    }
}

/// A listing as `{"format_version": "1", "<kind>": [...]}`.
struct ListingJSONView: ListingView {
    func listing(_ listing: Listing) throws {
        switch listing {
        case .vaults(let vaults): try JSONOutput.print(vaults, under: "vaults")
        case .policies(let policies): try JSONOutput.print(policies, under: "policies")
        case .protectedVMs(let items): try JSONOutput.print(items, under: "protectedVMs")
        case .accessPolicies(let policies): try JSONOutput.print(policies, under: "accessPolicies")
        case .roleAssignments(let assignments): try JSONOutput.print(assignments, under: "roleAssignments")
        case .recoveryPoints(let points): try JSONOutput.print(points, under: "recoveryPoints")
        case .jobs(let jobs): try JSONOutput.print(jobs, under: "jobs")
        }
    }
}
