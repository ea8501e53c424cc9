// coffer-bench: drives CofferSnapshot and CofferCrypto for bench/core.sh, one step per process, and backs up
// in a loop for the crash tests. Output is `key=value` lines for the script to parse.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CofferCrypto
import CofferSnapshot
import Foundation

let usage = """
    usage: coffer-bench COMMAND ...
      xts [--seconds S] [--buffer BYTES]              AES-256-XTS throughput, one thread, encrypting a buffer
                                                      (a 64 KiB block by default) of 4 KiB sectors in place;
                                                      per CPU second (as openssl speed) and per wall second
      create-device DEVICE --size BYTES [--block-size N] [--at-rest-key-file F]
      write-image DEVICE IMAGE [--ranges FILE] [--at-rest-key-file F]
                                                      guest writes: the whole image, or the ranges
                                                      (lines "OFFSET LENGTH [DISK_OFFSET]") of it, each
                                                      at DISK_OFFSET (default OFFSET), then flush
      scatter IMAGE FILE --size BYTES --ranges FILE   the same ranges into a sparse plain file of SIZE bytes
      snapshot DEVICE [--at-rest-key-file F]          prints snapshot=ID
      create-store STORE --key-file F
      backup DEVICE STORE --key-file F --snapshot S [--base-snapshot S0 --base-point RP] [--at-rest-key-file F]
      restore STORE RP DISK TARGET --key-file F [--at-rest-key-file F]
      verify STORE RP --key-file F
      gc STORE --key-file F
      compare DEVICE IMAGE [--snapshot S] [--at-rest-key-file F]   exit 0 when the disk equals the file
      compare-devices A SNAPSHOT B --ranges FILE [--at-rest-key-file F]
                                                      exit 0 when snapshot SNAPSHOT of A and disk B hold
                                                      the same bytes at every range's DISK_OFFSET
      points STORE --key-file F                       the recovery points, oldest first, one a line
      delete-point STORE RP --key-file F
      floor --bytes N --dir D                         what restoring N bytes costs at least here: AES-256-GCM
                                                      open, AES-256-XTS encryption and writing a file in D,
                                                      each measured on one thread, summed, over the cores
      crash-backup DIR --key HEX                      back up in a loop until killed (for crash tests)
    Key files hold hexadecimal: 32 bytes for a store, 64 for an at-rest key.
    """

struct Failure: Error, CustomStringConvertible {
    var description: String
}

/// The command line after the command name: positional arguments and `--name value` options.
struct Arguments {
    var positional: [String] = []
    var options: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            if argument.hasPrefix("--") {
                guard let value = iterator.next() else { throw Failure(description: "\(argument) needs a value") }
                options[String(argument.dropFirst(2))] = value
            } else {
                positional.append(argument)
            }
        }
    }

    func positional(_ index: Int, _ name: String) throws -> String {
        guard index < positional.count else { throw Failure(description: "missing \(name)\n\(usage)") }
        return positional[index]
    }

    func option(_ name: String) throws -> String {
        guard let value = options[name] else { throw Failure(description: "missing --\(name)\n\(usage)") }
        return value
    }

    func key(_ name: String) throws -> SecureBytes? {
        guard let file = options[name] else { return nil }
        let text = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return SecureBytes(try hexBytes(text))
    }
}

func hexBytes(_ text: String) throws -> [UInt8] {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { throw Failure(description: "not hexadecimal: \(text.prefix(16))...") }
    return try stride(from: 0, to: digits.count, by: 2).map { i in
        guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else {
            throw Failure(description: "not hexadecimal: \(text.prefix(16))...")
        }
        return byte
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func emit(_ pairs: KeyValuePairs<String, Any>) {
    for (key, value) in pairs { print("\(key)=\(value)") }
    fflush(nil)
}

/// Reads a file in pieces of `chunk` bytes.
func forEachPiece(of path: String, chunk: Int, _ body: (UInt64, [UInt8]) throws -> Void) throws {
    guard let file = fopen(path, "rb") else { throw Failure(description: "cannot open \(path)") }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: chunk)
    var offset: UInt64 = 0
    while true {
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, chunk, file) }
        if n == 0 { break }
        try body(offset, n == chunk ? buffer : Array(buffer[0..<n]))
        offset += UInt64(n)
    }
}

/// The CPU time this thread has used, in seconds.
func threadCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// AES-256-XTS throughput of one thread, divided by the CPU time it used (as `openssl speed` divides by
/// CPU user time unless given `-elapsed`), and by wall time.
func xts(_ arguments: Arguments) throws {
    let duration = Double(arguments.options["seconds"] ?? "2") ?? 2
    let size = Int(arguments.options["buffer"] ?? "") ?? BlockDevice.defaultBlockSize
    let cipher = try AES256XTS(key: SecureBytes(randomCount: 64), sectorSize: .bytes4096)
    var buffer = [UInt8](repeating: 0x42, count: size)
    let clock = ContinuousClock()
    var bytes = 0
    var sector: UInt64 = 0
    let start = clock.now
    let cpuStart = threadCPUSeconds()
    var elapsed = 0.0
    try buffer.withUnsafeMutableBytes { buffer in
        repeat {
            for _ in 0..<256 {
                try cipher.encryptSectors(buffer, firstSector: sector)
                sector &+= UInt64(size / 4096)
                bytes += buffer.count
            }
            elapsed = seconds(clock.now - start)
        } while elapsed < duration
    }
    let cpu = threadCPUSeconds() - cpuStart
    emit([
        "xts_buffer": size, "xts_bytes": bytes, "xts_seconds": elapsed, "xts_cpu_seconds": cpu,
        "xts_gbps": Double(bytes) / cpu / 1e9, "xts_wall_gbps": Double(bytes) / elapsed / 1e9,
    ])
}

func createDevice(_ arguments: Arguments) throws {
    let size = UInt64(try arguments.option("size"))!
    let blockSize = Int(arguments.options["block-size"] ?? "") ?? BlockDevice.defaultBlockSize
    _ = try BlockDevice.create(
        at: try arguments.positional(0, "DEVICE"), size: size, blockSize: blockSize,
        atRestKey: try arguments.key("at-rest-key-file"))
}

func writeImage(_ arguments: Arguments) throws {
    let device = try BlockDevice.open(at: try arguments.positional(0, "DEVICE"), atRestKey: try arguments.key("at-rest-key-file"))
    let image = try arguments.positional(1, "IMAGE")
    let clock = ContinuousClock()
    let start = clock.now
    var written: UInt64 = 0
    if let ranges = arguments.options["ranges"] {
        guard let file = FileHandle(forReadingAtPath: image) else { throw Failure(description: "cannot open \(image)") }
        for range in try readRanges(ranges) {
            try file.seek(toOffset: range.offset)
            let bytes = [UInt8](try file.read(upToCount: range.length) ?? Data())
            try device.write(bytes, at: range.target)
            written += UInt64(bytes.count)
        }
    } else {
        try forEachPiece(of: image, chunk: 4 << 20) { offset, bytes in
            try device.write(bytes, at: offset)
            written += UInt64(bytes.count)
        }
    }
    try device.flush()
    emit(["written_bytes": written, "write_seconds": seconds(clock.now - start)])
}

/// Lines "OFFSET LENGTH [TARGET]" of a ranges file; TARGET defaults to OFFSET.
func readRanges(_ path: String) throws -> [(offset: UInt64, length: Int, target: UInt64)] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line in
        let parts = line.split(separator: " ").compactMap { UInt64($0) }
        guard parts.count == 2 || parts.count == 3 else { return nil }
        return (parts[0], Int(parts[1]), parts.count == 3 ? parts[2] : parts[0])
    }
}

func scatter(_ arguments: Arguments) throws {
    let image = try arguments.positional(0, "IMAGE")
    let target = try arguments.positional(1, "FILE")
    guard let source = FileHandle(forReadingAtPath: image) else { throw Failure(description: "cannot open \(image)") }
    if !FileManager.default.fileExists(atPath: target) { FileManager.default.createFile(atPath: target, contents: nil) }
    guard let output = FileHandle(forUpdatingAtPath: target) else { throw Failure(description: "cannot open \(target)") }
    try output.truncate(atOffset: UInt64(try arguments.option("size"))!)
    for range in try readRanges(try arguments.option("ranges")) {
        try source.seek(toOffset: range.offset)
        let bytes = try source.read(upToCount: range.length) ?? Data()
        try output.seek(toOffset: range.target)
        try output.write(contentsOf: bytes)
    }
    try output.synchronize()
}

func compareDevices(_ arguments: Arguments) throws {
    let key = try arguments.key("at-rest-key-file")
    let a = try BlockDevice.open(at: try arguments.positional(0, "A"), atRestKey: key)
    let snapshot = SnapshotID(try arguments.positional(1, "SNAPSHOT"))
    let b = try BlockDevice.open(at: try arguments.positional(2, "B"), atRestKey: key)
    var compared = 0
    for range in try readRanges(try arguments.option("ranges")) {
        guard try a.read(snapshot: snapshot, at: range.target, count: range.length) == b.read(at: range.target, count: range.length) else {
            throw Failure(description: "the disks differ within bytes \(range.target)..<\(range.target + UInt64(range.length))")
        }
        compared += range.length
    }
    emit(["identical_bytes": compared])
}

/// One thread's throughput of each restore step on `bytes` bytes (64 KiB blocks), and their sum over the cores.
func floor(_ arguments: Arguments) throws {
    let total = Int(try arguments.option("bytes"))!
    let directory = try arguments.option("dir")
    let block = 65536
    let count = max(1, total / block)
    let key = try SecureBytes(randomCount: 32)
    let cipher = try AES256XTS(key: SecureBytes(randomCount: 64), sectorSize: .bytes4096)
    var buffer = [UInt8](repeating: 0x42, count: block)
    let sealed = try AES256GCM.seal(buffer, key: key, associatedData: [1]).combined
    let clock = ContinuousClock()
    func time(_ body: () throws -> Void) rethrows -> Double {
        let start = clock.now
        try body()
        return seconds(clock.now - start)
    }
    // Each chunk is copied into place first, as reading it from a pack does.
    var work = sealed
    let gcm = try time {
        try work.withUnsafeMutableBytes { work in
            try sealed.withUnsafeBytes { sealed in
                for _ in 0..<count {
                    work.copyMemory(from: sealed)
                    _ = try AES256GCM.openInPlace(work, key: key, associatedData: [1])
                }
            }
        }
    }
    let xts = try time {
        try buffer.withUnsafeMutableBytes { buffer in
            for k in 0..<count { try cipher.encryptSectors(buffer, firstSector: UInt64(k * block / 4096)) }
        }
    }
    let path = directory + "/floor-write.tmp"
    let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard file >= 0 else { throw Failure(description: "cannot create \(path)") }
    let write = time {
        buffer.withUnsafeBytes { buffer in
            for k in 0..<count { _ = pwrite(file, buffer.baseAddress, block, off_t(k * block)) }
        }
        fsync(file)
    }
    close(file)
    unlink(path)
    let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
    emit([
        "floor_bytes": count * block, "gcm_open_seconds": gcm, "xts_seconds": xts, "write_seconds": write,
        "cores": Int(cores), "floor_seconds": (gcm + xts + write) / cores,
    ])
}

func snapshot(_ arguments: Arguments) throws {
    let device = try BlockDevice.open(at: try arguments.positional(0, "DEVICE"), atRestKey: try arguments.key("at-rest-key-file"))
    emit(["snapshot": try device.takeSnapshot()])
}

func openStore(_ path: String, _ arguments: Arguments) throws -> VaultStore {
    guard let key = try arguments.key("key-file") else { throw Failure(description: "missing --key-file") }
    return try VaultStore.open(at: path, masterKey: key)
}

func backup(_ arguments: Arguments) throws {
    let device = try BlockDevice.open(at: try arguments.positional(0, "DEVICE"), atRestKey: try arguments.key("at-rest-key-file"))
    let store = try openStore(try arguments.positional(1, "STORE"), arguments)
    var base: (snapshot: SnapshotID, recoveryPoint: RecoveryPointID)?
    if let snapshot = arguments.options["base-snapshot"] {
        base = (SnapshotID(snapshot), RecoveryPointID(try arguments.option("base-point")))
    }
    let clock = ContinuousClock()
    let start = clock.now
    let (id, statistics) = try store.backup(
        [DiskSource(name: "os", device: device, snapshot: SnapshotID(try arguments.option("snapshot")), base: base)],
        metadata: ["tool": "coffer-bench"])
    emit([
        "recovery_point": id, "backup_seconds": seconds(clock.now - start), "blocks_read": statistics.blocksRead,
        "chunks_new": statistics.chunksNew, "chunks_reused": statistics.chunksReused, "holes": statistics.holes,
        "bytes_read": statistics.bytesRead, "bytes_uploaded": statistics.bytesUploaded,
        "map_pages_new": statistics.mapPagesNew,
    ])
}

func restore(_ arguments: Arguments) throws {
    let store = try openStore(try arguments.positional(0, "STORE"), arguments)
    let clock = ContinuousClock()
    let start = clock.now
    let device = try store.restore(
        RecoveryPointID(try arguments.positional(1, "RP")), disk: try arguments.positional(2, "DISK"),
        to: try arguments.positional(3, "TARGET"), atRestKey: try arguments.key("at-rest-key-file"))
    emit(["restore_seconds": seconds(clock.now - start), "restored_allocated_bytes": try device.allocatedBytes()])
}

func verify(_ arguments: Arguments) throws {
    let store = try openStore(try arguments.positional(0, "STORE"), arguments)
    let report = try store.verify(RecoveryPointID(try arguments.positional(1, "RP")))
    emit([
        "chunks_checked": report.chunksChecked, "bytes_checked": report.bytesChecked,
        "map_pages_checked": report.mapPagesChecked, "problems": report.problems.count,
    ])
    for problem in report.problems { print("problem: \(problem)") }
    if !report.isValid { exit(1) }
}

func collect(_ arguments: Arguments) throws {
    let store = try openStore(try arguments.positional(0, "STORE"), arguments)
    let report = try store.collectGarbage()
    emit(["chunks_removed": report.chunksRemoved, "packs_deleted": report.packsDeleted, "bytes_reclaimed": report.bytesReclaimed])
}

func compare(_ arguments: Arguments) throws {
    let device = try BlockDevice.open(at: try arguments.positional(0, "DEVICE"), atRestKey: try arguments.key("at-rest-key-file"))
    let image = try arguments.positional(1, "IMAGE")
    let snapshot = arguments.options["snapshot"].map(SnapshotID.init(_:))
    var compared: UInt64 = 0
    try forEachPiece(of: image, chunk: 4 << 20) { offset, bytes in
        let stored = try snapshot.map { try device.read(snapshot: $0, at: offset, count: bytes.count) }
            ?? device.read(at: offset, count: bytes.count)
        guard stored == bytes else { throw Failure(description: "the disk differs from \(image) within bytes \(offset)..<\(offset + UInt64(bytes.count))") }
        compared += UInt64(bytes.count)
    }
    guard compared == device.size else { throw Failure(description: "\(image) has \(compared) bytes, the disk \(device.size)") }
    emit(["identical_bytes": compared])
}

/// Backs up a small disk in a loop — write, snapshot, incremental backup, and every third round delete the
/// oldest recovery point and collect garbage — printing a line after each commit, until killed.
func crashBackup(_ arguments: Arguments) throws {
    let directory = try arguments.positional(0, "DIR")
    let key = SecureBytes(try hexBytes(try arguments.option("key")))
    let devicePath = directory + "/device"
    let storePath = directory + "/store"
    let device = FileManager.default.fileExists(atPath: devicePath)
        ? try BlockDevice.open(at: devicePath)
        : try BlockDevice.create(at: devicePath, size: 256 * 4096, blockSize: 4096)
    let store = FileManager.default.fileExists(atPath: storePath + "/config")
        ? try VaultStore.open(at: storePath, masterKey: key)
        : try VaultStore.create(at: storePath, masterKey: key)
    var generator = SystemRandomNumberGenerator()
    var base: (snapshot: SnapshotID, recoveryPoint: RecoveryPointID)?
    var round = 0
    while true {
        for _ in 0..<16 {
            let block = UInt64.random(in: 0..<256, using: &generator)
            try device.write((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }, at: block * 4096)
        }
        let snapshot = try device.takeSnapshot()
        let (id, _) = try store.backup([DiskSource(name: "os", device: device, snapshot: snapshot, base: base)], metadata: [:])
        print("committed \(id)")
        fflush(nil)
        if let old = base?.snapshot { try device.deleteSnapshot(old) }
        base = (snapshot, id)
        round += 1
        if round % 3 == 0 {
            let points = try store.recoveryPoints()
            if points.count > 2 { try store.deleteRecoveryPoint(points[0].id) }
            _ = try store.collectGarbage()
            print("collected")
            fflush(nil)
        }
    }
}

let commandLine = CommandLine.arguments
guard commandLine.count >= 2 else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(64)
}
do {
    let arguments = try Arguments(commandLine.dropFirst(2))
    switch commandLine[1] {
    case "xts": try xts(arguments)
    case "create-device": try createDevice(arguments)
    case "write-image": try writeImage(arguments)
    case "snapshot": try snapshot(arguments)
    case "create-store":
        guard let key = try arguments.key("key-file") else { throw Failure(description: "missing --key-file") }
        _ = try VaultStore.create(at: try arguments.positional(0, "STORE"), masterKey: key)
    case "backup": try backup(arguments)
    case "restore": try restore(arguments)
    case "verify": try verify(arguments)
    case "gc": try collect(arguments)
    case "compare": try compare(arguments)
    case "scatter": try scatter(arguments)
    case "compare-devices": try compareDevices(arguments)
    case "points":
        let store = try openStore(try arguments.positional(0, "STORE"), arguments)
        for point in try store.recoveryPoints() { print(point.id) }
    case "delete-point":
        let store = try openStore(try arguments.positional(0, "STORE"), arguments)
        try store.deleteRecoveryPoint(RecoveryPointID(try arguments.positional(1, "RP")))
    case "floor": try floor(arguments)
    case "crash-backup": try crashBackup(arguments)
    default:
        FileHandle.standardError.write(Data("unknown command \(commandLine[1])\n\(usage)".utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("coffer-bench: \(error)\n".utf8))
    exit(1)
}
