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
        #expect(String(decoding: try repository.readFile("manifests/vault.yaml", at: "HEAD"), as: UTF8.self) == "kind: B\n")
        #expect(String(decoding: try repository.readFile("manifests/vault.yaml", at: first), as: UTF8.self) == "kind: A\n")
        // No working directory was written: the commit lives in the object database only.
        #expect(!FileManager.default.fileExists(atPath: directory.path("repo/manifests/vault.yaml")))
    }

    @Test func missingRevisionAndMissingRepositoryAreClearErrors() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: GitError.self) { try GitRepository.open(at: directory.path("nothing")) }
        let repository = try GitRepository.create(at: directory.path("repo"))
        try repository.commit(files: ["a": Data("1".utf8)], message: "one")
        let error = try #require(throws: GitError.self) { try repository.resolve("no-such-branch") }
        #expect(error.code == .notFound)
        #expect(error.function == "git_revparse_single")
    }
}
