#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The text of an `errno` value.
func systemErrorText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// An I/O error for a failed system call on `path`, reading `errno` at once.
func ioError(_ function: String, _ what: String, path: String, errno code: Int32 = errno) -> SnapshotError {
    let hint: String
    switch code {
    case ENOSPC: hint = "; free disk space and retry"
    case EACCES, EPERM: hint = "; check the permissions of \(path)"
    case ENOENT: hint = "; check that the path exists"
    case EROFS: hint = "; the file system is read-only"
    default: hint = ""
    }
    return SnapshotError(
        code: code == ENOENT ? .notFound : .io, message: "could not \(what) \(path)\(hint)",
        underlying: SystemCallError(function: function, errno: code))
}

/// An open file descriptor with positioned I/O; the one owner of the descriptor, closed on deinit.
final class SystemFile: @unchecked Sendable {
    let descriptor: Int32
    let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Opens `path` with `open(2)` flags; `O_CLOEXEC` is always added.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws -> SystemFile {
        let fd = path.withCString { systemOpen($0, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST {
                throw SnapshotError(
                    code: .alreadyExists, message: "\(path) already exists; choose another path or remove it",
                    underlying: SystemCallError(function: "open", errno: code))
            }
            throw ioError("open", "open", path: path, errno: code)
        }
        return SystemFile(descriptor: fd, path: path)
    }

    /// Reads up to `buffer.count` bytes at `offset`, stopping early only at the end of the file; returns the
    /// number of bytes read.
    @discardableResult
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
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
    func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        let n = try read(into: buffer, at: offset)
        guard n == buffer.count else {
            throw SnapshotError(
                code: .corrupted,
                message: "\(path) ends early: wanted \(buffer.count) bytes at offset \(offset), found \(n); "
                    + "the file was truncated")
        }
    }

    /// Reads exactly `count` bytes at `offset`.
    func read(count: Int, at offset: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try readExactly(into: $0, at: offset) }
        return bytes
    }

    /// Reads the whole file.
    func readAll() throws -> [UInt8] {
        let size = try self.size()
        return try read(count: Int(size), at: 0)
    }

    /// Writes all of `buffer` at `offset`.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws {
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
    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Makes what was written durable (`fsync`).
    func sync() throws {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw ioError("fsync", "flush", path: path)
        }
    }

    /// Sets the file's length.
    func truncate(to length: UInt64) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw ioError("ftruncate", "resize", path: path) }
    }

    /// The file's status (`fstat`).
    func status() throws -> stat {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw ioError("fstat", "stat", path: path) }
        return info
    }

    /// The file's length in bytes.
    func size() throws -> UInt64 { UInt64(try status().st_size) }

    /// The disk space the file really takes (allocated 512-byte blocks).
    func allocatedBytes() throws -> UInt64 { UInt64(try status().st_blocks) * 512 }

    /// Frees the disk space of a range so that it reads as zeros, keeping the file's length
    /// (`fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)`); returns false where the system cannot.
    @discardableResult
    func punchHole(offset: UInt64, length: UInt64) throws -> Bool {
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
    func preallocate(offset: UInt64, length: UInt64) {
        guard length > 0, let fallocate = Fallocate.function else { return }
        _ = fallocate(descriptor, Fallocate.keepSize, Int(offset), Int(length))
    }

    /// Starts writing the file's dirty pages in a range (all of it by default) to disk without waiting
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that a later `sync()` has less to wait for; a hint
    /// only, ignored where the system has no such call.
    func startWriteback(offset: UInt64 = 0, length: UInt64 = 0) {
        guard let syncFileRange = SyncFileRange.function else { return }
        _ = syncFileRange(descriptor, Int(offset), Int(length), SyncFileRange.write)
    }

    /// Writes a range's dirty pages to disk and waits until they are written
    /// (`sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`); with `startWriteback` on the next range, this
    /// keeps the disk busy while the writer is held to its pace, so that the final `sync()` is short. It
    /// makes nothing durable by itself (no metadata, no cache flush); a hint only, ignored where the system
    /// has no such call.
    func awaitWriteback(offset: UInt64, length: UInt64) {
        guard length > 0, let syncFileRange = SyncFileRange.function else { return }
        _ = syncFileRange(descriptor, Int(offset), Int(length), SyncFileRange.waitBefore | SyncFileRange.write | SyncFileRange.waitAfter)
    }

    /// Takes an advisory `flock` lock; with `wait` false, returns false instead of waiting when it is held.
    func lock(exclusive: Bool, wait: Bool) throws -> Bool {
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
    func unlock() { _ = flock(descriptor, Int32(LOCK_UN)) }
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
enum FileSystem {
    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether `path` is a directory.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates one directory (not its parents).
    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 else {
            let code = errno
            if code == EEXIST {
                throw SnapshotError(
                    code: .alreadyExists, message: "\(path) already exists; choose another path or remove it")
            }
            throw ioError("mkdir", "create the directory", path: path, errno: code)
        }
    }

    /// The names in a directory, sorted, without `.` and `..`.
    static func list(_ path: String) throws -> [String] {
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
    static func syncDirectory(_ path: String) throws {
        let directory = try SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY)
        try directory.sync()
    }

    /// Renames atomically within one file system.
    static func rename(_ from: String, to: String) throws {
        guard posixRename(from, to) == 0 else { throw ioError("rename", "rename \(from) to", path: to) }
    }

    /// Removes a file; with `missingOK`, a file that is already gone is not an error.
    static func remove(_ path: String, missingOK: Bool = false) throws {
        guard unlink(path) == 0 else {
            if missingOK && errno == ENOENT { return }
            throw ioError("unlink", "remove", path: path)
        }
    }

    /// Removes a directory tree.
    static func removeTree(_ path: String) throws {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw SnapshotError(code: .io, message: "could not remove \(path): \(error.localizedDescription)", underlying: error)
        }
    }

    /// The last path component.
    static func name(_ path: String) -> String { (path as NSString).lastPathComponent }

    /// `directory/name`.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory holding `path`.
    static func parent(_ path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// Whether a file name is a temporary file left by `writeAtomically`.
    static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.contains(".tmp-") }

    /// Replaces the file at `path` with `bytes` in one atomic step: write a temporary file in the same
    /// directory, fsync it, rename it over `path`, fsync the directory. A crash leaves the old file or the
    /// new one, never a mix; a leftover temporary file is named `.NAME.tmp-RANDOM`.
    ///
    /// `step` is called after each of the four steps with `write`, `sync`, `rename` and `sync-directory`.
    static func writeAtomically(
        _ bytes: [UInt8], to path: String, step: (String) throws -> Void = { _ in }
    ) throws {
        try writeAtomically(parts: [bytes], to: path, step: step)
    }

    /// `writeAtomically` of the concatenation of `parts`, without concatenating them in memory.
    static func writeAtomically(
        parts: [[UInt8]], to path: String, step: (String) throws -> Void = { _ in }
    ) throws {
        let directory = parent(path)
        let temporary = join(directory, ".\(name(path)).tmp-\(randomHex(8))")
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

/// `count` random bytes as lower-case hexadecimal, for names that must not collide.
func randomHex(_ count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return hexEncoded((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
}

/// Lower-case hexadecimal of bytes.
func hexEncoded<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Bytes from lower-case or upper-case hexadecimal, or nil when the text is not hexadecimal.
func bytes(fromHex text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
    var out = [UInt8]()
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
        out.append(high << 4 | low)
        i += 2
    }
    return out
}
