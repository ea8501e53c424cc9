import CofferARM
import Foundation
import ServiceLifecycle

/// A long-running operation: what a client polls at the status URLs of a 202.
struct Operation: Sendable {
    enum Status: String, Sendable {
        case inProgress = "InProgress"
        case succeeded = "Succeeded"
        case failed = "Failed"
    }

    var id: String
    /// The vault the operation belongs to (lower-cased), so that it answers only under that vault's paths; for
    /// a cross-region restore, the subscription's secondary region (`Handlers.crossRegionScope`).
    var scope: String
    var status: Status
    var start: Date
    var end: Date?
    var error: ARMErrorDetail?
    /// The job the operation started (Backup now, restore), for `properties.jobId`.
    var jobID: String?
    /// Status polls that answer `InProgress` even once the work is done, so that clients see the
    /// operation run (`ServeConfiguration.minimumPolls`).
    var pollsLeft: Int

    /// The status as the next poll sees it.
    var visibleStatus: Status { pollsLeft > 0 ? .inProgress : status }
}

/// Every operation since serve started, in memory: a client polls within seconds, and a restart forgets
/// them (their jobs stay in the platform). At most `capacity` are kept; the oldest finished ones go first.
actor OperationStore {
    private var operations: [String: Operation] = [:]
    private var order: [String] = []
    private var running: [String: Task<Void, Never>] = [:]
    /// Requests waiting for an operation to end (`awaitEnd`), each with the timer that gives up on it.
    private var waiters: [String: [(token: Int, continuation: CheckedContinuation<Void, Never>, timer: Task<Void, Never>)]] = [:]
    private var nextWaiter = 0
    private var accepting = true
    let capacity: Int
    let minimumPolls: Int

    init(capacity: Int = 10_000, minimumPolls: Int) {
        self.capacity = capacity
        self.minimumPolls = minimumPolls
    }

    /// Records a new operation under `scope` and runs `work` in the background; its result (a job id, or an
    /// error) finishes the operation. Nil once serve is shutting down.
    func start(scope: String, work: @escaping @Sendable () async -> Result<String?, ARMError>) -> Operation? {
        guard accepting else { return nil }
        let operation = Operation(
            id: UUID().uuidString.lowercased(), scope: scope.lowercased(), status: .inProgress, start: Date(), end: nil, error: nil,
            jobID: nil, pollsLeft: minimumPolls)
        operations[operation.id] = operation
        order.append(operation.id)
        evict()
        let id = operation.id
        running[id] = Task {
            let result = await work()
            await self.finish(id, result)
        }
        return operation
    }

    private func finish(_ id: String, _ result: Result<String?, ARMError>) {
        running[id] = nil
        guard var operation = operations[id] else { return }
        operation.end = Date()
        switch result {
        case .success(let jobID):
            operation.status = .succeeded
            operation.jobID = jobID
        case .failure(let error):
            operation.status = .failed
            operation.error = ARMErrorDetail(code: error.code, message: error.message)
        }
        operations[id] = operation
        for waiter in waiters.removeValue(forKey: id) ?? [] {
            waiter.timer.cancel()
            waiter.continuation.resume()
        }
    }

    /// The operation once it has ended, waiting up to `grace` for it; nil when it still runs after that (or
    /// there is no such operation). The wait does not count as a poll.
    func awaitEnd(_ id: String, within grace: Duration) async -> Operation? {
        if let operation = operations[id], operation.status != .inProgress { return operation }
        guard grace > .zero, running[id] != nil else { return nil }
        nextWaiter += 1
        let token = nextWaiter
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let timer = Task {
                try? await Task.sleep(for: grace)
                guard !Task.isCancelled else { return }
                await self.giveUp(id, token: token)
            }
            waiters[id, default: []].append((token, continuation, timer))
        }
        guard let operation = operations[id], operation.status != .inProgress else { return nil }
        return operation
    }

    private func giveUp(_ id: String, token: Int) {
        guard var list = waiters[id], let index = list.firstIndex(where: { $0.token == token }) else { return }
        let waiter = list.remove(at: index)
        waiters[id] = list.isEmpty ? nil : list
        waiter.continuation.resume()
    }

    /// Forgets an ended operation whose end was the answer to its request: no client was given its URLs.
    func forget(_ id: String) {
        guard let operation = operations[id], operation.status != .inProgress else { return }
        operations[id] = nil
    }

    /// The operation as a poll under `scope` sees it (counting the poll), or nil when there is none.
    func poll(_ id: String, scope: String) -> Operation? {
        guard var operation = operations[id.lowercased()], operation.scope == scope.lowercased() else { return nil }
        let seen = operation
        if operation.pollsLeft > 0 {
            operation.pollsLeft -= 1
            operations[operation.id] = operation
        }
        return seen
    }

    /// Stops taking new operations and waits for the running ones to finish.
    func drain() async {
        accepting = false
        while let (_, task) = running.first {
            await task.value
        }
    }

    private func evict() {
        // Forgotten operations leave their ids in `order`; they go when it grows to twice the capacity.
        if order.count > 2 * capacity { order.removeAll { operations[$0] == nil } }
        guard operations.count > capacity else { return }
        var kept: [String] = []
        for id in order {
            guard let operation = operations[id] else { continue }
            if operations.count > capacity, operation.status != .inProgress {
                operations[id] = nil
            } else {
                kept.append(id)
            }
        }
        order = kept
    }
}

/// The service that, on graceful shutdown, lets the running operations finish (after the HTTP server has
/// stopped taking requests and finished those in flight).
struct OperationDrain: Service {
    let store: OperationStore

    func run() async throws {
        try? await gracefulShutdown()
        await store.drain()
    }
}
