import CofferModel
import CofferReconciler
import Foundation
import PostgresNIO

/// The lease a leader's writes are fenced with: a write commits only while the group's lease still has this
/// term (checked in the write's own statement, under a share lock on the lease row, so a takeover waits for
/// it or makes it fail).
struct Fence: Sendable, Hashable {
    var group: String
    var term: Int64
}

/// The reconciler's state in PostgreSQL: the inventory, the apply journal and the history in coffer's tables
/// (see `PostgresSchema`). Every write is one statement (or one transaction), idempotent, so that it can be
/// sent again after a lost connection; when a fence is set every write checks it and fails with `.fenced`
/// once a newer leader holds the group's lease.
public final class PostgresStateStore: ReconcilerStateStore, @unchecked Sendable {
    let session: PostgresSession
    private let fenceLock = NSLock()
    private var fence: Fence?
    /// The server process of this process's lock session while it holds the apply lock: every write then
    /// checks, in its own statement, that the session still holds it.
    private var lockPid: Int32?
    /// Checked before every write: whether this process still holds what it wrote under (the apply lock).
    var writeGuard: (@Sendable () throws -> Void)?

    init(session: PostgresSession) {
        self.session = session
    }

    func setFence(_ fence: Fence?) {
        fenceLock.withLock { self.fence = fence }
    }

    var currentFence: Fence? { fenceLock.withLock { fence } }

    func setLockHolder(_ pid: Int32?) {
        fenceLock.withLock { lockPid = pid }
    }

    // MARK: Reads

    public func inventory() throws -> [ResourceAddress: InventoryEntry] {
        let rows = try session.query("SELECT entry FROM coffer_inventory")
        let decoder = JSONDecoder.coffer
        var result: [ResourceAddress: InventoryEntry] = [:]
        result.reserveCapacity(rows.count)
        for row in rows {
            let text = try row.decode(String.self)
            let entry = try decode(InventoryEntry.self, from: text, decoder: decoder, table: "coffer_inventory")
            result[entry.address] = entry
        }
        return result
    }

    public func unfinishedJournal() throws -> [StepRecord] {
        try records("SELECT step FROM coffer_journal ORDER BY seq", as: StepRecord.self, table: "coffer_journal")
    }

    public func history() throws -> [HistoryRecord] {
        try records("SELECT record FROM coffer_history ORDER BY seq", as: HistoryRecord.self, table: "coffer_history")
    }

    /// The history with the term each record was written under (nil outside a replicas group), oldest first.
    public func historyWithTerms() throws -> [(record: HistoryRecord, term: Int64?)] {
        let rows = try session.query("SELECT record, term FROM coffer_history ORDER BY seq")
        let decoder = JSONDecoder.coffer
        return try rows.map { row in
            let (text, term) = try row.decode((String, Int64?).self)
            return (try decode(HistoryRecord.self, from: text, decoder: decoder, table: "coffer_history"), term)
        }
    }

    // MARK: Writes

    public func saveInventory(_ entries: [ResourceAddress: InventoryEntry]) throws {
        try checkWrite()
        let encoder = JSONEncoder.coffer
        let encoded = try entries.values.map { (address: $0.address.description, entry: String(decoding: try encoder.encode($0), as: UTF8.self)) }
        do {
            try saveAll(encoded)
        } catch is WriteRefused {
            throw try refusal()
        }
    }

    private func saveAll(_ encoded: [(address: String, entry: String)]) throws {
        try session.transaction { connection in
            try checkFence(connection)
            try connection.query("DELETE FROM coffer_inventory")
            // Batched, so that 10 000 entries are a few statements, not 10 000 trips.
            for batch in stride(from: 0, to: encoded.count, by: 500) {
                let slice = encoded[batch..<min(batch + 500, encoded.count)]
                var binds = PostgresBindings()
                var values: [String] = []
                for (index, item) in slice.enumerated() {
                    binds.append(item.address)
                    binds.append(item.entry)
                    values.append("($\(2 * index + 1), $\(2 * index + 2))")
                }
                try connection.query("INSERT INTO coffer_inventory (address, entry) VALUES " + values.joined(separator: ", "), binds)
            }
        }
    }

    public func updateInventory(_ address: ResourceAddress, to entry: InventoryEntry?) throws {
        try checkWrite()
        var binds = PostgresBindings()
        binds.append(address.description)
        if let entry {
            binds.append(String(decoding: try JSONEncoder.coffer.encode(entry), as: UTF8.self))
            try fencedWrite(
                "INSERT INTO coffer_inventory (address, entry) SELECT $1::text, $2::text FROM fence "
                    + "ON CONFLICT (address) DO UPDATE SET entry = excluded.entry, updated = now()", binds)
        } else {
            try fencedWrite("DELETE FROM coffer_inventory WHERE address = $1 AND EXISTS (SELECT 1 FROM fence)", binds)
        }
    }

    public func journal(_ step: StepRecord) throws {
        try checkWrite()
        try append(step, table: "coffer_journal", column: "step")
    }

    public func clearJournal() throws {
        try checkWrite()
        try fencedWrite("DELETE FROM coffer_journal WHERE EXISTS (SELECT 1 FROM fence)", PostgresBindings())
    }

    public func appendHistory(_ record: HistoryRecord) throws {
        try checkWrite()
        try append(record, table: "coffer_history", column: "record")
    }

    // MARK: Helpers

    private func checkWrite() throws {
        try writeGuard?()
    }

    /// Appends one record with a fresh id: sent again after a lost connection, it is not appended twice.
    private func append<T: Encodable>(_ value: T, table: String, column: String) throws {
        var binds = PostgresBindings()
        binds.append(UUID())
        binds.append(String(decoding: try JSONEncoder.coffer.encode(value), as: UTF8.self))
        if let term = currentFence?.term { binds.append(term) } else { binds.appendNull() }
        try fencedWrite(
            "INSERT INTO \(table) (record_id, \(column), term) SELECT $1::uuid, $2::text, $3::bigint FROM fence ON CONFLICT (record_id) DO NOTHING",
            binds)
    }

    /// Runs `write` (a statement that reads the CTE `fence`, one row while the write may go ahead) after
    /// `WITH fence AS (...)`: the group's lease row with this store's term, share-locked, or one constant
    /// row when no fence is set. Throws `.fenced` when the lease has moved on.
    private func fencedWrite(_ write: String, _ binds: PostgresBindings) throws {
        var binds = binds
        let fenceSQL = fenceQuery(&binds)
        let rows = try session.query(
            "WITH fence AS (\(fenceSQL)), written AS (\(write) RETURNING 1) SELECT (SELECT count(*) FROM fence), (SELECT count(*) FROM written)",
            binds)
        let allowed = try rows.first.map { row -> Int64 in
            let (fence, _) = try row.decode((Int64, Int64).self)
            return fence
        } ?? 0
        if allowed == 0 { throw try refusal() }
    }

    /// A query giving one row while writes may go ahead: the group's lease row with this store's term (share-
    /// locked), and this process's lock session still holding the apply lock, each when set; its parameters
    /// are appended to `binds`.
    private func fenceQuery(_ binds: inout PostgresBindings) -> String {
        let (fence, lockPid) = fenceLock.withLock { (self.fence, self.lockPid) }
        var conditions: [String] = []
        if let lockPid {
            let index = binds.count + 1
            binds.append(lockPid)
            binds.append(PostgresStateBackend.applyLockKey >> 32)
            binds.append(PostgresStateBackend.applyLockKey & 0xFFFF_FFFF)
            conditions.append(
                "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $\(index)::integer "
                    + "AND classid = $\(index + 1)::bigint::oid AND objid = $\(index + 2)::bigint::oid AND objsubid = 1)")
        }
        guard let fence else {
            return "SELECT 1" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
        }
        let group = binds.count + 1
        binds.append(fence.group)
        binds.append(fence.term)
        return "SELECT 1 FROM coffer_leases WHERE group_name = $\(group)::text AND term = $\(group + 1)::bigint"
            + conditions.map { " AND " + $0 }.joined() + " FOR SHARE"
    }

    /// Why a write was refused: the lease moved on (fenced), else the lock was lost.
    private func refusal() throws -> ReconcilerError {
        if let fence = currentFence, try !leaseHolds(fence) { return try fencedError(fence) }
        return lockLostError()
    }

    private func leaseHolds(_ fence: Fence) throws -> Bool {
        var binds = PostgresBindings()
        binds.append(fence.group)
        binds.append(fence.term)
        return try session.query("SELECT 1 FROM coffer_leases WHERE group_name = $1 AND term = $2", binds).count > 0
    }

    func lockLostError() -> ReconcilerError {
        ReconcilerError(
            code: .locked,
            message: "the apply lock in \(session.url) was lost: its session ended (the server restarted, or coffer lock release --force broke it)",
            hint: "nothing more is written by this run; run it again to continue from its journal")
    }

    /// Inside a transaction: share-locks the lease row and checks the term and the lock.
    private func checkFence(_ connection: PostgresSession.Connection) throws {
        var binds = PostgresBindings()
        let sql = fenceQuery(&binds)
        if try connection.query(sql, binds).count == 0 { throw WriteRefused() }
    }

    private func fencedError(_ fence: Fence) throws -> ReconcilerError {
        var binds = PostgresBindings()
        binds.append(fence.group)
        let rows = try session.query("SELECT holder, term FROM coffer_leases WHERE group_name = $1", binds)
        let now = try rows.first.map { try $0.decode((String, Int64).self) }
        return ReconcilerError(
            code: .fenced,
            message: "this replica's term \(fence.term) of group '\(fence.group)' is over"
                + (now.map { ": \($0.0) leads with term \($0.1)" } ?? ""),
            hint: "nothing was written; this replica stops applying and follows the leader")
    }

    private func records<T: Decodable>(_ sql: String, as type: T.Type, table: String) throws -> [T] {
        let rows = try session.query(sql)
        let decoder = JSONDecoder.coffer
        return try rows.map { row in try decode(T.self, from: try row.decode(String.self), decoder: decoder, table: table) }
    }

    private func decode<T: Decodable>(_ type: T.Type, from text: String, decoder: JSONDecoder, table: String) throws -> T {
        do {
            return try decoder.decode(T.self, from: Data(text.utf8))
        } catch {
            throw ReconcilerError(
                code: .stateCorrupt, message: "a row of \(table) in \(session.url) cannot be read: \(error)",
                hint: "the row was changed by hand or by another program: restore the table from a backup of the database", underlying: error)
        }
    }
}

extension JSONEncoder {
    /// The reconciler's JSON: sorted keys, ISO 8601 dates (the files' form).
    static var coffer: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    static var coffer: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
