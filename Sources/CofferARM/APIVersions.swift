/// The resource providers coffer serves, as ARM versions them: each request's `api-version` is checked
/// against the provider of its path.
public enum ARMProvider: String, Sendable, Hashable, CaseIterable {
    /// Subscriptions and resource groups (Microsoft.Resources).
    case resources = "Microsoft.Resources"
    /// Recovery Services vaults and the backup API under them (Microsoft.RecoveryServices).
    case recoveryServices = "Microsoft.RecoveryServices"
    case keyVault = "Microsoft.KeyVault"
    case compute = "Microsoft.Compute"
    /// Role assignments at a key vault's scope (Microsoft.Authorization).
    case authorization = "Microsoft.Authorization"
    /// Cross-region restore, the backup API's passive stamp (Microsoft.RecoveryServices in the secondary
    /// region), versioned apart from the active stamp.
    case crossRegionRestore = "Microsoft.RecoveryServices (cross-region restore)"
}

/// The api-versions accepted per provider.
///
/// The official clients disagree (the Python SDKs and az, released months apart, send different versions
/// for the same operation; reference/arm-api.md section 1), and the wire shapes coffer serves have not
/// changed across them, so a provider accepts every date-form version (`YYYY-MM-DD`, optionally
/// `-preview`) from its first stable version to the newest one coffer knows. Anything else (a malformed
/// value, a date outside the range) is 400 `InvalidApiVersionParameter`, and a missing one is 400
/// `MissingApiVersionParameter`, as ARM answers.
public enum APIVersions {
    /// The oldest and newest version accepted per provider, and the versions the clients coffer is tested
    /// with send (named in the error message).
    public struct Range: Sendable, Hashable {
        public var oldest: String
        public var newest: String
        public var tested: [String]
    }

    public static func range(_ provider: ARMProvider) -> Range {
        switch provider {
        case .resources:
            // azure-mgmt-resource and az (subscriptions 2022-12-01).
            Range(oldest: "2014-04-01", newest: "2025-04-01", tested: ["2022-12-01"])
        case .recoveryServices:
            // azure-mgmt-recoveryservices 4.3.0 (2026-11-01), azure-mgmt-recoveryservicesbackup 11.2.0
            // (2026-10-01); az 2.91.0 (2026-07-01, 2026-08-01).
            Range(oldest: "2016-06-01", newest: "2026-11-01", tested: ["2026-10-01", "2026-11-01", "2026-07-01", "2026-08-01"])
        case .keyVault:
            // azure-mgmt-keyvault 14.1.0 (2026-05-15); az 2.91.0 (2026-02-01).
            Range(oldest: "2015-06-01", newest: "2026-05-15", tested: ["2026-05-15", "2026-02-01"])
        case .compute:
            // azure-mgmt-compute 39.0.0: 2026-04-01 for VMs, 2026-03-02 for disks.
            Range(oldest: "2015-06-15", newest: "2026-04-01", tested: ["2026-04-01", "2026-03-02"])
        case .authorization:
            // azure-mgmt-authorization 4.0.0 (role assignments 2022-04-01); az sends the same.
            Range(oldest: "2015-07-01", newest: "2022-04-01", tested: ["2022-04-01"])
        case .crossRegionRestore:
            // azure-mgmt-recoveryservicesbackup-passivestamp 1.0.0b1 (2021-11-15); the passive stamp's
            // published versions run from 2018-12-20 to 2023-01-15.
            Range(oldest: "2018-12-20", newest: "2023-01-15", tested: ["2021-11-15"])
        }
    }

    /// Nil when `value` is accepted for `provider`; else the error to answer.
    public static func check(_ value: String?, for provider: ARMProvider) -> ARMError? {
        guard let value else { return .missingAPIVersion() }
        let range = range(provider)
        if let date = datePart(of: value), date >= range.oldest, date <= range.newest { return nil }
        let shown = value.count > 40 ? String(value.prefix(40)) + "..." : value
        return ARMError(
            status: 400, code: ARMError.invalidAPIVersionCode,
            message: "The resource type of \(provider.rawValue) does not support the api-version '\(shown)'. "
                + "The supported api-versions are those from '\(range.oldest)' to '\(range.newest)', such as '"
                + range.tested.joined(separator: "', '") + "'.")
    }

    /// `YYYY-MM-DD` of `YYYY-MM-DD` or `YYYY-MM-DD-preview` (any `-suffix` of letters), with a plausible month
    /// and day; nil otherwise.
    static func datePart(of value: String) -> String? {
        let utf8 = Array(value.utf8)
        guard utf8.count >= 10, utf8.count <= 40 else { return nil }
        let digitPositions = [0, 1, 2, 3, 5, 6, 8, 9]
        guard digitPositions.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[$0]) }),
            utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-")
        else { return nil }
        if utf8.count > 10 {
            let suffix = utf8[10...]
            guard suffix.first == UInt8(ascii: "-"), suffix.count > 1,
                suffix.dropFirst().allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) })
            else { return nil }
        }
        let date = String(decoding: utf8[0..<10], as: UTF8.self)
        let month = Int(date.dropFirst(5).prefix(2)) ?? 0
        let day = Int(date.suffix(2)) ?? 0
        guard (1...12).contains(month), (1...31).contains(day) else { return nil }
        return date
    }
}
