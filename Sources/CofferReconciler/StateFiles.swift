import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Durable file operations for the reconciler's state: atomic replace and fsynced append.
enum StateFiles {
    /// Replaces `path` with `data` atomically: write a temp file, fsync it, rename it over, fsync the directory.
    static func atomicWrite(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ioError("open", temporary) }
        defer { close(fd) }
        try writeAll(fd, data, path: temporary)
        guard fsync(fd) == 0 else { throw ioError("fsync", temporary) }
        guard rename(temporary, path) == 0 else { throw ioError("rename", path) }
        try syncDirectory(directory)
    }

    /// Appends one line to `path` and fsyncs it, so that a record survives a crash right after it returns.
    /// When a crash tore the previous line (no newline at the end), the record starts on a line of its own,
    /// so the torn fragment stays a lone unreadable line instead of swallowing this record.
    static func appendLine(_ line: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        var record = Data()
        let size = lseek(fd, 0, SEEK_END)
        if size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, size - 1) == 1, last != 0x0a { record.append(0x0a) }
        }
        record.append(line)
        record.append(0x0a)
        try writeAll(fd, record, path: path)
        guard fsync(fd) == 0 else { throw ioError("fsync", path) }
    }

    static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("fsync", directory) }
    }

    private static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ioError("write", path)
                }
                offset += written
            }
        }
    }

    static func ioError(_ function: String, _ path: String) -> ReconcilerError {
        let reason = String(cString: strerror(errno))
        return ReconcilerError(
            code: .io, message: "\(function) of '\(path)' failed: \(reason)",
            hint: "check that the state directory exists and is writable")
    }
}
