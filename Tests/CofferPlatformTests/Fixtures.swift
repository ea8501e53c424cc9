import CofferModel
import Foundation
import Testing
@testable import CofferPlatform

/// Paths and worlds shared by the platform tests.
enum Fixtures {
    /// The repository's root, found from this file's path.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// examples/reference/world.yaml.
    static var referenceWorldPath: String {
        repositoryRoot.appendingPathComponent("examples/reference/world.yaml").path
    }

    /// Flips one bit of the byte in the middle of a file, as damage on disk would.
    static func flipByte(inFileAt path: String) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The path of a file in a directory whose name ends with `suffix` (the first, in name order).
    static func file(in directory: String, endingWith suffix: String) throws -> String {
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).sorted().first { $0.hasSuffix(suffix) })
        return "\(directory)/\(name)"
    }

    /// A time from an ISO 8601 string, for readable tests.
    static func date(_ text: String) -> Date {
        parseISO8601(text)!
    }
}
