import CofferGit
import CofferTestSupport
import Foundation
import Testing

@Suite struct MirrorTests {
    @Test func aFileURLIsClonedIntoTheCacheAndReadFromThere() throws {
        let fixture = try ManifestRepository()
        try fixture.repository.createTag("v1", at: fixture.commits[1], message: "Release 1\n")
        try fixture.repository.createTag("light", at: fixture.commits[0])
        let cache = try TemporaryDirectory()

        let mirror = try GitRepository.openOrClone(fileURL(fixture.path), cacheDirectory: cache.path)
        #expect(mirror.isMirror)
        #expect(mirror.origin == fileURL(fixture.path))
        #expect(mirror.path.hasPrefix(cache.path + "/"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cache.path) == [
                (mirror.path as NSString).lastPathComponent
            ])
        #expect(try mirror.resolve("main") == fixture.commits[2])
        #expect(try mirror.resolve("HEAD") == fixture.commits[2])
        #expect(try mirror.resolve("v1") == fixture.commits[1])
        #expect(try mirror.resolve("light") == fixture.commits[0])
        #expect(try mirror.resolve(String(fixture.commits[1].prefix(8))) == fixture.commits[1])
        #expect(
            try mirror.files(at: "v1", under: "manifests") == fixture.repository.files(at: "v1", under: "manifests"))
        #expect(try mirror.log(from: "main", limit: 5) == fixture.repository.log(from: "main", limit: 5))

        // A second call opens the same mirror instead of cloning again.
        let again = try GitRepository.openOrClone(fileURL(fixture.path), cacheDirectory: cache.path)
        #expect(again.path == mirror.path)
        #expect(again.isMirror)
    }

    @Test func aPathIsOpenedInPlaceOrMirroredOnRequest() throws {
        let fixture = try ManifestRepository()
        let cache = try TemporaryDirectory()
        let inPlace = try GitRepository.openOrClone(fixture.path, cacheDirectory: cache.path)
        #expect(!inPlace.isMirror)
        #expect(inPlace.path == fixture.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).isEmpty)

        let mirror = try GitRepository.openOrClone(fixture.path, cacheDirectory: cache.path, mode: .mirror)
        #expect(mirror.isMirror)
        #expect(mirror.origin == fixture.path)
        #expect(try mirror.resolve("main") == fixture.commits[2])
        // The URL and the path of one repository are two origins, with a mirror each.
        let byURL = try GitRepository.openOrClone(fileURL(fixture.path), cacheDirectory: cache.path)
        #expect(byURL.path != mirror.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).count == 2)
    }

    @Test func fetchFollowsNewCommitsAForcePushTagsAndDeletedBranches() throws {
        let fixture = try ManifestRepository()
        let origin = fixture.repository
        try origin.commit(files: ["f.yaml": bytes("f\n")], message: "feature", branch: "feature", time: at(3))
        let cache = try TemporaryDirectory()
        let mirror = try GitRepository.openOrClone(fileURL(fixture.path), cacheDirectory: cache.path)
        let seen = try mirror.resolve("main")
        #expect(seen == fixture.commits[2])
        #expect(try mirror.treeID(at: "main", under: "manifests") == origin.treeID(at: "main", under: "manifests"))

        // New commits: nothing changes until the fetch.
        let fourth = try origin.commit(
            files: ["manifests/vaults/prod.yaml": bytes("kind: RecoveryServicesVault\nname: prod\nregion: westus\n")],
            message: "Move the vault", time: at(4))
        try origin.createTag("v2", at: fourth)
        #expect(try mirror.resolve("main") == seen)
        #expect(throws: GitError.self) { try mirror.resolve("v2") }
        try mirror.fetch()
        #expect(try mirror.resolve("main") == fourth)
        #expect(try mirror.resolve("v2") == fourth)
        #expect(try mirror.isAncestor(seen, of: "main"))
        #expect(
            texts(try mirror.files(at: "main", under: "manifests")) == [
                "vaults/prod.yaml": "kind: RecoveryServicesVault\nname: prod\nregion: westus\n"
            ])
        #expect(try mirror.treeID(at: "main", under: "manifests") != mirror.treeID(at: seen, under: "manifests"))

        // A force-push: main is rewritten from the first commit; the mirror follows and sees the rewrite.
        let rewritten = try origin.commit(
            files: ["manifests/vaults/dr.yaml": bytes("kind: RecoveryServicesVault\nname: dr\n")],
            message: "Start over", branch: "main", parents: [fixture.commits[0]], time: at(5))
        try origin.deleteBranch("feature")
        try mirror.fetch()
        #expect(try mirror.resolve("main") == rewritten)
        #expect(try !mirror.isAncestor(fourth, of: "main"))
        #expect(try mirror.isAncestor(fixture.commits[0], of: "main"))
        #expect(try mirror.files(at: "main", under: "manifests").map(\.path) == ["vaults/dr.yaml"])
        // The old commit is still readable by id, and the deleted branch is pruned.
        #expect(try mirror.resolve(fourth) == fourth)
        let pruned = try #require(throws: GitError.self) { try mirror.resolve("feature") }
        #expect(pruned.code == .notFound)
        #expect(pruned.message.contains("pushed"))

        // A reopened mirror keeps what was fetched.
        let reopened = try GitRepository.openOrClone(fileURL(fixture.path), cacheDirectory: cache.path)
        #expect(try reopened.resolve("main") == rewritten)
    }

    @Test func theMirrorsHeadFollowsTheOriginsDefaultBranch() throws {
        let directory = try TemporaryDirectory()
        let origin = try GitRepository.create(at: directory.path("origin"))
        try origin.setHead(branch: "trunk")
        let trunk = try origin.commit(files: ["a.yaml": bytes("a\n")], message: "trunk")
        let mirror = try GitRepository.openOrClone(
            fileURL(directory.path("origin")), cacheDirectory: directory.path("cache"))
        #expect(try mirror.resolve("HEAD") == trunk)
        let other = try origin.commit(
            files: ["b.yaml": bytes("b\n")], message: "release", branch: "release", parents: [])
        try origin.setHead(branch: "release")
        try mirror.fetch()
        #expect(try mirror.resolve("HEAD") == other)
    }

    @Test func anEmptyOriginClonesAndResolvesWithAClearErrorUntilItHasCommits() throws {
        let directory = try TemporaryDirectory()
        let origin = try GitRepository.create(at: directory.path("origin"))
        try origin.setHead(branch: "main")
        let mirror = try GitRepository.openOrClone(
            fileURL(directory.path("origin")), cacheDirectory: directory.path("cache"))
        let error = try #require(throws: GitError.self) { try mirror.resolve("main") }
        #expect(error.code == .emptyRepository)
        #expect(error.message.contains("push them"))
        let first = try origin.commit(files: ["a.yaml": bytes("a\n")], message: "first")
        try mirror.fetch()
        #expect(try mirror.resolve("main") == first)
        #expect(try mirror.resolve("HEAD") == first)
    }

    @Test func aMissingOriginIsAClearErrorAndLeavesNothingInTheCache() throws {
        let directory = try TemporaryDirectory()
        let cache = directory.path("cache")
        let error = try #require(throws: GitError.self) {
            try GitRepository.openOrClone(fileURL(directory.path("gone")), cacheDirectory: cache)
        }
        #expect(error.code == .notARepository)
        let remote = try #require(throws: GitError.self) {
            try GitRepository.openOrClone(
                "file:///nonexistent/\(UUID().uuidString)", cacheDirectory: cache, mode: .mirror)
        }
        #expect(remote.code == .notARepository)
        #expect(remote.message.contains("is not a git repository"))
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        #expect(entries.isEmpty)
    }

    @Test func aFetchFromAnOriginThatWentAwayIsARemoteError() throws {
        let fixture = try ManifestRepository()
        let cache = try TemporaryDirectory()
        let url = fileURL(fixture.path)
        let mirror = try GitRepository.openOrClone(url, cacheDirectory: cache.path)
        try FileManager.default.removeItem(atPath: fixture.path)
        let error = try #require(throws: GitError.self) { try mirror.fetch() }
        #expect(error.code == .remote)
        #expect(error.function == "git_remote_fetch")
        #expect(error.message.contains("could not fetch from '\(url)'"))
        // What was fetched before stays readable.
        #expect(try mirror.resolve("main") == fixture.commits[2])
    }

    @Test func aCacheFolderHoldingSomethingElseIsRefused() throws {
        let first = try ManifestRepository()
        let cache = try TemporaryDirectory()
        let mirror = try GitRepository.openOrClone(fileURL(first.path), cacheDirectory: cache.path)
        // Put a mirror of another origin where the first one's belongs.
        let second = try ManifestRepository()
        let other = try GitRepository.openOrClone(fileURL(second.path), cacheDirectory: cache.path)
        let mirrorPath = mirror.path
        try FileManager.default.removeItem(atPath: mirrorPath)
        try FileManager.default.moveItem(atPath: other.path, toPath: mirrorPath)
        let error = try #require(throws: GitError.self) {
            try GitRepository.openOrClone(fileURL(first.path), cacheDirectory: cache.path)
        }
        #expect(error.code == .notARepository)
        #expect(error.message.contains("remove it"))
    }
}
