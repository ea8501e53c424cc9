import CofferManifest
import CofferModel
import Foundation
import Testing

/// Paths of the package, found from this file.
enum Package {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var manifests: String { root.appendingPathComponent("manifests").path }
    static var moduleREADME: String { root.appendingPathComponent("Sources/CofferManifest/README.md").path }
}

/// Loads one in-memory file.
func load(_ yaml: String, path: String = "test.yaml", limits: LoaderLimits = .default) -> ManifestLoadResult {
    ManifestLoader(limits: limits).load(files: [(path: path, contents: Array(yaml.utf8))])
}

/// Loads in-memory files.
func load(_ files: [(String, String)], limits: LoaderLimits = .default) -> ManifestLoadResult {
    ManifestLoader(limits: limits).load(files: files.map { (path: $0.0, contents: Array($0.1.utf8)) })
}

extension ManifestLoadResult {
    /// The codes of the diagnostics, in display order.
    var codes: [String] { diagnostics.map(\.code) }

    /// The diagnostics with a code.
    func diagnostics(_ code: String) -> [Diagnostic] { diagnostics.filter { $0.code == code } }
}

/// A world of valid resources that test documents can refer to: vaults rsv-a (eastus) and rsv-b (westus,
/// immutability Unlocked), a Daily Standard policy in each (pol-a, pol-b).
let baseManifests = """
    apiVersion: coffer.dev/v1
    kind: RecoveryServicesVault
    metadata: {name: rsv-a}
    spec: {resourceGroup: rg-a, location: eastus}
    ---
    apiVersion: coffer.dev/v1
    kind: RecoveryServicesVault
    metadata: {name: rsv-b}
    spec: {resourceGroup: rg-b, location: westus, immutability: Unlocked}
    ---
    apiVersion: coffer.dev/v1
    kind: BackupPolicy
    metadata: {name: pol-a}
    spec:
      vault: rsv-a
      schedule: {frequency: Daily, time: "02:00"}
      retention: {daily: {count: 30}}
    ---
    apiVersion: coffer.dev/v1
    kind: BackupPolicy
    metadata: {name: pol-b}
    spec:
      vault: rsv-b
      schedule: {frequency: Daily, time: "02:00"}
      retention: {daily: {count: 30}}
    """

/// Loads `yaml` as `case.yaml` next to the base world (`a-base.yaml`, read first).
func loadWithBase(_ yaml: String, limits: LoaderLimits = .default) -> ManifestLoadResult {
    load([("a-base.yaml", baseManifests), ("case.yaml", yaml)], limits: limits)
}
