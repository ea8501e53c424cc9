#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few file-system calls a load makes, straight to POSIX: one `open` and `fstat` per file, so that the
/// type and size checked are those of the file actually read.
public enum FileAccess {
    /// What a path names.
    public enum Kind: Sendable {
        case regular, directory, symbolicLink, other, missing
    }

    /// The kind of the file at `path`; a symbolic link itself unless `followingLinks`.
    public static func kind(of path: String, followingLinks: Bool) -> Kind {
        var info = stat()
        let status = followingLinks ? stat(path, &info) : lstat(path, &info)
        guard status == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    /// What reading a file gave.
    public enum ReadOutcome: Sendable {
        /// The whole file.
        case bytes([UInt8])
        /// The path is a directory, device, socket or pipe.
        case notRegular
        /// The file is over the limit: its size (or what was read when it grew).
        case tooLarge(Int)
        /// The failing call and the system's message.
        case failed(String)
    }

    /// Reads a regular file of at most `limit` bytes. The file is opened without blocking (a FIFO cannot
    /// stall the load), its type and size are checked on the open descriptor, and no more than `limit` + 1
    /// bytes are ever read, even if the file grows meanwhile.
    public static func read(_ path: String, limit: Int) -> ReadOutcome {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return .failed("open: " + String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failed("fstat: " + String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .notRegular }
        let size = Int(info.st_size)
        guard size <= limit else { return .tooLarge(size) }
        var bytes = [UInt8](repeating: 0, count: min(size, limit) + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + count, buffer.count - count)
            }
            if got < 0 {
                if errno == EINTR { continue }
                return .failed("read: " + String(cString: strerror(errno)))
            }
            if got == 0 { break }
            count += got
            if count == bytes.count && count <= limit {
                // The file grew: make room, up to one byte past the limit.
                bytes += [UInt8](repeating: 0, count: min(limit + 1, count * 2) - count)
            }
        }
        guard count <= limit else { return .tooLarge(count) }
        return .bytes(Array(bytes[..<count]))
    }

    private static func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Darwin)
            Darwin.read(descriptor, buffer, count)
        #elseif canImport(Musl)
            Musl.read(descriptor, buffer, count)
        #else
            Glibc.read(descriptor, buffer, count)
        #endif
    }
}
