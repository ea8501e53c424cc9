import CofferModel
import CofferRules

/// The manifest reference (`docs/manifests.md`), generated from the same field shapes the loader checks and
/// the JSON Schema publishes, so that the reference cannot disagree with either.
///
/// Everything in the page comes from here: the tables from `ManifestShapes`, the naming rules from
/// `NamingRule`, the diagnostic codes from `ManifestCode`, and the prose and examples from the texts below.
/// A test compares the checked-in page with `markdown()` and loads the examples with `ManifestLoader`.
public enum ManifestReference {
    /// The reference page in Markdown; the same text on every call and every machine.
    public static func markdown() -> String {
        var page = Page()
        page.line("<!-- Generated from the manifest schema by ManifestReference.markdown() in")
        page.line("     Sources/CofferManifest/ManifestReference.swift. Do not edit: change the shapes or the texts there,")
        page.line("     then run COFFER_UPDATE_GOLDEN=1 swift test --filter ManifestReferenceTests. -->")
        page.blank()
        page.line("# Manifest reference")
        page.blank()
        page.paragraph(Prose.introduction)
        page.line("Contents:")
        page.blank()
        page.line("- [Documents](#documents)")
        for kind in ManifestShapes.kinds { page.line("- [\(kind.rawValue)](#\(kind.rawValue.lowercased()))") }
        page.line("- [Rules between resources](#rules-between-resources)")
        page.line("- [Value syntax](#value-syntax)")
        page.line("- [Regions](#regions)")
        page.line("- [Time zones](#time-zones)")
        page.line("- [Diagnostic codes](#diagnostic-codes)")
        page.line("- [JSON Schema](#json-schema)")
        page.blank()

        page.line("## Documents")
        page.blank()
        page.paragraph(Prose.documents)
        page.table(rows: rows(of: ManifestShapes.envelope, under: "", skipping: []))
        page.paragraph(Prose.metadata)
        page.line("```yaml")
        page.text(Prose.documentExample)
        page.line("```")
        page.blank()

        for kind in ManifestShapes.kinds {
            page.line("## \(kind.rawValue)")
            page.blank()
            page.paragraph(ManifestShapes.description(of: kind))
            page.paragraph(
                "`metadata.name`: " + escape(ManifestShapes.nameRule(kind).rule) + ". The resource's address is `\(kind.rawValue)/NAME`; "
                    + "`metadata.labels` as for every kind ([Documents](#documents)).")
            page.table(rows: rows(of: ManifestShapes.spec(kind), under: "spec.", skipping: []))
            for note in Prose.notes(kind) { page.paragraph(note) }
            page.line("Example:")
            page.blank()
            page.line("```yaml")
            page.text(Prose.example(kind))
            page.line("```")
            page.blank()
        }

        page.line("## Rules between resources")
        page.blank()
        for rule in Prose.crossResourceRules { page.item(rule) }
        page.blank()

        page.line("## Value syntax")
        page.blank()
        for rule in Prose.valueSyntax { page.item(rule) }
        page.blank()

        page.line("## Regions")
        page.blank()
        page.paragraph(Prose.regions)
        page.paragraph(Regions.names.map { "`\($0)`" }.joined(separator: ", ") + ".")

        page.line("## Time zones")
        page.blank()
        for paragraph in Prose.timeZones { page.paragraph(paragraph) }

        page.line("## Diagnostic codes")
        page.blank()
        page.paragraph(Prose.diagnostics)
        page.line("| code | severity | when |")
        page.line("|---|---|---|")
        for code in ManifestCode.allCases {
            page.line("| `\(code.rawValue)` | \(code.isWarning ? "warning" : "error") | \(escape(code.explanation)) |")
        }
        page.blank()

        page.line("## JSON Schema")
        page.blank()
        page.paragraph(Prose.jsonSchema)
        return page.text.trimmingSuffixNewlines() + "\n"
    }

    /// The examples of the page, one YAML document per kind; together they are a valid set of manifests.
    public static var examples: [(kind: String, yaml: String)] {
        ManifestShapes.kinds.map { ($0.rawValue, Prose.example($0)) }
    }

    // MARK: Tables

    struct Row {
        var field: String
        var type: String
        var requirement: String
        var allowed: String
        var description: String
    }

    /// One row per field of `shape`, depth first, with dotted paths below `prefix`.
    static func rows(of shape: Shape, under prefix: String, skipping: Set<String>) -> [Row] {
        guard case .object(let object) = shape else { return [] }
        var rows: [Row] = []
        for field in object.fields where !skipping.contains(field.name) {
            let path = prefix + field.name
            let requirement =
                field.required ? "required" : field.defaultValue.map { "`\(inline($0))`" } ?? "optional"
            rows.append(Row(field: "`\(path)`", type: typeName(field.shape), requirement: requirement,
                            allowed: allowedValues(field.shape), description: escape(field.doc)))
            if case .object = field.shape {
                rows += Self.rows(of: field.shape, under: path + ".", skipping: [])
            }
        }
        return rows
    }

    static func typeName(_ shape: Shape) -> String {
        switch shape {
        case .any: "mapping"
        case .boolean: "boolean"
        case .integer: "integer"
        case .string(let string):
            switch string.check {
            case .constant: "string"
            case .time: "string (`HH:MM`)"
            default: "string"
            }
        case .object: "mapping"
        case .map: "mapping of string to string"
        case .array(let array): "list of \(typeName(array.items))s"
        }
    }

    static func allowedValues(_ shape: Shape) -> String {
        switch shape {
        case .any, .object:
            return "see below"
        case .boolean:
            return "`true`, `false`"
        case .integer(let integer):
            if let allowed = integer.allowed { return allowed.map { "`\($0)`" }.joined(separator: ", ") }
            switch (integer.minimum, integer.maximum) {
            case (let low?, let high?): return "\(low)–\(high)"
            case (let low?, nil): return "at least \(low)"
            case (nil, let high?): return "at most \(high)"
            case (nil, nil): return "any"
            }
        case .string(let string):
            switch string.check {
            case .free(let maxLength): return "1–\(maxLength) characters"
            case .constant(let value, _): return "`\(value)`"
            case .choice(let values, _, _):
                if values == Regions.names { return "a region: see [Regions](#regions)" }
                return values.map { "`\($0)`" }.joined(separator: ", ")
            case .name(let rule): return escape(rule.rule)
            case .time: return "on the hour or half hour, `00:00`–`23:30`"
            case .vmID: return "`" + NamingRule.vmID.rule + "` (segment names in any case)"
            case .windowsTimeZone: return "a Windows time-zone id: see [Time zones](#time-zones)"
            }
        case .map(let map):
            return "keys: " + escape(map.key.rule) + "; values: at most \(map.valueMaxLength) characters; at most \(map.maxEntries) entries"
        case .array(let array):
            let items = allowedValues(array.items)
            return array.minItems > 0 ? "at least \(array.minItems); each: \(items)" : "each: \(items)"
        }
    }

    /// A default value as YAML writes it.
    static func inline(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .int(let value): String(value)
        case .string(let value): value
        case .array(let values): "[" + values.map(inline).joined(separator: ", ") + "]"
        case .object(let members): "{" + members.map { "\($0.key): \(inline($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    /// Text for a Markdown table cell: no pipes, no HTML.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    // MARK: Writing

    struct Page {
        var text = ""

        mutating func line(_ line: String) { text += line + "\n" }
        mutating func blank() { text += "\n" }
        mutating func text(_ block: String) { text += block.hasSuffix("\n") ? block : block + "\n" }

        /// A paragraph, wrapped at 110 columns, then a blank line.
        mutating func paragraph(_ paragraph: String) {
            wrap(paragraph, first: "", rest: "")
            blank()
        }

        /// A list item, wrapped at 110 columns with its continuation lines indented.
        mutating func item(_ item: String) {
            wrap(item, first: "- ", rest: "  ")
        }

        /// Wraps `text` at spaces outside code spans, so that a code span is never split across lines.
        private mutating func wrap(_ text: String, first: String, rest: String) {
            var words: [String] = []
            for word in text.split(separator: " ", omittingEmptySubsequences: true) {
                if let last = words.last, last.filter({ $0 == "`" }).count % 2 == 1 {
                    words[words.count - 1] += " " + word
                } else {
                    words.append(String(word))
                }
            }
            var current = first
            var empty = true
            for word in words {
                if !empty && current.count + 1 + word.count > 110 {
                    line(current)
                    current = rest
                    empty = true
                }
                current += (empty ? "" : " ") + word
                empty = false
            }
            if !empty { line(current) }
        }

        mutating func table(rows: [Row]) {
            line("| field | type | required / default | allowed values | description |")
            line("|---|---|---|---|---|")
            for row in rows { line("| \(row.field) | \(row.type) | \(row.requirement) | \(row.allowed) | \(row.description) |") }
            blank()
        }
    }
}

extension String {
    fileprivate func trimmingSuffixNewlines() -> String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

extension ManifestCode {
    /// When the code is reported, in one sentence, for the reference.
    var explanation: String {
        switch self {
        case .pathNotFound: "A path given does not exist."
        case .unreadableFile: "A file or directory cannot be read or listed."
        case .notARegularFile: "A path given is a device, socket or pipe."
        case .noManifests: "No .yaml or .yml file among the paths."
        case .fileTooLarge: "A file is over \(Limits.fileBytes); it is not read."
        case .totalTooLarge: "The files are over \(Limits.totalBytes) together; the rest are not read."
        case .tooManyFiles: "More than \(Limits.files) files."
        case .invalidUTF8: "A byte sequence that is not UTF-8."
        case .unsupportedEncoding: "A UTF-16 or UTF-32 byte-order mark."
        case .nulByte: "A NUL byte (binary or UTF-16 text)."
        case .controlCharacter: "A control character YAML forbids."
        case .yamlSyntax: "The file is not valid YAML (with a hint for tabs, indentation and quoting)."
        case .yamlAnchor: "An anchor (&name); the first of a file is shown with the file's count."
        case .yamlAlias: "An alias (*name); never resolved."
        case .yamlTag: "An explicit tag (!!str, !foo)."
        case .yamlMergeKey: "A merge key (<<)."
        case .nonScalarKey: "A mapping or sequence used as a key."
        case .duplicateKey: "A key repeated in a mapping (names the first)."
        case .tooDeep: "Nesting deeper than \(Limits.depth) levels."
        case .tooManyNodes: "More than \(Limits.nodes) YAML nodes in the load."
        case .tooManyDocuments: "More than \(Limits.documents) documents in the load."
        case .unknownAPIVersion: "The apiVersion is not coffer.dev/v1."
        case .unknownKind: "The kind is not one of the five."
        case .unknownField: "A field the kind does not have (with a 'did you mean')."
        case .missingField: "A required field, or one another field requires, is missing."
        case .wrongType: "A value of the wrong type: a quoted number, yes for a boolean, an unquoted number for a string, null."
        case .invalidValue: "Not one of the allowed values, or not a time, VM id or Windows time-zone id (with a 'did you mean')."
        case .invalidName: "A name breaks its naming rule."
        case .outOfRange: "A number or time outside its range."
        case .conflictingFields: "Fields that exclude each other: vm id and name, both LUN lists, both retention formats, two principals."
        case .notApplicable: "A schedule field of another frequency: weekdays on Daily, hourInterval on Weekly."
        case .duplicateValue: "A value repeated in a list that is a set."
        case .crrRequiresGRS: "Cross-region restore without GeoRedundant storage."
        case .encryptionRequiresIdentity: "Vault encryption without identity."
        case .hourlyRequiresEnhanced: "An Hourly schedule on a Standard policy."
        case .dailyRetentionRequired: "A Daily or Hourly schedule without daily retention."
        case .weeklyForbidsDailyRetention: "A Weekly schedule with daily retention."
        case .weeklyRetentionRequired: "A Weekly schedule without weekly retention."
        case .weekdayNotScheduled: "A Weekly schedule's retention keeps a day it does not back up on."
        case .retentionShorterThanSnapshots: "Daily retention shorter than instant-restore retention."
        case .noPermissions: "An access policy that grants nothing."
        case .duplicateResource: "The same Kind/name twice (names the first)."
        case .danglingReference: "A vault or policy that no document declares (a ProtectedVM may name DefaultPolicy or EnhancedPolicy undeclared)."
        case .policyInOtherVault: "A ProtectedVM's policy lives in another vault."
        case .duplicateProtectedVM: "One VM protected by two ProtectedVMs."
        case .suspendRequiresImmutability: "BackupsSuspended in a vault whose immutability is Disabled."
        case .duplicateAccessPolicy: "Two access policies for one principal on one key vault."
        case .duplicateRoleAssignment: "The same role assigned twice to one principal on one key vault."
        case .tooManyDiagnostics: "More than \(Limits.diagnostics) problems; the last diagnostic counts the rest."
        }
    }
}

/// `LoaderLimits.default` in words.
private enum Limits {
    static let values = LoaderLimits.default
    static var fileBytes: String { mebibytes(values.maxFileBytes) }
    static var totalBytes: String { mebibytes(values.maxTotalBytes) }
    static var files: String { count(values.maxFiles) }
    static var documents: String { count(values.maxDocuments) }
    static var nodes: String { count(values.maxNodes) }
    static var depth: String { count(values.maxDepth) }
    static var diagnostics: String { count(values.maxDiagnostics) }

    static func mebibytes(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    /// `20 000`, with a space between thousands as the rest of the page writes numbers.
    static func count(_ value: Int) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += " " }
            out.append(digit)
        }
        return out
    }
}

/// The hand-written parts of the reference: the generator's input besides the shapes.
private enum Prose {
    static let introduction = """
        coffer's desired state is a set of YAML documents in the style of Kubernetes: any number per file, \
        separated by `---`, in any tree of `.yaml` and `.yml` files (hidden files and folders are skipped). \
        `coffer validate PATH...` checks them and reports every problem at once, with its file, line and column; \
        `coffer plan` and `coffer apply` read the same files, or the same tree at a git commit. This page lists \
        every kind and every field: its type, whether it is required or its default, the values it allows, and \
        an example. Field names are camelCase and case-sensitive, and so are enumerated values (a wrong case \
        gets a "did you mean"). A field left out takes the service's default, so a spec read back from a \
        converged platform equals the one in the manifests.
        """

    static let documents = """
        Every document has the same four top-level fields. `spec` depends on `kind` and is described in the \
        section of each kind. In the tables, a field is *required*, *optional* (it may be left out; its \
        description says what that means), or has the default shown. A required field under an optional mapping \
        is required when that mapping is given.
        """

    static let metadata = """
        `metadata.name` names the resource: its address is `Kind/name`, unique across all the files of a load, \
        and other documents refer to vaults and policies by it. For a RecoveryServicesVault and a BackupPolicy \
        it is also the resource's name on the platform and follows the platform's naming rule; for a \
        ProtectedVM, a KeyVaultAccessPolicy and a KeyVaultRoleAssignment it only names the resource in the \
        manifests. `metadata.labels` \
        are for people and tools and never reach the platform: keys are 1–63 letters, digits, hyphens, \
        underscores, periods or slashes, starting and ending with a letter or digit; values are at most 63 \
        characters; at most 64 labels.
        """

    static let documentExample = """
        apiVersion: coffer.dev/v1
        kind: RecoveryServicesVault
        metadata:
          name: rsv-prod-eastus
          labels: {team: platform, tier: prod}
        spec: {resourceGroup: rg-backup-eastus, location: eastus}
        """

    static func notes(_ kind: ResourceKind) -> [String] {
        switch kind {
        case .recoveryServicesVault:
            [
                "`crossRegionRestore: true` needs `storageRedundancy: GeoRedundant` (`crr-requires-grs`), and `encryption` needs "
                    + "`identity` (`encryption-requires-identity`).",
                "Some settings are fixed by the service once they take effect: storage redundancy while a VM is protected, "
                    + "immutability moves Disabled ↔ Unlocked → Locked only, and soft delete `AlwaysOn` is final. A change that "
                    + "only a new vault can have (another `subscription`, `resourceGroup` or `location`, turning "
                    + "`crossRegionRestore` off, leaving `Locked` immutability, changing or removing `encryption`) makes the plan "
                    + "replace the vault (`-/+`), and the platform refuses to delete a vault that still holds backup items.",
            ]
        case .backupPolicy:
            [
                "The schedule decides which other fields apply. **Daily**: `retention.daily` is required; `weekdays`, "
                    + "`hourInterval` and `hourDuration` are not allowed. **Weekly**: `schedule.weekdays` and `retention.weekly` "
                    + "are required, `retention.daily` is not allowed, and every weekday kept by weekly, monthly or yearly "
                    + "retention must be a day the schedule backs up on. **Hourly**: only with `policyType: Enhanced`; "
                    + "`hourInterval` and `hourDuration` are required, and `hourDuration` is a multiple of `hourInterval`.",
                "`instantRestoreRetentionDays` defaults to 2 for a Standard policy (\(PolicyLimits.standardWeeklyInstantRestoreDays) "
                    + "with a Weekly schedule, which allows only \(PolicyLimits.standardWeeklyInstantRestoreDays)) and to 7 for an "
                    + "Enhanced one; Standard allows \(ManifestShapes.instantRestoreSpan(.standard)) and Enhanced "
                    + "\(ManifestShapes.instantRestoreSpan(.enhanced)). A Standard policy becomes "
                    + "Enhanced in place; going back to Standard, or moving to another `vault`, replaces the policy.",
                "Monthly and yearly retention take one of two formats: week-based (`weeks` with `weekdays`, such as the first "
                    + "Sunday) or day-based (`days` and/or `includeLastDay`). Counts are "
                    + PolicyLimits.retention.map { "\($0.tier.rawValue) \($0.span) \($0.unit)" }.joined(separator: ", ")
                    + ", the limits the platform applies; a count outside them is an `out-of-range` error. Daily retention "
                    + "shorter than `instantRestoreRetentionDays` gets a warning.",
                "Weekdays are `Sunday` … `Saturday` and months `January` … `December`, capitalised exactly so. Lists of days, "
                    + "weeks and months are sets: coffer sorts them and warns about repeats.",
            ]
        case .protectedVM:
            [
                "Name the VM either by `vm.id` or by `vm.resourceGroup` and `vm.name` (with `vm.subscription` when it is not the "
                    + "default subscription), not both. The VM must be in the vault's subscription and region, and a VM is "
                    + "protected by one ProtectedVM only.",
                "`policy` must be a BackupPolicy of the same `vault`, or one of the default policies the service makes with "
                    + "every vault, which need no BackupPolicy document: "
                    + DefaultPolicies.all.map { "`\($0.name)` (\(describe($0)))" }.joined(separator: " and ")
                    + ". A BackupPolicy declared with one of "
                    + "these names is the one meant: coffer adopts the vault's own and sets it as declared. coffer never "
                    + "deletes a vault's default policy: when such a declaration leaves the manifests, `--prune` only "
                    + "forgets it. Changing `vm` or `vault` replaces the protection. "
                    + "`BackupsSuspended` needs a vault whose `immutability` is `Unlocked` or `Locked`. `excludeDiskLuns` and "
                    + "`includeDiskLuns` exclude each other, name LUNs the VM has, and are sets.",
                "`deletionPolicy` only matters to `coffer apply --prune`: when the document leaves the manifests, `Retain` stops "
                    + "protection and keeps the recovery points, `Delete` stops protection and deletes them (soft-deleted for "
                    + "the vault's soft-delete days).",
                "Backing up a VM with Azure Disk Encryption needs the Backup Management Service's access to the key vault that "
                    + "holds its keys: a KeyVaultAccessPolicy when the operator is a guest, or a KeyVaultRoleAssignment when the "
                    + "key vault uses Azure RBAC (whoever the operator is); `coffer plan` reports "
                    + "`UserErrorKeyVaultPermissionsNotConfigured` when it is missing.",
            ]
        case .keyVaultAccessPolicy:
            [
                "`principal` holds exactly one of `name`, `applicationId` or `objectId`; the first two both mean the Backup "
                    + "Management Service. One access policy per key vault and principal. Changing `keyVault` or `principal` "
                    + "grants the new key vault or principal and leaves the old access policy on the platform: remove it "
                    + "with `coffer platform keyvault remove-access` (coffer does not replace it yet).",
                "For Azure Backup of ADE-encrypted VMs, the Backup Management Service needs secret permissions `Get`, `List` "
                    + "and `Backup`, plus key permissions `Get`, `List` and `Backup` when a VM's disk key (BEK) is wrapped by a "
                    + "key-encryption key (KEK). Permissions are sets; a policy that grants nothing gets a warning.",
                "The key vault must use access policies: one that uses Azure RBAC ignores them, and `coffer plan` refuses the "
                    + "access policy (`KeyVaultUsesRbacAuthorization`); declare a KeyVaultRoleAssignment there instead.",
            ]
        case .keyVaultRoleAssignment:
            [
                "`principal` holds exactly one of `name`, `applicationId` or `objectId`, as in a KeyVaultAccessPolicy. `role` "
                    + "names a built-in Key Vault role (written in any case, kept as Azure names it: "
                    + RoleDefinition.builtInKeyVaultRoles.map { "`\($0.name)`" }.joined(separator: ", ")
                    + ") or a custom role of the tenant; a role the platform does not have is a plan error "
                    + "(`RoleDefinitionDoesNotExist`). An assignment cannot change in place (its id derives from its key vault, "
                    + "principal and role): changing one of them makes apply create another assignment, and the old one stays "
                    + "on the platform until it is removed (`coffer platform keyvault remove-role`).",
                "The key vault must use Azure RBAC: one that uses access policies ignores role assignments for its keys and "
                    + "secrets, and `coffer plan` refuses the assignment (`KeyVaultUsesAccessPolicies`).",
                "For Azure Backup of ADE-encrypted VMs, assign the Backup Management Service `Key Vault Administrator`, or a "
                    + "custom role whose dataActions cover `Microsoft.KeyVault/vaults/secrets/getSecret/action`, "
                    + "`…/secrets/readMetadata/action` and `…/secrets/backup/action`, plus `…/keys/read` and "
                    + "`…/keys/backup/action` when a KEK wraps the VM's disk key. Enabling protection never assigns the role "
                    + "by itself, whoever the operator is.",
            ]
        }
    }

    static func example(_ kind: ResourceKind) -> String {
        switch kind {
        case .recoveryServicesVault:
            """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata:
              name: rsv-prod-eastus
              labels: {team: platform}
            spec:
              resourceGroup: rg-backup-eastus
              location: eastus
              storageRedundancy: GeoRedundant
              crossRegionRestore: true
              immutability: Unlocked
              softDelete: {state: Enabled, retentionDays: 30}
              tags: {cost-center: "4711"}
            """
        case .backupPolicy:
            """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata:
              name: weekly-standard-eastus
            spec:
              vault: rsv-prod-eastus
              policyType: Standard
              timeZone: UTC
              schedule: {frequency: Weekly, time: "23:30", weekdays: [Saturday, Sunday]}
              instantRestoreRetentionDays: 5
              retention:
                weekly: {count: 12, weekdays: [Sunday]}
                monthly: {count: 12, weeks: [First], weekdays: [Sunday]}
                yearly: {count: 7, months: [January], weeks: [First], weekdays: [Sunday]}
            """
        case .protectedVM:
            """
            apiVersion: coffer.dev/v1
            kind: ProtectedVM
            metadata:
              name: win-app-01
            spec:
              vm: {resourceGroup: rg-app-eastus, name: win-app-01}
              vault: rsv-prod-eastus
              policy: weekly-standard-eastus
              deletionPolicy: Retain
            """
        case .keyVaultAccessPolicy:
            """
            apiVersion: coffer.dev/v1
            kind: KeyVaultAccessPolicy
            metadata:
              name: kv-app-eastus-backup
            spec:
              keyVault: kv-app-eastus
              principal: {name: Backup Management Service}
              keyPermissions: [Get, List, Backup]
              secretPermissions: [Get, List, Backup]
            """
        case .keyVaultRoleAssignment:
            """
            apiVersion: coffer.dev/v1
            kind: KeyVaultRoleAssignment
            metadata:
              name: kv-rbac-eastus-backup
            spec:
              keyVault: kv-rbac-eastus
              principal: {name: Backup Management Service}
              role: Key Vault Administrator
            """
        }
    }

    /// A default policy in words: "Standard, daily at 00:00 UTC, 2 days of snapshots, daily points kept 30 days".
    static func describe(_ policy: DefaultPolicy) -> String {
        let spec = policy.spec(in: "")
        let zone = spec.timeZone
        let schedule: String = switch spec.schedule.frequency {
        case .hourly:
            "every \(spec.schedule.hourInterval ?? 0) hours from \(spec.schedule.time) \(zone) for \(spec.schedule.hourDuration ?? 0) hours"
        case .daily: "daily at \(spec.schedule.time) \(zone)"
        case .weekly: "weekly on \(spec.schedule.weekdays.map(\.rawValue).joined(separator: ", ")) at \(spec.schedule.time) \(zone)"
        }
        var parts = [spec.policyType.rawValue, schedule, "\(spec.instantRestoreRetentionDays) days of snapshots"]
        if let daily = spec.retention.daily { parts.append("daily points kept \(daily.count) days") }
        return parts.joined(separator: ", ")
    }

    static let crossResourceRules = [
        "Each address `Kind/name` appears once across all files (`duplicate-resource`).",
        "A BackupPolicy's `vault`, and a ProtectedVM's `vault` and `policy`, name documents of the same load "
            + "(`dangling-reference`), except a ProtectedVM's `policy: DefaultPolicy` or `policy: EnhancedPolicy`, which "
            + "every vault has (written exactly so); a ProtectedVM's policy is in its vault (`policy-in-other-vault`). A "
            + "reference is not reported when a file could not be read to its end, since the resource may be in the "
            + "unread part.",
        "A VM (same subscription as written, resource group and name compared case-insensitively) is protected once "
            + "(`duplicate-protected-vm`).",
        "`protectionState: BackupsSuspended` only in a vault whose immutability is not `Disabled` (`suspend-requires-immutability`).",
        "One KeyVaultAccessPolicy per key vault and principal (`duplicate-access-policy`), and one KeyVaultRoleAssignment "
            + "per key vault, principal and role (`duplicate-role-assignment`).",
        "What only the platform knows (that the VM, the key vault, the role or the resource group exists, the VM's region, "
            + "the key vault's permission model and its permissions for encrypted VMs) is checked by `coffer plan`, with the "
            + "platform's error codes.",
    ]

    static let valueSyntax = [
        "Booleans are `true` and `false` only: `yes`, `on` and `True` are strings, so `crossRegionRestore: yes` is a "
            + "`wrong-type` error.",
        "Integers are decimal and unquoted: `count: \"30\"` is a `wrong-type` error. A quoted or block scalar is always a string.",
        "A plain number given to a string field is a `wrong-type` error: quote it (`cost-center: \"4711\"`). Times are "
            + "strings: write `time: \"02:30\"` (YAML 1.1 tools read an unquoted `02:30` as the number 150).",
        "`null`, `~` and an empty value are null, which no field accepts: leave the field out instead.",
        "Anchors (`&a`), aliases (`*a`), tags (`!!str`), merge keys (`<<`) and duplicate keys are refused.",
        "Limits of one load, against hostile input: \(Limits.fileBytes) per file, \(Limits.totalBytes) and \(Limits.files) files in all, "
            + "\(Limits.documents) documents, \(Limits.depth) levels of nesting, \(Limits.nodes) nodes, \(Limits.diagnostics) diagnostics.",
    ]

    static let regions = """
        `location` takes an Azure region's ARM name. Whether the platform offers a region (and whether it has a \
        pair for GeoRedundant storage and cross-region restore) is the platform's to say: the simulated platform \
        offers the regions its world file lists.
        """

    static let timeZones = [
        """
        A BackupPolicy's `timeZone` is a Windows time-zone id, as Azure Backup takes it: `UTC`, \
        `W. Europe Standard Time`, `W. Australia Standard Time`, `India Standard Time`, `Pacific Standard Time`. \
        The ids are CLDR's mapping of Windows ids to tz database zones, read from the system ICU (libicu): about \
        140, the ids Windows lists (`tzutil /l`, or `Get-TimeZone -ListAvailable` in PowerShell) but for a few \
        retired ones such as `Mid-Atlantic Standard Time`. The loader and the platform read the same table, so a \
        zone that validates is not refused at apply.
        """,
        """
        Write the id exactly as Windows spells it, case included: `W. Europe Standard Time`, not \
        `w. europe standard time` nor the tz name `Europe/Berlin`. A misspelt id, one in another case and a tz \
        database name are errors with a "did you mean" naming the id.
        """,
        """
        Schedules and retention use the zone's standard offset all year (the service does not adjust schedules \
        for daylight saving time): `02:00` in `W. Australia Standard Time` (+08:00) is 18:00 UTC the day before.
        """,
    ]

    static let diagnostics = """
        `coffer validate` prints each diagnostic as `file:line:column: severity[code]: summary`, the source line \
        with a caret, and a hint; `--output json` gives the same fields. Warnings do not make the manifests \
        invalid.
        """

    static let jsonSchema = """
        `coffer schema` prints the JSON Schema (draft 2020-12) of one manifest document, from the same shapes as \
        this page: types, enumerations, ranges, name patterns and the rules within one resource. Editors with a \
        YAML language server can use it: `coffer schema > coffer.schema.json`, then start a manifest with \
        `# yaml-language-server: $schema=coffer.schema.json`. Rules between resources are `coffer validate`'s alone.
        """
}
