import ArgumentParser
import CofferGitOps
import CofferModel
import CofferReconciler
import CofferStatePostgres
import Foundation

/// Where the reconciler's state lives: the state directory's files (the default), or a PostgreSQL database
/// that several machines share (`--state-backend postgres://USER@HOST:PORT/DB`, `$COFFER_STATE_BACKEND`).
struct StateBackendOptions: ParsableArguments {
    @Option(
        name: .customLong("state-backend"),
        help: ArgumentHelp(
            "Keep the reconciler's state (inventory, history, journal, lock) in PostgreSQL, postgres://USER@HOST:PORT/DB, shared by several machines (default: $COFFER_STATE_BACKEND, else the state directory's files).",
            valueName: "url"))
    var stateBackend: String?

    /// The database URL in force, if any.
    func url(environment: [String: String]) throws -> PostgresURL? {
        let text = stateBackend.flatMap { $0.isEmpty ? nil : $0 } ?? environment["COFFER_STATE_BACKEND"].flatMap { $0.isEmpty ? nil : $0 }
        guard let text else { return nil }
        do {
            return try PostgresURL(parsing: text, environment: environment)
        } catch {
            throw CLIError(code: "state-backend", message: (error as? ReconcilerError)?.message ?? "\(error)",
                           hint: (error as? ReconcilerError)?.hint, exitCode: .usage, underlying: error)
        }
    }

    /// Runs `body` with the backend (nil: the state directory's files), closing its connections after it.
    func withBackend<T>(_ body: ((any StateBackend)?) async throws -> T) async throws -> T {
        guard let url = try url(environment: ProcessInfo.processInfo.environment) else { return try await body(nil) }
        let backend: PostgresStateBackend
        do {
            backend = try PostgresStateBackend.open(url)
        } catch {
            throw CLIError.from(error)
        }
        defer { backend.shutdown() }
        return try await body(backend)
    }

    /// The synchronous form, for the commands that only read.
    func withBackend<T>(_ body: ((any StateBackend)?) throws -> T) throws -> T {
        guard let url = try url(environment: ProcessInfo.processInfo.environment) else { return try body(nil) }
        let backend: PostgresStateBackend
        do {
            backend = try PostgresStateBackend.open(url)
        } catch {
            throw CLIError.from(error)
        }
        defer { backend.shutdown() }
        return try body(backend)
    }
}
