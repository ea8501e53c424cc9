import CofferGit
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

@Suite(.serialized) struct WatchProcessTests {
    /// The real executable: watch applies the repository's commit, then SIGTERM stops it cleanly (exit 0,
    /// a last log line, the lock released); `--once` reconciles once and exits.
    @Test(arguments: [SIGTERM, SIGINT])
    func signalStopsWatchCleanly(signal: Int32) async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let repo = try GitRepository.create(at: directory.path("repo"))
        var files: [String: Data] = [:]
        let shipped = packageRoot.appendingPathComponent("manifests")
        for name in try FileManager.default.contentsOfDirectory(atPath: shipped.path) where name.hasSuffix(".yaml") {
            files["manifests/\(name)"] = try Data(contentsOf: shipped.appendingPathComponent(name))
        }
        let commit = try repo.commit(files: files, message: "Reference desired state", branch: "main")

        let process = Process()
        process.executableURL = try #require(cofferExecutable, "the coffer executable is not built: run swift build first")
        process.arguments = ["watch", "--state", state, "--repo", directory.path("repo"), "--path", "manifests", "--interval", "200ms", "--output", "json"]
        let log = directory.path("watch.log")
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        var waited = 0.0
        while (try FileStateStore(stateDirectory: state).history().last?.source.commit) != commit && waited < 120 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 0.1
        }
        #expect(try FileStateStore(stateDirectory: state).history().last?.source.commit == commit)
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        try handle.close()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let events = lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])?["event"]
        }
        #expect(events.contains("applied"))
        #expect(events.contains("signal"))
        #expect(events.last == "stop")
        _ = try StateLock.acquire(stateDirectory: state, operation: "test")

        let before = try FileStateStore(stateDirectory: state).history().count
        let once = try runCofferProcess(["watch", "--state", state, "--repo", directory.path("repo"), "--path", "manifests", "--once"])
        #expect(once.status == 0)
        #expect(once.output.contains("revision \(commit.prefix(10)) reconciled: no changes"))
        // The revision is recorded even though it changed nothing.
        let history = try FileStateStore(stateDirectory: state).history()
        #expect(history.count == before + 1)
        #expect(history.last?.source.commit == commit && history.last?.result == .noChanges)
    }
}
