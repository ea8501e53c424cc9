import CofferServe
import CofferTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOSSL
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The coffer executable built beside the tests (`swift build` first).
var cofferExecutable: URL? {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("coffer"),
        packageRoot.appendingPathComponent(".build/debug/coffer"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// `coffer serve` as a process, over real TLS: its certificate is trusted through its CA file only, its
/// token checked, and SIGTERM stops it cleanly.
@Suite(.serialized) struct TLSProcessTests {
    @Test func theCLIServesOverTLSTrustedThroughItsCAAndStopsOnSIGTERM() async throws {
        let executable = try #require(cofferExecutable, "the coffer executable is not built: run swift build first")
        let directory = try TemporaryDirectory()
        let state = try ReferenceState.copy(into: directory)
        let serveDirectory = ServeConfiguration(stateDirectory: state).serveDirectory
        let token = try TokenStore(directory: serveDirectory).issue(lifetime: 600, description: nil).token

        let (process, log, port) = try await startServe(executable, state: state, in: directory)
        defer { if process.isRunning { process.terminate() } }
        let listening = port

        // The CA file is public; the key is the server's alone.
        let key = try FileManager.default.attributesOfItem(atPath: serveDirectory + "/server-key.pem")
        #expect((key[.posixPermissions] as? Int) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: serveDirectory + "/ca-key.pem"))

        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(serveDirectory + "/ca.pem"))
        trusting.certificateVerification = .fullVerification
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        let reply = try await get("/subscriptions?api-version=2022-12-01", headers: headers, port: listening, tls: trusting)
        #expect(reply.status == .ok)
        #expect(reply.headers[HTTPField.Name("x-ms-request-id")!] != nil)
        let refused = try await get("/subscriptions?api-version=2022-12-01", port: listening, tls: trusting)
        #expect(refused.status == .unauthorized)
        // The benchmark's baseline route is not served unless asked for: the path is ARM's, and needs a token.
        let baseline = try await get(BaselineRoute.path, port: listening, tls: trusting)
        #expect(baseline.status == .unauthorized)

        // A client that trusts only the system's roots refuses serve's certificate.
        var system = TLSConfiguration.makeClientConfiguration()
        system.certificateVerification = .fullVerification
        let untrusting = TestClient(host: "127.0.0.1", port: listening, configuration: .init(tlsConfiguration: system, serverName: "localhost"))
        untrusting.connect()
        await #expect(throws: (any Error).self) { _ = try await untrusting.get("/subscriptions?api-version=2022-12-01", headers: headers) }
        try? await untrusting.shutdown()

        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<100 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("\"event\":\"stopped\""))
        #expect(!text.contains(token))
    }

    @Test func theBaselineRouteIsHummingbirdsHelloWorldBesideTheARMRoutes() async throws {
        let executable = try #require(cofferExecutable, "the coffer executable is not built: run swift build first")
        let directory = try TemporaryDirectory()
        let state = try ReferenceState.copy(into: directory)
        let serveDirectory = ServeConfiguration(stateDirectory: state).serveDirectory
        let (process, _, port) = try await startServe(executable, state: state, in: directory, extra: ["--baseline-route"])
        defer { if process.isRunning { process.terminate() } }

        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(serveDirectory + "/ca.pem"))
        let hello = try await get(BaselineRoute.path, port: port, tls: trusting)
        #expect(hello.status == .ok)
        #expect(hello.body.map { String(buffer: $0) } == "Hello, world!")
        // Everything else is still ARM's, behind the token.
        let refused = try await get("/subscriptions?api-version=2022-12-01", port: port, tls: trusting)
        #expect(refused.status == .unauthorized)
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<100 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        #expect(process.terminationStatus == 0)
    }

    /// One GET on a connection of its own. When the test process is starved of threads (the whole suite on two
    /// cores), a connection can sit unused past serve's idle timeout and be closed before the request is
    /// written; like any HTTP client, the request is then sent again on a new connection, once.
    func get(_ uri: String, headers: HTTPFields = [:], port: Int, tls: TLSConfiguration) async throws -> TestClient.Response {
        for attempt in 1...2 {
            let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(tlsConfiguration: tls, serverName: "localhost"))
            client.connect()
            do {
                let response = try await client.get(uri, headers: headers)
                try? await client.shutdown()
                return response
            } catch ChannelError.ioOnClosedChannel where attempt == 1 {
                try? await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
        preconditionFailure("unreachable")
    }

    /// Starts `coffer serve` on a free port with JSON output to `serve.log`; the process, the log and the port.
    func startServe(_ executable: URL, state: String, in directory: TemporaryDirectory, extra: [String] = []) async throws -> (Process, String, Int) {
        let log = directory.path("serve.log")
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--state", state, "--listen", "127.0.0.1:0", "--output", "json"] + extra
        process.standardOutput = output
        process.standardError = output
        try process.run()

        var port: Int?
        for _ in 0..<300 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    object["event"] as? String == "listening"
                else { continue }
                port = (object["port"] as? String).flatMap(Int.init)
            }
            if port != nil || !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            Issue.record("serve did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            throw CancellationError()
        }
        return (process, log, port)
    }
}
