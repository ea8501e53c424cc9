import Foundation

/// A one-line progress bar on standard error for jobs that move data: bytes done, rate and time left.
/// Drawn only when standard error is a terminal (and not a `dumb` one); silent in pipes and files.
///
/// A job that moves several items one after the other (a restore, disk by disk) reports each from zero:
/// with a `part` name the bar ends an item's line when the next one starts, and numbers the lines
/// (`restore lnx-db-01 disk 2 [...]`).
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let part: String?
    private let enabled: Bool
    private let lock = NSLock()
    private var start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false
    private var partNumber = 1
    private var partComplete = false
    private var lastDone: UInt64 = 0
    private let width = 30
    /// The console the bar was made for (progress callbacks may come from other threads).
    private let console = Console.current

    /// A bar for `label`; `part` names the items of a job that moves several; `enabled` defaults to whether
    /// standard error is a terminal.
    init(label: String, part: String? = nil, enabled: Bool = ProgressBar.standardErrorIsTerminal()) {
        self.label = label
        self.part = part
        self.enabled = enabled
    }

    /// Whether progress may be drawn: standard error is a terminal that is not `TERM=dumb`.
    static func standardErrorIsTerminal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        Console.current.errorIsTerminal && environment["TERM"] != "dumb"
    }

    /// Reports progress; redraws at most ten times a second, and always at the end.
    func update(done: UInt64, total: UInt64) {
        guard enabled else { return }
        lock.withLock {
            let now = Date()
            if part != nil && partComplete && (done < total || done < lastDone) {
                // The next item starts: keep the finished item's line and time the new one from here.
                endLine()
                partNumber += 1
                start = now
                lastDraw = .distantPast
            }
            partComplete = done >= total
            lastDone = done
            guard done >= total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            drawn = true
            let name = part.map { "\(label) \($0) \(partNumber)" } ?? label
            let line = Self.line(label: name, done: done, total: total, elapsed: now.timeIntervalSince(start), width: width)
            console.writeError(Data(("\r" + line + "\u{1B}[K").utf8))
        }
    }

    /// Ends the bar's line (once, however often it is called).
    func finish() {
        guard enabled else { return }
        lock.withLock { endLine() }
    }

    private func endLine() {
        guard drawn else { return }
        drawn = false
        console.writeError(Data("\n".utf8))
    }

    /// The bar's text: `label [#####     ]  42%  12.0 MiB/28.5 MiB  6.1 MiB/s  3s left`.
    static func line(label: String, done: UInt64, total: UInt64, elapsed: TimeInterval, width: Int) -> String {
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left: String
        if done >= total {
            left = "done"
        } else if rate > 0 {
            left = "\(Int((Double(total - done) / rate).rounded(.up)))s left"
        } else {
            left = "-"
        }
        let percent = String(format: "%3d%%", Int((fraction * 100).rounded(.down)))
        return "\(label) [\(bar)] \(percent)  \(PlatformCLI.bytes(Int64(done)))/\(PlatformCLI.bytes(Int64(total)))  "
            + "\(PlatformCLI.bytes(Int64(rate)))/s  \(left)"
    }
}

/// Progress of the scheduled backups a clock move runs: one bar per backup, labelled with its VM.
final class ScheduledBackupProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var current: (vm: String, bar: ProgressBar)?
    private var lastDone: UInt64 = 0
    private let enabled: Bool

    init(enabled: Bool = ProgressBar.standardErrorIsTerminal()) {
        self.enabled = enabled
    }

    func update(vm: String, done: UInt64, total: UInt64) {
        guard enabled else { return }
        let bar: ProgressBar = lock.withLock {
            defer { lastDone = done }
            // The same VM from zero again is its next scheduled backup: a line of its own.
            if let current, current.vm == vm, done >= lastDone { return current.bar }
            current?.bar.finish()
            let bar = ProgressBar(label: "scheduled backup \(vm)", enabled: true)
            current = (vm, bar)
            return bar
        }
        bar.update(done: done, total: total)
    }

    func finish() {
        lock.withLock {
            current?.bar.finish()
            current = nil
        }
    }
}
