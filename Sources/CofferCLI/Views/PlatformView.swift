import CofferModel
import CofferPlatform
import Foundation

/// How `coffer platform show` and `coffer platform clock` show the simulated platform: text, or one JSON
/// document.
protocol PlatformView {
    /// Everything the platform holds; the text form also lists its vaults, policies and protected VMs, read
    /// from `platform` when there are vaults.
    func overview(_ overview: PlatformOverview, platform: Platform) throws
    /// The simulated time.
    func clock(_ now: Date) throws
    /// What moving the clock did.
    func clockMoved(_ report: ClockReport) throws
}

extension OutputFormat {
    /// The platform view of this format.
    var platformView: any PlatformView {
        switch self {
        case .text: PlatformTextView()
        case .json: PlatformJSONView()
        }
    }
}

struct PlatformTextView: PlatformView {
    func overview(_ overview: PlatformOverview, platform: Platform) throws {
        let console = Console.current
        console.print("Tenant \(overview.tenant); clock \(PlatformCLI.time(overview.clock)); operator \(overview.operatorIdentity.user) (\(overview.operatorIdentity.type.rawValue))")
        console.print("Backup Management Service object id \(overview.backupManagementServiceObjectID)")
        console.print("Subscriptions: " + overview.subscriptions.map { "\($0.name) (\($0.id))\($0.isDefault ? " default" : "")" }.joined(separator: ", "))
        console.print("Regions: " + overview.regions.joined(separator: ", "))
        console.print("")
        var vms = TextTable("VM", "OS", "REGION", "RESOURCE GROUP", "AGENT", "ENCRYPTION", "DISKS", "PROTECTED BY")
        for vm in overview.virtualMachines {
            let disks = vm.disks.map { "\($0.disk):\($0.sizeGiB)G\($0.managed ? "" : " unmanaged")" }.joined(separator: " ")
            vms.add(vm.name, vm.os, vm.region, vm.resourceGroup, vm.agent, vm.encryption.rawValue, disks, vm.protectedBy ?? "-")
        }
        vms.print(empty: "No VMs.")
        for keyVault in overview.keyVaults {
            console.print("")
            var flags = [keyVault.region, keyVault.resourceGroup]
            if keyVault.enabledForDiskEncryption { flags.append("enabled for disk encryption") }
            if keyVault.softDelete { flags.append("soft delete \(keyVault.softDeleteRetentionDays) days") }
            if keyVault.purgeProtection { flags.append("purge protection") }
            flags.append("permission model: \(keyVault.permissionModel.words)")
            console.print("Key vault \(keyVault.name) (\(flags.joined(separator: ", ")))")
            var objects = TextTable("  KIND", "NAME", "TYPE", "STATE", "TAGS")
            for object in keyVault.objects {
                let type = object.kind == "key" ? "\(object.keyType ?? "RSA")-\(object.bits ?? 0)\(object.certificateBacked == true ? " certificate" : "")"
                    : (object.contentType ?? "-")
                let tags = object.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                objects.add("  " + object.kind, object.name, type, object.deleted ? "deleted (purge \(PlatformCLI.time(object.scheduledPurge)))" : "active",
                            tags.isEmpty ? "-" : tags)
            }
            objects.print(empty: "  no keys or secrets")
            // The grants of the key vault's model: access policies, or role assignments with Azure RBAC.
            switch keyVault.permissionModel {
            case .accessPolicies:
                var access = TextTable("  PRINCIPAL", "OBJECT ID", "KEYS", "SECRETS")
                for policy in keyVault.accessPolicies {
                    access.add("  " + (policy.principalName ?? "-"), policy.objectID, policy.keyPermissions.map(\.rawValue).joined(separator: ","),
                               policy.secretPermissions.map(\.rawValue).joined(separator: ","))
                }
                access.print(empty: "  no access policies")
            case .rbac:
                var roles = TextTable("  PRINCIPAL", "OBJECT ID", "ROLE")
                for assignment in keyVault.roleAssignments {
                    roles.add("  " + (assignment.principalName ?? "-"), assignment.objectID, assignment.role)
                }
                roles.print(empty: "  no role assignments")
            }
        }
        if !overview.roleDefinitions.isEmpty {
            console.print("")
            var roles = TextTable("CUSTOM ROLE", "ID", "DATA ACTIONS", "NOT DATA ACTIONS")
            for role in overview.roleDefinitions {
                roles.add(role.name, role.id, role.dataActions.joined(separator: " "),
                          role.notDataActions.isEmpty ? "-" : role.notDataActions.joined(separator: " "))
            }
            roles.print(empty: "")
        }
        if !overview.vaults.isEmpty {
            let listings = ListingTextView()
            for what in [GetCommand.What.vaults, .policies, .protectedVMs] {
                console.print("")
                try listings.listing(try Listing.read(what, from: platform))
            }
        }
        if !overview.restoredDisks.isEmpty {
            console.print("")
            var disks = TextTable("RESTORED DISK", "KIND", "REGION", "RESOURCE GROUP", "FROM", "RECOVERY POINT")
            for disk in overview.restoredDisks {
                disks.add(disk.name, disk.kind, disk.region, disk.resourceGroup, "\(disk.sourceVM)/\(disk.disk)", disk.recoveryPoint)
            }
            disks.print(empty: "")
        }
    }

    func clock(_ now: Date) throws {
        Console.current.print(PlatformCLI.time(now))
    }

    func clockMoved(_ report: ClockReport) throws {
        let console = Console.current
        console.print("Clock moved from \(PlatformCLI.time(report.from)) to \(PlatformCLI.time(report.to)).")
        if !report.jobs.isEmpty {
            var jobs = TextTable("TIME", "VM", "STATUS", "BYTES", "ERROR")
            for job in report.jobs {
                jobs.add(PlatformCLI.time(job.start), job.vm, job.status.rawValue, PlatformCLI.bytes(job.bytesTransferred), job.errorCode ?? "-")
            }
            console.print(jobs.rendered)
        }
        let failed = report.jobs.filter { $0.status == .failed }.count
        var summary = ["\(report.jobs.count) scheduled backup(s)\(failed > 0 ? " (\(failed) failed)" : "")",
                       "\(report.expiredSnapshots.count) snapshot(s) expired",
                       "\(report.expiredRecoveryPoints.count) recovery point(s) expired"]
        if !report.purgedItems.isEmpty { summary.append("\(report.purgedItems.count) soft-deleted item(s) purged") }
        let reclaimed = report.reclaimedBytes.values.reduce(0, +)
        if reclaimed > 0 { summary.append("\(PlatformCLI.bytes(reclaimed)) reclaimed") }
        console.print(summary.joined(separator: ", ") + ".")
    }
}

struct PlatformJSONView: PlatformView {
    func overview(_ overview: PlatformOverview, platform: Platform) throws {
        try JSONOutput.print(overview)
    }

    func clock(_ now: Date) throws {
        try JSONOutput.print(["clock": PlatformCLI.time(now)])
    }

    func clockMoved(_ report: ClockReport) throws {
        try JSONOutput.print(report)
    }
}
