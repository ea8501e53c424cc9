import CofferYAML
import Testing

/// Composes one in-memory file.
func compose(_ yaml: String, path: String = "test.yaml", limits: YAMLLimits = .default) -> ComposedFile {
    YAMLComposer.compose(path: path, bytes: Array(yaml.utf8), limits: limits)
}

/// The kinds of the problems, without their data, for short expectations.
func kinds(_ file: ComposedFile) -> [String] {
    file.problems.map { problem in
        switch problem.kind {
        case .fileTooLarge: "file-too-large"
        case .unsupportedEncoding: "unsupported-encoding"
        case .nulByte: "nul-byte"
        case .controlCharacter: "control-character"
        case .invalidUTF8: "invalid-utf8"
        case .syntax: "syntax"
        case .anchor: "anchor"
        case .alias: "alias"
        case .tag: "tag"
        case .mergeKey: "merge-key"
        case .nonScalarKey: "non-scalar-key"
        case .duplicateKey: "duplicate-key"
        case .tooDeep: "too-deep"
        case .tooManyNodes: "too-many-nodes"
        case .tooManyDocuments: "too-many-documents"
        case .parserUnavailable: "parser-unavailable"
        }
    }
}

/// Nodes, their positions, and what the composer refuses on the event stream.
@Suite struct ComposerTests {
    @Test func nodesCarryTheirPositions() throws {
        let file = compose("""
            # a comment
            vault:
              name: "rsv-a"
              days: [7, 14]
            ---
            second: café
            """)
        #expect(file.problems.isEmpty && file.complete)
        #expect(file.documents.count == 2)
        #expect(file.documents[1].mark == YAMLMark(line: 5, column: 1))
        let root = try #require(file.documents.first?.root)
        #expect(root.mark == YAMLMark(line: 2, column: 1))
        let vault = try #require(root.entry("vault"))
        #expect(vault.keyMark == YAMLMark(line: 2, column: 1))
        #expect(vault.value.mark == YAMLMark(line: 3, column: 3))
        let name = try #require(vault.value.entry("name"))
        #expect(name.value.mark == YAMLMark(line: 3, column: 9))
        #expect(name.value.string == "rsv-a")
        let days = try #require(vault.value["days"]?.items)
        #expect(days.map(\.mark) == [YAMLMark(line: 4, column: 10), YAMLMark(line: 4, column: 13)])
        #expect(days.map(\.int) == [7, 14])
        // Columns count Unicode scalars, as libyaml does: the value after "café" would be at column 14.
        #expect(file.documents[1].root?["second"]?.mark == YAMLMark(line: 6, column: 9))
        #expect(file.source.line(6) == "second: café")
    }

    @Test func strictScalars() throws {
        let root = try #require(compose("a: yes\nb: \"30\"\nc: 30\nd: 02:30\ne: ~\nf: true\n").documents.first?.root)
        #expect(root["a"]?.resolved == .string("yes"))
        #expect(root["b"]?.resolved == .string("30"))
        #expect(root["c"]?.resolved == .int(30))
        #expect(root["d"]?.resolved == .string("02:30"))
        #expect(root["e"]?.resolved == .null)
        #expect(root["f"]?.resolved == .bool(true))
    }

    @Test func tagsMergeKeysAndKeysThatAreNotScalarsAreRefused() throws {
        let file = compose("a: !!str x\nb: !custom [1]\n<<: {c: 1}\n[k]: v\n{m: 1}: v\n")
        #expect(kinds(file) == ["tag", "tag", "merge-key", "non-scalar-key", "non-scalar-key"])
        #expect(file.problems[0].kind == .tag("!!str"))
        #expect(file.problems[1].kind == .tag("!custom"))
        #expect(file.problems.map(\.mark.line) == [1, 2, 3, 4, 5])
        #expect(file.problems[3].kind == .nonScalarKey(isSequence: true))
        #expect(file.problems[4].kind == .nonScalarKey(isSequence: false))
        let root = try #require(file.documents.first?.root)
        // Refused nodes stay in place as `refused`; refused keys drop their value.
        if case .refused = try #require(root["a"]).content {} else { Issue.record("a tagged scalar is refused") }
        #expect(root.entries?.map(\.key) == ["a", "b"])
    }

    @Test func duplicateKeysNameTheFirst() throws {
        let file = compose("a: 1\nb: 2\na: 3\n")
        #expect(file.problems == [YAMLProblem(.duplicateKey("a", first: YAMLMark(line: 1, column: 1)), at: YAMLMark(line: 3, column: 1))])
        #expect(file.documents.first?.root?["a"]?.int == 1)
    }

    @Test func syntaxErrorsStopTheFileWithTheirContext() throws {
        let file = compose("a: [1, 2\nb: 3\n")
        #expect(!file.complete)
        guard case .syntax(let problem, let context, let contextMark) = try #require(file.problems.first).kind else {
            Issue.record("expected a syntax problem, got \(file.problems)")
            return
        }
        #expect(problem == "did not find expected ',' or ']'")
        #expect(context == "while parsing a flow sequence")
        #expect(contextMark == YAMLMark(line: 1, column: 4))
    }

    @Test func problemsPastTheLimitAreCountedNotBuilt() {
        let yaml = (0..<10).map { "a: \($0)" }.joined(separator: "\n")
        var budget = YAMLBudget(.default)
        let (source, problem) = SourceText.checked(path: "d.yaml", bytes: Array(yaml.utf8))
        #expect(problem == nil)
        let file = YAMLComposer(source: source, limits: .default, maxProblems: 3).compose(budget: &budget)
        #expect(kinds(file) == ["duplicate-key", "duplicate-key", "duplicate-key"])
        #expect(file.droppedProblems == 6)
    }
}
