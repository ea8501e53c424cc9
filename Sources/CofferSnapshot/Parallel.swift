import Dispatch
import Foundation

/// A value carried into a concurrently running closure; the caller guarantees that the work it does from
/// several threads touches disjoint memory, or is ordered by a wait.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// Runs `body(i)` for every `i` in `0 ..< count` on all cores and returns when all are done, rethrowing the
/// first error. Each call must touch only memory no other index touches (its own block of a buffer).
func parallelForEach(_ count: Int, _ body: (Int) throws -> Void) throws {
    if count == 0 { return }
    let workers = min(count, ProcessInfo.processInfo.activeProcessorCount * 4)
    if workers <= 1 || ProcessInfo.processInfo.activeProcessorCount == 1 {
        for i in 0..<count { try body(i) }
        return
    }
    let failure = FirstError()
    try withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(value: body)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = (worker * count / workers)..<((worker + 1) * count / workers)
            for i in range {
                if failure.isSet { return }
                do { try work.value(i) } catch { failure.set(error) }
            }
        }
        if let error = failure.error { throw error }
    }
}

/// The first error of several threads.
private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stored != nil
    }

    var error: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func set(_ error: any Error) {
        lock.lock()
        defer { lock.unlock() }
        if stored == nil { stored = error }
    }
}

/// One background thread that runs submitted work in order, at most one item ahead of the caller, so that
/// writing one batch overlaps preparing the next.
final class BackgroundStage: @unchecked Sendable {
    private let queue: DispatchQueue
    private let group = DispatchGroup()
    /// Written by the background item, read only after `group.wait()`.
    private var failure: (any Error)?

    init(label: String) { queue = DispatchQueue(label: label) }

    /// Waits for the previous item (rethrowing its error), then starts `work` in the background; whatever
    /// `work` uses must stay valid until the next `submit` or `wait` returns. Once `wait` returns, the stage
    /// holds nothing `work` captured: the work is released before the item counts as done (the queue frees
    /// its block only after that, and a device the work held would otherwise stay open a moment longer).
    func submit(_ work: @escaping () throws -> Void) throws {
        try wait()
        let item = SharedBox<(() throws -> Void)?>(work)
        queue.async(group: group) {
            do { try item.value?() } catch { self.failure = error }
            item.value = nil
        }
    }

    /// Waits for the item in flight and rethrows its error.
    func wait() throws {
        group.wait()
        if let failure {
            self.failure = nil
            throw failure
        }
    }
}

/// A mutable value shared with background work, ordered by `BackgroundStage.wait()`.
final class SharedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
