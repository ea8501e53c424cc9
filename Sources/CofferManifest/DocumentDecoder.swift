import CofferModel
import CofferYAML

/// A resource as one document declares it, with what cross-resource rules need to point at it.
struct DeclaredResource {
    var resource: DesiredResource
    var source: SourceText
    /// The document's root mapping.
    var root: YAMLNode

    var address: ResourceAddress { resource.address }

    /// The location of the value at a dotted path, else of the nearest enclosing field, else the document's.
    func valueLocation(_ path: String) -> SourceLocation? {
        if let node = root.node(at: path) { return source.location(line: node.mark.line, column: node.mark.column) }
        return resource.location(of: path)
    }
}

extension YAMLNode {
    /// The node at a dotted path of mapping keys.
    func node(at path: String) -> YAMLNode? {
        var current: YAMLNode? = self
        for key in path.split(separator: ".") { current = current?[String(key)] }
        return current
    }
}

/// Turns one composed document into a typed resource: checks its shape, then the rules within the resource,
/// and fills in every default.
final class DocumentDecoder {
    private let source: SourceText
    private let sink: DiagnosticSink
    private var validator: ShapeValidator

    init(source: SourceText, sink: DiagnosticSink) {
        self.source = source
        self.sink = sink
        validator = ShapeValidator(source: source, sink: sink)
    }

    private func report(_ code: ManifestCode, _ summary: String, at mark: YAMLMark, detail: String? = nil, hint: String? = nil) {
        validator.report(code, summary, at: mark, detail: detail, hint: hint)
    }

    /// The resource the document declares, or nil when it is empty or too broken to name a resource.
    func decode(_ document: ComposedDocument) -> DeclaredResource? {
        // An empty document ('---' followed by nothing, or only comments) declares nothing.
        guard let root = document.root, root.resolved != .null else { return nil }
        validator = ShapeValidator(source: source, sink: sink)
        if case .refused = root.content { return nil }
        guard root.entries != nil else {
            report(
                .wrongType, "a manifest document must be a mapping, found \(root.items != nil ? "a list" : root.resolved?.description ?? "a value")",
                at: root.mark, detail: "each document declares one resource with apiVersion, kind, metadata and spec",
                hint: "start the document with 'apiVersion: \(ManifestShapes.apiVersion)'")
            return nil
        }
        guard root["apiVersion"]?.string == ManifestShapes.apiVersion,
            let kind = root["kind"]?.string.flatMap(ResourceKind.init(rawValue:))
        else {
            validator.validate(root, as: ManifestShapes.envelope, path: "", anchor: root.mark)
            return nil
        }
        validator.validate(root, as: ManifestShapes.document(kind), path: "", anchor: root.mark)
        guard let name = root.node(at: "metadata.name")?.string, let spec = root["spec"], spec.entries != nil else {
            return nil
        }
        let resourceSpec: ResourceSpec
        switch kind {
        case .recoveryServicesVault: resourceSpec = .vault(decodeVault(spec))
        case .backupPolicy: resourceSpec = .backupPolicy(decodePolicy(spec))
        case .protectedVM: resourceSpec = .protectedVM(decodeProtectedVM(spec))
        case .keyVaultAccessPolicy: resourceSpec = .keyVaultAccessPolicy(decodeAccessPolicy(spec, root: root))
        case .keyVaultRoleAssignment: resourceSpec = .keyVaultRoleAssignment(decodeRoleAssignment(spec))
        }
        var labels: [String: String] = [:]
        for entry in root.node(at: "metadata.labels")?.entries ?? [] {
            if let value = entry.value.string { labels[entry.key] = value }
        }
        let kindMark = root.entry("kind")!.keyMark
        let resource = DesiredResource(
            address: ResourceAddress(kind: kind, name: name), spec: resourceSpec, labels: labels,
            location: validator.location(kindMark), fieldLocations: validator.fieldLocations)
        return DeclaredResource(resource: resource, source: source, root: root)
    }

    // MARK: Helpers

    private func value<E: RawRepresentable>(_ node: YAMLNode?, _: E.Type = E.self) -> E? where E.RawValue == String {
        node?.string.flatMap(E.init(rawValue:))
    }

    /// The valid values of a list, sorted and without repeats (a repeat is reported as a warning).
    private func set<E: Comparable & Hashable>(_ node: YAMLNode?, path: String, _ convert: (YAMLNode) -> E?) -> [E] {
        var seen: Set<E> = []
        for item in node?.items ?? [] {
            guard let element = convert(item) else { continue }
            if !seen.insert(element).inserted {
                let shown = item.string ?? item.int.map(String.init) ?? ""
                report(
                    .duplicateValue, "'\(shown)' is listed more than once in '\(ShapeValidator.display(path))'",
                    at: item.mark, detail: "the list is a set: repeats have no effect", hint: "remove the repeat")
            }
        }
        return seen.sorted()
    }

    private func enumSet<E: RawRepresentable & Comparable & Hashable>(_ node: YAMLNode?, path: String) -> [E]
    where E.RawValue == String {
        set(node, path: path) { $0.string.flatMap(E.init(rawValue:)) }
    }

    private func intSet(_ node: YAMLNode?, path: String) -> [Int] {
        set(node, path: path) { $0.int }
    }

    // MARK: RecoveryServicesVault

    private func decodeVault(_ spec: YAMLNode) -> VaultSpec {
        var vault = VaultSpec(
            subscription: spec["subscription"]?.string, resourceGroup: spec["resourceGroup"]?.string ?? "",
            location: spec["location"]?.string ?? "")
        vault.sku = value(spec["sku"]) ?? .standard
        vault.storageRedundancy = value(spec["storageRedundancy"]) ?? .geoRedundant
        vault.crossRegionRestore = spec["crossRegionRestore"]?.bool ?? false
        vault.immutability = value(spec["immutability"]) ?? .disabled
        vault.softDeleteState = value(spec.node(at: "softDelete.state")) ?? .enabled
        vault.softDeleteRetentionDays = spec.node(at: "softDelete.retentionDays")?.int ?? 14
        vault.publicNetworkAccess = spec["publicNetworkAccess"]?.bool ?? true
        vault.systemAssignedIdentity = spec.node(at: "identity.type")?.string == "SystemAssigned"
        if let encryption = spec["encryption"], let keyVault = encryption["keyVault"]?.string,
            let key = encryption["key"]?.string
        {
            vault.encryption = VaultEncryption(
                keyVault: keyVault, key: key,
                infrastructureEncryption: encryption["infrastructureEncryption"]?.bool ?? false)
        }
        for entry in spec["tags"]?.entries ?? [] {
            if let value = entry.value.string { vault.tags[entry.key] = value }
        }

        if vault.crossRegionRestore, vault.storageRedundancy != .geoRedundant, let node = spec["crossRegionRestore"] {
            report(
                .crrRequiresGRS, "cross-region restore needs GeoRedundant storage, not \(vault.storageRedundancy.rawValue)",
                at: node.mark, detail: "only geo-redundant vaults keep a copy in the paired region",
                hint: "set storageRedundancy: GeoRedundant, or crossRegionRestore: false")
        }
        if let encryption = spec.entry("encryption"), spec["identity"] == nil {
            report(
                .encryptionRequiresIdentity, "encryption with a customer key needs the vault's managed identity",
                at: encryption.keyMark, detail: "the vault reaches the key through its system-assigned identity",
                hint: "add 'identity: {type: SystemAssigned}' to the spec")
        }
        return vault
    }

    // MARK: BackupPolicy

    private func decodePolicy(_ spec: YAMLNode) -> BackupPolicySpec {
        let policyType: PolicyType = value(spec["policyType"]) ?? .standard
        let scheduleNode = spec["schedule"]
        let scheduleEntry = spec.entry("schedule")
        let frequency: ScheduleFrequency? = value(scheduleNode?["frequency"])
        let time = scheduleNode?["time"]?.string.flatMap(TimeOfDay.init(parsing:)) ?? TimeOfDay(hour: 0, minute: 0)
        var schedule = BackupSchedule(frequency: frequency ?? .daily, time: time)
        schedule.weekdays = enumSet(scheduleNode?["weekdays"], path: "spec.schedule.weekdays")
        schedule.hourInterval = scheduleNode?["hourInterval"]?.int
        schedule.hourDuration = scheduleNode?["hourDuration"]?.int

        if let frequency, let scheduleNode, let scheduleEntry {
            checkSchedule(frequency, scheduleNode, at: scheduleEntry.keyMark, policyType: policyType)
        }
        if frequency != .weekly { schedule.weekdays = [] }
        if frequency != .hourly {
            schedule.hourInterval = nil
            schedule.hourDuration = nil
        }

        let weekly = frequency == .weekly
        let defaultDays = policyType == .enhanced ? 7 : (weekly ? 5 : 2)
        var instantRestore = defaultDays
        if let node = spec["instantRestoreRetentionDays"], let days = node.int {
            instantRestore = days
            let fixed = PolicyLimits.standardWeeklyInstantRestoreDays
            let standard = PolicyLimits.instantRestoreDays(.standard)
            // Outside every policy type's range the shape check has reported it already.
            if !PolicyLimits.instantRestoreDaysAnyType.contains(days) {
            } else if policyType == .standard, weekly, days != fixed {
                report(
                    .outOfRange, "a Standard policy with a Weekly schedule keeps instant-restore snapshots \(fixed) days, not \(days)",
                    at: node.mark, hint: "set instantRestoreRetentionDays: \(fixed), or leave it out")
            } else if policyType == .standard, !standard.contains(days) {
                report(
                    .outOfRange,
                    "'spec.instantRestoreRetentionDays' must be between \(standard.lowerBound) and \(standard.upperBound) for a Standard policy, found \(days)",
                    at: node.mark,
                    hint: "use \(ManifestShapes.instantRestoreSpan(.standard)), or policyType: Enhanced for up to \(PolicyLimits.instantRestoreDays(.enhanced).upperBound) days")
            }
        }

        let retention = decodeRetention(spec, frequency: frequency, scheduledDays: weekly ? schedule.weekdays : nil)
        if let daily = retention.daily, daily.count < instantRestore,
            let node = spec.node(at: "retention.daily.count")
        {
            report(
                .retentionShorterThanSnapshots,
                "daily recovery points are kept \(daily.count) days, less than the \(instantRestore) days of instant-restore snapshots",
                at: node.mark, detail: "a vault recovery point cannot expire while its snapshot is kept",
                hint: "keep daily points at least \(instantRestore) days, or shorten instantRestoreRetentionDays")
        }
        return BackupPolicySpec(
            vault: spec["vault"]?.string ?? "", policyType: policyType, timeZone: spec["timeZone"]?.string ?? "UTC",
            schedule: schedule, instantRestoreRetentionDays: instantRestore, retention: retention)
    }

    private func checkSchedule(_ frequency: ScheduleFrequency, _ schedule: YAMLNode, at anchor: YAMLMark, policyType: PolicyType) {
        if frequency == .weekly {
            if schedule["weekdays"] == nil {
                report(
                    .missingField, "a Weekly schedule needs 'spec.schedule.weekdays'", at: anchor,
                    hint: "add 'weekdays: [Sunday]' (the days backups run) under 'spec.schedule'")
            }
        } else if let entry = schedule.entry("weekdays") {
            report(
                .notApplicable, "'spec.schedule.weekdays' applies to Weekly schedules only", at: entry.keyMark,
                hint: "remove it, or set frequency: Weekly")
        }
        if frequency == .hourly {
            for field in ["hourInterval", "hourDuration"] where schedule[field] == nil {
                report(
                    .missingField, "an Hourly schedule needs 'spec.schedule.\(field)'", at: anchor,
                    hint: field == "hourInterval" ? "add 'hourInterval: 4' (4, 6, 8 or 12)" : "add 'hourDuration: 24' (4–24 hours)")
            }
            if let interval = schedule["hourInterval"]?.int, [4, 6, 8, 12].contains(interval),
                let durationNode = schedule["hourDuration"], let duration = durationNode.int, (4...24).contains(duration),
                duration % interval != 0
            {
                report(
                    .outOfRange, "'spec.schedule.hourDuration' must be a multiple of hourInterval (\(interval)), found \(duration)",
                    at: durationNode.mark,
                    hint: "use \(Swift.max(interval, duration / interval * interval)) or \(Swift.min(24, (duration / interval + 1) * interval))")
            }
            if policyType == .standard, let node = schedule["frequency"] {
                report(
                    .hourlyRequiresEnhanced, "an Hourly schedule needs an Enhanced policy", at: node.mark,
                    detail: "Standard policies back up once a day or once a week",
                    hint: "set 'policyType: Enhanced' in the spec, or use a Daily schedule")
            }
        } else {
            for field in ["hourInterval", "hourDuration"] {
                if let entry = schedule.entry(field) {
                    report(
                        .notApplicable, "'spec.schedule.\(field)' applies to Hourly schedules only", at: entry.keyMark,
                        hint: "remove it, or set frequency: Hourly")
                }
            }
        }
    }

    private func decodeRetention(_ spec: YAMLNode, frequency: ScheduleFrequency?, scheduledDays: [Weekday]?) -> RetentionSpec {
        var retention = RetentionSpec()
        guard let node = spec["retention"], node.entries != nil, let entry = spec.entry("retention") else { return retention }
        if let count = node.node(at: "daily.count")?.int { retention.daily = DailyRetention(count: count) }
        if let weekly = node["weekly"], let count = weekly["count"]?.int {
            retention.weekly = WeeklyRetention(
                count: count, weekdays: enumSet(weekly["weekdays"], path: "spec.retention.weekly.weekdays"))
        }
        retention.monthly = decodeCalendar(node["monthly"], path: "spec.retention.monthly", at: node.entry("monthly")?.keyMark)
        retention.yearly = decodeCalendar(node["yearly"], path: "spec.retention.yearly", at: node.entry("yearly")?.keyMark)

        switch frequency {
        case .daily?, .hourly?:
            if node["daily"] == nil {
                report(
                    .dailyRetentionRequired, "a \(frequency!.rawValue) schedule needs daily retention", at: entry.keyMark,
                    detail: "every backup of the day is kept by the daily rule",
                    hint: "add 'daily: {count: 30}' under 'spec.retention'")
            }
        case .weekly?:
            if let daily = node.entry("daily") {
                report(
                    .weeklyForbidsDailyRetention, "a Weekly schedule cannot have daily retention", at: daily.keyMark,
                    detail: "there is no daily recovery point to keep when backups run weekly",
                    hint: "remove 'daily', and keep the points with 'weekly'")
            }
            if node["weekly"] == nil {
                report(
                    .weeklyRetentionRequired, "a Weekly schedule needs weekly retention", at: entry.keyMark,
                    hint: "add 'weekly: {count: 12, weekdays: [...]}' with the schedule's days under 'spec.retention'")
            }
        case nil:
            break
        }
        if let scheduledDays {
            for tier in ["weekly", "monthly", "yearly"] {
                for item in node.node(at: "\(tier).weekdays")?.items ?? [] {
                    guard let day = item.string.flatMap(Weekday.init(rawValue:)), !scheduledDays.contains(day) else { continue }
                    report(
                        .weekdayNotScheduled, "\(tier) retention keeps \(day.rawValue), but the Weekly schedule does not back up on \(day.rawValue)",
                        at: item.mark, detail: "a rule can only keep points that backups create",
                        hint: "use one of the scheduled days (\(scheduledDays.map(\.rawValue).joined(separator: ", "))), or add \(day.rawValue) to 'spec.schedule.weekdays'")
                }
            }
        }
        return retention
    }

    private func decodeCalendar(_ node: YAMLNode?, path: String, at anchor: YAMLMark?) -> CalendarRetention? {
        guard let node, node.entries != nil, let anchor else { return nil }
        let weekBased = node["weeks"] != nil || node["weekdays"] != nil
        let dayBased = node["days"] != nil || node["includeLastDay"]?.bool == true
        let shown = ShapeValidator.display(path)
        if weekBased && dayBased {
            let mark = node.entry("days")?.keyMark ?? node.entry("includeLastDay")!.keyMark
            report(
                .conflictingFields, "'\(shown)' mixes the week-based format (weeks, weekdays) with the day-based one (days, includeLastDay)",
                at: mark, hint: "keep either weeks and weekdays, or days and includeLastDay")
        } else if weekBased {
            for field in ["weeks", "weekdays"] where node[field] == nil {
                report(
                    .missingField, "'\(shown)' needs '\(field)' with '\(field == "weeks" ? "weekdays" : "weeks")'", at: anchor,
                    hint: field == "weeks" ? "add 'weeks: [First]'" : "add 'weekdays: [Sunday]'")
            }
        } else if !dayBased {
            report(
                .missingField, "'\(shown)' needs weeks and weekdays, or days", at: anchor,
                hint: "add 'weeks: [First]' and 'weekdays: [Sunday]', or 'days: [1]'")
        }
        guard let count = node["count"]?.int else { return nil }
        return CalendarRetention(
            count: count, months: enumSet(node["months"], path: "\(path).months"),
            weekdays: enumSet(node["weekdays"], path: "\(path).weekdays"), weeks: enumSet(node["weeks"], path: "\(path).weeks"),
            days: intSet(node["days"], path: "\(path).days"), includeLastDay: node["includeLastDay"]?.bool ?? false)
    }

    // MARK: ProtectedVM

    private func decodeProtectedVM(_ spec: YAMLNode) -> ProtectedVMSpec {
        var reference = VMReference(resourceGroup: "", name: "")
        if let vm = spec["vm"], vm.entries != nil, let vmEntry = spec.entry("vm") {
            let byName = ["resourceGroup", "name", "subscription"].compactMap { vm.entry($0) }
            if vm["id"] != nil, let first = byName.first {
                report(
                    .conflictingFields, "'spec.vm' gives both an id and '\(first.key)'", at: first.keyMark,
                    detail: "the id already names the subscription, resource group and VM",
                    hint: "keep either 'id', or 'resourceGroup' and 'name'")
            } else if vm["id"] == nil {
                for field in ["resourceGroup", "name"] where vm[field] == nil {
                    report(
                        .missingField, "'spec.vm' needs 'id', or 'resourceGroup' and 'name' (missing '\(field)')",
                        at: vmEntry.keyMark, hint: "add '\(field):' under 'spec.vm'")
                }
            }
            if let id = vm["id"]?.string, let parsed = VMReference(resourceID: id) {
                reference = parsed
            } else {
                reference = VMReference(
                    subscription: vm["subscription"]?.string, resourceGroup: vm["resourceGroup"]?.string ?? "",
                    name: vm["name"]?.string ?? "")
            }
        }
        var protected = ProtectedVMSpec(vm: reference, vault: spec["vault"]?.string ?? "", policy: spec["policy"]?.string ?? "")
        protected.protectionState = value(spec["protectionState"]) ?? .protected
        protected.deletionPolicy = value(spec["deletionPolicy"]) ?? .retain
        protected.excludeDiskLuns = intSet(spec["excludeDiskLuns"], path: "spec.excludeDiskLuns")
        protected.includeDiskLuns = intSet(spec["includeDiskLuns"], path: "spec.includeDiskLuns")
        if spec["excludeDiskLuns"] != nil, let include = spec.entry("includeDiskLuns") {
            report(
                .conflictingFields, "'spec.excludeDiskLuns' and 'spec.includeDiskLuns' cannot be used together",
                at: include.keyMark, hint: "list the disks to leave out, or the disks to keep, not both")
        }
        return protected
    }

    // MARK: KeyVaultAccessPolicy

    /// The principal of an access policy or a role assignment: exactly one of name, applicationId or objectId.
    private func decodePrincipal(_ spec: YAMLNode, grant: String) -> Principal {
        var principal = Principal.objectID("")
        if let node = spec["principal"], let entries = node.entries, let principalEntry = spec.entry("principal") {
            if entries.isEmpty {
                report(
                    .missingField, "'spec.principal' needs one of name, applicationId or objectId", at: principalEntry.keyMark,
                    hint: "add 'name: \(Principal.backupManagementServiceName)' for Azure Backup")
            } else if entries.count > 1 {
                report(
                    .conflictingFields, "'spec.principal' gives both '\(entries[0].key)' and '\(entries[1].key)'",
                    at: entries[1].keyMark, detail: "\(grant) grants one principal",
                    hint: "keep one of name, applicationId or objectId")
            }
            if node["name"]?.string == Principal.backupManagementServiceName
                || node["applicationId"]?.string == Principal.backupManagementServiceAppID
            {
                principal = .backupManagementService
            } else if let objectID = node["objectId"]?.string {
                principal = .objectID(objectID.lowercased())
            }
        }
        return principal
    }

    private func decodeAccessPolicy(_ spec: YAMLNode, root: YAMLNode) -> KeyVaultAccessPolicySpec {
        let principal = decodePrincipal(spec, grant: "an access policy")
        let keys: [KeyPermission] = enumSet(spec["keyPermissions"], path: "spec.keyPermissions")
        let secrets: [SecretPermission] = enumSet(spec["secretPermissions"], path: "spec.secretPermissions")
        if keys.isEmpty, secrets.isEmpty, let specEntry = root.entry("spec"),
            (spec["keyPermissions"]?.items?.isEmpty ?? true) && (spec["secretPermissions"]?.items?.isEmpty ?? true)
        {
            report(
                .noPermissions, "the access policy grants no permissions", at: specEntry.keyMark,
                detail: "Azure Backup needs keys Get, List, Backup and secrets Get, List, Backup for encrypted VMs",
                hint: "add keyPermissions and secretPermissions")
        }
        return KeyVaultAccessPolicySpec(
            keyVault: spec["keyVault"]?.string ?? "", principal: principal, keyPermissions: keys, secretPermissions: secrets)
    }

    // MARK: KeyVaultRoleAssignment

    private func decodeRoleAssignment(_ spec: YAMLNode) -> KeyVaultRoleAssignmentSpec {
        let principal = decodePrincipal(spec, grant: "a role assignment")
        // A built-in role is written as Azure names it, whatever the case the manifest used.
        var role = spec["role"]?.string ?? ""
        if let builtIn = RoleDefinition.builtIn(role) { role = builtIn.name }
        return KeyVaultRoleAssignmentSpec(keyVault: spec["keyVault"]?.string ?? "", principal: principal, role: role)
    }
}
