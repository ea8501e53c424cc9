import CofferManifest
import CofferModel
import Foundation
import Testing

/// The shipped manifests/ are the desired state of the reference world: they load clean, into exactly the
/// resources the world expects, with every default filled in.
@Suite struct ReferenceManifestsTests {
    let result = ManifestLoader().load(paths: [Package.manifests])

    func resource(_ kind: ResourceKind, _ name: String) throws -> DesiredResource {
        let state = try #require(result.state)
        return try #require(state[ResourceAddress(kind: kind, name: name)])
    }

    @Test func loadsCleanFromFourFilesInPathOrder() throws {
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map { $0.rendered() })")
        #expect(result.files.map { URL(fileURLWithPath: $0).lastPathComponent } == [
            "access-policies.yaml", "policies.yaml", "protected-vms.yaml", "vaults.yaml",
        ])
        let state = try #require(result.state)
        #expect(result.resourceCount == 11)
        #expect(state.resources.map(\.address.description) == [
            "RecoveryServicesVault/rsv-prod-eastus", "RecoveryServicesVault/rsv-prod-westeurope",
            "BackupPolicy/daily-standard-eastus", "BackupPolicy/daily-standard-westeurope",
            "BackupPolicy/hourly-enhanced-eastus", "BackupPolicy/hourly-enhanced-westeurope",
            "KeyVaultAccessPolicy/kv-app-eastus-backup",
            "ProtectedVM/lnx-db-01", "ProtectedVM/lnx-web-01", "ProtectedVM/win-app-01", "ProtectedVM/win-cmk-01",
        ])
    }

    @Test func vaults() throws {
        let eastus = try resource(.recoveryServicesVault, "rsv-prod-eastus")
        #expect(eastus.spec == .vault(VaultSpec(
            resourceGroup: "rg-backup-eastus", location: "eastus", storageRedundancy: .geoRedundant,
            crossRegionRestore: true, tags: ["managed-by": "coffer", "cost-center": "4711"])))
        #expect(eastus.labels == ["team": "platform", "environment": "prod"])
        let westeurope = try resource(.recoveryServicesVault, "rsv-prod-westeurope")
        #expect(westeurope.spec == .vault(VaultSpec(
            resourceGroup: "rg-backup-westeurope", location: "westeurope",
            tags: ["managed-by": "coffer", "cost-center": "4711"])))
    }

    @Test func policies() throws {
        let daily = BackupPolicySpec(
            vault: "rsv-prod-eastus", policyType: .standard, timeZone: "UTC",
            schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)),
            instantRestoreRetentionDays: 2,
            retention: RetentionSpec(
                daily: DailyRetention(count: 30), weekly: WeeklyRetention(count: 12, weekdays: [.sunday]),
                monthly: CalendarRetention(count: 12, weekdays: [.sunday], weeks: [.first]),
                yearly: CalendarRetention(count: 3, months: [.january], weekdays: [.sunday], weeks: [.first])))
        #expect(try resource(.backupPolicy, "daily-standard-eastus").spec == .backupPolicy(daily))
        var dailyWesteurope = daily
        dailyWesteurope.vault = "rsv-prod-westeurope"
        #expect(try resource(.backupPolicy, "daily-standard-westeurope").spec == .backupPolicy(dailyWesteurope))

        let hourly = BackupPolicySpec(
            vault: "rsv-prod-westeurope", policyType: .enhanced,
            schedule: BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 24),
            instantRestoreRetentionDays: 7, retention: RetentionSpec(daily: DailyRetention(count: 30)))
        #expect(try resource(.backupPolicy, "hourly-enhanced-westeurope").spec == .backupPolicy(hourly))
        var hourlyEastus = hourly
        hourlyEastus.vault = "rsv-prod-eastus"
        #expect(try resource(.backupPolicy, "hourly-enhanced-eastus").spec == .backupPolicy(hourlyEastus))
    }

    @Test(arguments: [
        ("win-app-01", "rg-app-eastus", "rsv-prod-eastus", "daily-standard-eastus"),
        ("lnx-db-01", "rg-app-eastus", "rsv-prod-eastus", "daily-standard-eastus"),
        ("lnx-web-01", "rg-app-westeurope", "rsv-prod-westeurope", "hourly-enhanced-westeurope"),
        ("win-cmk-01", "rg-app-westeurope", "rsv-prod-westeurope", "daily-standard-westeurope"),
    ])
    func protectedVMs(_ name: String, _ group: String, _ vault: String, _ policy: String) throws {
        let expected = ProtectedVMSpec(
            vm: VMReference(resourceGroup: group, name: name), vault: vault, policy: policy,
            protectionState: .protected, deletionPolicy: .retain)
        #expect(try resource(.protectedVM, name).spec == .protectedVM(expected))
    }

    @Test func accessPolicy() throws {
        let access = try resource(.keyVaultAccessPolicy, "kv-app-eastus-backup")
        #expect(access.spec == .keyVaultAccessPolicy(KeyVaultAccessPolicySpec(
            keyVault: "kv-app-eastus", principal: .backupManagementService, keyPermissions: [.backup, .get, .list],
            secretPermissions: [.backup, .get, .list])))
    }

    @Test func locationsPointAtTheSource() throws {
        let policy = try resource(.backupPolicy, "daily-standard-eastus")
        let file = Package.manifests + "/policies.yaml"
        #expect(policy.location == SourceLocation(file: file, line: 7, column: 1))
        #expect(policy.fieldLocations["spec.retention.daily.count"] == SourceLocation(file: file, line: 20, column: 7))
        #expect(policy.fieldLocations["spec.retention.weekly.weekdays.0"] == SourceLocation(file: file, line: 23, column: 18))
        #expect(policy.fieldLocations["metadata.name"] == SourceLocation(file: file, line: 9, column: 3))
        // A path that was not written falls back to the nearest field that was.
        #expect(policy.location(of: "spec.schedule.weekdays") == SourceLocation(file: file, line: 14, column: 3))
        let vault = try resource(.recoveryServicesVault, "rsv-prod-westeurope")
        #expect(vault.location == SourceLocation(file: Package.manifests + "/vaults.yaml", line: 26, column: 1))
    }

    @Test func moduleREADMEExamplesAreValid() throws {
        let readme = try String(contentsOfFile: Package.moduleREADME, encoding: .utf8)
        let blocks = readme.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        let examples = blocks.filter { $0.hasPrefix("apiVersion:") && !$0.contains("{...}") }
        #expect(examples.count == 5)
        let result = load(examples.joined(separator: "---\n"), path: "README.md.yaml")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map { $0.rendered() })")
        #expect(Set(result.state?.resources.map(\.address.kind) ?? []) == Set(ResourceKind.allCases))
    }

    @Test func moduleREADMEListsEveryDiagnosticCode() throws {
        let readme = try String(contentsOfFile: Package.moduleREADME, encoding: .utf8)
        for code in ManifestCode.allCases {
            #expect(readme.contains("`\(code.rawValue)`"), "README.md does not list \(code.rawValue)")
        }
    }
}
