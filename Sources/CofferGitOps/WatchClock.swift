import Foundation

/// The time of a watch loop: what time it is, and waiting between polls. The loop reads no other clock, so
/// a test drives it with `ManualWatchClock` and never waits.
public protocol WatchClock: Sendable {
    /// The current time.
    func now() -> Date
    /// Waits `seconds` without holding a thread, or less when the watch is asked to stop; returns false
    /// when it was.
    func sleep(seconds: Double) async -> Bool
}

/// A flag that a signal handler sets and a sleeper can wait on.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    public init() {}

    /// Whether a stop was requested.
    public var isStopped: Bool { lock.withLock { stopped } }

    /// Requests the stop; safe from any thread, more than once.
    public func stop() {
        lock.withLock { stopped = true }
    }

    /// Sleeps up to `seconds` without holding a thread, waking within a few milliseconds when stopped.
    /// Returns false when stopped.
    @discardableResult
    public func sleep(_ seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, seconds) * 1000))
        while !isStopped {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return true }
            try? await Task.sleep(for: min(left, .milliseconds(20)))
        }
        return false
    }
}

/// The wall clock; sleeps wake early when `stop` is signalled.
public struct SystemWatchClock: WatchClock {
    public let stop: StopSignal

    public init(stop: StopSignal) {
        self.stop = stop
    }

    public func now() -> Date { Date() }

    public func sleep(seconds: Double) async -> Bool { await stop.sleep(seconds) }
}

/// A clock that only moves when slept on or advanced, and records every sleep asked of it: tests see the
/// loop's intervals and backoff delays without waiting.
public final class ManualWatchClock: WatchClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    private var requested: [Double] = []
    private let onSleep: @Sendable (_ index: Int, _ seconds: Double) -> Bool

    /// A clock at `start`. `onSleep` runs at each sleep, after the clock moved on by its length, with the
    /// sleep's index (from 0) and length: a test changes the world there (a commit, a stop), and returns
    /// false to stop the loop.
    public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000), onSleep: @escaping @Sendable (_ index: Int, _ seconds: Double) -> Bool = { _, _ in true }) {
        current = start
        self.onSleep = onSleep
    }

    /// Every sleep asked for so far, in seconds, in order.
    public var sleeps: [Double] { lock.withLock { requested } }

    public func now() -> Date { lock.withLock { current } }

    /// Moves the clock on without a sleep.
    public func advance(by seconds: Double) {
        lock.withLock { current += seconds }
    }

    public func sleep(seconds: Double) async -> Bool {
        let index = lock.withLock { () -> Int in
            requested.append(seconds)
            current += seconds
            return requested.count - 1
        }
        return onSleep(index, seconds)
    }
}
