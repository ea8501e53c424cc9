import CofferModel
import Foundation
import Testing

@Suite struct SpecsTests {
    @Test(arguments: [("02:30", true), ("23:00", true), ("24:00", false), ("2:30", false), ("02:60", false), ("", false)])
    func timeOfDayParses(text: String, valid: Bool) {
        #expect((TimeOfDay(parsing: text) != nil) == valid)
        if valid { #expect(TimeOfDay(parsing: text)?.description == text) }
    }

    @Test func vmReferenceFromResourceID() throws {
        let reference = try #require(
            VMReference(resourceID: "/subscriptions/sub-1/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/web-01"))
        #expect(reference == VMReference(subscription: "sub-1", resourceGroup: "rg-app", name: "web-01"))
        #expect(VMReference(resourceID: "/subscriptions/sub-1/resourceGroups/rg-app") == nil)
    }

    @Test func accessPolicyPermissionsAreSortedAndUnique() {
        let spec = KeyVaultAccessPolicySpec(
            keyVault: "kv", principal: .backupManagementService, keyPermissions: [.list, .get, .backup, .get],
            secretPermissions: [.list, .backup, .get])
        #expect(spec.keyPermissions == [.backup, .get, .list])
        #expect(spec.secretPermissions == [.backup, .get, .list])
    }

    /// A principal is coded as a manifest writes it, and the form of earlier states and saved plans still reads.
    @Test func principalsAreCodedAsTheManifestsWriteThem() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(String(decoding: try encoder.encode(Principal.backupManagementService), as: UTF8.self) == #"{"name":"Backup Management Service"}"#)
        #expect(String(decoding: try encoder.encode(Principal.objectID("0f1e")), as: UTF8.self) == #"{"objectId":"0f1e"}"#)
        let decoder = JSONDecoder()
        for (text, principal) in [
            (#"{"name":"Backup Management Service"}"#, Principal.backupManagementService), (#"{"objectId":"0f1e"}"#, .objectID("0f1e")),
            (#"{"backupManagementService":{}}"#, .backupManagementService), (#"{"objectID":{"_0":"0f1e"}}"#, .objectID("0f1e")),
        ] {
            #expect(try decoder.decode(Principal.self, from: Data(text.utf8)) == principal)
        }
        for text in [#"{"name":"Someone Else"}"#, #"{}"#] {
            #expect(throws: DecodingError.self) { try decoder.decode(Principal.self, from: Data(text.utf8)) }
        }
    }

    @Test func specsRoundTripThroughJSON() throws {
        let spec = ResourceSpec.backupPolicy(
            BackupPolicySpec(
                vault: "rsv", schedule: BackupSchedule(frequency: .daily, time: TimeOfDay(hour: 2, minute: 30)),
                instantRestoreRetentionDays: 2, retention: RetentionSpec(daily: DailyRetention(count: 30))))
        let data = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(ResourceSpec.self, from: data) == spec)
        #expect(String(decoding: data, as: UTF8.self).contains("\"02:30\""))
    }
}
