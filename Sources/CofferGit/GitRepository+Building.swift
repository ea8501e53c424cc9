internal import CGit2
import Foundation

/// Writing commits, branches and tags straight into the object database, to build repositories for tests,
/// benchmarks and examples without a working directory or the git command.
extension GitRepository {
    /// Writes a new commit whose whole tree is `files` (path → contents, folders made from the paths),
    /// `symlinks` (path → target) and `submodules` (path → commit id of a gitlink), and returns its id.
    ///
    /// The commit goes on `branch` (`refs/heads/…`), or on the branch `HEAD` names when `branch` is nil; its
    /// parents are `parents` (revisions; `[]` for a root commit), or the branch's current commit when nil. The
    /// branch is moved to the new commit even when it is not a descendant, which rewrites history like a
    /// force-push. `time` sets the author and committer time (now when nil).
    @discardableResult
    public func commit(
        files: [String: Data], symlinks: [String: String] = [:], submodules: [String: String] = [:],
        message: String, branch: String? = nil, parents: [String]? = nil,
        author: String = "coffer", email: String = "coffer@example.invalid", time: Date? = nil
    ) throws -> String {
        try serialized {
            let target = try branch.map { "refs/heads/\($0)" } ?? headTarget()
            var treeID = try writeTree(files: files, symlinks: symlinks, submodules: submodules)
            var tree: OpaquePointer?
            try check("git_tree_lookup", "could not read the new tree") { git_tree_lookup(&tree, pointer, &treeID) }
            defer { git_tree_free(tree) }

            var parentIDs: [git_oid] = []
            if let parents {
                parentIDs = try parents.map { try commitID($0) }
            } else if let target {
                var tip = git_oid()
                if git_reference_name_to_id(&tip, pointer, target) == 0 { parentIDs = [tip] }
            } else {
                parentIDs = [try commitID("HEAD")]
            }
            var parentCommits: [OpaquePointer?] = []
            defer { for parent in parentCommits { git_commit_free(parent) } }
            for var parentID in parentIDs {
                var parent: OpaquePointer?
                try check("git_commit_lookup", "could not read the parent \(hex(parentID))") {
                    git_commit_lookup(&parent, pointer, &parentID)
                }
                parentCommits.append(parent)
            }

            var signature: UnsafeMutablePointer<git_signature>?
            if let time {
                try check("git_signature_new", "could not make a signature for '\(author)'") {
                    git_signature_new(&signature, author, email, git_time_t(time.timeIntervalSince1970), 0)
                }
            } else {
                try check("git_signature_now", "could not make a signature for '\(author)'") {
                    git_signature_now(&signature, author, email)
                }
            }
            defer { git_signature_free(signature) }

            var newID = git_oid()
            try check("git_commit_create", "could not create the commit") {
                parentCommits.withUnsafeMutableBufferPointer { buffer in
                    git_commit_create(
                        &newID, pointer, nil, signature, signature, nil, message, tree,
                        buffer.count, buffer.baseAddress)
                }
            }
            if let target {
                try moveReference(target, to: newID, log: "commit: \(message)")
            } else {
                try check("git_repository_set_head_detached", "could not move the detached HEAD") {
                    git_repository_set_head_detached(pointer, &newID)
                }
            }
            return hex(newID)
        }
    }

    /// Writes a tree of regular files, symbolic links and gitlinks through an in-memory index.
    private func writeTree(files: [String: Data], symlinks: [String: String], submodules: [String: String]) throws
        -> git_oid
    {
        var index: OpaquePointer?
        try check("git_index_new", "could not make an index") { git_index_new(&index) }
        defer { git_index_free(index) }
        func add(_ path: String, _ contents: Data, mode: git_filemode_t) throws {
            var blobID = git_oid()
            _ = try contents.withUnsafeBytes { bytes in
                try check("git_blob_create_from_buffer", "could not store '\(path)'") {
                    git_blob_create_from_buffer(&blobID, pointer, bytes.baseAddress, bytes.count)
                }
            }
            try addEntry(path, id: blobID, mode: mode, size: contents.count)
        }
        func addEntry(_ path: String, id: git_oid, mode: git_filemode_t, size: Int) throws {
            var entry = git_index_entry()
            entry.mode = mode.rawValue
            entry.id = id
            entry.file_size = UInt32(truncatingIfNeeded: size)
            try path.withCString { cPath in
                entry.path = cPath
                try check("git_index_add", "could not add '\(path)'") { git_index_add(index, &entry) }
            }
        }
        for (path, contents) in files { try add(path, contents, mode: GIT_FILEMODE_BLOB) }
        for (path, target) in symlinks { try add(path, Data(target.utf8), mode: GIT_FILEMODE_LINK) }
        for (path, commit) in submodules {
            guard let id = objectID(fullHex: commit) else {
                throw GitError(
                    code: .invalidRevision, message: "the submodule '\(path)' needs a full commit id, not '\(commit)'")
            }
            try addEntry(path, id: id, mode: GIT_FILEMODE_COMMIT, size: 0)
        }
        var treeID = git_oid()
        try check("git_index_write_tree_to", "could not write the tree") {
            git_index_write_tree_to(&treeID, index, pointer)
        }
        return treeID
    }

    /// The branch `HEAD` points to (born or not), or nil when `HEAD` is detached.
    private func headTarget() throws -> String? {
        var head: OpaquePointer?
        try check("git_reference_lookup", "could not read HEAD of '\(path)'") {
            git_reference_lookup(&head, pointer, "HEAD")
        }
        defer { git_reference_free(head) }
        guard git_reference_type(head) == GIT_REFERENCE_SYMBOLIC else { return nil }
        return String(cString: git_reference_symbolic_target(head))
    }

    /// Points a reference at a commit, creating it or overwriting it.
    private func moveReference(_ name: String, to id: git_oid, log: String) throws {
        var id = id
        var reference: OpaquePointer?
        try check("git_reference_create", "could not point '\(name)' at \(hex(id))") {
            git_reference_create(&reference, pointer, name, &id, 1, log)
        }
        git_reference_free(reference)
    }

    /// Points branch `name` at `revision`, creating it or moving it anywhere (a history rewrite, as a
    /// force-push does).
    public func setBranch(_ name: String, to revision: String) throws {
        try serialized { try moveReference("refs/heads/\(name)", to: try commitID(revision), log: "branch: set") }
    }

    /// Deletes branch `name`.
    public func deleteBranch(_ name: String) throws {
        try serialized {
            var reference: OpaquePointer?
            try check("git_reference_lookup", "no branch '\(name)' in '\(path)'") {
                git_reference_lookup(&reference, pointer, "refs/heads/\(name)")
            }
            defer { git_reference_free(reference) }
            try check("git_reference_delete", "could not delete the branch '\(name)'") {
                git_reference_delete(reference)
            }
        }
    }

    /// Makes `HEAD` name branch `name` (which need not exist yet), as `git symbolic-ref HEAD` does.
    public func setHead(branch name: String) throws {
        try serialized {
            try check("git_repository_set_head", "could not point HEAD at '\(name)'") {
                git_repository_set_head(pointer, "refs/heads/\(name)")
            }
        }
    }

    /// Creates tag `name` on `revision`: annotated with `message` when one is given, else lightweight; an
    /// existing tag of that name is replaced only when `force` is set. Returns the id of the tag ref's target
    /// (the tag object for an annotated tag, the commit for a lightweight one).
    @discardableResult
    public func createTag(
        _ name: String, at revision: String, message: String? = nil, force: Bool = false,
        tagger: String = "coffer", email: String = "coffer@example.invalid"
    ) throws -> String {
        try serialized {
            var id = try commitID(revision)
            var target: OpaquePointer?
            try check("git_object_lookup", "could not read \(hex(id))") {
                git_object_lookup(&target, pointer, &id, GIT_OBJECT_COMMIT)
            }
            defer { git_object_free(target) }
            var tagID = git_oid()
            if let message {
                var signature: UnsafeMutablePointer<git_signature>?
                try check("git_signature_now", "could not make a signature for '\(tagger)'") {
                    git_signature_now(&signature, tagger, email)
                }
                defer { git_signature_free(signature) }
                try check("git_tag_create", "could not create the tag '\(name)' (does it exist already?)") {
                    git_tag_create(&tagID, pointer, name, target, signature, message, force ? 1 : 0)
                }
            } else {
                try check("git_tag_create_lightweight", "could not create the tag '\(name)' (does it exist already?)") {
                    git_tag_create_lightweight(&tagID, pointer, name, target, force ? 1 : 0)
                }
            }
            return hex(tagID)
        }
    }

    /// Replaces the repository's index with the tree of `revision`, as `git reset --mixed` does, leaving the
    /// working directory as it is.
    public func resetIndex(to revision: String) throws {
        try serialized {
            let tree = try tree(of: try commitID(revision), at: nil)
            defer { git_tree_free(tree) }
            var index: OpaquePointer?
            try check("git_repository_index", "'\(path)' has no index (is it bare?)") {
                git_repository_index(&index, pointer)
            }
            defer { git_index_free(index) }
            try check("git_index_read_tree", "could not read the tree into the index") {
                git_index_read_tree(index, tree)
            }
            try check("git_index_write", "could not write the index of '\(path)'") { git_index_write(index) }
        }
    }
}
