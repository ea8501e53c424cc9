import CofferSystem
import Foundation

/// Durable file operations for the reconciler's state, through CofferSystem's one implementation of atomic
/// replace and fsynced append; failures become `ReconcilerError`s with the file-system error as the cause.
enum StateFiles {
    /// Replaces `path` with `data` atomically: write a temporary file, fsync it, rename it over `path`, fsync
    /// the directory.
    static func atomicWrite(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try presentingSystemErrors { try FileSystem.writeAtomically([UInt8](data), to: path) }
    }

    /// Appends one line to `path` and fsyncs it, so that a record survives a crash right after it returns.
    /// A torn last line left by a crash mid-append is cut off first (`FileSystem.appendLine`).
    static func appendLine(_ line: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try presentingSystemErrors { try FileSystem.appendLine([UInt8](line), to: path) }
    }

    /// Makes renames and removals in `directory` durable.
    static func syncDirectory(_ directory: String) throws {
        try presentingSystemErrors { try FileSystem.syncDirectory(directory) }
    }

    /// Runs `body`, presenting a file-system failure as the reconciler's `state-io` error.
    static func presentingSystemErrors<T>(_ body: () throws -> T) rethrows -> T {
        do {
            return try body()
        } catch let error as SystemError {
            throw ioError(error)
        }
    }

    /// The reconciler's error for a failed file-system operation: the C function, the path and the reason.
    static func ioError(_ error: SystemError) -> ReconcilerError {
        let function = error.systemCall?.function ?? "access"
        let reason = error.systemCall?.reason ?? error.message
        return ReconcilerError(
            code: .io, message: "\(function) of '\(error.path)' failed: \(reason)",
            hint: "check that the state directory exists and is writable", underlying: error)
    }
}
