import CofferGit
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

@Suite(.serialized) struct GitCommandTests {
    /// A repository whose first commit holds the shipped manifests and whose second keeps 45 days.
    private func repository(in directory: TemporaryDirectory) throws -> (path: String, first: String, second: String) {
        let repo = try GitRepository.create(at: directory.path("repo"))
        var files: [String: Data] = [:]
        let shipped = packageRoot.appendingPathComponent("manifests")
        for name in try FileManager.default.contentsOfDirectory(atPath: shipped.path) where name.hasSuffix(".yaml") {
            files["manifests/\(name)"] = try Data(contentsOf: shipped.appendingPathComponent(name))
        }
        let first = try repo.commit(files: files, message: "Reference desired state", branch: "main")
        let policies = String(decoding: files["manifests/policies.yaml"]!, as: UTF8.self)
        files["manifests/policies.yaml"] = Data(policies.replacingOccurrences(of: "count: 30", with: "count: 45").utf8)
        let second = try repo.commit(files: files, message: "Keep daily points 45 days", branch: "main")
        return (directory.path("repo"), first, second)
    }

    @Test func applyFromCommitsRecordsThemAndRollbackGoesBack() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let (repo, first, second) = try repository(in: directory)

        #expect(await runCoffer(["apply", "--state", state, "--auto-approve", "--repo", repo, "--ref", first, "--path", "manifests"]) == 0)
        #expect(await runCoffer(["apply", "--state", state, "--auto-approve", "--repo", repo, "--ref", "main", "--path", "manifests"]) == 0)
        let history = try FileStateStore(stateDirectory: state).history()
        #expect(history.map(\.source.commit) == [first, second])
        #expect(history.last?.source.summary == "Keep daily points 45 days")
        #expect(history.last?.summary.change == 4)
        #expect(try GitRepository.open(at: repo).note(for: second)?.contains("coffer apply succeeded") == true)

        #expect(await runCoffer(["rollback", "--state", state, String(first.prefix(10)), "--auto-approve"]) == 0)
        let after = try FileStateStore(stateDirectory: state).history()
        #expect(after.count == 3)
        #expect(after.last?.source.commit == first)
        #expect(after.last?.summary.change == 4)
        #expect(await runCoffer(["plan", "--state", state, "--repo", repo, "--ref", first, "--path", "manifests", "--detailed-exitcode"]) == 0)
        #expect(await runCoffer(["rollback", "--state", state, "0000000", "--auto-approve"]) == 1)
    }

    @Test func diffIsSemanticNotLineByLine() async throws {
        let directory = try TemporaryDirectory()
        let (repo, first, second) = try repository(in: directory)
        let old = try DesiredStateDiffTests.load(repo: repo, commit: first, state: directory.path("state"))
        let new = try DesiredStateDiffTests.load(repo: repo, commit: second, state: directory.path("state"))
        let diff = try DesiredStateDiff(from: old, to: new)
        #expect(diff.added.isEmpty && diff.removed.isEmpty)
        #expect(diff.changed.map(\.0.name) == ["daily-standard-eastus", "daily-standard-westeurope", "hourly-enhanced-eastus", "hourly-enhanced-westeurope"])
        #expect(diff.changed.allSatisfy { $0.1.map(\.path) == ["retention.daily.count"] })
        #expect(diff.text(terminal: .plain).contains("~ retention.daily.count: 30 -> 45"))
        let json = try diff.json()
        #expect(json["format_version"] as? String == "1")

        // Reformatting and moving documents between files is no difference at all.
        let repository = try GitRepository.open(at: repo)
        var files: [String: Data] = [:]
        for file in try repository.files(at: second, under: "manifests") { files["manifests/\(file.path)"] = Data(file.contents) }
        let all = files.keys.sorted().map { String(decoding: files[$0]!, as: UTF8.self) }.joined(separator: "\n---\n")
        let third = try repository.commit(files: ["manifests/everything.yaml": Data(all.utf8)], message: "One file", branch: "main")
        let merged = try DesiredStateDiffTests.load(repo: repo, commit: third, state: directory.path("state"))
        #expect(try DesiredStateDiff(from: new, to: merged).isEmpty)
        #expect(await runCoffer(["diff", "--repo", repo, "--path", "manifests", "--state", directory.path("state"), first, second]) == 0)
    }
}

enum DesiredStateDiffTests {
    static func load(repo: String, commit: String, state: String) throws -> DesiredState {
        let loaded = try ManifestSource.git(repository: repo, ref: commit, path: "manifests").load(stateDirectory: state)
        return try #require(loaded.result.state, "invalid manifests: \(loaded.result.diagnostics.map { $0.rendered() })")
    }
}
