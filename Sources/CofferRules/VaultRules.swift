public import CofferModel

/// The rules of a Recovery Services vault (reference section 5): its settings on their own, the changes the
/// service accepts, its placement, its customer key, and its deletion.
public enum VaultRules {
    /// Days a deleted item stays recoverable.
    public static let softDeleteRetentionDays = 14...180

    /// The rules a vault's settings follow on their own.
    public static func settings(_ spec: VaultSpec) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        if !softDeleteRetentionDays.contains(spec.softDeleteRetentionDays) {
            violations.append(
                RuleViolation(
                    ServiceCode.invalidInput, "soft-delete retention is 14 to 180 days, not \(spec.softDeleteRetentionDays)",
                    field: "spec.softDelete.retentionDays"))
        }
        if spec.storageRedundancy == .geoRedundant && Regions.pair(of: spec.location) == nil {
            violations.append(
                RuleViolation(
                    ServiceCode.geoRedundancyNotAvailable,
                    "region '\(spec.location)' has no paired region, so geo-redundant storage is not available",
                    hint: "use LocallyRedundant or ZoneRedundant storage", field: "spec.storageRedundancy"))
        }
        if spec.crossRegionRestore && spec.storageRedundancy != .geoRedundant {
            violations.append(
                RuleViolation(
                    ServiceCode.crossRegionRestoreRequiresGeoRedundancy,
                    "cross-region restore needs GeoRedundant storage, not \(spec.storageRedundancy.rawValue)",
                    hint: "set storageRedundancy: GeoRedundant or turn cross-region restore off", field: "spec.crossRegionRestore"))
        }
        if spec.encryption != nil && !spec.systemAssignedIdentity {
            violations.append(
                RuleViolation(
                    ServiceCode.cmkInvalidKey, "encryption with a customer key needs the vault's system-assigned identity",
                    hint: "set systemAssignedIdentity: true", field: "spec.systemAssignedIdentity"))
        }
        return violations
    }

    /// Where a vault may go: a resource group that exists, in a region the platform offers.
    public static func placement(
        subscription: String, resourceGroup: String, region: String, resourceGroupExists: Bool, availableRegions: [String]
    ) -> [RuleViolation] {
        if !resourceGroupExists {
            return [
                RuleViolation(
                    ServiceCode.resourceNotFound, "resource group '\(resourceGroup)' does not exist in subscription '\(subscription)'",
                    hint: "create the resource group first, or use one that exists", field: "spec.resourceGroup")
            ]
        }
        if Regions.region(named: region) == nil {
            return [RuleViolation(ServiceCode.invalidInput, "'\(region)' is not an Azure region", field: "spec.location")]
        }
        if !availableRegions.contains(region.lowercased()) {
            return [
                RuleViolation(
                    ServiceCode.invalidInput, "region '\(region)' is not available in this platform",
                    hint: "use one of: \(availableRegions.sorted().joined(separator: ", "))", field: "spec.location")
            ]
        }
        return []
    }

    /// A customer key for backup data: an RSA key, present, in a key vault of the vault's region with soft
    /// delete and purge protection.
    public static func customerKey(_ encryption: VaultEncryption, vaultRegion: String, keyVault: KeyVaultFacts?) -> [RuleViolation] {
        guard let keyVault else {
            return [
                RuleViolation(
                    ServiceCode.cmkInvalidKey, "there is no key vault '\(encryption.keyVault)' for the vault's customer key",
                    field: "spec.encryption.keyVault")
            ]
        }
        if keyVault.region.lowercased() != vaultRegion.lowercased() {
            return [
                RuleViolation(
                    ServiceCode.cmkInvalidKey,
                    "the key vault '\(keyVault.name)' is in \(keyVault.region); a vault's customer key must be in its region (\(vaultRegion))",
                    field: "spec.encryption.keyVault")
            ]
        }
        if !(keyVault.softDelete && keyVault.purgeProtection) {
            return [
                RuleViolation(
                    ServiceCode.cmkInvalidKey, "the key vault '\(keyVault.name)' needs soft delete and purge protection to hold a vault's customer key",
                    field: "spec.encryption.keyVault")
            ]
        }
        if keyVault.key(named: encryption.key) == nil {
            return [
                RuleViolation(
                    ServiceCode.cmkInvalidKey, "key vault '\(keyVault.name)' has no enabled key '\(encryption.key)'",
                    field: "spec.encryption.key")
            ]
        }
        return []
    }

    /// What creating a vault breaks, besides its placement and customer key. A Locked vault is created
    /// Unlocked and then locked, as the providers do.
    public static func create(_ spec: VaultSpec) -> [RuleViolation] {
        settings(spec)
    }

    /// What changing a vault from `old` to `new` breaks, with `registeredItems` backup items in it (soft-deleted
    /// ones included). A Locked immutability is reached through Unlocked, as the providers do.
    public static func update(name: String, from old: VaultSpec, to new: VaultSpec, registeredItems items: Int) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        if old.systemAssignedIdentity && !new.systemAssignedIdentity && old.encryption != nil {
            violations.append(
                RuleViolation(
                    ServiceCode.identityInUse,
                    "the identity of vault '\(name)' encrypts its backup data with a customer key and cannot be removed",
                    hint: "keep systemAssignedIdentity: true", field: "spec.systemAssignedIdentity"))
        }
        if new.storageRedundancy != old.storageRedundancy && items > 0 {
            violations.append(
                RuleViolation(
                    ServiceCode.storageModelModifyError,
                    "storage redundancy of vault '\(name)' cannot change from \(old.storageRedundancy.rawValue) to \(new.storageRedundancy.rawValue): it is locked once the first item is registered (\(items) item(s))",
                    hint: "keep \(old.storageRedundancy.rawValue), or create a new vault with the redundancy you need and move protection to it",
                    field: "spec.storageRedundancy"))
        }
        if old.crossRegionRestore && !new.crossRegionRestore && items > 0 {
            violations.append(
                RuleViolation(
                    ServiceCode.crossRegionRestoreCannotBeDisabled,
                    "cross-region restore of vault '\(name)' cannot be turned off once it protects items (\(items))",
                    hint: "set crossRegionRestore: true again; turning it off needs a vault without items",
                    field: "spec.crossRegionRestore"))
        }
        if old.immutability == .locked && new.immutability != .locked {
            violations.append(
                RuleViolation(
                    ServiceCode.immutabilityLocked, "the immutability of vault '\(name)' is Locked, which cannot be undone",
                    hint: "set immutability: Locked", field: "spec.immutability"))
        }
        if old.softDeleteState == .alwaysOn && new.softDeleteState != .alwaysOn {
            violations.append(
                RuleViolation(
                    ServiceCode.softDeleteStateAlwaysOn, "soft delete of vault '\(name)' is AlwaysOn, which cannot be reverted",
                    hint: "set softDelete.state: AlwaysOn", field: "spec.softDelete.state"))
        }
        if old.encryption != nil && old.sku != new.sku {
            violations.append(
                RuleViolation(ServiceCode.invalidInput, "the SKU of a vault encrypted with a customer key cannot change", field: "spec.sku"))
        }
        switch (old.encryption, new.encryption) {
        case (_?, nil):
            violations.append(
                RuleViolation(
                    ServiceCode.cmkCannotBeDisabled, "encryption of vault '\(name)' with a customer key cannot be turned off",
                    hint: "keep the encryption block; rotate the key instead", field: "spec.encryption"))
        case (nil, _?) where items > 0:
            violations.append(
                RuleViolation(
                    ServiceCode.cmkRequiresEmptyVault,
                    "customer-key encryption can be set only on a vault with no registered items ('\(name)' has \(items))",
                    hint: "create a new vault with the customer key, then protect VMs in it", field: "spec.encryption"))
        case (let had?, let wanted?) where had.infrastructureEncryption != wanted.infrastructureEncryption:
            violations.append(
                RuleViolation(
                    ServiceCode.invalidInput, "infrastructure encryption of vault '\(name)' is fixed once set",
                    field: "spec.encryption.infrastructureEncryption"))
        default:
            break
        }
        return violations + settings(new)
    }

    /// What deleting a vault breaks: it must hold no backup items, soft-deleted ones included.
    public static func delete(name: String, registeredItems items: Int) -> RuleViolation? {
        guard items > 0 else { return nil }
        return RuleViolation(
            ServiceCode.serviceResourceNotEmpty,
            "Vault cannot be deleted as there are existing resources within the vault '\(name)': \(items) backup item(s), soft-deleted ones included",
            hint: "stop protection and delete the data of every item, wait for (or undo) soft delete, then retry")
    }
}
