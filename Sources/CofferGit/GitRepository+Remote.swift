internal import CGit2
import Foundation

extension GitRepository {
    /// How `openOrClone` treats a location that is a local path.
    public enum CloneMode: Sendable, Hashable {
        /// A URL (`file://`, `https://`, `ssh://`, `user@host:path`) is mirrored into the cache; a local path is
        /// opened in place, which reads it as it is now and never changes it.
        case automatic
        /// Every location, local paths too, is mirrored into the cache and read from there.
        case mirror
    }

    /// The fetch refspec of a mirror: every ref of the origin, forced, so that a force-push is followed.
    static let mirrorRefspec = "+refs/*:refs/*"

    /// Opens a local repository by path, or clones a remote (a `file://` or network URL, or any location with
    /// `mode: .mirror`) as a bare mirror into `cacheDirectory`: the first call clones, later calls open the mirror
    /// as it was last fetched (call `fetch()` to bring it up to date).
    ///
    /// A mirror copies every ref of the origin (`+refs/*:refs/*`, like `git clone --mirror`), so its branch
    /// names are the origin's branches; its folder in the cache is named after the location and a hash of it.
    public static func openOrClone(
        _ location: String, cacheDirectory: String, mode: CloneMode = .automatic
    ) throws -> GitRepository {
        precondition(libgit2Ready)
        let canonical = canonicalLocation(location)
        if mode == .automatic && !isURL(location) { return try open(at: canonical) }
        if let local = localPath(of: canonical) {
            // Say plainly that the source is wrong rather than let the fetch fail on it.
            _ = try open(at: local)
        }
        let mirrorPath = (cacheDirectory as NSString).appendingPathComponent(mirrorFolderName(for: canonical))
        if FileManager.default.fileExists(atPath: mirrorPath) {
            let repository = try open(at: mirrorPath)
            guard repository.origin == canonical else {
                throw GitError(
                    code: .notARepository,
                    message: "the cache folder '\(mirrorPath)' is not a mirror of '\(canonical)' (it mirrors "
                        + "'\(repository.origin ?? "nothing")'): remove it, and it is cloned again")
            }
            return repository
        }
        return try cloneMirror(of: canonical, to: mirrorPath, cacheDirectory: cacheDirectory)
    }

    /// The name of a location's mirror in the cache: readable, and unique thanks to a hash of the location.
    static func mirrorFolderName(for location: String) -> String {
        var base = location.split(separator: "/").last.map(String.init) ?? "repository"
        if base.hasSuffix(".git") { base.removeLast(4) }
        let readable = String(
            base.unicodeScalars.map { scalar -> Character in
                let allowed = CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII
                return allowed || scalar == "-" || scalar == "_" || scalar == "." ? Character(scalar) : "_"
            }.prefix(40))
        var id = git_oid()
        let bytes = Array(location.utf8)
        _ = git_odb_hash(&id, bytes, bytes.count, GIT_OBJECT_BLOB)
        return "\(readable.isEmpty ? "repository" : readable)-\(hex(id).prefix(16)).git"
    }

    /// Clones `origin` as a mirror into a temporary folder of the cache, then renames it into place, so that an
    /// interrupted clone never leaves a half mirror where a later call would find it.
    private static func cloneMirror(of origin: String, to mirrorPath: String, cacheDirectory: String) throws
        -> GitRepository
    {
        do {
            try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        } catch {
            throw GitError(
                code: .libgit2,
                message: "could not create the cache folder '\(cacheDirectory)': \(error.localizedDescription); "
                    + "check that it is writable",
                underlying: error)
        }
        let partial = (cacheDirectory as NSString).appendingPathComponent(".partial-\(UUID().uuidString).git")
        do {
            let repository = try create(at: partial, bare: true)
            try repository.configureMirror(of: origin)
            try repository.fetchOrigin(refspecs: nil, prune: true, origin: origin)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        if rename(partial, mirrorPath) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: partial)
            // Another process may have cloned the same origin meanwhile: use its mirror.
            guard FileManager.default.fileExists(atPath: mirrorPath) else {
                throw GitError(
                    code: .libgit2,
                    message: "could not move the new mirror of '\(origin)' to '\(mirrorPath)': \(reason); check "
                        + "that the cache folder is writable")
            }
        }
        return try open(at: mirrorPath)
    }

    /// Adds the remote `origin` with the mirror refspec, and marks the repository as a mirror.
    private func configureMirror(of origin: String) throws {
        var remote: OpaquePointer?
        try check("git_remote_create_with_fetchspec", "could not add the remote '\(origin)' to '\(path)'") {
            git_remote_create_with_fetchspec(&remote, pointer, "origin", origin, Self.mirrorRefspec)
        }
        git_remote_free(remote)
        var config: OpaquePointer?
        try check("git_repository_config", "could not open the configuration of '\(path)'") {
            git_repository_config(&config, pointer)
        }
        defer { git_config_free(config) }
        try check("git_config_set_bool", "could not mark '\(path)' as a mirror") {
            git_config_set_bool(config, "remote.origin.mirror", 1)
        }
    }

    /// Fetches every branch and tag from origin into a mirror, pruning refs the origin deleted and forcing
    /// updates so that a force-pushed branch is followed; `HEAD` follows the origin's default branch. A
    /// repository opened in place has nothing to fetch (its refs are the truth), so this does nothing for it.
    ///
    /// The corresponding C function is `git_remote_fetch`.
    public func fetch() throws {
        try serialized {
            guard let origin else { return }
            try fetchOrigin(refspecs: nil, prune: true, origin: origin)
        }
    }

    /// Fetches from the remote `origin`: the configured refspecs (and `HEAD`) when `refspecs` is nil.
    func fetchOrigin(refspecs: [String]?, prune: Bool, origin: String) throws {
        var remote: OpaquePointer?
        try check(
            "git_remote_lookup",
            "the mirror at '\(path)' has no remote 'origin': remove the folder, and it is cloned again"
        ) { git_remote_lookup(&remote, pointer, "origin") }
        defer { git_remote_free(remote) }
        var options = git_fetch_options()
        try check("git_fetch_options_init", "could not prepare the fetch") {
            git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        }
        options.prune = prune ? GIT_FETCH_PRUNE : GIT_FETCH_NO_PRUNE
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL
        let result: Int32
        if let refspecs {
            result = withStringArray(refspecs) { git_remote_fetch(remote, $0, &options, "coffer: fetch") }
        } else {
            result = git_remote_fetch(remote, nil, &options, "coffer: fetch")
        }
        if result < 0 {
            var error = GitError.last(
                "git_remote_fetch", result,
                "could not fetch from '\(origin)': check that it exists and is reachable (and that the network "
                    + "and credentials allow it), then retry")
            error.code = .remote
            throw error
        }
        guard refspecs == nil else { return }
        // A mirror's HEAD names the origin's default branch, as `git clone --mirror` sets it.
        var branch = git_buf()
        defer { git_buf_dispose(&branch) }
        let found = git_remote_default_branch(&branch, remote)
        if found == GIT_ENOTFOUND.rawValue { return }  // the origin has no commits yet
        try check("git_remote_default_branch", "could not read the default branch of '\(origin)'") { found }
        try check("git_repository_set_head", "could not point HEAD of the mirror '\(path)' at the default branch") {
            git_repository_set_head(pointer, branch.ptr)
        }
    }

    /// Pushes refspecs to origin; a ref the origin refuses (not a fast-forward) throws `.rejected`.
    ///
    /// The corresponding C function is `git_remote_push`.
    func pushToOrigin(_ refspecs: [String], origin: String) throws {
        var remote: OpaquePointer?
        try check("git_remote_lookup", "the mirror at '\(path)' has no remote 'origin'") {
            git_remote_lookup(&remote, pointer, "origin")
        }
        defer { git_remote_free(remote) }
        var options = git_push_options()
        try check("git_push_options_init", "could not prepare the push") {
            git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION))
        }
        let outcome = PushOutcome()
        options.callbacks.payload = Unmanaged.passUnretained(outcome).toOpaque()
        options.callbacks.push_update_reference = { name, status, payload in
            // libgit2 calls this once per pushed ref; a status is the remote's reason for refusing it.
            if let status, let payload {
                let outcome = Unmanaged<PushOutcome>.fromOpaque(payload).takeUnretainedValue()
                outcome.refused.append("\(name.map { String(cString: $0) } ?? "?"): \(String(cString: status))")
            }
            return 0
        }
        let result = withExtendedLifetime(outcome) {
            withStringArray(refspecs) { git_remote_push(remote, $0, &options) }
        }
        if result < 0 {
            var error = GitError.last(
                "git_remote_push", result,
                "could not push \(refspecs.joined(separator: ", ")) to '\(origin)': check that it is reachable and "
                    + "writable (network remotes need credentials that libgit2 finds on its own)")
            if error.code != .rejected { error.code = .remote }
            throw error
        }
        if !outcome.refused.isEmpty {
            throw GitError(
                code: .rejected,
                message: "'\(origin)' refused \(outcome.refused.joined(separator: "; ")): fetch and retry",
                function: "git_remote_push")
        }
    }
}

/// What the push callback reports, gathered while `git_remote_push` runs.
private final class PushOutcome {
    var refused: [String] = []
}
