/// The bounds a manifest load stays within, so that hostile input is refused in bounded time and memory.
///
/// Every check runs before the work it guards: sizes before a byte is read, depth and node counts while the
/// libyaml event stream is scanned, before any tree is built or walked.
public struct LoaderLimits: Sendable, Hashable {
    /// The largest file accepted, in bytes; a larger file is refused before it is read.
    public var maxFileBytes: Int
    /// The largest total of all files of one load, in bytes.
    public var maxTotalBytes: Int
    /// The most files one load reads.
    public var maxFiles: Int
    /// The deepest nesting of mappings and sequences accepted (the document root is depth 1).
    public var maxDepth: Int
    /// The most YAML documents across all files of one load.
    public var maxDocuments: Int
    /// The most YAML nodes (scalars, mappings, sequences) across all files of one load.
    public var maxNodes: Int
    /// The most diagnostics reported; the rest are counted in a final `too-many-diagnostics` error.
    public var maxDiagnostics: Int

    /// Creates limits; each parameter defaults to the value of `LoaderLimits.default`.
    public init(
        maxFileBytes: Int = 4 << 20, maxTotalBytes: Int = 64 << 20, maxFiles: Int = 20_000, maxDepth: Int = 64,
        maxDocuments: Int = 20_000, maxNodes: Int = 1_000_000, maxDiagnostics: Int = 1_000
    ) {
        self.maxFileBytes = maxFileBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxFiles = maxFiles
        self.maxDepth = maxDepth
        self.maxDocuments = maxDocuments
        self.maxNodes = maxNodes
        self.maxDiagnostics = maxDiagnostics
    }

    /// 4 MiB per file, 64 MiB per load, 20 000 files, depth 64, 20 000 documents, a million nodes, 1 000
    /// diagnostics.
    public static let `default` = LoaderLimits()
}
