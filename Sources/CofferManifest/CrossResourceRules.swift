import CofferModel
import CofferRules

/// The rules between resources that hold without asking the platform: unique addresses, references that
/// resolve, a policy in the VM's vault, one protection per VM, suspended backups only in immutable vaults, one
/// access policy per principal and key vault, one assignment of a role per principal and key vault. A
/// ProtectedVM may name a default policy that every vault has (`DefaultPolicies`: DefaultPolicy,
/// EnhancedPolicy) without declaring it; a declared policy of that name is the one it names, checked as any
/// other.
struct CrossResourceRules {
    let sink: DiagnosticSink
    /// Whether every file was read to the end; when not, a missing reference may be in the unread part, so
    /// dangling references are not reported.
    let complete: Bool

    /// Checks the resources and returns those that are not duplicates, in the order given.
    func check(_ declared: [DeclaredResource]) -> [DeclaredResource] {
        var first: [ResourceAddress: DeclaredResource] = [:]
        var unique: [DeclaredResource] = []
        for resource in declared {
            if let earlier = firstClaim(of: resource.address, by: resource, in: &first) {
                report(
                    .duplicateResource,
                    "duplicate resource \(resource.address) (first declared at \(place(earlier.resource.location)))",
                    resource, "metadata.name", detail: "each Kind/name is declared once across all manifest files",
                    hint: "rename or remove one of the two")
                continue
            }
            unique.append(resource)
        }

        var vaults: [String: VaultSpec] = [:]
        var policies: [String: BackupPolicySpec] = [:]
        for resource in unique {
            switch resource.resource.spec {
            case .vault(let vault): vaults[resource.address.name] = vault
            case .backupPolicy(let policy): policies[resource.address.name] = policy
            default: break
            }
        }
        let vaultNames = Set(vaults.keys)
        let policyNames = Set(policies.keys)

        var protectedVMs: [String: DeclaredResource] = [:]
        var accessPolicies: [String: DeclaredResource] = [:]
        var roleAssignments: [String: DeclaredResource] = [:]
        for resource in unique {
            switch resource.resource.spec {
            case .vault:
                break
            case .backupPolicy(let policy):
                checkReference(policy.vault, kind: .recoveryServicesVault, known: vaultNames, from: resource, at: "spec.vault")
            case .protectedVM(let protected):
                checkReference(protected.vault, kind: .recoveryServicesVault, known: vaultNames, from: resource, at: "spec.vault")
                // A default policy of the vault need not be declared: every vault has it.
                let namesVaultDefault = policies[protected.policy] == nil && DefaultPolicies.namedExactly(protected.policy) != nil
                if !namesVaultDefault {
                    checkReference(
                        protected.policy, kind: .backupPolicy, known: policyNames, from: resource, at: "spec.policy",
                        alsoKnown: DefaultPolicies.names)
                }
                if let policy = policies[protected.policy], !protected.vault.isEmpty, vaults[protected.vault] != nil,
                    policy.vault != protected.vault
                {
                    report(
                        .policyInOtherVault,
                        "policy '\(protected.policy)' lives in vault '\(policy.vault)', not in '\(protected.vault)'",
                        resource, "spec.policy", detail: "a VM is protected by a policy of the vault that holds its backups",
                        hint: "use a policy of vault '\(protected.vault)', or set 'vault: \(policy.vault)'")
                }
                if protected.protectionState == .backupsSuspended, let vault = vaults[protected.vault],
                    vault.immutability == .disabled
                {
                    report(
                        .suspendRequiresImmutability,
                        "BackupsSuspended needs an immutable vault, and vault '\(protected.vault)' has immutability Disabled",
                        resource, "spec.protectionState",
                        detail: "stopping backups while keeping data per policy is only offered by immutable vaults",
                        hint: "set 'immutability: Unlocked' on vault '\(protected.vault)', or use ProtectionStopped")
                }
                let vm = protected.vm
                guard !vm.name.isEmpty else { break }
                let key = [vm.subscription?.lowercased() ?? "", vm.resourceGroup.lowercased(), vm.name.lowercased()]
                    .joined(separator: "/")
                if let earlier = firstClaim(of: key, by: resource, in: &protectedVMs) {
                    report(
                        .duplicateProtectedVM,
                        "VM \(vm) is already protected by \(earlier.address) (at \(place(earlier.valueLocation("spec.vm"))))",
                        resource, "spec.vm", detail: "a VM is protected by one vault and one policy at a time",
                        hint: "remove one of the two ProtectedVM resources")
                }
            case .keyVaultAccessPolicy(let access):
                guard !access.keyVault.isEmpty, access.principal != .objectID("") else { break }
                let key = access.keyVault.lowercased() + "/" + access.principal.description.lowercased()
                if let earlier = firstClaim(of: key, by: resource, in: &accessPolicies) {
                    report(
                        .duplicateAccessPolicy,
                        "key vault '\(access.keyVault)' already has an access policy for \(access.principal) (\(earlier.address) at \(place(earlier.valueLocation("spec.principal"))))",
                        resource, "spec.principal", detail: "a key vault holds one access policy per principal",
                        hint: "merge the permissions into one KeyVaultAccessPolicy")
                }
            case .keyVaultRoleAssignment(let assignment):
                guard !assignment.keyVault.isEmpty, assignment.principal != .objectID(""), !assignment.role.isEmpty else { break }
                let key = [assignment.keyVault, assignment.principal.description, assignment.role].map { $0.lowercased() }.joined(separator: "/")
                if let earlier = firstClaim(of: key, by: resource, in: &roleAssignments) {
                    report(
                        .duplicateRoleAssignment,
                        "\(assignment.principal) is already assigned '\(assignment.role)' on key vault '\(assignment.keyVault)' (\(earlier.address) at \(place(earlier.valueLocation("spec.role"))))",
                        resource, "spec.role", detail: "Azure keeps one assignment of a role to a principal at a scope",
                        hint: "remove one of the two KeyVaultRoleAssignments")
                }
            }
        }
        return unique
    }

    /// Reports `name` when no resource of `kind` declares it; `alsoKnown` are names it may be without a
    /// declaration, offered as "did you mean" too.
    private func checkReference(
        _ name: String, kind: ResourceKind, known: Set<String>, from resource: DeclaredResource, at path: String,
        alsoKnown: [String] = []
    ) {
        guard complete, !name.isEmpty, !known.contains(name) else { return }
        guard !sink.isFull else { return sink.drop(.danglingReference) }
        let noun = kind == .recoveryServicesVault ? "vault" : "policy"
        report(
            .danglingReference, "\(resource.address) refers to \(noun) '\(name)', which no \(kind.rawValue) declares",
            resource, path,
            detail: alsoKnown.isEmpty
                ? "references name another resource of the manifests"
                : "references name another resource of the manifests, or a policy every vault has: \(alsoKnown.joined(separator: ", "))",
            hint: Suggestions.closest(to: name, in: known.union(alsoKnown).sorted()).map { "did you mean '\($0)'?" }
                ?? "declare \(kind.rawValue)/\(name), or fix the name")
    }

    /// Records `resource` as the first to claim `key` and returns nil, or returns the resource that claimed
    /// it first (the one a duplicate is reported against).
    private func firstClaim<Key: Hashable>(
        of key: Key, by resource: DeclaredResource, in claims: inout [Key: DeclaredResource]
    ) -> DeclaredResource? {
        if let earlier = claims[key] { return earlier }
        claims[key] = resource
        return nil
    }

    /// Where an earlier declaration is, for a message: `file:line:column`, or `?` when unknown.
    private func place(_ location: SourceLocation?) -> String {
        location.map(String.init(describing:)) ?? "?"
    }

    private func report(
        _ code: ManifestCode, _ summary: String, _ resource: DeclaredResource, _ path: String, detail: String? = nil,
        hint: String? = nil
    ) {
        sink.report(code, summary, at: resource.valueLocation(path), in: resource.source, detail: detail, hint: hint)
    }
}
