import CofferModel

/// What apply will do to one resource.
public enum ChangeAction: String, Codable, Sendable, Hashable {
    case create
    case update
    case replace
    case delete
    case noOp = "no-op"
}

/// Why a resource is in the plan.
public enum ChangeReason: String, Codable, Sendable, Hashable {
    /// The manifests declare it and the platform does not have it.
    case absent = "absent-from-platform"
    /// The manifests changed an attribute that can be updated in place.
    case attributeChanged = "attribute-changed"
    /// An attribute that cannot change in place (a vault's region) differs.
    case forcesReplacement = "forces-replacement"
    /// An owned resource left the manifests (with --prune).
    case notInManifests = "not-in-manifests"
    /// The platform was changed out of band; apply puts it back.
    case drifted = "drifted-out-of-band"
    /// Nothing to do.
    case none = "none"
    /// The platform already has a matching resource that coffer does not own yet: apply records it.
    case adopt = "adopt-existing"
    /// A vault's own default policy (DefaultPolicy, EnhancedPolicy) that coffer owned left the manifests
    /// (with --prune): apply forgets it, dropping it from the inventory, and the vault keeps it. The service
    /// made it with the vault, so it is not coffer's to delete. The inverse of `adopt`.
    case forget = "forget-vault-default"
    /// A ProtectedVM whose VM has a soft-deleted item in the same vault: apply undeletes the item and
    /// resumes its protection (a rehydrate), so its recovery points come back, instead of creating one.
    case recoverSoftDeleted = "recover-soft-deleted"
}

/// What deleting a protected VM's data leads to: its item is soft-deleted, its recovery points kept and
/// restorable (`coffer undelete` brings it back), until the vault's soft-delete retention ends.
public struct SoftDeleteOutcome: Codable, Sendable, Hashable {
    /// The vault's soft-delete retention in days; nil when the plan does not know the vault.
    public var retentionDays: Int?
    /// When the data is purged (ISO 8601 UTC), if applied now; nil when the provider does not tell its clock.
    public var purgeAfter: String?

    public init(retentionDays: Int?, purgeAfter: String?) {
        self.retentionDays = retentionDays
        self.purgeAfter = purgeAfter
    }
}

/// One resource's entry in a plan, in the shape of Terraform's `resource_changes`.
public struct ResourceChange: Codable, Sendable, Hashable {
    public var address: ResourceAddress
    public var action: ChangeAction
    public var reason: ChangeReason
    /// The platform id the resource has or will have.
    public var id: String
    /// The spec before (observed) and after (desired); nil when absent. Sensitive values are masked.
    public var before: AttributeValue?
    public var after: AttributeValue?
    /// The spec to send to the provider (unmasked: specs carry no secret values, only references).
    public var spec: ResourceSpec?
    /// Attribute paths that differ.
    public var changedPaths: [String]
    /// Attribute paths whose change forces replacement.
    public var replacePaths: [String]
    /// Attribute paths whose values are masked in before/after.
    public var sensitivePaths: [String]
    /// For deletes of protected VMs: keep or delete the backup data.
    public var deletionPolicy: DeletionPolicy?
    /// For a delete of a protected VM with its data: the soft delete that follows.
    public var softDelete: SoftDeleteOutcome?
    /// Where the resource is declared.
    public var location: SourceLocation?

    public init(
        address: ResourceAddress, action: ChangeAction, reason: ChangeReason, id: String, before: AttributeValue?,
        after: AttributeValue?, spec: ResourceSpec?, changedPaths: [String] = [], replacePaths: [String] = [],
        sensitivePaths: [String] = [], deletionPolicy: DeletionPolicy? = nil, location: SourceLocation? = nil
    ) {
        self.address = address
        self.action = action
        self.reason = reason
        self.id = id
        self.before = before
        self.after = after
        self.spec = spec
        self.changedPaths = changedPaths
        self.replacePaths = replacePaths
        self.sensitivePaths = sensitivePaths
        self.deletionPolicy = deletionPolicy
        self.location = location
    }
}

/// A resource the platform changed out of band since coffer last applied it, attribute by attribute.
public struct DriftEntry: Codable, Sendable, Hashable {
    public var address: ResourceAddress
    /// Paths that differ between what coffer last applied and what the platform holds now. A resource that
    /// vanished has the single path "" (the whole resource).
    public var changedPaths: [String]
    public var lastApplied: AttributeValue?
    public var observed: AttributeValue?

    public init(address: ResourceAddress, changedPaths: [String], lastApplied: AttributeValue?, observed: AttributeValue?) {
        self.address = address
        self.changedPaths = changedPaths
        self.lastApplied = lastApplied
        self.observed = observed
    }
}

/// A plan: pure, Codable data computed from desired and observed state, ordered by the dependency graph.
public struct Plan: Codable, Sendable, Hashable {
    public static let formatVersion = "1"

    /// Every resource considered, creates and updates in dependency order (vault, policy, access policy,
    /// protected VM), then deletes in the reverse order. No-ops are included so that JSON consumers see them.
    public var changes: [ResourceChange]
    public var drift: [DriftEntry]
    /// Errors and warnings found while planning; a plan with errors cannot be applied.
    public var diagnostics: [Diagnostic]
    /// Fingerprints of the inputs, so that a saved plan can tell when it went stale.
    public var desiredFingerprint: String
    public var observedFingerprint: String

    public init(
        changes: [ResourceChange], drift: [DriftEntry], diagnostics: [Diagnostic], desiredFingerprint: String,
        observedFingerprint: String
    ) {
        self.changes = changes
        self.drift = drift
        self.diagnostics = diagnostics
        self.desiredFingerprint = desiredFingerprint
        self.observedFingerprint = observedFingerprint
    }

    public var summary: PlanSummary {
        var summary = PlanSummary()
        for change in changes {
            switch change.action {
            case .create: summary.add += 1
            case .update: summary.change += 1
            case .replace: summary.replace += 1
            case .delete: summary.destroy += 1
            case .noOp: break
            }
        }
        return summary
    }

    /// Whether apply would change anything, including adopting existing resources into the inventory.
    public var hasChanges: Bool { summary.hasChanges }

    public var hasErrors: Bool { diagnostics.hasErrors }
}
