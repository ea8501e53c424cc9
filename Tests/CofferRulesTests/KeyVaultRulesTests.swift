import CofferModel
import CofferRules
import Testing

/// Key Vault's one-way settings: soft delete and purge protection stay on, purge protection needs soft
/// delete, and the retention is 7 to 90 days, fixed once soft delete is on.
@Suite struct KeyVaultRulesTests {
    static func settings(softDelete: Bool = true, days: Int = 90, purge: Bool = false, rbac: Bool = false) -> KeyVaultSettings {
        KeyVaultSettings(enabledForDiskEncryption: true, softDelete: softDelete, softDeleteRetentionDays: days, purgeProtection: purge, rbacAuthorization: rbac)
    }

    @Test func theSettingsThatMayChangeChange() {
        // Disk encryption access, the permission model, and purge protection turned on.
        var new = Self.settings(purge: true, rbac: true)
        new.enabledForDiskEncryption = false
        #expect(KeyVaultRules.update(name: "kv", from: Self.settings(), to: new).isEmpty)
        // Soft delete turned on, with a retention of its own.
        #expect(KeyVaultRules.update(name: "kv", from: Self.settings(softDelete: false), to: Self.settings(days: 30)).isEmpty)
    }

    @Test func oneWaySettingsAreBadRequest() {
        let cases: [(KeyVaultSettings, KeyVaultSettings, String)] = [
            (Self.settings(), Self.settings(softDelete: false), "properties.enableSoftDelete"),
            (Self.settings(purge: true), Self.settings(), "properties.enablePurgeProtection"),
            (Self.settings(softDelete: false), Self.settings(softDelete: false, purge: true), "properties.enablePurgeProtection"),
            (Self.settings(), Self.settings(days: 30), "properties.softDeleteRetentionInDays"),
            (Self.settings(softDelete: false), Self.settings(days: 6), "properties.softDeleteRetentionInDays"),
            (Self.settings(softDelete: false), Self.settings(days: 91), "properties.softDeleteRetentionInDays"),
        ]
        for (old, new, field) in cases {
            let violations = KeyVaultRules.update(name: "kv", from: old, to: new)
            #expect(violations.map(\.code) == ["BadRequest"], "\(field)")
            #expect(violations.first?.field == field)
        }
    }
}
