import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import PostgresNIO
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import CofferStatePostgres

/// The PostgreSQL server of the tests: `COFFER_TEST_POSTGRES` (its URL) and `COFFER_TEST_POSTGRES_DIR` (its
/// cluster directory, for restarts), set by `scripts/test-postgres.sh run` (what `make test` does). Without
/// them the tests are skipped, saying so, except under CI, where the `serverIsThereUnderCI` test fails.
enum TestPostgres {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static var adminURL: PostgresURL? {
        guard let text = environment["COFFER_TEST_POSTGRES"], !text.isEmpty else { return nil }
        return try? PostgresURL(parsing: text)
    }

    static var available: Bool { adminURL != nil }

    static let skipped = Comment(rawValue: "no PostgreSQL server: run the tests with scripts/test-postgres.sh run swift test (make test does)")

    /// A database of its own for one test, dropped by `drop`.
    static func freshDatabase() throws -> PostgresURL {
        let admin = try #require(adminURL)
        let name = "coffer_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let session = PostgresSession(url: admin, reconnectDeadline: 10)
        defer { session.close() }
        try session.query("CREATE DATABASE \(name)")
        var url = admin
        url.database = name
        return url
    }

    /// The cluster's control script, for restarts.
    static func restartServer() throws {
        let directory = try #require(environment["COFFER_TEST_POSTGRES_DIR"], "COFFER_TEST_POSTGRES_DIR is not set")
        let script = packageRoot.appendingPathComponent("scripts/test-postgres.sh").path
        // posix_spawn and waitpid: the script's server outlives it, which Foundation's Process can wait on forever.
        var pid: pid_t = 0
        let arguments = ["/bin/bash", script, "restart", directory]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, &argv, environ)
        #expect(spawned == 0, "cannot run \(script)")
        guard spawned == 0 else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(status == 0, "restarting the test server failed (status \(status))")
    }
}

let packageRoot = ShippedManifests.packageRoot

/// Runs `process` and waits for its end through its termination handler (on a dispatch thread), never
/// through `waitUntilExit`, which can miss the end of a process whose children outlive it.
func waitForExit(_ process: Process, run: () throws -> Void) {
    let ended = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in ended.signal() }
    do {
        try run()
    } catch {
        Issue.record("cannot start \(process.executableURL?.path ?? "?"): \(error)")
        return
    }
    ended.wait()
}

@Suite struct TestServerTests {
    @Test func serverIsThereUnderCI() {
        if TestPostgres.environment["CI"] != nil {
            #expect(TestPostgres.available, "CI must run the PostgreSQL tests: .ci/run starts a server through make test")
        }
    }
}

enum Specs {
    static let vaultAddress = ResourceAddress(kind: .recoveryServicesVault, name: "rsv-prod-eastus")
    static let policyAddress = ResourceAddress(kind: .backupPolicy, name: "daily")

    static func vault(_ tag: String = "a") -> ResourceSpec {
        .vault(VaultSpec(resourceGroup: "rg-backup", location: "eastus", storageRedundancy: .geoRedundant, crossRegionRestore: true,
                         immutability: .disabled, tags: ["t": tag]))
    }

    static func entry(_ address: ResourceAddress, _ tag: String = "a") -> InventoryEntry {
        InventoryEntry(address: address, id: "/subscriptions/x/\(address.name)", lastApplied: vault(tag), adopted: false,
                       updated: Date(timeIntervalSince1970: 1_700_000_000))
    }

    static func history(_ commit: String) -> HistoryRecord {
        HistoryRecord(time: Date(timeIntervalSince1970: 1_700_000_000), source: ApplySource(repository: "r", ref: "main", commit: commit),
                      summary: PlanSummary(add: 1), result: .succeeded, error: nil, steps: [])
    }
}
