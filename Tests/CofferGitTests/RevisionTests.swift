import CofferGit
import CofferTestSupport
import Foundation
import Testing

@Suite struct RevisionTests {
    @Test func resolvesBranchesTagsAndIdsToCommits() throws {
        let fixture = try ManifestRepository()
        let repository = fixture.repository
        let (first, second, third) = (fixture.commits[0], fixture.commits[1], fixture.commits[2])
        let annotated = try repository.createTag("v1", at: second, message: "Release 1\n")
        try repository.createTag("light", at: first)
        try repository.commit(files: ["x.yaml": bytes("x\n")], message: "other", branch: "staging", parents: [first])

        #expect(annotated != second)  // the annotated tag is an object of its own
        #expect(try repository.resolve("main") == third)
        #expect(try repository.resolve("refs/heads/main") == third)
        #expect(try repository.resolve("HEAD") == third)
        #expect(try repository.resolve("main~2") == first)
        #expect(try repository.resolve("v1") == second)
        #expect(try repository.resolve("refs/tags/v1") == second)
        #expect(try repository.resolve(annotated) == second)
        #expect(try repository.resolve("light") == first)
        #expect(try repository.resolve(second) == second)
        #expect(try repository.resolve(String(second.prefix(10))) == second)
        #expect(try repository.resolve("staging~1") == first)
        #expect(try repository.files(at: "v1", under: "manifests/vms").map(\.path) == ["web/web-01.yaml"])
        #expect(
            try repository.files(at: "light", under: "manifests").map(\.path)
                == ["notes.txt", "policies/daily.yml", "vaults/prod.yaml"])
    }

    @Test func unknownRevisionsAreClearErrors() throws {
        let fixture = try ManifestRepository()
        let repository = fixture.repository
        for name in ["no-such-branch", "v9", "0123456789abcdef0123456789abcdef01234567", "main~9"] {
            let error = try #require(throws: GitError.self) { try repository.resolve(name) }
            #expect(error.code == .notFound, "\(name): \(error)")
            #expect(error.message.contains("'\(name)'"))
            #expect(error.message.contains("check the name"))
            #expect(error.function == "git_revparse_single")
        }
        let invalid = try #require(throws: GitError.self) { try repository.resolve("main@{") }
        #expect(invalid.code == .invalidRevision)
        let empty = try #require(throws: GitError.self) { try repository.resolve("  ") }
        #expect(empty.code == .invalidRevision)
        #expect(throws: GitError.self) { try repository.files(at: "no-such-branch", under: "manifests") }
        #expect(throws: GitError.self) { try repository.commitInfo("no-such-branch") }
    }

    @Test func aRevisionThatIsNotACommitIsRefused() throws {
        let fixture = try ManifestRepository()
        for name in ["main:manifests", "main:README.md", "main^{tree}"] {
            let error = try #require(throws: GitError.self) { try fixture.repository.resolve(name) }
            #expect(error.code == .notACommit, "\(name): \(error)")
            #expect(error.message.contains("not a commit"))
            #expect(error.message.contains("give a branch, a tag or a commit id"))
        }
    }

    @Test func anEmptyRepositoryIsAClearError() throws {
        let directory = try TemporaryDirectory()
        let repository = try GitRepository.create(at: directory.path("empty"))
        for name in ["HEAD", "main", "master"] {
            let error = try #require(throws: GitError.self) { try repository.resolve(name) }
            #expect(error.code == .emptyRepository, "\(name): \(error)")
            #expect(error.message.contains("has no commits yet"))
            #expect(error.message.contains("commit the manifests"))
        }
        #expect(throws: GitError.self) { try repository.files(at: "HEAD", under: nil) }
        #expect(throws: GitError.self) { try repository.log(from: "HEAD", limit: 5) }
    }

    @Test func openingSomethingThatIsNotARepositoryIsAClearError() throws {
        let directory = try TemporaryDirectory()
        let error = try #require(throws: GitError.self) { try GitRepository.open(at: directory.path("nothing")) }
        #expect(error.code == .notARepository)
        #expect(error.message.contains("is not a git repository"))
        let plain = try #require(throws: GitError.self) {
            try GitRepository.openOrClone(directory.path, cacheDirectory: directory.path("cache"))
        }
        #expect(plain.code == .notARepository)
    }

    @Test func commitInfoCopiesAuthorTimeAndMessage() throws {
        let directory = try TemporaryDirectory()
        let repository = try GitRepository.create(at: directory.path("repo"))
        let id = try repository.commit(
            files: ["a.yaml": bytes("a\n")], message: "Protect the web tier\n\nWith a daily policy.\n",
            author: "Ada Lovelace", email: "ada@example.com", time: at(5))
        let info = try repository.commitInfo("HEAD")
        #expect(
            info
                == CommitInfo(
                    id: id, authorName: "Ada Lovelace", authorEmail: "ada@example.com", time: at(5),
                    summary: "Protect the web tier", message: "Protect the web tier\n\nWith a daily policy.\n"))
        let decoded = try JSONDecoder().decode(CommitInfo.self, from: JSONEncoder().encode(info))
        #expect(decoded == info)
    }

    @Test func logListsReachableCommitsNewestFirstUpToTheLimit() throws {
        let fixture = try ManifestRepository()
        let repository = fixture.repository
        let log = try repository.log(from: "main", limit: 10)
        #expect(log.map(\.id) == fixture.commits.reversed())
        #expect(
            log.map(\.summary) == ["Remove the daily policy", "Change the vault, protect web-01", "Add the manifests"])
        #expect(try repository.log(from: "main", limit: 2).map(\.id) == [fixture.commits[2], fixture.commits[1]])
        #expect(try repository.log(from: "main~1", limit: 10).map(\.id) == [fixture.commits[1], fixture.commits[0]])
        #expect(try repository.log(from: "main", limit: 0).isEmpty)

        // A merge: both parents' histories, newest first.
        let side = try repository.commit(
            files: ["side.yaml": bytes("s\n")], message: "side", branch: "side", parents: [fixture.commits[0]],
            time: at(3))
        let merge = try repository.commit(
            files: ["side.yaml": bytes("s\n")], message: "merge", branch: "main", parents: ["main", side], time: at(4))
        #expect(
            try repository.log(from: "main", limit: 10).map(\.id)
                == [merge, side, fixture.commits[2], fixture.commits[1], fixture.commits[0]])
    }

    @Test func isAncestorFollowsHistoryAndSeesARewrite() throws {
        let fixture = try ManifestRepository()
        let repository = fixture.repository
        let (first, second, third) = (fixture.commits[0], fixture.commits[1], fixture.commits[2])
        #expect(try repository.isAncestor(first, of: third))
        #expect(try repository.isAncestor(second, of: "main"))
        #expect(try repository.isAncestor(third, of: third))
        #expect(try !repository.isAncestor(third, of: first))

        // Rewrite main: a new commit on top of the first one replaces the second and third.
        let rewritten = try repository.commit(
            files: ["manifests/a.yaml": bytes("a\n")], message: "rewrite", branch: "main", parents: [first])
        #expect(try repository.resolve("main") == rewritten)
        #expect(try !repository.isAncestor(third, of: "main"))
        #expect(try repository.isAncestor(first, of: "main"))
        try repository.setBranch("main", to: third)
        #expect(try repository.resolve("main") == third)
        #expect(try repository.isAncestor(second, of: "main"))
        // A full id the repository has never held is an ancestor of nothing; a bad name is an error.
        #expect(try !repository.isAncestor("0123456789abcdef0123456789abcdef01234567", of: "main"))
        #expect(throws: GitError.self) { try repository.isAncestor("no-such-branch", of: "main") }
    }
}
