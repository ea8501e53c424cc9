import CofferARMClient
import CofferPlatform
import CofferServe
import CofferTestSupport
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore

/// The package's root folder, for the shipped worlds.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A platform made from a world file once, copied for each test.
final class PristineWorld: Sendable {
    let directory: String

    init(world path: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-arm-client-\(UUID().uuidString)").path
        try Platform.create(stateDirectory: directory, world: try WorldLoader.load(path: path))
    }

    /// A copy of the platform's state directory inside `parent`.
    func copy(into parent: TemporaryDirectory, name: String = "state") throws -> String {
        let target = parent.path(name)
        try FileManager.default.copyItem(atPath: directory, toPath: target)
        return target
    }

    static let reference: PristineWorld = {
        do {
            return try PristineWorld(world: packageRoot.appendingPathComponent("examples/reference/world.yaml").path)
        } catch {
            preconditionFailure("the reference platform could not be made: \(error)")
        }
    }()
}

/// `coffer serve` of a state directory, in this process, on a real TLS listener on a free loopback port: its
/// own CA and server certificate, and a token issued for the test. `stop()` ends it.
final class RunningServe: Sendable {
    let endpoint: String
    let caPath: String
    let token: String
    let state: String
    /// Whether the serve process has ended (always false for a serve in this process).
    let ended: @Sendable () -> Bool
    private let stopping: @Sendable () async -> Void

    private init(
        endpoint: String, caPath: String, token: String, state: String, ended: @escaping @Sendable () -> Bool = { false },
        stop: @escaping @Sendable () async -> Void
    ) {
        self.ended = ended
        self.endpoint = endpoint
        self.caPath = caPath
        self.token = token
        self.state = state
        stopping = stop
    }

    /// `coffer serve` as its own process (the executable built beside the tests), on a free loopback port,
    /// with `arguments` added to its command line, logging to `log` (`STATE-serve.log` by default); `stop()`
    /// sends it SIGTERM and waits for it to end.
    static func startProcess(state: String, arguments: [String] = [], log: String? = nil) async throws -> RunningServe {
        guard let executable = cofferExecutable else { throw CocoaError(.fileNoSuchFile) }
        let configuration = ServeConfiguration(stateDirectory: state)
        let token = try TokenStore(directory: configuration.serveDirectory).issue(lifetime: 3600, description: nil).token
        let log = log ?? state + "-serve.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--state", state, "--listen", "127.0.0.1:0", "--output", "json"] + arguments
        process.standardOutput = output
        process.standardError = output
        let (ended, continuation) = AsyncStream.makeStream(of: Void.self)
        process.terminationHandler = { _ in
            continuation.yield()
            continuation.finish()
        }
        try process.run()
        var port: Int?
        for _ in 0..<600 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    object["event"] as? String == "listening"
                else { continue }
                port = (object["port"] as? String).flatMap(Int.init) ?? object["port"] as? Int
            }
            if port != nil || !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            throw CocoaError(.featureUnsupported)
        }
        let box = UncheckedProcess(process)
        return RunningServe(
            endpoint: "https://127.0.0.1:\(port)", caPath: configuration.serveDirectory + "/ca.pem", token: token, state: state,
            ended: { !box.process.isRunning },
            stop: {
                if box.process.isRunning { box.process.terminate() }
                for await _ in ended {}
            })
    }

    static func start(
        state: String, minimumPolls: Int = 0, pageSize: Int = 100, syncGrace: Duration = ServeConfiguration.defaultSyncGrace
    ) async throws -> RunningServe {
        let configuration = ServeConfiguration(
            stateDirectory: state, host: "127.0.0.1", port: 0, pageSize: pageSize, minimumPolls: minimumPolls, syncGrace: syncGrace)
        let certificates = try ServeCertificates.ensure(directory: configuration.serveDirectory, host: "127.0.0.1")
        let token = try TokenStore(directory: configuration.serveDirectory).issue(lifetime: 3600, description: nil).token
        let platform = try Platform(stateDirectory: state)
        var logger = Logger(label: "coffer-serve-test")
        logger.logLevel = .warning
        let responder = try await CofferServer.makeResponder(configuration: configuration, platform: platform, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            responder: responder,
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(120))), tlsConfiguration: try certificates.tlsConfiguration()),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "coffer"),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await value in ports { port = value }
        guard port > 0 else {
            task.cancel()
            throw CocoaError(.featureUnsupported)
        }
        return RunningServe(
            endpoint: "https://127.0.0.1:\(port)", caPath: certificates.caPath, token: token, state: state,
            stop: {
                task.cancel()
                _ = await task.result
            })
    }

    /// A provider over this serve, trusting its CA only.
    func provider(concurrency: Int = 8) throws -> ARMClientProvider {
        try ARMClientProvider(configuration: ARMClientConfiguration(endpoint: endpoint, token: token, caFile: caPath, concurrency: concurrency))
    }

    func stop() async {
        await stopping()
    }
}

/// Keeps what a test makes alive until it ends, then shuts it down.
final class Keeper: @unchecked Sendable {
    private let lock = NSLock()
    private var directories: [TemporaryDirectory] = []
    private var serves: [RunningServe] = []
    private var providers: [ARMClientProvider] = []

    func keep(_ directory: TemporaryDirectory) { lock.withLock { directories.append(directory) } }
    func keep(_ serve: RunningServe) { lock.withLock { serves.append(serve) } }
    func keep(_ provider: ARMClientProvider) { lock.withLock { providers.append(provider) } }

    func close() async {
        let (providers, serves) = lock.withLock { (self.providers, self.serves) }
        for provider in providers { try? await provider.shutdown() }
        for serve in serves { await serve.stop() }
    }
}

/// A process handed to the closure that stops it (Process is not Sendable; only `isRunning` and
/// `terminate()` are used, from one task at a time).
final class UncheckedProcess: @unchecked Sendable {
    let process: Process
    init(_ process: Process) { self.process = process }
}
