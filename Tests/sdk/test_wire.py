"""ARM's wire behaviour as the SDKs meet it: authentication, subscriptions, api-versions, errors, paging, TLS."""

import json
import time

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.mgmt.compute.models import VirtualMachine
from azure.mgmt.recoveryservices import RecoveryServicesClient
from azure.mgmt.recoveryservicesbackup.models import ProtectionPolicyResource

from conftest import APP_RG, BACKUP_RG, KEYS_RG, KEY_VAULT, SUBSCRIPTION, ServeTokenCredential, daily_policy, make_clients, vault_body


def test_an_unknown_token_is_401_invalid_authentication_token(serve):
    clients = make_clients(serve, token="coffer.000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(ClientAuthenticationError) as raised:
        clients["vaults"].vaults.list_by_resource_group(BACKUP_RG).next()
    assert raised.value.status_code == 401
    assert raised.value.error.code == "InvalidAuthenticationToken"


def test_an_expired_or_revoked_token_is_401(serve, coffer):
    expiring = json.loads(coffer("serve", "token", "--expires-in", "1s", "--output", "json").stdout)
    revoked = json.loads(coffer("serve", "token", "--output", "json").stdout)
    assert make_clients(serve, token=revoked["token"])["vaults"].vaults.list_by_resource_group(BACKUP_RG) is not None
    coffer("serve", "token", "revoke", revoked["id"])
    time.sleep(1.5)
    for token, reason in [(expiring["token"], "expired"), (revoked["token"], "revoked")]:
        with pytest.raises(ClientAuthenticationError) as raised:
            make_clients(serve, token=token)["vaults"].vaults.list_by_resource_group(BACKUP_RG).next()
        assert raised.value.error.code == "InvalidAuthenticationToken"
        assert reason in raised.value.error.message
    # The token list shows both, and never a token.
    listed = coffer("serve", "token", "list", "--output", "json").stdout
    states = {t["id"]: t["state"] for t in json.loads(listed)["tokens"]}
    assert states[revoked["id"]] == "revoked" and states[expiring["id"]] == "expired"
    assert revoked["token"] not in listed and expiring["token"] not in listed


def test_a_subscription_the_tenant_does_not_hold_is_404(serve):
    clients = make_clients(serve, subscription="22222222-2222-2222-2222-222222222222")
    with pytest.raises(ResourceNotFoundError) as raised:
        clients["vaults"].vaults.list_by_resource_group(BACKUP_RG).next()
    assert raised.value.error.code == "SubscriptionNotFound"


def test_a_missing_resource_is_404_resource_not_found(clients):
    with pytest.raises(ResourceNotFoundError) as raised:
        clients["vaults"].vaults.get(BACKUP_RG, "rsv-does-not-exist")
    assert raised.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as raised:
        clients["vaults"].vaults.get("rg-does-not-exist", "rsv-does-not-exist")
    assert raised.value.error.code == "ResourceGroupNotFound"


def test_an_unknown_api_version_is_400(serve):
    clients = make_clients(serve, api_version="2099-01-01")
    with pytest.raises(HttpResponseError) as raised:
        clients["vaults"].vaults.get(BACKUP_RG, "any")
    assert raised.value.status_code == 400
    assert raised.value.error.code == "InvalidApiVersionParameter"


def test_serve_is_not_trusted_without_its_ca(serve):
    client = RecoveryServicesClient(ServeTokenCredential(serve["token"]), SUBSCRIPTION, base_url=serve["url"])
    with pytest.raises(ServiceRequestError) as raised:
        client.vaults.get(BACKUP_RG, "any")
    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)


def test_lists_page_with_next_link(clients):
    """150 policies cross serve's page of 100; the SDK follows nextLink and re-adds its api-version."""
    vaults, backup = clients["vaults"], clients["backup"]
    vault_name = "rsv-sdk-paging"
    vaults.vaults.begin_create_or_update(BACKUP_RG, vault_name, vault_body()).result()
    for index in range(150):
        backup.protection_policies.create_or_update(vault_name, BACKUP_RG, f"policy-{index:03}", daily_policy())
    pages = list(backup.backup_policies.list(vault_name, BACKUP_RG, filter="backupManagementType eq 'AzureIaasVM'").by_page())
    sizes = [len(list(page)) for page in pages]
    # The 150 policies made here and the vault's own DefaultPolicy and EnhancedPolicy.
    assert sizes == [100, 52]
    policies = list(backup.backup_policies.list(vault_name, BACKUP_RG))
    assert all(isinstance(p, ProtectionPolicyResource) for p in policies)
    assert sorted(p.name for p in policies) == sorted(["DefaultPolicy", "EnhancedPolicy"] + [f"policy-{index:03}" for index in range(150)])


def test_key_vaults_and_vms_read_as_backup_reads_them(clients, platform):
    keyvault, compute = clients["keyvault"], clients["compute"]
    listed = sorted(v.name for v in keyvault.vaults.list_by_resource_group(KEYS_RG))
    assert listed == sorted([KEY_VAULT, "kv-rbac-eastus"])
    rbac = keyvault.vaults.get(KEYS_RG, "kv-rbac-eastus")
    assert rbac.properties.enable_rbac_authorization is True
    assert keyvault.vaults.get(KEYS_RG, KEY_VAULT).properties.enable_rbac_authorization is False
    keys = [k.name for k in keyvault.keys.list(KEYS_RG, KEY_VAULT)]
    assert keys == ["kek-win-app-01"]
    secrets = list(keyvault.secrets.list(KEYS_RG, KEY_VAULT))
    assert secrets and all(s.properties.value is None for s in secrets)

    vm = compute.virtual_machines.get(APP_RG, "win-app-01", expand="instanceView")
    assert isinstance(vm, VirtualMachine)
    settings = vm.storage_profile.os_disk.encryption_settings
    assert settings.enabled is True
    assert settings.disk_encryption_key.secret_url.startswith(f"https://{KEY_VAULT}.vault.azure.net/secrets/")
    assert settings.key_encryption_key.key_url.startswith(f"https://{KEY_VAULT}.vault.azure.net/keys/kek-win-app-01/")
    assert [d.lun for d in vm.storage_profile.data_disks] == [0]
    assert vm.instance_view.vm_agent.statuses[0].display_status == "Ready"
    [extension] = vm.resources
    assert extension.name == "AzureDiskEncryption"
    assert extension.publisher == "Microsoft.Azure.Security"
    assert extension.settings["KeyEncryptionKeyURL"] == settings.key_encryption_key.key_url
    disk = compute.disks.get(APP_RG, vm.storage_profile.os_disk.name)
    assert disk.disk_size_gb == 128
