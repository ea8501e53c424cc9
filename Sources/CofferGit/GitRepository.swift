import CGit2
import Foundation

/// libgit2 is initialised once per process, before the first call.
private let libgit2Ready: Bool = {
    git_libgit2_init()
    return true
}()

/// A git repository opened through libgit2. The only owner of its `git_repository`.
public final class GitRepository: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The repository's working directory, or its git directory when it is bare.
    public let path: String

    private init(takingOwnershipOf pointer: OpaquePointer, path: String) {
        self.pointer = pointer
        self.path = path
    }

    deinit { git_repository_free(pointer) }

    /// Opens the repository at `path` (a working directory or a bare repository).
    public static func open(at path: String) throws -> GitRepository {
        precondition(libgit2Ready)
        var repository: OpaquePointer?
        let result = git_repository_open_ext(&repository, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil)
        guard result == 0, let repository else {
            var error = GitError.last("git_repository_open_ext", result, "'\(path)' is not a git repository")
            if result == GIT_ENOTFOUND.rawValue { error.code = .notARepository }
            throw error
        }
        return GitRepository(takingOwnershipOf: repository, path: path)
    }

    /// Creates an empty repository at `path`.
    public static func create(at path: String, bare: Bool = false) throws -> GitRepository {
        precondition(libgit2Ready)
        var repository: OpaquePointer?
        try check("git_repository_init", "could not create a repository at '\(path)'") {
            git_repository_init(&repository, path, bare ? 1 : 0)
        }
        return GitRepository(takingOwnershipOf: repository!, path: path)
    }

    /// Resolves a revision (branch, tag, commit id, `HEAD`, `main~1`) to a commit id.
    public func resolve(_ revision: String) throws -> String {
        var object: OpaquePointer?
        try check("git_revparse_single", "no revision '\(revision)' in '\(path)'") {
            git_revparse_single(&object, pointer, revision)
        }
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try check("git_object_peel", "'\(revision)' does not name a commit") {
            git_object_peel(&commit, object, GIT_OBJECT_COMMIT)
        }
        defer { git_object_free(commit) }
        return Self.hex(git_object_id(commit)!)
    }

    /// The contents of the file at `path` in the tree of `revision`, read from the object database without
    /// touching any working directory.
    public func readFile(_ filePath: String, at revision: String) throws -> Data {
        var object: OpaquePointer?
        try check("git_revparse_single", "no file '\(filePath)' at '\(revision)'") {
            git_revparse_single(&object, pointer, "\(revision):\(filePath)")
        }
        defer { git_object_free(object) }
        guard git_object_type(object) == GIT_OBJECT_BLOB else {
            throw GitError(code: .unsupportedEntry, message: "'\(filePath)' at '\(revision)' is not a file")
        }
        let size = Int(git_blob_rawsize(object))
        guard size > 0, let raw = git_blob_rawcontent(object) else { return Data() }
        return Data(bytes: raw, count: size)
    }

    /// Writes `files` (path → contents) as a new commit on top of `HEAD`'s branch, replacing the whole tree,
    /// and returns its id. Meant for building test repositories without a working directory.
    @discardableResult
    public func commit(
        files: [String: Data], message: String, author: String = "coffer", email: String = "coffer@example.invalid"
    ) throws -> String {
        var index: OpaquePointer?
        try check("git_index_new", "could not make an index") { git_index_new(&index) }
        defer { git_index_free(index) }
        for (filePath, contents) in files.sorted(by: { $0.key < $1.key }) {
            var blobID = git_oid()
            _ = try contents.withUnsafeBytes { bytes in
                try check("git_blob_create_from_buffer", "could not store '\(filePath)'") {
                    git_blob_create_from_buffer(&blobID, pointer, bytes.baseAddress, bytes.count)
                }
            }
            var entry = git_index_entry()
            entry.mode = UInt32(GIT_FILEMODE_BLOB.rawValue)
            entry.id = blobID
            entry.file_size = UInt32(truncatingIfNeeded: contents.count)
            try filePath.withCString { cPath in
                entry.path = cPath
                try check("git_index_add", "could not add '\(filePath)'") { git_index_add(index, &entry) }
            }
        }
        var treeID = git_oid()
        try check("git_index_write_tree_to", "could not write the tree") {
            git_index_write_tree_to(&treeID, index, pointer)
        }
        var tree: OpaquePointer?
        try check("git_tree_lookup", "could not read the new tree") { git_tree_lookup(&tree, pointer, &treeID) }
        defer { git_tree_free(tree) }

        var parent: OpaquePointer?
        var parentID = git_oid()
        let headResult = git_reference_name_to_id(&parentID, pointer, "HEAD")
        if headResult == 0 {
            try check("git_commit_lookup", "could not read HEAD") { git_commit_lookup(&parent, pointer, &parentID) }
        }
        defer { if let parent { git_commit_free(parent) } }

        var signature: UnsafeMutablePointer<git_signature>?
        try check("git_signature_now", "could not make a signature") { git_signature_now(&signature, author, email) }
        defer { git_signature_free(signature) }

        var commitID = git_oid()
        var parents: [OpaquePointer?] = parent.map { [$0] } ?? []
        try check("git_commit_create", "could not create the commit") {
            parents.withUnsafeMutableBufferPointer { buffer in
                git_commit_create(
                    &commitID, pointer, "HEAD", signature, signature, nil, message, tree,
                    buffer.count, buffer.baseAddress)
            }
        }
        return Self.hex(&commitID)
    }

    static func hex(_ oid: UnsafePointer<git_oid>) -> String {
        var buffer = [CChar](repeating: 0, count: Int(GIT_OID_HEXSZ) + 1)
        git_oid_tostr(&buffer, buffer.count, oid)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
