import CofferReconciler
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One connection to the server, used from synchronous code: each call waits for its future on the calling
/// thread while the work runs on SwiftNIO's event loop (never on Swift's cooperative pool, so a caller
/// blocked here cannot starve it). Calls are serialized.
///
/// A connection that the server closed (a restart, a failover, a terminated backend) is opened again on the
/// next call; `run(retrying:)` retries an idempotent call across such losses, with backoff, until
/// `reconnectDeadline` seconds have passed, then fails with `.unavailable` naming the server.
final class PostgresSession: @unchecked Sendable {
    let url: PostgresURL
    let reconnectDeadline: Double
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var nextID = 1
    private let logger: Logger
    /// Called, on an event loop thread, when an open connection closes (for the lock's session).
    var onClose: (@Sendable () -> Void)?

    init(url: PostgresURL, reconnectDeadline: Double) {
        self.url = url
        self.reconnectDeadline = reconnectDeadline
        var logger = Logger(label: "coffer.state.postgres")
        logger.logLevel = .critical
        self.logger = logger
    }

    deinit {
        if let connection { Self.closeAndWait(connection) }
    }

    /// An open connection, for the duration of one `withConnection` body.
    struct Connection {
        let connection: PostgresConnection
        let logger: Logger

        /// Runs one statement and waits for all its rows.
        @discardableResult
        func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> PostgresQueryResult {
            try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait()
        }
    }

    /// Runs `body` on an open connection, holding the session for its whole duration. `retrying`: the body is
    /// idempotent, so it runs again after a lost connection; otherwise a lost connection fails it at once.
    func withConnection<T>(retrying: Bool = true, _ body: (Connection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let started = Date()
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try body(Connection(connection: try openLocked(), logger: logger))
            } catch {
                let lost = Self.isConnectionLoss(error) || connection?.isClosed == true
                if lost { dropLocked() }
                guard lost, retrying else { throw presented(error) }
                if Date().timeIntervalSince(started) >= reconnectDeadline {
                    throw ReconcilerError(
                        code: .unavailable, message: "the state backend \(url) cannot be reached: \(Self.describe(error))",
                        hint: "check that the PostgreSQL server is up and reachable; coffer retried for \(Int(reconnectDeadline)) s",
                        underlying: error)
                }
                usleep(UInt32(min(2.0, 0.05 * pow(2, Double(min(attempt, 6)))) * 1_000_000))
            }
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), retrying: Bool = true) throws -> PostgresQueryResult {
        try withConnection(retrying: retrying) { try $0.query(sql, binds) }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws. After a lost
    /// connection the server has rolled it back, and the whole body runs again: it must be idempotent.
    func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection { connection in
            try connection.query("BEGIN")
            do {
                let result = try body(connection)
                try connection.query("COMMIT")
                return result
            } catch {
                _ = try? connection.query("ROLLBACK")
                throw error
            }
        }
    }

    /// Whether a connection is open now (without opening one).
    var isOpen: Bool {
        lock.withLock { connection.map { !$0.isClosed } ?? false }
    }

    func close() {
        lock.withLock { dropLocked() }
    }

    private func openLocked() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        let tls: PostgresConnection.Configuration.TLS
        switch url.tls {
        case .disable: tls = .disable
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        let id = nextID
        nextID += 1
        let opened = try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger
        ).wait()
        let onClose = self.onClose
        opened.closeFuture.whenComplete { _ in onClose?() }
        connection = opened
        return opened
    }

    private func dropLocked() {
        if let connection {
            self.connection = nil
            Self.closeAndWait(connection)
        }
    }

    /// Closes `connection` and waits for it: postgres-nio requires a connection closed before it is freed.
    private static func closeAndWait(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        _ = try? closing.wait()
    }

    private func presented(_ error: any Error) -> any Error {
        if error is ReconcilerError || error is WriteRefused { return error }
        if Self.isConnectionLoss(error) {
            return ReconcilerError(
                code: .unavailable, message: "the state backend \(url) cannot be reached: \(Self.describe(error))",
                hint: "check that the PostgreSQL server is up and reachable", underlying: error)
        }
        return ReconcilerError(code: .io, message: "the state backend \(url) refused a statement: \(Self.describe(error))", underlying: error)
    }

    /// Whether `error` means the connection is gone (or never came), rather than a statement refused.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .messageDecodingFailure,
                .unexpectedBackendMessage:
                return true
            case .server:
                // admin_shutdown, crash_shutdown, cannot_connect_now: the server is going away or coming back.
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("57P") || state.hasPrefix("08")
            default:
                return false
            }
        }
        return error is ChannelError || error is IOError || error is NIOConnectionError
    }

    /// The server's message and SQLSTATE when there is one; never the statement's bound values.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            return "\(error.code)"
        }
        return String(describing: error)
    }
}

/// A write's fence or lock check failed inside a transaction; the store says why once the session is free.
struct WriteRefused: Error {}

extension PostgresQueryResult {
    /// How many rows a write touched.
    var affectedRows: Int { metadata.rows ?? 0 }
}
