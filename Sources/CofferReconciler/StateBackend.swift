import CofferModel
import Foundation

/// A state lock held by this process: released by `release()` or when freed.
public protocol HeldStateLock: AnyObject, Sendable {
    var owner: LockOwner { get }
    func release()
}

/// The state lock as an operator sees it (`coffer lock show`).
public struct LockStatus: Codable, Sendable, Hashable {
    /// Who holds it now; nil when nobody does.
    public var holder: LockOwner?
    /// Where the lock lives: the state directory's lock file, or the database.
    public var location: String

    public init(holder: LockOwner?, location: String) {
        self.holder = holder
        self.location = location
    }
}

/// Where the reconciler's state lives: its store (inventory, journal, history) and the lock that keeps two
/// applies from interleaving. Files under the state directory by default (`FileStateBackend`); a shared
/// database for several watchers.
public protocol StateBackend: Sendable {
    var store: any ReconcilerStateStore { get }
    /// Takes the lock for `operation`, waiting up to `timeout` seconds; a held lock throws `.locked` naming
    /// its holder.
    func acquireLock(operation: String, timeout: Double) throws -> any HeldStateLock
    /// Who holds the lock now.
    func lockStatus() throws -> LockStatus
    /// Breaks the lock another process holds (`coffer lock release --force`); returns whom it was taken from,
    /// nil when it was free.
    func forceReleaseLock() throws -> LockOwner?
    /// Where the state is, for messages (never with a password).
    var location: String { get }
}

/// The default backend: the files under `STATE/reconciler/`, locked with `flock`.
public struct FileStateBackend: StateBackend {
    public let stateDirectory: String
    public let fileStore: FileStateStore

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
        fileStore = FileStateStore(stateDirectory: stateDirectory)
    }

    public var store: any ReconcilerStateStore { fileStore }

    public var location: String { "the state directory '\(stateDirectory)'" }

    public func acquireLock(operation: String, timeout: Double) throws -> any HeldStateLock {
        try StateLock.acquire(stateDirectory: stateDirectory, operation: operation, timeout: timeout)
    }

    public func lockStatus() throws -> LockStatus {
        LockStatus(holder: try StateLock.holder(stateDirectory: stateDirectory), location: StateLock.path(stateDirectory: stateDirectory))
    }

    /// A file lock is the kernel's: it goes when its process ends, and no other process can take it away.
    /// So a held lock is never broken here; the error names the process to stop.
    public func forceReleaseLock() throws -> LockOwner? {
        guard let holder = try StateLock.holder(stateDirectory: stateDirectory) else { return nil }
        throw ReconcilerError(
            code: .locked,
            message: "the state in '\(stateDirectory)' is locked by \(holder): a file lock belongs to its process, which is alive",
            hint: "stop that process (pid \(holder.pid) on \(holder.host)); the kernel releases its lock when it exits, even on kill -9")
    }
}

/// A replica's hold on the leadership of a group of watchers: the term increases with every new leader, and
/// the lease ends at `expires` unless renewed.
public struct LeaderLease: Codable, Sendable, Hashable {
    public var group: String
    public var holder: String
    public var term: Int64
    public var expires: Date

    public init(group: String, holder: String, term: Int64, expires: Date) {
        self.group = group
        self.holder = holder
        self.term = term
        self.expires = expires
    }
}

/// What a campaign found.
public enum LeadershipState: Sendable, Hashable {
    /// This replica leads; the backend's writes now carry the lease's term.
    case leading(LeaderLease)
    /// Another replica leads (nil: nobody yet, or its lease is being taken over).
    case following(LeaderLease?)
}

/// Leader election among the watchers of a group, with fencing: once a replica leads with term T, the
/// backend refuses every write made with an older term, so a deposed leader that wakes up cannot apply.
public protocol LeaderElection: Sendable {
    /// Takes the lease when it is free or expired (a new term), keeps it when this replica holds it.
    func campaign(group: String, holder: String, ttl: Double) throws -> LeadershipState
    /// Extends the lease; nil when it was lost (another replica took it, or the term is over).
    func renew(_ lease: LeaderLease, ttl: Double) throws -> LeaderLease?
    /// Gives the lease up, so that a follower takes over at once.
    func resign(_ lease: LeaderLease) throws
}

extension StateBackend {
    /// The leader election of a backend that several machines share; the file backend has none.
    public func leaderElection() throws -> any LeaderElection {
        if let election = self as? any LeaderElection { return election }
        throw ReconcilerError(
            code: .sharedStateRequired,
            message: "replicas need a state that all of them share; \(location) belongs to one machine",
            hint: "give every replica the same --state-backend postgres://USER@HOST:PORT/DB")
    }
}
