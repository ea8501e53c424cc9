import CofferSystem
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
public final class StateLock: HeldStateLock, @unchecked Sendable {
    private let file: SystemFile
    public let owner: LockOwner

    private init(file: SystemFile, owner: LockOwner) {
        self.file = file
        self.owner = owner
    }

    /// Takes the lock, waiting up to `timeout` seconds (0: try once). Throws `.locked` naming the holder when
    /// it cannot be had in time.
    public static func acquire(stateDirectory: String, operation: String, timeout: Double = 0) throws -> StateLock {
        let path = path(stateDirectory: stateDirectory)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let file = try StateFiles.presentingSystemErrors { try SystemFile.open(path, flags: O_RDWR | O_CREAT) }
        let deadline = Date().addingTimeInterval(timeout)
        while try !StateFiles.presentingSystemErrors({ try file.lock(exclusive: true, wait: false) }) {
            if Date() >= deadline {
                let holder = readOwner(file)
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
        // The owner record is for people only: the lock holds even when it cannot be written.
        if let data = try? JSONEncoder.iso.encode(owner) {
            try? file.truncate(to: 0)
            try? file.write([UInt8](data), at: 0)
            try? file.sync()
        }
        return StateLock(file: file, owner: owner)
    }

    /// The lock file of a state directory.
    public static func path(stateDirectory: String) -> String {
        ((stateDirectory as NSString).appendingPathComponent("reconciler") as NSString).appendingPathComponent("lock")
    }

    /// Who holds the lock of `stateDirectory` now, without taking it: nil when it is free (a shared lock can be
    /// had) or was never created.
    public static func holder(stateDirectory: String) throws -> LockOwner? {
        let path = path(stateDirectory: stateDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let file = try StateFiles.presentingSystemErrors { try SystemFile.open(path, flags: O_RDONLY) }
        if try StateFiles.presentingSystemErrors({ try file.lock(exclusive: false, wait: false) }) {
            file.unlock()
            return nil
        }
        return readOwner(file) ?? LockOwner(pid: 0, host: "?", operation: "unknown", since: Date(timeIntervalSince1970: 0))
    }

    private static func readOwner(_ file: SystemFile) -> LockOwner? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        guard let count = try? buffer.withUnsafeMutableBytes({ try file.read(into: $0, at: 0) }), count > 0 else { return nil }
        return try? JSONDecoder.iso.decode(LockOwner.self, from: Data(buffer[0..<count]))
    }

    /// Releases the lock; also done when the value is freed.
    public func release() {
        try? file.truncate(to: 0)
        file.unlock()
    }

    deinit {
        release()
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
