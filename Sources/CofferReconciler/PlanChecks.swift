import CofferModel
import CofferRules

/// Checks at plan time that are not rules of the service: references to what the platform does not have,
/// and least-privilege advice. Pure: every fact comes from the refresh (`ObservedState`).
struct PlanChecks {
    /// What the rules cannot say because a resource the manifests name is missing, and advice on least
    /// privilege. The rules themselves run in `PlanSimulation`, on the platform as the plan leaves it.
    func check(desired: DesiredState, observed: ObservedState) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let keyVaults = observed.keyVaults

        // Access policies of key vaults the platform does not have: coffer does not create key vaults.
        for resource in desired.resources {
            guard case .keyVaultAccessPolicy(let spec) = resource.spec, keyVaults[spec.keyVault] == nil else { continue }
            diagnostics.append(
                .error(
                    "KeyVaultNotFound", "\(resource.address): there is no key vault '\(spec.keyVault)'",
                    at: resource.location(of: "spec.keyVault"),
                    hint: "check the key vault's name; coffer grants access to existing key vaults, it does not create them"))
        }

        var bekOnlyKeyVaults: [String: Bool] = [:]  // key vault → every ADE VM using it is BEK-only
        for resource in desired.resources {
            guard case .protectedVM(let spec) = resource.spec else { continue }
            guard let vm = observed.virtualMachines[spec.vm] else {
                diagnostics.append(
                    .error(
                        "VMNotFound", "\(resource.address): there is no virtual machine \(spec.vm)",
                        at: resource.location(of: "spec.vm"), hint: "check the VM's resource group and name"))
                continue
            }
            guard vm.encryption.isADE, spec.protectionState == .protected, let keyVaultName = vm.keyVault else { continue }
            bekOnlyKeyVaults[keyVaultName] = (bekOnlyKeyVaults[keyVaultName] ?? true) && vm.encryption != .adeBEKAndKEK
        }

        // Key permissions granted to the backup service on a key vault whose ADE VMs are all BEK-only.
        for resource in desired.resources {
            guard case .keyVaultAccessPolicy(let spec) = resource.spec, !spec.keyPermissions.isEmpty,
                bekOnlyKeyVaults[spec.keyVault] == true, isBackupService(spec.principal, keyVaults[spec.keyVault])
            else { continue }
            diagnostics.append(
                .warning(
                    "UnneededKeyPermissions",
                    "\(resource.address): the protected VMs using key vault '\(spec.keyVault)' are BEK-only; the Backup Management Service needs no key permissions",
                    at: resource.location(of: "spec.keyPermissions"),
                    hint: "remove keyPermissions (least privilege), unless a VM with a KEK will use this key vault"))
        }
        return diagnostics
    }

    /// The subscription segment of an ARM-style id (`/subscriptions/S/...`), or nil when it has none.
    static func subscriptionSegment(of id: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: true)
        guard let index = parts.firstIndex(where: { $0.lowercased() == "subscriptions" }), index + 1 < parts.count else { return nil }
        return String(parts[index + 1])
    }

    private func isBackupService(_ principal: Principal, _ keyVault: KeyVaultFacts?) -> Bool {
        switch principal {
        case .backupManagementService: return true
        case .objectID(let id): return keyVault?.backupManagementServiceObjectID == id
        }
    }
}
