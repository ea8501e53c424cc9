// The desired shape of each resource kind, fully resolved: every field the service defaults is filled in,
// so that a spec read back from a converged platform equals the spec from the manifests (no perpetual diffs).

// MARK: - Recovery Services vault

public enum StorageRedundancy: String, Codable, Sendable, Hashable, CaseIterable {
    case geoRedundant = "GeoRedundant"
    case locallyRedundant = "LocallyRedundant"
    case zoneRedundant = "ZoneRedundant"
}

public enum Immutability: String, Codable, Sendable, Hashable, CaseIterable {
    case disabled = "Disabled"
    case unlocked = "Unlocked"
    case locked = "Locked"
}

public enum SoftDeleteState: String, Codable, Sendable, Hashable, CaseIterable {
    /// On, and may still be made AlwaysOn. Recovery Services vaults can no longer turn it off.
    case enabled = "Enabled"
    /// On for good: irreversible.
    case alwaysOn = "AlwaysOn"
}

public enum VaultSKU: String, Codable, Sendable, Hashable, CaseIterable {
    case standard = "Standard"
    case rs0 = "RS0"
}

/// Backup data encrypted with a customer key through the vault's system-assigned identity.
public struct VaultEncryption: Codable, Sendable, Hashable {
    /// The key vault that holds the key.
    public var keyVault: String
    /// The RSA key's name in that key vault.
    public var key: String
    /// Double encryption; fixed once set.
    public var infrastructureEncryption: Bool

    public init(keyVault: String, key: String, infrastructureEncryption: Bool = false) {
        self.keyVault = keyVault
        self.key = key
        self.infrastructureEncryption = infrastructureEncryption
    }
}

public struct VaultSpec: Codable, Sendable, Hashable {
    /// The subscription; nil means the platform's default subscription.
    public var subscription: String?
    public var resourceGroup: String
    /// The region; changing it forces replacement.
    public var location: String
    public var sku: VaultSKU
    public var storageRedundancy: StorageRedundancy
    public var crossRegionRestore: Bool
    public var immutability: Immutability
    public var softDeleteState: SoftDeleteState
    /// Days a deleted item stays recoverable: 14–180.
    public var softDeleteRetentionDays: Int
    public var publicNetworkAccess: Bool
    /// Whether the vault has a system-assigned managed identity (needed for customer-key encryption).
    public var systemAssignedIdentity: Bool
    public var encryption: VaultEncryption?
    public var tags: [String: String]

    public init(
        subscription: String? = nil, resourceGroup: String, location: String, sku: VaultSKU = .standard,
        storageRedundancy: StorageRedundancy = .geoRedundant, crossRegionRestore: Bool = false,
        immutability: Immutability = .disabled, softDeleteState: SoftDeleteState = .enabled,
        softDeleteRetentionDays: Int = 14, publicNetworkAccess: Bool = true, systemAssignedIdentity: Bool = false,
        encryption: VaultEncryption? = nil, tags: [String: String] = [:]
    ) {
        self.subscription = subscription
        self.resourceGroup = resourceGroup
        self.location = location
        self.sku = sku
        self.storageRedundancy = storageRedundancy
        self.crossRegionRestore = crossRegionRestore
        self.immutability = immutability
        self.softDeleteState = softDeleteState
        self.softDeleteRetentionDays = softDeleteRetentionDays
        self.publicNetworkAccess = publicNetworkAccess
        self.systemAssignedIdentity = systemAssignedIdentity
        self.encryption = encryption
        self.tags = tags
    }
}

// MARK: - Backup policy

public enum PolicyType: String, Codable, Sendable, Hashable, CaseIterable {
    /// The API's V1.
    case standard = "Standard"
    /// The API's V2.
    case enhanced = "Enhanced"
}

public enum ScheduleFrequency: String, Codable, Sendable, Hashable, CaseIterable {
    case hourly = "Hourly"
    case daily = "Daily"
    case weekly = "Weekly"
}

public enum Weekday: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case sunday = "Sunday", monday = "Monday", tuesday = "Tuesday", wednesday = "Wednesday"
    case thursday = "Thursday", friday = "Friday", saturday = "Saturday"

    /// 1 for Sunday through 7 for Saturday, as Gregorian calendars number them.
    public var number: Int { Self.allCases.firstIndex(of: self)! + 1 }
    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.number < rhs.number }
}

public enum WeekOfMonth: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case first = "First", second = "Second", third = "Third", fourth = "Fourth", last = "Last"
    public static func < (lhs: WeekOfMonth, rhs: WeekOfMonth) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

public enum Month: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case january = "January", february = "February", march = "March", april = "April", may = "May"
    case june = "June", july = "July", august = "August", september = "September", october = "October"
    case november = "November", december = "December"

    /// 1 for January through 12.
    public var number: Int { Self.allCases.firstIndex(of: self)! + 1 }
    public static func < (lhs: Month, rhs: Month) -> Bool { lhs.number < rhs.number }
}

/// A time of day, `HH:MM`, encoded as that string.
public struct TimeOfDay: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    /// Parses `HH:MM` (two digits each); nil for anything else or out-of-range values.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    public var description: String {
        (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = TimeOfDay(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not HH:MM: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: TimeOfDay, rhs: TimeOfDay) -> Bool { (lhs.hour, lhs.minute) < (rhs.hour, rhs.minute) }
}

public struct BackupSchedule: Codable, Sendable, Hashable {
    public var frequency: ScheduleFrequency
    /// The time of day (Daily, Weekly) or the window's start (Hourly).
    public var time: TimeOfDay
    /// The days of a Weekly schedule; empty otherwise.
    public var weekdays: [Weekday]
    /// Hours between backups of an Hourly schedule: 4, 6, 8 or 12.
    public var hourInterval: Int?
    /// Length of an Hourly schedule's window in hours: 4–24, a multiple of the interval.
    public var hourDuration: Int?

    public init(
        frequency: ScheduleFrequency, time: TimeOfDay, weekdays: [Weekday] = [], hourInterval: Int? = nil,
        hourDuration: Int? = nil
    ) {
        self.frequency = frequency
        self.time = time
        self.weekdays = weekdays
        self.hourInterval = hourInterval
        self.hourDuration = hourDuration
    }
}

public struct DailyRetention: Codable, Sendable, Hashable {
    /// Days: `PolicyLimits.daily` (7–9999).
    public var count: Int
    public init(count: Int) { self.count = count }
}

public struct WeeklyRetention: Codable, Sendable, Hashable {
    /// Weeks: `PolicyLimits.weekly` (1–5163).
    public var count: Int
    public var weekdays: [Weekday]
    public init(count: Int, weekdays: [Weekday]) {
        self.count = count
        self.weekdays = weekdays
    }
}

/// Monthly or yearly retention: either week-based (`weekdays` + `weeks`) or day-based (`days`, with
/// `includeLastDay` for "Last").
public struct CalendarRetention: Codable, Sendable, Hashable {
    /// Months or years: `PolicyLimits.monthly` (1–1188) or `PolicyLimits.yearly` (1–99).
    public var count: Int
    /// The months a yearly rule keeps points from; empty for a monthly rule.
    public var months: [Month]
    public var weekdays: [Weekday]
    public var weeks: [WeekOfMonth]
    /// Days of the month, 1–31.
    public var days: [Int]
    public var includeLastDay: Bool

    public init(
        count: Int, months: [Month] = [], weekdays: [Weekday] = [], weeks: [WeekOfMonth] = [], days: [Int] = [],
        includeLastDay: Bool = false
    ) {
        self.count = count
        self.months = months
        self.weekdays = weekdays
        self.weeks = weeks
        self.days = days
        self.includeLastDay = includeLastDay
    }
}

public struct RetentionSpec: Codable, Sendable, Hashable {
    public var daily: DailyRetention?
    public var weekly: WeeklyRetention?
    public var monthly: CalendarRetention?
    public var yearly: CalendarRetention?

    public init(
        daily: DailyRetention? = nil, weekly: WeeklyRetention? = nil, monthly: CalendarRetention? = nil,
        yearly: CalendarRetention? = nil
    ) {
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.yearly = yearly
    }
}

public struct BackupPolicySpec: Codable, Sendable, Hashable {
    /// The name of the RecoveryServicesVault resource the policy lives in.
    public var vault: String
    /// Standard (V1) or Enhanced (V2); changing Enhanced to Standard is refused by the service.
    public var policyType: PolicyType
    /// A Windows time-zone id; `UTC` by default.
    public var timeZone: String
    public var schedule: BackupSchedule
    /// Days instant-restore snapshots are kept: 1–5 for Standard (5 for weekly), 1–30 for Enhanced.
    public var instantRestoreRetentionDays: Int
    public var retention: RetentionSpec

    public init(
        vault: String, policyType: PolicyType = .standard, timeZone: String = "UTC", schedule: BackupSchedule,
        instantRestoreRetentionDays: Int, retention: RetentionSpec
    ) {
        self.vault = vault
        self.policyType = policyType
        self.timeZone = timeZone
        self.schedule = schedule
        self.instantRestoreRetentionDays = instantRestoreRetentionDays
        self.retention = retention
    }
}

// MARK: - Protected VM

/// Which VM a ProtectedVM protects: by resource group and name (and subscription, nil for the default).
public struct VMReference: Codable, Sendable, Hashable, CustomStringConvertible {
    public var subscription: String?
    public var resourceGroup: String
    public var name: String

    public init(subscription: String? = nil, resourceGroup: String, name: String) {
        self.subscription = subscription
        self.resourceGroup = resourceGroup
        self.name = name
    }

    /// Parses an ARM id `/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/NAME`
    /// (segment names compared case-insensitively, as ARM does).
    public init?(resourceID: String) {
        let parts = resourceID.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 8, parts[0].lowercased() == "subscriptions", parts[2].lowercased() == "resourcegroups",
            parts[4].lowercased() == "providers", parts[5].lowercased() == "microsoft.compute",
            parts[6].lowercased() == "virtualmachines"
        else { return nil }
        self.init(subscription: parts[1], resourceGroup: parts[3], name: parts[7])
    }

    public var description: String { "\(resourceGroup)/\(name)" }
}

public enum ProtectionState: String, Codable, Sendable, Hashable, CaseIterable {
    case protected = "Protected"
    /// Stop protection and retain data forever.
    case protectionStopped = "ProtectionStopped"
    /// Stop protection and retain data as per policy (immutable vaults only).
    case backupsSuspended = "BackupsSuspended"
}

/// What happens when a ProtectedVM leaves the manifests and is pruned.
public enum DeletionPolicy: String, Codable, Sendable, Hashable, CaseIterable {
    /// Stop protection and keep the recovery points (the default).
    case retain = "Retain"
    /// Stop protection and delete the data (soft-deleted for the vault's soft-delete period).
    case delete = "Delete"
}

public struct ProtectedVMSpec: Codable, Sendable, Hashable {
    public var vm: VMReference
    /// The name of the RecoveryServicesVault resource.
    public var vault: String
    /// The name of the BackupPolicy resource.
    public var policy: String
    public var protectionState: ProtectionState
    public var deletionPolicy: DeletionPolicy
    /// Data disks left out of backups (selective disk backup); exclusive with `includeDiskLuns`.
    public var excludeDiskLuns: [Int]
    public var includeDiskLuns: [Int]

    public init(
        vm: VMReference, vault: String, policy: String, protectionState: ProtectionState = .protected,
        deletionPolicy: DeletionPolicy = .retain, excludeDiskLuns: [Int] = [], includeDiskLuns: [Int] = []
    ) {
        self.vm = vm
        self.vault = vault
        self.policy = policy
        self.protectionState = protectionState
        self.deletionPolicy = deletionPolicy
        self.excludeDiskLuns = excludeDiskLuns
        self.includeDiskLuns = includeDiskLuns
    }
}

// MARK: - Key Vault access policy

/// Who an access policy or a role assignment grants to.
public enum Principal: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The Backup Management Service first-party app (app id 262044b1-e2ce-469f-a196-69ab7ada62d3); the
    /// platform knows its object id in the tenant.
    case backupManagementService
    /// Any principal by object id.
    case objectID(String)

    public static let backupManagementServiceAppID = "262044b1-e2ce-469f-a196-69ab7ada62d3"
    public static let backupManagementServiceName = "Backup Management Service"

    /// Coded as the manifests write it, `{"name": "Backup Management Service"}` or `{"objectId": "…"}`, so
    /// that a plan names the principal where a reviewer looks (`principal.name`, `principal.objectId`).
    /// Reading also takes the form of earlier states and saved plans, `{"backupManagementService": {}}` and
    /// `{"objectID": {"_0": "…"}}`.
    private enum CodingKeys: String, CodingKey {
        case name, objectId
        case backupManagementService, objectID
    }

    private enum EarlierPayloadKeys: String, CodingKey { case value = "_0" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let name = try container.decodeIfPresent(String.self, forKey: .name) {
            guard name == Self.backupManagementServiceName else {
                throw DecodingError.dataCorruptedError(
                    forKey: .name, in: container, debugDescription: "'\(name)' is not a principal known by name (only '\(Self.backupManagementServiceName)')")
            }
            self = .backupManagementService
        } else if let id = try container.decodeIfPresent(String.self, forKey: .objectId) {
            self = .objectID(id)
        } else if container.contains(.backupManagementService) {
            self = .backupManagementService
        } else if container.contains(.objectID) {
            let payload = try container.nestedContainer(keyedBy: EarlierPayloadKeys.self, forKey: .objectID)
            self = .objectID(try payload.decode(String.self, forKey: .value))
        } else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "a principal has a name or an objectId"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .backupManagementService: try container.encode(Self.backupManagementServiceName, forKey: .name)
        case .objectID(let id): try container.encode(id, forKey: .objectId)
        }
    }

    public var description: String {
        switch self {
        case .backupManagementService: Self.backupManagementServiceName
        case .objectID(let id): id
        }
    }
}

public enum KeyPermission: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case backup = "Backup", create = "Create", decrypt = "Decrypt", delete = "Delete", encrypt = "Encrypt"
    case get = "Get", `import` = "Import", list = "List", purge = "Purge", recover = "Recover"
    case restore = "Restore", sign = "Sign", unwrapKey = "UnwrapKey", update = "Update", verify = "Verify"
    case wrapKey = "WrapKey", release = "Release", rotate = "Rotate", getRotationPolicy = "GetRotationPolicy"
    case setRotationPolicy = "SetRotationPolicy"
    public static func < (lhs: KeyPermission, rhs: KeyPermission) -> Bool { lhs.rawValue < rhs.rawValue }
}

public enum SecretPermission: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case backup = "Backup", delete = "Delete", get = "Get", list = "List", purge = "Purge", recover = "Recover"
    case restore = "Restore", set = "Set"
    public static func < (lhs: SecretPermission, rhs: SecretPermission) -> Bool { lhs.rawValue < rhs.rawValue }
}

public struct KeyVaultAccessPolicySpec: Codable, Sendable, Hashable {
    /// The key vault's name (globally unique).
    public var keyVault: String
    public var principal: Principal
    /// Sorted, without duplicates.
    public var keyPermissions: [KeyPermission]
    /// Sorted, without duplicates.
    public var secretPermissions: [SecretPermission]

    public init(
        keyVault: String, principal: Principal, keyPermissions: [KeyPermission] = [],
        secretPermissions: [SecretPermission] = []
    ) {
        self.keyVault = keyVault
        self.principal = principal
        self.keyPermissions = Array(Set(keyPermissions)).sorted()
        self.secretPermissions = Array(Set(secretPermissions)).sorted()
    }
}

// MARK: - Key Vault role assignment

/// A role assigned to a principal at a key vault's scope: how a key vault that uses Azure RBAC grants what an
/// access policy grants on one that does not.
public struct KeyVaultRoleAssignmentSpec: Codable, Sendable, Hashable {
    /// The key vault's name (globally unique); the assignment's scope.
    public var keyVault: String
    public var principal: Principal
    /// The role's name: a built-in Key Vault role (`Key Vault Administrator`) or a custom role of the tenant.
    public var role: String

    public init(keyVault: String, principal: Principal, role: String) {
        self.keyVault = keyVault
        self.principal = principal
        self.role = role
    }
}

// MARK: - Any resource

public enum ResourceSpec: Codable, Sendable, Hashable {
    case vault(VaultSpec)
    case backupPolicy(BackupPolicySpec)
    case protectedVM(ProtectedVMSpec)
    case keyVaultAccessPolicy(KeyVaultAccessPolicySpec)
    case keyVaultRoleAssignment(KeyVaultRoleAssignmentSpec)

    public var kind: ResourceKind {
        switch self {
        case .vault: .recoveryServicesVault
        case .backupPolicy: .backupPolicy
        case .protectedVM: .protectedVM
        case .keyVaultAccessPolicy: .keyVaultAccessPolicy
        case .keyVaultRoleAssignment: .keyVaultRoleAssignment
        }
    }
}

/// The settings of a key vault that can change after it exists: Azure Disk Encryption's access, soft delete
/// and its retention, purge protection, and the permission model.
public struct KeyVaultSettings: Sendable, Hashable, Codable {
    public var enabledForDiskEncryption: Bool
    public var softDelete: Bool
    public var softDeleteRetentionDays: Int
    public var purgeProtection: Bool
    /// ARM's `enableRbacAuthorization`: Azure RBAC instead of access policies.
    public var rbacAuthorization: Bool

    public init(enabledForDiskEncryption: Bool, softDelete: Bool, softDeleteRetentionDays: Int, purgeProtection: Bool, rbacAuthorization: Bool) {
        self.enabledForDiskEncryption = enabledForDiskEncryption
        self.softDelete = softDelete
        self.softDeleteRetentionDays = softDeleteRetentionDays
        self.purgeProtection = purgeProtection
        self.rbacAuthorization = rbacAuthorization
    }
}
