/// One resource as the manifests declare it, with where it was declared.
public struct DesiredResource: Codable, Sendable, Hashable {
    public var address: ResourceAddress
    public var spec: ResourceSpec
    /// `metadata.labels`.
    public var labels: [String: String]
    /// Where the document starts (its `kind:` line), for diagnostics about the resource as a whole.
    public var location: SourceLocation?
    /// Where each field was written, by dotted path from the document root (`spec.retention.daily.count`),
    /// so that plan-time checks can point at the line to fix.
    public var fieldLocations: [String: SourceLocation]

    public init(
        address: ResourceAddress, spec: ResourceSpec, labels: [String: String] = [:], location: SourceLocation? = nil,
        fieldLocations: [String: SourceLocation] = [:]
    ) {
        self.address = address
        self.spec = spec
        self.labels = labels
        self.location = location
        self.fieldLocations = fieldLocations
    }

    /// The location of the field at `path`, else of the nearest enclosing field that has one, else of the
    /// document.
    public func location(of path: String) -> SourceLocation? {
        var current = path
        while true {
            if let found = fieldLocations[current] { return found }
            guard let dot = current.lastIndex(of: ".") else { return location }
            current = String(current[..<dot])
        }
    }
}

/// Everything the manifests declare, in a stable order (by address).
public struct DesiredState: Codable, Sendable, Hashable {
    public var resources: [DesiredResource]

    public init(resources: [DesiredResource]) {
        self.resources = resources.sorted { $0.address < $1.address }
    }

    public subscript(address: ResourceAddress) -> DesiredResource? {
        resources.first { $0.address == address }
    }
}
