import CofferPlatform
import Foundation

/// Serve's read model: the answers of the GETs that read the platform (rendered ARM bodies), and the values
/// several answers are made of (a vault's protected items, for every page of their list), kept for the
/// platform's change stamp at which they were read.
///
/// Every request reads the stamp first (`Platform.changeStamp`: SQLite's `data_version` on a connection of
/// its own, no I/O); an entry is used only when its stamp is that one, so any commit to the platform — a
/// write through serve, the CLI in another process, the clock's scheduled backups and expiry — makes every
/// entry read before it unusable for the requests that start after it. The stamp is read before what is
/// computed from it, so an answer computed while a write commits is stored under the older stamp and never
/// served after the write returned. Entries of an older stamp are dropped when a newer one is seen; the
/// answers' bytes and the number of entries are bounded, past which the cache starts empty again (the
/// bound fits every VM of a large world: a refresh of 8 000 VMs reads each once per change).
final class ReadCache: @unchecked Sendable {
    /// The most answers and values kept for one stamp.
    static let maximumEntries = 65_536
    /// The most bytes of answers kept.
    static let maximumBytes = 128 << 20
    /// The largest answer kept (a page of 1 000 items is about 2 MiB).
    static let maximumBodySize = 4 << 20

    private let stamp: @Sendable () -> Int64?
    private let lock = NSLock()
    // Guarded by `lock`:
    private var newest: Int64 = .min
    private var responses: [String: (stamp: Int64, response: ARMResponse)] = [:]
    private var responseBytes = 0
    private var values: [String: (stamp: Int64, value: any Sendable)] = [:]

    /// A cache over `stamp`, which answers nil when the stamp cannot be read (then nothing is cached).
    init(stamp: @escaping @Sendable () -> Int64?) {
        self.stamp = stamp
    }

    /// A cache over the platform's change stamp.
    convenience init(platform: Platform) {
        self.init(stamp: { try? platform.changeStamp() })
    }

    /// The platform's stamp now, to read entries and store them under; nil when it cannot be read.
    func currentStamp() -> Int64? {
        guard let now = stamp() else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if now > newest {
            newest = now
            responses.removeAll(keepingCapacity: true)
            responseBytes = 0
            values.removeAll(keepingCapacity: true)
        }
        return now
    }

    /// The answer stored under `key` at `stamp`.
    func response(_ key: String, at stamp: Int64) -> ARMResponse? {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = responses[key], entry.stamp == stamp else { return nil }
        return entry.response
    }

    /// Keeps `response` for `key`, read at `stamp` (dropped when a newer stamp was seen meanwhile).
    func store(_ response: ARMResponse, _ key: String, at stamp: Int64) {
        guard (response.body?.count ?? 0) <= Self.maximumBodySize else { return }
        lock.lock()
        defer { lock.unlock() }
        guard stamp == newest else { return }
        let size = (response.body?.count ?? 0) + key.utf8.count
        if responses.count >= Self.maximumEntries || responseBytes + size > Self.maximumBytes {
            responses.removeAll(keepingCapacity: true)
            responseBytes = 0
        }
        if let replaced = responses.updateValue((stamp, response), forKey: key) {
            responseBytes -= (replaced.response.body?.count ?? 0) + key.utf8.count
        }
        responseBytes += size
    }

    /// The value stored under `key` at `stamp`, when it is a `T`.
    func value<T: Sendable>(_ key: String, at stamp: Int64, as type: T.Type = T.self) -> T? {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = values[key], entry.stamp == stamp else { return nil }
        return entry.value as? T
    }

    /// Keeps `value` for `key`, read at `stamp`.
    func store<T: Sendable>(value: T, _ key: String, at stamp: Int64) {
        lock.lock()
        defer { lock.unlock() }
        guard stamp == newest else { return }
        if values.count >= Self.maximumEntries { values.removeAll(keepingCapacity: true) }
        values[key] = (stamp, value)
    }
}
