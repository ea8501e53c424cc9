import CofferCrypto
import CofferTestSupport
import Foundation
import Testing

@testable import CofferSnapshot

/// A key of `count` bytes derived from a seed, with distinct halves (as XTS requires).
func testKey(_ count: Int, seed: UInt64) -> SecureBytes {
    var generator = SeededGenerator(seed: seed)
    return SecureBytes(generator.bytes(count))
}

/// The allocated bytes of one file, from stat's st_blocks.
func allocatedBytes(ofFile path: String) throws -> UInt64 {
    var info = stat()
    guard stat(path, &info) == 0 else { throw SnapshotError(code: .io, message: "stat \(path)") }
    return UInt64(info.st_blocks) * 512
}

/// Flips one bit of the byte at `offset` of a file.
func flipBit(in path: String, at offset: Int) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    let byte = try #require(try handle.read(upToCount: 1)?.first)
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data([byte ^ 0x10]))
}

/// The size of a file.
func fileSize(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.size] as? NSNumber)?.intValue ?? 0
}

/// The files in a directory, recursively, as paths relative to it.
func filesUnder(_ path: String) -> [String] {
    (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter { name in
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory) && !isDirectory.boolValue
    }.sorted()
}

/// The whole contents of a device or one of its snapshots.
func contents(of device: BlockDevice, snapshot: SnapshotID? = nil) throws -> [UInt8] {
    if let snapshot { return try device.read(snapshot: snapshot, at: 0, count: Int(device.size)) }
    return try device.read(at: 0, count: Int(device.size))
}

/// Expects `body` to throw a `SnapshotError` with `code`.
func expectError<T>(
    _ code: SnapshotError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) {
    do {
        _ = try body()
        Issue.record("expected a \(code) error, got success", sourceLocation: sourceLocation)
    } catch let error as SnapshotError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a SnapshotError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// An error thrown by a fault injector to stop an operation right after a step, as a crash would.
struct InjectedCrash: Error, CustomStringConvertible {
    var step: String
    var description: String { "injected crash after \(step)" }
}
