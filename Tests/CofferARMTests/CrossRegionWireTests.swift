import CofferARM
import Foundation
import Testing

@Suite struct CrossRegionWireTests {
    /// The body azure-mgmt-recoveryservicesbackup-passivestamp 1.0.0b1 sends for CrossRegionRestore_Trigger
    /// (its serializer's keys, the access token echoed back).
    @Test func theTriggerBodyDecodesAsTheSDKSendsIt() throws {
        let body = #"""
            {"crossRegionRestoreAccessDetails": {"objectType": "WorkloadCrrAccessToken", "accessTokenString": "crr1.abc",
              "recoveryPointId": "1234", "bMSActiveRegion": "eastus", "rpTierInformation": {"HardenedRP": "Valid"},
              "protectionContainerId": 7, "rpIsManagedVirtualMachine": true},
             "restoreRequest": {"objectType": "IaasVMRestoreRequest", "recoveryPointId": "1234", "recoveryType": "RestoreDisks",
              "region": "westus", "targetResourceGroupId": "/subscriptions/s/resourceGroups/rg-restore-westus", "restoreWithManagedDisks": true}}
            """#
        let request = try ARMBody.decode(CrossRegionRestoreRequest.self, from: Array(body.utf8))
        #expect(request.crossRegionRestoreAccessDetails?.accessTokenString == "crr1.abc")
        #expect(request.crossRegionRestoreAccessDetails?.bMSActiveRegion == "eastus")
        #expect(request.crossRegionRestoreAccessDetails?.rpTierInformation == ["HardenedRP": "Valid"])
        #expect(request.restoreRequest?.recoveryType == "RestoreDisks" && request.restoreRequest?.region == "westus")
        #expect(throws: ARMError.self) { try ARMBody.decode(CrossRegionRestoreRequest.self, from: Array(#"{"restoreRequest": 3}"#.utf8)) }
    }

    @Test func theAccessTokenEncodesWithTheServicesKeys() throws {
        var token = CrrAccessToken()
        token.objectType = CrrAccessTokenResource.objectType
        token.accessTokenString = "crr1.abc"
        token.bMSActiveRegion = "eastus"
        token.rpOriginalSAOption = false
        let json = try #require(
            try JSONSerialization.jsonObject(with: ARMBody.encode(CrrAccessTokenResource(id: "i", name: "n", type: "t", properties: token))) as? [String: Any])
        let properties = try #require(json["properties"] as? [String: Any])
        #expect(properties["objectType"] as? String == "WorkloadCrrAccessToken")
        #expect(properties["bMSActiveRegion"] as? String == "eastus" && properties["rpOriginalSAOption"] as? Bool == false)
        #expect(properties["policyId"] == nil)
    }

    @Test func jobRequestsAndAADPropertiesRoundTrip() throws {
        let job = try ARMBody.decode(CrrJobRequest.self, from: Array(#"{"resourceId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.RecoveryServices/vaults/v", "jobName": "j"}"#.utf8))
        #expect(job.jobName == "j" && job.resourceId?.hasSuffix("/vaults/v") == true)
        let aad = AADPropertiesResource(
            id: nil, name: "backupAadProperties", type: nil,
            properties: .init(servicePrincipalClientId: "c", tenantId: "t", authority: "a", audience: "u", servicePrincipalObjectId: "o"))
        #expect(try ARMBody.decode(AADPropertiesResource.self, from: Array(ARMBody.encode(aad))) == aad)
    }

    @Test func thePassiveStampTakesItsOwnAPIVersions() {
        #expect(APIVersions.check("2021-11-15", for: .crossRegionRestore) == nil)
        #expect(APIVersions.check("2018-12-20", for: .crossRegionRestore) == nil)
        #expect(APIVersions.check("2026-10-01", for: .crossRegionRestore)?.code == ARMError.invalidAPIVersionCode)
        #expect(APIVersions.check(nil, for: .crossRegionRestore)?.status == 400)
    }

    @Test func aTrailingSlashIsKept() throws {
        #expect(try #require(ARMPath(raw: "/subscriptions/s/resourceGroups/r/providers/Microsoft.RecoveryServices/vaults/v/backupProtectedItems/")).hasTrailingSlash)
        #expect(try #require(ARMPath(raw: "/subscriptions/s/resourceGroups/r/providers/Microsoft.RecoveryServices/vaults/v/backupProtectedItems")).hasTrailingSlash == false)
    }
}
