import CofferModel
import Yams

/// A YAML file composed into nodes with their positions, without expanding or interpreting anything.
public struct YAMLDocument {
    public let file: String
    public let root: Node?

    /// Composes the first document of `text`. Throws a diagnostic when the YAML does not parse.
    public init(file: String, text: String) throws {
        self.file = file
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ManifestError.syntax(Self.diagnostic(for: error, file: file))
        }
    }

    /// The location of a node, 1-based, as `file:line:column`.
    public func location(of node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0)
    }

    /// The node at a path of mapping keys, or nil when a key is missing or a step is not a mapping.
    public func node(at path: [String]) -> Node? {
        var current = root
        for key in path {
            guard let mapping = current?.mapping else { return nil }
            current = mapping.first { $0.key.scalar?.string == key }?.value
        }
        return current
    }

    static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            let where_ = SourceLocation(file: file, line: mark.line, column: mark.column)
            let summary = [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
            return .error("yaml-syntax", summary.isEmpty ? "invalid YAML" : summary, at: where_,
                          hint: "fix the YAML syntax at this position")
        default:
            return .error("yaml-syntax", "invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }
}

/// An error from CofferManifest that carries the diagnostics explaining it.
public enum ManifestError: Error, Sendable {
    case syntax(Diagnostic)
}
