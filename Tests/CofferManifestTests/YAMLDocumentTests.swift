import CofferManifest
import CofferModel
import Testing

@Suite struct YAMLDocumentTests {
    @Test func reportsLineAndColumnOfANode() throws {
        let text = """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            spec:
              location: eastus
            """
        let document = try YAMLDocument(file: "vault.yaml", text: text)
        let location = try #require(document.node(at: ["spec", "location"]))
        #expect(location.scalar?.string == "eastus")
        #expect(document.location(of: location) == SourceLocation(file: "vault.yaml", line: 4, column: 13))
    }

    @Test func syntaxErrorHasAPosition() {
        #expect(throws: ManifestError.self) { try YAMLDocument(file: "bad.yaml", text: "a: [1, 2\nb: 3") }
    }
}
