import CofferReconciler
import Foundation
import PostgresNIO

/// coffer's tables, created and migrated by coffer itself: `coffer_schema_migrations` lists the versions
/// applied; each migration runs once, in order, in the transaction that records it, under a transaction-level
/// advisory lock so that replicas starting together migrate once. Migrations only go forward: a database whose
/// schema is newer than this coffer is refused, never changed.
enum PostgresSchema {
    /// The advisory lock key of migrations ("coffer-m").
    static let migrationLockKey: Int64 = 0x636F_6666_6572_2D6D

    static let migrations: [(version: Int, statements: [String])] = [
        (
            1,
            [
                // One row per owned resource; the entry as coffer's JSON, read back whole.
                """
                CREATE TABLE coffer_inventory (
                    address text PRIMARY KEY,
                    entry text NOT NULL,
                    updated timestamptz NOT NULL DEFAULT now()
                )
                """,
                // The journal of the apply that runs (or did not finish). `record_id` makes a retried append
                // harmless; `term` is the leader's term that wrote it (null outside a replicas group).
                """
                CREATE TABLE coffer_journal (
                    seq bigserial PRIMARY KEY,
                    record_id uuid NOT NULL UNIQUE,
                    step text NOT NULL,
                    term bigint,
                    written timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE coffer_history (
                    seq bigserial PRIMARY KEY,
                    record_id uuid NOT NULL UNIQUE,
                    record text NOT NULL,
                    term bigint,
                    written timestamptz NOT NULL DEFAULT now()
                )
                """,
                // Who holds the apply lock (the lock itself is a session-level advisory lock).
                """
                CREATE TABLE coffer_lock_holder (
                    id integer PRIMARY KEY CHECK (id = 1),
                    owner text NOT NULL,
                    backend_pid integer NOT NULL
                )
                """,
                // One lease per group of watchers; the term only grows.
                """
                CREATE TABLE coffer_leases (
                    group_name text PRIMARY KEY,
                    holder text NOT NULL,
                    term bigint NOT NULL,
                    acquired timestamptz NOT NULL,
                    renewed timestamptz NOT NULL,
                    expires timestamptz NOT NULL
                )
                """,
            ]
        )
    ]

    static var currentVersion: Int { migrations.last!.version }

    /// Brings the schema to `currentVersion`; returns the versions it applied.
    @discardableResult
    static func migrate(_ session: PostgresSession) throws -> [Int] {
        try session.transaction { connection in
            var binds = PostgresBindings()
            binds.append(migrationLockKey)
            try connection.query("SELECT pg_advisory_xact_lock($1)", binds)
            try connection.query(
                "CREATE TABLE IF NOT EXISTS coffer_schema_migrations (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())")
            let rows = try connection.query("SELECT coalesce(max(version), 0) FROM coffer_schema_migrations")
            let installed = try rows.first.map { try $0.decode(Int.self) } ?? 0
            if installed > currentVersion {
                throw ReconcilerError(
                    code: .schema,
                    message: "the state backend \(session.url) has schema version \(installed), newer than this coffer's \(currentVersion)",
                    hint: "run a coffer at least as new as the one that migrated it; coffer never migrates a schema backwards")
            }
            var applied: [Int] = []
            for migration in migrations where migration.version > installed {
                for statement in migration.statements { try connection.query(statement) }
                var version = PostgresBindings()
                version.append(migration.version)
                try connection.query("INSERT INTO coffer_schema_migrations (version) VALUES ($1)", version)
                applied.append(migration.version)
            }
            return applied
        }
    }
}
