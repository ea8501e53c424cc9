import CofferARM
import CofferPlatform
import CofferSystem
import Foundation
public import Hummingbird
import HummingbirdTLS
public import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// How `coffer serve` runs.
public struct ServeConfiguration: Sendable {
    /// The state directory: the platform, and `serve/` (certificates, tokens) beside it.
    public var stateDirectory: String
    /// The address to listen on; loopback by default.
    public var host: String
    /// The port; 0 picks a free one (printed when listening).
    public var port: Int
    /// Items per page of a list, before a `nextLink`.
    public var pageSize: Int
    /// `Retry-After` seconds on long-running operations (at least 1).
    public var retryAfter: Int
    /// Status polls that answer `InProgress` before an operation shows its end, even when the work is done.
    public var minimumPolls: Int
    /// How long a request that starts a long-running operation waits for the work to end before it answers
    /// 202: an operation that ends within it is answered as its end (200 with the item, 204 or 200 for a
    /// delete, or the error), where the operation's spec lists that synchronous answer. Zero: always 202.
    public var syncGrace: Duration
    /// Also answer `GET /.coffer/hello` with a plain Hummingbird router, without a token: the baseline
    /// bench/serve.sh measures serve's routes against, over the same listener and TLS. Off unless asked.
    public var baselineRoute: Bool
    /// Faults to inject in front of the ARM pipeline, for testing clients (`--faults`); none by default.
    public var faults: FaultSpec?

    public init(
        stateDirectory: String, host: String = "127.0.0.1", port: Int = 8443, pageSize: Int = 100, retryAfter: Int = 1, minimumPolls: Int = 1,
        syncGrace: Duration = ServeConfiguration.defaultSyncGrace, baselineRoute: Bool = false, faults: FaultSpec? = nil
    ) {
        self.stateDirectory = stateDirectory
        self.baselineRoute = baselineRoute
        self.faults = faults
        self.host = host
        self.port = port
        self.pageSize = max(1, pageSize)
        self.retryAfter = max(1, retryAfter)
        self.minimumPolls = max(0, minimumPolls)
        self.syncGrace = max(.zero, syncGrace)
    }

    /// Half a second: a platform write ends well within it even on a loaded machine, and the 202 a slower
    /// one falls back to costs its client at least a `Retry-After` (1 s) more anyway.
    public static let defaultSyncGrace: Duration = .zero

    /// `serve/` in the state directory: `ca.pem`, `server.pem`, `server-key.pem`, `tokens.json`.
    public var serveDirectory: String { FileSystem.join(stateDirectory, "serve") }

    /// Parses `HOST:PORT` (`127.0.0.1:8443`, `[::1]:8443`, `localhost:0`).
    public static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ServeError(.invalidListenAddress, "'\(text)' is not [IPV6]:PORT", hint: "for example --listen [::1]:8443")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ServeError(.invalidListenAddress, "'\(text)' is not HOST:PORT", hint: "for example --listen 127.0.0.1:8443")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else {
            throw ServeError(.invalidListenAddress, "'\(text)' is not HOST:PORT with a port from 0 to 65535", hint: "for example --listen 127.0.0.1:8443")
        }
        return (String(host), port)
    }
}

/// Where a running serve answers, for the banner and the tests.
public struct ServeEndpoint: Sendable {
    /// `https://127.0.0.1:8443`.
    public var url: String
    public var port: Int
    /// The CA certificate clients trust.
    public var caPath: String
    /// Whether the certificates were made by this start.
    public var certificatesCreated: Bool
}

/// `coffer serve`: the simulated platform as an ARM endpoint over HTTPS.
public enum CofferServer {
    /// The responder for the platform in the configuration's state directory, and what serving needs beside
    /// it: the operation store (drained on shutdown) and the thread pool of platform calls.
    public static func makeResponder(
        configuration: ServeConfiguration, platform: Platform, scheme: String = "https", logger: Logger
    ) async throws -> ARMResponder {
        try await makeParts(configuration: configuration, platform: platform, scheme: scheme, logger: logger).responder
    }

    struct Parts {
        var responder: ARMResponder
        var operations: OperationStore
    }

    static func makeParts(configuration: ServeConfiguration, platform: Platform, scheme: String, logger: Logger) async throws -> Parts {
        let pool = NIOThreadPool.singleton
        let overview = try await pool.runIfActive { try platform.overview() }
        let world = ServedWorld(overview)
        let operations = OperationStore(minimumPolls: configuration.minimumPolls)
        let readCache = ReadCache(platform: platform)
        let handlers = Handlers(
            access: PlatformAccess(platform: platform, pool: pool, world: world), operations: operations, pageSize: configuration.pageSize,
            retryAfter: configuration.retryAfter, syncGrace: configuration.syncGrace, readCache: readCache)
        let responder = ARMResponder(
            routes: handlers.routes, tokens: TokenStore(directory: configuration.serveDirectory), world: world, scheme: scheme, logger: logger,
            readCache: readCache)
        return Parts(responder: responder, operations: operations)
    }

    /// Serves until SIGINT or SIGTERM, then stops taking connections, finishes the requests in flight and
    /// the operations running, and returns. `onReady` is called once the listener is open.
    public static func run(
        configuration: ServeConfiguration, logger: Logger, onReady: @escaping @Sendable (ServeEndpoint) async -> Void
    ) async throws {
        let platform: Platform
        do {
            platform = try Platform(stateDirectory: configuration.stateDirectory)
        } catch let error as PlatformError {
            throw ServeError(.notInitialized, error.message, hint: error.hint, underlying: error)
        }
        let certificates = try ServeCertificates.ensure(directory: configuration.serveDirectory, host: configuration.host)
        let tls = try certificates.tlsConfiguration()
        let parts = try await makeParts(configuration: configuration, platform: platform, scheme: "https", logger: logger)
        let host = configuration.host
        // Hummingbird's own messages (its start, connection errors) only from warnings up; requests are
        // logged by the responder.
        var serverLogger = logger
        serverLogger.logLevel = .warning
        let app = Application(
            responder: ServeResponder(
                arm: parts.responder, baseline: configuration.baselineRoute ? BaselineRoute.responder() : nil,
                faults: configuration.faults.map { FaultInjector(spec: $0, logger: logger) }),
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(120))), tlsConfiguration: tls),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "coffer"),
            services: [OperationDrain(store: parts.operations)],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                let shownHost = host.contains(":") ? "[\(host)]" : host
                await onReady(
                    ServeEndpoint(
                        url: "https://\(shownHost):\(port)", port: port, caPath: certificates.caPath, certificatesCreated: certificates.created))
            },
            logger: serverLogger)
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch let error as IOError {
            throw ServeError(.listen, "cannot listen on \(host):\(configuration.port): \(error)", hint: "choose another address with --listen", underlying: error)
        }
    }
}

/// The path of the baseline route (`ServeConfiguration.baselineRoute`).
public enum BaselineRoute {
    public static let path = "/.coffer/hello"

    /// Hummingbird's hello world: a router with one route returning a short text.
    static func responder() -> RouterResponder<BasicRequestContext> {
        let router = Router()
        router.get(RouterPath(stringLiteral: path)) { _, _ in "Hello, world!" }
        return router.buildResponder()
    }
}

/// Serve's responder: the ARM pipeline, the baseline route in front of it when asked for, and the injected
/// faults (`--faults`) in front of the ARM pipeline when asked for.
struct ServeResponder: HTTPResponder {
    typealias Context = ServeContext
    let arm: ARMResponder
    let baseline: RouterResponder<BasicRequestContext>?
    let faults: FaultInjector?

    func respond(to request: Request, context: ServeContext) async throws -> Response {
        let basic = context.basic
        if let baseline, request.uri.path == BaselineRoute.path {
            return try await baseline.respond(to: request, context: basic)
        }
        guard let faults else { return try await arm.respond(to: request, context: basic) }
        return try await faults.respond(to: request, channel: context.channel) { try await arm.respond(to: $0, context: basic) }
    }
}
