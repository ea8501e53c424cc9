import CofferSystem
import Crypto
public import Foundation

/// A bearer token's record: never the token, only its SHA-256.
public struct TokenRecord: Codable, Sendable, Hashable {
    /// The public part of the token (`coffer.ID.SECRET`), by which it is listed and revoked.
    public var id: String
    /// SHA-256 of the whole token, hexadecimal.
    public var sha256: String
    public var created: Date
    public var expires: Date
    public var revoked: Date?
    /// What the token is for, as given when it was issued.
    public var description: String?

    /// `active`, `expired` or `revoked` at `now`.
    public func state(at now: Date) -> String {
        if revoked != nil { return "revoked" }
        return expires <= now ? "expired" : "active"
    }
}

/// A token just issued: the only time its secret exists outside the client.
public struct IssuedToken: Sendable {
    public var token: String
    public var record: TokenRecord
}

/// The bearer tokens of `coffer serve`, in `serve/tokens.json` (mode 0600) of the state directory: each one
/// random (256 bits), stored as its SHA-256 only, with an expiry, revocable. The CLI issues and revokes them
/// while serve runs; serve reads the file again whenever it changes, so a revocation holds at once.
public final class TokenStore: Sendable {
    /// The file's path.
    public let path: String
    private let lockPath: String
    private let cache = LockedCache()

    /// The longest life a token may be given.
    public static let maximumLifetime: TimeInterval = 366 * 86400
    /// The most tokens kept; issuing drops expired and revoked ones past it.
    static let maximumTokens = 1000
    /// The largest token file read.
    static let maximumFileSize = 1 << 20
    static let prefix = "coffer"

    public init(directory: String) {
        path = FileSystem.join(directory, "tokens.json")
        lockPath = FileSystem.join(directory, "tokens.lock")
    }

    // MARK: Issuing and revoking (the CLI)

    /// Issues a token valid for `lifetime` seconds and records its hash.
    public func issue(lifetime: TimeInterval, description: String?, now: Date = Date()) throws -> IssuedToken {
        guard lifetime > 0, lifetime <= Self.maximumLifetime else {
            throw ServeError(.invalidArgument, "a token lives from one second to 366 days", hint: "give --expires-in between 1s and 366d")
        }
        let id = Hex.random(6)
        let secret = Self.base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
        let token = "\(Self.prefix).\(id).\(secret)"
        let record = TokenRecord(
            id: id, sha256: Self.digest(token), created: now, expires: now.addingTimeInterval(lifetime), revoked: nil,
            description: description)
        try update { records in
            records.append(record)
            if records.count > Self.maximumTokens {
                let live = records.filter { $0.state(at: now) == "active" }
                records = Array(live.suffix(Self.maximumTokens))
            }
        }
        return IssuedToken(token: token, record: record)
    }

    /// Revokes the token with this id (a revoked token is refused from then on).
    @discardableResult
    public func revoke(id: String, now: Date = Date()) throws -> TokenRecord {
        var revoked: TokenRecord?
        try update { records in
            guard let index = records.firstIndex(where: { $0.id == id.lowercased() }) else { return }
            if records[index].revoked == nil { records[index].revoked = now }
            revoked = records[index]
        }
        guard let revoked else {
            throw ServeError(.tokenNotFound, "there is no token '\(id)'", hint: "list them with 'coffer serve token --list'")
        }
        return revoked
    }

    /// Every token's record, oldest first.
    public func records() throws -> [TokenRecord] { try load().records }

    // MARK: Checking (serve)

    /// Why `token` is refused, or nil when it is a live token of this store.
    ///
    /// A token found good is remembered by its SHA-256 for as long as the file does not change, so that its
    /// next requests cost a digest and a dictionary lookup; its expiry and revocation are checked on every
    /// request all the same (the file's state is read on each: a revocation changes it, and the memory
    /// with it).
    public func refusal(of token: String, now: Date = Date()) -> String? {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].elementsEqual(Self.prefix.utf8), parts[1].count == 12, parts[2].count == 43 else {
            return "it is not a coffer serve token"
        }
        let version: TokenFileVersion
        do {
            version = try current()
        } catch {
            return "the token file cannot be read"
        }
        let digest = SHA256.hash(data: Array(token.utf8))
        let record: TokenRecord
        if let known = version.validated(digest) {
            record = known
        } else {
            guard let candidate = version.records[String(decoding: parts[1], as: UTF8.self)],
                Self.constantTimeEqual(Array(Hex.encode(Array(digest)).utf8), Array(candidate.sha256.utf8))
            else { return "it is not a token of this platform" }
            version.remember(digest, candidate)
            record = candidate
        }
        if record.revoked != nil { return "it has been revoked" }
        if record.expires <= now {
            return "it expired at \(record.expires.formatted(.iso8601))"
        }
        return nil
    }

    // MARK: The file

    struct File: Codable {
        var format_version = "1"
        var tokens: [TokenRecord]
    }

    /// The records, read again only when the file changed (its inode, size or modification time).
    private func current() throws -> TokenFileVersion {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return cache.version(for: nil) { [] } }
            throw ServeError(.tokens, "cannot read \(path)")
        }
        let stamp = FileStamp(inode: UInt64(info.st_ino), size: Int64(info.st_size), seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int64(info.st_mtim.tv_nsec))
        return try cache.version(for: stamp) { try load().records }
    }

    private func load() throws -> (records: [TokenRecord], exists: Bool) {
        guard FileSystem.exists(path) else { return ([], false) }
        do {
            let file = try SystemFile.open(path, flags: O_RDONLY)
            guard try file.size() <= UInt64(Self.maximumFileSize) else {
                throw ServeError(.tokens, "\(path) is larger than \(Self.maximumFileSize) bytes")
            }
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return (try decoder.decode(File.self, from: Data(try file.readAll())).tokens, true)
        } catch let error as ServeError {
            throw error
        } catch {
            throw ServeError(.tokens, "cannot read \(path): \(error)", hint: "issue new tokens after removing it", underlying: error)
        }
    }

    /// A read-modify-write of the file under its lock.
    private func update(_ change: (inout [TokenRecord]) -> Void) throws {
        do {
            try ServeCertificates.ensureDirectory(FileSystem.parent(path))
            let lock = try SystemFile.open(lockPath, flags: O_RDWR | O_CREAT)
            _ = try lock.lock(exclusive: true, wait: true)
            defer { lock.unlock() }
            var records = try load().records
            change(&records)
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileSystem.writeAtomically(Array(try encoder.encode(File(tokens: records))), to: path)
        } catch let error as ServeError {
            throw error
        } catch {
            throw ServeError(.tokens, "cannot write \(path): \(error)", underlying: error)
        }
    }

    static func digest(_ token: String) -> String {
        Hex.encode(Array(SHA256.hash(data: Array(token.utf8))))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// What identifies a version of the token file.
struct FileStamp: Hashable, Sendable {
    var inode: UInt64
    var size: Int64
    var seconds: Int64
    var nanoseconds: Int64
}

/// One version of the token file as serve read it: its records by id, and the tokens found good against
/// them, by their SHA-256 (never the token itself).
final class TokenFileVersion: @unchecked Sendable {
    let stamp: FileStamp?
    let records: [String: TokenRecord]
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var good: [SHA256Digest: TokenRecord] = [:]

    init(stamp: FileStamp?, records: [TokenRecord]) {
        self.stamp = stamp
        self.records = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The record of a token found good before, by the token's digest.
    func validated(_ digest: SHA256Digest) -> TokenRecord? {
        lock.lock()
        defer { lock.unlock() }
        return good[digest]
    }

    /// Remembers a token found good (at most as many as there are records).
    func remember(_ digest: SHA256Digest, _ record: TokenRecord) {
        lock.lock()
        defer { lock.unlock() }
        if good.count < max(records.count, 1) { good[digest] = record }
    }
}

/// The last version of the token file read.
final class LockedCache: @unchecked Sendable {
    private let lock = NSLock()
    private var current: TokenFileVersion?

    /// The version with this stamp (nil: no file): the one kept, or `read` made into a new one.
    func version(for stamp: FileStamp?, read: () throws -> [TokenRecord]) rethrows -> TokenFileVersion {
        lock.lock()
        if let current, current.stamp == stamp, stamp != nil {
            lock.unlock()
            return current
        }
        lock.unlock()
        let version = TokenFileVersion(stamp: stamp, records: try read())
        lock.lock()
        defer { lock.unlock() }
        current = version
        return version
    }
}
