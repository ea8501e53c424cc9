internal import CGit2
import Foundation

/// A git repository opened through libgit2: resolves revisions and reads commits, trees, the log and notes
/// straight from the object database, never touching a working directory or an index.
///
/// Thread safety: a `GitRepository` is the only owner of one `git_repository`, which libgit2 does not allow two
/// threads to use at once, and no libgit2 object leaves it. Every call holds the repository's lock, so it may be
/// handed from task to task (it is `Sendable`) and even shared, but its calls run one at a time: use it from one
/// task at a time, and open one `GitRepository` per task to read in parallel.
public final class GitRepository: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The repository's working directory, or its git directory when it is bare.
    public let path: String
    /// The URL or path a mirror was cloned from and fetches from; nil for a repository opened in place.
    public let origin: String?
    /// Serialises every call: a `git_repository` is used by one thread at a time.
    let lock = NSRecursiveLock()

    /// Whether this is a bare mirror made by `openOrClone` (its refs are copies of the origin's).
    public var isMirror: Bool { origin != nil }

    /// Where the commits come from, for messages: the origin of a mirror, else the repository's path.
    public var location: String { origin ?? path }

    private init(takingOwnershipOf pointer: OpaquePointer, path: String, origin: String?) {
        self.pointer = pointer
        self.path = path
        self.origin = origin
    }

    deinit { git_repository_free(pointer) }

    /// Runs `body` holding the repository's lock.
    @discardableResult
    func serialized<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: Opening

    /// Opens the repository at `path` (a working directory or a bare repository), without searching parents.
    ///
    /// The corresponding C function is `git_repository_open_ext`.
    public static func open(at path: String) throws -> GitRepository {
        precondition(libgit2Ready)
        var repository: OpaquePointer?
        let result = git_repository_open_ext(&repository, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil)
        guard result == 0, let repository else {
            var error = GitError.last(
                "git_repository_open_ext", result,
                "'\(path)' is not a git repository: give the folder of a repository (its working directory, "
                    + "its .git folder or a bare repository) or a URL")
            if result == GIT_ENOTFOUND.rawValue { error.code = .notARepository }
            throw error
        }
        do {
            let origin = try mirrorOrigin(of: repository, path: path)
            return GitRepository(takingOwnershipOf: repository, path: path, origin: origin)
        } catch {
            git_repository_free(repository)
            throw error
        }
    }

    /// Creates an empty repository at `path`.
    ///
    /// The corresponding C function is `git_repository_init`.
    public static func create(at path: String, bare: Bool = false) throws -> GitRepository {
        precondition(libgit2Ready)
        var repository: OpaquePointer?
        try check(
            "git_repository_init", "could not create a repository at '\(path)': check that the folder is writable"
        ) {
            git_repository_init(&repository, path, bare ? 1 : 0)
        }
        return GitRepository(takingOwnershipOf: repository!, path: path, origin: nil)
    }

    /// The origin URL of a bare repository configured as a mirror (`remote.origin.mirror`), else nil.
    private static func mirrorOrigin(of repository: OpaquePointer, path: String) throws -> String? {
        guard git_repository_is_bare(repository) == 1 else { return nil }
        var config: OpaquePointer?
        try check("git_repository_config_snapshot", "could not read the configuration of '\(path)'") {
            git_repository_config_snapshot(&config, repository)
        }
        defer { git_config_free(config) }
        var mirror: Int32 = 0
        let flag = git_config_get_bool(&mirror, config, "remote.origin.mirror")
        if flag == GIT_ENOTFOUND.rawValue { return nil }
        try check("git_config_get_bool", "could not read remote.origin.mirror in '\(path)'") { flag }
        guard mirror != 0 else { return nil }
        var url: UnsafePointer<CChar>?
        try check(
            "git_config_get_string",
            "the mirror at '\(path)' has no remote.origin.url: remove the folder so that it is cloned again"
        ) { git_config_get_string(&url, config, "remote.origin.url") }
        return String(cString: url!)
    }

    /// Whether the repository has no working directory.
    var isBare: Bool { git_repository_is_bare(pointer) == 1 }

    // MARK: Revisions

    /// Resolves a branch, tag (annotated or lightweight), commit id (full or abbreviated) or any revparse
    /// expression (`HEAD`, `main~1`) to a full commit id; in a mirror, branch names are the origin's branches
    /// as last fetched.
    ///
    /// The corresponding C functions are `git_revparse_single` and `git_object_peel`.
    public func resolve(_ revision: String) throws -> String {
        try serialized { hex(try commitID(revision)) }
    }

    /// The commit a revision names, with errors that say which of the usual mistakes it is.
    func commitID(_ revision: String) throws -> git_oid {
        let name = revision.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else {
            throw GitError(code: .invalidRevision, message: "no revision given: give a branch, a tag or a commit id")
        }
        var object: OpaquePointer?
        let result = git_revparse_single(&object, pointer, name)
        if result < 0 {
            var error = GitError.last("git_revparse_single", result, "could not resolve '\(name)' in '\(location)'")
            let missing = result == GIT_ENOTFOUND.rawValue || result == GIT_EUNBORNBRANCH.rawValue
            if missing, try !hasReferences() {
                error.code = .emptyRepository
                error.message =
                    "'\(location)' has no commits yet: commit the manifests"
                    + (isMirror ? " and push them to it" : "") + ", then retry"
            } else {
                switch result {
                case GIT_ENOTFOUND.rawValue:
                    error.message =
                        "no branch, tag or commit '\(name)' in '\(location)': check the name (`git ls-remote "
                        + "\(location)` lists branches and tags)"
                        + (isMirror ? " and that it was pushed (the mirror holds what was last fetched)" : "")
                case GIT_EUNBORNBRANCH.rawValue:
                    error.message =
                        "'\(name)' in '\(location)' points to a branch with no commits yet: commit to it, "
                        + "or give another branch"
                case GIT_EAMBIGUOUS.rawValue:
                    error.message =
                        "the abbreviated id '\(name)' matches several objects in '\(location)': give more digits "
                        + "or the full commit id"
                case GIT_EINVALIDSPEC.rawValue:
                    error.message = "'\(name)' is not a valid revision: give a branch, a tag or a commit id"
                default:
                    break
                }
            }
            throw error
        }
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        let peeled = git_object_peel(&commit, object, GIT_OBJECT_COMMIT)
        if peeled < 0 {
            let kind = String(cString: git_object_type2string(git_object_type(object)))
            var error = GitError.last(
                "git_object_peel", peeled,
                "'\(name)' names a \(kind) in '\(location)', not a commit: give a branch, a tag or a commit id")
            error.code = .notACommit
            throw error
        }
        defer { git_object_free(commit) }
        return git_object_id(commit)!.pointee
    }

    /// Whether the repository holds any reference besides `HEAD` (a repository without one has no commits).
    func hasReferences() throws -> Bool {
        var iterator: OpaquePointer?
        try check("git_reference_iterator_new", "could not list the references of '\(location)'") {
            git_reference_iterator_new(&iterator, pointer)
        }
        defer { git_reference_iterator_free(iterator) }
        var reference: OpaquePointer?
        let result = git_reference_next(&reference, iterator)
        if result == GIT_ITEROVER.rawValue { return false }
        try check("git_reference_next", "could not list the references of '\(location)'") { result }
        git_reference_free(reference)
        return true
    }

    /// Whether the object database holds the object.
    func contains(_ id: git_oid) throws -> Bool {
        var odb: OpaquePointer?
        try check("git_repository_odb", "could not open the object database of '\(location)'") {
            git_repository_odb(&odb, pointer)
        }
        defer { git_odb_free(odb) }
        var id = id
        return git_odb_exists(odb, &id) == 1
    }

    // MARK: Commits

    /// The author, time and message of the commit a revision names.
    ///
    /// The corresponding C function is `git_commit_lookup`.
    public func commitInfo(_ commit: String) throws -> CommitInfo {
        try serialized {
            var id = try commitID(commit)
            return try info(&id)
        }
    }

    /// Copies what `CommitInfo` holds out of a commit, which is freed before returning.
    func info(_ id: UnsafePointer<git_oid>) throws -> CommitInfo {
        var commit: OpaquePointer?
        try check("git_commit_lookup", "could not read commit \(hex(id)) in '\(location)'") {
            git_commit_lookup(&commit, pointer, id)
        }
        defer { git_commit_free(commit) }
        let author = git_commit_author(commit)!.pointee
        return CommitInfo(
            id: hex(id),
            authorName: String(cString: author.name),
            authorEmail: String(cString: author.email),
            time: Date(timeIntervalSince1970: TimeInterval(author.when.time)),
            summary: git_commit_summary(commit).map { String(cString: $0) } ?? "",
            message: git_commit_message(commit).map { String(cString: $0) } ?? "")
    }

    /// The commits reachable from `revision`, newest first (by commit time), at most `limit` of them.
    ///
    /// The corresponding C functions are `git_revwalk_push` and `git_revwalk_next`.
    public func log(from revision: String, limit: Int) throws -> [CommitInfo] {
        precondition(limit >= 0, "the log limit must not be negative")
        return try serialized {
            var start = try commitID(revision)
            guard limit > 0 else { return [] }
            var walk: OpaquePointer?
            try check("git_revwalk_new", "could not walk the history of '\(location)'") {
                git_revwalk_new(&walk, pointer)
            }
            defer { git_revwalk_free(walk) }
            try check("git_revwalk_sorting", "could not walk the history of '\(location)'") {
                git_revwalk_sorting(walk, GIT_SORT_TIME.rawValue)
            }
            try check("git_revwalk_push", "could not walk the history of \(hex(start)) in '\(location)'") {
                git_revwalk_push(walk, &start)
            }
            var commits: [CommitInfo] = []
            var id = git_oid()
            while commits.count < limit {
                let result = git_revwalk_next(&id, walk)
                if result == GIT_ITEROVER.rawValue { break }
                try check("git_revwalk_next", "could not walk the history of '\(location)'") { result }
                commits.append(try info(&id))
            }
            return commits
        }
    }

    /// Whether `ancestor` is an ancestor of, or the same commit as, `descendant`: after a force-push that
    /// rewrote history, the old commit is no longer an ancestor of the branch. A full commit id that the
    /// repository does not hold is an ancestor of nothing in it.
    ///
    /// The corresponding C function is `git_graph_descendant_of`.
    public func isAncestor(_ ancestor: String, of descendant: String) throws -> Bool {
        try serialized {
            var descendantID = try commitID(descendant)
            if let full = objectID(fullHex: ancestor), try !contains(full) { return false }
            var ancestorID = try commitID(ancestor)
            if sameID(ancestorID, descendantID) { return true }
            let result = try check(
                "git_graph_descendant_of",
                "could not tell whether \(short(hex(ancestorID))) is an ancestor of \(short(hex(descendantID))) "
                    + "in '\(location)'"
            ) { git_graph_descendant_of(pointer, &descendantID, &ancestorID) }
            return result == 1
        }
    }
}

/// A commit's id, author, time and message, copied out of libgit2.
public struct CommitInfo: Sendable, Hashable, Codable {
    /// The full commit id (40 hexadecimal digits).
    public var id: String
    /// The author's name.
    public var authorName: String
    /// The author's email address.
    public var authorEmail: String
    /// When the author made the commit (whole seconds).
    public var time: Date
    /// The first paragraph of the message, on one line.
    public var summary: String
    /// The whole message.
    public var message: String

    /// Makes a commit description from its parts.
    public init(id: String, authorName: String, authorEmail: String, time: Date, summary: String, message: String) {
        self.id = id
        self.authorName = authorName
        self.authorEmail = authorEmail
        self.time = time
        self.summary = summary
        self.message = message
    }
}
