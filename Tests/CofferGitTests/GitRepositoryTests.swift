import CofferGit
import CofferTestSupport
import Foundation
import Testing

@Suite struct GitRepositoryTests {
    @Test func readsAFileAtHeadOfARepositoryTheTestCreates() throws {
        let directory = try TemporaryDirectory()
        let created = try GitRepository.create(at: directory.path("repo"))
        let first = try created.commit(files: ["manifests/vault.yaml": Data("kind: A\n".utf8)], message: "first")
        let second = try created.commit(files: ["manifests/vault.yaml": Data("kind: B\n".utf8)], message: "second")

        let repository = try GitRepository.open(at: directory.path("repo"))
        #expect(try repository.resolve("HEAD") == second)
        #expect(try repository.resolve("HEAD~1") == first)
        #expect(
            String(decoding: try repository.readFile("manifests/vault.yaml", at: "HEAD"), as: UTF8.self) == "kind: B\n")
        #expect(
            String(decoding: try repository.readFile("manifests/vault.yaml", at: first), as: UTF8.self) == "kind: A\n")
        // No working directory was written: the commit lives in the object database only.
        #expect(!FileManager.default.fileExists(atPath: directory.path("repo/manifests/vault.yaml")))
        let folder = try #require(throws: GitError.self) { try repository.readFile("manifests", at: "HEAD") }
        #expect(folder.code == .unsupportedEntry)
        let missing = try #require(throws: GitError.self) { try repository.readFile("manifests/x.yaml", at: "HEAD") }
        #expect(missing.code == .notFound)
    }

    @Test func missingRevisionAndMissingRepositoryAreClearErrors() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: GitError.self) { try GitRepository.open(at: directory.path("nothing")) }
        let repository = try GitRepository.create(at: directory.path("repo"))
        try repository.commit(files: ["a": Data("1".utf8)], message: "one")
        let error = try #require(throws: GitError.self) { try repository.resolve("no-such-branch") }
        #expect(error.code == .notFound)
        #expect(error.function == "git_revparse_single")
        #expect(error.description.contains("git_revparse_single"))
    }

    @Test func theBuilderWritesBranchesRootCommitsAndDetachedHeads() throws {
        let directory = try TemporaryDirectory()
        let repository = try GitRepository.create(at: directory.path("repo"))
        try repository.setHead(branch: "main")
        let first = try repository.commit(files: ["a": bytes("1")], message: "one")
        let root = try repository.commit(files: ["b": bytes("2")], message: "root", branch: "orphan", parents: [])
        #expect(try repository.log(from: "orphan", limit: 5).map(\.id) == [root])
        #expect(try repository.resolve("main") == first)
        let onTop = try repository.commit(files: ["a": bytes("3")], message: "two", branch: "main")
        #expect(try repository.log(from: "main", limit: 5).map(\.id) == [onTop, first])
        try repository.setBranch("copy", to: "main~1")
        #expect(try repository.resolve("copy") == first)
        let tag = try #require(throws: GitError.self) { try repository.createTag("t", at: "nope") }
        #expect(tag.code == .notFound)
        try repository.createTag("t", at: first)
        #expect(throws: GitError.self) { try repository.createTag("t", at: onTop) }
        try repository.createTag("t", at: onTop, force: true)
        #expect(try repository.resolve("t") == onTop)
    }
}
