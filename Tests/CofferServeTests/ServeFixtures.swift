import CofferPlatform
import CofferServe
import CofferTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The package's root folder, for the shipped world.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The reference platform (examples/reference/world.yaml), made once and copied for each test.
enum ReferenceState {
    static let pristine = WorldState.make("examples/reference/world.yaml")

    static func copy(into directory: TemporaryDirectory) throws -> String {
        try WorldState.copy(pristine, into: directory)
    }
}

/// A platform made once from a shipped world, copied for each test.
enum WorldState {
    static func make(_ world: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-serve-world-\(UUID().uuidString)").path
        do {
            try Platform.create(stateDirectory: directory, world: try WorldLoader.load(path: packageRoot.appendingPathComponent(world).path))
        } catch {
            preconditionFailure("the platform of \(world) could not be made: \(error)")
        }
        return directory
    }

    static func copy(_ pristine: String, into directory: TemporaryDirectory) throws -> String {
        let target = directory.path("state")
        try FileManager.default.copyItem(atPath: pristine, toPath: target)
        return target
    }
}

/// The reference world's names.
enum Reference {
    static let subscription = "11111111-1111-1111-1111-111111111111"
    static let backupGroup = "/subscriptions/\(subscription)/resourceGroups/rg-backup-eastus"
    static let vault = backupGroup + "/providers/Microsoft.RecoveryServices/vaults/rsv-test"
    static let keyVault = "/subscriptions/\(subscription)/resourceGroups/rg-keys-eastus/providers/Microsoft.KeyVault/vaults/kv-app-eastus"
    static let backupAPI = "api-version=2026-10-01"
    static let vaultAPI = "api-version=2026-11-01"
    static let keyVaultAPI = "api-version=2026-05-15"

    static func item(_ vm: String, group: String = "rg-app-eastus") -> String {
        vault + "/backupFabrics/Azure/protectionContainers/IaasVMContainer%3Biaasvmcontainerv2%3B\(group)%3B\(vm)/protectedItems/VM%3Biaasvmcontainerv2%3B\(group)%3B\(vm)"
    }

    static let vaultBody = #"{"location": "eastus", "sku": {"name": "Standard"}, "properties": {"publicNetworkAccess": "Enabled"}}"#
    static let policyBody = #"""
        {"properties": {"backupManagementType": "AzureIaasVM", "policyType": "V1", "instantRpRetentionRangeInDays": 2, "timeZone": "UTC",
          "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy", "scheduleRunFrequency": "Daily", "scheduleRunTimes": ["2026-01-01T02:00:00Z"]},
          "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy",
            "dailySchedule": {"retentionTimes": ["2026-01-01T02:00:00Z"], "retentionDuration": {"count": 30, "durationType": "Days"}}}}}
        """#
}

/// A serve responder on a fresh copy of the reference platform, with a token, driven in process.
struct ServeHarness {
    let directory: TemporaryDirectory
    let state: String
    let token: String
    let responder: ARMResponder
    let configuration: ServeConfiguration

    /// A harness on a copy of `pristine` (the reference platform by default). Its long-running operations
    /// answer 202 and are polled (`syncGrace` zero) unless a test asks for the synchronous answer.
    init(pageSize: Int = 100, minimumPolls: Int = 0, syncGrace: Duration = .zero, pristine: String = ReferenceState.pristine) async throws {
        directory = try TemporaryDirectory()
        state = try WorldState.copy(pristine, into: directory)
        configuration = ServeConfiguration(stateDirectory: state, pageSize: pageSize, minimumPolls: minimumPolls, syncGrace: syncGrace)
        token = try TokenStore(directory: configuration.serveDirectory).issue(lifetime: 3600, description: "test").token
        let platform = try Platform(stateDirectory: state)
        var logger = Logger(label: "coffer.serve.test")
        logger.logLevel = .warning
        responder = try await CofferServer.makeResponder(configuration: configuration, platform: platform, logger: logger)
    }

    var platform: Platform { get throws { try Platform(stateDirectory: state) } }

    /// Runs `body` with a client of the responder.
    func run<T: Sendable>(_ body: @escaping @Sendable (Client) async throws -> T) async throws -> T {
        let app = Application(responder: responder)
        return try await app.test(.router) { client in try await body(Client(tester: client, token: token)) }
    }

    struct Client: Sendable {
        let tester: any TestClientProtocol
        let token: String

        /// A request with the harness's token (or `authorization` when given), and the JSON body.
        func send(
            _ method: HTTPRequest.Method, _ uri: String, body: String? = nil, authorization: String?? = nil, headers extra: HTTPFields = [:]
        ) async throws -> Reply {
            var headers = extra
            switch authorization {
            case .none: headers[.authorization] = "Bearer \(token)"
            case .some(.some(let value)): headers[.authorization] = value
            case .some(.none): break
            }
            if body != nil { headers[.contentType] = "application/json" }
            return try await tester.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                Reply(status: response.status.code, headers: response.headers, body: Data(response.body.readableBytesView))
            }
        }

        /// Polls an operation's status URL (as it came in `Azure-AsyncOperation`) until it ends.
        func waitForOperation(_ reply: Reply) async throws -> [String: Any] {
            let url = try #require(reply.header("Azure-AsyncOperation"))
            let path = try #require(URL(string: url)).path + "?" + (URL(string: url)?.query ?? "")
            for _ in 0..<50 {
                let status = try await send(.get, path)
                #expect(status.status == 200)
                let object = try status.object()
                if object["status"] as? String != "InProgress" { return object }
                try await Task.sleep(for: .milliseconds(20))
            }
            Issue.record("the operation did not end")
            return [:]
        }
    }

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPFields
        var body: Data

        func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
        func object() throws -> [String: Any] { try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any]) }
        var errorCode: String? { (try? object())?["error"].flatMap { ($0 as? [String: Any])?["code"] as? String } }
    }
}

