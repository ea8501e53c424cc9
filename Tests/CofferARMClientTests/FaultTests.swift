import CofferTestSupport
import Foundation
import Testing

/// The reconciler over a `coffer serve` process that injects faults (`--faults`): throttling, server errors,
/// connections dropped before a request is carried out and after a write is, slow answers, and the server
/// killed after N requests. Apply and `watch --once` still converge, carry out no write twice but the
/// retries of a dropped answer, and fail clearly when the retry deadline passes.
@Suite(.serialized) struct FaultTests {
    static let manifests = packageRoot.appendingPathComponent("manifests").path

    /// Faults on every kind of request, from a fixed seed.
    static let faults = "seed=11,429=0.06,500=0.04,503=0.04,drop=0.04,drop-after=0.12,slow=0.1,slow-ms=100"

    static func endpoint(_ serve: RunningServe, in directory: TemporaryDirectory, _ extra: [String] = []) throws -> [String] {
        let tokenFile = directory.path("token-\(UUID().uuidString)")
        try serve.token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        return ["--endpoint", serve.endpoint, "--token-file", tokenFile, "--ca-file", serve.caPath] + extra
    }

    /// serve's log lines (JSON objects), from one or more logs.
    static func events(_ logs: [String]) -> [[String: Any]] {
        logs.flatMap { log in
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    /// Each write the platform carried out, by method and path, less the retries of a write whose answer was
    /// dropped on purpose (`drop-after`: carried out, then the connection closed): every write of a create is
    /// carried out once.
    static func writesBeyondRetries(_ logs: [String]) -> [String: Int] {
        var carried: [String: Int] = [:]
        var droppedAfter: [String: Int] = [:]
        for event in events(logs) {
            guard let message = event["message"] as? String else { continue }
            let words = message.split(separator: " ").map(String.init)
            if event["event"] as? String == "fault" {
                // "fault drop-after PUT /path" (and "kill": the write was carried out, its answer never sent)
                if words.count == 4, words[1] == "drop-after" || words[1] == "kill", ["PUT", "PATCH", "POST", "DELETE"].contains(words[2]) {
                    droppedAfter["\(words[2]) \(words[3].lowercased())", default: 0] += 1
                }
                continue
            }
            // "PUT /path 201"
            guard words.count == 3, ["PUT", "PATCH", "POST", "DELETE"].contains(words[0]), let status = Int(words[2]), status < 400 else { continue }
            carried["\(words[0]) \(words[1].lowercased())", default: 0] += 1
        }
        return carried.mapValues { $0 }.merging(droppedAfter.mapValues { -$0 }) { $0 + $1 }
    }

    @Test func applyConvergesAndCarriesOutEachWriteOnceUnderFaults() async throws {
        let directory = try TemporaryDirectory()
        let state = try PristineWorld.reference.copy(into: directory)
        let log = directory.path("serve.log")
        let serve = try await RunningServe.startProcess(state: state, arguments: ["--faults", Self.faults], log: log)
        let endpoint = try Self.endpoint(serve, in: directory)

        let applied = try await CofferRun.run(["apply", "--state", state, Self.manifests, "--auto-approve"] + endpoint)
        await serve.stop()
        #expect(applied.status == 0, "apply under faults: \(applied.error)")
        let events = Self.events([log])
        let faults = events.filter { $0["event"] as? String == "fault" }.compactMap { ($0["message"] as? String)?.split(separator: " ").dropFirst().first }
        // The seed gives every kind of fault in this run.
        for kind in ["429", "500", "503", "drop", "drop-after", "slow"] {
            #expect(faults.contains { $0 == kind }, "no \(kind) fault was injected")
        }
        for (write, count) in Self.writesBeyondRetries([log]) {
            #expect(count == 1, "\(write) was carried out \(count) times beyond the retries of a dropped answer")
        }
        #expect(Self.writesBeyondRetries([log]).keys.contains { $0.hasPrefix("PUT ") && $0.contains("/vaults/rsv-") && !$0.contains("/backup") })
        // Each vault answered 201 (created) once.
        let created = events.compactMap { $0["message"] as? String }.filter { $0.hasPrefix("PUT ") && $0.hasSuffix(" 201") }
        #expect(Set(created).count == created.count, "a resource was created twice: \(created)")

        let after = try await CofferRun.run(["plan", "--state", state, Self.manifests, "--detailed-exitcode"])
        #expect(after.status == 0, "the embedded plan after an apply under faults has changes: \(after.output)")
    }

    @Test func watchOnceConvergesAcrossAServerKilledMidway() async throws {
        let directory = try TemporaryDirectory()
        let state = try PristineWorld.reference.copy(into: directory)
        let repo = directory.path("repo")
        try FileManager.default.createDirectory(atPath: repo + "/manifests", withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.manifests) where name.hasSuffix(".yaml") {
            try FileManager.default.copyItem(atPath: Self.manifests + "/" + name, toPath: repo + "/manifests/" + name)
        }
        for arguments in [["init", "-q", "-b", "main"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "desired"]] {
            let git = Process()
            git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            git.currentDirectoryURL = URL(fileURLWithPath: repo)
            git.arguments = arguments
            try git.run()
            git.waitUntilExit()
            #expect(git.terminationStatus == 0)
        }
        let watch = ["watch", "--state", state, "--repo", repo, "--ref", "main", "--path", "manifests", "--once"]

        // serve dies (SIGKILL) after carrying out its 40th request, before answering it; watch gives up once
        // its retries of the dead endpoint pass their deadline.
        let firstLog = directory.path("serve-1.log")
        let first = try await RunningServe.startProcess(state: state, arguments: ["--faults", Self.faults + ",kill-after=40"], log: firstLog)
        let interrupted = try await CofferRun.run(watch + (try Self.endpoint(first, in: directory, ["--retry-deadline", "3s"])))
        #expect(first.ended(), "serve was not killed")
        await first.stop()
        #expect(interrupted.status == 1, "watch --once against a killed serve: \(interrupted.status) \(interrupted.error)")
        #expect(interrupted.output.contains("RetryDeadlineExceeded") || interrupted.error.contains("RetryDeadlineExceeded"))

        // serve again on the same state, still with faults: watch finishes the revision.
        let secondLog = directory.path("serve-2.log")
        let second = try await RunningServe.startProcess(state: state, arguments: ["--faults", Self.faults], log: secondLog)
        let resumed = try await CofferRun.run(watch + (try Self.endpoint(second, in: directory)))
        await second.stop()
        #expect(resumed.status == 0, "watch --once after the restart: \(resumed.output) \(resumed.error)")
        // A write whose answer was dropped (or that the kill cut off, its log lines perhaps lost with the
        // process) may need no retry: the watch after the restart reads it done, so it counts 0 or less beyond
        // its drop. None is carried out twice beyond the retries of a dropped answer.
        for (write, count) in Self.writesBeyondRetries([firstLog, secondLog]) {
            #expect(count <= 1, "\(write) was carried out \(count) times beyond the retries of a dropped answer")
        }
        let after = try await CofferRun.run(["plan", "--state", state, Self.manifests, "--detailed-exitcode"])
        #expect(after.status == 0, "the embedded plan after watch under faults has changes: \(after.output)")
    }

    @Test func aFailingEndpointFailsTheApplyAtItsDeadlineNamingTheResourceAndCode() async throws {
        let directory = try TemporaryDirectory()
        let state = try PristineWorld.reference.copy(into: directory)
        let serve = try await RunningServe.startProcess(state: state, arguments: ["--faults", "only=writes,503=1"], log: directory.path("serve.log"))
        let started = ContinuousClock.now
        let applied = try await CofferRun.run(
            ["apply", "--state", state, Self.manifests, "--auto-approve"] + (try Self.endpoint(serve, in: directory, ["--retry-deadline", "2s"])))
        let elapsed = ContinuousClock.now - started
        await serve.stop()
        #expect(applied.status == 1, "apply against a failing endpoint: \(applied.status)")
        #expect(elapsed < .seconds(30))
        let text = applied.output + applied.error
        #expect(text.contains("RetryDeadlineExceeded"), "\(text)")
        #expect(text.contains("ServiceUnavailable"), "the last ARM code is not named: \(text)")
        #expect(text.contains("RecoveryServicesVault/rsv-"), "the resource is not named: \(text)")
        // Nothing was carried out: the platform holds no vault of the manifests.
        let plan = try await CofferRun.run(["plan", "--state", state, Self.manifests, "--detailed-exitcode"])
        #expect(plan.status == 2)
    }
}
