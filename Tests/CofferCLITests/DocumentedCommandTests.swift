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

    /// The pages whose shell blocks run: the README and every page under docs/.
    static let pages: [String] = {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("docs").path)) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }
    }()

    /// Every shell command of a page runs, in order, against a fresh reference platform, and exits as the page
    /// says (0 unless it documents another status); see ShellExample for how commands are read and run.
    @Test(arguments: pages)
    func everyShellCommandRunsAsDocumented(page: String) throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent(page), encoding: .utf8)
        let (commands, problems) = ShellExample.commands(page: page, text: text)
        for problem in problems {
            Issue.record(Comment(rawValue: problem))
        }
        for failure in try ShellExample.run(commands.filter { $0.excluded == nil }) {
            Issue.record(Comment(rawValue: failure))
        }
    }

    /// The pages hold the commands this test is for: it cannot pass by reading none.
    @Test func pagesHaveShellCommands() throws {
        #expect(Self.pages.contains("docs/cli.md") && Self.pages.contains("docs/world-file.md"))
        var counts: [String: Int] = [:]
        for page in Self.pages {
            let text = try String(contentsOf: packageRoot.appendingPathComponent(page), encoding: .utf8)
            counts[page] = ShellExample.commands(page: page, text: text).commands.filter { $0.excluded == nil }.count
        }
        #expect(counts["README.md", default: 0] >= 40, "\(counts)")
        #expect(counts["docs/cli.md", default: 0] >= 6, "\(counts)")
        #expect(counts["docs/world-file.md", default: 0] >= 3, "\(counts)")
    }

    /// How commands are read: sessions and scripts, continuations, documented exit statuses, exclusions and
    /// programs that are neither run nor excluded.
    @Test func commandsAreReadFromShellBlocks() {
        let page = """
            Text.

            ```sh
            coffer validate manifests/     # every problem at once
            coffer plan a.yaml \\
              b.yaml
                                           # ...exits 1: the plan has errors
            git init -q repo &&
              git -C repo add .
            make test                      # runs the suite
            # a comment line
            ```

            ```console
            $ coffer plan manifests/ --detailed-exitcode; echo $?
            Plan: 1 to add.
            2
            $ coffer backup vm-01
            error[Code]: failed
            $ echo $?
            1
            $ TOKEN=$(coffer get jobs --output json | jq -r .id) && curl "x/$(echo y)"
            ```

            ```text
            $ coffer pla<TAB>
            $ coffer schema
            ```
            """
        let (commands, problems) = ShellExample.commands(page: "p.md", text: page)
        #expect(commands.map(\.line) == [4, 5, 8, 10, 15, 18, 20, 22])
        #expect(commands.map(\.expectedStatus) == [0, 1, 0, 0, 2, 1, 0, 0])
        #expect(commands[1].text == "coffer plan a.yaml \\\n  b.yaml")
        #expect(commands[4].text == "coffer plan manifests/ --detailed-exitcode")
        #expect(commands.map { $0.excluded != nil } == [false, false, false, true, false, false, false, false])
        #expect(problems.count == 2)
        #expect(problems.contains { $0.hasPrefix("p.md:22:") && $0.contains("`curl`") })
        #expect(problems.contains { $0.hasPrefix("p.md:27:") && $0.contains("```text") })
        #expect(ShellExample.programs(in: "TOUR=$(mktemp -d) && export A=\"$TOUR/x\" B=1; source <(coffer x) 2>&1 | sudo tee f > /dev/null")
            == ["mktemp", "export", "source", "coffer", "sudo"])
    }

    /// A command that does not exit as documented fails the page, naming the page, the line, the command,
    /// its exit status and its standard error; the commands before it ran in the same shell.
    @Test func aFailingCommandIsReported() throws {
        let page = """
            ```sh
            export GREETING=hello
            coffer platform show > /dev/null
            coffer platform show --state "no-$GREETING"     # exits 0, wrongly
            coffer validate manifests/does-not-exist        # exits 65
            ```
            """
        let failures = try ShellExample.run(ShellExample.commands(page: "p.md", text: page).commands)
        #expect(failures.count == 1)
        let failure = try #require(failures.first)
        #expect(failure.hasPrefix("p.md:4: `coffer platform show --state \"no-$GREETING\"     # exits 0, wrongly` exited 1, documented 0"))
        #expect(failure.contains("no-hello"))
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
    @Test func theKeysColumnSaysWhatEachPointHolds() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let manifests = packageRoot.appendingPathComponent("manifests").path
        #expect(await run(["apply", "--state", state, "--auto-approve", manifests]).status == 0)
        // lnx-db-01 is BEK-only; win-app-01 has a KEK.
        for vm in ["lnx-db-01", "win-app-01"] { #expect(await run(["backup", vm, "--state", state]).status == 0) }
        func keys(_ vm: String) async -> [String] {
            let listed = await run(["get", "recovery-points", "--vm", vm, "--state", state])
            return listed.output.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").last.map(String.init) }
        }
        #expect(await keys("lnx-db-01") == ["BEK"])
        #expect(await keys("win-app-01") == ["BEK/KEK"])
        let json = await run(["get", "recovery-points", "--vm", "lnx-db-01", "--state", state, "--output", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let point = try #require((document["recoveryPoints"] as? [[String: Any]])?.first)
        #expect(point["hasKeyBackup"] as? Bool == true && point["hasKEKBackup"] as? Bool == false)
    }
}
