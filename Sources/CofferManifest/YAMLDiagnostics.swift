import CofferModel
import CofferYAML

extension SourceText {
    /// The location of a 1-based line and column in this file.
    func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: path, line: line, column: column)
    }

    /// The location of a position in this file.
    func location(_ mark: YAMLMark) -> SourceLocation {
        location(line: mark.line, column: mark.column)
    }
}

extension LoaderLimits {
    /// The limits the YAML composer applies to each file and to the load's budget.
    var yaml: YAMLLimits {
        YAMLLimits(maxFileBytes: maxFileBytes, maxDepth: maxDepth, maxDocuments: maxDocuments, maxNodes: maxNodes)
    }
}

extension DiagnosticSink {
    /// Reports what the composer refused, in the order it was found, worded for manifests; problems the
    /// composer only counted are counted here too.
    func report(_ composed: ComposedFile) {
        for problem in composed.problems { report(problem, in: composed.source) }
        for _ in 0..<composed.droppedProblems { drop(.yamlSyntax) }
    }

    /// Reports one problem of the YAML layer as a manifest diagnostic.
    func report(_ problem: YAMLProblem, in source: SourceText) {
        let at = source.location(problem.mark)
        switch problem.kind {
        case .fileTooLarge(let size, let limit):
            report(
                .fileTooLarge, "\(source.path) is \(size) bytes, over the limit of \(limit) bytes", at: at, in: nil,
                detail: "the file was not read", hint: "split it into smaller files, or raise the file size limit")
        case .unsupportedEncoding(let encoding):
            report(
                .unsupportedEncoding, "the file starts with a \(encoding) byte-order mark", at: at, in: source,
                detail: "manifests are read as UTF-8 only",
                hint: "save the file as UTF-8 (a UTF-8 byte-order mark is accepted)")
        case .nulByte:
            report(
                .nulByte, "the file contains a NUL byte", at: at, in: source,
                detail: "a NUL byte means the file is binary, or text in an encoding other than UTF-8",
                hint: "manifests are UTF-8 text; if this is UTF-16, save it as UTF-8")
        case .controlCharacter(let scalar):
            var hex = String(scalar, radix: 16, uppercase: true)
            while hex.count < 4 { hex = "0" + hex }
            let what = scalar == 0xFEFF ? "a byte-order mark inside the file" : "control character U+\(hex)"
            report(
                .controlCharacter, "\(what) is not allowed in YAML", at: at, in: source,
                hint: "remove it, or write it as an escape (\"\\u\(hex)\") inside a double-quoted string")
        case .invalidUTF8(let byte):
            report(
                .invalidUTF8,
                "invalid UTF-8: byte 0x\(String(byte, radix: 16, uppercase: true)) does not start a valid sequence",
                at: at, in: source, detail: "the file is binary or in an encoding other than UTF-8",
                hint: "manifests are UTF-8 text: save the file as UTF-8")
        case .syntax(let message, let context, let contextMark):
            var detail: String?
            if let context, let contextMark { detail = "\(context) at \(source.location(contextMark))" }
            report(
                .yamlSyntax, message, at: at, in: source, detail: detail,
                hint: Self.syntaxHint(problem: message, at: problem.mark, in: source))
        case .anchor(let count):
            report(
                .yamlAnchor, "YAML anchors are not allowed in manifests", at: at, in: source,
                detail: count > 1
                    ? "the file has \(count) anchors; only the first is shown"
                    : "anchors exist to be repeated by aliases, which coffer refuses",
                hint: "remove the '&name' and write repeated values out in full")
        case .alias(let count):
            report(
                .yamlAlias, "YAML aliases are not allowed in manifests", at: at, in: source,
                detail: count > 1
                    ? "the file has \(count) aliases; only the first is shown"
                    : "aliases can expand a small file into a huge one (a 'billion laughs' attack)",
                hint: "write the value out in full")
        case .tag(let shown):
            report(
                .yamlTag, "YAML tags are not allowed in manifests (found '\(shown)')", at: at, in: source,
                detail: "a tag changes how a value is read; manifest fields have fixed types",
                hint: "remove the tag; quote the value if it must be a string")
        case .mergeKey:
            report(
                .yamlMergeKey, "YAML merge keys ('<<') are not allowed in manifests", at: at, in: source,
                detail: "merge keys copy fields in from elsewhere, which hides what a resource declares",
                hint: "write the fields out in full")
        case .nonScalarKey(let isSequence):
            report(
                .nonScalarKey, "a mapping key must be a plain value, not a \(isSequence ? "sequence" : "mapping")",
                at: at, in: source, detail: "manifest keys are field names", hint: "use a field name as the key")
        case .duplicateKey(let key, let first):
            report(
                .duplicateKey, "duplicate key '\(key)' (first at \(source.location(first)))", at: at, in: source,
                detail: "YAML keys must be unique within a mapping; the first one is kept",
                hint: "remove one of the two, or merge them")
        case .tooDeep(let limit):
            report(
                .tooDeep, "the YAML nests deeper than \(limit) levels", at: at, in: source,
                detail: "coffer stops reading the file here; no manifest needs more than a few levels",
                hint: "remove the excess nesting")
        case .tooManyNodes(let limit):
            report(
                .tooManyNodes, "more than \(limit) YAML nodes in the manifests", at: at, in: source,
                detail: "coffer stops reading here",
                hint: "split the manifests into several loads, or raise the node limit")
        case .tooManyDocuments(let limit):
            report(
                .tooManyDocuments, "more than \(limit) YAML documents in the manifests", at: at, in: source,
                detail: "coffer stops reading here",
                hint: "split the manifests into several loads, or raise the document limit")
        case .parserUnavailable:
            report(
                .yamlSyntax, "the YAML parser could not be initialised (out of memory)", at: at, in: source,
                hint: "retry with more memory available")
        }
    }

    private static func syntaxHint(problem: String, at: YAMLMark, in source: SourceText) -> String {
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
