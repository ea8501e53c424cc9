import CofferManifest
import CofferModel
import CofferTestSupport
import Foundation
import Testing

/// Inputs crafted to exhaust memory, time or the stack. Each must be refused with the right code; every
/// check runs before the work it guards (sizes before reading, depth and node counts on the event stream
/// before any tree exists), so none of these can take long.
@Suite struct HostileInputTests {
    static let billionLaughs = """
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        """

    @Test func billionLaughsIsRefusedWithoutExpanding() throws {
        // Expanded, the bomb is 9^9 (387 million) strings. Written, it has 9 + 8 × 9 scalars and aliases,
        // 9 keys, 9 sequences and a mapping: 100 nodes. A budget of 120 nodes proves nothing was expanded.
        let result = load(Self.billionLaughs, limits: LoaderLimits(maxNodes: 120))
        #expect(result.state == nil)
        #expect(!result.codes.contains("too-many-nodes"))
        let anchor = try #require(result.diagnostics("yaml-anchor").first)
        #expect(anchor.location == SourceLocation(file: "test.yaml", line: 1, column: 4))
        #expect(anchor.detail == "the file has 9 anchors; only the first is shown")
        let alias = try #require(result.diagnostics("yaml-alias").first)
        #expect(alias.location == SourceLocation(file: "test.yaml", line: 2, column: 8))
        #expect(alias.detail == "the file has 72 aliases; only the first is shown")
        #expect(result.diagnostics("yaml-anchor").count == 1)
        #expect(result.diagnostics("yaml-alias").count == 1)
    }

    @Test func aliasAsAMappingKeyIsRefused() throws {
        let yaml = """
            apiVersion: coffer.dev/v1
            kind: &k RecoveryServicesVault
            *k : value
            """
        let result = load(yaml)
        #expect(result.state == nil)
        let alias = try #require(result.diagnostics("yaml-alias").first)
        #expect(alias.location == SourceLocation(file: "test.yaml", line: 3, column: 1))
        #expect(result.diagnostics("yaml-anchor").first?.location?.line == 2)
        // The refused key drops its value: nothing else is reported about it.
        #expect(!result.codes.contains("unknown-field"))
    }

    @Test func tenThousandFlowLevelsStopAtTheDepthLimit() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let result = load(deep)
        let diagnostic = try #require(result.diagnostics.first)
        #expect(result.codes == ["too-deep"])
        // The 65th bracket is the first one past the limit of 64.
        #expect(diagnostic.location == SourceLocation(file: "test.yaml", line: 1, column: 65))
    }

    @Test func tenThousandBlockSequenceLevelsStopAtTheDepthLimit() throws {
        let deep = String(repeating: "- ", count: 10_000) + "x\n"
        let result = load(deep)
        #expect(result.codes == ["too-deep"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "test.yaml", line: 1, column: 129))
    }

    @Test func deeplyIndentedBlockMappingsStopAtTheDepthLimit() throws {
        let deep = (0..<1_000).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " x\n"
        let result = load(deep)
        #expect(result.codes == ["too-deep"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "test.yaml", line: 65, column: 65))
    }

    @Test func depthLimitIsConfigurable() {
        let nested = "a: {b: {c: [1]}}"
        #expect(load(nested, limits: LoaderLimits(maxDepth: 3)).codes == ["too-deep"])
        #expect(!load(nested, limits: LoaderLimits(maxDepth: 4)).codes.contains("too-deep"))
    }

    @Test func hundredMegabyteFileIsRefusedBeforeItIsRead() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("huge.yaml")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        // A sparse file: 100 MB long without writing 100 MB. Reading it would return 100 MB of NULs.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 100_000_000)
        try handle.close()
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

    @Test func nodeBudgetStopsAFlatFlood() throws {
        // A file of "1," is half a node per byte: 4 MiB would be two million nodes, over the default budget
        // of a million. The same check at a tenth of the scale:
        let flat = "[" + String(repeating: "1,", count: 200_000 - 1) + "1]"
        let result = load(flat, limits: LoaderLimits(maxNodes: 100_000))
        #expect(result.codes == ["too-many-nodes"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "test.yaml", line: 1, column: 2 + 2 * 99_999))
    }

    @Test func documentCountIsCapped() {
        let documents = String(repeating: "---\na: 1\n", count: 5)
        let result = load(documents, limits: LoaderLimits(maxDocuments: 3))
        #expect(result.codes.contains("too-many-documents"))
        #expect(result.diagnostics("too-many-documents").first?.location == SourceLocation(file: "test.yaml", line: 7, column: 1))
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

    @Test func binaryGarbageIsRefused() throws {
        // A PNG header: not UTF-8 from its first byte.
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D]
        let result = ManifestLoader().load(files: [(path: "logo.yaml", contents: png)])
        #expect(result.codes == ["invalid-utf8"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "logo.yaml", line: 1, column: 1))

        // Pseudo-random bytes, deterministic: refused as some kind of non-text, never crashing.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for round in 0..<64 {
            var bytes = [UInt8]()
            for _ in 0..<4_096 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            let garbage = ManifestLoader().load(files: [(path: "g\(round).yaml", contents: bytes)])
            #expect(garbage.state == nil)
            let code = try #require(garbage.codes.first)
            #expect(["invalid-utf8", "nul-byte", "control-character"].contains(code))
        }
    }

    @Test(arguments: [
        ("overlong", [0xC0, 0xAF] as [UInt8]),
        ("surrogate", [0xED, 0xA0, 0x80]),
        ("beyond U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
        ("lone continuation", [0x80]),
        ("truncated", [0xE2, 0x82]),
    ])
    func invalidUTF8IsRefusedWhereItIs(_ name: String, _ sequence: [UInt8]) throws {
        let bytes = Array("apiVersion: coffer.dev/v1\nkind: caf".utf8) + sequence + Array("\n".utf8)
        let result = ManifestLoader().load(files: [(path: "bad.yaml", contents: bytes)])
        #expect(result.codes == ["invalid-utf8"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "bad.yaml", line: 2, column: 10))
    }

    @Test func utf16IsRefusedAndUTF8ByteOrderMarkAccepted() throws {
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in "a: 1".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let refused = ManifestLoader().load(files: [(path: "w.yaml", contents: utf16)])
        #expect(refused.codes == ["unsupported-encoding"])
        #expect(refused.diagnostics.first?.summary == "the file starts with a UTF-16 byte-order mark")
        #expect(refused.diagnostics.first?.location == SourceLocation(file: "w.yaml", line: 1, column: 1))

        let withBOM: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("apiVersion: coffer.dev/v2\n".utf8)
        let accepted = ManifestLoader().load(files: [(path: "b.yaml", contents: withBOM)])
        // Read past the mark, with columns as if it were not there.
        #expect(accepted.diagnostics("unknown-api-version").first?.location?.column == 13)
    }

    @Test func nulByteIsRefusedWhereItIs() {
        let bytes = Array("a: 1\nb: x".utf8) + [0] + Array("y\n".utf8)
        let result = ManifestLoader().load(files: [(path: "n.yaml", contents: bytes)])
        #expect(result.codes == ["nul-byte"])
        #expect(result.diagnostics.first?.location == SourceLocation(file: "n.yaml", line: 2, column: 5))
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
