#!/usr/bin/env bash
# Backup of ADE VMs whose key vault uses Azure RBAC. The plan refuses them until the manifests assign the
# Backup Management Service a role (a member operator's enabling protection assigns none); an access policy
# on the RBAC key vault, and a role assignment on a key vault that uses access policies, are refused with
# their codes; a custom role with the secret data actions only is enough for the BEK-only VM, not for the one
# with a KEK; Key Vault Administrator is enough for both, backups succeed, and a role removed out of band is
# drift that apply repairs.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks
MANIFESTS="$EXAMPLE_DIR/manifests"

step "Create the platform: a key vault that uses Azure RBAC, one that uses access policies"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
coffer platform show --state "$STATE" --output json
expect_json 'd["operatorIdentity"]["type"]' member "the operator is a member of the tenant"
expect_json '{k["name"]: k["permissionModel"] for k in d["keyVaults"]}' '{"kv-legacy-eastus": "AccessPolicies", "kv-rbac-eastus": "RBAC"}' \
    "kv-rbac-eastus uses Azure RBAC, kv-legacy-eastus access policies"
expect_json '[r["name"] for r in d["roleDefinitions"]]' '["Backup Secrets Reader"]' "the tenant has one custom role"
coffer platform show --state "$STATE"
expect_text "permission model: Azure RBAC" "platform show gives the permission model"
coffer get role-assignments --state "$STATE" --output json
expect_json '[(a["keyVault"], a["principalName"], a["role"]) for a in d["roleAssignments"]]' '[["kv-rbac-eastus", "operator", "Key Vault Administrator"]]' \
    "the operator administers kv-rbac-eastus; the Backup Management Service has no role"

step "Without a role assignment the plan fails now, not the backup at 2 a.m."
coffer validate --state "$STATE" "$MANIFESTS"
expect_rc 0 "validate"
coffer plan --state "$STATE" "$MANIFESTS/backup.yaml" --output json
expect_rc 1 "plan without role-assignment.yaml fails"
expect_json 'sorted((x["code"], x["severity"], x["range"]["file"].split("/")[-1] + ":" + str(x["range"]["line"])) for x in d["diagnostics"])' \
    '[["UserErrorKeyVaultPermissionsNotConfigured", "error", "backup.yaml:24"], ["UserErrorKeyVaultPermissionsNotConfigured", "error", "backup.yaml:33"]]' \
    "UserErrorKeyVaultPermissionsNotConfigured at both VMs' spec.vm, an error even for a member"
expect_true 'all("the role Key Vault Administrator on \x27kv-rbac-eastus\x27 (a KeyVaultRoleAssignment)" in x["hint"] for x in d["diagnostics"])' \
    "the hint names the fix: a KeyVaultRoleAssignment of Key Vault Administrator"

step "Each permission model refuses the other's grant"
cat >"$WORK/access-policy.yaml" <<'YAML'
apiVersion: coffer.dev/v1
kind: KeyVaultAccessPolicy
metadata:
  name: kv-rbac-eastus-policy
spec:
  keyVault: kv-rbac-eastus
  principal: {name: Backup Management Service}
  keyPermissions: [Get, List, Backup]
  secretPermissions: [Get, List, Backup]
YAML
coffer plan --state "$STATE" "$MANIFESTS" "$WORK/access-policy.yaml" --output json
expect_rc 1 "plan with an access policy on the RBAC key vault fails"
expect_json '[(x["code"], x["range"]["line"]) for x in d["diagnostics"]]' '[["KeyVaultUsesRbacAuthorization", 6]]' \
    "KeyVaultUsesRbacAuthorization at the access policy's keyVault line"
coffer platform keyvault set-access --state "$STATE" kv-rbac-eastus BackupManagementService --secret-permissions Get,List,Backup
expect_error KeyVaultUsesRbacAuthorization 1 "the platform refuses it too"
cat >"$WORK/legacy-role.yaml" <<'YAML'
apiVersion: coffer.dev/v1
kind: KeyVaultRoleAssignment
metadata:
  name: kv-legacy-eastus-backup
spec:
  keyVault: kv-legacy-eastus
  principal: {name: Backup Management Service}
  role: Key Vault Administrator
YAML
coffer plan --state "$STATE" "$MANIFESTS" "$WORK/legacy-role.yaml" --output json
expect_rc 1 "plan with a role assignment on the access-policy key vault fails"
expect_json '[(x["code"], x["range"]["line"]) for x in d["diagnostics"]]' '[["KeyVaultUsesAccessPolicies", 6]]' \
    "KeyVaultUsesAccessPolicies at the role assignment's keyVault line"
coffer platform keyvault assign-role --state "$STATE" kv-legacy-eastus BackupManagementService "Key Vault Administrator"
expect_error KeyVaultUsesAccessPolicies 1 "the platform refuses it too"

step "A custom role with the secret data actions only: enough for the BEK-only VM, not for the one with a KEK"
sed -e 's/Key Vault Administrator/Backup Secrets Reader/' "$MANIFESTS/role-assignment.yaml" >"$WORK/secrets-role.yaml"
coffer plan --state "$STATE" "$MANIFESTS/backup.yaml" "$WORK/secrets-role.yaml" --output json
expect_rc 1 "plan with Backup Secrets Reader fails"
expect_json '[(x["code"], x["range"]["line"]) for x in d["diagnostics"]]' '[["UserErrorKeyVaultPermissionsNotConfigured", 24]]' \
    "only win-rbac-01, whose BEK is wrapped by a KEK"
expect_text "lacks data actions Microsoft.KeyVault/vaults/keys/backup/action, Microsoft.KeyVault/vaults/keys/read" \
    "it lacks the key data actions"

step "Key Vault Administrator: plan, apply, plan again"
coffer plan --state "$STATE" "$MANIFESTS" --detailed-exitcode
expect_rc 2 "plan --detailed-exitcode: changes present"
expect_text "Plan: 5 to add, 0 to change, 0 to destroy." "5 to add: the vault, the policy, the role assignment, two protected VMs"
coffer plan --state "$STATE" "$MANIFESTS" --output json
expect_json '[c["address"] for c in d["resource_changes"]]' \
    '["RecoveryServicesVault/rsv-northwind-eastus", "BackupPolicy/daily-northwind", "KeyVaultRoleAssignment/kv-rbac-eastus-backup", "ProtectedVM/lnx-rbac-02", "ProtectedVM/win-rbac-01"]' \
    "the role is assigned before protection is enabled"
ROLE_ID=$(json '[c["id"] for c in d["resource_changes"] if c["address"] == "KeyVaultRoleAssignment/kv-rbac-eastus-backup"][0]')
case "$ROLE_ID" in
    */providers/Microsoft.KeyVault/vaults/kv-rbac-eastus/providers/Microsoft.Authorization/roleAssignments/*) pass "the plan knows the assignment's id: $ROLE_ID" ;;
    *) fail "the role assignment's planned id is '$ROLE_ID'" ;;
esac
coffer apply --state "$STATE" "$MANIFESTS" --auto-approve --output json
expect_json 'd["result"]' succeeded "apply"
coffer plan --state "$STATE" "$MANIFESTS" --detailed-exitcode
expect_rc 0 "plan --detailed-exitcode: no changes"
coffer get role-assignments --state "$STATE" --output json
expect_json '[a["id"] for a in d["roleAssignments"] if a.get("managedBy") == "coffer"]' "[\"$ROLE_ID\"]" \
    "get role-assignments lists coffer's assignment, with the id the plan predicted"
coffer get role-assignments --state "$STATE"
expect_text "Backup Management Service" "the text table names the principal"

step "Backups succeed"
for vm in win-rbac-01 lnx-rbac-02; do
    coffer backup --state "$STATE" "$vm" --output json
    expect_json 'd["status"]' Completed "backup $vm"
done
coffer get recovery-points --state "$STATE" --output json
expect_json 'sorted((p["vm"], p["hasKeyBackup"]) for p in d["recoveryPoints"])' '[["lnx-rbac-02", true], ["win-rbac-01", true]]' \
    "each recovery point holds the Key Vault backups of its VM's keys"

step "Drift: the role removed out of band"
coffer platform keyvault remove-role --state "$STATE" kv-rbac-eastus BackupManagementService "Key Vault Administrator"
expect_rc 0 "remove-role"
coffer backup --state "$STATE" win-rbac-01
expect_error UserErrorKeyVaultPermissionsNotConfigured 1 "the next backup fails"
coffer plan --state "$STATE" "$MANIFESTS" --output json
expect_json '[(c["address"], c["action"], c["reason"]) for c in d["resource_changes"] if c["action"] != "no-op"]' \
    '[["KeyVaultRoleAssignment/kv-rbac-eastus-backup", "create", "drifted-out-of-band"]]' "the plan assigns the role again"
coffer apply --state "$STATE" "$MANIFESTS" --auto-approve --output json
expect_json 'd["result"]' succeeded "apply repairs it"
coffer backup --state "$STATE" win-rbac-01 --output json
expect_json 'd["status"]' Completed "backups work again"

finish
