"""The write operations beside create and delete, as the official SDKs send them: a vault's PATCH
(vaults.begin_update), its backup configuration (backup_resource_vault_configs.put / update), its storage
configuration (backup_resource_storage_configs_non_crr.update / patch), and a key vault's PUT
(vaults.begin_create_or_update, the full PUT `az keyvault set-policy` sends) and PATCH (vaults.update)."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.keyvault.models import (
    AccessPolicyEntry,
    Permissions,
    Sku as KeyVaultSku,
    Vault as KeyVault,
    VaultCreateOrUpdateParameters,
    VaultPatchParameters,
    VaultPatchProperties,
    VaultProperties as KeyVaultProperties,
)
from azure.mgmt.recoveryservices.models import (
    ImmutabilitySettings,
    PatchVault,
    VaultPropertiesRedundancySettings,
    SecuritySettings,
    SoftDeleteSettings,
    Vault,
    VaultProperties,
)
from azure.mgmt.recoveryservicesbackup.models import (
    BackupResourceConfig,
    BackupResourceConfigResource,
    BackupResourceVaultConfig,
    BackupResourceVaultConfigResource,
)

from conftest import BACKUP_RG, KEY_VAULT, KEYS_RG, vault_body

OTHER_PRINCIPAL = "5f0c6a1e-9d2b-4c8a-8e3f-7a6b5c4d3e2f"


def test_a_vault_patch_changes_its_settings(clients):
    vaults = clients["vaults"]
    vaults.vaults.begin_create_or_update(BACKUP_RG, "rsv-sdk-patch", vault_body()).result()
    patch = PatchVault(
        tags={"team": "backup"},
        properties=VaultProperties(
            public_network_access="Disabled",
            redundancy_settings=VaultPropertiesRedundancySettings(standard_tier_storage_redundancy="LocallyRedundant"),
            security_settings=SecuritySettings(
                soft_delete_settings=SoftDeleteSettings(soft_delete_retention_period_in_days=30),
                immutability_settings=ImmutabilitySettings(state="Unlocked"),
            ),
        ),
    )
    # An LRO in the SDK that the first answer completes (200 with a terminal provisioningState).
    vault = vaults.vaults.begin_update(BACKUP_RG, "rsv-sdk-patch", patch).result()
    assert isinstance(vault, Vault)
    assert vault.tags == {"team": "backup"}
    assert vault.properties.public_network_access == "Disabled"
    assert vault.properties.redundancy_settings.standard_tier_storage_redundancy == "LocallyRedundant"
    assert vault.properties.security_settings.soft_delete_settings.soft_delete_retention_period_in_days == 30
    assert vault.properties.security_settings.immutability_settings.state == "Unlocked"
    again = vaults.vaults.get(BACKUP_RG, "rsv-sdk-patch")
    assert again.properties.redundancy_settings.standard_tier_storage_redundancy == "LocallyRedundant"
    assert again.location == "eastus"
    # A vault that does not exist is not patched.
    with pytest.raises(HttpResponseError) as raised:
        vaults.vaults.begin_update(BACKUP_RG, "rsv-sdk-none", patch).result()
    assert raised.value.status_code == 404 and raised.value.error.code == "ResourceNotFound"


def test_the_backup_config_sets_soft_delete(clients):
    vaults, backup = clients["vaults"], clients["backup"]
    vaults.vaults.begin_create_or_update(BACKUP_RG, "rsv-sdk-config", vault_body()).result()
    config = backup.backup_resource_vault_configs.get("rsv-sdk-config", BACKUP_RG)
    assert config.properties.soft_delete_feature_state == "Enabled"
    assert config.properties.soft_delete_retention_period_in_days == 14
    put = backup.backup_resource_vault_configs.put(
        "rsv-sdk-config", BACKUP_RG,
        BackupResourceVaultConfigResource(properties=BackupResourceVaultConfig(soft_delete_feature_state="Enabled", soft_delete_retention_period_in_days=60)),
    )
    assert isinstance(put, BackupResourceVaultConfigResource)
    assert put.properties.soft_delete_retention_period_in_days == 60
    assert put.properties.is_soft_delete_feature_state_editable is True
    updated = backup.backup_resource_vault_configs.update(
        "rsv-sdk-config", BACKUP_RG, BackupResourceVaultConfigResource(properties=BackupResourceVaultConfig(soft_delete_feature_state="AlwaysON"))
    )
    assert updated.properties.soft_delete_feature_state == "AlwaysON"
    assert updated.properties.soft_delete_retention_period_in_days == 60
    assert updated.properties.is_soft_delete_feature_state_editable is False
    # The vault itself says the same.
    vault = vaults.vaults.get(BACKUP_RG, "rsv-sdk-config")
    assert vault.properties.security_settings.soft_delete_settings.soft_delete_state == "AlwaysON"
    with pytest.raises(HttpResponseError) as raised:
        backup.backup_resource_vault_configs.update(
            "rsv-sdk-config", BACKUP_RG, BackupResourceVaultConfigResource(properties=BackupResourceVaultConfig(soft_delete_feature_state="Disabled"))
        )
    assert raised.value.status_code == 400 and raised.value.error.code == "BMSUserErrorSoftDeleteStateAlwaysOn"


def test_the_storage_config_sets_redundancy_and_cross_region_restore(clients):
    vaults, backup = clients["vaults"], clients["backup"]
    vaults.vaults.begin_create_or_update(BACKUP_RG, "rsv-sdk-storage", vault_body()).result()
    updated = backup.backup_resource_storage_configs_non_crr.update(
        "rsv-sdk-storage", BACKUP_RG, BackupResourceConfigResource(properties=BackupResourceConfig(storage_type="LocallyRedundant"))
    )
    assert isinstance(updated, BackupResourceConfigResource)
    assert updated.properties.storage_type == "LocallyRedundant"
    assert updated.properties.storage_type_state == "Unlocked"
    # PATCH answers 204: the SDK returns None.
    patched = backup.backup_resource_storage_configs_non_crr.patch(
        "rsv-sdk-storage", BACKUP_RG,
        BackupResourceConfigResource(properties=BackupResourceConfig(storage_model_type="GeoRedundant", cross_region_restore_flag=True)),
    )
    assert patched is None
    config = backup.backup_resource_storage_configs_non_crr.get("rsv-sdk-storage", BACKUP_RG)
    assert config.properties.storage_type == "GeoRedundant" and config.properties.cross_region_restore_flag is True
    vault = vaults.vaults.get(BACKUP_RG, "rsv-sdk-storage")
    assert vault.properties.redundancy_settings.cross_region_restore == "Enabled"


def policies_of(key_vault):
    return {p.object_id: (sorted(p.permissions.keys_property or []), sorted(p.permissions.secrets or [])) for p in key_vault.properties.access_policies}


def test_a_key_vault_put_replaces_its_access_policies_as_set_policy_does(clients):
    keyvault = clients["keyvault"]
    original = keyvault.vaults.get(KEYS_RG, KEY_VAULT)
    before = policies_of(original)
    try:
        # az keyvault set-policy: GET, add the entry, PUT the whole key vault back.
        properties = original.properties
        properties.access_policies = list(properties.access_policies) + [
            AccessPolicyEntry(tenant_id=properties.tenant_id, object_id=OTHER_PRINCIPAL, permissions=Permissions(keys_property=["get", "wrapKey", "unwrapKey"], secrets=[]))
        ]
        put = keyvault.vaults.begin_create_or_update(
            KEYS_RG, KEY_VAULT, VaultCreateOrUpdateParameters(location=original.location, properties=properties)
        ).result()
        assert isinstance(put, KeyVault)
        after = policies_of(put)
        assert after[OTHER_PRINCIPAL] == (["get", "unwrapkey", "wrapkey"], [])
        assert {k: v for k, v in after.items() if k != OTHER_PRINCIPAL} == before
        assert policies_of(keyvault.vaults.get(KEYS_RG, KEY_VAULT)) == after
        # az keyvault delete-policy: the same PUT without the entry.
        properties.access_policies = [p for p in properties.access_policies if p.object_id != OTHER_PRINCIPAL]
        removed = keyvault.vaults.begin_create_or_update(
            KEYS_RG, KEY_VAULT, VaultCreateOrUpdateParameters(location=original.location, properties=properties)
        ).result()
        assert policies_of(removed) == before
    finally:
        current = keyvault.vaults.get(KEYS_RG, KEY_VAULT)
        if policies_of(current) != before:
            current.properties.access_policies = original.properties.access_policies
            keyvault.vaults.begin_create_or_update(KEYS_RG, KEY_VAULT, VaultCreateOrUpdateParameters(location=original.location, properties=current.properties)).result()
    # A key vault the world does not have is not created.
    with pytest.raises(HttpResponseError) as raised:
        keyvault.vaults.begin_create_or_update(
            KEYS_RG, "kv-sdk-new",
            VaultCreateOrUpdateParameters(
                location="eastus", properties=KeyVaultProperties(tenant_id=original.properties.tenant_id, sku=KeyVaultSku(family="A", name="standard"))
            ),
        ).result()
    assert raised.value.status_code == 400 and raised.value.error.code == "OperationNotAllowed"


def test_a_key_vault_patch_changes_settings_and_keeps_the_one_way_ones(clients):
    keyvault = clients["keyvault"]
    original = keyvault.vaults.get(KEYS_RG, KEY_VAULT)
    assert original.properties.enabled_for_disk_encryption is True
    try:
        patched = keyvault.vaults.update(
            KEYS_RG, KEY_VAULT, VaultPatchParameters(properties=VaultPatchProperties(enabled_for_disk_encryption=False, enable_rbac_authorization=True))
        )
        assert isinstance(patched, KeyVault)
        assert patched.properties.enabled_for_disk_encryption is False
        assert patched.properties.enable_rbac_authorization is True
    finally:
        restored = keyvault.vaults.update(
            KEYS_RG, KEY_VAULT, VaultPatchParameters(properties=VaultPatchProperties(enabled_for_disk_encryption=True, enable_rbac_authorization=False))
        )
    assert restored.properties.enabled_for_disk_encryption is True and restored.properties.enable_rbac_authorization is False
    assert policies_of(restored) == policies_of(original)
    for properties in (
        VaultPatchProperties(enable_purge_protection=False),
        VaultPatchProperties(enable_soft_delete=False),
        VaultPatchProperties(soft_delete_retention_in_days=original.properties.soft_delete_retention_in_days - 1),
    ):
        with pytest.raises(HttpResponseError) as raised:
            keyvault.vaults.update(KEYS_RG, KEY_VAULT, VaultPatchParameters(properties=properties))
        assert raised.value.status_code == 400 and raised.value.error.code == "BadRequest"
    unchanged = keyvault.vaults.get(KEYS_RG, KEY_VAULT)
    assert unchanged.properties.enable_purge_protection is True and unchanged.properties.enable_soft_delete is True
