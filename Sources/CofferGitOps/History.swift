import CofferReconciler
import Foundation

extension Workspace {
    /// The applies recorded in the history, newest first, at most `limit` of them (nil: all).
    public func history(limit: Int? = nil) throws -> [HistoryRecord] {
        let records = Array(try store.history().reversed())
        return limit.map { Array(records.prefix($0)) } ?? records
    }

    /// The newest apply from git whose commit starts with `revision`, and the source that reads its manifests
    /// again (its repository, at that commit, under the same folder): what `rollback` applies.
    public func rollbackTarget(_ revision: String) throws -> (record: HistoryRecord, source: ManifestSource) {
        let history = try store.history()
        guard let record = history.last(where: { ($0.source.commit?.hasPrefix(revision) ?? false) && $0.source.repository != nil }),
            let repository = record.source.repository, let commit = record.source.commit
        else {
            throw GitOpsError(
                code: .unknownRevision, message: "no apply of a revision '\(revision)' from git is in the history",
                hint: "pick a commit from coffer history")
        }
        return (record, .git(repository: repository, ref: commit, path: record.source.subdirectory))
    }
}

/// Where the platform stands for one source of manifests: the last revision reconciled (applied, or found
/// to need no change), and the drift checks since.
public struct ReconcileStatus: Codable, Sendable, Hashable {
    /// The last revision reconciled from the source.
    public var reconciled: HistoryRecord
    /// The drift checks since that found changes made outside of coffer (repaired, or only reported), oldest
    /// first.
    public var driftSince: [HistoryRecord]

    public init(reconciled: HistoryRecord, driftSince: [HistoryRecord]) {
        self.reconciled = reconciled
        self.driftSince = driftSince
    }
}

extension ApplySource {
    /// Whether two records come from the same source: the same repository, ref and folder, or the same paths.
    public func isSameSource(as other: ApplySource) -> Bool {
        if let repository, let theirs = other.repository {
            return repository == theirs && ref == other.ref && (subdirectory ?? "") == (other.subdirectory ?? "")
        }
        return repository == nil && other.repository == nil && paths == other.paths
    }
}

extension Workspace {
    /// The status of `source` (nil: the source of the newest record; a repository without a ref or folder:
    /// its records of any ref or folder): its last reconciled revision and the drift found since. Nil when
    /// the history has no record of it.
    public func status(of source: ApplySource? = nil) throws -> ReconcileStatus? {
        let records = try store.history()
        guard let wanted = source ?? records.last?.source else { return nil }
        let mine = records.filter { record in
            guard let source, let repository = source.repository else { return record.source.isSameSource(as: wanted) }
            // A repository given: its records, of the ref and folder when they are given too.
            return record.source.repository == repository && (source.ref == nil || record.source.ref == source.ref)
                && (source.subdirectory == nil || (record.source.subdirectory ?? "") == source.subdirectory)
        }
        guard let index = mine.lastIndex(where: { !$0.isDriftCheck }) else { return nil }
        let since = mine[(index + 1)...].filter { $0.isDriftCheck && !($0.drift ?? []).isEmpty || $0.result == .driftReported }
        return ReconcileStatus(reconciled: mine[index], driftSince: Array(since))
    }
}
