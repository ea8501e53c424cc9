"""What Azure Backup for VMs does not support, refused through the official SDKs with the service's codes.

The limitations are those of /work/shared/reference/azure-backup.md (support matrix, limits, vault
properties) as examples/limitations shows them on the CLI. Each case makes the SDK call and asserts the code:
a synchronous refusal is an HttpResponseError, a refusal the service reports in the operation fails the
SDK's poller (or the operation the caller polls), and a backup-time refusal fails the job.

The cases run on two serves of their own, so that no other test's state decides them: a fresh copy of the
reference world (examples/reference/world.yaml, the same world as the main serve), and the limitations
world (examples/limitations/world.yaml) for what the reference world has no VM for: an ADE disk over
4 TB, a certificate-backed KEK, a VM of another subscription, an ADE VM with a data disk to leave out.
"""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.keyvault.models import AccessPolicyEntry, Permissions, VaultAccessPolicyParameters, VaultAccessPolicyProperties
from azure.mgmt.recoveryservices.models import (
    ImmutabilitySettings,
    PatchVault,
    VaultPropertiesRedundancySettings,
    SecuritySettings,
    SoftDeleteSettings,
    VaultProperties,
)
from azure.mgmt.recoveryservicesbackup.models import (
    AzureIaaSComputeVMProtectedItem,
    BackupRequestResource,
    BackupResourceConfig,
    BackupResourceConfigResource,
    BackupResourceVaultConfig,
    BackupResourceVaultConfigResource,
    DiskExclusionProperties,
    ExtendedProperties,
    IaasVMBackupRequest,
    IaasVMRestoreRequest,
    ProtectedItemResource,
    RestoreRequestResource,
)

from conftest import SecondServe, daily_policy, enhanced_policy, headers_of, make_clients, repository_root, vault_body

REFERENCE_SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"
LIMITS_SUBSCRIPTION = "77777777-7777-7777-7777-777777777777"
DEV_SUBSCRIPTION = "88888888-8888-8888-8888-888888888888"
BACKUP_PERMISSIONS = ["get", "list", "backup"]


def start(coffer_path, tmp_path_factory, world, name):
    return SecondServe(coffer_path, os.path.join(repository_root(), world), str(tmp_path_factory.mktemp(name)))


@pytest.fixture(scope="module")
def reference(serve, tmp_path_factory):
    second = start(serve["coffer"], tmp_path_factory, "examples/reference/world.yaml", "limits-reference")
    yield second
    second.stop()


@pytest.fixture(scope="module")
def ref(reference):
    return make_clients(reference.info(), subscription=REFERENCE_SUBSCRIPTION)


@pytest.fixture(scope="module")
def limits(serve, tmp_path_factory):
    second = start(serve["coffer"], tmp_path_factory, "examples/limitations/world.yaml", "limits-world")
    yield second
    second.stop()


@pytest.fixture(scope="module")
def lim(limits):
    return make_clients(limits.info(), subscription=LIMITS_SUBSCRIPTION)


def vm_id(subscription, group, vm):
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{vm}"


def names(group, vm):
    return f"IaasVMContainer;iaasvmcontainerv2;{group};{vm}", f"VM;iaasvmcontainerv2;{group};{vm}"


def protect(backup, vault, group, vault_group, vm, policy_id, subscription, **properties):
    container, item = names(group, vm)
    return backup.protected_items.begin_create_or_update(
        vault, vault_group, "Azure", container, item,
        ProtectedItemResource(
            properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id(subscription, group, vm), policy_id=policy_id, **properties)
        ),
    ).result()


def refused_code(call):
    with pytest.raises(HttpResponseError) as raised:
        call()
    return raised.value.error.code


def backup_now(backup, vault, vault_group, group, vm):
    """Backup now, polled to its end: the OperationStatus (its job id, or its error)."""
    container, item = names(group, vm)
    headers = backup.backups.trigger(
        vault, vault_group, "Azure", container, item, BackupRequestResource(properties=IaasVMBackupRequest()), cls=headers_of
    )
    return wait(backup, vault, vault_group, headers)


def wait(backup, vault, vault_group, headers, timeout=120):
    """Polls the operation a 202's Azure-AsyncOperation names, through the vault's backupOperations, to its end."""
    operation = headers["Azure-AsyncOperation"].split("?")[0].rstrip("/").split("/")[-1]
    deadline = time.time() + timeout
    status = backup.backup_operation_statuses.get(vault, vault_group, operation)
    while status.status == "InProgress":
        assert time.time() < deadline, f"operation {operation} did not end in {timeout}s"
        time.sleep(1)
        status = backup.backup_operation_statuses.get(vault, vault_group, operation)
    return status


def job_of(backup, vault, vault_group, job_id, timeout=120):
    deadline = time.time() + timeout
    job = backup.job_details.get(vault, vault_group, job_id)
    while job.properties.status in ("InProgress", "Cancelling"):
        assert time.time() < deadline, f"job {job_id} did not end in {timeout}s"
        time.sleep(1)
        job = backup.job_details.get(vault, vault_group, job_id)
    return job


def failed_job_code(backup, vault, vault_group, group, vm):
    status = backup_now(backup, vault, vault_group, group, vm)
    assert status.status == "Succeeded", "the trigger succeeds; the job fails"
    job = job_of(backup, vault, vault_group, status.properties.job_id)
    assert job.properties.status == "Failed"
    [error] = job.properties.error_details
    assert error.error_string.startswith(error.error_title + ": ")
    return error.error_title


def grant_backup_access(keyvault, group, key_vault, object_id, kind="add"):
    tenant = keyvault.vaults.get(group, key_vault).properties.tenant_id
    keyvault.vaults.update_access_policy(
        group, key_vault, kind,
        VaultAccessPolicyParameters(
            properties=VaultAccessPolicyProperties(
                access_policies=[
                    AccessPolicyEntry(
                        tenant_id=tenant, object_id=object_id, permissions=Permissions(keys_property=BACKUP_PERMISSIONS, secrets=BACKUP_PERMISSIONS)
                    )
                ]
            )
        ),
    )


def bms_object_id(second):
    return json.loads(second.cli("platform", "show", "--output", "json").stdout)["backupManagementServiceObjectID"]


# -- Vault settings ---------------------------------------------------------------------------------------------


def test_soft_delete_cannot_be_disabled_and_always_on_is_for_good(ref):
    vaults, backup = ref["vaults"], ref["backup"]
    body = vault_body()
    body["properties"]["securitySettings"]["softDeleteSettings"]["softDeleteState"] = "Disabled"
    assert refused_code(lambda: vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-nosd", body).result()) == (
        "BMSUserErrorSoftDeleteDisableNotAllowed"
    )
    vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-sd", vault_body()).result()
    assert refused_code(
        lambda: backup.backup_resource_vault_configs.update(
            "rsv-lim-sd", "rg-backup-eastus", BackupResourceVaultConfigResource(properties=BackupResourceVaultConfig(soft_delete_feature_state="Disabled"))
        )
    ) == "BMSUserErrorSoftDeleteDisableNotAllowed"
    config = backup.backup_resource_vault_configs.put(
        "rsv-lim-sd", "rg-backup-eastus", BackupResourceVaultConfigResource(properties=BackupResourceVaultConfig(soft_delete_feature_state="AlwaysON"))
    )
    assert config.properties.soft_delete_feature_state == "AlwaysON"
    for state in ("Enabled", "Disabled"):
        assert refused_code(
            lambda: backup.backup_resource_vault_configs.update(
                "rsv-lim-sd", "rg-backup-eastus", BackupResourceVaultConfigResource(properties=BackupResourceVaultConfig(soft_delete_feature_state=state))
            )
        ) == "BMSUserErrorSoftDeleteStateAlwaysOn"
    patch = PatchVault(properties=VaultProperties(security_settings=SecuritySettings(soft_delete_settings=SoftDeleteSettings(soft_delete_state="Enabled"))))
    assert refused_code(lambda: vaults.vaults.begin_update("rg-backup-eastus", "rsv-lim-sd", patch).result()) == "BMSUserErrorSoftDeleteStateAlwaysOn"
    # Soft-delete retention is 14 to 180 days.
    short = PatchVault(properties=VaultProperties(security_settings=SecuritySettings(soft_delete_settings=SoftDeleteSettings(soft_delete_retention_period_in_days=7))))
    assert refused_code(lambda: vaults.vaults.begin_update("rg-backup-eastus", "rsv-lim-sd", short).result()) == "BMSUserErrorInvalidInput"


def test_cross_region_restore_needs_geo_redundant_storage(ref):
    vaults, backup = ref["vaults"], ref["backup"]
    body = vault_body()
    body["properties"]["redundancySettings"] = {"standardTierStorageRedundancy": "LocallyRedundant", "crossRegionRestore": "Enabled"}
    assert refused_code(lambda: vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-lrs", body).result()) == (
        "UserErrorCrossRegionRestoreRequiresGeoRedundancy"
    )
    body["properties"]["redundancySettings"]["crossRegionRestore"] = "Disabled"
    vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-lrs", body).result()
    assert refused_code(
        lambda: backup.backup_resource_storage_configs_non_crr.patch(
            "rsv-lim-lrs", "rg-backup-eastus", BackupResourceConfigResource(properties=BackupResourceConfig(cross_region_restore_flag=True))
        )
    ) == "UserErrorCrossRegionRestoreRequiresGeoRedundancy"


def test_immutability_goes_through_unlocked_and_locked_is_for_good(ref):
    vaults = ref["vaults"]
    vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-imm", vault_body()).result()

    def immutability(state):
        return PatchVault(properties=VaultProperties(security_settings=SecuritySettings(immutability_settings=ImmutabilitySettings(state=state))))

    assert refused_code(lambda: vaults.vaults.begin_update("rg-backup-eastus", "rsv-lim-imm", immutability("Locked")).result()) == (
        "UserErrorInvalidImmutabilityTransition"
    )
    assert vaults.vaults.begin_update("rg-backup-eastus", "rsv-lim-imm", immutability("Unlocked")).result().properties.security_settings.immutability_settings.state == "Unlocked"
    vaults.vaults.begin_update("rg-backup-eastus", "rsv-lim-imm", immutability("Locked")).result()
    for state in ("Unlocked", "Disabled"):
        assert refused_code(lambda: vaults.vaults.begin_update("rg-backup-eastus", "rsv-lim-imm", immutability(state)).result()) == "UserErrorImmutabilityLocked"


# -- Policies -------------------------------------------------------------------------------------------------


def test_a_policy_out_of_its_bounds_is_invalid_policy_input(ref):
    vaults, backup = ref["vaults"], ref["backup"]
    vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-pol", vault_body()).result()
    standard_snapshots = daily_policy()
    standard_snapshots["properties"]["instantRpRetentionRangeInDays"] = 6  # Standard: 1 to 5 days
    enhanced_snapshots = enhanced_policy()
    enhanced_snapshots["properties"]["instantRpRetentionRangeInDays"] = 31  # Enhanced: 1 to 30 days
    hourly = enhanced_policy()
    hourly["properties"]["schedulePolicy"]["hourlySchedule"]["interval"] = 5  # every 4, 6, 8 or 12 hours
    for name, body in [("short", daily_policy(days=3)), ("long", daily_policy(days=10000)), ("snapshots-v1", standard_snapshots),
                       ("snapshots-v2", enhanced_snapshots), ("hourly", hourly)]:
        with pytest.raises(HttpResponseError) as raised:
            backup.protection_policies.create_or_update("rsv-lim-pol", "rg-backup-eastus", name, body)
        assert raised.value.status_code == 400, name
        assert raised.value.error.code == "BMSUserErrorInvalidPolicyInput", name


def test_a_vault_holds_200_policies(ref):
    vaults, backup = ref["vaults"], ref["backup"]
    vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-200", vault_body()).result()
    # The vault's DefaultPolicy and EnhancedPolicy, and 198 more.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: backup.protection_policies.create_or_update("rsv-lim-200", "rg-backup-eastus", f"policy-{n:03}", daily_policy()), range(198)))
    assert len(list(backup.backup_policies.list("rsv-lim-200", "rg-backup-eastus"))) == 200
    assert refused_code(lambda: backup.protection_policies.create_or_update("rsv-lim-200", "rg-backup-eastus", "policy-one-more", daily_policy())) == (
        "UserErrorLimitExceeded"
    )


def test_enhanced_to_standard_is_refused(ref):
    vaults, backup = ref["vaults"], ref["backup"]
    vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-enh", vault_body()).result()
    # A policy's type is fixed.
    backup.protection_policies.create_or_update("rsv-lim-enh", "rg-backup-eastus", "hourly", enhanced_policy())
    assert refused_code(lambda: backup.protection_policies.create_or_update("rsv-lim-enh", "rg-backup-eastus", "hourly", daily_policy())) == (
        "UserErrorPolicyTypeChangeNotAllowed"
    )
    # An item protected by an Enhanced policy cannot move to a Standard one.
    enhanced = backup.protection_policies.get("rsv-lim-enh", "rg-backup-eastus", "EnhancedPolicy")
    standard = backup.protection_policies.get("rsv-lim-enh", "rg-backup-eastus", "DefaultPolicy")
    protect(backup, "rsv-lim-enh", "rg-app-eastus", "rg-backup-eastus", "lnx-api-01", enhanced.id, REFERENCE_SUBSCRIPTION)
    assert refused_code(
        lambda: protect(backup, "rsv-lim-enh", "rg-app-eastus", "rg-backup-eastus", "lnx-api-01", standard.id, REFERENCE_SUBSCRIPTION)
    ) == "UserErrorPolicyTypeChangeNotAllowed"


# -- Protection -----------------------------------------------------------------------------------------------


def test_protection_limits_of_the_reference_world(reference, ref):
    vaults, backup = ref["vaults"], ref["backup"]
    body = vault_body()
    body["properties"]["redundancySettings"]["crossRegionRestore"] = "Enabled"
    vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-a", body).result()
    vaults.vaults.begin_create_or_update("rg-backup-eastus", "rsv-lim-b", vault_body()).result()
    policy_a = backup.protection_policies.create_or_update("rsv-lim-a", "rg-backup-eastus", "daily", daily_policy())
    policy_b = backup.protection_policies.create_or_update("rsv-lim-b", "rg-backup-eastus", "daily", daily_policy())
    protect(backup, "rsv-lim-a", "rg-app-eastus", "rg-backup-eastus", "win-app-01", policy_a.id, REFERENCE_SUBSCRIPTION)

    # A VM of another region than its vault's.
    assert refused_code(
        lambda: protect(backup, "rsv-lim-b", "rg-app-westeurope", "rg-backup-eastus", "lnx-web-01", policy_b.id, REFERENCE_SUBSCRIPTION)
    ) == "UserErrorVmAndVaultNotInSameSubscriptionAndRegion"
    # A VM protected by another vault.
    assert refused_code(
        lambda: protect(backup, "rsv-lim-b", "rg-app-eastus", "rg-backup-eastus", "win-app-01", policy_b.id, REFERENCE_SUBSCRIPTION)
    ) == "UserErrorVmAlreadyProtectedInAnotherVault"
    # Storage redundancy is locked once an item is registered, through the storage config and the vault.
    assert refused_code(
        lambda: backup.backup_resource_storage_configs_non_crr.patch(
            "rsv-lim-a", "rg-backup-eastus", BackupResourceConfigResource(properties=BackupResourceConfig(storage_type="LocallyRedundant", cross_region_restore_flag=True))
        )
    ) == "StorageModelModifyError"
    redundancy = PatchVault(properties=VaultProperties(redundancy_settings=VaultPropertiesRedundancySettings(standard_tier_storage_redundancy="ZoneRedundant", cross_region_restore="Enabled")))
    assert refused_code(lambda: vaults.vaults.begin_update("rg-backup-eastus", "rsv-lim-a", redundancy).result()) == "StorageModelModifyError"
    # Cross-region restore cannot be turned off once the vault protects items.
    assert refused_code(
        lambda: backup.backup_resource_storage_configs_non_crr.update(
            "rsv-lim-a", "rg-backup-eastus", BackupResourceConfigResource(properties=BackupResourceConfig(cross_region_restore_flag=False))
        )
    ) == "UserErrorCrossRegionRestoreCannotBeDisabled"
    # A vault that holds items is not deleted.
    assert refused_code(lambda: vaults.vaults.begin_delete("rg-backup-eastus", "rsv-lim-a").result()) == "ServiceResourceNotEmpty"

    # An ADE VM whose key vault does not let the Backup Management Service in (the operator is a guest).
    assert failed_job_code(backup, "rsv-lim-a", "rg-backup-eastus", "rg-app-eastus", "win-app-01") == "UserErrorKeyVaultPermissionsNotConfigured"
    # A VM never protected in the vault has no item there (404, as ARM answers).
    with pytest.raises(HttpResponseError) as raised:
        backup_now(backup, "rsv-lim-b", "rg-backup-eastus", "rg-app-eastus", "lnx-db-01")
    assert raised.value.status_code == 404 and raised.value.error.code == "ResourceNotFound"
    # Stop protection and retain data as per policy needs an immutable vault.
    protect(backup, "rsv-lim-b", "rg-app-eastus", "rg-backup-eastus", "lnx-db-01", policy_b.id, REFERENCE_SUBSCRIPTION)
    container, item = names("rg-app-eastus", "lnx-db-01")

    def stop(state):
        return backup.protected_items.begin_create_or_update(
            "rsv-lim-b", "rg-backup-eastus", "Azure", container, item,
            ProtectedItemResource(properties=AzureIaaSComputeVMProtectedItem(protection_state=state)),
        ).result()

    assert refused_code(lambda: stop("BackupsSuspended")) == "UserErrorBackupsSuspendedRequiresImmutableVault"
    # A backup of a VM whose protection is stopped: the operation fails, no job runs.
    assert stop("ProtectionStopped").properties["protectionState"] == "ProtectionStopped"
    status = backup_now(backup, "rsv-lim-b", "rg-backup-eastus", "rg-app-eastus", "lnx-db-01")
    assert status.status == "Failed" and status.error.code == "UserErrorBcmDatasourceNotPresent"
    assert list(backup.backup_jobs.list("rsv-lim-b", "rg-backup-eastus")) == []


def test_agent_and_immutable_vault_limits(reference, ref):
    vaults, backup = ref["vaults"], ref["backup"]
    body = vault_body("westeurope")
    body["properties"]["securitySettings"]["immutabilitySettings"] = {"state": "Unlocked"}
    vaults.vaults.begin_create_or_update("rg-backup-westeurope", "rsv-lim-weu", body).result()
    policy = backup.protection_policies.create_or_update("rsv-lim-weu", "rg-backup-westeurope", "daily", daily_policy())
    protect(backup, "rsv-lim-weu", "rg-app-westeurope", "rg-backup-westeurope", "lnx-web-01", policy.id, REFERENCE_SUBSCRIPTION)
    # The VM agent stopped (out of band, through the CLI on the same platform): the backup job fails.
    reference.cli("platform", "vm", "set-agent", "lnx-web-01", "stopped")
    try:
        assert failed_job_code(backup, "rsv-lim-weu", "rg-backup-westeurope", "rg-app-westeurope", "lnx-web-01") == "UserErrorGuestAgentStatusUnavailable"
    finally:
        reference.cli("platform", "vm", "set-agent", "lnx-web-01", "running")
    status = backup_now(backup, "rsv-lim-weu", "rg-backup-westeurope", "rg-app-westeurope", "lnx-web-01")
    assert job_of(backup, "rsv-lim-weu", "rg-backup-westeurope", status.properties.job_id).properties.status == "Completed"
    # An immutable vault keeps the data of an item with recovery points: stop and delete data fails.
    container, item = names("rg-app-westeurope", "lnx-web-01")
    headers = backup.protected_items.delete("rsv-lim-weu", "rg-backup-westeurope", "Azure", container, item, cls=headers_of)
    status = wait(backup, "rsv-lim-weu", "rg-backup-westeurope", headers)
    assert status.status == "Failed" and status.error.code == "UserErrorDeleteBackupItemOnImmutableItem"


# -- The limitations world ------------------------------------------------------------------------------------


def test_limits_of_encrypted_vms_and_subscriptions(limits, lim):
    vaults, backup, keyvault = lim["vaults"], lim["backup"], lim["keyvault"]
    vaults.vaults.begin_create_or_update("rg-backup", "rsv-lim", vault_body()).result()
    policy = backup.protection_policies.create_or_update("rsv-lim", "rg-backup", "daily", daily_policy())
    grant_backup_access(keyvault, "rg-keys", "kv-apps-limits", bms_object_id(limits))

    # A VM of another subscription than the vault's.
    assert refused_code(lambda: protect(backup, "rsv-lim", "rg-dev", "rg-backup", "lnx-dev-14", policy.id, DEV_SUBSCRIPTION)) == (
        "UserErrorVmAndVaultNotInSameSubscriptionAndRegion"
    )
    # A data disk of an ADE VM left out of its backup under a Standard policy.
    exclusion = ExtendedProperties(disk_exclusion_properties=DiskExclusionProperties(disk_lun_list=[0], is_inclusion_list=False))
    assert refused_code(
        lambda: protect(backup, "rsv-lim", "rg-apps", "rg-backup", "lnx-ade-15", policy.id, LIMITS_SUBSCRIPTION, extended_properties=exclusion)
    ) == "UserErrorEncryptedVmNotSupportedWithDiskEx"
    # An ADE disk over 4,096 GiB, and a KEK that belongs to a certificate: their backup jobs fail.
    protect(backup, "rsv-lim", "rg-apps", "rg-backup", "lnx-big-12", policy.id, LIMITS_SUBSCRIPTION)
    assert failed_job_code(backup, "rsv-lim", "rg-backup", "rg-apps", "lnx-big-12") == "UserErrorUnsupportedDiskSize"
    protect(backup, "rsv-lim", "rg-apps", "rg-backup", "win-cert-13", policy.id, LIMITS_SUBSCRIPTION)
    assert failed_job_code(backup, "rsv-lim", "rg-backup", "rg-apps", "win-cert-13") == "UserErrorCertificateBackedKeyNotSupported"

    # An ADE VM restores as disks only, and only into its own subscription.
    protect(backup, "rsv-lim", "rg-apps", "rg-backup", "win-ade-11", policy.id, LIMITS_SUBSCRIPTION)
    status = backup_now(backup, "rsv-lim", "rg-backup", "rg-apps", "win-ade-11")
    assert job_of(backup, "rsv-lim", "rg-backup", status.properties.job_id).properties.status == "Completed"
    container, item = names("rg-apps", "win-ade-11")
    [point] = list(backup.recovery_points.list("rsv-lim", "rg-backup", "Azure", container, item))
    source = vm_id(LIMITS_SUBSCRIPTION, "rg-apps", "win-ade-11")
    requests = {
        "OriginalLocation": IaasVMRestoreRequest(recovery_point_id=point.name, recovery_type="OriginalLocation", source_resource_id=source),
        "AlternateLocation": IaasVMRestoreRequest(
            recovery_point_id=point.name, recovery_type="AlternateLocation", source_resource_id=source,
            target_resource_group_id=f"/subscriptions/{LIMITS_SUBSCRIPTION}/resourceGroups/rg-apps",
            target_virtual_machine_id=vm_id(LIMITS_SUBSCRIPTION, "rg-apps", "win-ade-11-copy"),
        ),
        "RestoreDisks into another subscription": IaasVMRestoreRequest(
            recovery_point_id=point.name, recovery_type="RestoreDisks", source_resource_id=source,
            target_resource_group_id=f"/subscriptions/{DEV_SUBSCRIPTION}/resourceGroups/rg-dev",
        ),
    }
    expected = {
        "OriginalLocation": "UserErrorRestoreModeNotSupportedForEncryptedVm",
        "AlternateLocation": "UserErrorRestoreModeNotSupportedForEncryptedVm",
        "RestoreDisks into another subscription": "UserErrorCrossSubscriptionRestoreNotSupported",
    }
    for case, request in requests.items():
        code = refused_code(
            lambda: backup.restores.begin_trigger(
                "rsv-lim", "rg-backup", "Azure", container, item, point.name, RestoreRequestResource(properties=request)
            ).result()
        )
        assert code == expected[case], case
    # None of the refused restores started a job: the vault has its backups' jobs only.
    assert {j.properties.operation for j in backup.backup_jobs.list("rsv-lim", "rg-backup")} == {"Backup"}
