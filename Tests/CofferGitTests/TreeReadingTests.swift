import CofferGit
import CofferTestSupport
import Foundation
import Testing

@Suite struct TreeReadingTests {
    @Test func readsTheFilesUnderAFolderAtEachCommitAsTheyChange() throws {
        let fixture = try ManifestRepository()
        let repository = fixture.repository
        let yaml: (String) -> Bool = { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }

        let added = try repository.files(at: fixture.commits[0], under: "manifests", include: yaml)
        #expect(added.map(\.path) == ["policies/daily.yml", "vaults/prod.yaml"])
        #expect(texts(added)["vaults/prod.yaml"] == "kind: RecoveryServicesVault\nname: prod\n")

        let changed = try repository.files(at: fixture.commits[1], under: "manifests", include: yaml)
        #expect(changed.map(\.path) == ["policies/daily.yml", "vaults/prod.yaml", "vms/web/web-01.yaml"])
        #expect(texts(changed)["vaults/prod.yaml"] == "kind: RecoveryServicesVault\nname: prod\nregion: eastus\n")

        let removed = try repository.files(at: "main", under: "manifests/", include: yaml)
        #expect(removed.map(\.path) == ["vaults/prod.yaml", "vms/web/web-01.yaml"])

        // Without a filter every file comes back; nil and "" read the whole tree, paths from the root.
        #expect(
            try repository.files(at: "main", under: "manifests").map(\.path)
                == ["notes.txt", "vaults/prod.yaml", "vms/web/web-01.yaml"])
        let whole = try repository.files(at: "main", under: nil)
        #expect(
            whole.map(\.path)
                == ["README.md", "manifests/notes.txt", "manifests/vaults/prod.yaml", "manifests/vms/web/web-01.yaml"])
        #expect(try repository.files(at: "main", under: "") == whole)
        #expect(try repository.files(at: "main", under: "./manifests/vms").map(\.path) == ["web/web-01.yaml"])
    }

    @Test func sortsByPathInByteOrderWhateverTheTreeOrder() throws {
        let directory = try TemporaryDirectory()
        let repository = try GitRepository.create(at: directory.path("repo"))
        // git orders a folder "a" as "a/", after "a.yaml" and "a-b.yaml"; byte order puts "a-b.yaml" first too,
        // but "a/x.yaml" comes after "a.yaml" only because '.' < '/'. "B" sorts before "a" in bytes.
        try repository.commit(
            files: [
                "m/a.yaml": bytes("1"), "m/a/x.yaml": bytes("2"), "m/a-b.yaml": bytes("3"), "m/B.yaml": bytes("4"),
                "m/a0.yaml": bytes("5"),
            ], message: "order")
        let paths = try repository.files(at: "HEAD", under: "m").map(\.path)
        #expect(paths == ["B.yaml", "a-b.yaml", "a.yaml", "a/x.yaml", "a0.yaml"])
        #expect(paths == paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    @Test func readsEmptyAndBinaryFilesExactly() throws {
        let directory = try TemporaryDirectory()
        let repository = try GitRepository.create(at: directory.path("repo"))
        let binary = Data((0...255).map { UInt8($0) } + [0, 0, 255])
        try repository.commit(files: ["m/empty.yaml": Data(), "m/binary.bin": binary], message: "edge")
        let files = try repository.files(at: "HEAD", under: "m")
        #expect(
            files == [
                TreeFile(path: "binary.bin", contents: Array(binary)), TreeFile(path: "empty.yaml", contents: []),
            ])
    }

    @Test func treeIDChangesExactlyWhenTheFolderChanges() throws {
        let directory = try TemporaryDirectory()
        let repository = try GitRepository.create(at: directory.path("repo"))
        let first = try repository.commit(
            files: ["manifests/a.yaml": bytes("a: 1\n"), "README.md": bytes("one\n")], message: "one")
        let readmeOnly = try repository.commit(
            files: ["manifests/a.yaml": bytes("a: 1\n"), "README.md": bytes("two\n")], message: "readme")
        let manifest = try repository.commit(
            files: ["manifests/a.yaml": bytes("a: 2\n"), "README.md": bytes("two\n")], message: "manifest")

        #expect(
            try repository.treeID(at: first, under: "manifests")
                == repository.treeID(at: readmeOnly, under: "manifests"))
        #expect(
            try repository.treeID(at: readmeOnly, under: "manifests")
                != repository.treeID(at: manifest, under: "manifests"))
        #expect(try repository.treeID(at: first, under: nil) != repository.treeID(at: readmeOnly, under: nil))
        let id = try repository.treeID(at: manifest, under: "manifests")
        #expect(id.count == 40 && id.allSatisfy(\.isHexDigit))
        #expect(try repository.treeID(at: manifest, under: "") == repository.treeID(at: manifest, under: nil))
    }

    @Test func aFolderThatIsMissingOrIsAFileIsNotFoundNamingItAndTheCommit() throws {
        let fixture = try ManifestRepository()
        let commit = fixture.commits[2]
        for folder in ["clusters", "manifests/policies", "manifests/vaults/prod.yaml/x"] {
            let error = try #require(throws: GitError.self) { try fixture.repository.files(at: commit, under: folder) }
            #expect(error.code == .notFound)
            #expect(error.message.contains("'\(folder)'"))
            #expect(error.message.contains(String(commit.prefix(7))))
            #expect(error.message.contains("check the path"))
            #expect(throws: GitError.self) { try fixture.repository.treeID(at: commit, under: folder) }
        }
        let file = try #require(throws: GitError.self) {
            try fixture.repository.files(at: commit, under: "manifests/vaults/prod.yaml")
        }
        #expect(file.code == .notFound)
        #expect(file.message.contains("'manifests/vaults/prod.yaml' is a file"))
        #expect(file.message.contains(String(commit.prefix(7))))
        let climbing = try #require(throws: GitError.self) { try fixture.repository.files(at: commit, under: "../x") }
        #expect(climbing.code == .notFound)
    }

    @Test func aSymlinkUnderTheFolderIsRefusedNamingItWhateverTheFilter() throws {
        let directory = try TemporaryDirectory()
        let repository = try GitRepository.create(at: directory.path("repo"))
        let commit = try repository.commit(
            files: ["manifests/a.yaml": bytes("a\n"), "shared/b.yaml": bytes("b\n")],
            symlinks: ["manifests/deep/b.yaml": "../../shared/b.yaml", "docs": "manifests"], message: "links")
        let error = try #require(throws: GitError.self) { try repository.files(at: commit, under: "manifests") }
        #expect(error.code == .unsupportedEntry)
        #expect(error.message.contains("'manifests/deep/b.yaml'"))
        #expect(error.message.contains("symbolic link"))
        #expect(error.message.contains("replace the link"))
        let filtered = try #require(throws: GitError.self) {
            try repository.files(at: commit, under: "manifests", include: { $0.hasSuffix(".txt") })
        }
        #expect(filtered.code == .unsupportedEntry)
        // The folder itself being a link is refused too; a folder without links reads fine.
        let folder = try #require(throws: GitError.self) { try repository.files(at: commit, under: "docs") }
        #expect(folder.code == .unsupportedEntry)
        #expect(folder.message.contains("'docs'"))
        #expect(try repository.files(at: commit, under: "shared").map(\.path) == ["b.yaml"])
    }

    @Test func aSubmoduleUnderTheFolderIsRefusedNamingIt() throws {
        let directory = try TemporaryDirectory()
        let library = try GitRepository.create(at: directory.path("library"))
        let libraryCommit = try library.commit(files: ["x.yaml": bytes("x\n")], message: "library")
        let repository = try GitRepository.create(at: directory.path("repo"))
        let commit = try repository.commit(
            files: ["manifests/a.yaml": bytes("a\n"), ".gitmodules": bytes("[submodule \"lib\"]\n")],
            submodules: ["manifests/vendor/lib": libraryCommit, "lib": libraryCommit], message: "submodule")
        let error = try #require(throws: GitError.self) { try repository.files(at: commit, under: "manifests") }
        #expect(error.code == .unsupportedEntry)
        #expect(error.message.contains("'manifests/vendor/lib'"))
        #expect(error.message.contains("submodule"))
        let itself = try #require(throws: GitError.self) { try repository.files(at: commit, under: "lib") }
        #expect(itself.code == .unsupportedEntry)
        #expect(itself.message.contains("'lib'"))
    }

    @Test func readingLeavesADirtyWorkingTreeAndItsIndexByteForByteUnchanged() throws {
        let fixture = try ManifestRepository()
        let root = fixture.path
        try fixture.repository.resetIndex(to: "main")
        // Make the working tree dirty: a changed tracked file, an untracked one, and no other files at all.
        try fixture.directory.write("kind: Edited\n", to: "origin/manifests/vaults/prod.yaml")
        try fixture.directory.write("kind: Untracked\n", to: "origin/manifests/new.yaml")
        #expect(FileManager.default.fileExists(atPath: root + "/.git/index"))
        let before = try snapshot(of: root)

        let cache = try TemporaryDirectory()
        let repository = try GitRepository.openOrClone(root, cacheDirectory: cache.path)
        #expect(!repository.isMirror)
        let files = try repository.files(at: "main", under: "manifests", include: { $0.hasSuffix(".yaml") })
        #expect(
            texts(files) == [
                "vaults/prod.yaml": "kind: RecoveryServicesVault\nname: prod\nregion: eastus\n",
                "vms/web/web-01.yaml": "kind: ProtectedVM\nname: web-01\n",
            ])
        _ = try repository.treeID(at: "main", under: "manifests")
        _ = try repository.log(from: "main", limit: 10)
        _ = try repository.commitInfo("main~1")
        _ = try repository.isAncestor(fixture.commits[0], of: "main")
        _ = try repository.note(for: "main")
        _ = try repository.readFile("manifests/vaults/prod.yaml", at: "main")
        try repository.fetch()
        // A mirror of the dirty repository is cloned from its object database alone.
        let mirror = try GitRepository.openOrClone(root, cacheDirectory: cache.path, mode: .mirror)
        #expect(try mirror.files(at: "main", under: "manifests", include: { $0.hasSuffix(".yaml") }) == files)
        try mirror.fetch()

        #expect(try snapshot(of: root) == before)
        #expect(!FileManager.default.fileExists(atPath: cache.path + "/.git"))
    }
}
