import CofferModel
import Foundation
import Testing

@testable import CofferReconciler

/// The direct encoder must give exactly the tree a JSON round trip gives (its former definition).
@Suite struct AttributeEncoderTests {
    static func viaJSON<T: Encodable>(_ value: T) throws -> AttributeValue {
        try JSONDecoder().decode(AttributeValue.self, from: JSONEncoder().encode(value))
    }

    static let specs: [ResourceSpec] = [
        Fixture.vault(),
        Fixture.vault(location: "westeurope", redundancy: .locallyRedundant, crr: false, immutability: .locked,
                      tags: ["env": "prod", "api-secret": "x"]),
        .vault(VaultSpec(subscription: "sub-dr", resourceGroup: "rg", location: "eastus", softDeleteRetentionDays: 180,
                         systemAssignedIdentity: true, encryption: VaultEncryption(keyVault: "kv", key: "k", infrastructureEncryption: true))),
        Fixture.policy(daily: 7),
        .backupPolicy(
            BackupPolicySpec(
                vault: "v", policyType: .enhanced, timeZone: "W. Europe Standard Time",
                schedule: BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 30), hourInterval: 4, hourDuration: 12),
                instantRestoreRetentionDays: 7,
                retention: RetentionSpec(
                    daily: DailyRetention(count: 30), weekly: WeeklyRetention(count: 12, weekdays: [.sunday, .wednesday]),
                    monthly: CalendarRetention(count: 60, weekdays: [.sunday], weeks: [.first, .last]),
                    yearly: CalendarRetention(count: 10, months: [.january], days: [1, 15], includeLastDay: true)))),
        Fixture.access(),
        Fixture.access(keys: [], secrets: [.get]),
        .keyVaultAccessPolicy(KeyVaultAccessPolicySpec(keyVault: "kv", principal: .objectID("0000-1111"), keyPermissions: [.get], secretPermissions: [])),
        .keyVaultRoleAssignment(KeyVaultRoleAssignmentSpec(keyVault: "kv", principal: .backupManagementService, role: "Key Vault Administrator")),
        Fixture.protected(),
        .protectedVM(
            ProtectedVMSpec(vm: VMReference(subscription: "sub-prod", resourceGroup: "rg", name: "vm"), vault: "v", policy: "p",
                            protectionState: .backupsSuspended, deletionPolicy: .delete, excludeDiskLuns: [0, 3])),
    ]

    @Test(arguments: specs) func specsMatchTheJSONRoundTrip(spec: ResourceSpec) throws {
        let direct = try spec.attributes()
        let expected: AttributeValue = switch spec {
        case .vault(let value): try Self.viaJSON(value)
        case .backupPolicy(let value): try Self.viaJSON(value)
        case .protectedVM(let value): try Self.viaJSON(value)
        case .keyVaultAccessPolicy(let value): try Self.viaJSON(value)
        case .keyVaultRoleAssignment(let value): try Self.viaJSON(value)
        }
        #expect(direct == expected)
        #expect(try AttributeValue(encoding: spec) == Self.viaJSON(spec))
    }

    struct Odd: Encodable {
        var explicitNil: String? = nil
        var skipped: Int? = nil
        var nested: [[Int]] = [[1, 2], []]
        var map: [String: Double] = ["half": 0.5, "big": 1e20]
        var flags: [Bool] = [true, false]
        var small: UInt8 = 7

        enum CodingKeys: String, CodingKey { case explicitNil, skipped, nested, map, flags, small }
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeNil(forKey: .explicitNil)
            try container.encodeIfPresent(skipped, forKey: .skipped)
            try container.encode(nested, forKey: .nested)
            try container.encode(map, forKey: .map)
            try container.encode(flags, forKey: .flags)
            try container.encode(small, forKey: .small)
        }
    }

    @Test func nullsNestingAndNumbersMatch() throws {
        let direct = try AttributeValue(encoding: Odd())
        #expect(direct == (try Self.viaJSON(Odd())))
        #expect(direct.value(at: "explicitNil") == .null)
        #expect(direct.value(at: "skipped") == nil)
        #expect(direct.value(at: "nested.0.1") == .number(2))
        #expect(try AttributeValue(encoding: [String: Int]()) == .object([:]))
        #expect(try AttributeValue(encoding: "plain") == .string("plain"))
    }
}

@Suite struct FingerprintTests {
    /// The fingerprint of one value, as the planner feeds its attribute trees.
    func fingerprint<T: Encodable>(_ value: T) throws -> String {
        var hasher = Fingerprinter()
        hasher.feed(try AttributeEncoder.encode(value))
        return hasher.digest
    }

    @Test func sameTreeSameFingerprintWhateverTheKeyOrder() throws {
        var forward: [String: String] = [:]
        var backward: [String: String] = [:]
        let keys = (0..<50).map { "tag-\($0)" }
        for key in keys { forward[key] = key.uppercased() }
        for key in keys.reversed() { backward[key] = key.uppercased() }
        #expect(try fingerprint(forward) == fingerprint(backward))
        #expect(try fingerprint(Fixture.vault(tags: forward)).count == 32)
    }

    @Test func anyChangeChangesTheFingerprint() throws {
        let base = try fingerprint(Fixture.vault())
        #expect(try fingerprint(Fixture.vault(crr: false)) != base)
        #expect(try fingerprint(Fixture.vault(tags: ["a": "b"])) != base)
        #expect(try fingerprint(Fixture.policy(daily: 30)) != fingerprint(Fixture.policy(daily: 31)))
        // Lengths are fed before contents: moving a character between neighbours is a change.
        #expect(try fingerprint(["ab", "c"]) != fingerprint(["a", "bc"]))
        #expect(try fingerprint(["x": ""]) != fingerprint(["": "x"]))
    }
}

@Suite struct ParallelMapTests {
    @Test func keepsOrderAndMatchesMapAtEverySize() async throws {
        for count in [0, 1, 511, 1024, 5000] {
            let items = Array(0..<count)
            let mapped = try await items.parallelMap(minimumPerLane: 100) { $0 * 3 + 1 }
            #expect(mapped == items.map { $0 * 3 + 1 })
        }
    }

    struct Refused: Error, Equatable { var index: Int }

    @Test func throwsTheFirstErrorByIndex() async throws {
        let items = Array(0..<4000)
        await #expect(throws: Refused(index: 1500)) {
            _ = try await items.parallelMap(minimumPerLane: 100) { index -> Int in
                if index == 1500 || index == 3900 { throw Refused(index: index) }
                return index
            }
        }
    }
}
