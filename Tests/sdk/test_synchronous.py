"""With --sync-grace: a long-running operation that ends at once is answered as its end, where the operation's
spec lists that synchronous answer (ProtectedItems_CreateOrUpdate 200, ProtectedItems_Delete 200/204). The
unmodified SDK takes it: its poller ends on the first answer, with no poll, and a failure is the error it
would have read from the poll."""

import json

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.recoveryservicesbackup.models import (
    AzureIaaSComputeVMProtectedItem,
    BackupRequestResource,
    IaasVMBackupRequest,
    ProtectedItemResource,
)

from conftest import BACKUP_RG, ServeProcess, container_name, daily_policy, headers_of, item_name, make_clients, vault_body, vm_id, wait_for_operation

VAULT = "rsv-sdk-sync"


@pytest.fixture(scope="module")
def synchronous():
    # A grace long enough for a platform write (serve's default, 0, answers 202 always).
    process = ServeProcess("examples/reference/world.yaml", arguments=("--sync-grace", "500ms"))
    yield process
    process.stop()


def requests_logged(process):
    """(method, path, status) of every request serve logged so far."""
    seen = []
    for line in open(process.log_path):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        parts = str(event.get("message", "")).split(" ")
        if len(parts) == 3 and parts[2].isdigit():
            seen.append((parts[0], parts[1], int(parts[2])))
    return seen


def status_of(pipeline_response, deserialized, headers):
    return pipeline_response.http_response.status_code, headers


def test_protection_and_its_delete_end_on_the_first_answer(synchronous):
    clients = make_clients(synchronous.info)
    vaults, backup = clients["vaults"], clients["backup"]
    vaults.vaults.begin_create_or_update(BACKUP_RG, VAULT, vault_body()).result()
    policy = backup.protection_policies.create_or_update(VAULT, BACKUP_RG, "daily", daily_policy())
    container, item = container_name("lnx-db-01"), item_name("lnx-db-01")

    # The SDK's poller (ARMPolling) ends on the 200: the item, no Azure-AsyncOperation, no poll.
    poller = backup.protected_items.begin_create_or_update(
        VAULT, BACKUP_RG, "Azure", container, item,
        ProtectedItemResource(properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id("lnx-db-01"), policy_id=policy.id)),
    )
    protected = poller.result()
    assert isinstance(protected, ProtectedItemResource)
    assert protected.properties["protectionState"] == "IRPending"
    assert protected.properties["policyId"].lower() == policy.id.lower()
    puts = [r for r in requests_logged(synchronous) if r[0] == "PUT" and "/protectedItems/" in r[1]]
    assert [r[2] for r in puts] == [200]
    assert not [r for r in requests_logged(synchronous) if "/operationsStatus/" in r[1] or "/operationResults/" in r[1]]

    # Backup now lists only 202 in its spec: it stays asynchronous, polled by the caller.
    headers = backup.backups.trigger(
        VAULT, BACKUP_RG, "Azure", container, item, BackupRequestResource(properties=IaasVMBackupRequest()), cls=headers_of
    )
    assert headers["Azure-AsyncOperation"].startswith("https://")
    assert wait_for_operation(backup, VAULT, headers["Azure-AsyncOperation"]).status == "Succeeded"

    # Stop protection and delete the data: 200 with the item, soft-deleted (the service keeps it 14 days).
    status, headers = backup.protected_items.delete(VAULT, BACKUP_RG, "Azure", container, item, cls=status_of)
    assert status == 200
    assert "Azure-AsyncOperation" not in headers and "Location" not in headers
    deleted = backup.protected_items.get(VAULT, BACKUP_RG, "Azure", container, item)
    assert deleted.properties["isScheduledForDeferredDelete"] is True


def test_a_refusal_is_the_error_the_poll_would_give(synchronous):
    clients = make_clients(synchronous.info)
    vaults, backup = clients["vaults"], clients["backup"]
    vaults.vaults.begin_create_or_update(BACKUP_RG, "rsv-sdk-sync-rules", vault_body()).result()
    policy = backup.protection_policies.create_or_update("rsv-sdk-sync-rules", BACKUP_RG, "daily", daily_policy())
    # lnx-web-01 is in westeurope, the vault in eastus: the platform's rule refuses it, at once.
    with pytest.raises(HttpResponseError) as raised:
        backup.protected_items.begin_create_or_update(
            "rsv-sdk-sync-rules", BACKUP_RG, "Azure",
            container_name("lnx-web-01", "rg-app-westeurope"), item_name("lnx-web-01", "rg-app-westeurope"),
            ProtectedItemResource(
                properties=AzureIaaSComputeVMProtectedItem(source_resource_id=vm_id("lnx-web-01", "rg-app-westeurope"), policy_id=policy.id)
            ),
        ).result()
    assert raised.value.status_code == 400
    assert raised.value.error.code == "UserErrorVmAndVaultNotInSameSubscriptionAndRegion"
