#!/usr/bin/env bash
# The reference walkthrough: the world in world.yaml, the manifests in the repository's manifests/ folder.
# Validate, plan, apply, plan again (no changes), Backup now with a retain-until date, the job, the recovery
# point, a test restore, a restore of the disks checked byte for byte, and the history.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks
WORLD="$EXAMPLE_DIR/world.yaml"
MANIFESTS="$REPO_ROOT/manifests"

step "Create the platform: the contoso tenant, five VMs, three key vaults"
coffer platform init --state "$STATE" --world "$WORLD"
expect_rc 0 "platform init"
expect_text "5 VMs, 3 key vaults" "the world has 5 VMs and 3 key vaults"
coffer platform show --state "$STATE" --output json
expect_json 'd["operatorIdentity"]["type"]' guest "the operator is a guest of the tenant"
expect_json '{vm["name"]: vm["encryption"] for vm in d["virtualMachines"]}' \
    '{"lnx-api-01": "ade-bek-kek", "lnx-db-01": "ade-bek", "lnx-web-01": "sse-pmk", "win-app-01": "ade-bek-kek", "win-cmk-01": "sse-cmk"}' \
    "win-app-01: ADE with a KEK (BitLocker); lnx-db-01: ADE, BEK only (dm-crypt); lnx-web-01: platform key; win-cmk-01: customer key; lnx-api-01 (not in manifests/): ADE with a KEK in kv-rbac-eastus"
expect_json '{k["name"]: k["permissionModel"] for k in d["keyVaults"]}' \
    '{"kv-app-eastus": "AccessPolicies", "kv-app-westeurope": "AccessPolicies", "kv-rbac-eastus": "RBAC"}' \
    "kv-rbac-eastus uses Azure RBAC, the others access policies"
expect_json '[p["principalName"] for p in d["keyVaults"][0]["accessPolicies"]]' '[]' \
    "kv-app-eastus gives the Backup Management Service no access yet"

step "Validate the manifests"
coffer validate --state "$STATE" "$MANIFESTS"
expect_rc 0 "validate"
expect_text "0 errors, 0 warnings in 4 files" "no errors or warnings in the 4 files"
coffer validate --state "$STATE" "$MANIFESTS" --output json
expect_json 'd["valid"]' true "the JSON report says valid"
expect_json 'd["resources"]' 11 "11 resources: 2 vaults, 4 policies, 1 access policy, 4 protected VMs"

step "Without the access policy of the 'Azure Backup' template, the plan fails now rather than the backup at 2 a.m."
coffer plan --state "$STATE" "$MANIFESTS/vaults.yaml" "$MANIFESTS/policies.yaml" "$MANIFESTS/protected-vms.yaml" --output json
expect_rc 1 "plan without access-policies.yaml fails"
expect_json 'sorted({x["code"] for x in d["diagnostics"] if x["severity"] == "error"})' '["UserErrorKeyVaultPermissionsNotConfigured"]' \
    "the plan reports UserErrorKeyVaultPermissionsNotConfigured"
expect_json 'sorted(x["range"]["file"].split("/")[-1] + ":" + str(x["range"]["line"]) for x in d["diagnostics"])' \
    '["protected-vms.yaml:14", "protected-vms.yaml:29"]' "at the spec.vm line of win-app-01 and lnx-db-01"

step "Plan"
coffer plan --state "$STATE" "$MANIFESTS" --detailed-exitcode
expect_rc 2 "plan --detailed-exitcode: changes present"
expect_text "Plan: 11 to add, 0 to change, 0 to destroy." "the text plan adds 11 resources"
coffer plan --state "$STATE" "$MANIFESTS" --output json
expect_rc 0 "plan --output json"
expect_json 'd["summary"]' '{"add": 11, "change": 0, "destroy": 0, "replace": 0}' "the JSON summary: 11 to add"
expect_json 'sorted({c["action"] for c in d["resource_changes"]})' '["create"]' "every change is a create"
expect_json 'd["diagnostics"]' '[]' "no diagnostics"
expect_json '[c["after"] for c in d["resource_changes"] if c["address"] == "KeyVaultAccessPolicy/kv-app-eastus-backup"][0]' \
    '{"keyPermissions": ["Backup", "Get", "List"], "keyVault": "kv-app-eastus", "principal": {"name": "Backup Management Service"}, "secretPermissions": ["Backup", "Get", "List"]}' \
    "the access policy of the 'Azure Backup' template: keys and secrets Get, List, Backup"

step "Apply"
coffer apply --state "$STATE" "$MANIFESTS" --auto-approve --output json
expect_rc 0 "apply"
expect_json 'd["result"]' succeeded "the apply succeeded"
expect_json 'len(d["steps"])' 11 "11 steps"
expect_json 'sorted({s["status"] for s in d["steps"]})' '["succeeded"]' "every step succeeded"

step "Plan again: nothing to do"
coffer plan --state "$STATE" "$MANIFESTS" --detailed-exitcode
expect_rc 0 "plan --detailed-exitcode: no changes"
expect_text "No changes. The platform matches the manifests." "the plan says no changes"

step "What the platform holds now"
coffer get access-policies --state "$STATE" --output json
expect_json '[(p["keyPermissions"], p["secretPermissions"], p["managedBy"]) for p in d["accessPolicies"] if p["keyVault"] == "kv-app-eastus" and p["principalName"] == "Backup Management Service"]' \
    '[[["Backup", "Get", "List"], ["Backup", "Get", "List"], "coffer"]]' "the Backup Management Service can Get, List, Backup keys and secrets of kv-app-eastus"
coffer get protected-vms --state "$STATE" --output json
expect_json 'sorted((i["vm"], i["vault"], i["state"]) for i in d["protectedVMs"])' \
    '[["lnx-db-01", "rsv-prod-eastus", "IRPending"], ["lnx-web-01", "rsv-prod-westeurope", "IRPending"], ["win-app-01", "rsv-prod-eastus", "IRPending"], ["win-cmk-01", "rsv-prod-westeurope", "IRPending"]]' \
    "4 protected VMs, waiting for their first backup"

step "Backup now: win-app-01 (BitLocker with a KEK), kept until 2026-03-01"
coffer backup --state "$STATE" win-app-01 --retain-until 2026-03-01 --output json
expect_rc 0 "backup win-app-01"
expect_json 'd["status"]' Completed "the job completed"
WIN_JOB=$(json 'd["id"]')
WIN_POINT=$(json 'd["recoveryPoint"]')
coffer get jobs --state "$STATE" --vm win-app-01 --output json
expect_json "[(j['operation'], j['trigger'], j['status'], j['recoveryPoint']) for j in d['jobs'] if j['id'] == '$WIN_JOB']" \
    "[[\"Backup\", \"OnDemand\", \"Completed\", \"$WIN_POINT\"]]" "get jobs follows the job to Completed, with its recovery point"
expect_true "[j for j in d['jobs'] if j['id'] == '$WIN_JOB'][0]['bytesTransferred'] > 0" "the job transferred data to the vault"
coffer get recovery-points --state "$STATE" --vm win-app-01 --output json
expect_json "[(p['tier'], p['expiry'], p['hasKeyBackup'], [x['disk'] for x in p['disks']]) for p in d['recoveryPoints'] if p['id'] == '$WIN_POINT']" \
    '[["Snapshot and vault", "2026-03-01T00:00:00Z", true, ["os", "0"]]]' \
    "the recovery point: snapshot and vault tiers, kept until 2026-03-01, with the BEK and KEK backed up, both disks"

step "Backup now: lnx-db-01 (dm-crypt, BEK only), default retention of 30 days"
coffer platform checksum --state "$STATE" lnx-db-01 --disk 0
expect_rc 0 "checksum of lnx-db-01's data disk"
DB_SUM_AT_BACKUP=${OUT%% *}
coffer backup --state "$STATE" lnx-db-01 --output json
expect_rc 0 "backup lnx-db-01"
DB_POINT=$(json 'd["recoveryPoint"]')
coffer get recovery-points --state "$STATE" --vm lnx-db-01 --output json
expect_json "[p['expiry'] for p in d['recoveryPoints'] if p['id'] == '$DB_POINT']" '["2026-02-04T00:00:00Z"]' \
    "kept 30 days from the platform's clock (2026-01-05)"
expect_json "[x['checksum'] for p in d['recoveryPoints'] if p['id'] == '$DB_POINT' for x in p['disks'] if x['disk'] == '0']" \
    "[\"$DB_SUM_AT_BACKUP\"]" "the point records the guest's checksum of the data disk"
coffer get protected-vms --state "$STATE" --output json
expect_json 'sorted((i["vm"], i["state"], i["lastBackupStatus"], i["recoveryPoints"]) for i in d["protectedVMs"] if i["vm"] in ("win-app-01", "lnx-db-01"))' \
    '[["lnx-db-01", "Protected", "Completed", 1], ["win-app-01", "Protected", "Completed", 1]]' "both VMs are Protected with one recovery point"

step "Verify: a test restore of win-app-01's point, decrypted with its own key backup, checksums compared"
coffer verify --state "$STATE" win-app-01 --recovery-point "$WIN_POINT" --output json
expect_rc 0 "verify"
expect_json 'd["ok"]' true "verify says ok"
expect_json 'd["result"]["source"]' Vault "the vault copy was checked"
expect_json '[(x["disk"], x["matches"]) for x in d["result"]["disks"]]' '[["os", true], ["0", true]]' "both disks match"
expect_true 'all(x["actual"] == x["expected"] and len(x["actual"]) == 64 for x in d["result"]["disks"])' "actual and expected SHA-256 are equal"

step "The guest of lnx-db-01 writes after the backup"
coffer platform write --state "$STATE" lnx-db-01 --disk 0 --offset 0 --length 64K --seed 4242
expect_rc 0 "platform write"
coffer platform checksum --state "$STATE" lnx-db-01 --disk 0
DB_SUM_NOW=${OUT%% *}
[ "$DB_SUM_NOW" != "$DB_SUM_AT_BACKUP" ] || fail "the write did not change the data disk's checksum"
pass "the data disk's checksum changed"

step "Restore lnx-db-01's disks from the point, and check them byte for byte"
coffer restore --state "$STATE" lnx-db-01 --recovery-point "$DB_POINT" --mode restore-disks --output json
expect_rc 0 "restore --mode restore-disks"
expect_json 'd["job"]["status"]' Completed "the restore job completed"
expect_json '(d["region"], d["source"])' '["eastus", "Snapshot"]' "restored in eastus from the instant-restore snapshot"
expect_json '[(x["disk"], x["kind"], x["resourceGroup"]) for x in d["disks"]]' \
    '[["os", "ManagedDisk", "rg-app-eastus"], ["0", "ManagedDisk", "rg-app-eastus"]]' "two managed disks in rg-app-eastus"
expect_true 'all("/secrets/" in x["bekSecretURL"] and x.get("kekURL") is None for x in d["disks"])' "still ADE-encrypted, with the BEK's URL and no KEK"
DB_OS_DISK=$(json '[x["name"] for x in d["disks"] if x["disk"] == "os"][0]')
DB_DATA_DISK=$(json '[x["name"] for x in d["disks"] if x["disk"] == "0"][0]')
coffer get recovery-points --state "$STATE" --vm lnx-db-01 --output json
DB_OS_SUM_AT_BACKUP=$(json "[x['checksum'] for p in d['recoveryPoints'] if p['id'] == '$DB_POINT' for x in p['disks'] if x['disk'] == 'os'][0]")
coffer platform checksum --state "$STATE" --restored-disk "$DB_DATA_DISK"
expect_rc 0 "checksum of the restored data disk (unlocked with the BEK in kv-app-eastus)"
expect_equal "${OUT%% *}" "$DB_SUM_AT_BACKUP" "the restored data disk is byte for byte what the guest had at the backup"
[ "${OUT%% *}" != "$DB_SUM_NOW" ] || fail "the restored data disk has the write made after the backup"
pass "and not the write made after it"
coffer platform checksum --state "$STATE" --restored-disk "$DB_OS_DISK"
expect_equal "${OUT%% *}" "$DB_OS_SUM_AT_BACKUP" "the restored OS disk matches too"

step "History: the apply"
coffer history --state "$STATE" --output json
expect_json 'len(d["applies"])' 1 "one apply"
expect_json 'd["applies"][0]["result"]' succeeded "it succeeded"
expect_json 'd["applies"][0]["summary"]' '{"add": 11, "change": 0, "destroy": 0, "replace": 0}' "it added 11 resources"
expect_true 'd["applies"][0]["source"]["paths"][0].endswith("manifests")' "from the manifests folder"
coffer history --state "$STATE"
expect_text "+11 ~0 ±0 -0" "the text history shows +11"

finish
