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
    /// When a crash tore the previous line (no newline at the end), the torn fragment is cut off first, so
    /// that it neither swallows this record nor stays behind as an unreadable line in the middle of the file.
    static func appendLine(_ line: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ioError("open", path) }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        if size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, size - 1) == 1, last != 0x0a {
                guard ftruncate(fd, try endOfLastCompleteLine(fd, size: size, path: path)) == 0 else {
                    throw ioError("ftruncate", path)
                }
            }
        }
        var record = Data()
        record.append(line)
        record.append(0x0a)
        try writeAll(fd, record, path: path)
        guard fsync(fd) == 0 else { throw ioError("fsync", path) }
    }

    /// The offset just past the last newline before `size`, or 0 when there is none.
    private static func endOfLastCompleteLine(_ fd: Int32, size: off_t, path: String) throws -> off_t {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var end = size
        while end > 0 {
            let start = max(0, end - off_t(buffer.count))
            let count = Int(end - start)
            let read = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, start) }
            guard read == count else { throw ioError("pread", path) }
            if let newline = buffer[..<count].lastIndex(of: 0x0a) { return start + off_t(newline) + 1 }
            end = start
        }
        return 0
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
