/// The bounds one YAML load stays within, so that hostile input is refused in bounded time and memory.
///
/// Every check runs before the work it guards: the size before a byte is parsed, depth and node counts while
/// libyaml's event stream is read, before any tree is built or walked.
public struct YAMLLimits: Sendable, Hashable {
    /// The largest file accepted, in bytes.
    public var maxFileBytes: Int
    /// The deepest nesting of mappings and sequences accepted (the document root is depth 1).
    public var maxDepth: Int
    /// The most YAML documents across all files of one load.
    public var maxDocuments: Int
    /// The most YAML nodes (scalars, mappings, sequences, aliases) across all files of one load.
    public var maxNodes: Int

    /// Creates limits; each parameter defaults to the value of `YAMLLimits.default`.
    public init(maxFileBytes: Int = 4 << 20, maxDepth: Int = 64, maxDocuments: Int = 20_000, maxNodes: Int = 1_000_000) {
        self.maxFileBytes = maxFileBytes
        self.maxDepth = maxDepth
        self.maxDocuments = maxDocuments
        self.maxNodes = maxNodes
    }

    /// 4 MiB per file, depth 64, 20 000 documents, a million nodes.
    public static let `default` = YAMLLimits()
}

/// What is left of a load's budget of documents and nodes, shared by all its files.
public struct YAMLBudget: Sendable, Hashable {
    /// Documents still allowed; negative once the limit was passed.
    public var documents: Int
    /// Nodes still allowed; negative once the limit was passed.
    public var nodes: Int

    /// A budget of `documents` documents and `nodes` nodes.
    public init(documents: Int, nodes: Int) {
        self.documents = documents
        self.nodes = nodes
    }

    /// The whole budget of `limits`.
    public init(_ limits: YAMLLimits) {
        self.init(documents: limits.maxDocuments, nodes: limits.maxNodes)
    }

    /// Whether a limit was passed.
    public var isExhausted: Bool { documents < 0 || nodes < 0 }
}
