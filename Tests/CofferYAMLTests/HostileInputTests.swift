import CofferTestSupport
import CofferYAML
import Testing

/// Inputs crafted to exhaust memory, time or the stack. Each must be refused with the right problem at the
/// right place; every check runs before the work it guards (size and encoding before parsing, depth and node
/// counts on the event stream before any tree exists), so none of these can take long.
@Suite struct HostileInputTests {
    @Test func billionLaughsIsRefusedWithoutExpanding() throws {
        // Expanded, the bomb is 9^9 (387 million) strings. Written, it has 9 + 8 × 9 scalars and aliases,
        // 9 keys, 9 sequences and a mapping: 100 nodes. A budget of 120 nodes proves nothing was expanded.
        let file = compose(HostileYAML.billionLaughs, limits: YAMLLimits(maxNodes: 120))
        #expect(file.complete)
        #expect(file.problems == [
            YAMLProblem(.anchor(count: 9), at: YAMLMark(line: 1, column: 4)),
            YAMLProblem(.alias(count: 72), at: YAMLMark(line: 2, column: 8)),
        ])
        let items = try #require(file.documents.first?.root?["i"]?.items)
        #expect(items.count == 9)
        for item in items {
            if case .refused = item.content {} else { Issue.record("an alias is refused, never resolved") }
        }
    }

    @Test func aliasAsAMappingKeyIsRefused() throws {
        let file = compose("""
            apiVersion: coffer.dev/v1
            kind: &k RecoveryServicesVault
            *k : value
            """)
        #expect(file.problems == [
            YAMLProblem(.anchor(count: 1), at: YAMLMark(line: 2, column: 7)),
            YAMLProblem(.alias(count: 1), at: YAMLMark(line: 3, column: 1)),
        ])
        // The refused key drops its value.
        #expect(file.documents.first?.root?.entries?.map(\.key) == ["apiVersion", "kind"])
    }

    @Test func tenThousandFlowLevelsStopAtTheDepthLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let file = compose(deep)
        #expect(!file.complete)
        // The 65th bracket is the first one past the limit of 64.
        #expect(file.problems == [YAMLProblem(.tooDeep(limit: 64), at: YAMLMark(line: 1, column: 65))])
    }

    @Test func tenThousandBlockSequenceLevelsStopAtTheDepthLimit() {
        let file = compose(String(repeating: "- ", count: 10_000) + "x\n")
        #expect(file.problems == [YAMLProblem(.tooDeep(limit: 64), at: YAMLMark(line: 1, column: 129))])
    }

    @Test func deeplyIndentedBlockMappingsStopAtTheDepthLimit() {
        let deep = (0..<1_000).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " x\n"
        let file = compose(deep)
        #expect(file.problems == [YAMLProblem(.tooDeep(limit: 64), at: YAMLMark(line: 65, column: 65))])
    }

    @Test func depthLimitIsConfigurable() {
        let nested = "a: {b: {c: [1]}}"
        #expect(kinds(compose(nested, limits: YAMLLimits(maxDepth: 3))) == ["too-deep"])
        #expect(compose(nested, limits: YAMLLimits(maxDepth: 4)).problems.isEmpty)
    }

    @Test func nodeBudgetStopsAFlatFlood() {
        // A file of "1," is half a node per byte: 4 MiB would be two million nodes, over the default budget
        // of a million. The same check at a tenth of the scale:
        let flat = "[" + String(repeating: "1,", count: 200_000 - 1) + "1]"
        let file = compose(flat, limits: YAMLLimits(maxNodes: 100_000))
        #expect(!file.complete)
        #expect(file.problems == [YAMLProblem(.tooManyNodes(limit: 100_000), at: YAMLMark(line: 1, column: 2 + 2 * 99_999))])
    }

    @Test func theBudgetIsSharedByTheFilesOfALoad() {
        var budget = YAMLBudget(documents: 10, nodes: 5)
        let first = SourceText.checked(path: "a.yaml", bytes: Array("[1, 2]".utf8)).source
        #expect(YAMLComposer(source: first, limits: .default).compose(budget: &budget).problems.isEmpty)
        #expect(budget.nodes == 2 && !budget.isExhausted)
        let second = SourceText.checked(path: "b.yaml", bytes: Array("[1, 2]".utf8)).source
        let file = YAMLComposer(source: second, limits: YAMLLimits(maxNodes: 5)).compose(budget: &budget)
        #expect(file.problems == [YAMLProblem(.tooManyNodes(limit: 5), at: YAMLMark(line: 1, column: 5))])
        #expect(budget.isExhausted)
    }

    @Test func documentCountIsCapped() {
        let file = compose(String(repeating: "---\na: 1\n", count: 5), limits: YAMLLimits(maxDocuments: 3))
        #expect(file.documents.count == 3)
        #expect(file.problems == [YAMLProblem(.tooManyDocuments(limit: 3), at: YAMLMark(line: 7, column: 1))])
    }

    @Test func oversizedBufferIsRefusedBeforeParsing() {
        let file = compose("[" + String(repeating: "#", count: 1_024), limits: YAMLLimits(maxFileBytes: 1_024))
        #expect(file.problems == [YAMLProblem(.fileTooLarge(size: 1_025, limit: 1_024), at: YAMLMark(line: 1, column: 1))])
        #expect(file.documents.isEmpty && !file.complete)
    }

    @Test func binaryGarbageIsRefused() throws {
        // A PNG header: not UTF-8 from its first byte.
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D]
        let file = YAMLComposer.compose(path: "logo.yaml", bytes: png)
        #expect(file.problems == [YAMLProblem(.invalidUTF8(byte: 0x89), at: YAMLMark(line: 1, column: 1))])

        // Pseudo-random bytes, deterministic: refused as some kind of non-text, never crashing.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<64 {
            var bytes = [UInt8]()
            for _ in 0..<4_096 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            let garbage = YAMLComposer.compose(path: "g.yaml", bytes: bytes)
            #expect(!garbage.complete)
            let kind = try #require(kinds(garbage).first)
            #expect(["invalid-utf8", "nul-byte", "control-character"].contains(kind))
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
        let file = YAMLComposer.compose(path: "bad.yaml", bytes: bytes)
        #expect(kinds(file) == ["invalid-utf8"])
        #expect(file.problems.first?.mark == YAMLMark(line: 2, column: 10))
    }

    @Test func utf16AndUTF32AreRefusedAndUTF8ByteOrderMarkAccepted() throws {
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in "a: 1".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        #expect(YAMLComposer.compose(path: "w.yaml", bytes: utf16).problems
            == [YAMLProblem(.unsupportedEncoding(encoding: "UTF-16"), at: YAMLMark(line: 1, column: 1))])
        let utf32: [UInt8] = [0x00, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x00, 0x61]
        #expect(YAMLComposer.compose(path: "w.yaml", bytes: utf32).problems.first?.kind == .unsupportedEncoding(encoding: "UTF-32"))

        let withBOM: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("apiVersion: coffer.dev/v2\n".utf8)
        let accepted = YAMLComposer.compose(path: "b.yaml", bytes: withBOM)
        #expect(accepted.problems.isEmpty)
        // Read past the mark, with columns as if it were not there.
        #expect(accepted.documents.first?.root?["apiVersion"]?.mark == YAMLMark(line: 1, column: 13))
    }

    @Test func nulByteIsRefusedWhereItIs() {
        let bytes = Array("a: 1\nb: x".utf8) + [0] + Array("y\n".utf8)
        #expect(YAMLComposer.compose(path: "n.yaml", bytes: bytes).problems == [YAMLProblem(.nulByte, at: YAMLMark(line: 2, column: 5))])
    }

    @Test func controlCharactersAreRefusedWhereTheyAre() {
        let file = compose("a: 1\nb: \u{1B}[31mred")
        #expect(file.problems == [YAMLProblem(.controlCharacter(scalar: 0x1B), at: YAMLMark(line: 2, column: 4))])
        let inner = compose("a: x\u{FEFF}y")
        #expect(inner.problems == [YAMLProblem(.controlCharacter(scalar: 0xFEFF), at: YAMLMark(line: 1, column: 5))])
    }

    @Test func longLinesGetNoSnippet() {
        let file = compose("a: " + String(repeating: "x", count: 2_000) + "\nb: 1\n")
        #expect(file.source.line(1) == nil)
        #expect(file.source.line(2) == "b: 1")
    }
}
