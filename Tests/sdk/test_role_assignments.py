"""Role assignments at a key vault's scope through azure-mgmt-authorization: the Backup Management Service
gets Key Vault Administrator on kv-rbac-eastus (a key vault that uses Azure RBAC), read back as the SDK's
typed objects, and removed again."""

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignment, RoleAssignmentCreateParameters

from conftest import KEYS_RG, SUBSCRIPTION, ServeTokenCredential, client_options

RBAC_KEY_VAULT = "kv-rbac-eastus"
SCOPE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{KEYS_RG}/providers/Microsoft.KeyVault/vaults/{RBAC_KEY_VAULT}"
KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
ROLE_DEFINITION = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{KEY_VAULT_ADMINISTRATOR}"


def assignment_name(scope, principal_id, role_definition_guid):
    """The GUID coffer names an assignment by (RoleDefinition.assignmentName): two 64-bit FNV-1a hashes of the
    lower-cased scope, principal and role, as a version 8 UUID."""
    text = "\x01".join(part.lower() for part in (scope, principal_id, role_definition_guid)).encode()
    raw = bytearray()
    for basis in (0xCBF29CE484222325, 0x6C62272E07BB0142):
        value = basis
        for byte in text:
            value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        raw += value.to_bytes(8, "big")
    raw[6] = (raw[6] & 0x0F) | 0x80
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


@pytest.fixture(scope="module")
def authorization(serve):
    return AuthorizationManagementClient(ServeTokenCredential(serve["token"]), SUBSCRIPTION, **client_options(serve))


def test_key_vault_administrator_for_the_backup_management_service(authorization, platform, coffer):
    bms = platform["backupManagementServiceObjectID"]
    name = assignment_name(SCOPE, bms, KEY_VAULT_ADMINISTRATOR)
    parameters = RoleAssignmentCreateParameters(role_definition_id=ROLE_DEFINITION, principal_id=bms, principal_type="ServicePrincipal")

    # Any other name is refused, and the message gives the one to use.
    with pytest.raises(HttpResponseError) as refused:
        authorization.role_assignments.create(SCOPE, str(uuid.uuid4()), parameters)
    assert refused.value.status_code == 400 and refused.value.error.code == "RoleAssignmentNameMismatch"
    assert name in refused.value.error.message

    created = authorization.role_assignments.create(SCOPE, name, parameters)
    assert isinstance(created, RoleAssignment)
    assert created.name == name and created.id == f"{SCOPE}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert created.type == "Microsoft.Authorization/roleAssignments"
    assert created.role_definition_id == ROLE_DEFINITION and created.principal_id == bms
    assert created.principal_type == "ServicePrincipal" and created.scope == SCOPE

    with pytest.raises(ResourceExistsError) as again:
        authorization.role_assignments.create(SCOPE, name, parameters)
    assert again.value.status_code == 409 and again.value.error.code == "RoleAssignmentExists"

    read = authorization.role_assignments.get(SCOPE, name)
    assert isinstance(read, RoleAssignment) and read.as_dict() == created.as_dict()
    listed = list(authorization.role_assignments.list_for_scope(SCOPE))
    assert [a.name for a in listed] == [name] and all(isinstance(a, RoleAssignment) for a in listed)
    by_resource = list(authorization.role_assignments.list_for_resource(KEYS_RG, "Microsoft.KeyVault", "vaults", RBAC_KEY_VAULT))
    assert [a.name for a in by_resource] == [name]
    # The CLI sees the same assignment.
    assert name in coffer("get", "role-assignments").stdout

    removed = authorization.role_assignments.delete(SCOPE, name)
    assert isinstance(removed, RoleAssignment) and removed.name == name
    assert authorization.role_assignments.delete(SCOPE, name) is None
    with pytest.raises(ResourceNotFoundError):
        authorization.role_assignments.get(SCOPE, name)


def test_an_access_policy_key_vault_refuses_role_assignments(authorization, platform):
    bms = platform["backupManagementServiceObjectID"]
    scope = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{KEYS_RG}/providers/Microsoft.KeyVault/vaults/kv-app-eastus"
    parameters = RoleAssignmentCreateParameters(role_definition_id=ROLE_DEFINITION, principal_id=bms)
    with pytest.raises(HttpResponseError) as refused:
        authorization.role_assignments.create(scope, assignment_name(scope, bms, KEY_VAULT_ADMINISTRATOR), parameters)
    assert refused.value.status_code == 400 and refused.value.error.code == "KeyVaultUsesAccessPolicies"
