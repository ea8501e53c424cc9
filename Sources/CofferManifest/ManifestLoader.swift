import CofferModel
import CofferYAML
import Foundation

/// The outcome of loading manifests: the desired state when they are valid, and every diagnostic.
public struct ManifestLoadResult: Sendable {
    /// The desired state; nil exactly when `diagnostics` holds an error.
    public var state: DesiredState?
    /// Every problem found, errors and warnings, sorted for display.
    public var diagnostics: [Diagnostic]
    /// The files read, in the order they were read.
    public var files: [String]
    /// How many documents declared a resource, valid or not.
    public var resourceCount: Int
    /// The text of the files read, for the snippets of diagnostics made later about them (the plan's).
    public var sources: ManifestSources

    /// Creates a result.
    public init(
        state: DesiredState?, diagnostics: [Diagnostic], files: [String], resourceCount: Int, sources: ManifestSources = ManifestSources()
    ) {
        self.state = state
        self.diagnostics = diagnostics
        self.files = files
        self.resourceCount = resourceCount
        self.sources = sources
    }

    /// The number of error diagnostics.
    public var errorCount: Int { diagnostics.count { $0.severity == .error } }

    /// The number of warning diagnostics.
    public var warningCount: Int { diagnostics.count { $0.severity == .warning } }
}

/// Loads YAML manifests into a typed, fully defaulted desired state, or into the complete list of what is
/// wrong with them.
public struct ManifestLoader: Sendable {
    /// The bounds every load stays within.
    public let limits: LoaderLimits

    /// Creates a loader with the given limits.
    public init(limits: LoaderLimits = .default) {
        self.limits = limits
    }

    /// Loads every .yaml/.yml file under the given files/directories (recursively, sorted by path, hidden files
    /// and directories skipped), parses, validates, and returns the desired state or every diagnostic.
    ///
    /// A file named explicitly is read whatever its extension. Symbolic links to files are followed; links to
    /// directories are not, so a walk always ends. Each file's type and size are checked on the open file
    /// before a byte is read.
    public func load(paths: [String]) -> ManifestLoadResult {
        let sink = DiagnosticSink(limit: limits.maxDiagnostics)
        let candidates = discover(paths, sink: sink)
        var inputs: [Input] = []
        var total = 0
        var complete = true
        if candidates.count > limits.maxFiles {
            sink.report(
                .tooManyFiles, "\(candidates.count) manifest files found; at most \(limits.maxFiles) are read", at: nil,
                in: nil, hint: "point coffer at a narrower directory, or raise the file limit")
            return finish(inputs: [], sink: sink, complete: false)
        }
        reading: for candidate in candidates {
            let start = SourceLocation(file: candidate, line: 1, column: 1)
            if total >= limits.maxTotalBytes {
                totalTooLarge(at: candidate, sink: sink)
                complete = false
                break
            }
            switch FileAccess.read(candidate, limit: min(limits.maxFileBytes, limits.maxTotalBytes - total)) {
            case .bytes(let bytes):
                total += bytes.count
                inputs.append(Input(path: candidate, bytes: bytes))
            case .tooLarge(let size) where size > limits.maxFileBytes:
                tooLarge(candidate, size: size, sink: sink)
                complete = false
            case .tooLarge:
                totalTooLarge(at: candidate, sink: sink)
                complete = false
                break reading
            case .notRegular:
                sink.report(
                    .notARegularFile, "\(candidate) is not a regular file", at: start, in: nil,
                    hint: "give manifest files or directories")
                complete = false
            case .failed(let reason):
                sink.report(
                    .unreadableFile, "cannot read \(candidate) (\(reason))", at: start, in: nil,
                    hint: "check that the file exists and is readable")
                complete = false
            }
        }
        if candidates.isEmpty && !sink.hasErrors {
            sink.report(
                .noManifests, "no .yaml or .yml files found in \(paths.joined(separator: ", "))", at: nil, in: nil,
                hint: "give the directory that holds the manifests")
        }
        return finish(inputs: inputs, sink: sink, complete: complete)
    }

    /// Same, from in-memory files (path → bytes), for manifests read from a git tree.
    ///
    /// As in a directory walk, only .yaml/.yml files outside hidden files and directories are read, sorted by
    /// path; a path given twice is read once.
    public func load(files: [(path: String, contents: [UInt8])]) -> ManifestLoadResult {
        let sink = DiagnosticSink(limit: limits.maxDiagnostics)
        var seen: Set<String> = []
        let chosen = files.filter { Self.isManifestPath($0.path) && seen.insert($0.path).inserted }
            .sorted { $0.path < $1.path }
        if chosen.count > limits.maxFiles {
            sink.report(
                .tooManyFiles, "\(chosen.count) manifest files given; at most \(limits.maxFiles) are read", at: nil, in: nil,
                hint: "narrow the manifests' folder, or raise the file limit")
            return finish(inputs: [], sink: sink, complete: false)
        }
        var inputs: [Input] = []
        var total = 0
        var complete = true
        for file in chosen {
            if file.contents.count > limits.maxFileBytes {
                tooLarge(file.path, size: file.contents.count, sink: sink)
                complete = false
                continue
            }
            if total + file.contents.count > limits.maxTotalBytes {
                totalTooLarge(at: file.path, sink: sink)
                complete = false
                break
            }
            total += file.contents.count
            inputs.append(Input(path: file.path, bytes: file.contents))
        }
        if chosen.isEmpty {
            sink.report(
                .noManifests, "no .yaml or .yml files among the \(files.count) given", at: nil, in: nil,
                hint: "check the manifests' folder")
        }
        return finish(inputs: inputs, sink: sink, complete: complete)
    }

    // MARK: - Reading

    private struct Input {
        var path: String
        var bytes: [UInt8]
    }

    private func tooLarge(_ path: String, size: Int, sink: DiagnosticSink) {
        sink.report(
            .fileTooLarge, "\(path) is \(Self.size(size)), over the limit of \(Self.size(limits.maxFileBytes))",
            at: SourceLocation(file: path, line: 1, column: 1), in: nil, detail: "the file was not read",
            hint: "split it into smaller files, or raise the file size limit")
    }

    private func totalTooLarge(at path: String, sink: DiagnosticSink) {
        sink.report(
            .totalTooLarge, "the manifests exceed \(Self.size(limits.maxTotalBytes)) in total",
            at: SourceLocation(file: path, line: 1, column: 1), in: nil,
            detail: "this file and those after it were not read",
            hint: "point coffer at a narrower directory, or raise the total size limit")
    }

    private static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB"
            : bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) : "\(bytes) bytes"
    }

    static func isManifestPath(_ path: String) -> Bool {
        let components = path.split(separator: "/")
        guard let last = components.last, !components.contains(where: { $0.hasPrefix(".") }) else { return false }
        let lower = last.lowercased()
        return lower.hasSuffix(".yaml") || lower.hasSuffix(".yml")
    }

    /// The files to read: explicit files as given, directories walked for .yaml/.yml files; sorted, unique.
    private func discover(_ paths: [String], sink: DiagnosticSink) -> [String] {
        var found: Set<String> = []
        for given in paths {
            var path = given
            while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
            switch FileAccess.kind(of: path, followingLinks: true) {
            case .missing:
                sink.report(
                    .pathNotFound, "no such file or directory: \(given)", at: nil, in: nil,
                    hint: "check the path; give manifest files or the directory that holds them")
                continue
            case .directory:
                break
            default:
                found.insert(path)
                continue
            }
            // An explicit stack, so that a deep tree cannot exhaust the call stack.
            var directories = [path]
            while let directory = directories.popLast() {
                guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
                    sink.report(
                        .unreadableFile, "cannot list the directory \(directory)", at: nil, in: nil,
                        hint: "check the directory's permissions")
                    continue
                }
                for name in names where !name.hasPrefix(".") {
                    let child = directory == "/" ? "/" + name : directory + "/" + name
                    switch FileAccess.kind(of: child, followingLinks: false) {
                    case .directory:
                        directories.append(child)
                    case .regular:
                        if Self.isManifestPath(name) { found.insert(child) }
                    case .symbolicLink:
                        // Links to files are followed; links to directories are not, so a walk always ends.
                        if Self.isManifestPath(name), FileAccess.kind(of: child, followingLinks: true) == .regular {
                            found.insert(child)
                        }
                    case .other, .missing:
                        continue
                    }
                }
            }
        }
        return found.sorted()
    }

    // MARK: - Checking

    private func finish(inputs: [Input], sink: DiagnosticSink, complete: Bool) -> ManifestLoadResult {
        var complete = complete
        var budget = YAMLBudget(limits.yaml)
        var declared: [DeclaredResource] = []
        var resourceCount = 0
        var files: [String] = []
        var texts: [String: [UInt8]] = [:]
        for input in inputs {
            files.append(input.path)
            texts[input.path] = input.bytes
            let (source, problem) = SourceText.checked(path: input.path, bytes: input.bytes)
            if let problem {
                sink.report(problem, in: source)
                complete = false
                continue
            }
            let composer = YAMLComposer(source: source, limits: limits.yaml, maxProblems: sink.remainingCapacity)
            let composed = composer.compose(budget: &budget)
            sink.report(composed)
            if !composed.complete { complete = false }
            let decoder = DocumentDecoder(source: source, sink: sink)
            for document in composed.documents {
                if document.root?.entries != nil { resourceCount += 1 }
                if let resource = decoder.decode(document) { declared.append(resource) }
            }
            if budget.isExhausted {
                complete = false
                break
            }
        }
        let unique = CrossResourceRules(sink: sink, complete: complete).check(declared)
        let diagnostics = sink.finish()
        let state = sink.hasErrors ? nil : DesiredState(resources: unique.map(\.resource))
        return ManifestLoadResult(
            state: state, diagnostics: diagnostics, files: files, resourceCount: resourceCount, sources: ManifestSources(files: texts))
    }
}
