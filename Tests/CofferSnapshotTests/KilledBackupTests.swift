import CofferCrypto
import CofferTestSupport
import Foundation
import Testing

@testable import CofferSnapshot

/// The built `coffer-bench`, next to the test bundle or under the package's `.build/debug`.
enum BenchExecutable {
    static let url: URL? = {
        var candidates: [URL] = []
        if let first = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent().appendingPathComponent("coffer-bench"))
        }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("coffer-bench"))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/coffer-bench"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()
}

@Suite struct KilledBackupTests {
    @Test(.enabled(if: BenchExecutable.url != nil, "coffer-bench is not built; run `swift build` first"))
    func aBackupProcessKilledMidwayLeavesAVerifiableStore() throws {
        let executable = try #require(BenchExecutable.url)
        let directory = try TemporaryDirectory()
        let keyBytes = (0..<32).map { UInt8($0 * 7 + 1) }
        let masterKey = SecureBytes(keyBytes)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<3 {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["crash-backup", directory.path, "--key", hexString(keyBytes)]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait for a first commit of this run, then kill it at a random moment.
            var text = ""
            while !text.contains("committed") {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
            }
            try #require(text.contains("committed"), "coffer-bench crash-backup stopped before its first commit: \(text)")
            usleep(UInt32.random(in: 0..<300_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round)")

            let store = try VaultStore.open(at: directory.path("store"), masterKey: masterKey)
            let points = try store.recoveryPoints()
            #expect(!points.isEmpty, "round \(round)")
            for point in points {
                #expect(try store.verify(point.id).isValid, "round \(round): \(point.id)")
            }
        }

        // The store and the device work on: a backup, a collection, and everything still verifies.
        let store = try VaultStore.open(at: directory.path("store"), masterKey: masterKey)
        let device = try BlockDevice.open(at: directory.path("device"))
        let snapshot = try device.takeSnapshot()
        let (id, _) = try store.backup([DiskSource(name: "os", device: device, snapshot: snapshot)], metadata: [:])
        _ = try store.collectGarbage()
        for point in try store.recoveryPoints() { #expect(try store.verify(point.id).isValid) }
        let restored = try store.restore(id, disk: "os", to: directory.path("restored"))
        #expect(try contents(of: restored) == contents(of: device, snapshot: snapshot))
        let again = try store.collectGarbage()
        #expect(again.chunksRemoved == 0 && again.packsDeleted == 0 && again.leftoversRemoved == 0)
    }
}
