import CofferARM
import CofferModel
import Foundation
import Testing

@Suite struct ARMPathTests {
    @Test func segmentsAreDecodedAfterSplittingAndEmptyOnesDropped() throws {
        let path = try #require(ARMPath(raw: "/Subscriptions/S//resourcegroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/IaasVMContainer%3Biaasvmcontainerv2%3Brg%3Bvm/protectedItems/VM%3Biaasvmcontainerv2%3Brg%3Bvm"))
        #expect(path.segments.count == 14)
        #expect(path.segments[11] == "IaasVMContainer;iaasvmcontainerv2;rg;vm")
        let slash = try #require(ARMPath(raw: "/a/b%2Fc"))
        #expect(slash.segments == ["a", "b/c"])
    }

    @Test func patternsMatchNamesInAnyCaseAndKeepValuesAsSent() throws {
        let pattern = ARMPathPattern("subscriptions/{subscription}/resourceGroups/{resourceGroup}/providers/Microsoft.RecoveryServices/vaults/{vault}")
        let path = try #require(ARMPath(raw: "/SUBSCRIPTIONS/Sub/RESOURCEGROUPS/Rg/PROVIDERS/microsoft.recoveryservices/VAULTS/MyVault"))
        let match = try #require(path.match(pattern))
        #expect(match["vault"] == "MyVault" && match["resourceGroup"] == "Rg" && match["subscription"] == "Sub")
        #expect(try #require(ARMPath(raw: "/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/v")).match(pattern) == nil)
    }

    @Test(arguments: ["/a/%zz", "/a/%4", "/a/%ff%fe", "/" + String(repeating: "a/", count: 70)])
    func malformedOrHugePathsAreRefused(_ raw: String) {
        #expect(ARMPath(raw: raw) == nil)
    }

    @Test func aPathLongerThanTheLimitIsRefused() {
        #expect(ARMPath(raw: "/" + String(repeating: "x", count: ARMPath.maximumLength)) == nil)
    }

    @Test func azureVMContainerAndItemNamesParse() throws {
        let container = try #require(IaasVMName(container: "IaasVMContainer;iaasvmcontainerv2;rg-app;win-app-01"))
        #expect(container == IaasVMName(resourceGroup: "rg-app", vm: "win-app-01"))
        #expect(IaasVMName(container: "iaasvmcontainer;IAASVMCONTAINERV2;rg;vm") != nil)
        #expect(IaasVMName(item: "VM;iaasvmcontainerv2;rg;vm") == IaasVMName(resourceGroup: "rg", vm: "vm"))
        #expect(IaasVMName(item: "iaasvmcontainerv2;rg;vm") == IaasVMName(resourceGroup: "rg", vm: "vm"))
        #expect(IaasVMName(item: "SQLDataBase;mssqlserver;db") == nil)
        #expect(IaasVMName(container: "VM;iaasvmcontainerv2;rg;vm") == nil)
    }

    @Test func referencesInBodiesResolveByType() throws {
        let policy = try #require(ARMResourceReference("/subscriptions/S/resourceGroups/RG/providers/Microsoft.RecoveryServices/vaults/V/backupPolicies/P"))
        #expect(policy.names(ofTypes: ["vaults", "backupPolicies"], namespace: "microsoft.recoveryservices") == ["V", "P"])
        let vm = try #require(ARMResourceReference("/subscriptions/S/resourcegroups/RG/providers/Microsoft.Compute/virtualMachines/vm1"))
        #expect(vm.name(ofType: "Microsoft.Compute/virtualMachines") == "vm1")
        #expect(vm.name(ofType: "Microsoft.Compute/disks") == nil)
        #expect(ARMResourceReference("/subscriptions/S/providers/x") == nil)
    }
}

@Suite struct APIVersionTests {
    @Test func theClientsVersionsAreAccepted() {
        for (version, provider) in [
            ("2026-10-01", ARMProvider.recoveryServices), ("2026-11-01", .recoveryServices), ("2026-07-01", .recoveryServices),
            ("2026-05-15", .keyVault), ("2026-02-01", .keyVault), ("2026-04-01", .compute), ("2026-03-02", .compute),
            ("2022-12-01", .resources), ("2024-01-01-preview", .recoveryServices),
        ] {
            #expect(APIVersions.check(version, for: provider) == nil, "\(version) for \(provider)")
        }
    }

    @Test func aMissingVersionIsMissingApiVersionParameter() throws {
        let error = try #require(APIVersions.check(nil, for: .recoveryServices))
        #expect(error.status == 400 && error.code == "MissingApiVersionParameter")
    }

    @Test(arguments: ["2099-01-01", "2010-01-01", "latest", "2026-13-01", "2026-10-01x", "2026-10-01-", "", String(repeating: "9", count: 500)])
    func otherVersionsAreInvalidApiVersionParameter(_ version: String) throws {
        let error = try #require(APIVersions.check(version, for: .recoveryServices))
        #expect(error.status == 400 && error.code == "InvalidApiVersionParameter")
        #expect(error.message.count < 400)
    }
}

@Suite struct ARMBodyTests {
    struct Shape: Decodable {
        struct Properties: Decodable { var count: Int }
        var properties: Properties
    }

    @Test func notJSONIsInvalidRequestContent() {
        #expect(throws: ARMError.invalidRequestContent("the body is not JSON")) { try ARMBody.decode(Shape.self, from: Array("{oops".utf8)) }
    }

    @Test func anEmptyBodyIsRefused() {
        #expect(throws: ARMError.self) { try ARMBody.decode(Shape.self, from: [UInt8]()) }
    }

    @Test func deepNestingIsRefusedBeforeParsing() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        do {
            _ = try ARMBody.decode(Shape.self, from: Array(deep.utf8))
            Issue.record("a 100,000-deep body was accepted")
        } catch {
            #expect(error.code == "InvalidRequestContent" && error.message.contains("deeper than"))
        }
        // Brackets inside strings do not count.
        let quoted = "{\"properties\": {\"count\": 1}, \"x\": \"" + String(repeating: "[", count: 1000) + "\"}"
        #expect(try ARMBody.decode(Shape.self, from: Array(quoted.utf8)).properties.count == 1)
    }

    @Test func aBodyOverTheLimitIsRefused() {
        let big = [UInt8](repeating: UInt8(ascii: " "), count: ARMBody.maximumSize + 1)
        #expect(throws: ARMError.requestContentTooLarge(limit: ARMBody.maximumSize)) { try ARMBody.decode(Shape.self, from: big) }
    }

    @Test func theWrongShapeNamesTheField() {
        do {
            _ = try ARMBody.decode(Shape.self, from: Array(#"{"properties": {"count": "three"}}"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.status == 400 && error.message.contains("'properties.count' must be a number"))
        }
        do {
            _ = try ARMBody.decode(Shape.self, from: Array(#"{"properties": {}}"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("'properties.count' is required"))
        }
        do {
            _ = try ARMBody.decode(Shape.self, from: Array("[1]".utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.code == "InvalidRequestContent")
        }
    }
}

@Suite struct BackupPolicyWireTests {
    static let standard = BackupPolicySpec(
        vault: "v", policyType: .standard, timeZone: "UTC", schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 0)),
        instantRestoreRetentionDays: 2,
        retention: RetentionSpec(
            daily: DailyRetention(count: 30), weekly: WeeklyRetention(count: 12, weekdays: [.sunday]),
            monthly: CalendarRetention(count: 12, weekdays: [.sunday], weeks: [.first]),
            yearly: CalendarRetention(count: 3, months: [.january], weekdays: [.sunday], weeks: [.first])))
    static let enhanced = BackupPolicySpec(
        vault: "v", policyType: .enhanced, timeZone: "W. Europe Standard Time",
        schedule: BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 24),
        instantRestoreRetentionDays: 7, retention: RetentionSpec(daily: DailyRetention(count: 30)))
    static let weeklyByDays = BackupPolicySpec(
        vault: "v", policyType: .standard, schedule: BackupSchedule(frequency: .weekly, time: TimeOfDay(hour: 23, minute: 30), weekdays: [.monday, .friday]),
        instantRestoreRetentionDays: 5,
        retention: RetentionSpec(
            weekly: WeeklyRetention(count: 8, weekdays: [.monday, .friday]), monthly: CalendarRetention(count: 6, days: [1, 15], includeLastDay: true)))
    static let enhancedWeekly = BackupPolicySpec(
        vault: "v", policyType: .enhanced, schedule: BackupSchedule(frequency: .weekly, time: TimeOfDay(hour: 4, minute: 0), weekdays: [.saturday]),
        instantRestoreRetentionDays: 5, retention: RetentionSpec(weekly: WeeklyRetention(count: 4, weekdays: [.saturday])))

    @Test(arguments: [standard, enhanced, weeklyByDays, enhancedWeekly])
    func aSpecSurvivesTheWire(_ spec: BackupPolicySpec) throws {
        let body = BackupPolicyResource(id: "/x/backupPolicies/p", name: "p", spec: spec, protectedItems: 0)
        let json = ARMBody.encode(body)
        let decoded = try ARMBody.decode(BackupPolicyResource.self, from: Array(json))
        #expect(try decoded.spec(vault: "v") == spec)
    }

    @Test func theWireNamesAreTheServices() throws {
        let body = BackupPolicyResource(id: "i", name: "p", spec: Self.enhanced, protectedItems: 3)
        let object = try #require(try JSONSerialization.jsonObject(with: ARMBody.encode(body)) as? [String: Any])
        let properties = try #require(object["properties"] as? [String: Any])
        #expect(properties["backupManagementType"] as? String == "AzureIaasVM")
        #expect(properties["policyType"] as? String == "V2")
        #expect(properties["protectedItemsCount"] as? Int == 3)
        let schedule = try #require(properties["schedulePolicy"] as? [String: Any])
        #expect(schedule["schedulePolicyType"] as? String == "SimpleSchedulePolicyV2")
        #expect((schedule["hourlySchedule"] as? [String: Any])?["scheduleWindowStartTime"] as? String == "2026-01-01T08:00:00Z")
        #expect((properties["retentionPolicy"] as? [String: Any])?["retentionPolicyType"] as? String == "LongTermRetentionPolicy")
    }

    @Test func theServicesOwnExampleDecodes() throws {
        // The shape of the service's "Create or Update Enhanced Azure Vm Protection Policy with Hourly backup"
        // example (times with an offset, null daily formats).
        let json = """
            {"properties": {"backupManagementType": "AzureIaasVM", "instantRpRetentionRangeInDays": 30, "policyType": "V2",
              "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy",
                "dailySchedule": {"retentionDuration": {"count": 180, "durationType": "Days"}, "retentionTimes": ["2021-12-17T08:00:00+00:00"]},
                "monthlySchedule": {"retentionDuration": {"count": 60, "durationType": "Months"}, "retentionScheduleDaily": null,
                  "retentionScheduleFormatType": "Weekly", "retentionScheduleWeekly": {"daysOfTheWeek": ["Sunday"], "weeksOfTheMonth": ["First"]},
                  "retentionTimes": ["2021-12-17T08:00:00+00:00"]}},
              "schedulePolicy": {"hourlySchedule": {"interval": 4, "scheduleWindowDuration": 16, "scheduleWindowStartTime": "2021-12-17T08:00:00Z"},
                "schedulePolicyType": "SimpleSchedulePolicyV2", "scheduleRunFrequency": "Hourly"},
              "snapshotConsistencyType": "OnlyCrashConsistent", "timeZone": "India Standard Time"}}
            """
        let spec = try ARMBody.decode(BackupPolicyResource.self, from: Array(json.utf8)).spec(vault: "v")
        #expect(spec.policyType == .enhanced && spec.instantRestoreRetentionDays == 30 && spec.timeZone == "India Standard Time")
        #expect(spec.schedule == BackupSchedule(frequency: .hourly, time: TimeOfDay(hour: 8, minute: 0), hourInterval: 4, hourDuration: 16))
        #expect(spec.retention.monthly == CalendarRetention(count: 60, weekdays: [.sunday], weeks: [.first]))
    }

    @Test(arguments: [
        (#"{"properties": {"backupManagementType": "AzureWorkload"}}"#, "properties.backupManagementType"),
        (#"{"properties": {"backupManagementType": "AzureIaasVM", "policyType": "V1", "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicyV2"}}}"#, "properties.schedulePolicy.schedulePolicyType"),
        (#"{"properties": {"backupManagementType": "AzureIaasVM", "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Hourly"}}}"#, "properties.schedulePolicy.scheduleRunFrequency"),
        (#"{"properties": {"backupManagementType": "AzureIaasVM", "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily", "scheduleRunTimes": ["02:00"]}}}"#, "properties.schedulePolicy.scheduleRunTimes"),
        (#"{"properties": {"backupManagementType": "AzureIaasVM", "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily", "scheduleRunTimes": ["2026-01-01T02:00:00Z"]}, "retentionPolicy": {"dailySchedule": {"retentionDuration": {"count": 7, "durationType": "Weeks"}}}}}"#, "properties.retentionPolicy.dailySchedule.retentionDuration.durationType"),
    ])
    func aMalformedPolicyIsBMSUserErrorInvalidPolicyInputAtItsField(_ json: String, _ field: String) throws {
        let body = try ARMBody.decode(BackupPolicyResource.self, from: Array(json.utf8))
        do {
            _ = try body.spec(vault: "v")
            Issue.record("accepted: \(json)")
        } catch {
            #expect(error.code == "BMSUserErrorInvalidPolicyInput" && error.status == 400)
            #expect(error.target == field)
        }
    }
}

@Suite struct VaultWireTests {
    @Test func aCreateTakesTheServicesDefaultsAndTheBodysSettings() throws {
        let json = #"""
            {"location": "eastus", "sku": {"name": "standard"}, "tags": {"team": "platform"},
             "properties": {"publicNetworkAccess": "Enabled",
               "redundancySettings": {"standardTierStorageRedundancy": "LocallyRedundant", "crossRegionRestore": "Disabled"},
               "securitySettings": {"softDeleteSettings": {"softDeleteState": "AlwaysON", "softDeleteRetentionPeriodInDays": 30},
                                    "immutabilitySettings": {"state": "Unlocked"}}}}
            """#
        let spec = try ARMBody.decode(VaultResource.self, from: Array(json.utf8)).spec(subscription: "s", resourceGroup: "rg", existing: nil)
        #expect(spec.location == "eastus" && spec.sku == .standard && spec.storageRedundancy == .locallyRedundant)
        #expect(spec.softDeleteState == .alwaysOn && spec.softDeleteRetentionDays == 30 && spec.immutability == .unlocked)
        #expect(spec.tags == ["team": "platform"] && spec.resourceGroup == "rg")
        // Back on the wire, AlwaysON is spelt as the service spells it.
        let body = VaultResource(id: "i", name: "n", spec: spec, tags: spec.tags, identityPrincipalID: nil, tenantID: "t")
        #expect(body.properties?.securitySettings?.softDeleteSettings?.softDeleteState == "AlwaysON")
        #expect(body.properties?.provisioningState == "Succeeded")
    }

    @Test func anUpdateKeepsWhatTheBodyLeavesOut() throws {
        let existing = VaultSpec(resourceGroup: "rg", location: "eastus", storageRedundancy: .zoneRedundant, softDeleteRetentionDays: 60)
        let spec = try ARMBody.decode(VaultResource.self, from: Array(#"{"tags": {"a": "b"}}"#.utf8))
            .spec(subscription: nil, resourceGroup: "rg", existing: existing)
        #expect(spec.storageRedundancy == .zoneRedundant && spec.softDeleteRetentionDays == 60 && spec.tags == ["a": "b"])
    }

    @Test func refusals() throws {
        #expect(throws: ARMError.self) {
            try ARMBody.decode(VaultResource.self, from: Array(#"{"sku": {"name": "Standard"}}"#.utf8)).spec(subscription: nil, resourceGroup: "rg", existing: nil)
        }
        let disabled = #"{"location": "eastus", "properties": {"securitySettings": {"softDeleteSettings": {"softDeleteState": "Disabled"}}}}"#
        #expect(throws: ARMError.self) {
            try ARMBody.decode(VaultResource.self, from: Array(disabled.utf8)).spec(subscription: nil, resourceGroup: "rg", existing: nil)
        }
    }

    @Test func keyURIs() {
        #expect(KeyURI("https://kv-app.vault.azure.net/keys/cmk") == KeyURI("https://KV-APP.vault.azure.net/keys/cmk/0123"))
        #expect(KeyURI("https://kv-app.vault.azure.net/keys/cmk")?.keyVault == "kv-app")
        #expect(KeyURI("https://kv-app.example.com/keys/cmk") == nil)
        #expect(KeyURI("http://kv-app.vault.azure.net/keys/cmk") == nil)
        #expect(KeyURI("https://kv-app.vault.azure.net/secrets/cmk") == nil)
    }
}

@Suite struct KeyVaultWireTests {
    @Test func permissionsAreReadInAnyCaseWithAll() throws {
        let entry = AccessPolicyEntry(tenantId: nil, objectId: "oid", permissions: .init(keys: ["get", "LIST", "Backup"], secrets: ["all"]))
        let requested = try entry.requested(field: "p")
        #expect(requested.keys == [.backup, .get, .list])
        #expect(requested.secrets == SecretPermission.allCases.sorted())
        let out = AccessPolicyEntry(tenantID: "t", objectID: "oid", keys: [.get], secrets: [.list])
        #expect(out.permissions?.keys == ["get"] && out.permissions?.secrets == ["list"])
    }

    @Test func unknownOrUnsimulatedPermissionsAreRefused() {
        #expect(throws: ARMError.self) {
            try AccessPolicyEntry(tenantId: nil, objectId: "o", permissions: .init(keys: ["fly"], secrets: [])).requested(field: "p")
        }
        #expect(throws: ARMError.self) {
            try AccessPolicyEntry(tenantId: nil, objectId: "o", permissions: .init(keys: [], secrets: [], certificates: ["get"])).requested(field: "p")
        }
        #expect(throws: ARMError.self) { try AccessPolicyEntry(tenantId: nil, objectId: nil, permissions: nil).requested(field: "p") }
    }

    @Test func jobErrorNumbersAreStableAndDistinct() {
        #expect(JobResource.numericCode("UserErrorKeyVaultPermissionsNotConfigured") == JobResource.numericCode("UserErrorKeyVaultPermissionsNotConfigured"))
        #expect(JobResource.numericCode("UserErrorKeyVaultPermissionsNotConfigured") != JobResource.numericCode("UserErrorGuestAgentStatusUnavailable"))
        #expect((1...999_999).contains(JobResource.numericCode("")))
    }
}
