import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who holds the state lock.
public struct LockOwner: Codable, Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var host: String
    public var operation: String
    public var since: Date

    public init(pid: Int32, host: String, operation: String, since: Date) {
        self.pid = pid
        self.host = host
        self.operation = operation
        self.since = since
    }

    public var description: String {
        "\(operation) (pid \(pid) on \(host), since \(since.formatted(.iso8601)))"
    }
}

/// An exclusive lock on the state directory, so that two applies never interleave.
///
/// It is an advisory `flock` on `STATE/reconciler/lock`: the kernel releases it when its process exits or is
/// killed, so a lock whose process is gone is never stuck; the file also records the owner (pid, host,
/// operation, since) so that a waiting process can say who holds it.
public final class StateLock: @unchecked Sendable {
    private let fd: Int32
    public let owner: LockOwner

    private init(fd: Int32, owner: LockOwner) {
        self.fd = fd
        self.owner = owner
    }

    /// Takes the lock, waiting up to `timeout` seconds (0: try once). Throws `.locked` naming the holder when
    /// it cannot be had in time.
    public static func acquire(stateDirectory: String, operation: String, timeout: Double = 0) throws -> StateLock {
        let directory = (stateDirectory as NSString).appendingPathComponent("reconciler")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateFiles.ioError("open", path) }
        let deadline = Date().addingTimeInterval(timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                close(fd)
                throw StateFiles.ioError("flock", path)
            }
            if Date() >= deadline {
                let holder = readOwner(fd)
                close(fd)
                throw ReconcilerError(
                    code: .locked,
                    message: "the state in '\(stateDirectory)' is locked by " + (holder?.description ?? "another process"),
                    hint: "wait for it to finish (or pass a longer --lock-timeout); a killed process releases the lock by itself")
            }
            usleep(50_000)
        }
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let owner = LockOwner(
            pid: getpid(), host: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
            operation: operation, since: Date())
        if let data = try? JSONEncoder.iso.encode(owner) {
            ftruncate(fd, 0)
            _ = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            fsync(fd)
        }
        return StateLock(fd: fd, owner: owner)
    }

    private static func readOwner(_ fd: Int32) -> LockOwner? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return try? JSONDecoder.iso.decode(LockOwner.self, from: Data(buffer[0..<count]))
    }

    /// Releases the lock; also done when the value is freed.
    public func release() {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
    }

    deinit {
        release()
        close(fd)
    }
}

extension JSONEncoder {
    /// Sorted keys and ISO 8601 dates: the reconciler's files are stable and readable.
    static var iso: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    static var iso: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
