import CofferGitOps
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

/// A plan's diagnostics carry the line they point at from the manifests as they were loaded: for a plan of a
/// commit, the commit's text, whatever the working tree holds.
@Suite struct SnippetTests {
    static let protectedVM = """
        apiVersion: coffer.dev/v1
        kind: ProtectedVM
        metadata:
          name: ghost-01
        spec:
          vm: {resourceGroup: rg-app-eastus, name: ghost-01}
          vault: rsv-prod-eastus
          policy: daily-standard-eastus

        """

    @Test func aPlanOfACommitShowsTheCommittedLine() async throws {
        let world = try WatchWorld()
        var files = GitOpsFixture.files(days: 30)
        files["manifests/protected.yaml"] = Data(Self.protectedVM.utf8)
        try world.commit(files, "Protect a VM that does not exist")
        // The working tree (and the process's directory) hold something else at that path, or nothing.
        try FileManager.default.createDirectory(atPath: world.directory.path("origin/manifests"), withIntermediateDirectories: true)
        try "# edited after the commit\n".write(toFile: world.directory.path("origin/manifests/protected.yaml"), atomically: true, encoding: .utf8)

        let planned = try await world.workspace.plan(
            .git(repository: world.directory.path("origin"), ref: "main", path: "manifests"), options: PlanOptions(), lockTimeout: 0)
        let error = try #require(planned.plan.diagnostics.first { $0.severity == .error && $0.location?.file.hasSuffix("protected.yaml") == true })
        let location = try #require(error.location)
        let committed = Self.protectedVM.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(error.sourceLine == committed[location.line - 1])
        #expect(error.rendered().contains(committed[location.line - 1]))
    }

    @Test func aPlanOfPathsKeepsTheLinesAfterTheFilesChange() async throws {
        let directory = try TemporaryDirectory()
        let manifests = directory.path("manifests")
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        try GitOpsFixture.vault().write(toFile: manifests + "/vault.yaml", atomically: true, encoding: .utf8)
        try GitOpsFixture.policy(days: 30).write(toFile: manifests + "/policy.yaml", atomically: true, encoding: .utf8)
        try Self.protectedVM.write(toFile: manifests + "/protected.yaml", atomically: true, encoding: .utf8)
        let workspace = Workspace(stateDirectory: directory.path("state"), provider: InMemoryProvider())
        let planned = try await workspace.plan(.paths([manifests]), options: PlanOptions(), lockTimeout: 0)
        try FileManager.default.removeItem(atPath: manifests)
        let errors = planned.plan.diagnostics.filter { $0.severity == .error && $0.location != nil }
        #expect(!errors.isEmpty)
        for error in errors { #expect(error.sourceLine != nil) }
    }
}
