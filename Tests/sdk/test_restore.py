"""Restore disks of ADE VMs through the official SDK (Restores_Trigger, an SDK LRO), read back through the CLI.

The module runs on a serve of its own (a fresh reference world), so that what the shared session's tests do
to lnx-db-01 and win-app-01 (protection elsewhere, soft delete) does not bear on it.
"""

import datetime
import json

import pytest
from azure.mgmt.keyvault.models import AccessPolicyEntry, Permissions, VaultAccessPolicyParameters, VaultAccessPolicyProperties
from azure.mgmt.recoveryservices.models import Vault
from azure.mgmt.recoveryservicesbackup.models import (
    AzureIaaSComputeVMProtectedItem,
    AzureIaaSVMJob,
    AzureIaaSVMProtectionPolicy,
    BackupRequestResource,
    IaasVMBackupRequest,
    IaasVMRecoveryPoint,
    IaasVMRestoreRequest,
    JobResource,
    OperationStatus,
    OperationStatusJobExtendedInfo,
    ProtectedItemResource,
    RestoreRequestResource,
    SimpleSchedulePolicyV2,
)

from conftest import (
    APP_RG,
    BACKUP_RG,
    KEY_VAULT,
    KEYS_RG,
    FirstResponse,
    ServeProcess,
    coffer_runner,
    container_name,
    daily_policy,
    enhanced_policy,
    group_id,
    guest_checksums,
    headers_of,
    item_name,
    make_clients,
    restored_disk_checksum,
    restored_disks_of,
    vault_body,
    vm_id,
    wait_for_job,
    wait_for_operation,
)

READ_LIST_BACKUP = ["get", "list", "backup"]
RESTORE_RG = "rg-backup-eastus"


@pytest.fixture(scope="module")
def own():
    process = ServeProcess("examples/reference/world.yaml")
    try:
        coffer = coffer_runner(process.info)
        yield {
            "clients": make_clients(process.info),
            "coffer": coffer,
            "platform": json.loads(coffer("platform", "show", "--output", "json").stdout),
        }
    finally:
        process.stop()


def grant(keyvault, platform, keys, secrets):
    tenant = keyvault.vaults.get(KEYS_RG, KEY_VAULT).properties.tenant_id
    keyvault.vaults.update_access_policy(
        KEYS_RG,
        KEY_VAULT,
        "add",
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


def protect_and_back_up(clients, vault_name, policy_id, vm):
    """Refresh, enable protection (SDK LRO), Backup now with an expiry; the completed backup job."""
    backup = clients["backup"]
    backup.protection_containers.refresh(vault_name, BACKUP_RG, "Azure", filter="backupManagementType eq 'AzureIaasVM'")
    protectable = [p.properties["friendlyName"] for p in backup.backup_protectable_items.list(vault_name, BACKUP_RG)]
    assert vm in protectable
    item = backup.protected_items.begin_create_or_update(
        vault_name,
        BACKUP_RG,
        "Azure",
        container_name(vm),
        item_name(vm),
        ProtectedItemResource(properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id(vm), policy_id=policy_id)),
    ).result()
    assert isinstance(item, ProtectedItemResource)
    assert item.properties["protectionState"] == "IRPending"
    headers = backup.backups.trigger(
        vault_name,
        BACKUP_RG,
        "Azure",
        container_name(vm),
        item_name(vm),
        BackupRequestResource(
            properties=IaasVMBackupRequest(recovery_point_expiry_time_in_utc=datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc))
        ),
        cls=headers_of,
    )
    status = wait_for_operation(backup, vault_name, headers["Azure-AsyncOperation"])
    assert isinstance(status, OperationStatus) and status.status == "Succeeded"
    job = wait_for_job(backup, vault_name, status.properties.job_id)
    assert isinstance(job.properties, AzureIaaSVMJob)
    assert (job.properties.operation, job.properties.status, job.properties.entity_friendly_name) == ("Backup", "Completed", vm)
    return job


def restore_disks(clients, vault_name, vm, point):
    """Restores a point's disks into RESTORE_RG (Restores_Trigger, polled by the SDK); the completed job."""
    backup = clients["backup"]
    first = FirstResponse()
    result = backup.restores.begin_trigger(
        vault_name,
        BACKUP_RG,
        "Azure",
        container_name(vm),
        item_name(vm),
        point,
        RestoreRequestResource(
            properties=IaasVMRestoreRequest(
                recovery_point_id=point,
                recovery_type="RestoreDisks",
                source_resource_id=vm_id(vm),
                region="eastus",
                target_resource_group_id=group_id(RESTORE_RG),
                restore_with_managed_disks=True,
            )
        ),
        raw_response_hook=first,
    ).result()
    assert result is None
    assert int(first.headers["Retry-After"]) >= 1
    status = backup.backup_operation_statuses.get(vault_name, BACKUP_RG, first.operation_id)
    assert isinstance(status, OperationStatus) and status.status == "Succeeded"
    assert isinstance(status.properties, OperationStatusJobExtendedInfo)
    job = wait_for_job(backup, vault_name, status.properties.job_id)
    assert isinstance(job, JobResource) and isinstance(job.properties, AzureIaaSVMJob)
    assert (job.properties.operation, job.properties.status, job.properties.entity_friendly_name) == ("Restore", "Completed", vm)
    bag = job.properties.extended_info.property_bag
    assert bag["Target Resource Group"] == RESTORE_RG and bag["Target Region"] == "eastus"
    assert bag["Recovery Point ID"] == point
    return job


def test_bek_only_linux_vm_with_an_enhanced_policy_is_backed_up_and_its_disks_restored(own):
    clients, coffer, platform = own["clients"], own["coffer"], own["platform"]
    vaults, backup, keyvault = clients["vaults"], clients["backup"], clients["keyvault"]
    vault_name, vm = "rsv-restore-lnx", "lnx-db-01"

    vault = vaults.vaults.begin_create_or_update(BACKUP_RG, vault_name, vault_body()).result()
    assert isinstance(vault, Vault) and vault.properties.provisioning_state == "Succeeded"
    policy = backup.protection_policies.create_or_update(vault_name, BACKUP_RG, "enhanced", enhanced_policy())
    assert isinstance(policy.properties, AzureIaaSVMProtectionPolicy)
    assert policy.properties.policy_type == "V2"
    assert isinstance(policy.properties.schedule_policy, SimpleSchedulePolicyV2)
    # BEK only (no KEK): the Backup Management Service needs the secrets, not the keys.
    grant(keyvault, platform, keys=[], secrets=READ_LIST_BACKUP)

    # Something of its own on each disk, written by the guest, before the backup.
    coffer("platform", "write", vm, "--disk", "os", "--offset", "3M", "--length", "64K", "--seed", "9001")
    coffer("platform", "write", vm, "--disk", "0", "--offset", "40M", "--length", "128K", "--seed", "9002")
    before = guest_checksums(coffer, vm)
    assert sorted(before) == ["0", "os"]

    protect_and_back_up(clients, vault_name, policy.id, vm)
    points = list(backup.recovery_points.list(vault_name, BACKUP_RG, "Azure", container_name(vm), item_name(vm)))
    assert len(points) == 1
    point = points[0]
    assert isinstance(point.properties, IaasVMRecoveryPoint)
    assert point.properties.is_source_vm_encrypted is True
    assert point.properties.os_type == "Linux"
    keys = point.properties.key_and_secret
    assert keys.encryption_mechanism == "SinglePass"
    assert keys.bek_details.secret_url.startswith(f"https://{KEY_VAULT}.vault.azure.net/secrets/")
    assert keys.bek_details.secret_vault_id.endswith(f"/resourceGroups/{KEYS_RG}/providers/Microsoft.KeyVault/vaults/{KEY_VAULT}")
    assert keys.bek_details.secret_data is None  # the backed-up value stays in the vault
    assert keys.kek_details is None  # BEK only

    # The guest writes on after the backup: the restore must bring back the point, not today's disks.
    coffer("platform", "write", vm, "--disk", "0", "--offset", "40M", "--length", "128K", "--seed", "9003")
    assert guest_checksums(coffer, vm)["0"] != before["0"]

    job = restore_disks(clients, vault_name, vm, point.name)
    restored = restored_disks_of(job)
    assert sorted(restored) == ["0", "os"]
    for slot, disk in restored.items():
        assert restored_disk_checksum(coffer, disk) == before[slot], f"restored disk {slot} differs from the backup"
    listed = json.loads(coffer("platform", "show", "--output", "json").stdout)["restoredDisks"]
    placed = {d["name"]: (d["resourceGroup"], d["region"], d["jobID"]) for d in listed}
    assert all(placed[disk] == (RESTORE_RG, "eastus", job.name) for disk in restored.values())


def test_bek_and_kek_windows_vm_disks_restore_to_what_was_backed_up(own):
    clients, coffer, platform = own["clients"], own["coffer"], own["platform"]
    vaults, backup, keyvault = clients["vaults"], clients["backup"], clients["keyvault"]
    vault_name, vm = "rsv-restore-win", "win-app-01"

    vaults.vaults.begin_create_or_update(BACKUP_RG, vault_name, vault_body()).result()
    policy = backup.protection_policies.create_or_update(vault_name, BACKUP_RG, "daily", daily_policy())
    grant(keyvault, platform, keys=READ_LIST_BACKUP, secrets=READ_LIST_BACKUP)
    coffer("platform", "write", vm, "--disk", "0", "--offset", "24M", "--length", "256K", "--seed", "9101")
    before = guest_checksums(coffer, vm)

    protect_and_back_up(clients, vault_name, policy.id, vm)
    [point] = list(backup.recovery_points.list(vault_name, BACKUP_RG, "Azure", container_name(vm), item_name(vm)))
    keys = point.properties.key_and_secret
    assert keys.bek_details.secret_url.startswith(f"https://{KEY_VAULT}.vault.azure.net/secrets/")
    assert keys.kek_details.key_url.startswith(f"https://{KEY_VAULT}.vault.azure.net/keys/kek-win-app-01/")
    assert keys.kek_details.key_backup_data is None

    job = restore_disks(clients, vault_name, vm, point.name)
    restored = restored_disks_of(job)
    assert sorted(restored) == ["0", "os"]
    for slot, disk in restored.items():
        assert restored_disk_checksum(coffer, disk) == before[slot], f"restored disk {slot} differs from the backup"
    # The job list carries the same report.
    [listed] = [j for j in backup.backup_jobs.list(vault_name, BACKUP_RG, filter="operation eq 'Restore'")]
    assert listed.name == job.name and restored_disks_of(listed) == restored
