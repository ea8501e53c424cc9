import CofferModel
import CofferReconciler
import Foundation
import PostgresNIO

#if canImport(Glibc)
    import Glibc
#endif

/// The reconciler's state shared by several machines in one PostgreSQL database: the store
/// (`PostgresStateStore`), the apply lock, and the leases of groups of watchers.
///
/// **The apply lock** is a session-level advisory lock held on a connection of its own: the server releases
/// it when that connection ends (the process exits or is killed, its machine goes away), so it is never
/// stuck behind a dead process, as a `flock` is not. `coffer_lock_holder` says who holds it (pid, host,
/// operation, since) for people. If the lock's connection is lost while held (a server restart, or an
/// operator's `coffer lock release --force`), every later write of this process fails: it no longer holds
/// what it writes under.
///
/// **Leases** (`coffer_leases`): one row per group of watchers with its holder, term and expiry, all on
/// the server's clock. A campaign takes a free or expired lease with the next term, a leader renews its own,
/// and a leader's writes are fenced with its term (`PostgresStateStore`).
public final class PostgresStateBackend: StateBackend, LeaderElection, @unchecked Sendable {
    public let url: PostgresURL
    let session: PostgresSession
    let postgresStore: PostgresStateStore
    private let lockSession: PostgresSession
    private let stateLock = NSLock()
    private var lockHeld = false
    private var lockLost = false

    /// The apply lock's advisory key: "coffer" in ASCII; both of its 32-bit halves are below 2^31.
    static let applyLockKey: Int64 = 0x636F_6666_6572

    /// Connects, creates or migrates the schema, and returns the backend. `reconnectDeadline`: how long a
    /// statement keeps retrying while the server is unreachable.
    public static func open(_ url: PostgresURL, reconnectDeadline: Double = 30) throws -> PostgresStateBackend {
        let backend = PostgresStateBackend(url: url, reconnectDeadline: reconnectDeadline)
        do {
            try PostgresSchema.migrate(backend.session)
        } catch let error as ReconcilerError {
            throw error
        } catch {
            throw ReconcilerError(code: .unavailable, message: "the state backend \(url) cannot be opened: \(PostgresSession.describe(error))",
                                  underlying: error)
        }
        return backend
    }

    private init(url: PostgresURL, reconnectDeadline: Double) {
        self.url = url
        session = PostgresSession(url: url, reconnectDeadline: reconnectDeadline)
        lockSession = PostgresSession(url: url, reconnectDeadline: reconnectDeadline)
        postgresStore = PostgresStateStore(session: session)
        lockSession.onClose = { [weak self] in self?.lockConnectionClosed() }
        postgresStore.writeGuard = { [weak self] in try self?.checkLock() }
    }

    public var store: any ReconcilerStateStore { postgresStore }
    public var location: String { "the state backend \(url)" }

    /// Closes the connections (releasing the lock if held).
    public func shutdown() {
        lockSession.close()
        session.close()
    }

    // MARK: The apply lock

    public func acquireLock(operation: String, timeout: Double) throws -> any HeldStateLock {
        let deadline = Date().addingTimeInterval(timeout)
        var key = PostgresBindings()
        key.append(Self.applyLockKey)
        while true {
            let rows = try lockSession.query("SELECT pg_try_advisory_lock($1)", key)
            if try rows.first?.decode(Bool.self) == true { break }
            if Date() >= deadline {
                let holder = try? lockStatus().holder
                throw ReconcilerError(
                    code: .locked, message: "\(location) is locked by " + (holder?.description ?? "another process"),
                    hint: "wait for it to finish (or pass a longer --lock-timeout); a killed process releases the lock when its connection "
                        + "ends; coffer lock release --force breaks it")
            }
            usleep(100_000)
        }
        let owner = LockOwner(pid: getpid(), host: ProcessInfo.processInfo.hostName, operation: operation, since: Date())
        var binds = PostgresBindings()
        binds.append(String(decoding: try JSONEncoder.coffer.encode(owner), as: UTF8.self))
        // On the lock's own connection, so that `backend_pid` is the session that holds it.
        let rows = try lockSession.query(
            "INSERT INTO coffer_lock_holder (id, owner, backend_pid) VALUES (1, $1, pg_backend_pid()) "
                + "ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, backend_pid = excluded.backend_pid RETURNING backend_pid",
            binds, retrying: false)
        let pid = try rows.first?.decode(Int32.self)
        stateLock.withLock {
            lockHeld = true
            lockLost = false
        }
        postgresStore.setLockHolder(pid)
        return PostgresApplyLock(backend: self, owner: owner)
    }

    func releaseLock() {
        postgresStore.setLockHolder(nil)
        let wasLost = stateLock.withLock { () -> Bool in
            defer {
                lockHeld = false
                lockLost = false
            }
            return lockLost
        }
        guard !wasLost else { return }
        var key = PostgresBindings()
        key.append(Self.applyLockKey)
        _ = try? lockSession.query("DELETE FROM coffer_lock_holder WHERE backend_pid = pg_backend_pid()", retrying: false)
        _ = try? lockSession.query("SELECT pg_advisory_unlock($1)", key, retrying: false)
    }

    private func lockConnectionClosed() {
        stateLock.withLock { if lockHeld { lockLost = true } }
    }

    /// A quick local check before each write; the write's own statement checks the lock on the server.
    private func checkLock() throws {
        if stateLock.withLock({ lockHeld && lockLost }) { throw postgresStore.lockLostError() }
    }

    /// The holder's server process and owner record, when the lock is held.
    private func holderRow() throws -> (pid: Int32, owner: LockOwner?)? {
        var binds = PostgresBindings()
        binds.append(Self.applyLockKey >> 32)
        binds.append(Self.applyLockKey & 0xFFFF_FFFF)
        let rows = try session.query(
            """
            SELECT l.pid, h.owner FROM pg_locks l LEFT JOIN coffer_lock_holder h ON h.backend_pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 1
            """, binds)
        guard let row = rows.first else { return nil }
        let (pid, text) = try row.decode((Int32, String?).self)
        return (pid, text.flatMap { try? JSONDecoder.coffer.decode(LockOwner.self, from: Data($0.utf8)) })
    }

    public func lockStatus() throws -> LockStatus {
        guard let row = try holderRow() else { return LockStatus(holder: nil, location: url.description) }
        let holder = row.owner ?? LockOwner(pid: 0, host: "server process \(row.pid)", operation: "unknown", since: Date(timeIntervalSince1970: 0))
        return LockStatus(holder: holder, location: url.description)
    }

    /// Ends the server session that holds the lock (`pg_terminate_backend`): the server releases the lock, and
    /// the holder, whose lock connection is gone, writes nothing more.
    public func forceReleaseLock() throws -> LockOwner? {
        guard let row = try holderRow() else { return nil }
        var binds = PostgresBindings()
        binds.append(row.pid)
        // Waits (up to 10 s) for the session to end, so that the lock is free when this returns.
        let rows = try session.query("SELECT pg_terminate_backend($1, 10000)", binds)
        guard try rows.first?.decode(Bool.self) == true else {
            throw ReconcilerError(
                code: .locked, message: "the server did not end the session (process \(row.pid)) that holds the lock in \(url)",
                hint: "the database user needs the right to signal it: the same role, or membership of pg_signal_backend")
        }
        _ = try? session.query("DELETE FROM coffer_lock_holder WHERE backend_pid = $1", binds)
        return row.owner ?? LockOwner(pid: 0, host: "server process \(row.pid)", operation: "unknown", since: Date(timeIntervalSince1970: 0))
    }

    // MARK: Leases

    public func campaign(group: String, holder: String, ttl: Double) throws -> LeadershipState {
        var binds = PostgresBindings()
        binds.append(group)
        binds.append(holder)
        binds.append(ttl)
        let rows = try session.query(
            """
            INSERT INTO coffer_leases AS l (group_name, holder, term, acquired, renewed, expires)
            VALUES ($1, $2, 1, now(), now(), now() + make_interval(secs => $3))
            ON CONFLICT (group_name) DO UPDATE SET
                term = CASE WHEN l.holder = excluded.holder AND l.expires >= now() THEN l.term ELSE l.term + 1 END,
                acquired = CASE WHEN l.holder = excluded.holder AND l.expires >= now() THEN l.acquired ELSE now() END,
                holder = excluded.holder, renewed = now(), expires = excluded.expires
            WHERE l.expires < now() OR l.holder = excluded.holder
            RETURNING holder, term, expires
            """, binds)
        if let row = rows.first {
            let (holder, term, expires) = try row.decode((String, Int64, Date).self)
            let lease = LeaderLease(group: group, holder: holder, term: term, expires: expires)
            postgresStore.setFence(Fence(group: group, term: term))
            return .leading(lease)
        }
        return .following(try lease(of: group))
    }

    public func renew(_ lease: LeaderLease, ttl: Double) throws -> LeaderLease? {
        var binds = PostgresBindings()
        binds.append(lease.group)
        binds.append(lease.holder)
        binds.append(lease.term)
        binds.append(ttl)
        let rows = try session.query(
            """
            UPDATE coffer_leases SET renewed = now(), expires = now() + make_interval(secs => $4)
            WHERE group_name = $1 AND holder = $2 AND term = $3 RETURNING expires
            """, binds)
        guard let row = rows.first else { return nil }
        var renewed = lease
        renewed.expires = try row.decode(Date.self)
        return renewed
    }

    public func resign(_ lease: LeaderLease) throws {
        var binds = PostgresBindings()
        binds.append(lease.group)
        binds.append(lease.holder)
        binds.append(lease.term)
        try session.query(
            "UPDATE coffer_leases SET expires = now() - interval '1 millisecond' WHERE group_name = $1 AND holder = $2 AND term = $3", binds)
    }

    /// The group's lease as it stands, if any.
    public func lease(of group: String) throws -> LeaderLease? {
        var binds = PostgresBindings()
        binds.append(group)
        let rows = try session.query("SELECT holder, term, expires FROM coffer_leases WHERE group_name = $1", binds)
        guard let row = rows.first else { return nil }
        let (holder, term, expires) = try row.decode((String, Int64, Date).self)
        return LeaderLease(group: group, holder: holder, term: term, expires: expires)
    }
}

/// The apply lock held in PostgreSQL; released by `release()` or when freed.
final class PostgresApplyLock: HeldStateLock, @unchecked Sendable {
    let owner: LockOwner
    private let backend: PostgresStateBackend
    private let released = NSLock()
    private var done = false

    init(backend: PostgresStateBackend, owner: LockOwner) {
        self.backend = backend
        self.owner = owner
    }

    func release() {
        let first = released.withLock { () -> Bool in
            defer { done = true }
            return !done
        }
        if first { backend.releaseLock() }
    }

    deinit {
        release()
    }
}
