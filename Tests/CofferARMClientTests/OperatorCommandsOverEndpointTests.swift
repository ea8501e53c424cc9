import CofferTestSupport
import Foundation
import Testing

/// The operator commands through `--endpoint` (a `coffer serve` process of the reference world), beside the
/// embedded platform on the same state: `get` shows the same tables for every kind, Backup now, restore,
/// restore-keys and verify do the work over HTTP and the embedded platform sees it, what ARM cannot do is
/// refused before anything runs, and a Backup now whose connection drops after serve carried it out is not
/// sent again.
@Suite(.serialized) struct OperatorCommandsOverEndpointTests {
    struct Setup {
        var directory: TemporaryDirectory
        var state: String
        var serve: RunningServe
        var endpoint: [String]

        func run(_ arguments: [String], remote: Bool) async throws -> CofferRun {
            try await CofferRun.run(arguments + ["--state", state] + (remote ? endpoint : []))
        }

        /// The same command both ways: the embedded run, then the one through the endpoint.
        func both(_ arguments: [String]) async throws -> (embedded: CofferRun, remote: CofferRun) {
            (try await run(arguments, remote: false), try await run(arguments, remote: true))
        }
    }

    /// The reference world with the shipped manifests applied, served by a `coffer serve` process.
    static func setUp(serveArguments: [String] = []) async throws -> Setup {
        let directory = try TemporaryDirectory()
        let state = try PristineWorld.reference.copy(into: directory)
        let applied = try await CofferRun.run(
            ["apply", packageRoot.appendingPathComponent("manifests").path, "--auto-approve", "--state", state])
        #expect(applied.status == 0, "apply: \(applied.error)")
        let serve = try await RunningServe.startProcess(state: state, arguments: serveArguments)
        let token = directory.path("token")
        try serve.token.write(toFile: token, atomically: true, encoding: .utf8)
        return Setup(directory: directory, state: state, serve: serve, endpoint: ["--endpoint", serve.endpoint, "--token-file", token, "--ca-file", serve.caPath])
    }

    /// A JSON document's array under `key`.
    static func array(_ text: String, _ key: String) throws -> [[String: Any]] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text.prefix(300))")
        return try #require(object[key] as? [[String: Any]], "no array '\(key)' in \(text.prefix(300))")
    }

    @Test func getBackupRestoreRestoreKeysAndVerifyWorkOverTheEndpoint() async throws {
        let setup = try await Self.setUp()
        defer { withExtendedLifetime(setup.directory) {} }
        do {
            // Every kind lists the same over ARM as embedded.
            for kind in ["vaults", "policies", "protected-vms", "access-policies", "role-assignments"] {
                let (embedded, remote) = try await setup.both(["get", kind])
                #expect(embedded.status == 0 && remote.status == 0, "get \(kind): \(embedded.error) \(remote.error)")
                #expect(remote.output == embedded.output, "get \(kind) differs:\n\(embedded.output)\n---\n\(remote.output)")
            }

            // Backup now over HTTP: the job and its recovery point are the platform's.
            let backup = try await setup.run(["backup", "lnx-db-01", "--output", "json"], remote: true)
            #expect(backup.status == 0, "backup: \(backup.output) \(backup.error)")
            let job = try #require(try JSONSerialization.jsonObject(with: Data(backup.output.utf8)) as? [String: Any])
            #expect(job["status"] as? String == "Completed")
            let point = try #require(job["recoveryPoint"] as? String, "no recovery point in \(backup.output)")
            let (embeddedPoints, remotePoints) = try await setup.both(["get", "recovery-points", "--vm", "lnx-db-01"])
            #expect(embeddedPoints.output.contains(point))
            #expect(remotePoints.output == embeddedPoints.output, "recovery points differ:\n\(embeddedPoints.output)\n---\n\(remotePoints.output)")
            let (embeddedJobs, remoteJobs) = try await setup.both(["get", "jobs", "--output", "json"])
            let ids = { (text: String) throws -> [String] in try Self.array(text, "jobs").map { "\($0["id"] ?? "") \($0["operation"] ?? "") \($0["status"] ?? "")" } }
            #expect(try ids(remoteJobs.output) == ids(embeddedJobs.output))
            #expect(try ids(embeddedJobs.output).contains("\(job["id"] ?? "") Backup Completed"))

            // verify and restore-keys answer as the embedded platform does.
            let verified = try await setup.both(["verify", "lnx-db-01", "--recovery-point", point, "--output", "json"])
            #expect(verified.remote.status == 0, "verify: \(verified.remote.error)")
            #expect(verified.remote.output == verified.embedded.output)
            let keys = try await setup.both(["restore-keys", "lnx-db-01", "--recovery-point", point, "--output", "json"])
            #expect(keys.remote.status == 0, "restore-keys: \(keys.remote.error)")
            #expect(keys.remote.output == keys.embedded.output)
            #expect(try Self.array(keys.remote.output, "keys").count == 1)

            // Restore the disks over HTTP: the restored disks are there, read back with their sizes.
            let restored = try await setup.run(
                ["restore", "lnx-db-01", "--recovery-point", "latest", "--mode", "restore-disks", "--output", "json"], remote: true)
            #expect(restored.status == 0, "restore: \(restored.output) \(restored.error)")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(restored.output.utf8)) as? [String: Any])
            let disks = try #require(result["disks"] as? [[String: Any]])
            #expect(disks.count == 2)
            #expect(disks.allSatisfy { ($0["sizeGiB"] as? Int ?? 0) > 0 && ($0["bekSecretURL"] as? String) != nil })
            let shown = try await setup.run(["platform", "show", "--output", "json"], remote: false)
            for disk in disks { #expect(shown.output.contains(disk["name"] as? String ?? "?"), "the platform has no \(disk["name"] ?? "")") }

            // What ARM cannot carry is refused before anything runs; an unknown VM is the platform's error.
            let files = try await setup.run(
                ["restore", "lnx-db-01", "--recovery-point", point, "--mode", "files", "--disk", "os", "--offset", "0", "--length", "4K"], remote: true)
            #expect(files.status == 64 && files.error.contains("--mode files"), "\(files.error)")
            let unknown = try await setup.run(["backup", "no-such-vm"], remote: true)
            #expect(unknown.status == 1 && unknown.error.contains("no-such-vm"), "\(unknown.error)")
        } catch {
            await setup.serve.stop()
            throw error
        }
        await setup.serve.stop()
    }

    @Test func aBackupWhoseAnswerIsLostIsNotSentTwice() async throws {
        let setup = try await Self.setUp(serveArguments: ["--faults", "seed=3,drop-after=1,only=writes"])
        defer { withExtendedLifetime(setup.directory) {} }
        let backup = try await setup.run(["backup", "lnx-web-01"], remote: true)
        await setup.serve.stop()
        #expect(backup.status == 1, "backup: \(backup.output) \(backup.error)")
        #expect(backup.error.contains("OutcomeUnknown") && backup.error.contains("coffer get jobs"), "\(backup.error)")
        // serve carried it out once: one job, not one per attempt.
        let jobs = try await setup.run(["get", "jobs", "--vm", "lnx-web-01", "--output", "json"], remote: false)
        #expect(try Self.array(jobs.output, "jobs").filter { $0["operation"] as? String == "Backup" }.count == 1, "\(jobs.output)")
    }
}
