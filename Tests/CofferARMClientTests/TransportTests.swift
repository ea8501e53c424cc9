import CofferARM
import CofferModel
import CofferServe
import CofferTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import Testing

@testable import CofferARMClient

/// Answers from a script, in order (the last one again once the script runs out), over a real TLS listener:
/// what ARM answers under throttling and failures, which coffer serve does not do by itself.
struct ScriptedResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let script: Script

    final class Script: @unchecked Sendable {
        private let lock = NSLock()
        private var answers: [(status: Int, headers: [(String, String)], body: String)]
        private(set) var requests: [String] = []
        init(_ answers: [(status: Int, headers: [(String, String)], body: String)]) { self.answers = answers }
        var count: Int { lock.withLock { requests.count } }
        func next(_ path: String) -> (status: Int, headers: [(String, String)], body: String) {
            lock.withLock {
                requests.append(path)
                return answers.count > 1 ? answers.removeFirst() : answers[0]
            }
        }
    }

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let answer = script.next(request.uri.path)
        var headers = HTTPFields()
        for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
        headers[.contentType] = "application/json"
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }
}

@Suite(.serialized) struct TransportTests {
    /// A scripted endpoint on a free loopback port, over TLS with a CA of its own; `body` gets a transport
    /// that trusts it. The deadline is generous unless a test is about it: a whole suite on two cores can
    /// starve a test of threads for a minute.
    func withEndpoint(
        _ answers: [(status: Int, headers: [(String, String)], body: String)], retryDeadline: Duration = .seconds(180),
        _ body: (ARMTransport, ScriptedResponder.Script) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        let certificates = try ServeCertificates.ensure(directory: directory.path("tls"), host: "127.0.0.1")
        let script = ScriptedResponder.Script(answers)
        var logger = Logger(label: "coffer-arm-client-transport-test")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            responder: ScriptedResponder(script: script),
            server: try .tls(.http1(), tlsConfiguration: try certificates.tlsConfiguration()),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await value in ports { port = value }
        let transport = try ARMTransport(
            configuration: ARMClientConfiguration(
                endpoint: "https://127.0.0.1:\(port)", token: "coffer.test.token", caFile: certificates.caPath, retryDeadline: retryDeadline,
                initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(50)))
        do {
            try await body(transport, script)
        } catch {
            try await transport.shutdown()
            task.cancel()
            _ = await task.result
            throw error
        }
        try await transport.shutdown()
        task.cancel()
        _ = await task.result
    }

    static let ok = #"{"value": [{"name": "a"}, {"name": "b"}]}"#

    struct Named: Decodable, Sendable { var name: String }

    @Test func throttlingAndServerErrorsAreRetriedUntilAnAnswer() async throws {
        try await withEndpoint([
            (429, [("Retry-After", "0")], #"{"error": {"code": "TooManyRequests", "message": "slow down"}}"#),
            (503, [], #"{"error": {"code": "ServiceUnavailable", "message": "busy"}}"#),
            (200, [], Self.ok),
        ]) { transport, script in
            let items = try await transport.list(Named.self, "/things?api-version=1", what: "things")
            #expect(items?.map(\.name) == ["a", "b"])
            #expect(script.count == 3)
        }
    }

    @Test func aClientErrorIsTerminalWithARMsCode() async throws {
        try await withEndpoint([(400, [], #"{"error": {"code": "BMSUserErrorInvalidPolicyInput", "message": "bad policy"}}"#)]) { transport, script in
            let error = try await #require(throws: ProviderError.self) { _ = try await transport.list(Named.self, "/things?api-version=1", what: "things") }
            #expect(error.code == "BMSUserErrorInvalidPolicyInput")
            #expect(!error.retryable)
            #expect(script.count == 1)
        }
    }

    @Test func throttlingPastTheDeadlineIsReportedAsRetryable() async throws {
        try await withEndpoint([(429, [("Retry-After", "1")], #"{"error": {"code": "TooManyRequests", "message": "slow down"}}"#)],
                               retryDeadline: .seconds(8)) { transport, script in
            // Long enough for a second attempt after the 1 s Retry-After even when the first is slow under load.
            let error = try await #require(throws: ProviderError.self) { _ = try await transport.list(Named.self, "/things?api-version=1", what: "things") }
            #expect(error.code == "RetryDeadlineExceeded")
            #expect(error.retryable)
            #expect(!error.message.contains("coffer.test.token"))
            #expect(script.count >= 2)
        }
    }

    @Test func aLongRunningOperationIsPolledToItsFailureWithItsCode() async throws {
        try await withEndpoint([
            (202, [("Azure-AsyncOperation", "/operations/1?api-version=1"), ("Retry-After", "0")], ""),
            (200, [("Retry-After", "0")], #"{"status": "InProgress"}"#),
            (200, [], #"{"status": "Failed", "error": {"code": "UserErrorKeyVaultPermissionsNotConfigured", "message": "no access"}}"#),
        ]) { transport, script in
            let error = try await #require(throws: ProviderError.self) {
                try await transport.write(.PUT, "/items/1?api-version=1", body: Array("{}".utf8), what: "enable protection")
            }
            #expect(error.code == "UserErrorKeyVaultPermissionsNotConfigured")
            #expect(script.count == 3)
        }
    }

    /// A long-running operation answered synchronously (200 with the resource, 204 for a delete, or the
    /// error at once) is finished: nothing is polled.
    @Test(arguments: [
        ("PUT", 200, #"{"name": "VM;iaasvmcontainerv2;rg;vm", "properties": {"protectionState": "IRPending"}}"#),
        ("DELETE", 200, #"{"name": "VM;iaasvmcontainerv2;rg;vm", "properties": {"protectionState": "ProtectionStopped"}}"#),
        ("DELETE", 204, ""),
    ])
    func aSynchronousAnswerToALongRunningOperationIsItsEnd(method: String, status: Int, body: String) async throws {
        try await withEndpoint([
            (status, [], body),
            (500, [], #"{"error": {"code": "Unexpected", "message": "the client polled after a synchronous answer"}}"#),
        ]) { transport, script in
            let reply = try await transport.write(
                method == "PUT" ? .PUT : .DELETE, "/items/1?api-version=1", body: method == "PUT" ? Array("{}".utf8) : nil, what: "protected item")
            #expect(reply.status == status)
            #expect(reply.body == Array(body.utf8))
            #expect(script.count == 1)
        }
    }

    @Test func aSynchronousFailureOfALongRunningOperationIsTerminalWithItsCode() async throws {
        try await withEndpoint([
            (400, [], #"{"error": {"code": "UserErrorKeyVaultPermissionsNotConfigured", "message": "no access"}}"#),
            (500, [], #"{"error": {"code": "Unexpected", "message": "the client polled after a synchronous answer"}}"#),
        ]) { transport, script in
            let error = try await #require(throws: ProviderError.self) {
                try await transport.write(.PUT, "/items/1?api-version=1", body: Array("{}".utf8), what: "enable protection")
            }
            #expect(error.code == "UserErrorKeyVaultPermissionsNotConfigured")
            #expect(!error.retryable)
            #expect(script.count == 1)
        }
    }
}
