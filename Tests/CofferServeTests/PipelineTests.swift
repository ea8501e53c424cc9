import CofferServe
import CofferTestSupport
import Foundation
import HTTPTypes
import Testing

/// The request pipeline: tokens, request ids, api-versions, routing, subscriptions, body limits.
@Suite struct PipelineTests {
    @Test func everyResponseCarriesRequestIDsAndEchoesTheCorrelationID() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            var headers = HTTPFields()
            headers[HTTPField.Name("x-ms-correlation-request-id")!] = "0f5b6a2e-5c1d-4b7a-9a54-3e2d1c0b9a87"
            let ok = try await client.send(.get, "/subscriptions?api-version=2022-12-01", headers: headers)
            #expect(ok.status == 200)
            #expect(ok.header("x-ms-correlation-request-id") == "0f5b6a2e-5c1d-4b7a-9a54-3e2d1c0b9a87")
            let first = try #require(ok.header("x-ms-request-id"))
            let refused = try await client.send(.get, "/subscriptions?api-version=2022-12-01", authorization: .some(nil))
            #expect(refused.status == 401)
            let second = try #require(refused.header("x-ms-request-id"))
            #expect(first != second && UUID(uuidString: first) != nil && UUID(uuidString: second) != nil)
            #expect(first == first.lowercased())
            #expect(refused.header("x-ms-correlation-request-id") != nil)
        }
    }

    @Test func aMissingOrMalformedAuthorizationIsAuthenticationFailed() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            for authorization in [String?.none, "Basic dXNlcjpwYXNz", "Bearer", "token-without-scheme"] {
                let reply = try await client.send(.get, "/subscriptions?api-version=2022-12-01", authorization: .some(authorization))
                #expect(reply.status == 401, "\(authorization ?? "none")")
                #expect(reply.errorCode == "AuthenticationFailed", "\(authorization ?? "none")")
                #expect(reply.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            }
        }
    }

    @Test func theBearerSchemeIsReadInAnyCaseWithBlanksAroundTheToken() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            for authorization in ["Bearer \(harness.token)", "bearer  \(harness.token) ", "BEARER\t\(harness.token)", " Bearer \(harness.token)"] {
                let reply = try await client.send(.get, "/subscriptions?api-version=2022-12-01", authorization: .some(authorization))
                #expect(reply.status == 200, "\(authorization.replacingOccurrences(of: harness.token, with: "TOKEN"))")
            }
            for authorization in ["Bearer\(harness.token)", "Bearer   ", "Bear \(harness.token)", "Bearerx \(harness.token)"] {
                let reply = try await client.send(.get, "/subscriptions?api-version=2022-12-01", authorization: .some(authorization))
                #expect(reply.status == 401 && reply.errorCode == "AuthenticationFailed", "\(authorization.replacingOccurrences(of: harness.token, with: "TOKEN"))")
            }
        }
    }

    @Test func anUnknownExpiredOrRevokedTokenIsInvalidAuthenticationToken() async throws {
        let harness = try await ServeHarness()
        let store = TokenStore(directory: harness.configuration.serveDirectory)
        let expiring = try store.issue(lifetime: 1, description: nil, now: Date().addingTimeInterval(-10))
        let revoked = try store.issue(lifetime: 3600, description: nil)
        try store.revoke(id: revoked.record.id)
        // A token of the right form whose secret differs by one character.
        let parts = harness.token.split(separator: ".")
        let forged = "\(parts[0]).\(parts[1]).\(parts[2].dropLast())\(parts[2].last == "A" ? "B" : "A")"
        try await harness.run { client in
            for (token, reason) in [(expiring.token, "expired"), (revoked.token, "revoked"), (forged, "not a token"), ("eyJhbGciOi.x.y", "not a coffer")] {
                let reply = try await client.send(.get, "/subscriptions?api-version=2022-12-01", authorization: "Bearer \(token)")
                #expect(reply.status == 401)
                #expect(reply.errorCode == "InvalidAuthenticationToken")
                let message = try #require(try reply.object()["error"] as? [String: Any])["message"] as? String
                #expect(message?.contains(reason) == true, "\(message ?? "")")
                // The token never comes back.
                #expect(!String(decoding: reply.body, as: UTF8.self).contains(token))
            }
        }
    }

    @Test func aTokenRevokedWhileServingIsRefusedAtOnce() async throws {
        let harness = try await ServeHarness()
        let store = TokenStore(directory: harness.configuration.serveDirectory)
        let issued = try store.issue(lifetime: 3600, description: nil)
        try await harness.run { client in
            #expect(try await client.send(.get, "/subscriptions?api-version=2022-12-01", authorization: "Bearer \(issued.token)").status == 200)
            try store.revoke(id: issued.record.id)
            #expect(try await client.send(.get, "/subscriptions?api-version=2022-12-01", authorization: "Bearer \(issued.token)").status == 401)
        }
    }

    @Test func aRememberedTokenStillExpiresAndIsRevoked() throws {
        let directory = try TemporaryDirectory()
        let store = TokenStore(directory: directory.path("serve"))
        let issued = try store.issue(lifetime: 60, description: nil)
        let other = try store.issue(lifetime: 60, description: nil)
        let now = Date()
        // Found good once, then remembered by its digest: the expiry is still checked on every request.
        #expect(store.refusal(of: issued.token, now: now) == nil)
        #expect(store.refusal(of: issued.token, now: now) == nil)
        #expect(store.refusal(of: issued.token, now: now.addingTimeInterval(61))?.contains("expired") == true)
        // Another store on the same file (another process) revokes it: refused from the next request.
        #expect(store.refusal(of: other.token, now: now) == nil)
        try TokenStore(directory: directory.path("serve")).revoke(id: other.record.id)
        #expect(store.refusal(of: other.token, now: now)?.contains("revoked") == true)
        #expect(store.refusal(of: issued.token, now: now) == nil)
        // A token of the right id with another secret is not taken for the remembered one.
        let forged = issued.token.dropLast() + (issued.token.last == "A" ? "B" : "A")
        #expect(store.refusal(of: String(forged), now: now)?.contains("not a token") == true)
    }

    @Test func tokensAreStoredHashedWithMode0600() async throws {
        let harness = try await ServeHarness()
        let text = try String(contentsOfFile: harness.configuration.serveDirectory + "/tokens.json", encoding: .utf8)
        let secret = try #require(harness.token.split(separator: ".").last)
        #expect(!text.contains(secret))
        let attributes = try FileManager.default.attributesOfItem(atPath: harness.configuration.serveDirectory + "/tokens.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func apiVersionsAreRequiredAndChecked() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            let missing = try await client.send(.get, Reference.vault)
            #expect(missing.status == 400 && missing.errorCode == "MissingApiVersionParameter")
            let invalid = try await client.send(.get, Reference.vault + "?api-version=2099-01-01")
            #expect(invalid.status == 400 && invalid.errorCode == "InvalidApiVersionParameter")
        }
    }

    @Test func unknownPathsMethodsSubscriptionsAndGroups() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            let unknown = try await client.send(.get, "/subscriptions/\(Reference.subscription)/providers/Microsoft.Sql/servers?api-version=2021-01-01")
            #expect(unknown.status == 404 && unknown.errorCode == "NoRegisteredProviderFound")
            let method = try await client.send(.patch, "/subscriptions?api-version=2022-12-01")
            #expect(method.status == 405)
            let subscription = try await client.send(
                .get, "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults?\(Reference.vaultAPI)")
            #expect(subscription.status == 404 && subscription.errorCode == "SubscriptionNotFound")
            let group = try await client.send(.get, "/subscriptions/\(Reference.subscription)/resourceGroups/rg-nowhere/providers/Microsoft.RecoveryServices/vaults?\(Reference.vaultAPI)")
            #expect(group.status == 404 && group.errorCode == "ResourceGroupNotFound")
        }
    }

    @Test func hostileBodiesAre400AndChangeNothing() async throws {
        let harness = try await ServeHarness()
        let deep = String(repeating: "{\"a\":", count: 5000) + "1" + String(repeating: "}", count: 5000)
        let large = "{\"location\": \"eastus\", \"tags\": {\"x\": \"" + String(repeating: "a", count: 4 * 1024 * 1024 + 10) + "\"}}"
        try await harness.run { client in
            for (body, code) in [
                ("not json", "InvalidRequestContent"), (deep, "InvalidRequestContent"), (large, "RequestContentTooLarge"),
                (#"{"location": 7}"#, "InvalidRequestContent"), (#"["a"]"#, "InvalidRequestContent"),
            ] {
                let reply = try await client.send(.put, Reference.vault + "?" + Reference.vaultAPI, body: body)
                #expect(reply.status == 400, "\(body.prefix(30))")
                #expect(reply.errorCode == code, "\(body.prefix(30))")
            }
        }
        #expect(try harness.platform.vaults().isEmpty)
    }

    @Test func subscriptionsAndResourceGroupsComeFromTheWorld() async throws {
        let harness = try await ServeHarness()
        try await harness.run { client in
            let list = try await client.send(.get, "/subscriptions?api-version=2022-12-01").object()
            let value = try #require(list["value"] as? [[String: Any]])
            #expect(value.count == 1 && value[0]["subscriptionId"] as? String == Reference.subscription)
            let groups = try await client.send(.get, "/subscriptions/\(Reference.subscription)/resourcegroups?api-version=2022-12-01").object()
            #expect((groups["value"] as? [Any])?.count == 6)
            let group = try await client.send(.get, "/SUBSCRIPTIONS/\(Reference.subscription)/RESOURCEGROUPS/RG-APP-EASTUS?api-version=2022-12-01")
            #expect(group.status == 200)
            #expect(try group.object()["id"] as? String == "/subscriptions/\(Reference.subscription)/resourceGroups/rg-app-eastus")
        }
    }
}
