import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pseudo-terminal opened in the test process: a child gets its terminal side as standard error, the test
/// reads what the child drew from the controller side.
final class PseudoTerminal: @unchecked Sendable {
    let controller: Int32
    let terminal: FileHandle
    private let lock = NSLock()
    private var received = Data()
    private let reader = DispatchGroup()

    init() throws {
        var controller: Int32 = -1
        var terminal: Int32 = -1
        guard openpty(&controller, &terminal, nil, nil, nil) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        // Close-on-exec on both sides, so that other children of the test process do not keep the terminal
        // open (the child that gets it as standard error has its own copy).
        _ = fcntl(controller, F_SETFD, FD_CLOEXEC)
        _ = fcntl(terminal, F_SETFD, FD_CLOEXEC)
        self.controller = controller
        self.terminal = FileHandle(fileDescriptor: terminal, closeOnDealloc: true)
        let fd = controller
        DispatchQueue.global().async(group: reader) { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(fd, &buffer, buffer.count)
                // The read fails (EIO) once every holder of the terminal side has closed it.
                guard count > 0 else { break }
                lock.withLock { received.append(contentsOf: buffer[0..<count]) }
            }
        }
    }

    /// Closes the test's own copy of the terminal side (after the child started) and returns everything the
    /// child wrote to it, once the child has closed its copies.
    func closeAndRead(timeout: Double = 60) -> String {
        try? terminal.close()
        _ = reader.wait(timeout: .now() + timeout)
        return lock.withLock { String(decoding: received, as: UTF8.self) }
    }

    deinit { close(controller) }
}

/// What the executable wrote, and how it ended.
struct TerminalRun {
    var status: Int32
    var output: Data
    var stderr: String
    var stdout: String { String(decoding: output, as: UTF8.self) }
}

/// Runs the coffer executable with standard output on a pipe and standard error on a pseudo-terminal (or
/// on a pipe when `terminal` is false).
func runCofferWithStandardError(
    onTerminal terminal: Bool, _ arguments: [String], environment: [String: String] = [:]
) throws -> TerminalRun {
    guard let executable = cofferExecutable else {
        throw CLIError(code: "not-built", message: "the coffer executable is not built: run swift build first", hint: nil, exitCode: .failure)
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(["TERM": "xterm-256color"].merging(environment) { $1 }) { $1 }
    process.environment?.removeValue(forKey: "NO_COLOR")
    process.standardInput = FileHandle.nullDevice
    let out = Pipe()
    process.standardOutput = out
    if terminal {
        let pty = try PseudoTerminal()
        process.standardError = pty.terminal
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return TerminalRun(status: process.terminationStatus, output: stdout, stderr: pty.closeAndRead())
    }
    let err = Pipe()
    process.standardError = err
    try process.run()
    nonisolated(unsafe) var errData = Data()
    let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return TerminalRun(status: process.terminationStatus, output: stdout, stderr: String(decoding: errData, as: UTF8.self))
}

/// Backup and restore draw a progress line on standard error when it is a terminal, and nothing else.
@Suite(.serialized) struct ProgressTerminalTests {
    /// The reference platform with the shipped manifests applied, so that every VM is protected.
    static func protectedPlatform(in directory: TemporaryDirectory) async throws -> String {
        let state = try ReferencePlatform.copy(into: directory)
        let manifests = packageRoot.appendingPathComponent("manifests").path
        #expect(await runCoffer(["apply", "--state", state, "--auto-approve", manifests, "--output", "json"]) == 0)
        return state
    }

    /// The progress lines drawn on a terminal: the text between carriage returns and line feeds, without the
    /// erase sequence.
    static func progressLines(_ stderr: String) -> [String] {
        stderr.replacingOccurrences(of: "\u{1B}[K", with: "").split(whereSeparator: \.isNewline).map(String.init)
            .filter { $0.contains("[") && $0.contains("%") }
    }

    /// How many bytes of `text` are `byte` (counted on UTF-8, where "\r\n" is two bytes, not one character).
    static func count(_ byte: UInt8, in text: String) -> Int {
        text.utf8.filter { $0 == byte }.count
    }

    @Test func backupAndRestoreDrawProgressOnATerminal() async throws {
        let directory = try TemporaryDirectory()
        let state = try await Self.protectedPlatform(in: directory)

        let backup = try runCofferWithStandardError(onTerminal: true, ["backup", "win-app-01", "--state", state, "--output", "json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(Self.count(13, in: backup.stderr) >= 2, "the bar redraws its line")
        let lines = Self.progressLines(backup.stderr)
        let last = try #require(lines.last, "no progress line in \(backup.stderr.debugDescription)")
        #expect(last.hasPrefix("backup win-app-01 ["))
        #expect(last.contains("100%") && last.contains(" MiB/") && last.contains("/s") && last.hasSuffix("done"), "\(last)")
        #expect(backup.stderr.utf8.last == 10, "the line is ended before the result is printed")
        // The JSON document on standard output is untouched by the bar.
        let job = try #require(try JSONSerialization.jsonObject(with: backup.output) as? [String: Any])
        let point = try #require(job["recoveryPoint"] as? String)

        // Once the point's instant-restore snapshot expired (2 days), a restore reads the vault copy, disk by
        // disk: one line per disk.
        #expect(await runCoffer(["platform", "clock", "--state", state, "--advance", "3d"]) == 0)
        let restore = try runCofferWithStandardError(
            onTerminal: true, ["restore", "win-app-01", "--state", state, "--recovery-point", point, "--mode", "restore-disks"])
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        let restoreLines = Self.progressLines(restore.stderr)
        #expect(restoreLines.contains { $0.hasPrefix("restore win-app-01 disk 1 [") && $0.contains("100%") && $0.contains("/s") })
        #expect(restoreLines.contains { $0.hasPrefix("restore win-app-01 disk 2 [") && $0.contains("100%") && $0.contains("/s") })
        #expect(Self.count(10, in: restore.stderr) == 2, "two finished lines: \(restore.stderr.debugDescription)")
    }

    /// verify reads the vault copy disk by disk; a clock move runs scheduled backups, one line each.
    @Test func verifyAndScheduledBackupsDrawProgressOnATerminal() async throws {
        let directory = try TemporaryDirectory()
        let state = try await Self.protectedPlatform(in: directory)
        #expect(await runCoffer(["backup", "lnx-db-01", "--state", state]) == 0)
        let verify = try runCofferWithStandardError(onTerminal: true, ["verify", "lnx-db-01", "--state", state])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("OK: recovery point"))
        let verifyLines = Self.progressLines(verify.stderr)
        #expect(verifyLines.contains { $0.hasPrefix("verify lnx-db-01 disk 1 [") && $0.contains("100%") && $0.contains("/s") }, "\(verifyLines)")
        #expect(verifyLines.contains { $0.hasPrefix("verify lnx-db-01 disk 2 [") && $0.contains("100%") }, "\(verifyLines)")

        let clock = try runCofferWithStandardError(onTerminal: true, ["platform", "clock", "--state", state, "--advance", "2d"])
        #expect(clock.status == 0, "\(clock.stdout)\(clock.stderr)")
        let clockLines = Self.progressLines(clock.stderr)
        for vm in ["win-app-01", "lnx-db-01", "lnx-web-01"] {
            #expect(clockLines.contains { $0.hasPrefix("scheduled backup \(vm) [") && $0.contains("100%") }, "\(vm): \(clockLines)")
        }
        let piped = try runCofferWithStandardError(onTerminal: false, ["platform", "clock", "--state", state, "--advance", "1d"])
        #expect(piped.status == 0 && Self.count(13, in: piped.stderr) == 0 && Self.count(0x1B, in: piped.stderr) == 0)
    }

    /// A guest write of a file and a guest read to a pipe move data too.
    @Test func guestWritesAndReadsDrawProgressOnATerminal() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        let size = 20 << 20 | 7
        let file = directory.path("data.bin")
        let data = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) })
        try data.write(to: URL(fileURLWithPath: file))
        let write = try runCofferWithStandardError(
            onTerminal: true, ["platform", "write", "lnx-db-01", "--state", state, "--disk", "0", "--offset", "4095", "--data-file", file])
        #expect(write.status == 0, "\(write.stderr)")
        #expect(write.stdout.contains("Wrote \(size) bytes"))
        let writeLines = Self.progressLines(write.stderr)
        #expect(writeLines.count >= 2, "one line per piece of the file: \(writeLines)")
        #expect(writeLines.last.map { $0.hasPrefix("write lnx-db-01/0 [") && $0.contains("100%") && $0.contains("/s") } == true)

        let read = try runCofferWithStandardError(
            onTerminal: true, ["platform", "read", "lnx-db-01", "--state", state, "--disk", "0", "--offset", "4095", "--length", String(size)])
        #expect(read.status == 0)
        #expect(read.output == data, "the guest reads back what was written")
        let readLines = Self.progressLines(read.stderr)
        #expect(readLines.last.map { $0.hasPrefix("read lnx-db-01/0 [") && $0.contains("100%") && $0.contains("/s") } == true)
    }

    @Test func noProgressInAPipeOrOnADumbTerminal() async throws {
        let directory = try TemporaryDirectory()
        let state = try await Self.protectedPlatform(in: directory)
        let piped = try runCofferWithStandardError(onTerminal: false, ["backup", "lnx-web-01", "--state", state])
        #expect(piped.status == 0)
        #expect(piped.stdout.contains("Backup of lnx-web-01 completed"))
        #expect(Self.count(13, in: piped.stderr) == 0 && Self.count(0x1B, in: piped.stderr) == 0, "\(piped.stderr.debugDescription)")
        #expect(piped.stderr.isEmpty)

        let dumb = try runCofferWithStandardError(onTerminal: true, ["backup", "lnx-web-01", "--state", state], environment: ["TERM": "dumb"])
        #expect(dumb.status == 0)
        #expect(Self.count(13, in: dumb.stderr) == 0 && Self.count(0x1B, in: dumb.stderr) == 0, "\(dumb.stderr.debugDescription)")
    }

    @Test func lineShowsBytesRateAndTimeLeft() async {
        let line = ProgressBar.line(label: "backup vm", done: 3 << 20, total: 12 << 20, elapsed: 2, width: 10)
        #expect(line == "backup vm [##        ]  25%  3.0 MiB/12.0 MiB  1.5 MiB/s  6s left")
        let done = ProgressBar.line(label: "backup vm", done: 0, total: 0, elapsed: 0, width: 4)
        #expect(done == "backup vm [####] 100%  0 B/0 B  0 B/s  done")
    }
}
