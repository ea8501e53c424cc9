import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

/// Command lines as the README and docs write them work as written.
@Suite struct DocumentedCommandTests {
    /// Runs coffer in process and returns its exit code and what it printed on standard output.
    func run(_ arguments: [String]) async -> (status: Int32, output: String) {
        let capture = ViewTests.Capture()
        let status = await Console.$current.withValue(capture.console) { await runCoffer(arguments) }
        return (status, capture.standardOutput)
    }

    @Test func permissionsAreAcceptedWithCommasOrSpaces() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        // As the README writes it: the principal by its display name, permissions joined by commas.
        let commas = await run([
            "platform", "keyvault", "set-access", "--state", state, "kv-app-eastus", "Backup Management Service",
            "--secret-permissions", "Get,List,Backup", "--key-permissions", "get, list",
        ])
        #expect(commas.status == 0)
        let listed = await run(["get", "access-policies", "--state", state, "--output", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any])
        let policies = try #require(document["accessPolicies"] as? [[String: Any]])
        let policy = try #require(policies.first { ($0["keyVault"] as? String) == "kv-app-eastus" && ($0["principalName"] as? String) == "Backup Management Service" })
        #expect(Set(policy["secretPermissions"] as? [String] ?? []) == ["Get", "List", "Backup"])
        #expect(Set(policy["keyPermissions"] as? [String] ?? []) == ["Get", "List"])
        // A misspelt permission is still a usage error.
        let wrong = await run(["platform", "keyvault", "set-access", "--state", state, "kv-app-eastus", "BackupManagementService", "--secret-permissions", "Get,Lsit"])
        #expect(wrong.status == CofferExitCode.usage.rawValue)
    }

    @Test func restoreOfLatestNamesThePointItResolved() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let manifests = packageRoot.appendingPathComponent("manifests").path
        #expect(await run(["apply", "--state", state, "--auto-approve", manifests]).status == 0)
        #expect(await run(["backup", "lnx-db-01", "--state", state]).status == 0)
        let points = await run(["get", "recovery-points", "--vm", "lnx-db-01", "--state", state, "--output", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(points.output.utf8)) as? [String: Any])
        let newest = try #require((document["recoveryPoints"] as? [[String: Any]])?.last?["id"] as? String)
        let restored = await run(["restore", "lnx-db-01", "--recovery-point", "latest", "--mode", "restore-disks", "--state", state])
        #expect(restored.status == 0)
        #expect(restored.output.hasPrefix("Restore of lnx-db-01 from recovery point \(newest) completed"))
        #expect(!restored.output.contains("recovery point latest"))
    }
}
