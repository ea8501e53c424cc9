import Foundation

/// The manifests shipped in `manifests/`, as the files of commits: the reference desired state, and the same
/// with daily points kept 45 days instead of 30. Tests of diff, rollback and reading from git commit them.
public enum ShippedManifests {
    /// The package's root folder.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every `.yaml` file of `manifests/`, by its path in a commit (`manifests/NAME.yaml`).
    public static func files() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let shipped = packageRoot.appendingPathComponent("manifests")
        for name in try FileManager.default.contentsOfDirectory(atPath: shipped.path) where name.hasSuffix(".yaml") {
            files["manifests/\(name)"] = try Data(contentsOf: shipped.appendingPathComponent(name))
        }
        return files
    }

    /// `files()` with the daily retention of the shipped policy at 45 days.
    public static func keepingDailyPoints45Days() throws -> [String: Data] {
        var files = try files()
        let policies = String(decoding: files["manifests/policies.yaml"] ?? Data(), as: UTF8.self)
        files["manifests/policies.yaml"] = Data(policies.replacingOccurrences(of: "count: 30", with: "count: 45").utf8)
        return files
    }
}
