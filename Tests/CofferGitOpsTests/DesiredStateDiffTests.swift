import CofferGit
import CofferGitOps
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

@Suite struct DesiredStateDiffTests {
    /// A repository whose first commit holds the shipped manifests and whose second keeps 45 days.
    private func repository(in directory: TemporaryDirectory) throws -> (repo: GitRepository, path: String, first: String, second: String) {
        let repo = try GitRepository.create(at: directory.path("repo"))
        let first = try repo.commit(files: try ShippedManifests.files(), message: "Reference desired state", branch: "main")
        let second = try repo.commit(files: try ShippedManifests.keepingDailyPoints45Days(), message: "Keep daily points 45 days", branch: "main")
        return (repo, directory.path("repo"), first, second)
    }

    @Test func isSemanticNotLineByLine() async throws {
        let directory = try TemporaryDirectory()
        let (repository, path, first, second) = try repository(in: directory)
        let diff = try DesiredStateDiff.between(first, and: second, in: repository, repository: path, path: "manifests")
        #expect(diff.added.isEmpty && diff.removed.isEmpty)
        #expect(diff.changed.map(\.address.name) == ["daily-standard-eastus", "daily-standard-westeurope", "hourly-enhanced-eastus", "hourly-enhanced-westeurope"])
        #expect(diff.changed.allSatisfy { $0.changes.map(\.path) == ["retention.daily.count"] })
        #expect(diff.changed.first?.changes.first.map { [$0.before, $0.after] } == [.number(30), .number(45)])

        // Reformatting and moving documents between files is no difference at all.
        var files: [String: Data] = [:]
        for file in try repository.files(at: second, under: "manifests") { files["manifests/\(file.path)"] = Data(file.contents) }
        let all = files.keys.sorted().map { String(decoding: files[$0]!, as: UTF8.self) }.joined(separator: "\n---\n")
        let third = try repository.commit(files: ["manifests/everything.yaml": Data(all.utf8)], message: "One file", branch: "main")
        #expect(try DesiredStateDiff.between(second, and: third, in: repository, repository: path, path: "manifests").isEmpty)
    }

    @Test func invalidManifestsAtARevisionAreAnError() async throws {
        let directory = try TemporaryDirectory()
        let (repository, path, first, _) = try repository(in: directory)
        let broken = try repository.commit(files: ["manifests/x.yaml": Data("kind: [unclosed\n".utf8)], message: "Break", branch: "main")
        let error = try await #require(throws: GitOpsError.self) {
            try DesiredStateDiff.between(first, and: broken, in: repository, repository: path, path: "manifests")
        }
        #expect(error.code == .invalidManifests)
        #expect(error.message == "the manifests at \(broken) are invalid")
        #expect(!error.diagnostics.isEmpty)
    }

    /// Added, removed and changed resources (labels too), and the JSON document of all three.
    @Test func documentListsAddedRemovedAndChanged() async throws {
        let vault = DesiredResource(
            address: ResourceAddress(kind: .recoveryServicesVault, name: "rsv"),
            spec: .vault(VaultSpec(resourceGroup: "rg", location: "eastus")), labels: ["team": "a/b"])
        var relabelled = vault
        relabelled.labels = ["team": "c"]
        let gone = DesiredResource(
            address: ResourceAddress(kind: .recoveryServicesVault, name: "old"), spec: .vault(VaultSpec(resourceGroup: "rg", location: "eastus")))
        let new = DesiredResource(
            address: ResourceAddress(kind: .recoveryServicesVault, name: "new"), spec: .vault(VaultSpec(resourceGroup: "rg", location: "westus")))
        let diff = try DesiredStateDiff(from: DesiredState(resources: [vault, gone]), to: DesiredState(resources: [relabelled, new]))
        #expect(diff.added.map(\.address.name) == ["new"])
        #expect(diff.removed.map(\.address.name) == ["old"])
        #expect(diff.changed.map(\.address.name) == ["rsv"])
        #expect(diff.changed.first?.changes.map(\.path) == ["metadata.labels"])

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(diff.document), as: UTF8.self)
        #expect(
            json == #"{"added":["RecoveryServicesVault\/new"],"changed":[{"address":"RecoveryServicesVault\/rsv","changes":[{"after":{"team":"c"},"before":{"team":"a\/b"},"path":"metadata.labels"}]}],"format_version":"1","removed":["RecoveryServicesVault\/old"]}"#)
    }
}
