#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An open file descriptor with positioned I/O; the one owner of the descriptor, closed on deinit.
public final class SystemFile: @unchecked Sendable {
    /// The file descriptor, owned by this value.
    public let descriptor: Int32
    /// The path the file was opened at.
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Opens `path` with `open(2)` flags; `O_CLOEXEC` is always added.
    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws -> SystemFile {
        let fd = path.withCString { systemOpen($0, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST {
                throw SystemError(
                    code: .alreadyExists, message: "\(path) already exists; choose another path or remove it", path: path,
                    underlying: SystemCallError(function: "open", errno: code))
            }
            throw ioError("open", "open", path: path, errno: code)
        }
        return SystemFile(descriptor: fd, path: path)
    }

    /// Reads up to `buffer.count` bytes at `offset`, stopping early only at the end of the file; returns the
    /// number of bytes read.
    @discardableResult
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("pread", "read", path: path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or throws `corrupted` when the file is shorter.
    public func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        let n = try read(into: buffer, at: offset)
        guard n == buffer.count else {
            throw SystemError(
                code: .corrupted,
                message: "\(path) ends early: wanted \(buffer.count) bytes at offset \(offset), found \(n); "
                    + "the file was truncated", path: path)
        }
    }

    /// Reads exactly `count` bytes at `offset`.
    public func read(count: Int, at offset: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try readExactly(into: $0, at: offset) }
        return bytes
    }

    /// Reads the whole file.
    public func readAll() throws -> [UInt8] {
        let size = try self.size()
        return try read(count: Int(size), at: 0)
    }

    /// Writes all of `buffer` at `offset`.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buffer.count {
            let n = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("pwrite", "write to", path: path)
            }
            done += n
        }
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Makes what was written durable (`fsync`).
    public func sync() throws {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw ioError("fsync", "flush", path: path)
        }
    }

    /// Sets the file's length.
    public func truncate(to length: UInt64) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw ioError("ftruncate", "resize", path: path) }
    }

    /// The file's status (`fstat`).
    public func status() throws -> stat {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw ioError("fstat", "stat", path: path) }
        return info
    }

    /// The file's length in bytes.
    public func size() throws -> UInt64 { UInt64(try status().st_size) }

    /// The disk space the file really takes (allocated 512-byte blocks).
    public func allocatedBytes() throws -> UInt64 { UInt64(try status().st_blocks) * 512 }

    /// Frees the disk space of a range so that it reads as zeros, keeping the file's length
    /// (`fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)`); returns false where the system cannot.
    @discardableResult
    public func punchHole(offset: UInt64, length: UInt64) throws -> Bool {
        guard length > 0, let fallocate = Fallocate.function else { return false }
        let result = fallocate(descriptor, Fallocate.punchHole | Fallocate.keepSize, Int(offset), Int(length))
        if result == 0 { return true }
        let code = errno
        if code == EOPNOTSUPP || code == ENOSYS { return false }
        throw ioError("fallocate", "punch a hole in", path: path, errno: code)
    }

    /// Reserves disk space for a range about to be written, without changing the file's length
    /// (`fallocate(FALLOC_FL_KEEP_SIZE)`): file systems that allocate lazily, such as ext4, then take large
    /// writes several times faster. A hint only: ignored where the system cannot.
    public func preallocate(offset: UInt64, length: UInt64) {
        guard length > 0, let fallocate = Fallocate.function else { return }
        _ = fallocate(descriptor, Fallocate.keepSize, Int(offset), Int(length))
    }

    /// Starts writing the file's dirty pages in a range (all of it by default) to disk without waiting
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that a later `sync()` has less to wait for; a hint
    /// only, ignored where the system has no such call.
    public func startWriteback(offset: UInt64 = 0, length: UInt64 = 0) {
        guard let syncFileRange = SyncFileRange.function else { return }
        _ = syncFileRange(descriptor, Int(offset), Int(length), SyncFileRange.write)
    }

    /// Writes a range's dirty pages to disk and waits until they are written
    /// (`sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`); with `startWriteback` on the next range, this
    /// keeps the disk busy while the writer is held to its pace, so that the final `sync()` is short. It
    /// makes nothing durable by itself (no metadata, no cache flush); a hint only, ignored where the system
    /// has no such call.
    public func awaitWriteback(offset: UInt64, length: UInt64) {
        guard length > 0, let syncFileRange = SyncFileRange.function else { return }
        _ = syncFileRange(descriptor, Int(offset), Int(length), SyncFileRange.waitBefore | SyncFileRange.write | SyncFileRange.waitAfter)
    }

    /// Takes an advisory `flock` lock; with `wait` false, returns false instead of waiting when it is held.
    public func lock(exclusive: Bool, wait: Bool) throws -> Bool {
        let operation = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)
        while flock(descriptor, Int32(operation)) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK { return false }
            throw ioError("flock", "lock", path: path, errno: code)
        }
        return true
    }

    /// Releases a `flock` lock.
    public func unlock() { _ = flock(descriptor, Int32(LOCK_UN)) }
}

private func systemOpen(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}

private func posixRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }

/// `fallocate(2)`, which the C library declares only for GNU sources and Swift therefore does not import.
private enum Fallocate {
    typealias Function = @convention(c) (Int32, Int32, Int, Int) -> Int32
    static let keepSize: Int32 = 0x01
    static let punchHole: Int32 = 0x02
    static let function: Function? = {
        #if os(Linux)
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "fallocate") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }()
}

/// `sync_file_range(2)`, which Swift does not import either.
private enum SyncFileRange {
    typealias Function = @convention(c) (Int32, Int, Int, UInt32) -> Int32
    static let waitBefore: UInt32 = 0x01
    static let write: UInt32 = 0x02
    static let waitAfter: UInt32 = 0x04
    static let function: Function? = {
        #if os(Linux)
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }()
}

/// File-system operations that coffer's commit protocols are built from.
public enum FileSystem {
    /// Whether something exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether `path` is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates one directory (not its parents).
    public static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 else {
            let code = errno
            if code == EEXIST {
                throw SystemError(
                    code: .alreadyExists, message: "\(path) already exists; choose another path or remove it", path: path)
            }
            throw ioError("mkdir", "create the directory", path: path, errno: code)
        }
    }

    /// The names in a directory, sorted, without `.` and `..`.
    public static func list(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw ioError("opendir", "list", path: path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Makes renames and unlinks in a directory durable (`fsync` of the directory).
    public static func syncDirectory(_ path: String) throws {
        let directory = try SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY)
        try directory.sync()
    }

    /// Renames atomically within one file system.
    public static func rename(_ from: String, to: String) throws {
        guard posixRename(from, to) == 0 else { throw ioError("rename", "rename \(from) to", path: to) }
    }

    /// Removes a file; with `missingOK`, a file that is already gone is not an error.
    public static func remove(_ path: String, missingOK: Bool = false) throws {
        guard unlink(path) == 0 else {
            if missingOK && errno == ENOENT { return }
            throw ioError("unlink", "remove", path: path)
        }
    }

    /// Removes a directory tree.
    public static func removeTree(_ path: String) throws {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw SystemError(code: .io, message: "could not remove \(path): \(error.localizedDescription)", path: path, underlying: error)
        }
    }

    /// The last path component.
    public static func name(_ path: String) -> String { (path as NSString).lastPathComponent }

    /// `directory/name`.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory holding `path`.
    public static func parent(_ path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// Whether a file name is a temporary file left by `writeAtomically`.
    public static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.contains(".tmp-") }

    /// Replaces the file at `path` with `bytes` in one atomic step: write a temporary file in the same
    /// directory, fsync it, rename it over `path`, fsync the directory. A crash leaves the old file or the
    /// new one, never a mix; a leftover temporary file is named `.NAME.tmp-RANDOM`.
    ///
    /// `step` is called after each of the four steps with `write`, `sync`, `rename` and `sync-directory`.
    public static func writeAtomically(
        _ bytes: [UInt8], to path: String, step: (String) throws -> Void = { _ in }
    ) throws {
        try writeAtomically(parts: [bytes], to: path, step: step)
    }

    /// `writeAtomically` of the concatenation of `parts`, without concatenating them in memory.
    public static func writeAtomically(
        parts: [[UInt8]], to path: String, step: (String) throws -> Void = { _ in }
    ) throws {
        let directory = parent(path)
        let temporary = join(directory, ".\(name(path)).tmp-\(Hex.random(8))")
        do {
            let file = try SystemFile.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL)
            var offset: UInt64 = 0
            for part in parts {
                try file.write(part, at: offset)
                offset += UInt64(part.count)
            }
            try step("write")
            try file.sync()
            try step("sync")
        }
        try rename(temporary, to: path)
        try step("rename")
        try syncDirectory(directory)
        try step("sync-directory")
    }
}

extension FileSystem {
    /// Appends `line` and a newline to the file at `path` (created when missing) and fsyncs it, so that the
    /// record survives a crash right after this returns.
    ///
    /// A crash in the middle of an earlier append leaves a torn line: no newline at the end of the file.
    /// It is cut off first, so that it neither swallows this record nor stays behind in the middle of the
    /// file, where a reader could not tell it from damage. Readers drop a torn last line.
    public static func appendLine(_ line: [UInt8], to path: String) throws {
        let file = try SystemFile.open(path, flags: O_RDWR | O_CREAT)
        var end = try file.size()
        if end > 0, try file.read(count: 1, at: end - 1) != [0x0a] {
            end = try endOfLastCompleteLine(file, before: end)
            try file.truncate(to: end)
        }
        try file.write(line + [0x0a], at: end)
        try file.sync()
    }

    /// The offset just past the last newline before `end`, or 0 when there is none.
    private static func endOfLastCompleteLine(_ file: SystemFile, before end: UInt64) throws -> UInt64 {
        var end = end
        while end > 0 {
            let start = end >= 4096 ? end - 4096 : 0
            let bytes = try file.read(count: Int(end - start), at: start)
            if let newline = bytes.lastIndex(of: 0x0a) { return start + UInt64(newline) + 1 }
            end = start
        }
        return 0
    }
}
