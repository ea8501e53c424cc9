import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import PostgresNIO
import Testing

@testable import CofferStatePostgres

/// Every test that uses the shared test server, one at a time: some restart it.
@Suite(.serialized) struct PostgresServerTests {}

extension PostgresServerTests {
@Suite(.enabled(if: TestPostgres.available, TestPostgres.skipped))
struct PostgresStateTests {
    @Test func storeRoundTripsTheInventoryJournalAndHistory() throws {
        let backend = try PostgresStateBackend.open(try TestPostgres.freshDatabase())
        defer { backend.shutdown() }
        let store = backend.store
        #expect(try store.inventory().isEmpty)
        let vault = Specs.entry(Specs.vaultAddress)
        let policy = Specs.entry(Specs.policyAddress)
        try store.saveInventory([Specs.vaultAddress: vault, Specs.policyAddress: policy])
        #expect(try store.inventory() == [Specs.vaultAddress: vault, Specs.policyAddress: policy])

        let changed = Specs.entry(Specs.vaultAddress, "b")
        try store.updateInventory(Specs.vaultAddress, to: changed)
        try store.updateInventory(Specs.policyAddress, to: nil)
        #expect(try store.inventory() == [Specs.vaultAddress: changed])
        // Replacing the whole inventory drops what is not in it.
        try store.saveInventory([Specs.policyAddress: policy])
        #expect(try store.inventory() == [Specs.policyAddress: policy])

        let started = StepRecord(address: Specs.vaultAddress, action: .create, status: .started)
        let done = StepRecord(address: Specs.vaultAddress, action: .create, status: .succeeded)
        try store.journal(started)
        try store.journal(done)
        #expect(try store.unfinishedJournal() == [started, done])
        try store.clearJournal()
        #expect(try store.unfinishedJournal().isEmpty)

        try store.appendHistory(Specs.history("c1"))
        try store.appendHistory(Specs.history("c2"))
        #expect(try store.history().map(\.source.commit) == ["c1", "c2"])

        // Another process (another backend) sees the same state.
        let other = try PostgresStateBackend.open(backend.url)
        defer { other.shutdown() }
        #expect(try other.store.inventory() == [Specs.policyAddress: policy])
        #expect(try other.store.history().count == 2)
    }

    @Test func tenThousandEntriesAreSavedInBatchesAndReadBack() throws {
        let backend = try PostgresStateBackend.open(try TestPostgres.freshDatabase())
        defer { backend.shutdown() }
        var entries: [ResourceAddress: InventoryEntry] = [:]
        for index in 0..<10_000 {
            let address = ResourceAddress(kind: .protectedVM, name: "vm-\(index)")
            entries[address] = Specs.entry(address)
        }
        try backend.store.saveInventory(entries)
        #expect(try backend.store.inventory() == entries)
    }

    @Test func theSchemaIsMigratedOnceAndANewerOneIsRefused() throws {
        let url = try TestPostgres.freshDatabase()
        let backend = try PostgresStateBackend.open(url)
        defer { backend.shutdown() }
        // Opening again applies nothing.
        #expect(try PostgresSchema.migrate(backend.session) == [])
        let versions = try backend.session.query("SELECT version FROM coffer_schema_migrations ORDER BY version").map { try $0.decode(Int.self) }
        #expect(versions == PostgresSchema.migrations.map(\.version))

        try backend.session.query("INSERT INTO coffer_schema_migrations (version) VALUES (\(PostgresSchema.currentVersion + 1))")
        let error = try #require(throws: ReconcilerError.self) { try PostgresStateBackend.open(url) }
        #expect(error.code == .schema)
        #expect(error.message.contains("newer than this coffer"))
    }

    @Test func aCorruptRowIsAnErrorNamingTheTable() throws {
        let backend = try PostgresStateBackend.open(try TestPostgres.freshDatabase())
        defer { backend.shutdown() }
        try backend.session.query("INSERT INTO coffer_inventory (address, entry) VALUES ('recoveryServicesVault/x', '{not json')")
        let error = try #require(throws: ReconcilerError.self) { try backend.store.inventory() }
        #expect(error.code == .stateCorrupt)
        #expect(error.message.contains("coffer_inventory"))
    }

    @Test func theApplyLockNamesItsHolderAndIsReleasedWithItsSession() throws {
        let url = try TestPostgres.freshDatabase()
        let first = try PostgresStateBackend.open(url)
        let second = try PostgresStateBackend.open(url)
        defer { second.shutdown() }
        #expect(try second.lockStatus().holder == nil)

        let held = try first.acquireLock(operation: "apply", timeout: 0)
        let status = try second.lockStatus()
        #expect(status.holder?.operation == "apply")
        #expect(status.holder?.pid == getpid())
        let refused = try #require(throws: ReconcilerError.self) { try second.acquireLock(operation: "watch", timeout: 0.3) }
        #expect(refused.code == .locked)
        #expect(refused.message.contains("apply (pid \(getpid())"))
        held.release()
        #expect(try second.lockStatus().holder == nil)
        let again = try second.acquireLock(operation: "plan", timeout: 0)

        // A holder whose connection ends (its process died) loses the lock on the server at once.
        first.shutdown()
        again.release()
        let third = try PostgresStateBackend.open(url)
        defer { third.shutdown() }
        let byThird = try third.acquireLock(operation: "apply", timeout: 0)
        second.shutdown()
        #expect(try third.lockStatus().holder?.operation == "apply")
        byThird.release()
    }

    @Test func aBrokenLockStopsItsHolderFromWriting() throws {
        let url = try TestPostgres.freshDatabase()
        let holder = try PostgresStateBackend.open(url)
        let operator_ = try PostgresStateBackend.open(url)
        defer {
            holder.shutdown()
            operator_.shutdown()
        }
        let lock = try holder.acquireLock(operation: "apply", timeout: 0)
        try holder.store.journal(StepRecord(address: Specs.vaultAddress, action: .create, status: .started))

        let broken = try #require(try operator_.forceReleaseLock())
        #expect(broken.operation == "apply")
        // The holder's session was ended on the server: its next write is refused, nothing is written.
        let error = try awaitError { try holder.store.journal(StepRecord(address: Specs.vaultAddress, action: .create, status: .succeeded)) }
        #expect(error.code == .locked)
        #expect(error.message.contains("was lost"))
        #expect(try operator_.store.unfinishedJournal().count == 1)
        // And the operator can take the lock.
        _ = try operator_.acquireLock(operation: "apply", timeout: 2).release()
        lock.release()
    }

    @Test func leasesElectOneLeaderAndFenceTheDeposedOne() throws {
        let url = try TestPostgres.freshDatabase()
        let a = try PostgresStateBackend.open(url)
        let b = try PostgresStateBackend.open(url)
        defer {
            a.shutdown()
            b.shutdown()
        }
        guard case .leading(let leaseA) = try a.campaign(group: "prod", holder: "a", ttl: 0.5) else {
            Issue.record("the first replica should lead")
            return
        }
        #expect(leaseA.term == 1)
        guard case .following(let seen) = try b.campaign(group: "prod", holder: "b", ttl: 0.5) else {
            Issue.record("the second replica should follow")
            return
        }
        #expect(seen?.holder == "a")
        try a.store.appendHistory(Specs.history("by-a"))
        // Renewing keeps the term.
        #expect(try a.renew(leaseA, ttl: 0.5)?.term == 1)

        // a stops renewing (paused); its lease lapses and b takes over with the next term.
        Thread.sleep(forTimeInterval: 0.7)
        guard case .leading(let leaseB) = try b.campaign(group: "prod", holder: "b", ttl: 30) else {
            Issue.record("the second replica should take over a lapsed lease")
            return
        }
        #expect(leaseB.term == 2)
        // a wakes up: every write it tries is refused, and nothing of it lands.
        let fenced = try #require(throws: ReconcilerError.self) { try a.store.appendHistory(Specs.history("by-a-late")) }
        #expect(fenced.code == .fenced)
        #expect(fenced.message.contains("b leads with term 2"))
        #expect(throws: ReconcilerError.self) { try a.store.updateInventory(Specs.vaultAddress, to: Specs.entry(Specs.vaultAddress)) }
        #expect(throws: ReconcilerError.self) { try a.store.saveInventory([:]) }
        #expect(throws: ReconcilerError.self) { try a.store.journal(StepRecord(address: Specs.vaultAddress, action: .create, status: .started)) }
        #expect(throws: ReconcilerError.self) { try a.store.clearJournal() }
        #expect(try a.renew(leaseA, ttl: 30) == nil)
        try b.store.appendHistory(Specs.history("by-b"))
        let terms = try b.postgresStore.historyWithTerms().map { "\($0.record.source.commit!)@\($0.term ?? 0)" }
        #expect(terms == ["by-a@1", "by-b@2"])

        // A leader that resigns hands over at once.
        try b.resign(leaseB)
        guard case .leading(let leaseA2) = try a.campaign(group: "prod", holder: "a", ttl: 30) else {
            Issue.record("a should lead after b resigned")
            return
        }
        #expect(leaseA2.term == 3)
    }

    @Test func aRestartOfTheServerIsRiddenOutAndTheLockIsKnownLost() throws {
        guard TestPostgres.environment["COFFER_TEST_POSTGRES_DIR"] != nil else { return }
        let url = try TestPostgres.freshDatabase()
        let backend = try PostgresStateBackend.open(url)
        defer { backend.shutdown() }
        try backend.store.appendHistory(Specs.history("before"))
        let lock = try backend.acquireLock(operation: "apply", timeout: 0)
        try TestPostgres.restartServer()
        // Reads reconnect by themselves.
        #expect(try backend.store.history().map(\.source.commit) == ["before"])
        // The lock went with the old session: writes under it are refused until it is taken again.
        let error = try awaitError { try backend.store.appendHistory(Specs.history("after")) }
        #expect(error.code == .locked)
        lock.release()
        let again = try backend.acquireLock(operation: "apply", timeout: 5)
        try backend.store.appendHistory(Specs.history("after"))
        again.release()
        #expect(try backend.store.history().map(\.source.commit) == ["before", "after"])
    }

    /// The error `body` throws, giving the connection's close a moment to be noticed.
    private func awaitError(_ body: () throws -> Void) throws -> ReconcilerError {
        let deadline = Date().addingTimeInterval(5)
        while true {
            do {
                try body()
            } catch let error as ReconcilerError {
                return error
            }
            if Date() > deadline { throw ReconcilerError(code: .io, message: "no error within 5 s") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
}
