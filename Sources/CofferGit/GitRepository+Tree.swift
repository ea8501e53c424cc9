internal import CGit2
import Foundation

/// A regular file read from a commit's tree.
public struct TreeFile: Sendable, Hashable {
    /// The file's path relative to the folder that was read, with `/` between components.
    public var path: String
    /// The file's bytes.
    public var contents: [UInt8]

    /// Makes a file from its path and bytes.
    public init(path: String, contents: [UInt8]) {
        self.path = path
        self.contents = contents
    }
}

extension GitRepository {
    /// The regular files under `folder` (nil or "" for the whole tree) in the tree of `commit`, recursively,
    /// sorted by path (byte order), read from the object database without a checkout; `include` picks files by
    /// their path relative to `folder` (for example only `.yaml` and `.yml`).
    ///
    /// A symbolic link or a submodule anywhere under the folder is refused (`.unsupportedEntry`, naming it),
    /// whatever `include` says, since the files it stands for cannot be read from this commit. A folder that
    /// is not in the tree, or that is a file, gives `.notFound` naming it and the commit.
    ///
    /// The corresponding C functions are `git_tree_entry_bypath`, `git_tree_lookup` and `git_odb_read`.
    public func files(
        at commit: String, under folder: String?, include: (String) -> Bool = { _ in true }
    ) throws -> [TreeFile] {
        try serialized {
            let commitID = try commitID(commit)
            let folder = try Self.normalizedFolder(folder)
            let tree = try tree(of: commitID, at: folder)
            defer { git_tree_free(tree) }
            var odb: OpaquePointer?
            try check("git_repository_odb", "could not open the object database of '\(location)'") {
                git_repository_odb(&odb, pointer)
            }
            defer { git_odb_free(odb) }
            var walk = TreeWalk(
                repository: pointer, odb: odb!, commit: hex(commitID), folder: folder, location: location)
            try walk.collect(tree, relative: "", include: include)
            // A walk in git's tree order already gives byte order (git sorts a folder as its name plus "/"), so
            // sorting is needed only for a tree written out of order.
            if !walk.files.isSorted(by: { bytewise($0.path, $1.path) }) {
                walk.files.sort { bytewise($0.path, $1.path) }
            }
            return walk.files
        }
    }

    /// The id of the tree object at `folder` (nil or "" for the root) in `commit`'s tree: it changes exactly when
    /// something under the folder changes, so comparing it tells cheaply whether the manifests changed.
    ///
    /// The corresponding C function is `git_tree_entry_bypath`.
    public func treeID(at commit: String, under folder: String?) throws -> String {
        try serialized {
            let tree = try tree(of: try commitID(commit), at: try Self.normalizedFolder(folder))
            defer { git_tree_free(tree) }
            return hex(git_tree_id(tree)!)
        }
    }

    /// The contents of the file at `filePath` in the tree of `revision`, read from the object database without
    /// touching any working directory.
    ///
    /// The corresponding C function is `git_tree_entry_bypath`.
    public func readFile(_ filePath: String, at revision: String) throws -> Data {
        try serialized {
            let commitID = try commitID(revision)
            let path = try Self.normalizedFolder(filePath) ?? ""
            var commit: OpaquePointer?
            try check("git_commit_lookup", "could not read commit \(hex(commitID)) in '\(location)'") {
                var id = commitID
                return git_commit_lookup(&commit, pointer, &id)
            }
            defer { git_commit_free(commit) }
            var root: OpaquePointer?
            try check("git_commit_tree", "could not read the tree of commit \(hex(commitID))") {
                git_commit_tree(&root, commit)
            }
            defer { git_tree_free(root) }
            var entry: OpaquePointer?
            try check(
                "git_tree_entry_bypath",
                "no file '\(path)' in commit \(short(hex(commitID))) of '\(location)': check the path, relative to "
                    + "the repository's root"
            ) { git_tree_entry_bypath(&entry, root, path) }
            defer { git_tree_entry_free(entry) }
            let mode = git_tree_entry_filemode(entry)
            guard mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE else {
                throw GitError(
                    code: .unsupportedEntry,
                    message: "'\(path)' in commit \(short(hex(commitID))) is \(Self.describe(mode)), not a file")
            }
            var blob: OpaquePointer?
            try check("git_blob_lookup", "could not read '\(path)' in commit \(short(hex(commitID)))") {
                git_blob_lookup(&blob, pointer, git_tree_entry_id(entry))
            }
            defer { git_blob_free(blob) }
            let size = Int(git_blob_rawsize(blob))
            guard size > 0, let raw = git_blob_rawcontent(blob) else { return Data() }
            return Data(bytes: raw, count: size)
        }
    }

    /// A folder path without empty, `.` or trailing components; nil for the root.
    static func normalizedFolder(_ folder: String?) throws -> String? {
        guard let folder else { return nil }
        let parts = folder.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") {
            throw GitError(
                code: .notFound,
                message: "the path '\(folder)' climbs out with '..': give a path relative to the repository's root")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// The tree at `folder` in a commit, owned by the caller (free it with `git_tree_free`).
    func tree(of commitID: git_oid, at folder: String?) throws -> OpaquePointer {
        var id = commitID
        var commit: OpaquePointer?
        try check("git_commit_lookup", "could not read commit \(hex(id)) in '\(location)'") {
            git_commit_lookup(&commit, pointer, &id)
        }
        defer { git_commit_free(commit) }
        var root: OpaquePointer?
        try check("git_commit_tree", "could not read the tree of commit \(hex(id)) in '\(location)'") {
            git_commit_tree(&root, commit)
        }
        guard let folder else { return root! }
        defer { git_tree_free(root) }
        var entry: OpaquePointer?
        let result = git_tree_entry_bypath(&entry, root, folder)
        if result < 0 {
            throw GitError.last(
                "git_tree_entry_bypath", result,
                "no folder '\(folder)' in commit \(short(hex(id))) of '\(location)': check the path (relative to "
                    + "the repository's root) and that the folder was committed")
        }
        defer { git_tree_entry_free(entry) }
        let mode = git_tree_entry_filemode(entry)
        switch mode {
        case GIT_FILEMODE_TREE:
            var tree: OpaquePointer?
            try check("git_tree_lookup", "could not read the folder '\(folder)' in commit \(short(hex(id)))") {
                git_tree_lookup(&tree, pointer, git_tree_entry_id(entry))
            }
            return tree!
        case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
            throw GitError(
                code: .notFound,
                message: "'\(folder)' is a file in commit \(short(hex(id))) of '\(location)', not a folder: give "
                    + "the folder that holds the manifests")
        default:
            throw Self.unsupported(mode, path: folder, commit: hex(id))
        }
    }

    /// The error for a symbolic link or submodule found where files are read.
    static func unsupported(_ mode: git_filemode_t, path: String, commit: String) -> GitError {
        let fix: String
        switch mode {
        case GIT_FILEMODE_LINK:
            fix = "coffer reads only regular files from git: replace the link with the file or folder it points to"
        case GIT_FILEMODE_COMMIT:
            fix =
                "coffer does not read submodules: copy the manifests into this repository, or read them from the "
                + "submodule's own repository"
        default:
            fix = "coffer reads only regular files and folders from git"
        }
        return GitError(
            code: .unsupportedEntry,
            message: "'\(path)' in commit \(short(commit)) is \(describe(mode)): \(fix)")
    }

    /// What a tree entry is, for messages.
    static func describe(_ mode: git_filemode_t) -> String {
        switch mode {
        case GIT_FILEMODE_TREE: return "a folder"
        case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE: return "a file"
        case GIT_FILEMODE_LINK: return "a symbolic link"
        case GIT_FILEMODE_COMMIT: return "a submodule"
        default: return "an entry of unknown mode \(String(mode.rawValue, radix: 8))"
        }
    }
}

/// Whether `a` comes before `b` in the byte order of their UTF-8 forms (as `LC_ALL=C sort` orders them).
func bytewise(_ a: String, _ b: String) -> Bool {
    var a = a
    var b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let common = min(x.count, y.count)
            let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
            return order != 0 ? order < 0 : x.count < y.count
        }
    }
}

extension Array {
    /// Whether the elements are in the order `areInIncreasingOrder` gives (equal neighbours allowed).
    func isSorted(by areInIncreasingOrder: (Element, Element) -> Bool) -> Bool {
        indices.dropFirst().allSatisfy { !areInIncreasingOrder(self[$0], self[$0 - 1]) }
    }
}

/// Reads the files of a tree recursively, refusing symbolic links and submodules.
private struct TreeWalk {
    let repository: OpaquePointer
    let odb: OpaquePointer
    let commit: String
    let folder: String?
    let location: String
    var files: [TreeFile] = []

    init(repository: OpaquePointer, odb: OpaquePointer, commit: String, folder: String?, location: String) {
        self.repository = repository
        self.odb = odb
        self.commit = commit
        self.folder = folder
        self.location = location
    }

    /// The path from the repository's root, for messages.
    func rootPath(_ relative: String) -> String { folder.map { "\($0)/\(relative)" } ?? relative }

    mutating func collect(_ tree: OpaquePointer, relative prefix: String, include: (String) -> Bool) throws {
        let count = git_tree_entrycount(tree)
        for index in 0..<count {
            let entry = git_tree_entry_byindex(tree, index)!
            let name = String(cString: git_tree_entry_name(entry))
            let path = prefix.isEmpty ? name : prefix + "/" + name
            let mode = git_tree_entry_filemode(entry)
            switch mode {
            case GIT_FILEMODE_TREE:
                var subtree: OpaquePointer?
                try check("git_tree_lookup", "could not read the folder '\(rootPath(path))' in commit \(short(commit))")
                {
                    git_tree_lookup(&subtree, repository, git_tree_entry_id(entry))
                }
                defer { git_tree_free(subtree) }
                try collect(subtree!, relative: path, include: include)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                guard include(path) else { continue }
                var object: OpaquePointer?
                try check(
                    "git_odb_read",
                    "could not read '\(rootPath(path))' in commit \(short(commit)) of '\(location)': the repository "
                        + "may be incomplete; fetch again or run `git fsck`"
                ) { git_odb_read(&object, odb, git_tree_entry_id(entry)) }
                defer { git_odb_object_free(object) }
                let size = git_odb_object_size(object)
                let contents: [UInt8]
                if size == 0 {
                    contents = []
                } else {
                    contents = Array(UnsafeRawBufferPointer(start: git_odb_object_data(object), count: size))
                }
                files.append(TreeFile(path: path, contents: contents))
            default:
                throw GitRepository.unsupported(mode, path: rootPath(path), commit: commit)
            }
        }
    }
}
