"""The coffer flow for an ADE (BEK+KEK) VM, driven end to end by the official SDKs, and its failures."""

import datetime
import json
import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.keyvault.models import (
    AccessPolicyEntry,
    Permissions,
    Vault as KeyVault,
    VaultAccessPolicyParameters,
    VaultAccessPolicyProperties,
)
from azure.mgmt.recoveryservices.models import Vault
from azure.mgmt.recoveryservicesbackup.models import (
    AzureIaaSComputeVMProtectedItem,
    AzureIaaSVMJob,
    AzureIaaSVMProtectionPolicy,
    BackupRequestResource,
    IaasVMBackupRequest,
    IaasVMRecoveryPoint,
    JobResource,
    OperationStatus,
    OperationStatusJobExtendedInfo,
    ProtectedItemResource,
    ProtectionPolicyResource,
    RecoveryPointResource,
    SimpleSchedulePolicy,
)

from conftest import (
    APP_RG,
    BACKUP_RG,
    KEY_VAULT,
    KEYS_RG,
    container_name,
    daily_policy,
    enhanced_policy,
    headers_of,
    item_name,
    vault_body,
    vm_id,
    wait_for_job,
    wait_for_operation,
)

BACKUP_PERMISSIONS = ["get", "list", "backup"]


def grant_backup_access(keyvault, platform, kind="add", keys=BACKUP_PERMISSIONS, secrets=BACKUP_PERMISSIONS):
    tenant = keyvault.vaults.get(KEYS_RG, KEY_VAULT).properties.tenant_id
    return keyvault.vaults.update_access_policy(
        KEYS_RG,
        KEY_VAULT,
        kind,
        VaultAccessPolicyParameters(
            properties=VaultAccessPolicyProperties(
                access_policies=[
                    AccessPolicyEntry(
                        tenant_id=tenant,
                        object_id=platform["backupManagementServiceObjectID"],
                        permissions=Permissions(keys_property=keys, secrets=secrets),
                    )
                ]
            )
        ),
    )


def test_ade_vm_is_protected_and_backed_up(clients, platform, coffer):
    vaults, backup, keyvault = clients["vaults"], clients["backup"], clients["keyvault"]
    vault_name = "rsv-sdk-eastus"

    # 1. The vault (an LRO in the SDK that the first answer completes: 201 with provisioningState).
    vault = vaults.vaults.begin_create_or_update(BACKUP_RG, vault_name, vault_body()).result()
    assert isinstance(vault, Vault)
    assert vault.name == vault_name
    assert vault.id == f"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/{BACKUP_RG}/providers/Microsoft.RecoveryServices/vaults/{vault_name}"
    assert vault.properties.provisioning_state == "Succeeded"
    assert vault.properties.redundancy_settings.standard_tier_storage_redundancy == "GeoRedundant"
    assert vault.properties.security_settings.soft_delete_settings.soft_delete_retention_period_in_days == 14

    # 2. A Standard (V1) policy.
    policy = backup.protection_policies.create_or_update(vault_name, BACKUP_RG, "daily-sdk", daily_policy())
    assert isinstance(policy, ProtectionPolicyResource)
    assert isinstance(policy.properties, AzureIaaSVMProtectionPolicy)
    assert policy.properties.policy_type == "V1"
    assert policy.properties.instant_rp_retention_range_in_days == 2
    assert isinstance(policy.properties.schedule_policy, SimpleSchedulePolicy)
    assert policy.properties.schedule_policy.schedule_run_frequency == "Daily"
    assert policy.properties.retention_policy.daily_schedule.retention_duration.count == 30

    # 3. The guest operator grants the Backup Management Service access to the key vault (keys for the KEK).
    updated = grant_backup_access(keyvault, platform)
    assert isinstance(updated, VaultAccessPolicyParameters)
    key_vault = keyvault.vaults.get(KEYS_RG, KEY_VAULT)
    assert isinstance(key_vault, KeyVault)
    entry = next(p for p in key_vault.properties.access_policies if p.object_id == platform["backupManagementServiceObjectID"])
    assert sorted(entry.permissions.keys_property) == sorted(BACKUP_PERMISSIONS)
    assert sorted(entry.permissions.secrets) == sorted(BACKUP_PERMISSIONS)

    # 4. Discovery: refresh (caller-polled 202) and the protectable items.
    backup.protection_containers.refresh(vault_name, BACKUP_RG, "Azure", filter="backupManagementType eq 'AzureIaasVM'")
    protectable = list(backup.backup_protectable_items.list(vault_name, BACKUP_RG, filter="backupManagementType eq 'AzureIaasVM'"))
    names = [p.properties["friendlyName"] for p in protectable]
    assert "win-app-01" in names and "lnx-web-01" not in names  # lnx-web-01 is in westeurope

    # 5. Enable protection: an LRO the SDK polls (Azure-AsyncOperation), then a final GET of the item.
    poller = backup.protected_items.begin_create_or_update(
        vault_name,
        BACKUP_RG,
        "Azure",
        container_name("win-app-01"),
        item_name("win-app-01"),
        ProtectedItemResource(
            properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id("win-app-01"), policy_id=policy.id)
        ),
    )
    item = poller.result()
    assert isinstance(item, ProtectedItemResource)
    # SDK 11.2.0 resolves one discriminator level only: the item's properties are read as a mapping.
    assert item.properties["protectionState"] == "IRPending"
    assert item.properties["policyId"].lower() == policy.id.lower()
    assert item.properties["sourceResourceId"] == vm_id("win-app-01")

    # The CLI sees the same platform while serve runs (one platform, two doors).
    protected = json.loads(coffer("get", "protected-vms", "--output", "json").stdout)
    assert "win-app-01" in json.dumps(protected)

    # 6. Backup now with an expiry: 202, the caller polls the operation, which names the job.
    expiry = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
    headers = backup.backups.trigger(
        vault_name,
        BACKUP_RG,
        "Azure",
        container_name("win-app-01"),
        item_name("win-app-01"),
        BackupRequestResource(properties=IaasVMBackupRequest(recovery_point_expiry_time_in_utc=expiry)),
        cls=headers_of,
    )
    assert int(headers["Retry-After"]) >= 1
    assert headers["Azure-AsyncOperation"].startswith("https://")
    status = wait_for_operation(backup, vault_name, headers["Azure-AsyncOperation"])
    assert isinstance(status, OperationStatus)
    assert status.status == "Succeeded"
    assert isinstance(status.properties, OperationStatusJobExtendedInfo)
    job_id = status.properties.job_id

    # 7. The job to Completed.
    job = wait_for_job(backup, vault_name, job_id)
    assert isinstance(job, JobResource)
    assert isinstance(job.properties, AzureIaaSVMJob)
    assert job.properties.status == "Completed"
    assert job.properties.operation == "Backup"
    assert job.properties.entity_friendly_name == "win-app-01"
    jobs = list(backup.backup_jobs.list(vault_name, BACKUP_RG, filter="operation eq 'Backup'"))
    assert job_id in [j.name for j in jobs]

    # 8. The recovery point, encrypted, kept until the expiry asked for.
    points = list(backup.recovery_points.list(vault_name, BACKUP_RG, "Azure", container_name("win-app-01"), item_name("win-app-01")))
    assert len(points) == 1
    point = points[0]
    assert isinstance(point, RecoveryPointResource)
    assert isinstance(point.properties, IaasVMRecoveryPoint)
    assert point.properties.is_source_vm_encrypted is True
    assert point.properties.recovery_point_properties.expiry_time.startswith("2026-03-01T00:00:00")
    assert [t.type for t in point.properties.recovery_point_tier_details] == ["InstantRP", "HardenedRP"]
    again = backup.recovery_points.get(vault_name, BACKUP_RG, "Azure", container_name("win-app-01"), item_name("win-app-01"), point.name)
    assert again.name == point.name

    # The item now reports its backup.
    item = backup.protected_items.get(vault_name, BACKUP_RG, "Azure", container_name("win-app-01"), item_name("win-app-01"))
    assert item.properties["protectionState"] == "Protected"
    assert item.properties["lastBackupStatus"] == "Completed"
    assert item.properties["extendedInfo"]["recoveryPointCount"] == 1


def test_backup_without_key_vault_access_fails_its_job_with_the_services_code(clients, platform):
    vaults, backup, keyvault = clients["vaults"], clients["backup"], clients["keyvault"]
    vault_name = "rsv-sdk-noaccess"
    vaults.vaults.begin_create_or_update(BACKUP_RG, vault_name, vault_body()).result()
    policy = backup.protection_policies.create_or_update(vault_name, BACKUP_RG, "daily", daily_policy())
    # Take the Backup Management Service's access away (all of it).
    grant_backup_access(keyvault, platform, kind="remove")
    try:
        backup.protected_items.begin_create_or_update(
            vault_name,
            BACKUP_RG,
            "Azure",
            container_name("lnx-db-01"),
            item_name("lnx-db-01"),
            ProtectedItemResource(properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id("lnx-db-01"), policy_id=policy.id)),
        ).result()
        headers = backup.backups.trigger(
            vault_name,
            BACKUP_RG,
            "Azure",
            container_name("lnx-db-01"),
            item_name("lnx-db-01"),
            BackupRequestResource(properties=IaasVMBackupRequest()),
            cls=headers_of,
        )
        status = wait_for_operation(backup, vault_name, headers["Azure-AsyncOperation"])
        assert status.status == "Succeeded"  # the trigger succeeds; the job fails
        job = wait_for_job(backup, vault_name, status.properties.job_id)
        assert job.properties.status == "Failed"
        [error] = job.properties.error_details
        assert error.error_title == "UserErrorKeyVaultPermissionsNotConfigured"
        assert error.error_string.startswith("UserErrorKeyVaultPermissionsNotConfigured: ")
        assert isinstance(error.error_code, int)
        failed = list(backup.backup_jobs.list(vault_name, BACKUP_RG, filter="status eq 'Failed'"))
        assert [j.name for j in failed] == [job.name]
    finally:
        grant_backup_access(keyvault, platform)


def test_enable_protection_refused_by_a_rule_fails_the_operation_with_its_code(clients):
    vaults, backup = clients["vaults"], clients["backup"]
    vault_name = "rsv-sdk-rules"
    vaults.vaults.begin_create_or_update(BACKUP_RG, vault_name, vault_body()).result()
    policy = backup.protection_policies.create_or_update(vault_name, BACKUP_RG, "hourly", enhanced_policy())
    assert policy.properties.policy_type == "V2"
    # lnx-web-01 is in westeurope, the vault in eastus.
    with pytest.raises(HttpResponseError) as raised:
        backup.protected_items.begin_create_or_update(
            vault_name,
            BACKUP_RG,
            "Azure",
            container_name("lnx-web-01", "rg-app-westeurope"),
            item_name("lnx-web-01", "rg-app-westeurope"),
            ProtectedItemResource(
                properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id("lnx-web-01", "rg-app-westeurope"), policy_id=policy.id)
            ),
        ).result()
    assert raised.value.error.code == "UserErrorVmAndVaultNotInSameSubscriptionAndRegion"
    # A policy the service refuses is a synchronous 400 with its code.
    with pytest.raises(HttpResponseError) as raised:
        backup.protection_policies.create_or_update(vault_name, BACKUP_RG, "short", daily_policy(days=3))
    assert raised.value.status_code == 400
    assert raised.value.error.code == "BMSUserErrorInvalidPolicyInput"


def test_stop_protection_then_delete_data_is_soft_delete(clients, platform):
    vaults, backup = clients["vaults"], clients["backup"]
    vault_name = "rsv-sdk-stop"
    vaults.vaults.begin_create_or_update(BACKUP_RG, vault_name, vault_body()).result()
    policy = backup.protection_policies.create_or_update(vault_name, BACKUP_RG, "daily", daily_policy())
    container, item = container_name("lnx-db-01"), item_name("lnx-db-01")
    # lnx-db-01 may be protected by the no-access test's vault: stop and delete there first.
    for other in vaults.vaults.list_by_resource_group(BACKUP_RG):
        for protected in backup.backup_protected_items.list(other.name, BACKUP_RG):
            if protected.properties["friendlyName"] == "lnx-db-01" and not protected.properties.get("isScheduledForDeferredDelete"):
                headers = backup.protected_items.delete(other.name, BACKUP_RG, "Azure", container, item, cls=headers_of)
                wait_for_operation(backup, other.name, headers["Azure-AsyncOperation"])
    # Soft-deleted in another vault, the VM cannot be protected here: the operation fails with the code.
    with pytest.raises(HttpResponseError) as raised:
        backup.protected_items.begin_create_or_update(
            vault_name, BACKUP_RG, "Azure", container, item,
            ProtectedItemResource(properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id("lnx-db-01"), policy_id=policy.id)),
        ).result()
    assert raised.value.error.code == "UserErrorVmAlreadyProtectedInAnotherVault"

    # win-cmk-01 is in westeurope: a vault there, protection, stop and retain, delete data.
    vaults.vaults.begin_create_or_update("rg-backup-westeurope", "rsv-sdk-weu", vault_body("westeurope")).result()
    weu_policy = backup.protection_policies.create_or_update("rsv-sdk-weu", "rg-backup-westeurope", "daily", daily_policy())
    weu_container, weu_item = container_name("win-cmk-01", "rg-app-westeurope"), item_name("win-cmk-01", "rg-app-westeurope")
    backup.protected_items.begin_create_or_update(
        "rsv-sdk-weu", "rg-backup-westeurope", "Azure", weu_container, weu_item,
        ProtectedItemResource(
            properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id("win-cmk-01", "rg-app-westeurope"), policy_id=weu_policy.id)
        ),
    ).result()
    stopped = backup.protected_items.begin_create_or_update(
        "rsv-sdk-weu", "rg-backup-westeurope", "Azure", weu_container, weu_item,
        ProtectedItemResource(properties=AzureIaaSComputeVMProtectedItem(protection_state="ProtectionStopped")),
    ).result()
    assert stopped.properties["protectionState"] == "ProtectionStopped"
    headers = backup.protected_items.delete("rsv-sdk-weu", "rg-backup-westeurope", "Azure", weu_container, weu_item, cls=headers_of)
    operation = headers["Azure-AsyncOperation"].split("?")[0].split("/")[-1]
    status = backup.backup_operation_statuses.get("rsv-sdk-weu", "rg-backup-westeurope", operation)
    while status.status == "InProgress":
        time.sleep(1)
        status = backup.backup_operation_statuses.get("rsv-sdk-weu", "rg-backup-westeurope", operation)
    assert status.status == "Succeeded"
    deleted = backup.protected_items.get("rsv-sdk-weu", "rg-backup-westeurope", "Azure", weu_container, weu_item)
    assert deleted.properties["isScheduledForDeferredDelete"] is True
    # A vault with a (soft-deleted) item cannot be deleted.
    with pytest.raises(HttpResponseError) as raised:
        vaults.vaults.begin_delete("rg-backup-westeurope", "rsv-sdk-weu").result()
    assert raised.value.error.code == "ServiceResourceNotEmpty"


def test_the_cli_acts_on_the_same_platform(clients, coffer):
    """A scheduled backup the CLI's clock runs shows through the API, as a Scheduled job."""
    backup = clients["backup"]
    before = {j.name for j in backup.backup_jobs.list("rsv-sdk-eastus", BACKUP_RG)}
    coffer("platform", "clock", "--advance", "1d")
    jobs = [j for j in backup.backup_jobs.list("rsv-sdk-eastus", BACKUP_RG) if j.name not in before]
    assert jobs, "the clock's scheduled backup is not listed"
    assert all(isinstance(j.properties, AzureIaaSVMJob) for j in jobs)
    assert {j.properties.is_user_triggered for j in jobs} == {False}
    assert {j.properties.entity_friendly_name for j in jobs} == {"win-app-01"}
