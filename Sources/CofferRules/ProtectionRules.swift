public import CofferModel

/// The rules of protecting a VM: enabling protection, its disk selection, moving it between policies,
/// stopping it, and deleting its data (reference sections 2 and 4).
public enum ProtectionRules {
    /// The most VMs a vault protects.
    public static let vmsPerVault = 1000

    /// What enabling protection of `vm` in vault `vault` breaks. `vaultSubscription` is compared with the
    /// VM's `vmSubscription` (the caller passes both as names, or both as ids); `vaultSubscriptionName` is
    /// the vault's subscription as the message names it (nil: the default one); `vaultItems` counts the
    /// vault's items. A soft-deleted item of the VM in the same vault is recovered
    /// and resumed by the providers, so it does not break anything.
    public static func enable(
        vm: VirtualMachineFacts, vmSubscription: String, vault: String, vaultSubscription: String, vaultRegion: String,
        vaultItems: Int, vaultSubscriptionName: String? = nil
    ) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        if let existing = vm.protection, existing.vault.lowercased() != vault.lowercased() {
            violations.append(
                RuleViolation(
                    ServiceCode.vmAlreadyProtected,
                    "VM '\(vm.reference.name)' is already registered with another Recovery Services vault ('\(existing.vault)'); a VM is backed up to one vault at a time",
                    hint: "keep vault: \(existing.vault), or stop its protection there and delete its backup data first", field: "spec.vault"))
        }
        if vmSubscription.lowercased() != vaultSubscription.lowercased() || vm.region.lowercased() != vaultRegion.lowercased() {
            violations.append(
                RuleViolation(
                    ServiceCode.vmAndVaultMismatch,
                    "VM '\(vm.reference.name)' is in \(vm.region) (subscription \(vm.subscription)) but vault '\(vault)' is in \(vaultRegion)"
                        + (vmSubscription.lowercased() != vaultSubscription.lowercased() ? " (\(vaultSubscriptionName.map { "subscription \($0)" } ?? "the default subscription"))" : ""),
                    hint: "protect the VM with a vault in the same region and subscription", field: "spec.vault"))
        }
        if vaultItems >= vmsPerVault {
            violations.append(
                RuleViolation(
                    ServiceCode.limitExceeded, "vault '\(vault)' already protects \(vaultItems) VMs, the most it can", field: "spec.vault"))
        }
        return violations
    }

    /// What a disk selection breaks: LUNs must exist, include and exclude are exclusive, and an ADE VM under
    /// a Standard policy backs up every disk.
    public static func diskSelection(vm: VirtualMachineFacts, policyType: PolicyType, exclude: [Int], include: [Int]) -> [RuleViolation] {
        if !exclude.isEmpty && !include.isEmpty {
            return [
                RuleViolation(
                    ServiceCode.invalidConfigureProtectionRequest, "give either the disks to exclude or the disks to include, not both",
                    field: "spec.includeDiskLuns")
            ]
        }
        let luns = Set(vm.disks.map(\.lun).filter { $0 >= 0 })
        let field = exclude.isEmpty ? "spec.includeDiskLuns" : "spec.excludeDiskLuns"
        if let lun = (exclude + include).first(where: { !luns.contains($0) }) {
            return [
                RuleViolation(
                    ServiceCode.invalidConfigureProtectionRequest, "VM '\(vm.reference.name)' has no data disk at LUN \(lun)", field: field)
            ]
        }
        if vm.encryption.isADE && policyType == .standard && !(exclude.isEmpty && include.isEmpty) {
            return [
                RuleViolation(
                    ServiceCode.encryptedVMNotSupportedWithDiskExclusion,
                    "VM '\(vm.reference.name)' is encrypted with ADE; a Standard policy cannot back up only some of its disks",
                    hint: "back up every disk (remove the disk list), or use an Enhanced policy", field: field)
            ]
        }
        return []
    }

    /// What backing up `vm` under a policy of type `policyType` (named `policyName`) breaks: a Trusted Launch
    /// VM needs an Enhanced policy. Checked when protection is enabled or resumed and when its policy changes.
    public static func securityType(vm: VirtualMachineFacts, policyType: PolicyType, policyName: String) -> RuleViolation? {
        guard vm.securityType == .trustedLaunch && policyType == .standard else { return nil }
        return RuleViolation(
            ServiceCode.trustedLaunchVMNeedsEnhancedPolicy,
            "VM '\(vm.reference.name)' is a Trusted Launch VM; it is backed up with an Enhanced policy only, and '\(policyName)' is Standard",
            hint: "choose an Enhanced policy (policyType: Enhanced)", field: "spec.policy")
    }

    /// What turning `vm` into a Trusted Launch VM breaks (compute's check): a Standard policy must not protect
    /// it. `policyType` is the type of the policy of its backup item, nil when it has none.
    public static func upgradeToTrustedLaunch(vm: String, policyType: PolicyType?) -> RuleViolation? {
        guard policyType == .standard else { return nil }
        return RuleViolation(
            ServiceCode.operationNotAllowed,
            "VM '\(vm)' cannot be upgraded to Trusted Launch as it is configured for Azure Backup using a Standard policy",
            hint: "move its protection to an Enhanced policy first")
    }

    /// What moving the protected VM `vm` from policy `old` to `new` (named `newName`) breaks, in a vault whose
    /// immutability is `immutability`: Enhanced cannot go back to Standard, and an immutable vault keeps
    /// every recovery point at least as long.
    public static func changePolicy(
        vm: String, from old: BackupPolicySpec?, to new: BackupPolicySpec, named newName: String, vaultImmutability immutability: Immutability
    ) -> [RuleViolation] {
        guard let old else { return [] }
        var violations: [RuleViolation] = []
        if old.policyType == .enhanced && new.policyType == .standard {
            violations.append(
                RuleViolation(
                    ServiceCode.policyTypeChangeNotAllowed,
                    "VM '\(vm)' is protected by an Enhanced policy and cannot move to a Standard one ('\(newName)')",
                    hint: "choose an Enhanced policy", field: "spec.policy"))
        }
        if immutability != .disabled && BackupPolicyRules.reducesRetention(from: old.retention, to: new.retention) {
            violations.append(
                RuleViolation(
                    ServiceCode.deleteBackupItemOnImmutableItem,
                    "vault '\(old.vault)' is immutable: moving VM '\(vm)' to policy '\(newName)' would reduce its retention",
                    hint: "choose a policy that keeps recovery points at least as long", field: "spec.policy"))
        }
        return violations
    }

    /// What stopping protection with the data kept as per policy (`BackupsSuspended`) breaks: it needs an
    /// immutable vault, and a protection stopped with data kept for ever must be resumed first.
    public static func suspend(vm: String, vault: String, vaultImmutability immutability: Immutability, status: ProtectionStatus) -> [RuleViolation] {
        if immutability == .disabled {
            return [
                RuleViolation(
                    ServiceCode.backupsSuspendedNeedsImmutability,
                    "stop protection and retain data as per policy needs an immutable vault; '\(vault)' has immutability Disabled",
                    hint: "use protectionState ProtectionStopped, or make the vault immutable", field: "spec.protectionState")
            ]
        }
        if status == .protectionStopped {
            return [
                RuleViolation(
                    ServiceCode.invalidProtectionStateTransition,
                    "protection of VM '\(vm)' is stopped with data retained for ever; resume it first", field: "spec.protectionState")
            ]
        }
        return []
    }

    /// What deleting a VM's backup data breaks: an immutable vault keeps items that have recovery points.
    public static func deleteData(vm: String, vault: String, vaultImmutability immutability: Immutability, recoveryPoints: Int) -> RuleViolation? {
        guard immutability != .disabled && recoveryPoints > 0 else { return nil }
        return RuleViolation(
            ServiceCode.deleteBackupItemOnImmutableItem,
            "vault '\(vault)' is immutable: the backup item of VM '\(vm)' has \(recoveryPoints) recovery point(s) and its data cannot be deleted",
            hint: "stop protection and retain the data instead (deletionPolicy: Retain)", field: "spec.deletionPolicy")
    }
}
