import CofferPlatform
import Foundation
import Testing

/// `GET /providers/Coffer.Platform/facts`: what coffer's ARM client reads beside the resource bodies, from
/// the reference world, behind the same token and api-version checks as every route.
@Suite struct ReconcilerFactsTests {
    static let path = "/providers/Coffer.Platform/facts"

    @Test func theFactsRouteAnswersWhatNoResourceBodyCarries() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            let reply = try await client.send(.get, Self.path + "?api-version=2022-12-01")
            #expect(reply.status == 200)
            let facts = try reply.object()
            #expect(facts["defaultSubscriptionId"] as? String == Reference.subscription)
            #expect(facts["operatorUserType"] as? String == "Guest")
            #expect(facts["backupManagementServiceObjectId"] as? String == Platform.backupManagementServiceObjectID)
            #expect(facts["regions"] as? [String] == ["eastus", "westeurope"])
            let sets = try #require(facts["diskEncryptionSets"] as? [[String: Any]])
            #expect(sets.count == 1)
            #expect(sets.first?["name"] as? String == "des-westeurope")
            #expect(sets.first?["keyVault"] as? String == "kv-app-westeurope")
            #expect(sets.first?["key"] as? String == "des-key-cmk")
            #expect((sets.first?["identityObjectId"] as? String)?.isEmpty == false)
            #expect((facts["certificateBackedKeys"] as? [Any])?.isEmpty == true)
            #expect((facts["customRoles"] as? [Any]) != nil)

            let anonymous = try await client.send(.get, Self.path + "?api-version=2022-12-01", authorization: .some(nil))
            #expect(anonymous.status == 401)
            let unversioned = try await client.send(.get, Self.path)
            #expect(unversioned.status == 400)
            #expect(unversioned.errorCode == "MissingApiVersionParameter")
            let written = try await client.send(.put, Self.path + "?api-version=2022-12-01", body: "{}")
            #expect(written.status == 405)
        }
    }
}
