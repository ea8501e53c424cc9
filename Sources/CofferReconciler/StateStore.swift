import CofferModel
import Foundation

/// A resource coffer owns: it created it, or adopted it because it matched the manifests.
public struct InventoryEntry: Codable, Sendable, Hashable {
    public var address: ResourceAddress
    public var id: String
    /// The spec coffer last applied; drift is the difference between this and what the platform holds.
    public var lastApplied: ResourceSpec
    public var adopted: Bool
    public var updated: Date
    /// Where the manifests declared the resource when it was last applied, and the commit they came from
    /// (nil when read from files), so that a plan can say where a resource that left the manifests was.
    public var declaredAt: SourceLocation?
    public var revision: String?

    public init(
        address: ResourceAddress, id: String, lastApplied: ResourceSpec, adopted: Bool, updated: Date, declaredAt: SourceLocation? = nil,
        revision: String? = nil
    ) {
        self.address = address
        self.id = id
        self.lastApplied = lastApplied
        self.adopted = adopted
        self.updated = updated
        self.declaredAt = declaredAt
        self.revision = revision
    }

    /// Where the resource was last declared, for a message: `manifests/vaults.yaml:3:1 in revision 1a2b3c4`;
    /// nil when the entry does not know.
    public var provenance: String? {
        guard let declaredAt else { return nil }
        return "\(declaredAt)" + (revision.map { " in revision \($0.prefix(12))" } ?? "")
    }
}

/// Where the manifests of an apply came from.
public struct ApplySource: Codable, Sendable, Hashable {
    /// Local paths, when read from files.
    public var paths: [String]?
    /// The repository, revision and commit, when read from git.
    public var repository: String?
    public var ref: String?
    /// The manifests' folder inside the repository.
    public var subdirectory: String?
    public var commit: String?
    public var author: String?
    public var summary: String?

    public init(
        paths: [String]? = nil, repository: String? = nil, ref: String? = nil, subdirectory: String? = nil,
        commit: String? = nil, author: String? = nil, summary: String? = nil
    ) {
        self.paths = paths
        self.repository = repository
        self.ref = ref
        self.subdirectory = subdirectory
        self.commit = commit
        self.author = author
        self.summary = summary
    }
}

public enum ApplyResult: String, Codable, Sendable, Hashable {
    case succeeded
    case failed
    case noChanges = "no-changes"
    /// A drift check with `--report-only` found changes made outside of coffer and changed nothing.
    case driftReported = "drift-reported"
}

/// Why a history record was made: a revision reconciled (by apply, rollback or watch), or a drift check of
/// the revision already reconciled (watch's drift interval) that found changes made outside of coffer.
public enum HistoryTrigger: String, Codable, Sendable, Hashable {
    case revision
    case drift
}

/// One apply in the history.
public struct HistoryRecord: Codable, Sendable, Hashable {
    public var time: Date
    public var source: ApplySource
    public var summary: PlanSummary
    public var result: ApplyResult
    /// The first error, as `CODE: message`.
    public var error: String?
    /// Every step that ran, with its outcome.
    public var steps: [StepRecord]
    /// Why the record was made; nil in records written before coffer recorded it (a revision).
    public var trigger: HistoryTrigger?
    /// The resources the plan found changed outside of coffer, if any.
    public var drift: [ResourceAddress]?

    public init(
        time: Date, source: ApplySource, summary: PlanSummary, result: ApplyResult, error: String?, steps: [StepRecord],
        trigger: HistoryTrigger = .revision, drift: [ResourceAddress] = []
    ) {
        self.time = time
        self.source = source
        self.summary = summary
        self.result = result
        self.error = error
        self.steps = steps
        self.trigger = trigger
        self.drift = drift.isEmpty ? nil : drift
    }

    /// Whether the record is a drift check rather than a revision reconciled.
    public var isDriftCheck: Bool { trigger == .drift }
}

public enum StepStatus: String, Codable, Sendable, Hashable {
    case started
    case succeeded
    case failed
    /// Not run because a step it depends on failed.
    case skipped
}

public struct StepRecord: Codable, Sendable, Hashable {
    public var address: ResourceAddress
    public var action: ChangeAction
    public var status: StepStatus
    public var errorCode: String?
    public var message: String?

    public init(address: ResourceAddress, action: ChangeAction, status: StepStatus, errorCode: String? = nil, message: String? = nil) {
        self.address = address
        self.action = action
        self.status = status
        self.errorCode = errorCode
        self.message = message
    }
}

/// The reconciler's own state: inventory, apply journal and history. Behind a protocol so that a shared
/// backend (PostgreSQL for several watchers) can replace the files.
public protocol ReconcilerStateStore: Sendable {
    func inventory() throws -> [ResourceAddress: InventoryEntry]
    /// Replaces the whole inventory.
    func saveInventory(_ entries: [ResourceAddress: InventoryEntry]) throws
    /// Records, durably, that one entry changed (nil: it left the inventory). Costs O(1) in the inventory's
    /// size, so that an apply of N steps is not O(N²); `saveInventory` folds the changes in.
    func updateInventory(_ address: ResourceAddress, to entry: InventoryEntry?) throws
    /// Records a step before it runs and after it ran (the apply journal).
    func journal(_ step: StepRecord) throws
    /// Records several journal entries, in order, durably by the time it returns: the steps an apply starts
    /// together, or that ended together (group commit: one sync for all of them).
    func journal(batch steps: [StepRecord]) throws
    /// Records several inventory changes, in order, durably by the time it returns (one sync for all).
    func updateInventory(batch changes: [(address: ResourceAddress, entry: InventoryEntry?)]) throws
    /// The journal of an apply that did not finish, or empty.
    func unfinishedJournal() throws -> [StepRecord]
    func clearJournal() throws
    func appendHistory(_ record: HistoryRecord) throws
    /// Every apply, oldest first.
    func history() throws -> [HistoryRecord]
}

extension ReconcilerStateStore {
    /// One entry after the other.
    public func journal(batch steps: [StepRecord]) throws {
        for step in steps { try journal(step) }
    }

    /// One change after the other.
    public func updateInventory(batch changes: [(address: ResourceAddress, entry: InventoryEntry?)]) throws {
        for change in changes { try updateInventory(change.address, to: change.entry) }
    }

    /// A correct but O(N) default: read, change, replace.
    public func updateInventory(_ address: ResourceAddress, to entry: InventoryEntry?) throws {
        var entries = try inventory()
        entries[address] = entry
        try saveInventory(entries)
    }
}

/// One change to the inventory, as `inventory-changes.jsonl` records it.
struct InventoryChange: Codable {
    var address: ResourceAddress
    var entry: InventoryEntry?
}

/// The embedded store: JSON files under `STATE/reconciler/`, each replaced atomically or appended with fsync.
///
/// The inventory is `inventory.json` plus the changes appended to `inventory-changes.jsonl` since it was
/// last written; reading replays them in order (each sets one address, so replaying a change already
/// folded in is harmless), and `saveInventory` writes the whole file, then drops the changes.
public final class FileStateStore: ReconcilerStateStore, @unchecked Sendable {
    public let directory: String
    private var inventoryPath: String { (directory as NSString).appendingPathComponent("inventory.json") }
    private var inventoryChangesPath: String { (directory as NSString).appendingPathComponent("inventory-changes.jsonl") }
    private var journalPath: String { (directory as NSString).appendingPathComponent("journal.jsonl") }
    private var historyPath: String { (directory as NSString).appendingPathComponent("history.jsonl") }

    public init(stateDirectory: String) {
        directory = (stateDirectory as NSString).appendingPathComponent("reconciler")
    }

    public func inventory() throws -> [ResourceAddress: InventoryEntry] {
        var result: [ResourceAddress: InventoryEntry] = [:]
        if let data = FileManager.default.contents(atPath: inventoryPath) {
            do {
                let entries = try JSONDecoder.iso.decode([InventoryEntry].self, from: data)
                result = Dictionary(entries.map { ($0.address, $0) }, uniquingKeysWith: { _, last in last })
            } catch {
                throw ReconcilerError(
                    code: .stateCorrupt, message: "cannot read the inventory '\(inventoryPath)': \(error)",
                    hint: "restore it from a backup of the state directory", underlying: error)
            }
        }
        for change in try readLines(inventoryChangesPath, as: InventoryChange.self) {
            result[change.address] = change.entry
        }
        return result
    }

    public func saveInventory(_ entries: [ResourceAddress: InventoryEntry]) throws {
        // One line per entry: diffable and greppable, yet without the indentation that would double the
        // bytes every plan parses.
        let encoder = JSONEncoder.iso
        var data = Data("[\n".utf8)
        for (index, entry) in entries.values.sorted(by: { $0.address < $1.address }).enumerated() {
            if index > 0 { data.append(contentsOf: Array(",\n".utf8)) }
            data.append(try encoder.encode(entry))
        }
        data.append(contentsOf: Array("\n]\n".utf8))
        try StateFiles.atomicWrite(data, to: inventoryPath)
        if FileManager.default.fileExists(atPath: inventoryChangesPath) {
            try FileManager.default.removeItem(atPath: inventoryChangesPath)
            try StateFiles.syncDirectory(directory)
        }
    }

    public func updateInventory(_ address: ResourceAddress, to entry: InventoryEntry?) throws {
        try StateFiles.appendLine(try JSONEncoder.iso.encode(InventoryChange(address: address, entry: entry)), to: inventoryChangesPath)
    }

    /// All the changes in one append and one fsync.
    public func updateInventory(batch changes: [(address: ResourceAddress, entry: InventoryEntry?)]) throws {
        let encoder = JSONEncoder.iso
        try appendLines(try changes.map { try encoder.encode(InventoryChange(address: $0.address, entry: $0.entry)) }, to: inventoryChangesPath)
    }

    public func journal(_ step: StepRecord) throws {
        try StateFiles.appendLine(try JSONEncoder.iso.encode(step), to: journalPath)
    }

    /// All the entries in one append and one fsync.
    public func journal(batch steps: [StepRecord]) throws {
        let encoder = JSONEncoder.iso
        try appendLines(try steps.map { try encoder.encode($0) }, to: journalPath)
    }

    /// Appends `lines` (none holds a newline: JSON encodes it as `\n`) with one write and one fsync. A crash
    /// mid-write leaves a prefix of them and at most one torn last line, which reading drops.
    private func appendLines(_ lines: [Data], to path: String) throws {
        guard !lines.isEmpty else { return }
        var joined = Data()
        for (index, line) in lines.enumerated() {
            if index > 0 { joined.append(0x0a) }
            joined.append(line)
        }
        try StateFiles.appendLine(joined, to: path)
    }

    public func unfinishedJournal() throws -> [StepRecord] {
        try readLines(journalPath, as: StepRecord.self)
    }

    public func clearJournal() throws {
        if FileManager.default.fileExists(atPath: journalPath) {
            try FileManager.default.removeItem(atPath: journalPath)
            try StateFiles.syncDirectory(directory)
        }
    }

    public func appendHistory(_ record: HistoryRecord) throws {
        try StateFiles.appendLine(try JSONEncoder.iso.encode(record), to: historyPath)
    }

    public func history() throws -> [HistoryRecord] {
        try readLines(historyPath, as: HistoryRecord.self)
    }

    /// Reads a JSON-lines file. A torn last line (no newline at its end: a crash mid-append) is dropped; any
    /// other line that cannot be read is an error naming the file and the line.
    func readLines<T: Decodable>(_ path: String, as type: T.Type) throws -> [T] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder.iso
        let lines = data.split(separator: 0x0a, omittingEmptySubsequences: false)
        var records: [T] = []
        for (index, line) in lines.enumerated() where !line.isEmpty {
            let isLast = index == lines.count - 1
            do {
                records.append(try decoder.decode(T.self, from: Data(line)))
            } catch {
                // Only the last line can be torn; it has no newline after it, so it is the last piece split.
                if isLast { break }
                throw ReconcilerError(
                    code: .stateCorrupt, message: "line \(index + 1) of '\(path)' cannot be read: \(error)",
                    hint: "the file was changed by hand or damaged: restore it from a backup of the state directory, "
                        + "or remove that line", underlying: error)
            }
        }
        return records
    }
}
