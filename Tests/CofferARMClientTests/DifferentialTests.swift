import CofferTestSupport
import Foundation
import Testing

/// The coffer executable built beside the tests (`swift build` first).
var cofferExecutable: URL? {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("coffer"),
        packageRoot.appendingPathComponent(".build/debug/coffer"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// One run of the coffer executable: its exit status and standard output.
struct CofferRun {
    var status: Int32
    var output: String
    var error: String

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CofferRun {
        let executable = try #require(cofferExecutable, "the coffer executable is not built: run swift build first")
        let directory = try TemporaryDirectory()
        let outPath = directory.path("out")
        let errPath = directory.path("err")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["COFFER_ENDPOINT"] = nil
        env["AZURE_ACCESS_TOKEN"] = nil
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        // Waited for off the cooperative threads: serve answers the process from this one.
        let (ended, continuation) = AsyncStream.makeStream(of: Void.self)
        process.terminationHandler = { _ in
            continuation.yield()
            continuation.finish()
        }
        try process.run()
        for await _ in ended {}
        return CofferRun(
            status: process.terminationStatus, output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            error: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

/// The differential test of the ARM client: for every example world and each of its manifest folders, the
/// plan through `--endpoint` (a `coffer serve` process of that world, over TLS) is byte for byte the embedded plan;
/// an apply through the endpoint leaves nothing for an embedded plan to do, and the reverse.
@Suite(.serialized) struct DifferentialTests {
    /// Every example world and the manifest folders written for it.
    static var cases: [(world: String, manifests: String)] {
        let examples = packageRoot.appendingPathComponent("examples")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []).sorted()
        var cases: [(String, String)] = []
        for name in names {
            let world = examples.appendingPathComponent(name).appendingPathComponent("world.yaml").path
            guard FileManager.default.fileExists(atPath: world) else { continue }
            let folder = examples.appendingPathComponent(name)
            let folders = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasPrefix("manifests") }.sorted()
            for manifests in folders { cases.append((world, folder.appendingPathComponent(manifests).path)) }
            if name == "reference" { cases.append((world, packageRoot.appendingPathComponent("manifests").path)) }
        }
        return cases
    }

    static func label(_ path: String) -> String {
        path.replacingOccurrences(of: packageRoot.path + "/", with: "")
    }

    @Test func everyExampleWorldHasManifests() {
        #expect(Self.cases.count >= 10)
    }

    @Test(arguments: DifferentialTests.cases.map { "\(DifferentialTests.label($0.world))|\(DifferentialTests.label($0.manifests))" })
    func planAndApplyAgreeOverTheEndpoint(_ name: String) async throws {
        let parts = name.split(separator: "|").map { packageRoot.appendingPathComponent(String($0)).path }
        let (world, manifests) = (parts[0], parts[1])
        let pristine = try PristineWorld(world: world)
        let directory = try TemporaryDirectory()
        let embedded = try pristine.copy(into: directory, name: "embedded")
        let served = try pristine.copy(into: directory, name: "served")
        let serve = try await RunningServe.startProcess(state: served)
        let tokenFile = directory.path("token")
        try serve.token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let endpoint = ["--endpoint", serve.endpoint, "--token-file", tokenFile, "--ca-file", serve.caPath]
        defer { withExtendedLifetime(directory) {} }

        // The plans, byte for byte, and their exit codes.
        let local = try await CofferRun.run(["plan", "--state", embedded, manifests, "--output", "json", "--detailed-exitcode"])
        let remote = try await CofferRun.run(["plan", "--state", served, manifests, "--output", "json", "--detailed-exitcode"] + endpoint)
        #expect(remote.status == local.status, "\(name): plan exit \(remote.status) over the endpoint, \(local.status) embedded: \(remote.error)")
        #expect(remote.output == local.output, "\(name): the plans differ")
        if remote.output != local.output { try Self.showDifference(local.output, remote.output, in: directory) }

        // Apply where the plan can be applied: through the endpoint on one copy, embedded on the other; each
        // leaves nothing for the other provider's plan to do.
        guard local.status == 0 || local.status == 2 else {
            await serve.stop()
            return
        }
        let appliedRemotely = try await CofferRun.run(["apply", "--state", served, manifests, "--auto-approve", "--output", "json"] + endpoint)
        let appliedLocally = try await CofferRun.run(["apply", "--state", embedded, manifests, "--auto-approve", "--output", "json"])
        #expect(appliedRemotely.status == appliedLocally.status,
                "\(name): apply exit \(appliedRemotely.status) over the endpoint, \(appliedLocally.status) embedded: \(appliedRemotely.error)")
        if appliedRemotely.status == 0 {
            let after = try await CofferRun.run(["plan", "--state", served, manifests, "--output", "json", "--detailed-exitcode"])
            #expect(after.status == 0, "\(name): an embedded plan after an apply through the endpoint has changes: \(after.output.prefix(2000))")
        }
        await serve.stop()
        if appliedLocally.status == 0 {
            let reverse = try await RunningServe.startProcess(state: embedded)
            let token = directory.path("token-embedded")
            try reverse.token.write(toFile: token, atomically: true, encoding: .utf8)
            let after = try await CofferRun.run(
                ["plan", "--state", embedded, manifests, "--output", "json", "--detailed-exitcode", "--endpoint", reverse.endpoint, "--token-file", token,
                 "--ca-file", reverse.caPath])
            #expect(after.status == 0, "\(name): a plan through the endpoint after an embedded apply has changes: \(after.output.prefix(2000)) \(after.error)")
            await reverse.stop()
        }
    }

    /// Records the first differing line of two plans.
    static func showDifference(_ local: String, _ remote: String, in directory: TemporaryDirectory) throws {
        let a = local.split(separator: "\n", omittingEmptySubsequences: false)
        let b = remote.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(a.count, b.count) {
            let left = index < a.count ? String(a[index]) : "<end>"
            let right = index < b.count ? String(b[index]) : "<end>"
            if left != right {
                Issue.record("first difference at line \(index + 1):\n  embedded: \(left.prefix(400))\n  endpoint: \(right.prefix(400))")
                return
            }
        }
    }
}
