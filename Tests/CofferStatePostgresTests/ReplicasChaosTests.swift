import CofferGit
import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

@testable import CofferStatePostgres

#if canImport(Glibc)
    import Glibc
#endif

/// The coffer executable built beside the tests (`swift build` first).
var cofferExecutable: String? {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("coffer").path,
        packageRoot.appendingPathComponent(".build/debug/coffer").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// A coffer process started by a test, its output in a log file.
final class CofferProcess: @unchecked Sendable {
    let process = Process()
    let log: String

    init(_ arguments: [String], log: String, environment: [String: String] = [:]) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.executableURL = URL(fileURLWithPath: try #require(cofferExecutable, "the coffer executable is not built: run swift build first"))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env["COFFER_ENDPOINT"] = nil
        env["COFFER_STATE_BACKEND"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        let ended = DispatchSemaphore(value: 0)
        self.ended = ended
        process.terminationHandler = { _ in ended.signal() }
        try process.run()
    }

    private let ended: DispatchSemaphore
    private let waitLock = NSLock()
    private var waited = false

    /// Waits for the process to end (once; later calls return at once).
    func wait() {
        waitLock.lock()
        defer { waitLock.unlock() }
        if !waited {
            ended.wait()
            waited = true
        }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Runs a command to its end; its status and output.
    static func run(_ arguments: [String], log: String) throws -> (status: Int32, output: String) {
        let running = try CofferProcess(arguments, log: log)
        running.wait()
        return (running.process.terminationStatus, running.output)
    }
}

/// Several `coffer watch` replicas, one leading, against one `coffer serve`, with their state in PostgreSQL,
/// while replicas are killed (-9), paused past their lease (SIGSTOP, then SIGCONT) and restarted, and the
/// database restarts once. Afterwards: every revision that changed something was applied once, in commit
/// order (or superseded by a later one), the history's terms never go back (no two leaders' applies
/// interleave), and the platform matches the last commit.
/// Nested in the serialized `PostgresServerTests`: it restarts the shared test server, which no other test of
/// the server may see happen.
extension PostgresServerTests {
@Suite(.enabled(if: TestPostgres.available && cofferExecutable != nil, TestPostgres.skipped))
struct ReplicasChaosTests {
    static let policyName = "daily-chaos-eastus"

    static func manifests(days: Int) -> [String: Data] {
        let vault = """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata:
              name: rsv-chaos-eastus
            spec:
              resourceGroup: rg-backup-eastus
              location: eastus
              storageRedundancy: GeoRedundant

            """
        let policy = """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata:
              name: \(policyName)
            spec:
              vault: rsv-chaos-eastus
              schedule:
                frequency: Daily
                time: "02:00"
              retention:
                daily:
                  count: \(days)

            """
        return ["manifests/vault.yaml": Data(vault.utf8), "manifests/policy.yaml": Data(policy.utf8)]
    }

    @Test(.timeLimit(.minutes(5))) func replicasConvergeThroughKillsPausesAndADatabaseRestart() async throws {
        let directory = try TemporaryDirectory()
        let databaseURL = try TestPostgres.freshDatabase()
        let platformState = directory.path("platform")
        let world = packageRoot.appendingPathComponent("examples/reference/world.yaml").path
        let initialized = try CofferProcess.run(["platform", "init", "--state", platformState, "--world", world], log: directory.path("init.log"))
        #expect(initialized.status == 0, "platform init: \(initialized.output)")
        let issued = try CofferProcess.run(["serve", "token", "issue", "--state", platformState], log: directory.path("token.log"))
        let token = try #require(issued.output.split(separator: "\n").first.map(String.init))
        try token.write(toFile: directory.path("token"), atomically: true, encoding: .utf8)

        let serve = try CofferProcess(
            ["serve", "--state", platformState, "--listen", "127.0.0.1:0", "--output", "json"], log: directory.path("serve.log"))
        defer { serve.signal(SIGTERM) }
        let endpoint = try await Self.endpoint(of: serve)

        let origin = try GitRepository.create(at: directory.path("origin"))
        var commits = [try origin.commit(files: Self.manifests(days: 7), message: "days 7", branch: "main")]

        let common = [
            "--endpoint", endpoint, "--token-file", directory.path("token"), "--ca-file", platformState + "/serve/ca.pem",
            "--state-backend", databaseURL.description,
        ]
        func startReplica(_ index: Int) throws -> CofferProcess {
            try CofferProcess(
                ["watch", "--state", directory.path("replica-\(index)"), "--repo", directory.path("origin"), "--path", "manifests",
                 "--interval", "0.3s", "--drift-interval", "1h", "--lease-ttl", "2s", "--replicas-group", "chaos", "--output", "json",
                 "--lock-timeout", "30s"] + common,
                log: directory.path("replica-\(index).log"))
        }
        var replicas = try (0..<3).map { try startReplica($0) }
        defer { replicas.forEach { $0.signal(SIGKILL) } }

        // Commits arrive while replicas are killed, paused and restarted (the leader every other round); the
        // database restarts once.
        let observer = try PostgresStateBackend.open(databaseURL)
        defer { observer.shutdown() }
        var generator = SeededGenerator(seed: 20_261_207)
        let restartAt = 6
        for round in 1...12 {
            try await Task.sleep(for: .milliseconds(700))
            commits.append(try origin.commit(files: Self.manifests(days: 7 + round), message: "days \(7 + round)", branch: "main"))
            var victim = Int.random(in: 0..<3, using: &generator)
            if round % 2 == 1, let holder = try? observer.lease(of: "chaos")?.holder,
                let pid = holder.split(separator: ":").dropLast().last.flatMap({ Int32($0) }),
                let leader = replicas.firstIndex(where: { $0.pid == pid })
            {
                victim = leader
            }
            switch Int.random(in: 0..<3, using: &generator) {
            case 0:
                replicas[victim].signal(SIGKILL)
                replicas[victim].wait()
                replicas[victim] = try startReplica(victim)
            case 1:
                // Paused past its lease (2 s): if it led, another replica takes over and fences it.
                replicas[victim].signal(SIGSTOP)
                try await Task.sleep(for: .milliseconds(2_600))
                replicas[victim].signal(SIGCONT)
            default:
                break
            }
            if round == restartAt { try TestPostgres.restartServer() }
        }

        // Converged: the last commit is reconciled.
        let backend = try PostgresStateBackend.open(databaseURL)
        defer { backend.shutdown() }
        let last = commits.last!
        var reconciled = false
        for _ in 0..<240 {
            let history = try backend.store.history()
            if history.contains(where: { $0.source.commit == last && ($0.result == .succeeded || $0.result == .noChanges) }) {
                reconciled = true
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        for replica in replicas { replica.signal(SIGTERM) }
        for replica in replicas { replica.wait() }
        let logs = replicas.map(\.output).joined(separator: "\n---\n")
        #expect(reconciled, "the last commit was not reconciled in time; logs:\n\(logs.suffix(6000))")

        let records = try backend.postgresStore.historyWithTerms()
        let order = Dictionary(uniqueKeysWithValues: commits.enumerated().map { ($1, $0) })
        // Terms never go back along the history: an apply of an older leader never follows a newer one's.
        let terms = records.compactMap(\.term)
        #expect(terms == terms.sorted(), "terms out of order: \(terms)")
        #expect(records.allSatisfy { $0.term != nil }, "every record of a replica is written under its term")
        // Revisions are reconciled in commit order; each commit that changed something was applied once.
        let revisions = records.filter { $0.record.trigger != .drift }.compactMap { $0.record.source.commit.flatMap { order[$0] } }
        #expect(revisions == revisions.sorted(), "revisions out of commit order: \(revisions)")
        let applied = records.filter { !$0.record.steps.isEmpty && $0.record.result == .succeeded }.compactMap(\.record.source.commit)
        #expect(Set(applied).count == applied.count, "a revision was applied twice: \(applied.map { order[$0] ?? -1 })")
        #expect(try backend.store.unfinishedJournal().isEmpty)
        // The leader changed at least once (kills and pauses took it over).
        #expect(Set(terms).count >= 2, "no failover happened: terms \(Set(terms))")

        // The platform matches the last commit: a plan of it through the endpoint changes nothing.
        let planned = try CofferProcess.run(
            ["plan", "--state", directory.path("checker"), "--repo", directory.path("origin"), "--ref", last, "--path", "manifests",
             "--detailed-exitcode"] + common,
            log: directory.path("plan.log"))
        #expect(planned.status == 0, "the platform does not match the last commit:\n\(planned.output)")
    }

    /// The endpoint serve prints once it listens.
    static func endpoint(of serve: CofferProcess) async throws -> String {
        for _ in 0..<600 {
            for line in serve.output.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    object["event"] as? String == "listening"
                else { continue }
                if let port = (object["port"] as? String).flatMap(Int.init) ?? object["port"] as? Int { return "https://127.0.0.1:\(port)" }
            }
            guard serve.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("serve did not start: \(serve.output)")
        throw CancellationError()
    }
}

}

/// A small deterministic generator (SplitMix64), so a failing run can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
