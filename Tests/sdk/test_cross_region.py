"""Cross-region restore through the passive stamp's own SDK (azure-mgmt-recoveryservicesbackup-passivestamp).

The reference world's regions, eastus and westeurope, are not a pair (eastus pairs with westus, westeurope
with northeurope), so this module runs a serve of its own on the world examples/cross-region-restore ships:
eastus with its pair westus (rg-restore-westus) and brazilsouth. win-erp-01 (BitLocker with a KEK) is
protected in a GeoRedundant vault with cross-region restore, backed up, and its disks restored in westus:
into a resource group of westus, once its BEK and KEK are restored into kv-erp-westus (`coffer restore-keys
--target-key-vault`, as Key Vault's own restore would); before that the restore is refused with the codes
the CLI gives.
"""

import datetime
import json

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.keyvault.models import AccessPolicyEntry, Permissions, VaultAccessPolicyParameters, VaultAccessPolicyProperties
from azure.mgmt.recoveryservices.models import Vault
from azure.mgmt.recoveryservicesbackup.models import (
    AzureIaaSComputeVMProtectedItem,
    BackupRequestResource,
    IaasVMBackupRequest,
    ProtectedItemResource,
)
from azure.mgmt.recoveryservicesbackup.passivestamp import models as crr_models

from conftest import (
    FirstResponse,
    ServeProcess,
    coffer_runner,
    container_name,
    daily_policy,
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

# examples/cross-region-restore/world.yaml
SUBSCRIPTION = "33333333-3333-3333-3333-333333333333"
BACKUP_RG = "rg-backup-eastus"
ERP_RG = "rg-erp-eastus"
KEYS_RG = "rg-keys-eastus"
KEY_VAULT = "kv-erp-eastus"
PAIR_KEY_VAULT = "kv-erp-westus"
TARGET_RG = "rg-restore-westus"
VAULT = "rsv-crr-eastus"
VM = "win-erp-01"
PAIR = "westus"


@pytest.fixture(scope="module")
def world():
    """A serve on the cross-region restore world; win-erp-01 protected in VAULT (GeoRedundant, cross-region
    restore on) and backed up twice, with the guest's checksums at the first backup."""
    process = ServeProcess("examples/cross-region-restore/world.yaml")
    try:
        coffer = coffer_runner(process.info)
        clients = make_clients(process.info, subscription=SUBSCRIPTION)
        platform = json.loads(coffer("platform", "show", "--output", "json").stdout)
        vaults, backup, keyvault = clients["vaults"], clients["backup"], clients["keyvault"]

        vault = vaults.vaults.begin_create_or_update(BACKUP_RG, VAULT, vault_body(cross_region_restore=True)).result()
        assert isinstance(vault, Vault)
        assert vault.properties.redundancy_settings.standard_tier_storage_redundancy == "GeoRedundant"
        assert vault.properties.redundancy_settings.cross_region_restore == "Enabled"
        policy = backup.protection_policies.create_or_update(VAULT, BACKUP_RG, "daily", daily_policy())
        tenant = keyvault.vaults.get(KEYS_RG, KEY_VAULT).properties.tenant_id
        keyvault.vaults.update_access_policy(
            KEYS_RG, KEY_VAULT, "add",
            VaultAccessPolicyParameters(
                properties=VaultAccessPolicyProperties(
                    access_policies=[
                        AccessPolicyEntry(
                            tenant_id=tenant,
                            object_id=platform["backupManagementServiceObjectID"],
                            permissions=Permissions(keys_property=["get", "list", "backup"], secrets=["get", "list", "backup"]),
                        )
                    ]
                )
            ),
        )
        backup.protection_containers.refresh(VAULT, BACKUP_RG, "Azure", filter="backupManagementType eq 'AzureIaasVM'")
        backup.protected_items.begin_create_or_update(
            VAULT, BACKUP_RG, "Azure", container_name(VM, ERP_RG), item_name(VM, ERP_RG),
            ProtectedItemResource(
                properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id(VM, ERP_RG, SUBSCRIPTION), policy_id=policy.id)
            ),
        ).result()

        coffer("platform", "write", VM, "--disk", "os", "--offset", "5M", "--length", "128K", "--seed", "7301")
        coffer("platform", "write", VM, "--disk", "0", "--offset", "80M", "--length", "256K", "--seed", "7302")
        before = guest_checksums(coffer, VM)

        def back_up():
            headers = backup.backups.trigger(
                VAULT, BACKUP_RG, "Azure", container_name(VM, ERP_RG), item_name(VM, ERP_RG),
                BackupRequestResource(
                    properties=IaasVMBackupRequest(
                        recovery_point_expiry_time_in_utc=datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)
                    )
                ),
                cls=headers_of,
            )
            status = wait_for_operation(backup, VAULT, headers["Azure-AsyncOperation"])
            job = wait_for_job(backup, VAULT, status.properties.job_id)
            assert job.properties.status == "Completed"
            return job.properties.extended_info.property_bag["Recovery Point ID"]

        first = back_up()
        coffer("platform", "clock", "--advance", "1h")
        coffer("platform", "write", VM, "--disk", "0", "--offset", "80M", "--length", "256K", "--seed", "7303")
        second = back_up()
        yield {
            "clients": clients, "coffer": coffer, "vault": vault, "before": before, "first": first, "second": second,
            "tenant": tenant, "platform": platform,
        }
    finally:
        process.stop()


def token_for(crr, point, aad=None):
    aad = aad or crr.aad_properties.get(PAIR, filter="backupManagementType eq 'AzureIaasVM'")
    return crr.recovery_points.get_access_token(VAULT, BACKUP_RG, "Azure", container_name(VM, ERP_RG), item_name(VM, ERP_RG), point, aad)


def restore_request(point, region=PAIR, group=TARGET_RG):
    return crr_models.IaasVMRestoreRequest(
        recovery_point_id=point,
        recovery_type="RestoreDisks",
        source_resource_id=vm_id(VM, ERP_RG, SUBSCRIPTION),
        region=region,
        target_resource_group_id=group_id(group, SUBSCRIPTION) if group else None,
        restore_with_managed_disks=True,
    )


def refused_restore(crr, token, request):
    """The error of a cross-region restore that the platform refuses (its operation fails)."""
    with pytest.raises(HttpResponseError) as raised:
        crr.cross_region_restore.begin_trigger(
            PAIR, crr_models.CrossRegionRestoreRequest(cross_region_restore_access_details=token.properties, restore_request=request)
        ).result()
    return raised.value.error


def test_ade_vm_disks_are_restored_in_the_paired_region(world):
    crr, coffer, vault = world["clients"]["crr"], world["coffer"], world["vault"]

    # The secondary region's Azure AD properties.
    aad = crr.aad_properties.get(PAIR, filter="backupManagementType eq 'AzureIaasVM'")
    assert isinstance(aad, crr_models.AADPropertiesResource)
    assert aad.properties.tenant_id == world["tenant"]
    assert aad.properties.service_principal_object_id == world["platform"]["backupManagementServiceObjectID"]
    assert aad.properties.audience.endswith(PAIR)

    # The replicated item and its points, through the trailing-slash routes.
    items = list(crr.backup_protected_items_crr.list(VAULT, BACKUP_RG))
    assert [type(i) for i in items] == [crr_models.ProtectedItemResource]
    assert items[0].properties.protected_item_type == "Microsoft.Compute/virtualMachines"
    assert items[0].properties.source_resource_id == vm_id(VM, ERP_RG, SUBSCRIPTION)
    points = list(crr.recovery_points_crr.list(VAULT, BACKUP_RG, "Azure", container_name(VM, ERP_RG), item_name(VM, ERP_RG)))
    assert [p.name for p in points] == [world["second"], world["first"]]
    point = points[1]
    assert isinstance(point, crr_models.RecoveryPointResource)
    assert isinstance(point.properties, crr_models.IaasVMRecoveryPoint)
    assert [(t.type, t.status) for t in point.properties.recovery_point_tier_details] == [("HardenedRP", "Valid")]
    assert point.properties.key_and_secret.kek_details.key_url.startswith(f"https://{KEY_VAULT}.vault.azure.net/keys/kek-erp/")

    # The access token of the first point.
    token = token_for(crr, point.name, aad)
    assert isinstance(token, crr_models.CrrAccessTokenResource)
    assert isinstance(token.properties, crr_models.WorkloadCrrAccessToken)
    assert token.properties.recovery_point_id == world["first"]
    assert token.properties.resource_id == vault.id
    assert token.properties.b_ms_active_region == "eastus"
    assert token.properties.datasource_name == VM
    assert token.properties.access_token_string and VM not in token.properties.access_token_string

    # Refused until it has a resource group of westus and the BEK and KEK are in a key vault of westus: at
    # restore time, with the CLI's codes, and no disk made.
    error = refused_restore(crr, token, restore_request(point.name, group=None))
    assert error.code == "BMSUserErrorInvalidInput" and "targetResourceGroupId" in error.message
    error = refused_restore(crr, token, restore_request(point.name, group=ERP_RG))
    assert error.code == "BMSUserErrorInvalidInput" and f"'{ERP_RG}' is in 'eastus'" in error.message
    error = refused_restore(crr, token, restore_request(point.name))
    assert error.code == "DiskEncryptionInternalError"
    assert "--target-key-vault" in error.message
    assert json.loads(coffer("platform", "show", "--output", "json").stdout).get("restoredDisks", []) == []
    keys = json.loads(coffer("restore-keys", VM, "--recovery-point", point.name, "--target-key-vault", PAIR_KEY_VAULT, "--output", "json").stdout)
    assert [(k["kind"], k["keyVault"], k["action"]) for k in keys["keys"]] == [("key", PAIR_KEY_VAULT, "restored"), ("secret", PAIR_KEY_VAULT, "restored")]

    # The restore in westus: an SDK LRO, its operation, its job.
    first = FirstResponse()
    result = crr.cross_region_restore.begin_trigger(
        PAIR,
        crr_models.CrossRegionRestoreRequest(
            cross_region_restore_access_details=token.properties, restore_request=restore_request(point.name)
        ),
        raw_response_hook=first,
    ).result()
    assert result is None
    assert int(first.headers["Retry-After"]) >= 1
    assert "/locations/westus/backupCrrOperationResults/" in first.headers["Location"]
    status = crr.crr_operation_status.get(PAIR, first.operation_id)
    assert isinstance(status, crr_models.OperationStatus) and status.status == "Succeeded"
    assert isinstance(status.properties, crr_models.OperationStatusJobExtendedInfo)
    assert crr.crr_operation_results.get(PAIR, first.operation_id) is None
    job_id = status.properties.job_id

    request = crr_models.CrrJobRequest(resource_id=vault.id, job_name=job_id)
    job = crr.backup_crr_job_details.get(PAIR, request)
    assert isinstance(job, crr_models.JobResource)
    assert isinstance(job.properties, crr_models.AzureIaaSVMJob)
    assert (job.properties.operation, job.properties.status, job.properties.entity_friendly_name) == ("CrossRegionRestore", "Completed", VM)
    bag = job.properties.extended_info.property_bag
    assert (bag["Target Region"], bag["Target Resource Group"], bag["Recovery Point ID"]) == (PAIR, TARGET_RG, world["first"])
    jobs = list(crr.backup_crr_jobs.list(PAIR, crr_models.CrrJobRequest(resource_id=vault.id)))
    assert [j.name for j in jobs] == [job_id]
    assert all(isinstance(j.properties, crr_models.AzureIaaSVMJob) for j in jobs)

    # The disks are in westus and read back, through the CLI, as the guest had them at the first backup.
    restored = restored_disks_of(job)
    assert sorted(restored) == ["0", "os"]
    for slot, disk in restored.items():
        assert restored_disk_checksum(coffer, disk) == world["before"][slot], f"restored disk {slot} differs from the backup"
    listed = json.loads(coffer("platform", "show", "--output", "json").stdout)["restoredDisks"]
    placed = {d["name"]: (d["region"], d["resourceGroup"]) for d in listed}
    assert all(placed[disk] == (PAIR, TARGET_RG) for disk in restored.values())
    assert all(d["bekSecretURL"].startswith(f"https://{PAIR_KEY_VAULT}.vault.azure.net/secrets/") for d in listed)
    # Today's disk is not the restored one: the guest wrote after the first backup.
    assert guest_checksums(coffer, VM)["0"] != world["before"]["0"]


def test_a_token_restores_only_its_own_recovery_point(world):
    crr = world["clients"]["crr"]
    token = token_for(crr, world["first"])
    with pytest.raises(HttpResponseError) as raised:
        crr.cross_region_restore.begin_trigger(
            PAIR,
            crr_models.CrossRegionRestoreRequest(
                cross_region_restore_access_details=token.properties, restore_request=restore_request(world["second"])
            ),
        ).result()
    assert raised.value.status_code == 400
    assert raised.value.error.code == "BMSUserErrorInvalidInput"
    assert world["first"] in raised.value.error.message
    # Nor is an altered token accepted (the token is sealed; its fields are not trusted).
    forged = token.properties
    forged.access_token_string = forged.access_token_string[:-4] + ("AAAA" if not forged.access_token_string.endswith("AAAA") else "BBBB")
    forged.recovery_point_id = world["second"]
    with pytest.raises(HttpResponseError) as raised:
        crr.cross_region_restore.begin_trigger(
            PAIR,
            crr_models.CrossRegionRestoreRequest(cross_region_restore_access_details=forged, restore_request=restore_request(world["second"])),
        ).result()
    assert raised.value.error.code == "BMSUserErrorInvalidInput"
    assert "not one this server issued" in raised.value.error.message


def test_a_region_that_is_not_the_pair_is_refused(world):
    crr = world["clients"]["crr"]
    token = token_for(crr, world["first"])
    # The endpoint of another region than the vault's pair: refused at once.
    with pytest.raises(HttpResponseError) as raised:
        crr.cross_region_restore.begin_trigger(
            "brazilsouth",
            crr_models.CrossRegionRestoreRequest(
                cross_region_restore_access_details=token.properties,
                restore_request=restore_request(world["first"], region="brazilsouth", group="rg-erp-brazilsouth"),
            ),
        ).result()
    assert raised.value.status_code == 400
    assert raised.value.error.code == "UserErrorCrossRegionRestoreNotSupported"
    # The pair's endpoint asked to restore elsewhere: the platform's cross-region restore refuses it, and the
    # operation fails with its code.
    with pytest.raises(HttpResponseError) as raised:
        crr.cross_region_restore.begin_trigger(
            PAIR,
            crr_models.CrossRegionRestoreRequest(
                cross_region_restore_access_details=token.properties,
                restore_request=restore_request(world["first"], region="brazilsouth", group="rg-erp-brazilsouth"),
            ),
        ).result()
    assert raised.value.error.code == "UserErrorCrossRegionRestoreNotSupported"
    assert "westus" in raised.value.error.message
    # The CRR jobs of the vault's pair only.
    with pytest.raises(HttpResponseError) as raised:
        list(crr.backup_crr_jobs.list("brazilsouth", crr_models.CrrJobRequest(resource_id=world["vault"].id)))
    assert raised.value.error.code == "UserErrorCrossRegionRestoreNotSupported"


def test_a_vault_without_cross_region_restore_has_nothing_in_the_secondary_region(world):
    vaults, backup, crr = world["clients"]["vaults"], world["clients"]["backup"], world["clients"]["crr"]
    plain = vaults.vaults.begin_create_or_update(BACKUP_RG, "rsv-nocrr-eastus", vault_body()).result()
    assert plain.properties.redundancy_settings.cross_region_restore == "Disabled"
    # lnx-batch-03 (no ADE) protected and backed up there.
    policy = backup.protection_policies.create_or_update("rsv-nocrr-eastus", BACKUP_RG, "daily", daily_policy())
    container, item = container_name("lnx-batch-03", ERP_RG), item_name("lnx-batch-03", ERP_RG)
    backup.protected_items.begin_create_or_update(
        "rsv-nocrr-eastus", BACKUP_RG, "Azure", container, item,
        ProtectedItemResource(
            properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id("lnx-batch-03", ERP_RG, SUBSCRIPTION), policy_id=policy.id)
        ),
    ).result()
    headers = backup.backups.trigger(
        "rsv-nocrr-eastus", BACKUP_RG, "Azure", container, item, BackupRequestResource(properties=IaasVMBackupRequest()), cls=headers_of
    )
    status = wait_for_operation(backup, "rsv-nocrr-eastus", headers["Azure-AsyncOperation"])
    job = wait_for_job(backup, "rsv-nocrr-eastus", status.properties.job_id)
    point = job.properties.extended_info.property_bag["Recovery Point ID"]
    with pytest.raises(HttpResponseError) as raised:
        list(crr.backup_protected_items_crr.list("rsv-nocrr-eastus", BACKUP_RG))
    assert raised.value.status_code == 400
    assert raised.value.error.code == "UserErrorCrossRegionRestoreNotSupported"
    with pytest.raises(HttpResponseError) as raised:
        list(crr.recovery_points_crr.list("rsv-nocrr-eastus", BACKUP_RG, "Azure", container, item))
    assert raised.value.error.code == "UserErrorCrossRegionRestoreNotSupported"
    aad = crr.aad_properties.get(PAIR)
    with pytest.raises(HttpResponseError) as raised:
        crr.recovery_points.get_access_token("rsv-nocrr-eastus", BACKUP_RG, "Azure", container, item, point, aad)
    assert raised.value.error.code == "UserErrorCrossRegionRestoreNotSupported"
    with pytest.raises(HttpResponseError) as raised:
        list(crr.backup_crr_jobs.list(PAIR, crr_models.CrrJobRequest(resource_id=plain.id)))
    assert raised.value.error.code == "UserErrorCrossRegionRestoreNotSupported"
