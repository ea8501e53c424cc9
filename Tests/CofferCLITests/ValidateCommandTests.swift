import CofferManifest
import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

@Suite struct ValidateCommandTests {
    static let manifests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests").path

    static let broken = """
        apiVersion: coffer.dev/v1
        kind: RecoveryServicesVault
        metadata: {name: rsv-c}
        spec:
          resourceGroup: rg-c
          location: eastus
          retentoin: 3
          crossRegionRestore: yes
        ---
        apiVersion: coffer.dev/v1
        kind: KeyVaultAccessPolicy
        metadata: {name: kv-c}
        spec: {keyVault: kv-app, principal: {name: Backup Management Service}}
        """

    func brokenResult() -> ManifestLoadResult {
        ManifestLoader().load(files: [(path: "m/broken.yaml", contents: Array(Self.broken.utf8))])
    }

    @Test func exitCodes() async throws {
        #expect(await runCoffer(["validate", Self.manifests]) == CofferExitCode.success.rawValue)
        #expect(await runCoffer(["validate", Self.manifests, "--output", "json"]) == 0)
        let directory = try TemporaryDirectory()
        try directory.write(Self.broken, to: "broken.yaml")
        #expect(await runCoffer(["validate", directory.path]) == CofferExitCode.invalidInput.rawValue)
        #expect(await runCoffer(["validate", directory.path, "--output", "json"]) == 65)
        #expect(await runCoffer(["validate", directory.path("missing")]) == 65)
        #expect(await runCoffer(["validate"]) == CofferExitCode.usage.rawValue)
        #expect(await runCoffer(["schema"]) == 0)
    }

    @Test func warningsAloneAreValid() async throws {
        let directory = try TemporaryDirectory()
        try directory.write(
            """
            apiVersion: coffer.dev/v1
            kind: KeyVaultAccessPolicy
            metadata: {name: kv-c}
            spec: {keyVault: kv-app, principal: {name: Backup Management Service}}
            """, to: "kv.yaml")
        #expect(await runCoffer(["validate", directory.path]) == 0)
    }

    @Test func textIsCompilerStyleWithASummary() async {
        let report = ValidationReport(result: brokenResult())
        #expect(!report.valid)
        #expect(report.text(colour: false) == """
            m/broken.yaml:7:3: error[unknown-field]: unknown field 'retentoin' in 'spec'
             7 |   retentoin: 3
               |   ^
              = hint: the fields here are: subscription, resourceGroup, location, sku, storageRedundancy, crossRegionRestore, immutability, softDelete, publicNetworkAccess, identity, encryption, tags

            m/broken.yaml:8:23: error[wrong-type]: 'spec.crossRegionRestore' must be a boolean (true or false), found the string 'yes'
              coffer reads YAML 1.2, where only true and false are booleans ('yes' was one in YAML 1.1)
             8 |   crossRegionRestore: yes
               |                       ^
              = hint: write true

            m/broken.yaml:13:1: warning[no-permissions]: the access policy grants no permissions
              Azure Backup needs keys Get, List, Backup and secrets Get, List, Backup for encrypted VMs
             13 | spec: {keyVault: kv-app, principal: {name: Backup Management Service}}
                | ^
              = hint: add keyPermissions and secretPermissions

            2 errors, 1 warning in 1 file

            """)
    }

    @Test func colourMarksSeverityAndLocation() async {
        let diagnostics = brokenResult().diagnostics
        let error = ValidationReport.render(diagnostics[0], colour: true)
        #expect(error.hasPrefix("\u{1B}[1mm/broken.yaml:7:3:\u{1B}[0m \u{1B}[1m\u{1B}[31merror\u{1B}[0m[unknown-field]: "))
        let warning = ValidationReport.render(diagnostics[2], colour: true)
        #expect(warning.contains("\u{1B}[33mwarning\u{1B}[0m[no-permissions]"))
        // Only the first line is styled: the snippet and the hint are as rendered().
        let plain = diagnostics[0].rendered()
        #expect(error.hasSuffix(plain[plain.firstIndex(of: "\n")!...]))
        #expect(!ValidationReport.render(diagnostics[0], colour: false).contains("\u{1B}"))
        // plan and apply print their diagnostics through the same renderer.
        #expect(DiagnosticRendering.render([diagnostics[0]], terminal: Terminal(color: true)) == error)
        #expect(DiagnosticRendering.render([diagnostics[0]], terminal: .plain) == plain)
    }

    @Test func colourOnlyOnATerminalWithoutNoColor() async {
        #expect(TerminalStyle.colourAllowed(isTerminal: true, environment: [:]))
        #expect(!TerminalStyle.colourAllowed(isTerminal: false, environment: [:]))
        #expect(!TerminalStyle.colourAllowed(isTerminal: true, environment: ["NO_COLOR": "1"]))
        // no-color.org: an empty NO_COLOR does not count.
        #expect(TerminalStyle.colourAllowed(isTerminal: true, environment: ["NO_COLOR": ""]))
    }

    @Test func jsonIsVersionedWithRanges() async throws {
        let text = try ValidationReport(result: brokenResult()).json()
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["format_version"] as? String == "1")
        #expect(document["valid"] as? Bool == false)
        #expect(document["resources"] as? Int == 2)
        let diagnostics = try #require(document["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.count == 3)
        let first = diagnostics[0]
        #expect(Set(first.keys) == ["severity", "code", "summary", "detail", "hint", "range"])
        #expect(first["severity"] as? String == "error")
        #expect(first["code"] as? String == "unknown-field")
        #expect(first["detail"] is NSNull)
        let range = try #require(first["range"] as? [String: Any])
        #expect(range["file"] as? String == "m/broken.yaml")
        #expect(range["line"] as? Int == 7)
        #expect(range["column"] as? Int == 3)
        #expect(diagnostics[2]["severity"] as? String == "warning")

        let valid = try ValidationReport(result: ManifestLoader().load(paths: [Self.manifests])).json()
        let validDocument = try #require(try JSONSerialization.jsonObject(with: Data(valid.utf8)) as? [String: Any])
        #expect(validDocument["valid"] as? Bool == true)
        #expect(validDocument["resources"] as? Int == 11)
        #expect((validDocument["diagnostics"] as? [Any])?.isEmpty == true)
    }

    @Test func summaryCountsFilesAndPlurals() async {
        let report = ValidationReport(result: ManifestLoader().load(paths: [Self.manifests]))
        #expect(report.summary == "0 errors, 0 warnings in 4 files")
    }
}
