import CofferModel
import CofferRules

/// Checks at plan time for what the platform would refuse at apply or backup time, reported at the
/// manifest's location so that a failing 2 a.m. backup becomes a red pull request instead. Pure: every fact
/// comes from the refresh (`ObservedState`), which read them from the provider's snapshot.
struct PlanChecks {
    /// The diagnostics of `desired` against `observed` with the resources at `deleting` gone, as the plan
    /// leaves the platform.
    func check(desired: DesiredState, observed: ObservedState, deleting: Set<ResourceAddress> = []) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let vaults = Dictionary(
            desired.resources.compactMap { resource -> (String, (DesiredResource, VaultSpec))? in
                if case .vault(let spec) = resource.spec { return (resource.address.name, (resource, spec)) }
                return nil
            }, uniquingKeysWith: { first, _ in first })

        // Vault changes the platform refuses.
        for (name, (resource, spec)) in vaults.sorted(by: { $0.key < $1.key }) {
            guard let found = observed.byAddress[resource.address], case .vault(let current) = found.spec else { continue }
            let items = found.status.vault?.registeredItems ?? 0
            if current.storageRedundancy != spec.storageRedundancy && items > 0 {
                diagnostics.append(
                    .error(
                        "StorageModelModifyError",
                        "RecoveryServicesVault/\(name): storage redundancy cannot change from \(current.storageRedundancy.rawValue) to \(spec.storageRedundancy.rawValue): \(items) item(s) are registered",
                        at: resource.location(of: "spec.storageRedundancy"),
                        hint: "keep \(current.storageRedundancy.rawValue), or create a new vault and move protection to it"))
            }
            if current.crossRegionRestore && !spec.crossRegionRestore {
                diagnostics.append(
                    .error(
                        "UserErrorCrossRegionRestoreCannotBeDisabled",
                        "RecoveryServicesVault/\(name): cross-region restore cannot be turned off once enabled",
                        at: resource.location(of: "spec.crossRegionRestore"),
                        hint: "set crossRegionRestore: true again; turning it off needs a new vault"))
            }
            if current.softDeleteState == .alwaysOn && spec.softDeleteState != .alwaysOn {
                diagnostics.append(
                    .error(
                        "BMSUserErrorSoftDeleteStateAlwaysOn",
                        "RecoveryServicesVault/\(name): soft delete is AlwaysOn, which cannot be reverted",
                        at: resource.location(of: "spec.softDelete.state"), hint: "set softDelete.state: AlwaysOn"))
            }
            if current.immutability == .locked && spec.immutability != .locked {
                diagnostics.append(
                    .error(
                        "UserErrorImmutabilityLocked",
                        "RecoveryServicesVault/\(name): immutability is Locked, which cannot be reverted",
                        at: resource.location(of: "spec.immutability"), hint: "set immutability: Locked"))
            }
        }

        // Retention cuts on immutable vaults.
        for resource in desired.resources {
            guard case .backupPolicy(let spec) = resource.spec,
                let found = observed.byAddress[resource.address], case .backupPolicy(let current) = found.spec
            else { continue }
            let immutability = vaults[spec.vault].map(\.1.immutability) ?? .disabled
            guard immutability != .disabled else { continue }
            for (path, old, new) in retentionCounts(current.retention, spec.retention) where new < old {
                diagnostics.append(
                    .error(
                        "UserErrorDeleteBackupItemOnImmutableItem",
                        "\(resource.address): \(path) goes from \(old) to \(new), but vault '\(spec.vault)' is immutable (\(immutability.rawValue))",
                        at: resource.location(of: "spec.\(path)"),
                        hint: "an immutable vault forbids reducing retention; keep \(old) or more"))
            }
        }

        // Protected VMs: the VM, its region and subscription, its keys, its key vault access.
        let keyVaultsAfterPlan = KeyVaultsAfterPlan(desired: desired, observed: observed, deleting: deleting)
        let protected = desired.resources.compactMap { resource -> (DesiredResource, ProtectedVMSpec)? in
            if case .protectedVM(let spec) = resource.spec { return (resource, spec) }
            return nil
        }
        let machines = protected.map { observed.virtualMachines[$0.1.vm] }
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
        let policyTypes = Dictionary(
            desired.resources.compactMap { resource -> (String, PolicyType)? in
                if case .backupPolicy(let spec) = resource.spec { return (resource.address.name, spec.policyType) }
                return nil
            }, uniquingKeysWith: { first, _ in first })
        var bekOnlyKeyVaults: [String: Bool] = [:]  // key vault → every ADE VM using it is BEK-only
        for ((resource, spec), facts) in zip(protected, machines) {
            guard let vm = facts else {
                diagnostics.append(
                    .error(
                        "VMNotFound", "\(resource.address): there is no virtual machine \(spec.vm)",
                        at: resource.location(of: "spec.vm"), hint: "check the VM's resource group and name"))
                continue
            }
            if let (_, vault) = vaults[spec.vault] {
                // A vault without a subscription is in the platform's default one, not the VM's: compare the
                // subscriptions of the ids, which the provider resolves (names, ids and the default alike).
                // Refresh resolved every declared resource's id already.
                let vaultID = observed.ids[ResourceAddress(kind: .recoveryServicesVault, name: spec.vault)]
                let vaultSubscription = vaultID.flatMap { Self.subscriptionSegment(of: $0) }
                let otherSubscription: Bool
                if let vaultSubscription, let vmSubscription = Self.subscriptionSegment(of: vm.id) {
                    otherSubscription = vaultSubscription.lowercased() != vmSubscription.lowercased()
                } else {
                    otherSubscription = (vault.subscription ?? vm.subscription) != vm.subscription
                }
                if vault.location != vm.region || otherSubscription {
                    diagnostics.append(
                        .error(
                            "UserErrorVmAndVaultNotInSameSubscriptionAndRegion",
                            "\(resource.address): VM \(vm.reference.name) is in \(vm.region) (subscription \(vm.subscription)) but vault '\(spec.vault)' is in \(vault.location)"
                                + (otherSubscription ? " (\(vault.subscription.map { "subscription \($0)" } ?? "the default subscription"))" : ""),
                            at: resource.location(of: "spec.vault"),
                            hint: "protect the VM with a vault in the same region and subscription"))
                }
            }
            if let other = vm.protectedBy, other.lowercased() != spec.vault.lowercased() {
                diagnostics.append(
                    .error(
                        "UserErrorVmAlreadyProtectedInAnotherVault",
                        "\(resource.address): VM \(vm.reference.name) is already protected by vault '\(other)'; a VM is backed up to one vault at a time",
                        at: resource.location(of: "spec.vault"),
                        hint: "keep vault: \(other), or stop its protection there and delete its backup data first"))
            }
            if spec.protectionState == .protected, vm.agentState != "running" {
                diagnostics.append(
                    .error(
                        "UserErrorGuestAgentStatusUnavailable",
                        "\(resource.address): backups of \(vm.reference.name) will fail: its VM agent is \(vm.agentState)",
                        at: resource.location(of: "spec.vm"),
                        hint: "start (or install) the Azure VM agent in the guest; backups need it running"))
            }
            if vm.encryption.isADE, !(spec.excludeDiskLuns.isEmpty && spec.includeDiskLuns.isEmpty),
                (policyTypes[spec.policy] ?? .standard) == .standard
            {
                diagnostics.append(
                    .error(
                        "UserErrorEncryptedVmNotSupportedWithDiskEx",
                        "\(resource.address): \(vm.reference.name) is encrypted with ADE; its policy '\(spec.policy)' is Standard, which cannot back up only some of its disks",
                        at: resource.location(of: spec.excludeDiskLuns.isEmpty ? "spec.includeDiskLuns" : "spec.excludeDiskLuns"),
                        hint: "back up every disk (remove the disk list), or use an Enhanced policy"))
            }
            guard vm.encryption.isADE, spec.protectionState == .protected else { continue }
            if vm.kekIsCertificateBacked {
                diagnostics.append(
                    .error(
                        "UserErrorCertificateBackedKeyNotSupported",
                        "\(resource.address): the KEK of \(vm.reference.name) belongs to a certificate; Azure Backup supports standalone keys only",
                        at: resource.location(of: "spec.vm"),
                        hint: "re-encrypt the VM with a standalone RSA key as its KEK"))
            }
            guard let keyVaultName = vm.keyVault else { continue }
            let needsKeys = vm.encryption == .adeBEKAndKEK
            bekOnlyKeyVaults[keyVaultName] = (bekOnlyKeyVaults[keyVaultName] ?? true) && !needsKeys

            // What the Backup Management Service will have after apply (the key vault as the plan leaves it:
            // declared grants in, pruned ones out), judged by the rule the platform backs up with.
            let keyVault = keyVaultsAfterPlan.facts(keyVaultName)
            if let shortfall = KeyVaultAccessRules.backupShortfall(on: keyVault, encryption: vm.encryption) {
                // A member operator's platform grants an access policy when it enables protection: only a
                // protection the plan enables gets it, and never a role. A VM already protected keeps failing.
                let rbac = keyVault.permissionModel == .rbac
                let grantedOnEnable = observed.operatorGrantsKeyVaultAccess && !rbac && observed.byAddress[resource.address] == nil
                let severity: Severity = grantedOnEnable ? .warning : .error
                diagnostics.append(
                    Diagnostic(
                        severity: severity, code: KeyVaultAccessRules.permissionsNotConfigured,
                        summary: "\(resource.address): backups of \(vm.reference.name) (\(needsKeys ? "BEK+KEK" : "BEK only")) will fail: the Backup Management Service lacks \(shortfall.words) on key vault '\(keyVaultName)'",
                        detail: severity == .warning
                            ? "the operator is a member of the tenant, so the platform grants this access when protection is enabled"
                            : rbac ? "key vault '\(keyVaultName)' uses Azure RBAC: enabling protection assigns no role, whoever the operator is" : nil,
                        hint: rbac
                            ? "add a KeyVaultRoleAssignment for keyVault: \(keyVaultName) with principal {name: Backup Management Service} "
                                + "and role: \(RoleDefinition.keyVaultAdministrator.name)"
                            : "add a KeyVaultAccessPolicy for keyVault: \(keyVaultName) with principal {name: Backup Management Service}, "
                                + (needsKeys ? "keyPermissions [Get, List, Backup] and " : "") + "secretPermissions [Get, List, Backup]",
                        location: resource.location(of: "spec.vm")))
            }
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

    private func retentionCounts(_ old: RetentionSpec, _ new: RetentionSpec) -> [(String, Int, Int)] {
        var result: [(String, Int, Int)] = []
        if let o = old.daily?.count, let n = new.daily?.count { result.append(("retention.daily.count", o, n)) }
        if let o = old.weekly?.count, let n = new.weekly?.count { result.append(("retention.weekly.count", o, n)) }
        if let o = old.monthly?.count, let n = new.monthly?.count { result.append(("retention.monthly.count", o, n)) }
        if let o = old.yearly?.count, let n = new.yearly?.count { result.append(("retention.yearly.count", o, n)) }
        if old.daily != nil && new.daily == nil { result.append(("retention.daily", old.daily!.count, 0)) }
        if old.weekly != nil && new.weekly == nil { result.append(("retention.weekly", old.weekly!.count, 0)) }
        if old.monthly != nil && new.monthly == nil { result.append(("retention.monthly", old.monthly!.count, 0)) }
        if old.yearly != nil && new.yearly == nil { result.append(("retention.yearly", old.yearly!.count, 0)) }
        return result
    }
}
