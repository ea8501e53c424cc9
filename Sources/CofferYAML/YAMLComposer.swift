internal import CLibYAML

/// The documents of one file, what was refused in it, and whether the whole file was read.
public struct ComposedFile {
    /// The file's text, for positions and snippets.
    public var source: SourceText
    /// The documents read, in order.
    public var documents: [ComposedDocument]
    /// The problems found, in the order they were met; at most the `maxProblems` given to `compose`.
    public var problems: [YAMLProblem]
    /// How many more problems were found past `maxProblems` (counted, not built).
    public var droppedProblems: Int
    /// False when reading stopped early (a syntax error, an encoding problem, or a limit): content may be
    /// missing.
    public var complete: Bool
}

/// Builds YAML nodes from libyaml's event stream, refusing what coffer's files must not contain before any
/// of it can be expanded or walked.
///
/// Anchors, aliases, explicit tags, merge keys, keys that are not scalars and duplicate keys are reported
/// with their positions. An alias is never resolved: it becomes a refused node, so an alias bomb costs one
/// node per alias written. Nesting is counted on the events, iteratively, and reading stops past
/// `maxDepth`, so no recursion (libyaml's or ours) can overflow the stack.
public final class YAMLComposer {
    private let source: SourceText
    private let limits: YAMLLimits
    private let maxProblems: Int

    /// Composes a whole file in one call: checks its size and encoding, then reads every document, within
    /// `limits`.
    public static func compose(path: String, bytes: [UInt8], limits: YAMLLimits = .default) -> ComposedFile {
        let (source, problem) = SourceText.checked(path: path, bytes: bytes)
        if bytes.count > limits.maxFileBytes {
            let tooLarge = YAMLProblem(.fileTooLarge(size: bytes.count, limit: limits.maxFileBytes), at: YAMLMark(line: 1, column: 1))
            return ComposedFile(source: source, documents: [], problems: [tooLarge], droppedProblems: 0, complete: false)
        }
        if let problem {
            return ComposedFile(source: source, documents: [], problems: [problem], droppedProblems: 0, complete: false)
        }
        var budget = YAMLBudget(limits)
        return YAMLComposer(source: source, limits: limits).compose(budget: &budget)
    }

    /// A composer of `source` (already checked with `SourceText.checked`) within `limits`, keeping at most
    /// `maxProblems` problems (the rest are only counted).
    public init(source: SourceText, limits: YAMLLimits, maxProblems: Int = .max) {
        self.source = source
        self.limits = limits
        self.maxProblems = max(0, maxProblems)
    }

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
    private var firstAnchorProblem: Int?
    private var firstAliasProblem: Int?
    private var problems: [YAMLProblem] = []
    private var droppedProblems = 0

    private func report(_ kind: YAMLProblem.Kind, at mark: YAMLMark) {
        guard problems.count < maxProblems else {
            droppedProblems += 1
            return
        }
        problems.append(YAMLProblem(kind, at: mark))
    }

    private enum Step {
        case proceed, finished, abandoned
    }

    /// Reads every document of the file, spending the shared budget (a load of several files shares one).
    public func compose(budget: inout YAMLBudget) -> ComposedFile {
        guard !source.bytes.isEmpty else { return finished(complete: true) }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            report(.parserUnavailable, at: YAMLMark(line: 1, column: 1))
            return finished(complete: false)
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
        if let index = firstAnchorProblem { problems[index].kind = .anchor(count: anchors) }
        if let index = firstAliasProblem { problems[index].kind = .alias(count: aliases) }
        return finished(complete: complete)
    }

    private func finished(complete: Bool) -> ComposedFile {
        ComposedFile(
            source: source, documents: documents, problems: problems, droppedProblems: droppedProblems,
            complete: complete)
    }

    private func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private func handle(_ event: yaml_event_t, budget: inout YAMLBudget) -> Step {
        let start = mark(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return .proceed
        case YAML_STREAM_END_EVENT:
            return .finished
        case YAML_DOCUMENT_START_EVENT:
            budget.documents -= 1
            if budget.documents < 0 {
                report(.tooManyDocuments(limit: limits.maxDocuments), at: start)
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
                if problems.count < maxProblems { firstAliasProblem = problems.count }
                report(.alias(count: 1), at: start)
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
                report(.tooDeep(limit: limits.maxDepth), at: start)
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

    private func spend(_ budget: inout YAMLBudget, at start: YAMLMark) -> Bool {
        budget.nodes -= 1
        guard budget.nodes >= 0 else {
            report(.tooManyNodes(limit: limits.maxNodes), at: start)
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
        if problems.count < maxProblems { firstAnchorProblem = problems.count }
        report(.anchor(count: 1), at: start)
    }

    private func reportTag(_ tag: UnsafeMutablePointer<yaml_char_t>, at start: YAMLMark) {
        let text = String(cString: UnsafeRawPointer(tag).assumingMemoryBound(to: CChar.self))
        let shown = text.hasPrefix("tag:yaml.org,2002:") ? "!!" + text.dropFirst("tag:yaml.org,2002:".count) : text
        report(.tag(String(shown)), at: start)
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
            report(.nonScalarKey(isSequence: node.items != nil), at: node.mark)
            return .refused
        case .scalar(let text, let style):
            if text == "<<" && style == .plain {
                report(.mergeKey, at: node.mark)
                return .refused
            }
            if let first = frame.seen[text] {
                report(.duplicateKey(text, first: first), at: node.mark)
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
        report(.syntax(problem: problem, context: context, contextMark: context.map { _ in mark(parser.context_mark) }), at: at)
    }
}
