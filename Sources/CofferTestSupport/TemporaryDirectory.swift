import Foundation

/// A fresh directory under the system's temporary directory, removed when the value is freed.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL
    public var path: String { url.path }

    public init(prefix: String = "coffer-test") throws {
        let base = FileManager.default.temporaryDirectory
        url = base.appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    public func path(_ component: String) -> String { url.appendingPathComponent(component).path }

    /// Writes text to a file inside the directory, creating folders on the way; returns its path.
    @discardableResult
    public func write(_ text: String, to component: String) throws -> String {
        let file = url.appendingPathComponent(component)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    /// Creates a sparse file of `size` bytes inside the directory: its length is set without writing it, so
    /// it takes no space and reads as zeros. Returns its path.
    @discardableResult
    public func sparseFile(_ component: String, size: UInt64) throws -> String {
        let file = path(component)
        guard FileManager.default.createFile(atPath: file, contents: nil), let handle = FileHandle(forWritingAtPath: file) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file])
        }
        do {
            try handle.truncate(atOffset: size)
        } catch {
            try? handle.close()
            throw error
        }
        try handle.close()
        return file
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
