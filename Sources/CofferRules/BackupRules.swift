public import CofferModel

/// What a backup job of a VM needs, checked before it takes a snapshot (reference sections 1–3 and the
/// troubleshooting codes): each failure is the code the job fails with.
public enum BackupRules {
    /// The largest disk Azure Backup takes: 32 TiB less one GiB.
    public static let maximumDiskGiB = 32_767
    /// The largest ADE-encrypted disk Azure Backup takes: 4 TB.
    public static let maximumEncryptedDiskGiB = 4_096
    /// On-demand backups ("Backup now") of one VM a day under a Standard policy, besides the scheduled one.
    public static let onDemandBackupsPerDay = 3

    /// What an on-demand backup of `vm` breaks when `takenToday` on-demand backups of it completed on the
    /// same day (UTC): under a Standard policy the service takes three a day besides the scheduled one
    /// (reference sections 0 and 2.4). An Enhanced policy, which schedules several backups a day, is not held
    /// to it here: the reference quotes the limit for Standard policies only.
    public static func onDemand(vm: String, policyType: PolicyType, takenToday: Int) -> RuleViolation? {
        guard policyType == .standard, takenToday >= onDemandBackupsPerDay else { return nil }
        return RuleViolation(
            ServiceCode.onDemandBackupLimitReached,
            "VM '\(vm)' was backed up on demand \(takenToday) times today; a VM under a Standard policy takes \(onDemandBackupsPerDay) on-demand backups a day besides the scheduled one",
            hint: "retry tomorrow (UTC), or let the policy's schedule take the next backup")
    }

    /// The reasons a backup of `vm` fails, first the one the job reports. `keyVault` is the key vault of an
    /// ADE VM's keys, `diskEncryptionSetKeyVault` the key vault of an SSE-CMK VM's disk encryption set (nil
    /// when the platform has none).
    public static func preconditions(
        vm: VirtualMachineFacts, keyVault: KeyVaultFacts?, diskEncryptionSetKeyVault: KeyVaultFacts?
    ) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        let name = vm.reference.name
        if vm.agentState != "running" {
            violations.append(
                RuleViolation(
                    ServiceCode.guestAgentStatusUnavailable,
                    "the VM agent of '\(name)' is \(vm.agentState): it cannot communicate with Azure Backup",
                    hint: "start (or install) the Azure VM agent in the guest; backups need it running", field: "spec.vm"))
        }
        let limit = vm.encryption.isADE ? maximumEncryptedDiskGiB : maximumDiskGiB
        if let disk = vm.disks.first(where: { $0.sizeGiB > limit }) {
            violations.append(
                RuleViolation(
                    ServiceCode.unsupportedDiskSize,
                    "disk \(disk.lun < 0 ? "os" : "LUN \(disk.lun)") of VM '\(name)' is \(disk.sizeGiB) GiB; Azure Backup takes \(vm.encryption.isADE ? "encrypted disks" : "disks") up to \(limit) GiB",
                    hint: "make the disk smaller, or move its data to disks within the limit", field: "spec.vm"))
        }
        if let set = vm.diskEncryptionSet {
            violations += diskEncryptionSet(set, vm: name, keyVault: diskEncryptionSetKeyVault)
        }
        guard vm.encryption.isADE, let keyVaultName = vm.keyVault else { return violations }
        guard let keyVault else {
            violations.append(
                RuleViolation(
                    ServiceCode.keyVaultPermissionsNotConfigured,
                    "the key vault '\(keyVaultName)' of VM '\(name)' is gone", hint: "recover the key vault", field: "spec.vm"))
            return violations
        }
        if vm.kekIsCertificateBacked || vm.kek.flatMap({ keyVault.key(named: $0)?.certificateBacked }) == true {
            violations.append(
                RuleViolation(
                    ServiceCode.certificateBackedKeyNotSupported,
                    "the KEK '\(vm.kek ?? "")' of VM '\(name)' belongs to a certificate; Azure Backup supports standalone keys only",
                    hint: "re-encrypt the VM with a standalone RSA key as its KEK", field: "spec.vm"))
        }
        if let shortfall = KeyVaultAccessRules.backupShortfall(on: keyVault, encryption: vm.encryption),
            var violation = KeyVaultAccessRules.backupAccessViolation(vm: name, keyVault: keyVault, encryption: vm.encryption)
        {
            violation.message += " (\(vm.encryption == .adeBEKAndKEK ? "BEK+KEK" : "BEK only")): the Backup Management Service lacks \(shortfall.words)"
            violation.field = "spec.vm"
            violations.append(violation)
        }
        if let secret = vm.bekSecret, !keyVault.hasSecret(named: secret) {
            violations.append(
                RuleViolation(
                    ServiceCode.keyVaultSecretDoesNotExist,
                    "the BEK secret of VM '\(name)' is not in key vault '\(keyVault.name)'",
                    hint: "recover or restore the secret in the key vault ('coffer restore-keys' from a recovery point)", field: "spec.vm"))
        }
        if let kek = vm.kek, keyVault.key(named: kek) == nil {
            violations.append(
                RuleViolation(
                    ServiceCode.keyVaultKeyDoesNotExist, "the KEK '\(kek)' of VM '\(name)' is not in key vault '\(keyVault.name)'",
                    hint: "recover or restore the key in the key vault ('coffer restore-keys' from a recovery point)", field: "spec.vm"))
        }
        return violations
    }

    /// What a disk encryption set needs to read its disks: its key, and Get, WrapKey and UnwrapKey for its
    /// identity on the key vault. Without them its disks cannot be read, by the VM or by a backup.
    public static func diskEncryptionSet(_ set: DiskEncryptionSetFacts, vm: String, keyVault: KeyVaultFacts?) -> [RuleViolation] {
        guard let keyVault else {
            return [
                RuleViolation(
                    ServiceCode.keyVaultAccessForbidden,
                    "the key vault '\(set.keyVault)' of disk encryption set '\(set.name)' is gone: the disks of VM '\(vm)' cannot be read",
                    hint: "recover the key vault", field: "spec.vm")
            ]
        }
        if let missing = keyWrappingShortfall(of: set.identityObjectID, on: keyVault) {
            return [
                RuleViolation(
                    ServiceCode.keyVaultAccessForbidden,
                    "the identity of disk encryption set '\(set.name)' lacks \(missing.words) on key vault '\(keyVault.name)': the disks of VM '\(vm)' cannot be read",
                    hint: "give the disk encryption set's identity (\(set.identityObjectID)) Get, WrapKey and UnwrapKey on key vault '\(keyVault.name)' (a KeyVaultAccessPolicy with principal {objectId: \(set.identityObjectID)})",
                    field: "spec.vm")
            ]
        }
        if keyVault.key(named: set.key) == nil {
            return [
                RuleViolation(
                    ServiceCode.keyVaultAccessForbidden,
                    "the key '\(set.key)' of disk encryption set '\(set.name)' is not in key vault '\(keyVault.name)': the disks of VM '\(vm)' cannot be read",
                    hint: "recover the key in the key vault", field: "spec.vm")
            ]
        }
        return []
    }

    /// What a vault encrypted with a customer key needs to store a backup: its identity's Get, WrapKey and
    /// UnwrapKey on the key vault, and the key.
    public static func vaultKey(vault: String, encryption: VaultEncryption?, identity: String?, keyVault: KeyVaultFacts?) -> RuleViolation? {
        guard let encryption else { return nil }
        let hint = "give the identity of vault '\(vault)' (\(identity ?? "none")) Get, WrapKey and UnwrapKey on key vault '\(encryption.keyVault)', and keep the key '\(encryption.key)'"
        guard let identity, let keyVault, keyWrappingShortfall(of: identity, on: keyVault) == nil else {
            return RuleViolation(
                ServiceCode.getSaSUriError,
                "Backup failed in allocating storage from protection service: the identity of vault '\(vault)' has no access to key vault '\(encryption.keyVault)'",
                hint: hint, field: "spec.vault")
        }
        guard keyVault.key(named: encryption.key) != nil else {
            return RuleViolation(
                ServiceCode.getSaSUriError,
                "Backup failed in allocating storage from protection service: the customer key '\(encryption.key)' is not in key vault '\(encryption.keyVault)'",
                hint: hint, field: "spec.vault")
        }
        return nil
    }

    /// What an identity that wraps keys with a key vault key lacks of Get, WrapKey and UnwrapKey, under the
    /// key vault's permission model: a disk encryption set's, or a Recovery Services vault's for its customer
    /// key.
    public static func keyWrappingShortfall(of objectID: String, on keyVault: KeyVaultFacts) -> KeyVaultAccessShortfall? {
        KeyVaultAccessRules.shortfall(of: objectID, on: keyVault, keys: [.get, .wrapKey, .unwrapKey], secrets: [])
    }
}
