import CofferModel
import CofferRules

/// The key vaults as a plan leaves them: what refresh observed, with the access policies and role
/// assignments the manifests declare put in, and those the plan deletes (a prune) taken out. The plan's
/// checks judge Key Vault access on these facts with CofferRules, the rules the platform applies when it
/// backs up.
struct KeyVaultsAfterPlan {
    let observed: ObservedState
    /// Declared access policies and role assignments, by key vault as the manifests name it.
    let accessPolicies: [String: [KeyVaultAccessPolicySpec]]
    let roleAssignments: [String: [KeyVaultRoleAssignmentSpec]]
    /// Grants the plan deletes, by key vault as the platform names it.
    let deletedPolicies: [String: [KeyVaultAccessPolicySpec]]
    let deletedAssignments: [String: [KeyVaultRoleAssignmentSpec]]

    init(desired: DesiredState, observed: ObservedState, deleting: Set<ResourceAddress>) {
        self.observed = observed
        var policies: [String: [KeyVaultAccessPolicySpec]] = [:]
        var assignments: [String: [KeyVaultRoleAssignmentSpec]] = [:]
        for resource in desired.resources {
            switch resource.spec {
            case .keyVaultAccessPolicy(let spec): policies[spec.keyVault, default: []].append(spec)
            case .keyVaultRoleAssignment(let spec): assignments[spec.keyVault, default: []].append(spec)
            default: break
            }
        }
        accessPolicies = policies
        roleAssignments = assignments
        var deletedPolicies: [String: [KeyVaultAccessPolicySpec]] = [:]
        var deletedAssignments: [String: [KeyVaultRoleAssignmentSpec]] = [:]
        for address in deleting.sorted() {
            switch observed.byAddress[address]?.spec {
            case .keyVaultAccessPolicy(let spec)?: deletedPolicies[spec.keyVault, default: []].append(spec)
            case .keyVaultRoleAssignment(let spec)?: deletedAssignments[spec.keyVault, default: []].append(spec)
            default: break
            }
        }
        self.deletedPolicies = deletedPolicies
        self.deletedAssignments = deletedAssignments
    }

    /// The key vault named `name` after the plan. A key vault refresh did not find is taken to use access
    /// policies and to hold nothing but what the manifests declare.
    func facts(_ name: String) -> KeyVaultFacts {
        var facts = observed.keyVaults[name]
            ?? KeyVaultFacts(id: "", name: name, subscription: "", region: "", accessPolicies: [], backupManagementServiceObjectID: "")
        // Pruned grants go; a declared access policy replaces the principal's; a declared assignment adds a role.
        for spec in deletedPolicies[name] ?? [] {
            let objectID = facts.objectID(of: spec.principal)
            facts.accessPolicies.removeAll { $0.objectID.lowercased() == objectID }
        }
        for spec in deletedAssignments[name] ?? [] {
            let objectID = facts.objectID(of: spec.principal)
            facts.roleAssignments.removeAll { $0.objectID.lowercased() == objectID && $0.role.name.lowercased() == spec.role.lowercased() }
        }
        for spec in accessPolicies[name] ?? [] {
            let objectID = facts.objectID(of: spec.principal)
            facts.accessPolicies.removeAll { $0.objectID.lowercased() == objectID }
            facts.accessPolicies.append(.init(objectID: objectID, keyPermissions: spec.keyPermissions, secretPermissions: spec.secretPermissions))
        }
        for spec in roleAssignments[name] ?? [] {
            guard let role = facts.roleDefinition(spec.role) else { continue }
            facts.roleAssignments.append(.init(objectID: facts.objectID(of: spec.principal), role: role))
        }
        return facts
    }
}

/// Checks at plan time that each Key Vault grant suits its key vault: an access policy only on a key vault
/// that uses access policies, a role assignment only on one that uses Azure RBAC, of a role the platform
/// has, on a key vault that exists. Reported at the manifest's line with the codes the platform refuses the
/// grant with (CofferRules' `KeyVaultAccessRules`).
struct KeyVaultGrantChecks {
    func check(desired: DesiredState, observed: ObservedState) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for resource in desired.resources {
            let violation: RuleViolation?
            switch resource.spec {
            case .keyVaultAccessPolicy(let spec):
                violation = observed.keyVaults[spec.keyVault].flatMap(KeyVaultAccessRules.accessPolicyViolation(on:))
            case .keyVaultRoleAssignment(let spec):
                guard let keyVault = observed.keyVaults[spec.keyVault] else {
                    diagnostics.append(
                        .error(
                            "KeyVaultNotFound", "\(resource.address): there is no key vault '\(spec.keyVault)'",
                            at: resource.location(of: "spec.keyVault"),
                            hint: "check the key vault's name; coffer assigns roles on existing key vaults, it does not create them"))
                    continue
                }
                violation = KeyVaultAccessRules.roleAssignmentViolation(on: keyVault, role: spec.role)
            default:
                violation = nil
            }
            guard let violation else { continue }
            diagnostics.append(
                .error(
                    violation.code, "\(resource.address): \(violation.message)", at: resource.location(of: violation.field ?? "spec"),
                    hint: violation.hint))
        }
        return diagnostics
    }
}
