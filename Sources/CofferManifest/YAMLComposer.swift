import CYaml
import CofferModel

/// What is left of a load's budget of documents and nodes, shared by all its files.
struct LoadBudget {
    var documents: Int
    var nodes: Int
}

/// The documents of one file and whether the whole file was read.
struct ComposedFile {
    var documents: [ComposedDocument]
    /// False when reading stopped early (a syntax error, or a limit): declarations may be missing.
    var complete: Bool
}

/// Builds YAML nodes from libyaml's event stream, refusing what manifests must not contain before any of it
/// can be expanded or walked.
///
/// Anchors, aliases, explicit tags, merge keys, keys that are not scalars and duplicate keys are reported
/// with their positions. An alias is never resolved: it becomes a refused node, so an alias bomb costs one
/// node per alias written. Nesting is counted on the events, iteratively, and reading stops past
/// `maxDepth`, so no recursion (libyaml's, Yams' or ours) can overflow the stack.
final class YAMLComposer {
    private let source: SourceText
    private let limits: LoaderLimits
    private let sink: DiagnosticSink

    private enum PendingKey {
        case none
        case key(String, YAMLMark)
        /// The key was refused and reported; its value is dropped.
        case refused
    }

    /// A collection being built. A class, so that adding to it never copies what it holds.
    private final class Frame {
        let mark: YAMLMark
        let isSequence: Bool
        var items: [YAMLNode] = []
        var entries: [YAMLEntry] = []
        var pending = PendingKey.none
        var seen: [String: YAMLMark] = [:]
        /// The collection had an explicit tag: it is read through, then refused.
        var tagged = false

        init(mark: YAMLMark, isSequence: Bool) {
            self.mark = mark
            self.isSequence = isSequence
        }
    }

    private var stack: [Frame] = []
    private var root: YAMLNode?
    private var documents: [ComposedDocument] = []
    private var documentMark = YAMLMark(line: 1, column: 1)
    private var anchors = 0
    private var aliases = 0
    private var firstAnchorDiagnostic: Int?
    private var firstAliasDiagnostic: Int?

    init(source: SourceText, limits: LoaderLimits, sink: DiagnosticSink) {
        self.source = source
        self.limits = limits
        self.sink = sink
    }

    private enum Step {
        case proceed, finished, abandoned
    }

    /// Reads every document of the file, spending the shared budget.
    func compose(budget: inout LoadBudget) -> ComposedFile {
        guard !source.bytes.isEmpty else { return ComposedFile(documents: [], complete: true) }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            sink.report(
                .yamlSyntax, "the YAML parser could not be initialised (out of memory)",
                at: source.location(line: 1, column: 1), in: source, hint: "retry with more memory available")
            return ComposedFile(documents: [], complete: false)
        }
        defer { yaml_parser_delete(parser) }

        var complete = true
        source.bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            while true {
                guard yaml_parser_parse(parser, event) == 1 else {
                    reportParserError(parser.pointee)
                    complete = false
                    return
                }
                let step = handle(event.pointee, budget: &budget)
                yaml_event_delete(event)
                switch step {
                case .proceed: continue
                case .finished: return
                case .abandoned:
                    complete = false
                    return
                }
            }
        }
        if anchors > 1, let index = firstAnchorDiagnostic {
            sink.amendDetail(at: index, "the file has \(anchors) anchors; only the first is shown")
        }
        if aliases > 1, let index = firstAliasDiagnostic {
            sink.amendDetail(at: index, "the file has \(aliases) aliases; only the first is shown")
        }
        return ComposedFile(documents: documents, complete: complete)
    }

    private func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private func location(_ mark: YAMLMark) -> SourceLocation {
        source.location(line: mark.line, column: mark.column)
    }

    private func handle(_ event: yaml_event_t, budget: inout LoadBudget) -> Step {
        let start = mark(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return .proceed
        case YAML_STREAM_END_EVENT:
            return .finished
        case YAML_DOCUMENT_START_EVENT:
            budget.documents -= 1
            if budget.documents < 0 {
                sink.report(
                    .tooManyDocuments, "more than \(limits.maxDocuments) YAML documents in the manifests",
                    at: location(start), in: source, detail: "coffer stops reading here",
                    hint: "split the manifests into several loads, or raise the document limit")
                return .abandoned
            }
            documentMark = start
            root = nil
            stack.removeAll()
            return .proceed
        case YAML_DOCUMENT_END_EVENT:
            documents.append(ComposedDocument(root: root, mark: documentMark))
            return .proceed
        case YAML_ALIAS_EVENT:
            guard spend(&budget, at: start) else { return .abandoned }
            aliases += 1
            if aliases == 1 {
                firstAliasDiagnostic = sink.diagnostics.count
                sink.report(
                    .yamlAlias, "YAML aliases are not allowed in manifests", at: location(start), in: source,
                    detail: "aliases can expand a small file into a huge one (a 'billion laughs' attack)",
                    hint: "write the value out in full")
            }
            attach(YAMLNode(content: .refused, mark: start))
            return .proceed
        case YAML_SCALAR_EVENT:
            guard spend(&budget, at: start) else { return .abandoned }
            let scalar = event.data.scalar
            checkAnchor(scalar.anchor, at: start)
            if let tag = scalar.tag {
                reportTag(tag, at: start)
                attach(YAMLNode(content: .refused, mark: start))
                return .proceed
            }
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            attach(YAMLNode(content: .scalar(text, style(scalar.style)), mark: start))
            return .proceed
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            guard spend(&budget, at: start) else { return .abandoned }
            if stack.count >= limits.maxDepth {
                sink.report(
                    .tooDeep, "the YAML nests deeper than \(limits.maxDepth) levels", at: location(start), in: source,
                    detail: "coffer stops reading the file here; no manifest needs more than a few levels",
                    hint: "remove the excess nesting")
                return .abandoned
            }
            let isSequence = event.type == YAML_SEQUENCE_START_EVENT
            let anchor = isSequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
            let tag = isSequence ? event.data.sequence_start.tag : event.data.mapping_start.tag
            checkAnchor(anchor, at: start)
            if let tag { reportTag(tag, at: start) }
            let frame = Frame(mark: start, isSequence: isSequence)
            frame.tagged = tag != nil
            stack.append(frame)
            return .proceed
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return .proceed }
            if frame.tagged {
                attach(YAMLNode(content: .refused, mark: frame.mark))
            } else {
                attach(YAMLNode(content: frame.isSequence ? .sequence(frame.items) : .mapping(frame.entries), mark: frame.mark))
            }
            return .proceed
        default:
            return .proceed
        }
    }

    private func spend(_ budget: inout LoadBudget, at start: YAMLMark) -> Bool {
        budget.nodes -= 1
        guard budget.nodes >= 0 else {
            sink.report(
                .tooManyNodes, "more than \(limits.maxNodes) YAML nodes in the manifests", at: location(start),
                in: source, detail: "coffer stops reading here",
                hint: "split the manifests into several loads, or raise the node limit")
            return false
        }
        return true
    }

    private func style(_ style: yaml_scalar_style_t) -> ScalarStyle {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }

    private func checkAnchor(_ anchor: UnsafeMutablePointer<yaml_char_t>?, at start: YAMLMark) {
        guard anchor != nil else { return }
        anchors += 1
        guard anchors == 1 else { return }
        firstAnchorDiagnostic = sink.diagnostics.count
        sink.report(
            .yamlAnchor, "YAML anchors are not allowed in manifests", at: location(start), in: source,
            detail: "anchors exist to be repeated by aliases, which coffer refuses",
            hint: "remove the '&name' and write repeated values out in full")
    }

    private func reportTag(_ tag: UnsafeMutablePointer<yaml_char_t>, at start: YAMLMark) {
        let text = String(cString: UnsafeRawPointer(tag).assumingMemoryBound(to: CChar.self))
        let shown = text.hasPrefix("tag:yaml.org,2002:") ? "!!" + text.dropFirst("tag:yaml.org,2002:".count) : text
        sink.report(
            .yamlTag, "YAML tags are not allowed in manifests (found '\(shown)')", at: location(start), in: source,
            detail: "a tag changes how a value is read; manifest fields have fixed types",
            hint: "remove the tag; quote the value if it must be a string")
    }

    /// Puts a finished node where it belongs: the document root, a sequence item, a mapping key or value.
    private func attach(_ node: YAMLNode) {
        guard let top = stack.last else {
            root = node
            return
        }
        if top.isSequence {
            top.items.append(node)
            return
        }
        switch top.pending {
        case .none:
            top.pending = keyState(for: node, in: top)
        case .key(let key, let keyMark):
            top.entries.append(YAMLEntry(key: key, keyMark: keyMark, value: node))
            top.pending = .none
        case .refused:
            top.pending = .none
        }
    }

    private func keyState(for node: YAMLNode, in frame: Frame) -> PendingKey {
        switch node.content {
        case .refused:
            return .refused
        case .sequence, .mapping:
            sink.report(
                .nonScalarKey, "a mapping key must be a plain value, not a \(node.items != nil ? "sequence" : "mapping")",
                at: location(node.mark), in: source, detail: "manifest keys are field names",
                hint: "use a field name as the key")
            return .refused
        case .scalar(let text, let style):
            if text == "<<" && style == .plain {
                sink.report(
                    .yamlMergeKey, "YAML merge keys ('<<') are not allowed in manifests", at: location(node.mark),
                    in: source, detail: "merge keys copy fields in from elsewhere, which hides what a resource declares",
                    hint: "write the fields out in full")
                return .refused
            }
            if let first = frame.seen[text] {
                sink.report(
                    .duplicateKey, "duplicate key '\(text)' (first at \(location(first)))", at: location(node.mark),
                    in: source, detail: "YAML keys must be unique within a mapping; the first one is kept",
                    hint: "remove one of the two, or merge them")
                return .refused
            }
            frame.seen[text] = node.mark
            return .key(text, node.mark)
        }
    }

    private func reportParserError(_ parser: yaml_parser_t) {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        let context = parser.context.map { String(cString: $0) }
        let at: YAMLMark
        if parser.error == YAML_READER_ERROR {
            let position = source.position(ofByteOffset: Int(parser.problem_offset))
            at = YAMLMark(line: position.line, column: position.column)
        } else {
            at = mark(parser.problem_mark)
        }
        var detail: String?
        if let context {
            let contextMark = mark(parser.context_mark)
            detail = "\(context) at \(source.location(line: contextMark.line, column: contextMark.column))"
        }
        if problem.contains("Maximum nesting level") {
            // libyaml counts the flow levels its scanner has read ahead, so it stops at the outermost bracket;
            // point at the bracket that goes past coffer's limit instead.
            var deepest = at
            if let offset = source.byteOffset(line: at.line, column: at.column),
                let found = source.flowNesting(from: offset, reaching: limits.maxDepth - stack.count + 1)
            {
                deepest = YAMLMark(line: found.line, column: found.column)
            }
            sink.report(
                .tooDeep, "the YAML nests deeper than \(limits.maxDepth) levels", at: location(deepest), in: source,
                detail: "coffer stops reading the file here; no manifest needs more than a few levels",
                hint: "remove the excess nesting")
            return
        }
        sink.report(
            .yamlSyntax, problem, at: location(at), in: source, detail: detail,
            hint: syntaxHint(problem: problem, at: at))
    }

    private func syntaxHint(problem: String, at: YAMLMark) -> String {
        let character = source.line(at.line).flatMap { line -> Character? in
            let scalars = Array(line.unicodeScalars)
            return at.column - 1 < scalars.count ? Character(scalars[at.column - 1]) : nil
        }
        if character == "\t" || problem.contains("tab") {
            return "YAML does not allow tabs for indentation: indent with spaces"
        }
        if problem.contains("cannot start any token"), let character {
            return "'\(character)' cannot start a plain value: quote the value"
        }
        if problem.contains("mapping values are not allowed") {
            return "quote values that contain ': ', or check the indentation of this line"
        }
        if problem.contains("did not find expected key") || problem.contains("expected '-' indicator")
            || problem.contains("expected <block end>")
        {
            return "check the indentation: the fields of one mapping must line up"
        }
        if problem.contains("could not find expected ':'") {
            return "a key needs ': ' after it (a colon and a space)"
        }
        if problem.contains("undefined tag handle") {
            return "YAML tags are not allowed in manifests: remove the tag"
        }
        if problem.contains("found unexpected end of stream") {
            return "close the quote or bracket opened earlier"
        }
        return "fix the YAML syntax at this position"
    }
}
