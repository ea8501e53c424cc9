/// How bad a diagnostic is: errors stop a plan or an apply, warnings do not.
public enum Severity: String, Codable, Sendable, Hashable, Comparable {
    case error
    case warning
    case note

    private var rank: Int {
        switch self {
        case .error: 0
        case .warning: 1
        case .note: 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// A problem found in user input, collected with every other problem rather than thrown one at a time.
///
/// Rendered like a compiler message: `manifests/prod.yaml:12:5: error[E0102]: unknown field 'retentoin'`,
/// then the source line, a caret under the column and the hint.
public struct Diagnostic: Hashable, Codable, Sendable {
    public var severity: Severity
    /// A stable, greppable code such as `unknown-field` or a platform error code.
    public var code: String
    /// One line that says what is wrong.
    public var summary: String
    /// More context: why it is wrong.
    public var detail: String?
    /// How to fix it.
    public var hint: String?
    /// Where it is, when it comes from a file.
    public var location: SourceLocation?
    /// The source line the location points into, without its line break.
    public var sourceLine: String?

    public init(
        severity: Severity, code: String, summary: String, detail: String? = nil, hint: String? = nil,
        location: SourceLocation? = nil, sourceLine: String? = nil
    ) {
        self.severity = severity
        self.code = code
        self.summary = summary
        self.detail = detail
        self.hint = hint
        self.location = location
        self.sourceLine = sourceLine
    }

    public static func error(
        _ code: String, _ summary: String, at location: SourceLocation? = nil, detail: String? = nil,
        hint: String? = nil
    ) -> Diagnostic {
        Diagnostic(severity: .error, code: code, summary: summary, detail: detail, hint: hint, location: location)
    }

    public static func warning(
        _ code: String, _ summary: String, at location: SourceLocation? = nil, detail: String? = nil,
        hint: String? = nil
    ) -> Diagnostic {
        Diagnostic(severity: .warning, code: code, summary: summary, detail: detail, hint: hint, location: location)
    }

    /// The compiler-style rendering without colour:
    ///
    ///     file.yaml:3:5: error[code]: summary
    ///       3 | retentoin: 30
    ///         |     ^
    ///       = hint: did you mean 'retention'?
    public func rendered() -> String {
        var out = ""
        if let location { out += "\(location): " }
        out += "\(severity.rawValue)[\(code)]: \(summary)"
        if let detail { out += "\n  \(detail)" }
        if let location, let sourceLine {
            let gutter = String(location.line)
            let pad = String(repeating: " ", count: gutter.count)
            out += "\n \(gutter) | \(sourceLine)"
            // Columns count Unicode scalars; tabs in the source are kept so the caret lines up.
            let prefix = sourceLine.unicodeScalars.prefix(max(0, location.column - 1)).map { $0 == "\t" ? "\t" : " " }
            out += "\n \(pad) | \(prefix.joined())^"
        }
        if let hint { out += "\n  = hint: \(hint)" }
        return out
    }
}

extension Array where Element == Diagnostic {
    /// Whether any of the diagnostics is an error.
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// Errors first, then by file, line and column, so that output is stable.
    public func sortedForDisplay() -> [Diagnostic] {
        sorted { a, b in
            switch (a.location, b.location) {
            case let (l?, r?) where l != r: return l < r
            case (nil, _?): return false
            case (_?, nil): return true
            default: return (a.severity, a.code, a.summary) < (b.severity, b.code, b.summary)
            }
        }
    }
}
