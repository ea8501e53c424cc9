import Foundation

/// Lines written by a thread of its own, so that a server logging every request does not make a system call
/// per request on the request's path: `write` appends the line to a buffer and returns; the thread, woken at
/// once when it was idle (and not woken again while it writes), writes everything gathered by then in one call. Lines therefore leave immediately when they are
/// few and in batches under load, in the order they were written. When the buffer holds `maximumPending`
/// bytes, `write` waits for the thread (the log is never dropped). `close()` writes what is left.
final class BufferedLineWriter: @unchecked Sendable {
    /// The most bytes waiting before `write` blocks.
    static let maximumPending = 4 << 20

    private let sink: @Sendable (Data) -> Void
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var pending = Data()
    private var writing = false
    private var closed = false
    private var finished = false
    /// Whether the thread waits for lines (then the next line wakes it; while it writes, none needs to).
    private var idle = false

    /// A writer handing its batches to `sink` (the console's standard output, say), from its own thread.
    init(sink: @escaping @Sendable (Data) -> Void) {
        self.sink = sink
        let thread = Thread { [self] in drain() }
        thread.name = "coffer.log-writer"
        thread.start()
    }

    /// Appends `line` and a newline; after `close()`, writes it at once on the caller's thread.
    func write(_ line: String) {
        condition.lock()
        while pending.count >= Self.maximumPending && !closed { condition.wait() }
        if closed {
            // After the thread's last batch, so that lines keep their order.
            while !finished { condition.wait() }
            condition.unlock()
            sink(Data((line + "\n").utf8))
            return
        }
        pending.append(contentsOf: line.utf8)
        pending.append(0x0a)
        if idle {
            idle = false
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Returns once every line written before the call has been handed to the sink.
    func flush() {
        condition.lock()
        while !pending.isEmpty || writing { condition.wait() }
        condition.unlock()
    }

    /// Writes what is left and stops the thread; later lines are written directly.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func drain() {
        condition.lock()
        while true {
            while pending.isEmpty && !closed {
                idle = true
                condition.wait()
            }
            idle = false
            if pending.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = pending
            pending = Data()
            writing = true
            condition.unlock()
            sink(batch)
            condition.lock()
            writing = false
            condition.broadcast()
        }
    }
}
