import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferReconciler

@Suite struct StateTests {
    @Test func fileStoreRoundTripsAndSurvivesATornHistoryLine() throws {
        let directory = try TemporaryDirectory()
        let store = FileStateStore(stateDirectory: directory.path)
        let entry = InventoryEntry(address: Fixture.vaultAddress, id: "v", lastApplied: Fixture.vault(), adopted: false, updated: Date(timeIntervalSince1970: 0))
        try store.saveInventory([Fixture.vaultAddress: entry])
        #expect(try FileStateStore(stateDirectory: directory.path).inventory() == [Fixture.vaultAddress: entry])

        let record = HistoryRecord(time: Date(timeIntervalSince1970: 0), source: ApplySource(paths: ["manifests"]), summary: PlanSummary(add: 1), result: .succeeded, error: nil, steps: [])
        try store.appendHistory(record)
        // A crash in the middle of an append leaves a partial line; it is ignored, the rest is kept.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.path("reconciler/history.jsonl")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"time\":".utf8))
        try handle.close()
        #expect(try store.history() == [record])

        try store.journal(StepRecord(address: Fixture.vaultAddress, action: .create, status: .started))
        #expect(try store.unfinishedJournal().count == 1)
        try store.clearJournal()
        #expect(try store.unfinishedJournal().isEmpty)
    }

    @Test func anAppendAfterATornLineCutsTheFragmentOff() throws {
        let directory = try TemporaryDirectory()
        let store = FileStateStore(stateDirectory: directory.path)
        let first = HistoryRecord(time: Date(timeIntervalSince1970: 0), source: ApplySource(paths: ["manifests"]), summary: PlanSummary(add: 1), result: .succeeded, error: nil, steps: [])
        var second = first
        second.time = Date(timeIntervalSince1970: 60)
        try store.appendHistory(first)
        let path = directory.path("reconciler/history.jsonl")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"time\":".utf8))
        try handle.close()
        try store.appendHistory(second)
        #expect(try store.history() == [first, second])
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
    }

    @Test(arguments: ["history.jsonl", "journal.jsonl"])
    func anUnreadableLineBeforeTheLastIsAnErrorNamingTheFileAndLine(file: String) throws {
        let directory = try TemporaryDirectory()
        let store = FileStateStore(stateDirectory: directory.path)
        let record = HistoryRecord(time: Date(timeIntervalSince1970: 0), source: ApplySource(paths: ["manifests"]), summary: PlanSummary(add: 1), result: .succeeded, error: nil, steps: [])
        let step = StepRecord(address: Fixture.vaultAddress, action: .create, status: .started)
        func append() throws { if file == "history.jsonl" { try store.appendHistory(record) } else { try store.journal(step) } }
        func read() throws -> Int { file == "history.jsonl" ? try store.history().count : try store.unfinishedJournal().count }
        try append()
        let path = directory.path("reconciler/\(file)")
        #expect(FileManager.default.fileExists(atPath: path))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("not json\n".utf8))
        try handle.close()
        try append()
        let error = try #require(throws: ReconcilerError.self) { _ = try read() }
        #expect(error.code == .stateCorrupt)
        #expect(error.message.contains("line 2 of '\(path)'"))
        #expect(error.underlying is DecodingError)
        // The same damage on the last line, ended by its newline, is not a torn append either.
        try Data("not json\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ReconcilerError.self) { _ = try read() }
        // Torn (no newline after it) it is dropped.
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try read() == 0)
    }

    @Test func inventoryChangesAreDurableOneByOneAndFoldedInBySave() throws {
        let directory = try TemporaryDirectory()
        let store = FileStateStore(stateDirectory: directory.path)
        let date = Date(timeIntervalSince1970: 0)
        let vault = InventoryEntry(address: Fixture.vaultAddress, id: "v", lastApplied: Fixture.vault(), adopted: false, updated: date)
        let policy = InventoryEntry(address: Fixture.policyAddress, id: "p", lastApplied: Fixture.policy(), adopted: true, updated: date)
        try store.saveInventory([Fixture.vaultAddress: vault])

        // Changes recorded one at a time are read back by a new store (a new process after a crash).
        try store.updateInventory(Fixture.policyAddress, to: policy)
        try store.updateInventory(Fixture.vaultAddress, to: nil)
        var policyChanged = policy
        policyChanged.lastApplied = Fixture.policy(daily: 7)
        try store.updateInventory(Fixture.policyAddress, to: policyChanged)
        let changesFile = directory.path("reconciler/inventory-changes.jsonl")
        #expect(FileManager.default.fileExists(atPath: changesFile))
        #expect(try FileStateStore(stateDirectory: directory.path).inventory() == [Fixture.policyAddress: policyChanged])

        // A torn last change (killed mid-append) is ignored; the earlier ones stand.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: changesFile))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"address\":".utf8))
        try handle.close()
        #expect(try store.inventory() == [Fixture.policyAddress: policyChanged])
        // The next change after a torn one is not swallowed by it.
        try store.updateInventory(Fixture.vaultAddress, to: vault)
        #expect(try store.inventory() == [Fixture.policyAddress: policyChanged, Fixture.vaultAddress: vault])
        try store.updateInventory(Fixture.vaultAddress, to: nil)

        // Saving folds them in and drops the changes file; replaying folded changes would change nothing.
        try store.saveInventory(try store.inventory())
        #expect(!FileManager.default.fileExists(atPath: changesFile))
        #expect(try store.inventory() == [Fixture.policyAddress: policyChanged])
    }

    /// Group commit: several journal entries or inventory changes in one append and one fsync read back as
    /// the same records one at a time would; a batch torn by a crash keeps its complete lines.
    @Test func batchesOfJournalEntriesAndInventoryChangesReadBackInOrder() throws {
        let directory = try TemporaryDirectory()
        let store = FileStateStore(stateDirectory: directory.path)
        let date = Date(timeIntervalSince1970: 0)
        let started = [Fixture.vaultAddress, Fixture.policyAddress, Fixture.vmAddress].map {
            StepRecord(address: $0, action: .create, status: .started)
        }
        try store.journal(batch: started)
        try store.journal(batch: [])
        try store.journal(batch: [StepRecord(address: Fixture.vaultAddress, action: .create, status: .succeeded)])
        #expect(try FileStateStore(stateDirectory: directory.path).unfinishedJournal()
            == started + [StepRecord(address: Fixture.vaultAddress, action: .create, status: .succeeded)])

        let vault = InventoryEntry(address: Fixture.vaultAddress, id: "v", lastApplied: Fixture.vault(), adopted: false, updated: date)
        let policy = InventoryEntry(address: Fixture.policyAddress, id: "p", lastApplied: Fixture.policy(), adopted: false, updated: date)
        try store.updateInventory(batch: [(Fixture.vaultAddress, vault), (Fixture.policyAddress, policy), (Fixture.vaultAddress, nil)])
        #expect(try FileStateStore(stateDirectory: directory.path).inventory() == [Fixture.policyAddress: policy])

        // A crash in the middle of a batch's write: the lines written whole stand, the torn one is dropped, and
        // the next batch is not swallowed by it.
        let journal = directory.path("reconciler/journal.jsonl")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: journal))
        try handle.seekToEnd()
        let line = try JSONEncoder.iso.encode(StepRecord(address: Fixture.accessAddress, action: .create, status: .started))
        try handle.write(contentsOf: line + Data("\n".utf8) + line.prefix(10))
        try handle.close()
        #expect(try store.unfinishedJournal().count == 5)
        try store.journal(batch: [StepRecord(address: Fixture.accessAddress, action: .create, status: .succeeded)])
        #expect(try store.unfinishedJournal().map(\.status) == [.started, .started, .started, .succeeded, .started, .succeeded])
    }

    @Test func secondLockHolderIsRefusedWithTheOwner() throws {
        let directory = try TemporaryDirectory()
        let first = try StateLock.acquire(stateDirectory: directory.path, operation: "apply")
        let error = try #require(throws: ReconcilerError.self) {
            try StateLock.acquire(stateDirectory: directory.path, operation: "apply", timeout: 0.2)
        }
        #expect(error.code == .locked)
        #expect(error.message.contains("pid \(getpid())"))
        first.release()
        _ = try StateLock.acquire(stateDirectory: directory.path, operation: "plan")
    }

    @Test func aLockWhoseProcessWasKilledIsTakenOver() throws {
        let directory = try TemporaryDirectory()
        _ = try StateLock.acquire(stateDirectory: directory.path, operation: "setup").release()
        let lockPath = directory.path("reconciler/lock")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.flock(f,fcntl.LOCK_EX)\nf.write('{\"pid\":1}')\nf.flush()\nprint('locked',flush=True)\ntime.sleep(60)",
            lockPath,
        ]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        _ = output.fileHandleForReading.availableData  // waits for 'locked'
        #expect(throws: ReconcilerError.self) { try StateLock.acquire(stateDirectory: directory.path, operation: "apply") }
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let lock = try StateLock.acquire(stateDirectory: directory.path, operation: "apply", timeout: 5)
        #expect(lock.owner.pid == getpid())
    }
}
