import CofferModel
import CofferRules
import Foundation

/// Options that change what a plan may contain.
public struct PlanOptions: Sendable, Hashable {
    /// Plan deletes of owned resources that left the manifests.
    public var prune: Bool
    /// Allow a prune that would delete every owned resource (an empty manifest set, usually a mistake).
    public var allowPruneAll: Bool

    public init(prune: Bool = false, allowPruneAll: Bool = false) {
        self.prune = prune
        self.allowPruneAll = allowPruneAll
    }
}

/// What refresh read from the provider's snapshot: the observed resources by address, the ids of the
/// declared resources and of owned resources that left the manifests, and the facts the plan checks need.
public struct ObservedState: Sendable, Hashable, Codable {
    public var byAddress: [ResourceAddress: ObservedResource]
    /// The id of each resource; a declared resource whose id cannot be known (an access policy of a key
    /// vault the platform does not have) has none.
    public var ids: [ResourceAddress: String]
    /// Facts about the VMs the manifests protect, by the reference the manifests use.
    public var virtualMachines: [VMReference: VirtualMachineFacts]
    /// Facts about the key vaults of those VMs and of the declared access policies and role assignments, by
    /// name as referenced.
    public var keyVaults: [String: KeyVaultFacts]
    /// Whether enabling protection grants the Backup Management Service its Key Vault access by itself.
    public var operatorGrantsKeyVaultAccess: Bool
    /// Whether the resource group of each vault the plan may create exists.
    public var resourceGroups: [ResourceGroupReference: Bool]
    /// The regions the platform offers; nil when refresh did not read them.
    public var regions: [String]?
    /// The default policies of their vaults (CofferRules' `DefaultPolicies`) that protected VMs name without
    /// the manifests declaring them, as the platform holds them, by id. A vault the plan creates has none
    /// yet: the plan gives it its default policies when it creates it.
    public var vaultDefaultPolicies: [ObservedResource]
    /// The platform's clock at refresh (ISO 8601 UTC), when the provider tells it.
    public var platformTime: String?

    public init(
        byAddress: [ResourceAddress: ObservedResource], ids: [ResourceAddress: String],
        virtualMachines: [VMReference: VirtualMachineFacts] = [:], keyVaults: [String: KeyVaultFacts] = [:],
        operatorGrantsKeyVaultAccess: Bool = false, resourceGroups: [ResourceGroupReference: Bool] = [:], regions: [String]? = nil,
        vaultDefaultPolicies: [ObservedResource] = [], platformTime: String? = nil
    ) {
        self.byAddress = byAddress
        self.ids = ids
        self.virtualMachines = virtualMachines
        self.keyVaults = keyVaults
        self.operatorGrantsKeyVaultAccess = operatorGrantsKeyVaultAccess
        self.resourceGroups = resourceGroups
        self.regions = regions
        self.vaultDefaultPolicies = vaultDefaultPolicies
        self.platformTime = platformTime
    }
}

/// Turns desired state (the manifests) and observed state (the provider) into a plan.
public struct Planner: Sendable {
    public let provider: any Provider

    public init(provider: any Provider) {
        self.provider = provider
    }

    /// Reads, through a snapshot of the provider, every resource the manifests declare and every owned
    /// resource, and the facts the plan checks need.
    public func refresh(desired: DesiredState, inventory: [ResourceAddress: InventoryEntry]) async throws -> ObservedState {
        try await Self.refresh(desired: desired, inventory: inventory, snapshot: try await provider.snapshot())
    }

    /// The default policies (`DefaultPolicies`) that the protected VMs of `desired` name without a declared
    /// policy of that name, one per vault and name, in a stable order.
    static func undeclaredDefaultPolicies(in desired: DesiredState) -> [ResourceDeclaration] {
        let declaredPolicies = Set(desired.resources.filter { $0.address.kind == .backupPolicy }.map(\.address.name))
        var seen = Set<String>()
        var declarations: [ResourceDeclaration] = []
        for resource in desired.resources {
            guard case .protectedVM(let protected) = resource.spec, !declaredPolicies.contains(protected.policy),
                let policy = DefaultPolicies.named(protected.policy),
                seen.insert(protected.vault.lowercased() + "/" + policy.name).inserted
            else { continue }
            declarations.append(ResourceDeclaration(name: policy.name, spec: .backupPolicy(policy.spec(in: protected.vault))))
        }
        return declarations
    }

    /// Refresh from `snapshot`: ids, then the resources in one batch read, then the VMs the manifests
    /// protect and the key vaults involved.
    static func refresh(
        desired: DesiredState, inventory: [ResourceAddress: InventoryEntry], snapshot: any ProviderSnapshot
    ) async throws -> ObservedState {
        var ids: [ResourceAddress: String] = [:]
        var requests: [ResourceReference] = []
        var addresses: [ResourceAddress?] = []
        // The declared resources, and the vaults' default policies that protected VMs name undeclared: their
        // ids in one batch, then one read with the owned resources.
        let defaults = undeclaredDefaultPolicies(in: desired)
        let declaredIDs = try await snapshot.resourceIDs(
            desired.resources.map { ResourceDeclaration(name: $0.address.name, spec: $0.spec) } + defaults,
            parents: ResourceParents(desired: desired))
        for (resource, id) in zip(desired.resources, declaredIDs) {
            if let id {
                ids[resource.address] = id
                requests.append(ResourceReference(kind: resource.address.kind, id: id))
                addresses.append(resource.address)
            }
            // A declared resource that coffer made under another id (a field that names it changed: a policy's
            // vault, an access policy's principal, a vault's resource group) is read there too, after its new
            // id, and what is found there stands for it: the plan then replaces it (those fields force a
            // replacement) instead of reading it as deleted outside coffer, creating another and leaving it
            // behind.
            if let made = inventory[resource.address]?.id, !made.isEmpty, id?.lowercased() != made.lowercased() {
                requests.append(ResourceReference(kind: resource.address.kind, id: made))
                addresses.append(resource.address)
            }
        }
        for id in declaredIDs.dropFirst(desired.resources.count) {
            guard let id else { continue }
            requests.append(ResourceReference(kind: .backupPolicy, id: id))
            addresses.append(nil)
        }
        let declared = Set(desired.resources.map(\.address))
        for (address, entry) in inventory.sorted(by: { $0.key < $1.key }) where !declared.contains(address) {
            ids[address] = entry.id
            requests.append(ResourceReference(kind: address.kind, id: entry.id))
            addresses.append(address)
        }
        var observed: [ResourceAddress: ObservedResource] = [:]
        var vaultDefaultPolicies: [ObservedResource] = []
        for (address, found) in zip(addresses, try await snapshot.read(requests)) {
            guard let found else { continue }
            if let address { observed[address] = found } else { vaultDefaultPolicies.append(found) }
        }

        // The facts come in a few batch reads: the key vaults whose access the plan may change (with the VMs
        // whose disk keys they hold), the VMs the manifests protect and those VMs, then the key vaults of
        // those VMs' keys and of the vaults' customer keys.
        var references: [VMReference] = []
        var keyVaultNames = Set<String>()
        var groups: [ResourceGroupReference] = []
        for resource in desired.resources {
            switch resource.spec {
            case .protectedVM(let spec): references.append(spec.vm)
            case .keyVaultAccessPolicy(let spec): keyVaultNames.insert(spec.keyVault)
            case .keyVaultRoleAssignment(let spec): keyVaultNames.insert(spec.keyVault)
            case .vault(let spec):
                if let encryption = spec.encryption { keyVaultNames.insert(encryption.keyVault) }
                if observed[resource.address] == nil { groups.append(ResourceGroupReference(subscription: spec.subscription, name: spec.resourceGroup)) }
            case .backupPolicy: break
            }
        }
        for (address, entry) in inventory where !declared.contains(address) {
            if case .keyVaultAccessPolicy(let spec) = entry.lastApplied { keyVaultNames.insert(spec.keyVault) }
            if case .keyVaultRoleAssignment(let spec) = entry.lastApplied { keyVaultNames.insert(spec.keyVault) }
        }
        var keyVaults: [String: KeyVaultFacts] = [:]
        func readKeyVaults(_ wanted: Set<String>) async throws {
            let names = wanted.filter { keyVaults[$0] == nil }.sorted()
            for (name, facts) in zip(names, try await snapshot.keyVaults(named: names)) {
                if let facts { keyVaults[name] = facts }
            }
        }
        try await readKeyVaults(keyVaultNames)
        var seen = Set(references.map { $0.name.lowercased() })
        for facts in keyVaults.values.sorted(by: { $0.name < $1.name }) {
            for vm in facts.encryptedVMs where seen.insert(vm.name.lowercased()).inserted { references.append(vm) }
        }
        var machines: [VMReference: VirtualMachineFacts] = [:]
        for (reference, facts) in zip(references, try await snapshot.virtualMachines(references)) {
            if let facts { machines[reference] = facts }
        }
        try await readKeyVaults(Set(machines.values.flatMap { [$0.keyVault, $0.diskEncryptionSet?.keyVault].compactMap { $0 } }))
        var resourceGroups: [ResourceGroupReference: Bool] = [:]
        if !groups.isEmpty {
            for (group, exists) in zip(groups, try await snapshot.resourceGroupsExist(groups)) { resourceGroups[group] = exists }
        }
        return ObservedState(
            byAddress: observed, ids: ids, virtualMachines: machines, keyVaults: keyVaults,
            operatorGrantsKeyVaultAccess: snapshot.operatorGrantsKeyVaultAccess, resourceGroups: resourceGroups,
            regions: groups.isEmpty ? nil : try await snapshot.availableRegions(),
            vaultDefaultPolicies: vaultDefaultPolicies.sorted { $0.id < $1.id }, platformTime: snapshot.platformTime)
    }

    /// Loads the manifests with `manifests` while the provider takes its snapshot of the platform and the
    /// inventory loads, in child tasks, then refreshes and plans. On two cores this hides the platform's
    /// read and the inventory's behind the manifests' parse.
    public func plan(
        options: PlanOptions = PlanOptions(), manifests: () async throws -> DesiredState,
        inventory: @escaping @Sendable () async throws -> [ResourceAddress: InventoryEntry]
    ) async throws -> Plan {
        let provider = self.provider
        async let snapshot = provider.snapshot()
        async let owned = inventory()
        let desired = try await manifests()
        // The platform's failure first, then the inventory's, as when they ran one after the other.
        let taken = try await snapshot
        return try await Self.plan(desired: desired, inventory: try await owned, snapshot: taken, options: options)
    }

    /// Refresh, then plan.
    public func plan(
        desired: DesiredState, inventory: [ResourceAddress: InventoryEntry], options: PlanOptions = PlanOptions()
    ) async throws -> Plan {
        try await Self.plan(desired: desired, inventory: inventory, snapshot: try await provider.snapshot(), options: options)
    }

    static func plan(
        desired: DesiredState, inventory: [ResourceAddress: InventoryEntry], snapshot: any ProviderSnapshot, options: PlanOptions
    ) async throws -> Plan {
        let observed = try await refresh(desired: desired, inventory: inventory, snapshot: snapshot)
        var plan = try await Self.plan(desired: desired, observed: observed, inventory: inventory, options: options)
        // The checks judge the platform as the plan leaves it: what the plan deletes is gone.
        var diagnostics = PlanChecks().check(desired: desired, observed: observed)
        diagnostics += KeyVaultGrantChecks().check(desired: desired, observed: observed)
        diagnostics += PlanSimulation.check(
            desired: desired, observed: observed, changes: plan.changes, provenance: inventory.compactMapValues(\.provenance))
        diagnostics += plan.diagnostics
        plan.diagnostics = diagnostics.sortedForDisplay()
        return plan
    }

    /// What the plan says about one declared resource.
    struct Assessment {
        var change: ResourceChange
        var drift: DriftEntry?
        var diagnostic: Diagnostic?
        var desiredDigest: Fingerprinter
        /// The observed spec's attribute tree, when the resource exists.
        var observedTree: AttributeValue?
    }

    /// Compares one declared resource with what the platform holds and what coffer last applied. Pure and
    /// independent of every other resource, so that a plan can assess them all at once.
    static func assess(_ resource: DesiredResource, observed: ObservedState, owned: InventoryEntry?) throws -> Assessment {
        let address = resource.address
        let kind = address.kind
        let id = observed.ids[address] ?? ""
        var drift: DriftEntry?
        var diagnostic: Diagnostic?
        // coffer's ownership tag is its own: a manifest that writes it changes nothing.
        let desiredSpec = ResourceRules.normalise(resource.spec, against: resource.spec)
        let after = try desiredSpec.attributes()
        var digest = Fingerprinter()
        digest.feed(.string(address.description))
        digest.feed(after)
        let sensitive = ResourceRules.sensitivePaths(in: after)
        let lastAppliedSpec = owned.map { ResourceRules.normalise($0.lastApplied, against: resource.spec) }
        let lastApplied = try lastAppliedSpec.map { $0 == desiredSpec ? after : try $0.attributes() }

        guard let found = observed.byAddress[address] else {
            if let lastApplied {
                drift = DriftEntry(address: address, changedPaths: [""], lastApplied: ResourceRules.masking(lastApplied, paths: sensitive), observed: nil)
            }
            return Assessment(
                change: ResourceChange(
                    address: address, action: .create, reason: owned == nil ? .absent : .drifted, id: id, before: nil,
                    after: ResourceRules.masking(after, paths: sensitive), spec: resource.spec,
                    sensitivePaths: sensitive, location: resource.location),
                drift: drift, diagnostic: nil, desiredDigest: digest, observedTree: nil)
        }

        let observedSpec = ResourceRules.normalise(found.spec, against: resource.spec)
        let before = observedSpec == desiredSpec ? after : try observedSpec.attributes()
        let changed = observedSpec == desiredSpec
            ? [] : before.changedPaths(to: after).filter { !ResourceRules.isCofferOnly(kind: kind, path: $0) }
        let allSensitive = Array(Set(sensitive + ResourceRules.sensitivePaths(in: before))).sorted()
        let maskedBefore = ResourceRules.masking(before, paths: allSensitive)
        let maskedAfter = ResourceRules.masking(after, paths: allSensitive)

        var drifted: [String] = []
        if let lastApplied, lastAppliedSpec != observedSpec {
            drifted = lastApplied.changedPaths(to: before).filter { !ResourceRules.isCofferOnly(kind: kind, path: $0) }
            if !drifted.isEmpty {
                drift = DriftEntry(
                    address: address, changedPaths: drifted,
                    lastApplied: ResourceRules.masking(lastApplied, paths: allSensitive), observed: maskedBefore)
            }
        }

        if changed.isEmpty {
            return Assessment(
                change: ResourceChange(
                    address: address, action: .noOp, reason: owned == nil ? .adopt : .none, id: found.id,
                    before: maskedBefore, after: maskedAfter, spec: resource.spec, sensitivePaths: allSensitive,
                    location: resource.location),
                drift: drift, diagnostic: nil, desiredDigest: digest, observedTree: before)
        }

        let replacePaths = ResourceRules.replacePaths(kind: kind, changed: changed, before: before, after: after)
        let reason: ChangeReason
        if !replacePaths.isEmpty {
            reason = .forcesReplacement
        } else if owned != nil, let lastApplied, lastApplied == after, Set(changed).isSubset(of: drifted) {
            reason = .drifted
        } else {
            reason = .attributeChanged
        }
        if owned == nil && found.tags[ObservedResource.managedByTag] != ObservedResource.managedByValue {
            diagnostic = .warning(
                "adopt-with-changes",
                "\(address) exists on the platform but was not created by coffer; apply will adopt it and change \(changed.joined(separator: ", "))",
                at: resource.location,
                hint: "make the manifest match the platform to adopt it unchanged")
        }
        return Assessment(
            change: ResourceChange(
                address: address, action: replacePaths.isEmpty ? .update : .replace, reason: reason, id: found.id,
                before: maskedBefore, after: maskedAfter, spec: resource.spec, changedPaths: changed,
                replacePaths: replacePaths, sensitivePaths: allSensitive, location: resource.location),
            drift: drift, diagnostic: diagnostic, desiredDigest: digest, observedTree: before)
    }

    /// The pure part: the same inputs give the same plan, byte for byte.
    public static func plan(
        desired: DesiredState, observed: ObservedState, inventory: [ResourceAddress: InventoryEntry],
        options: PlanOptions = PlanOptions()
    ) async throws -> Plan {
        var changes: [ResourceChange] = []
        var deletes: [ResourceChange] = []
        var drift: [DriftEntry] = []
        var diagnostics: [Diagnostic] = []
        // The fingerprints of the inputs, fed with each resource's digest of the attribute trees the
        // assessment computes anyway.
        var desiredFingerprint = Fingerprinter()
        var observedTrees: [ResourceAddress: AttributeValue] = [:]

        // Each resource is assessed on its own (on every core for a large plan), then the results are
        // gathered in the manifests' order.
        let assessments = try await desired.resources.parallelMap { resource in
            try assess(resource, observed: observed, owned: inventory[resource.address])
        }
        for assessment in assessments {
            desiredFingerprint.feed(digest: assessment.desiredDigest)
            if let tree = assessment.observedTree { observedTrees[assessment.change.address] = tree }
            if let entry = assessment.drift { drift.append(entry) }
            if let warning = assessment.diagnostic { diagnostics.append(warning) }
            changes.append(Self.recoveringSoftDeleted(assessment.change, observed: observed))
        }

        // Owned resources that left the manifests.
        let declared = Set(desired.resources.map(\.address))
        let leaving = inventory.values.filter { !declared.contains($0.address) }.sorted { $0.address < $1.address }
        if options.prune {
            if !leaving.isEmpty && desired.resources.isEmpty && !options.allowPruneAll {
                diagnostics.append(
                    .error(
                        ReconcilerError.Code.pruneEverything.rawValue,
                        "--prune would delete every resource coffer owns (\(leaving.count)) because the manifests declare none",
                        hint: "check the manifest path; to really delete everything, add --prune-all"))
            }
            for entry in leaving {
                let found = observed.byAddress[entry.address]
                if let found, entry.address.kind == .backupPolicy, DefaultPolicies.named(entry.address.name) != nil {
                    // A vault's own default policy: coffer forgets it and the vault keeps it, never deleted.
                    let before = try found.spec.attributes()
                    let sensitive = ResourceRules.sensitivePaths(in: before)
                    deletes.append(
                        ResourceChange(
                            address: entry.address, action: .noOp, reason: .forget, id: entry.id,
                            before: ResourceRules.masking(before, paths: sensitive), after: nil, spec: nil, sensitivePaths: sensitive))
                    continue
                }
                let policy: DeletionPolicy? =
                    if case .protectedVM(let spec) = entry.lastApplied { spec.deletionPolicy } else { nil }
                let before = try found.map { try $0.spec.attributes() }
                let sensitive = ResourceRules.sensitivePaths(in: before)
                var change = ResourceChange(
                    address: entry.address, action: found == nil ? .noOp : .delete, reason: .notInManifests,
                    id: entry.id, before: ResourceRules.masking(before, paths: sensitive), after: nil, spec: nil,
                    sensitivePaths: sensitive, deletionPolicy: policy)
                if change.action == .delete, policy == .delete, case .protectedVM(let item)? = found?.spec {
                    change.softDelete = Self.softDelete(of: item, observed: observed)
                }
                deletes.append(change)
            }
        } else if !leaving.isEmpty {
            diagnostics.append(
                .warning(
                    "not-in-manifests",
                    "\(leaving.count) resource(s) coffer owns are no longer in the manifests: "
                        + leaving.map(\.address.description).joined(separator: ", "),
                    hint: "run with --prune to delete them (protected VMs follow their deletionPolicy"
                        + (leaving.contains { $0.address.kind == .backupPolicy && DefaultPolicies.named($0.address.name) != nil }
                            ? "; a vault's DefaultPolicy or EnhancedPolicy is forgotten, not deleted)" : ")")))
        }

        changes.sort { $0.address < $1.address }
        deletes.sort { $1.address < $0.address }
        var observedFingerprint = Fingerprinter()
        let trees = observedTrees
        let observedDigests = try await observed.byAddress.keys.sorted().parallelMap { address in
            let found = observed.byAddress[address]!
            var digest = Fingerprinter()
            digest.feed(.string(address.description))
            digest.feed(.array([.string(found.id), .string(found.name)]))
            digest.feed(.object(found.tags.mapValues(AttributeValue.string)))
            digest.feed(Self.attributes(of: found.status))
            digest.feed(try trees[address] ?? found.spec.attributes())
            return digest
        }
        for digest in observedDigests { observedFingerprint.feed(digest: digest) }
        for found in observed.vaultDefaultPolicies {
            var digest = Fingerprinter()
            digest.feed(.string("vault default policy"))
            digest.feed(.array([.string(found.id), .string(found.name)]))
            digest.feed(.object(found.tags.mapValues(AttributeValue.string)))
            digest.feed(Self.attributes(of: found.status))
            digest.feed(try found.spec.attributes())
            observedFingerprint.feed(digest: digest)
        }
        return Plan(
            changes: changes + deletes, drift: drift.sorted { $0.address < $1.address },
            diagnostics: diagnostics.sortedForDisplay(),
            desiredFingerprint: desiredFingerprint.digest, observedFingerprint: observedFingerprint.digest)
    }

    /// A ProtectedVM to create whose VM has a soft-deleted item in the same vault: apply recovers it
    /// (undelete, then resume) instead of creating a new item, so its recovery points come back.
    static func recoveringSoftDeleted(_ change: ResourceChange, observed: ObservedState) -> ResourceChange {
        guard change.action == .create, case .protectedVM(let spec)? = change.spec,
            let protection = observed.virtualMachines[spec.vm]?.protection, protection.status == .softDeleted,
            protection.vault.lowercased() == spec.vault.lowercased()
        else { return change }
        var recovered = change
        recovered.reason = .recoverSoftDeleted
        return recovered
    }

    /// What deleting the data of the protected VM `item` leads to: its item soft-deleted for its vault's
    /// soft-delete retention, and the time its data is purged when the platform's clock is known.
    static func softDelete(of item: ProtectedVMSpec, observed: ObservedState) -> SoftDeleteOutcome {
        let vault = observed.byAddress[ResourceAddress(kind: .recoveryServicesVault, name: item.vault)]
        guard case .vault(let spec)? = vault?.spec else { return SoftDeleteOutcome(retentionDays: nil, purgeAfter: nil) }
        let days = spec.softDeleteRetentionDays
        let purge = observed.platformTime.flatMap { try? Date($0, strategy: .iso8601) }.map {
            $0.addingTimeInterval(TimeInterval(days) * 86400).formatted(.iso8601)
        }
        return SoftDeleteOutcome(retentionDays: days, purgeAfter: purge)
    }

    /// A resource's status as the fingerprint of the observed state feeds it: one string per field, by
    /// name, absent fields left out.
    static func attributes(of status: ObservedStatus) -> AttributeValue {
        var fields: [String: String] = [:]
        switch status {
        case .none:
            break
        case .vault(let vault):
            fields["registeredItems"] = String(vault.registeredItems)
            fields["storageRedundancyLocked"] = String(vault.storageRedundancyLocked)
            fields["identityPrincipalId"] = vault.identityPrincipalID
        case .backupPolicy(let policy):
            fields["protectedItems"] = String(policy.protectedItems)
        case .protectedVM(let item):
            fields["protectionStatus"] = item.protectionStatus.rawValue
            fields["recoveryPoints"] = String(item.recoveryPoints)
            fields["vmId"] = item.vmID
            fields["lastBackupStatus"] = item.lastBackupStatus
            fields["lastBackupTime"] = item.lastBackupTime
        }
        return .object(fields.mapValues(AttributeValue.string))
    }
}
