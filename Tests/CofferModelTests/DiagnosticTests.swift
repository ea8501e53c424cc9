import CofferModel
import Testing

@Suite struct DiagnosticTests {
    @Test func rendersLikeACompiler() {
        let diagnostic = Diagnostic(
            severity: .error, code: "unknown-field", summary: "unknown field 'retentoin'",
            hint: "did you mean 'retention'?", location: SourceLocation(file: "p.yaml", line: 7, column: 3),
            sourceLine: "  retentoin: 30")
        #expect(
            diagnostic.rendered() == """
                p.yaml:7:3: error[unknown-field]: unknown field 'retentoin'
                 7 |   retentoin: 30
                   |   ^
                  = hint: did you mean 'retention'?
                """)
    }

    @Test func addressesParseAndOrderByDependency() throws {
        let vm = try #require(ResourceAddress(parsing: "ProtectedVM/web-01"))
        let vault = try #require(ResourceAddress(parsing: "RecoveryServicesVault/rsv"))
        #expect(vm.description == "ProtectedVM/web-01")
        #expect([vm, vault].sorted() == [vault, vm])
        #expect(ResourceAddress(parsing: "Nope/x") == nil)
        #expect(ResourceAddress(parsing: "ProtectedVM/") == nil)
    }
}
