import CofferModel
import CofferRules

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
