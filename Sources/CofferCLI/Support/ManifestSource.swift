import CofferGit
import CofferManifest
import CofferModel
import CofferReconciler
import Foundation

/// Where desired state comes from: files on disk, or a commit's tree in a git repository.
enum ManifestSource: Codable, Sendable, Hashable {
    case paths([String])
    case git(repository: String, ref: String, path: String?)

    /// The manifests loaded from this source, the commit they came from, and how to record it.
    struct Loaded {
        var result: ManifestLoadResult
        var applySource: ApplySource
        var commit: String?
    }

    /// The folder under the state directory where remote repositories are cloned.
    static func cacheDirectory(stateDirectory: String, repository: String) -> String {
        let safe = repository.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return (stateDirectory as NSString).appendingPathComponent("git/" + String(safe.suffix(80)))
    }

    func load(stateDirectory: String, fetch: Bool = true) throws -> Loaded {
        switch self {
        case .paths(let paths):
            let absolute = paths.map { ($0 as NSString).standardizingPath }
            return Loaded(result: ManifestLoader().load(paths: paths), applySource: ApplySource(paths: absolute), commit: nil)
        case .git(let repository, let ref, let path):
            let repo = try GitSource.open(repository, stateDirectory: stateDirectory, fetch: fetch)
            let commit = try repo.resolve(ref)
            return try Self.load(repo: repo, repository: repository, ref: ref, commit: commit, path: path)
        }
    }

    static func load(repo: GitRepository, repository: String, ref: String, commit: String, path: String?) throws -> Loaded {
        let files = try repo.files(at: commit, under: path) { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        let prefix = (path.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? "")
        let result = ManifestLoader().load(files: files.map { (path: prefix + $0.path, contents: $0.contents) })
        let info = try repo.commitInfo(commit)
        let source = ApplySource(
            repository: repository, ref: ref, subdirectory: path, commit: commit, author: "\(info.authorName) <\(info.authorEmail)>",
            summary: info.summary)
        return Loaded(result: result, applySource: source, commit: commit)
    }
}

/// Opening repositories for coffer: local ones in place, remote ones cloned under the state directory.
enum GitSource {
    static func open(_ repository: String, stateDirectory: String, fetch: Bool) throws -> GitRepository {
        let repo = try GitRepository.openOrClone(
            repository, cacheDirectory: ManifestSource.cacheDirectory(stateDirectory: stateDirectory, repository: repository))
        if fetch && repo.isMirror { try repo.fetch() }
        return repo
    }
}
