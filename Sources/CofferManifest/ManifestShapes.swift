import CofferModel
import CofferRules

/// The shapes of the manifest documents: the single description of field names, types, defaults and static
/// limits that the loader enforces and the JSON Schema publishes.
enum ManifestShapes {
    static let apiVersion = "coffer.dev/v1"

    /// `HH:MM` on the hour or half hour, as the schema states it.
    static let timePattern = "^([01][0-9]|2[0-3]):[03]0$"

    /// The five kinds, in the order the schema lists them.
    static let kinds: [ResourceKind] = [.recoveryServicesVault, .backupPolicy, .protectedVM, .keyVaultAccessPolicy, .keyVaultRoleAssignment]

    // MARK: Documents

    /// The fields every document has, before its kind is known.
    static let envelope = Shape.object([
        Field("apiVersion", .string(StringShape(check: .constant(apiVersion, .unknownAPIVersion))), required: true,
              "The manifest format's version: coffer.dev/v1."),
        Field("kind", .choice(kinds.map(\.rawValue), noun: "kind", code: .unknownKind), required: true,
              "The resource's kind."),
        Field("metadata", .any, required: true, "The resource's name and labels."),
        Field("spec", .any, required: true, "The resource's desired state."),
    ])

    /// The whole shape of a document of `kind`.
    static func document(_ kind: ResourceKind) -> Shape {
        switch kind {
        case .recoveryServicesVault: vaultDocument
        case .backupPolicy: policyDocument
        case .protectedVM: protectedVMDocument
        case .keyVaultAccessPolicy: accessPolicyDocument
        case .keyVaultRoleAssignment: roleAssignmentDocument
        }
    }

    private static let vaultDocument = makeDocument(.recoveryServicesVault)
    private static let policyDocument = makeDocument(.backupPolicy)
    private static let protectedVMDocument = makeDocument(.protectedVM)
    private static let accessPolicyDocument = makeDocument(.keyVaultAccessPolicy)
    private static let roleAssignmentDocument = makeDocument(.keyVaultRoleAssignment)

    private static func makeDocument(_ kind: ResourceKind) -> Shape {
        .object([
            Field("apiVersion", .string(StringShape(check: .constant(apiVersion, .unknownAPIVersion))), required: true,
                  "The manifest format's version: coffer.dev/v1."),
            Field("kind", .string(StringShape(check: .constant(kind.rawValue, .unknownKind))), required: true,
                  "The resource's kind."),
            Field("metadata", metadata(kind), required: true, "The resource's name and labels."),
            Field("spec", spec(kind), required: true, description(of: kind)),
        ])
    }

    static func description(of kind: ResourceKind) -> String {
        switch kind {
        case .recoveryServicesVault: "A Recovery Services vault that holds backups."
        case .backupPolicy: "A backup policy for Azure VMs: when backups run and how long recovery points are kept."
        case .protectedVM: "A virtual machine protected by a backup policy in a vault."
        case .keyVaultAccessPolicy: "An access policy on a key vault, such as the one Azure Backup needs for encrypted VMs."
        case .keyVaultRoleAssignment:
            "A role assigned on a key vault that uses Azure RBAC, such as the one Azure Backup needs for encrypted VMs."
        }
    }

    /// The rule `metadata.name` follows for `kind`: the platform's naming rule where the name is the
    /// resource's platform name, else coffer's identifier rule.
    static func nameRule(_ kind: ResourceKind) -> NamingRule {
        switch kind {
        case .recoveryServicesVault: .vault
        case .backupPolicy: .policy
        case .protectedVM, .keyVaultAccessPolicy, .keyVaultRoleAssignment: .identifier
        }
    }

    static func metadata(_ kind: ResourceKind) -> Shape {
        let nameDoc =
            switch kind {
            case .recoveryServicesVault, .backupPolicy: "The resource's name on the platform; its address is \(kind.rawValue)/NAME."
            case .protectedVM, .keyVaultAccessPolicy, .keyVaultRoleAssignment:
                "The resource's name in the manifests; its address is \(kind.rawValue)/NAME."
            }
        return .object([
            Field("name", .name(nameRule(kind)), required: true, nameDoc),
            Field("labels", .map(MapShape(key: .labelKey, valueMaxLength: 63, maxEntries: 64)),
                  "Free-form labels (string to string) for people and tools; not sent to the platform."),
        ])
    }

    static func spec(_ kind: ResourceKind) -> Shape {
        switch kind {
        case .recoveryServicesVault: vaultSpec
        case .backupPolicy: policySpec
        case .protectedVM: protectedVMSpec
        case .keyVaultAccessPolicy: accessPolicySpec
        case .keyVaultRoleAssignment: roleAssignmentSpec
        }
    }

    // MARK: RecoveryServicesVault

    static let vaultSpec = Shape.object(
        [
            Field("subscription", .name(.subscription), "The subscription (id or name); the platform's default subscription when left out."),
            Field("resourceGroup", .name(.resourceGroup), required: true, "The resource group that holds the vault."),
            Field("location", .choice(Regions.names, noun: "region"), required: true,
                  "The region (ARM name, such as eastus); changing it replaces the vault."),
            Field("sku", .choice(VaultSKU.self, noun: "SKU"), default: .string("Standard"), "The vault's SKU."),
            Field("storageRedundancy", .choice(StorageRedundancy.self, noun: "storage redundancy"),
                  default: .string("GeoRedundant"), "How backup data is replicated; locked once a VM is protected."),
            Field("crossRegionRestore", .boolean, default: .bool(false),
                  "Restore in the paired region; needs GeoRedundant storage and cannot be turned off once protection starts."),
            Field("immutability", .choice(Immutability.self, noun: "immutability state"), default: .string("Disabled"),
                  "Whether recovery points are protected from early deletion; Locked is irreversible."),
            Field("softDelete", .object([
                Field("state", .choice(SoftDeleteState.self, noun: "soft-delete state"), default: .string("Enabled"),
                      "Enabled, or AlwaysOn (irreversible)."),
                Field("retentionDays", .integer(14...180), default: .int(14), "Days a deleted backup item stays recoverable."),
            ]), "Soft delete of backup data; always on for Recovery Services vaults."),
            Field("publicNetworkAccess", .boolean, default: .bool(true), "Whether the vault is reachable from public networks."),
            Field("identity", .object([
                Field("type", .choice(["SystemAssigned"], noun: "identity type"), required: true,
                      "The managed identity's type; only SystemAssigned is supported."),
            ]), "A managed identity for the vault, needed to encrypt backup data with a customer key."),
            Field("encryption", .object([
                Field("keyVault", .name(.keyVault), required: true, "The key vault that holds the key."),
                Field("key", .name(.keyName), required: true, "The RSA key's name in that key vault."),
                Field("infrastructureEncryption", .boolean, default: .bool(false), "Double encryption; fixed once set."),
            ]), "Encrypt backup data with a customer-managed key (needs identity); irreversible."),
            Field("tags", .map(MapShape(key: .tagName, valueMaxLength: 256, maxEntries: 50)),
                  "Azure tags on the vault (string to string, at most 50)."),
        ],
        rules: [
            .init(key: "dependentRequired", value: .object(["encryption": .strings(["identity"])])),
            .init(key: "if", value: .object([
                "properties": .object(["crossRegionRestore": .object(["const": .bool(true)])]),
                "required": .strings(["crossRegionRestore"]),
            ])),
            .init(key: "then", value: .object([
                "properties": .object(["storageRedundancy": .object(["const": .string("GeoRedundant")])]),
            ])),
        ])

    // MARK: BackupPolicy

    private static let weekday = Shape.choice(Weekday.self, noun: "weekday")

    /// The instant-restore days a policy of `type` accepts, with an en dash: "1–5".
    static func instantRestoreSpan(_ type: PolicyType) -> String {
        let days = PolicyLimits.instantRestoreDays(type)
        return "\(days.lowerBound)–\(days.upperBound)"
    }

    static func calendarRetention(yearly: Bool) -> Shape {
        let unit = yearly ? "Years" : "Months"
        let limit = yearly ? PolicyLimits.yearly : PolicyLimits.monthly
        var fields = [Field("count", .integer(limit.counts), required: true, "\(unit) to keep the points: \(limit.span).")]
        if yearly {
            fields.append(Field("months", .list(.choice(Month.self, noun: "month"), minItems: 1), required: true,
                                "The months whose points are kept."))
        }
        fields += [
            Field("weekdays", .list(weekday, minItems: 1), "With weeks: keep the point of these days (week-based format)."),
            Field("weeks", .list(.choice(WeekOfMonth.self, noun: "week of the month"), minItems: 1),
                  "With weekdays: the weeks of the month (week-based format)."),
            Field("days", .list(.integer(1...31), minItems: 1), "Days of the month, 1–31 (day-based format)."),
            Field("includeLastDay", .boolean, default: .bool(false), "Also keep the month's last day (day-based format)."),
        ]
        let dayBased = JSONValue.object(["anyOf": .array([
            .object(["required": .strings(["days"])]),
            .object(["properties": .object(["includeLastDay": .object(["const": .bool(true)])]), "required": .strings(["includeLastDay"])]),
        ])])
        return .object(fields, rules: [
            .init(key: "oneOf", value: .array([
                .object(["required": .strings(["weeks", "weekdays"]), "not": dayBased]),
                .object(["allOf": .array([dayBased]), "not": .object(["anyOf": .array([
                    .object(["required": .strings(["weeks"])]), .object(["required": .strings(["weekdays"])]),
                ])])]),
            ])),
        ])
    }

    private static func frequencyIs(_ frequency: String) -> JSONValue {
        .object([
            "properties": .object(["schedule": .object([
                "properties": .object(["frequency": .object(["const": .string(frequency)])]),
            ])]),
        ])
    }

    private static let enhanced = JSONValue.object([
        "properties": .object(["policyType": .object(["const": .string("Enhanced")])]),
        "required": .strings(["policyType"]),
    ])

    static let policySpec = Shape.object(
        [
            Field("vault", .name(.vault), required: true, "The name of the RecoveryServicesVault the policy lives in."),
            Field("policyType", .choice(PolicyType.self, noun: "policy type"), default: .string("Standard"),
                  "Standard (V1) or Enhanced (V2); Hourly schedules need Enhanced, and Enhanced cannot go back to Standard."),
            Field("timeZone", .string(StringShape(check: .windowsTimeZone)), default: .string("UTC"),
                  "A Windows time-zone id, spelled exactly, such as UTC or W. Europe Standard Time; schedules use its standard offset all year."),
            Field("schedule", .object(
                [
                    Field("frequency", .choice(ScheduleFrequency.self, noun: "frequency"), required: true,
                          "Hourly (Enhanced only), Daily or Weekly."),
                    Field("time", .string(StringShape(check: .time)), required: true,
                          "The time of day, HH:MM on the hour or half hour (for Hourly, the window's start)."),
                    Field("weekdays", .list(weekday, minItems: 1), "The days of a Weekly schedule (Weekly only)."),
                    Field("hourInterval", .integer(IntegerShape(allowed: [4, 6, 8, 12])),
                          "Hours between backups: 4, 6, 8 or 12 (Hourly only)."),
                    Field("hourDuration", .integer(4...24),
                          "The window's length in hours: 4–24, a multiple of hourInterval (Hourly only)."),
                ],
                rules: [
                    .init(key: "allOf", value: .array([
                        .object([
                            "if": .object(["properties": .object(["frequency": .object(["const": .string("Hourly")])])]),
                            "then": .object(["required": .strings(["hourInterval", "hourDuration"])]),
                            "else": .object(["not": .object(["anyOf": .array([
                                .object(["required": .strings(["hourInterval"])]),
                                .object(["required": .strings(["hourDuration"])]),
                            ])])]),
                        ]),
                        .object([
                            "if": .object(["properties": .object(["frequency": .object(["const": .string("Weekly")])])]),
                            "then": .object(["required": .strings(["weekdays"])]),
                            "else": .object(["not": .object(["required": .strings(["weekdays"])])]),
                        ]),
                    ])),
                ]), required: true, "When backups run."),
            Field("instantRestoreRetentionDays", .integer(PolicyLimits.instantRestoreDaysAnyType),
                  "Days instant-restore snapshots are kept: Standard \(instantRestoreSpan(.standard)) (default 2; "
                      + "\(PolicyLimits.standardWeeklyInstantRestoreDays) for Weekly), Enhanced \(instantRestoreSpan(.enhanced)) (default 7)."),
            Field("retention", .object([
                Field("daily", .object([
                    Field("count", .integer(PolicyLimits.daily.counts), required: true,
                          "Days to keep daily points: \(PolicyLimits.daily.span)."),
                ]), "Keep every daily point (required for Daily and Hourly schedules, not allowed for Weekly)."),
                Field("weekly", .object([
                    Field("count", .integer(PolicyLimits.weekly.counts), required: true,
                          "Weeks to keep the points: \(PolicyLimits.weekly.span)."),
                    Field("weekdays", .list(weekday, minItems: 1), required: true, "The days whose points are kept."),
                ]), "Keep weekly points (required for Weekly schedules)."),
                Field("monthly", calendarRetention(yearly: false), "Keep monthly points."),
                Field("yearly", calendarRetention(yearly: true), "Keep yearly points."),
            ]), required: true, "How long recovery points are kept."),
        ],
        rules: [
            .init(key: "allOf", value: .array([
                .object([
                    "if": frequencyIs("Weekly"),
                    "then": .object(["properties": .object(["retention": .object([
                        "required": .strings(["weekly"]), "not": .object(["required": .strings(["daily"])]),
                    ])])]),
                    "else": .object(["properties": .object(["retention": .object(["required": .strings(["daily"])])])]),
                ]),
                .object(["if": frequencyIs("Hourly"), "then": enhanced]),
                .object([
                    "if": enhanced,
                    "else": .object(["properties": .object(["instantRestoreRetentionDays": .object([
                        "maximum": .int(PolicyLimits.instantRestoreDays(.standard).upperBound),
                    ])])]),
                ]),
                .object([
                    "if": .object(["allOf": .array([frequencyIs("Weekly"), .object(["not": enhanced])])]),
                    "then": .object(["properties": .object(["instantRestoreRetentionDays": .object([
                        "const": .int(PolicyLimits.standardWeeklyInstantRestoreDays),
                    ])])]),
                ]),
            ])),
        ])

    // MARK: ProtectedVM

    static let protectedVMSpec = Shape.object(
        [
            Field("vm", .object(
                [
                    Field("id", .string(StringShape(check: .vmID)),
                          "The VM's ARM id; or give resourceGroup and name instead."),
                    Field("resourceGroup", .name(.resourceGroup), "The VM's resource group (with name)."),
                    Field("name", .name(.vmName), "The VM's name (with resourceGroup)."),
                    Field("subscription", .name(.subscription),
                          "The VM's subscription (with resourceGroup and name); the default subscription when left out."),
                ],
                rules: [
                    .init(key: "oneOf", value: .array([
                        .object([
                            "required": .strings(["id"]),
                            "not": .object(["anyOf": .array(["resourceGroup", "name", "subscription"].map {
                                .object(["required": .strings([$0])])
                            })]),
                        ]),
                        .object(["required": .strings(["resourceGroup", "name"]), "not": .object(["required": .strings(["id"])])]),
                    ])),
                ]), required: true, "The virtual machine to protect."),
            Field("vault", .name(.vault), required: true, "The name of the RecoveryServicesVault that holds the backups."),
            Field("policy", .name(.policy), required: true, "The name of the BackupPolicy, in the same vault; or DefaultPolicy or EnhancedPolicy, which every vault has, undeclared."),
            Field("protectionState", .choice(ProtectionState.self, noun: "protection state"), default: .string("Protected"),
                  "Protected; ProtectionStopped (stop and keep data forever); BackupsSuspended (stop and keep data per policy; immutable vaults only)."),
            Field("deletionPolicy", .choice(DeletionPolicy.self, noun: "deletion policy"), default: .string("Retain"),
                  "What pruning does when the resource leaves the manifests: Retain the recovery points or Delete them."),
            Field("excludeDiskLuns", .list(.integer(0...63)), "Data disks (by LUN) left out of backups; not with includeDiskLuns."),
            Field("includeDiskLuns", .list(.integer(0...63)), "The only data disks (by LUN) backed up; not with excludeDiskLuns."),
        ],
        rules: [
            .init(key: "not", value: .object(["required": .strings(["excludeDiskLuns", "includeDiskLuns"])])),
        ])

    // MARK: KeyVaultAccessPolicy

    /// Who an access policy or a role assignment grants to.
    static let principal = Shape.object(
        [
            Field("name", .choice([Principal.backupManagementServiceName], noun: "principal name"),
                  "The only principal known by name: Backup Management Service."),
            Field("applicationId", .choice([Principal.backupManagementServiceAppID], noun: "application id"),
                  "The Backup Management Service's application id (the same principal as its name)."),
            Field("objectId", .name(.uuid), "Any principal, by object id."),
        ],
        rules: [
            .init(key: "minProperties", value: .int(1)),
            .init(key: "maxProperties", value: .int(1)),
        ])

    static let accessPolicySpec = Shape.object([
        Field("keyVault", .name(.keyVault), required: true, "The key vault's name (key vault names are global)."),
        Field("principal", principal, required: true, "Who is granted access: exactly one of name, applicationId or objectId."),
        Field("keyPermissions", .list(.choice(KeyPermission.self, noun: "key permission")),
              "Key permissions (case-sensitive, e.g. Get, List, Backup)."),
        Field("secretPermissions", .list(.choice(SecretPermission.self, noun: "secret permission")),
              "Secret permissions (case-sensitive, e.g. Get, List, Backup)."),
    ])

    // MARK: KeyVaultRoleAssignment

    /// The longest role name coffer accepts (a bound against hostile input; role names are a few words).
    static let roleNameMaxLength = 512

    static let roleAssignmentSpec = Shape.object([
        Field("keyVault", .name(.keyVault), required: true,
              "The key vault's name (key vault names are global): the assignment's scope. The key vault must use Azure RBAC."),
        Field("principal", principal, required: true, "Who is assigned the role: exactly one of name, applicationId or objectId."),
        Field("role", .free(roleNameMaxLength), required: true,
              "The role's name: a built-in Key Vault role (Key Vault Administrator for Azure Backup) or a custom role of the tenant."),
    ])
}
