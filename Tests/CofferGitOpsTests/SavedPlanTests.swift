import CofferGit
import CofferGitOps
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

/// Writes the fixture's manifests (the vault with `tags`, and a policy keeping `days`) into `directory`.
private func writeManifests(in directory: String, days: Int = 30, tags: [String: String] = [:]) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try GitOpsFixture.vault(tags: tags).write(toFile: directory + "/vault.yaml", atomically: true, encoding: .utf8)
    try GitOpsFixture.policy(days: days).write(toFile: directory + "/policy.yaml", atomically: true, encoding: .utf8)
}

@Suite struct SavedPlanTests {
    /// `apply --plan` reads no manifests: it works after they were deleted, and applies what was planned.
    @Test func appliesAfterTheManifestFilesWereDeleted() async throws {
        let directory = try TemporaryDirectory()
        let provider = InMemoryProvider()
        let workspace = Workspace(stateDirectory: directory.path("state"), provider: provider)
        let manifests = directory.path("manifests")
        try writeManifests(in: manifests)
        let planned = try await workspace.plan(.paths([manifests]), options: PlanOptions(), lockTimeout: 0)
        let file = directory.path("tonight.plan")
        try SavedPlan(planned).write(to: file, workspace: workspace)
        try FileManager.default.removeItem(atPath: manifests)

        let saved = try SavedPlan.read(from: file, workspace: workspace)
        #expect(saved.desired == planned.desired)
        let applied = try #require(try await workspace.apply(.savedPlan(saved), lockTimeout: 0))
        #expect(applied.outcome.result == .succeeded)
        #expect(Set(provider.made.map(\.name)) == ["rsv-prod-eastus", "daily-standard-eastus"])
        let history = try workspace.history()
        #expect(history.count == 1)
        #expect(history.first?.source.paths == [manifests])
        #expect(history.first?.summary == PlanSummary(add: 2))
    }

    /// A change on the platform after the plan was saved makes it stale: refused, nothing applied.
    @Test func isRefusedWhenThePlatformChanged() async throws {
        let directory = try TemporaryDirectory()
        let provider = InMemoryProvider()
        let workspace = Workspace(stateDirectory: directory.path("state"), provider: provider)
        let manifests = directory.path("manifests")
        try writeManifests(in: manifests)
        _ = try await workspace.apply(.manifests(.paths([manifests]), PlanOptions()), lockTimeout: 0)
        try writeManifests(in: manifests, days: 45)
        let file = directory.path("a.plan")
        try SavedPlan(try await workspace.plan(.paths([manifests]), options: PlanOptions(), lockTimeout: 0)).write(to: file, workspace: workspace)
        try tamperPolicy(provider, days: 7)

        let saved = try SavedPlan.read(from: file, workspace: workspace)
        let error = try await #require(throws: GitOpsError.self) { try await workspace.apply(.savedPlan(saved), lockTimeout: 0) }
        #expect(error.code == .stalePlan)
        #expect(error.message == "the saved plan is stale: the platform changed since it was made")
        #expect(error.hint == "make a new plan with coffer plan --out FILE")
        #expect(try workspace.history().count == 1)
        #expect(policyDays(provider) == 7)
    }

    /// The values of sensitive tags are not in the file, yet the plan applies them; they stay with the
    /// state directory.
    @Test func keepsSensitiveValuesOutOfTheFile() async throws {
        let directory = try TemporaryDirectory()
        let provider = InMemoryProvider()
        let workspace = Workspace(stateDirectory: directory.path("state"), provider: provider)
        let manifests = directory.path("manifests")
        try writeManifests(in: manifests, tags: ["db-password": "hunter2-do-not-print", "team": "platform"])
        let file = directory.path("s.plan")
        try SavedPlan(try await workspace.plan(.paths([manifests]), options: PlanOptions(), lockTimeout: 0)).write(to: file, workspace: workspace)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!text.contains("hunter2"))
        #expect(text.contains("\"format_version\" : \"2\""))

        // Another state directory does not have the values.
        let elsewhere = Workspace(stateDirectory: directory.path("other"), provider: provider)
        let missing = try await #require(throws: GitOpsError.self) { try SavedPlan.read(from: file, workspace: elsewhere) }
        #expect(missing.code == .planFile)

        _ = try await workspace.apply(.savedPlan(try SavedPlan.read(from: file, workspace: workspace)), lockTimeout: 0)
        guard case .vault(let vault)? = provider.all.first(where: { $0.name == "rsv-prod-eastus" })?.spec else {
            Issue.record("no vault")
            return
        }
        #expect(vault.tags["db-password"] == "hunter2-do-not-print")
        #expect(vault.tags["team"] == "platform")
    }

    @Test(arguments: [
        ("{\"format_version\": \"1\", \"plan\": {}}", "is a coffer plan file of format version 1, which this coffer does not read"),
        ("{\"format_version\": \"2\"}", "is not a coffer plan file"),
        ("not json", "is not a coffer plan file"),
    ])
    func refusesFilesItDoesNotRead(contents: String, message: String) throws {
        let directory = try TemporaryDirectory()
        let workspace = Workspace(stateDirectory: directory.path("state"), provider: InMemoryProvider())
        let file = directory.path("x.plan")
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        let error = try #require(throws: GitOpsError.self) { try SavedPlan.read(from: file, workspace: workspace) }
        #expect(error.code == .planFile)
        #expect(error.message == "'\(file)' \(message)")
        let absent = try #require(throws: GitOpsError.self) { try SavedPlan.read(from: directory.path("absent.plan"), workspace: workspace) }
        #expect(absent.message == "cannot read the plan file '\(directory.path("absent.plan"))'")
    }

    /// A plan saved from a commit applies that commit, not where the branch went since, and notes it.
    @Test func aPlanFromACommitAppliesThatCommit() async throws {
        let world = try WatchWorld()
        let first = try world.commit(GitOpsFixture.files(days: 30), "Keep 30 days")
        let workspace = world.workspace
        let planned = try await workspace.plan(.git(repository: world.directory.path("origin"), ref: "main", path: "manifests"), options: PlanOptions(), lockTimeout: 0)
        #expect(planned.commit == first)
        let file = world.directory.path("git.plan")
        try SavedPlan(planned).write(to: file, workspace: workspace)
        try world.commit(GitOpsFixture.files(days: 45), "Keep 45 days")

        let applied = try #require(try await workspace.apply(.savedPlan(try SavedPlan.read(from: file, workspace: workspace)), lockTimeout: 0))
        #expect(applied.outcome.result == .succeeded)
        #expect(world.policyDays == 30)
        #expect(try workspace.history().first?.source.commit == first)
        #expect(try workspace.history().first?.source.summary == "Keep 30 days")
        #expect(try world.origin.note(for: first)?.hasPrefix("coffer apply succeeded at ") == true)
    }
}
