import CofferReconciler
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A replica's leadership of its group: campaigns for the lease, and while it leads, renews it from a thread
/// of its own every third of the lease's time, so that a long apply does not let it lapse. When a renewal
/// finds the lease taken (or cannot reach the backend for a whole lease), the replica is deposed: `isLeading`
/// turns false at once, the running apply stops before its next step, and the backend's fencing refuses any
/// write still made with the old term.
public final class Leadership: @unchecked Sendable {
    public let group: String
    public let holder: String
    public let ttl: Double
    private let election: any LeaderElection
    private let lock = NSLock()
    private var lease: LeaderLease?
    private var lastRenewal = Date.distantPast
    private var deposedReason: String?
    private var renewer: Thread?
    private var generation = 0

    public init(election: any LeaderElection, group: String, ttl: Double, holder: String = Leadership.defaultHolder()) {
        self.election = election
        self.group = group
        self.ttl = ttl
        self.holder = holder
    }

    /// This process's name in the lease: host, pid and a random suffix (a restarted process is another holder).
    public static func defaultHolder() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The lease while this replica leads.
    public var currentLease: LeaderLease? { lock.withLock { lease } }
    public var isLeading: Bool { currentLease != nil }

    /// Why the last lease was lost, once (nil when it was not).
    public func takeDeposedReason() -> String? {
        lock.withLock {
            defer { deposedReason = nil }
            return deposedReason
        }
    }

    /// Campaigns: returns the state after it; starts renewing when this replica became the leader.
    public func campaign() throws -> LeadershipState {
        if let lease = currentLease { return .leading(lease) }
        let state = try election.campaign(group: group, holder: holder, ttl: ttl)
        if case .leading(let lease) = state {
            let generation = lock.withLock { () -> Int in
                self.lease = lease
                lastRenewal = Date()
                deposedReason = nil
                self.generation += 1
                return self.generation
            }
            startRenewing(generation)
        }
        return state
    }

    /// Gives the lease up (on a clean stop), so that a follower takes over at once.
    public func resign() {
        let lease = lock.withLock { () -> LeaderLease? in
            defer {
                self.lease = nil
                generation += 1
            }
            return self.lease
        }
        if let lease { try? election.resign(lease) }
    }

    private func depose(_ reason: String, generation: Int) {
        lock.withLock {
            guard self.generation == generation, lease != nil else { return }
            lease = nil
            deposedReason = reason
            self.generation += 1
        }
    }

    private func startRenewing(_ generation: Int) {
        let thread = Thread { [weak self] in
            while let self {
                let (lease, last, current) = self.lock.withLock { (self.lease, self.lastRenewal, self.generation) }
                guard let lease, current == generation else { return }
                Thread.sleep(forTimeInterval: max(0.05, self.ttl / 3))
                guard self.lock.withLock({ self.generation == generation }) else { return }
                do {
                    if let renewed = try self.election.renew(lease, ttl: self.ttl) {
                        self.lock.withLock {
                            if self.generation == generation {
                                self.lease = renewed
                                self.lastRenewal = Date()
                            }
                        }
                    } else {
                        self.depose("another replica holds the lease of group '\(self.group)' now", generation: generation)
                        return
                    }
                } catch {
                    // The backend is unreachable: the lease may lapse; past it, this replica must assume it has.
                    if Date().timeIntervalSince(last) >= self.ttl {
                        self.depose("the lease could not be renewed for \(Int(self.ttl)) s: \(error)", generation: generation)
                        return
                    }
                }
            }
        }
        thread.name = "coffer-lease"
        lock.withLock { renewer = thread }
        thread.start()
    }
}
