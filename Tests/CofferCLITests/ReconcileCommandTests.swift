import CofferModel
import CofferReconciler
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

/// The package's root folder, for the shipped world and manifests.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A state directory with the reference platform, made once and copied for each test (init takes seconds).
enum ReferencePlatform {
    static let pristine: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-reference-\(UUID().uuidString)").path
        // platform init is synchronous: run the command itself, outside of any task.
        do {
            var command = try CofferCommand.parseAsRoot(
                ["platform", "init", "--state", directory, "--world", packageRoot.appendingPathComponent("examples/reference/world.yaml").path])
            try command.run()
        } catch {
            preconditionFailure("platform init of the reference world failed: \(error)")
        }
        return directory
    }()

    /// A fresh copy of the reference platform inside `directory`.
    static func copy(into directory: TemporaryDirectory, name: String = "state") throws -> String {
        let target = directory.path(name)
        try FileManager.default.copyItem(atPath: pristine, toPath: target)
        return target
    }
}

/// The coffer executable built beside the tests.
var cofferExecutable: URL? {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("coffer"),
        packageRoot.appendingPathComponent(".build/debug/coffer"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// Runs the coffer executable; returns its exit status (or the signal for a killed process) and output.
func runCofferProcess(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, killed: Bool, output: String) {
    let process = Process()
    process.executableURL = try #require(cofferExecutable, "the coffer executable is not built: run swift build first")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, process.terminationReason == .uncaughtSignal, String(decoding: data, as: UTF8.self))
}

/// Everything the platform holds that the manifests drive, as JSON, for comparing two platforms.
func platformSnapshot(_ state: String) throws -> String {
    var parts: [String] = []
    for what in ["vaults", "policies", "protected-vms", "access-policies"] {
        let result = try runCofferProcess(["get", what, "--state", state, "--output", "json"])
        #expect(result.status == 0, "get \(what) failed: \(result.output)")
        parts.append(result.output)
    }
    return parts.joined(separator: "\n")
}

@Suite(.serialized) struct ReconcileCommandTests {
    let manifests = packageRoot.appendingPathComponent("manifests").path

    @Test func applyThenPlanHasNoChangesForTheShippedManifests() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        #expect(await runCoffer(["plan", "--state", state, manifests, "--detailed-exitcode"]) == CofferExitCode.changesPresent.rawValue)
        #expect(await runCoffer(["apply", "--state", state, "--auto-approve", manifests]) == 0)
        #expect(await runCoffer(["plan", "--state", state, manifests, "--detailed-exitcode"]) == 0)
        let history = try FileStateStore(stateDirectory: state).history()
        #expect(history.map(\.result) == [.succeeded])
        #expect(history.first?.summary == PlanSummary(add: 11))
    }

    @Test func savedPlanIsAppliedExactlyAndRefusedWhenStale() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let copy = directory.path("manifests")
        try FileManager.default.copyItem(atPath: manifests, toPath: copy)
        // The plan file carries its desired state: edited or deleted manifests change nothing about it.
        let planFile = directory.path("a.plan")
        #expect(await runCoffer(["plan", "--state", state, copy, "--out", planFile]) == 0)
        let policies = directory.path("manifests/policies.yaml")
        let original = try String(contentsOfFile: policies, encoding: .utf8)
        try FileManager.default.removeItem(atPath: copy)
        let applied = try runCofferProcess(["apply", "--state", state, "--plan", planFile, "--output", "json"])
        #expect(applied.status == 0, "\(applied.output)")
        #expect(try FileStateStore(stateDirectory: state).history().map(\.summary) == [PlanSummary(add: 11)])
        try FileManager.default.copyItem(atPath: manifests, toPath: copy)
        #expect(await runCoffer(["plan", "--state", state, copy, "--detailed-exitcode"]) == 0)
        // Stale because the platform changed: an access policy removed out of band after the plan was saved.
        try original.replacingOccurrences(of: "count: 30", with: "count: 31").write(toFile: policies, atomically: true, encoding: .utf8)
        #expect(await runCoffer(["plan", "--state", state, copy, "--out", planFile]) == 0)
        #expect(await runCoffer(["platform", "keyvault", "remove-access", "--state", state, "kv-app-eastus", "BackupManagementService"]) == 0)
        let stale = try runCofferProcess(["apply", "--state", state, "--plan", planFile])
        #expect(stale.status == 1)
        #expect(stale.output.contains("error[stale-plan]: the saved plan is stale: the platform changed since it was made"))
        #expect(try FileStateStore(stateDirectory: state).history().count == 1)
        // A fresh plan sees the drift, and applying it repairs it.
        let repair = directory.path("c.plan")
        #expect(await runCoffer(["plan", "--state", state, copy, "--out", repair]) == 0)
        #expect(await runCoffer(["apply", "--state", state, "--plan", repair]) == 0)
        #expect(await runCoffer(["plan", "--state", state, copy, "--detailed-exitcode"]) == 0)
        // A file that is not a plan of this format is refused.
        try "{\"format_version\": \"1\"}".write(toFile: planFile, atomically: true, encoding: .utf8)
        let old = try runCofferProcess(["apply", "--state", state, "--plan", planFile])
        #expect(old.status == 1)
        #expect(old.output.contains("error[plan-file]: '\(planFile)' is a coffer plan file of format version 1, which this coffer does not read"))
    }

    @Test func planFilesAndOutputsHoldNoSecretTagValues() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let copy = directory.path("manifests")
        try FileManager.default.copyItem(atPath: manifests, toPath: copy)
        let vaults = directory.path("manifests/vaults.yaml")
        let text = try String(contentsOfFile: vaults, encoding: .utf8)
        try text.replacingOccurrences(of: "    managed-by: coffer", with: "    managed-by: coffer\n    db-password: hunter2-do-not-print").write(toFile: vaults, atomically: true, encoding: .utf8)
        let planFile = directory.path("s.plan")
        let text1 = try runCofferProcess(["plan", "--state", state, copy, "--out", planFile])
        let json = try runCofferProcess(["plan", "--state", state, copy, "--output", "json"])
        #expect(text1.status == 0 && json.status == 0)
        #expect(text1.output.contains("(sensitive value)"))
        for output in [text1.output, json.output, try String(contentsOfFile: planFile, encoding: .utf8)] {
            #expect(!output.contains("hunter2"))
        }
    }

    @Test func aSecondApplyIsRefusedWithExit75NamingTheHolder() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let lock = try StateLock.acquire(stateDirectory: state, operation: "apply")
        let result = try runCofferProcess(["apply", "--state", state, "--auto-approve", manifests])
        #expect(result.status == CofferExitCode.locked.rawValue)
        #expect(result.output.contains("pid \(getpid())"))
        lock.release()
        #expect(try runCofferProcess(["apply", "--state", state, "--auto-approve", manifests]).status == 0)
    }

    /// `kill -9` of apply at every step boundary, then another apply, gives the same platform as an
    /// uninterrupted apply, with no duplicates and no plan left to do.
    @Test func killedApplyAtEachStepBoundaryConverges() async throws {
        let directory = try TemporaryDirectory()
        // Three resources (vault, policy, protected VM): six boundaries.
        let small = directory.path("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        try """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-prod-westeurope}
            spec: {resourceGroup: rg-backup-westeurope, location: westeurope}
            ---
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: daily}
            spec:
              vault: rsv-prod-westeurope
              schedule: {frequency: Daily, time: "02:00"}
              retention: {daily: {count: 30}}
            ---
            apiVersion: coffer.dev/v1
            kind: ProtectedVM
            metadata: {name: lnx-web-01}
            spec:
              vm: {resourceGroup: rg-app-westeurope, name: lnx-web-01}
              vault: rsv-prod-westeurope
              policy: daily

            """.write(toFile: small + "/all.yaml", atomically: true, encoding: .utf8)
        let reference = try ReferencePlatform.copy(into: directory, name: "reference")
        #expect(try runCofferProcess(["apply", "--state", reference, "--auto-approve", small]).status == 0)
        let expected = try platformSnapshot(reference)

        for boundary in stride(from: 0.0, through: 2.5, by: 0.5) {
            let state = try ReferencePlatform.copy(into: directory, name: "state-\(boundary)")
            let crashed = try runCofferProcess(
                ["apply", "--state", state, "--auto-approve", small], environment: ["COFFER_CRASH_AT_STEP_BOUNDARY": String(boundary)])
            #expect(crashed.killed, "apply was not killed at boundary \(boundary): \(crashed.output)")
            let resumed = try runCofferProcess(["apply", "--state", state, "--auto-approve", small])
            #expect(resumed.status == 0, "the apply after a kill at \(boundary) failed: \(resumed.output)")
            #expect(try platformSnapshot(state) == expected, "platform differs after a kill at boundary \(boundary)")
            #expect(try runCofferProcess(["plan", "--state", state, small, "--detailed-exitcode"]).status == 0)
        }
    }
}
