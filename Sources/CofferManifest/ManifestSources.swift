import CofferModel
import CofferYAML

/// The text of the manifest files a load read, kept with the load's result so that a diagnostic about them
/// made later (by the plan) shows the line it points at as it was loaded: never the working tree as it is
/// now, which for manifests read from a commit is another revision, or nothing at all.
public struct ManifestSources: Sendable {
    private var files: [String: [UInt8]]

    /// No sources: no diagnostic gets a snippet from it.
    public init() {
        files = [:]
    }

    init(files: [String: [UInt8]]) {
        self.files = files
    }

    /// The line `location` points into, as diagnostics show it (control characters replaced), or nil when
    /// the file was not part of the load or the line is past its end or too long to show.
    public func line(at location: SourceLocation) -> String? {
        source(location.file)?.line(location.line).map(DiagnosticSink.printable)
    }

    /// `diagnostics` with the source line of every one that points into a loaded file and has none yet; each
    /// file's lines are found once, however many diagnostics point into it.
    public func withSnippets(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        var sources: [String: SourceText?] = [:]
        return diagnostics.map { diagnostic in
            guard diagnostic.sourceLine == nil, let location = diagnostic.location else { return diagnostic }
            if sources[location.file] == nil { sources[location.file] = .some(source(location.file)) }
            guard let source = sources[location.file] ?? nil, let line = source.line(location.line) else { return diagnostic }
            var diagnostic = diagnostic
            diagnostic.sourceLine = DiagnosticSink.printable(line)
            return diagnostic
        }
    }

    /// The checked text of a loaded file, or nil when the load did not read it.
    private func source(_ path: String) -> SourceText? {
        guard let bytes = files[path] else { return nil }
        let (source, problem) = SourceText.checked(path: path, bytes: bytes)
        return problem == nil ? source : nil
    }
}
