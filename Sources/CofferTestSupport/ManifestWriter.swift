import CofferModel
import Foundation

/// Writes a desired state back as manifest text, one document per resource, in YAML's flow style (JSON is
/// YAML): what a generated manifest set looks like to the loader, so that a property test goes through the
/// same validation as a user's files.
public enum ManifestWriter {
    /// The manifest documents of `desired`, `---`-separated.
    public static func yaml(_ desired: DesiredState) -> String {
        desired.resources.map(document).joined(separator: "---\n")
    }

    /// One resource's document.
    public static func document(_ resource: DesiredResource) -> String {
        let body: [String: Any] = [
            "apiVersion": "coffer.dev/v1", "kind": resource.address.kind.rawValue,
            "metadata": ["name": resource.address.name], "spec": spec(resource.spec),
        ]
        let data = try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func spec(_ spec: ResourceSpec) -> [String: Any] {
        switch spec {
        case .vault(let vault):
            var fields: [String: Any] = [
                "resourceGroup": vault.resourceGroup, "location": vault.location, "sku": vault.sku.rawValue,
                "storageRedundancy": vault.storageRedundancy.rawValue, "crossRegionRestore": vault.crossRegionRestore,
                "immutability": vault.immutability.rawValue, "publicNetworkAccess": vault.publicNetworkAccess,
                "softDelete": ["state": vault.softDeleteState.rawValue, "retentionDays": vault.softDeleteRetentionDays],
            ]
            if let subscription = vault.subscription { fields["subscription"] = subscription }
            if vault.systemAssignedIdentity { fields["identity"] = ["type": "SystemAssigned"] }
            if let encryption = vault.encryption {
                fields["encryption"] = [
                    "keyVault": encryption.keyVault, "key": encryption.key, "infrastructureEncryption": encryption.infrastructureEncryption,
                ]
            }
            if !vault.tags.isEmpty { fields["tags"] = vault.tags }
            return fields
        case .backupPolicy(let policy):
            var schedule: [String: Any] = ["frequency": policy.schedule.frequency.rawValue, "time": policy.schedule.time.description]
            if !policy.schedule.weekdays.isEmpty { schedule["weekdays"] = policy.schedule.weekdays.map(\.rawValue) }
            if let interval = policy.schedule.hourInterval { schedule["hourInterval"] = interval }
            if let duration = policy.schedule.hourDuration { schedule["hourDuration"] = duration }
            var retention: [String: Any] = [:]
            if let daily = policy.retention.daily { retention["daily"] = ["count": daily.count] }
            if let weekly = policy.retention.weekly { retention["weekly"] = ["count": weekly.count, "weekdays": weekly.weekdays.map(\.rawValue)] }
            if let monthly = policy.retention.monthly { retention["monthly"] = calendar(monthly) }
            if let yearly = policy.retention.yearly { retention["yearly"] = calendar(yearly) }
            return [
                "vault": policy.vault, "policyType": policy.policyType.rawValue, "timeZone": policy.timeZone, "schedule": schedule,
                "instantRestoreRetentionDays": policy.instantRestoreRetentionDays, "retention": retention,
            ]
        case .keyVaultAccessPolicy(let access):
            let principal: [String: Any] = switch access.principal {
            case .backupManagementService: ["name": Principal.backupManagementServiceName]
            case .objectID(let id): ["objectId": id]
            }
            var fields: [String: Any] = ["keyVault": access.keyVault, "principal": principal]
            if !access.keyPermissions.isEmpty { fields["keyPermissions"] = access.keyPermissions.map(\.rawValue) }
            if !access.secretPermissions.isEmpty { fields["secretPermissions"] = access.secretPermissions.map(\.rawValue) }
            return fields
        case .keyVaultRoleAssignment(let assignment):
            let principal: [String: Any] = switch assignment.principal {
            case .backupManagementService: ["name": Principal.backupManagementServiceName]
            case .objectID(let id): ["objectId": id]
            }
            return ["keyVault": assignment.keyVault, "principal": principal, "role": assignment.role]
        case .protectedVM(let protected):
            var vm: [String: Any] = ["resourceGroup": protected.vm.resourceGroup, "name": protected.vm.name]
            if let subscription = protected.vm.subscription { vm["subscription"] = subscription }
            var fields: [String: Any] = [
                "vm": vm, "vault": protected.vault, "policy": protected.policy, "protectionState": protected.protectionState.rawValue,
                "deletionPolicy": protected.deletionPolicy.rawValue,
            ]
            if !protected.excludeDiskLuns.isEmpty { fields["excludeDiskLuns"] = protected.excludeDiskLuns }
            if !protected.includeDiskLuns.isEmpty { fields["includeDiskLuns"] = protected.includeDiskLuns }
            return fields
        }
    }

    static func calendar(_ rule: CalendarRetention) -> [String: Any] {
        var fields: [String: Any] = ["count": rule.count]
        if !rule.months.isEmpty { fields["months"] = rule.months.map(\.rawValue) }
        if !rule.weekdays.isEmpty { fields["weekdays"] = rule.weekdays.map(\.rawValue) }
        if !rule.weeks.isEmpty { fields["weeks"] = rule.weeks.map(\.rawValue) }
        if !rule.days.isEmpty { fields["days"] = rule.days }
        if rule.includeLastDay { fields["includeLastDay"] = true }
        return fields
    }
}
