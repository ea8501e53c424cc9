import CofferModel
import Foundation
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

    /// A time from an ISO 8601 string, for readable tests.
    static func date(_ text: String) -> Date {
        parseISO8601(text)!
    }
}
