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
        let first = try repo.commit(files: try ShippedManifests.files(), message: "Reference desired state", branch: "main")
        let second = try repo.commit(files: try ShippedManifests.keepingDailyPoints45Days(), message: "Keep daily points 45 days", branch: "main")
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

    /// `coffer diff` prints the semantic difference as text, and as JSON laid out as before the document
    /// became a value.
    @Test func diffPrintsTheSemanticDifference() async throws {
        let directory = try TemporaryDirectory()
        let (repo, first, second) = try repository(in: directory)
        let arguments = ["diff", "--repo", repo, "--path", "manifests", "--state", directory.path("state"), first, second]
        let text = try runCofferProcess(arguments)
        #expect(text.status == 0)
        #expect(text.output.contains("~ BackupPolicy/daily-standard-eastus\n    ~ retention.daily.count: 30 -> 45\n"))
        #expect(text.output.hasSuffix("0 added, 4 changed, 0 removed.\n"))
        let json = try runCofferProcess(arguments + ["--output", "json"])
        #expect(json.status == 0)
        let changed = ["daily-standard-eastus", "daily-standard-westeurope", "hourly-enhanced-eastus", "hourly-enhanced-westeurope"].map { name in
            """
                {
                  "address" : "BackupPolicy/\(name)",
                  "changes" : [
                    {
                      "after" : 45,
                      "before" : 30,
                      "path" : "retention.daily.count"
                    }
                  ]
                }
            """
        }
        #expect(
            json.output == """
                {
                  "added" : [

                  ],
                  "changed" : [
                \(changed.joined(separator: ",\n"))
                  ],
                  "format_version" : "1",
                  "removed" : [

                  ]
                }

                """)
    }
}
