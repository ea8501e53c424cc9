/// How many resources a plan adds, changes, replaces and destroys.
public struct PlanSummary: Hashable, Codable, Sendable {
    public var add: Int
    public var change: Int
    public var replace: Int
    public var destroy: Int

    public init(add: Int = 0, change: Int = 0, replace: Int = 0, destroy: Int = 0) {
        self.add = add
        self.change = change
        self.replace = replace
        self.destroy = destroy
    }

    public var hasChanges: Bool { add + change + replace + destroy > 0 }

    /// The closing line of a text plan, as Terraform users read it. A replace counts as one add and one
    /// destroy, as Terraform counts it.
    public var line: String {
        guard hasChanges else { return "No changes. The platform matches the manifests." }
        return "Plan: \(add + replace) to add, \(change) to change, \(destroy + replace) to destroy."
    }
}
