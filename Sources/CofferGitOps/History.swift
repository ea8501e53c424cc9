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
