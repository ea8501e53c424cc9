import CofferGit
import CofferModel
import CofferReconciler
import Foundation

/// The semantic difference between two desired states: resources added, removed, and changed attribute by
/// attribute, with defaults applied, so that reformatting or moving a document between files is no
/// difference.
public struct DesiredStateDiff: Sendable, Hashable {
    /// One attribute whose value changed.
    public struct Change: Sendable, Hashable {
        /// The dotted path (`retention.daily.count`, `metadata.labels`).
        public var path: String
        public var before: AttributeValue
        public var after: AttributeValue
    }

    /// The changed attributes of one resource declared in both.
    public struct ChangedResource: Sendable, Hashable {
        public var address: ResourceAddress
        public var changes: [Change]
    }

    public var added: [DesiredResource] = []
    public var removed: [DesiredResource] = []
    /// The resources declared in both that differ, by address.
    public var changed: [ChangedResource] = []

    /// The difference from `old` to `new`.
    public init(from old: DesiredState, to new: DesiredState) throws {
        let oldByAddress = Dictionary(uniqueKeysWithValues: old.resources.map { ($0.address, $0) })
        let newByAddress = Dictionary(uniqueKeysWithValues: new.resources.map { ($0.address, $0) })
        for address in Set(oldByAddress.keys).union(newByAddress.keys).sorted() {
            switch (oldByAddress[address], newByAddress[address]) {
            case (nil, let added?): self.added.append(added)
            case (let removed?, nil): self.removed.append(removed)
            case (let before?, let after?):
                let a = try before.spec.attributes()
                let b = try after.spec.attributes()
                var changes = a.changedPaths(to: b).map { Change(path: $0, before: a.value(at: $0) ?? .null, after: b.value(at: $0) ?? .null) }
                if before.labels != after.labels {
                    changes.append(Change(path: "metadata.labels", before: try AttributeValue(encoding: before.labels), after: try AttributeValue(encoding: after.labels)))
                }
                if !changes.isEmpty { changed.append(ChangedResource(address: address, changes: changes)) }
            default: break
            }
        }
    }

    /// The difference between the desired states of two revisions in `repo` (opened from `repository`, see
    /// `GitMirror.open`), read from git without a checkout. Invalid manifests at either revision throw
    /// `invalidManifests`.
    public static func between(_ from: String, and to: String, in repo: GitRepository, repository: String, path: String?) throws -> DesiredStateDiff {
        func desired(_ revision: String) throws -> DesiredState {
            let commit = try repo.resolve(revision)
            let loaded = try ManifestSource.load(repo: repo, repository: repository, ref: revision, commit: commit, path: path)
            return try loaded.desiredState(message: "the manifests at \(revision) are invalid", hint: "coffer validate shows why")
        }
        return try DesiredStateDiff(from: try desired(from), to: try desired(to))
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    /// The JSON document of `diff --output json`.
    public var document: Document {
        Document(
            added: added.map(\.address.description), removed: removed.map(\.address.description),
            changed: changed.map { resource in
                Document.Resource(
                    address: resource.address.description,
                    changes: resource.changes.map { Document.Change(path: $0.path, before: $0.before, after: $0.after) })
            })
    }

    /// The JSON form of a diff: `format_version`, the addresses `added` and `removed`, and each `changed`
    /// resource's `changes` with `path`, `before` and `after`.
    public struct Document: Encodable, Sendable {
        public struct Change: Encodable, Sendable {
            public var path: String
            public var before: AttributeValue
            public var after: AttributeValue
        }

        public struct Resource: Encodable, Sendable {
            public var address: String
            public var changes: [Change]
        }

        public var format_version = "1"
        public var added: [String]
        public var removed: [String]
        public var changed: [Resource]
    }
}
