import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on standard error for jobs that move data: bytes done, rate and time left.
/// Drawn only when standard error is a terminal; silent in pipes and files.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false
    private let width = 30

    /// A bar for `label`; `enabled` defaults to whether standard error is a terminal.
    init(label: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.enabled = enabled
    }

    /// Reports progress; redraws at most ten times a second, and always at the end.
    func update(done: UInt64, total: UInt64) {
        guard enabled else { return }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        drawn = true
        FileHandle.standardError.write(Data(("\r" + Self.line(label: label, done: done, total: total, elapsed: now.timeIntervalSince(start), width: width) + "\u{1B}[K").utf8))
    }

    /// Ends the bar's line (once, however often it is called).
    func finish() {
        guard enabled && drawn else { return }
        drawn = false
        FileHandle.standardError.write(Data("\n".utf8))
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
