import CofferManifest
import CofferModel
import CofferTestSupport
import Foundation
import Testing

/// Inputs crafted to exhaust memory, time or the stack, as the manifest loader reports them. The YAML-level
/// checks themselves (alias bombs, depth, nodes, documents, encodings, with their positions) are
/// CofferYAMLTests' HostileInputTests; here, sizes before reading, the diagnostic cap, and that each problem
/// of the YAML layer becomes its manifest code, at its place, worded for manifests.
@Suite struct HostileInputTests {
    @Test func billionLaughsIsReportedOnceWithTheFilesCounts() throws {
        let result = load(HostileYAML.billionLaughs, limits: LoaderLimits(maxNodes: 120))
        #expect(result.state == nil)
        #expect(!result.codes.contains("too-many-nodes"))
        #expect(result.diagnostics("yaml-anchor").count == 1)
        #expect(result.diagnostics("yaml-alias").count == 1)
        let anchor = try #require(result.diagnostics("yaml-anchor").first)
        #expect(anchor.location == SourceLocation(file: "test.yaml", line: 1, column: 4))
        #expect(anchor.summary == "YAML anchors are not allowed in manifests")
        #expect(anchor.detail == "the file has 9 anchors; only the first is shown")
        let alias = try #require(result.diagnostics("yaml-alias").first)
        #expect(alias.location == SourceLocation(file: "test.yaml", line: 2, column: 8))
        #expect(alias.detail == "the file has 72 aliases; only the first is shown")
    }

    /// One input per problem of the YAML layer: the manifest code, where, and the summary.
    static let yamlProblems: [(name: String, bytes: [UInt8], limits: LoaderLimits, code: String, line: Int, column: Int, summary: String)] = [
        ("flow depth", Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8), .default,
         "too-deep", 1, 65, "the YAML nests deeper than 64 levels"),
        ("block depth", Array((String(repeating: "- ", count: 10_000) + "x\n").utf8), .default,
         "too-deep", 1, 129, "the YAML nests deeper than 64 levels"),
        ("nodes", Array(("[" + String(repeating: "1,", count: 199) + "1]").utf8), LoaderLimits(maxNodes: 100),
         "too-many-nodes", 1, 2 + 2 * 99, "more than 100 YAML nodes in the manifests"),
        ("documents", Array(String(repeating: "---\na: 1\n", count: 5).utf8), LoaderLimits(maxDocuments: 3),
         "too-many-documents", 7, 1, "more than 3 YAML documents in the manifests"),
        ("invalid UTF-8", Array("a: caf".utf8) + [0xC0, 0xAF], .default,
         "invalid-utf8", 1, 7, "invalid UTF-8: byte 0xC0 does not start a valid sequence"),
        ("UTF-16", [0xFF, 0xFE, 0x61, 0x00], .default,
         "unsupported-encoding", 1, 1, "the file starts with a UTF-16 byte-order mark"),
        ("NUL", Array("a: 1\nb: x".utf8) + [0] + Array("y\n".utf8), .default,
         "nul-byte", 2, 5, "the file contains a NUL byte"),
    ]

    @Test(arguments: yamlProblems.indices)
    func yamlProblemsBecomeManifestDiagnostics(_ index: Int) throws {
        let example = Self.yamlProblems[index]
        let result = ManifestLoader(limits: example.limits).load(files: [(path: "h.yaml", contents: example.bytes)])
        #expect(result.state == nil, "\(example.name)")
        let diagnostic = try #require(result.diagnostics(example.code).first, "\(example.name): \(result.codes)")
        #expect(diagnostic.location == SourceLocation(file: "h.yaml", line: example.line, column: example.column))
        #expect(diagnostic.summary == example.summary)
    }

    @Test func utf8ByteOrderMarkIsAccepted() {
        let withBOM: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("apiVersion: coffer.dev/v2\n".utf8)
        let accepted = ManifestLoader().load(files: [(path: "b.yaml", contents: withBOM)])
        // Read past the mark, with columns as if it were not there.
        #expect(accepted.diagnostics("unknown-api-version").first?.location?.column == 13)
    }

    @Test func hundredMegabyteFileIsRefusedBeforeItIsRead() throws {
        let directory = try TemporaryDirectory()
        // A sparse file: 100 MB long without writing 100 MB. Reading it would return 100 MB of NULs.
        let path = try directory.sparseFile("huge.yaml", size: 100_000_000)
        let result = ManifestLoader().load(paths: [path])
        let diagnostic = try #require(result.diagnostics.first)
        #expect(result.codes == ["file-too-large"])
        #expect(diagnostic.location == SourceLocation(file: path, line: 1, column: 1))
        #expect(diagnostic.summary.contains("95.4 MiB"))
        #expect(diagnostic.detail == "the file was not read")
    }

    @Test func oversizedInMemoryFileIsRefused() {
        let result = load(String(repeating: "#", count: 1_025), limits: LoaderLimits(maxFileBytes: 1_024))
        #expect(result.codes == ["file-too-large"])
    }

    @Test func totalSizeIsCapped() {
        let files = (0..<3).map { ("f\($0).yaml", String(repeating: "#", count: 600)) }
        let result = load(files, limits: LoaderLimits(maxTotalBytes: 1_000))
        #expect(result.codes == ["total-too-large"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "f1.yaml", line: 1, column: 1))
        #expect(result.files == ["f0.yaml"])
    }

    @Test func fileCountIsCapped() {
        let files = (0..<3).map { ("f\($0).yaml", "") }
        #expect(load(files, limits: LoaderLimits(maxFiles: 2)).codes == ["too-many-files"])
    }

    @Test func diagnosticsAreCapped() throws {
        let many = (1...10).map { "field\($0): 1" }.joined(separator: "\n")
        let yaml = "apiVersion: coffer.dev/v1\nkind: ProtectedVM\n" + many
        let result = load(yaml, limits: LoaderLimits(maxDiagnostics: 3))
        #expect(result.diagnostics.count == 4)
        let last = try #require(result.diagnostics.last)
        #expect(last.code == "too-many-diagnostics")
        #expect(last.summary == "9 more problems not shown")
        #expect(result.state == nil)
    }

    @Test func valuesQuotedInMessagesStayOnOneLine() throws {
        // Found by fuzzing: a multi-line plain scalar quoted in a summary broke the one-line form.
        let result = load("first\n\n  second\tthird\n")
        let diagnostic = try #require(result.diagnostics.first)
        #expect(result.codes == ["wrong-type"])
        #expect(diagnostic.summary == "a manifest document must be a mapping, found the string 'first\\nsecond\\tthird'")
        #expect(!diagnostic.rendered().split(separator: "\n")[0].contains("second\t"))
    }

    @Test func controlCharactersAreRefusedAndNeverEchoed() throws {
        let bytes = Array("a: 1\nb: \u{1B}[31mred".utf8)
        let result = ManifestLoader().load(files: [(path: "c.yaml", contents: bytes)])
        let diagnostic = try #require(result.diagnostics.first)
        #expect(result.codes == ["control-character"])
        #expect(diagnostic.location == SourceLocation(file: "c.yaml", line: 2, column: 4))
        // The snippet is printed to terminals: the escape character is replaced, one scalar for one.
        #expect(diagnostic.sourceLine == "b: \u{FFFD}[31mred")
    }
}
