import CofferGit
import CofferManifest
import CofferModel
import CofferReconciler
import Foundation

/// Where desired state comes from: files on disk, or a commit's tree in a git repository.
public enum ManifestSource: Codable, Sendable, Hashable {
    /// Manifest files or directories (read recursively).
    case paths([String])
    /// The manifests under `path` (default: the root) in the commit `ref` resolves to, read without a checkout.
    case git(repository: String, ref: String, path: String?)

    /// Loads the manifests: from the paths, or from the commit the ref resolves to now (fetching a remote's
    /// mirror first when `fetch` is true). Invalid manifests are not an error here: the result says so.
    public func load(stateDirectory: String, fetch: Bool = true) throws -> LoadedManifests {
        switch self {
        case .paths(let paths):
            let absolute = paths.map { ($0 as NSString).standardizingPath }
            return LoadedManifests(result: ManifestLoader().load(paths: paths), applySource: ApplySource(paths: absolute), commit: nil)
        case .git(let repository, let ref, let path):
            let repo = try GitMirror.open(repository, stateDirectory: stateDirectory, fetch: fetch)
            let commit = try repo.resolve(ref)
            return try Self.load(repo: repo, repository: repository, ref: ref, commit: commit, path: path)
        }
    }

    /// Loads the `.yaml` and `.yml` files under `path` in `commit` of an open repository; `repository` and
    /// `ref` are recorded as given, with the commit's author and summary.
    public static func load(repo: GitRepository, repository: String, ref: String, commit: String, path: String?) throws -> LoadedManifests {
        let files = try repo.files(at: commit, under: path) { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        let prefix = (path.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? "")
        let result = ManifestLoader().load(files: files.map { (path: prefix + $0.path, contents: $0.contents) })
        let info = try repo.commitInfo(commit)
        let source = ApplySource(
            repository: repository, ref: ref, subdirectory: path, commit: commit, author: "\(info.authorName) <\(info.authorEmail)>",
            summary: info.summary)
        return LoadedManifests(result: result, applySource: source, commit: commit)
    }
}

/// The manifests loaded from a source, the commit they came from, and how the history records their origin.
public struct LoadedManifests: Sendable {
    /// The desired state (nil when invalid) and every diagnostic.
    public var result: ManifestLoadResult
    /// The origin as the history and the inventory record it.
    public var applySource: ApplySource
    /// The commit read, for a git source.
    public var commit: String?

    public init(result: ManifestLoadResult, applySource: ApplySource, commit: String?) {
        self.result = result
        self.applySource = applySource
        self.commit = commit
    }

    /// The desired state, or an `invalidManifests` error carrying the diagnostics.
    public func desiredState(message: @autoclosure () -> String, hint: String?) throws -> DesiredState {
        guard let state = result.state else {
            throw GitOpsError(code: .invalidManifests, message: message(), hint: hint, diagnostics: result.diagnostics)
        }
        return state
    }

    /// The number of error diagnostics.
    public var errorCount: Int { result.diagnostics.filter { $0.severity == .error }.count }
}

/// Opens repositories for coffer: local ones in place, remote ones (a URL) as mirrors cloned under
/// `STATE/git`, fetched when asked.
public enum GitMirror {
    /// The folder under the state directory where a remote repository is mirrored.
    public static func cacheDirectory(stateDirectory: String, repository: String) -> String {
        let safe = repository.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return (stateDirectory as NSString).appendingPathComponent("git/" + String(safe.suffix(80)))
    }

    /// Opens `repository` (a path, or a URL to mirror), fetching a mirror first when `fetch` is true.
    public static func open(_ repository: String, stateDirectory: String, fetch: Bool) throws -> GitRepository {
        let repo = try GitRepository.openOrClone(repository, cacheDirectory: cacheDirectory(stateDirectory: stateDirectory, repository: repository))
        if fetch && repo.isMirror { try repo.fetch() }
        return repo
    }
}
