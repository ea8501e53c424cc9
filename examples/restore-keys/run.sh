#!/usr/bin/env bash
# Lost key material and `coffer restore-keys`. The BEK of lnx-db-02 is deleted and purged out of band: its
# backups fail, its restored disks cannot be unlocked, until restore-keys puts the secret back from the
# recovery point's sealed Key Vault backup (same name, version, content type and tags). Then win-app-02
# loses its KEK (purged) and its BEK (soft-deleted): restore-keys restores the one and recovers the other,
# and a restore of its disks succeeds.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks
KV=kv-apps-eastus

step "Create the platform, apply, back up both VMs"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
coffer apply --state "$STATE" "$EXAMPLE_DIR/manifests" --auto-approve --output json
expect_json 'd["result"]' succeeded "apply"
coffer backup --state "$STATE" lnx-db-02 --output json
expect_json 'd["status"]' Completed "backup lnx-db-02"
DB_POINT=$(json 'd["recoveryPoint"]')
coffer backup --state "$STATE" win-app-02 --output json
expect_json 'd["status"]' Completed "backup win-app-02"
APP_POINT=$(json 'd["recoveryPoint"]')
coffer get recovery-points --state "$STATE" --output json
expect_json 'sorted((p["vm"], p["hasKeyBackup"]) for p in d["recoveryPoints"])' '[["lnx-db-02", true], ["win-app-02", true]]' \
    "both recovery points hold a backup of the VM's keys"
DB_SUMS=$(json "{x['disk']: x['checksum'] for p in d['recoveryPoints'] if p['id'] == '$DB_POINT' for x in p['disks']}")
APP_OS_SUM=$(json "[x['checksum'] for p in d['recoveryPoints'] if p['id'] == '$APP_POINT' for x in p['disks']][0]")

# The key-vault objects of a VM, from the platform's overview (names and versions, never values).
coffer platform show --state "$STATE" --output json
DB_BEK=$(json '[vm["bekSecretURL"].split("/")[4] for vm in d["virtualMachines"] if vm["name"] == "lnx-db-02"][0]')
APP_BEK=$(json '[vm["bekSecretURL"].split("/")[4] for vm in d["virtualMachines"] if vm["name"] == "win-app-02"][0]')
objects() { json "sorted([o['kind'], o['name'], o['version'], o.get('contentType'), o['tags'], o['deleted']] for k in d['keyVaults'] for o in k['objects'])"; }
OBJECTS_BEFORE=$(objects)
echo "  lnx-db-02's BEK is secret $DB_BEK, win-app-02's is secret $APP_BEK (wrapped by key kek-app-02)"

step "Out of band: lnx-db-02's BEK secret is deleted, then purged"
coffer platform keyvault delete-secret --state "$STATE" "$KV" "$DB_BEK"
expect_rc 0 "delete-secret"
coffer platform show --state "$STATE" --output json
expect_json "[o['deleted'] for k in d['keyVaults'] for o in k['objects'] if o['name'] == '$DB_BEK']" '[true]' "the secret is soft-deleted"
coffer platform keyvault purge --state "$STATE" "$KV" "$DB_BEK"
expect_rc 0 "purge"
coffer platform show --state "$STATE" --output json
expect_json "[o for k in d['keyVaults'] for o in k['objects'] if o['name'] == '$DB_BEK']" '[]' "the secret is gone for good"

step "Consequences"
coffer backup --state "$STATE" lnx-db-02
expect_error UserErrorKeyVaultSecretDoesNotExist 1 "backup of lnx-db-02 fails"
coffer get jobs --state "$STATE" --vm lnx-db-02 --output json
expect_json '[(j["status"], j.get("errorCode")) for j in d["jobs"]][-1]' '["Failed", "UserErrorKeyVaultSecretDoesNotExist"]' \
    "the job is recorded as Failed with the code"
coffer restore --state "$STATE" lnx-db-02 --recovery-point "$DB_POINT" --mode restore-disks --target-resource-group rg-restore --output json
expect_rc 0 "restore-disks still copies the (encrypted) disks"
DB_DISKS=$(json '{x["disk"]: x["name"] for x in d["disks"]}')
disk_name() { printf '%s' "$1" | python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"; }
coffer platform checksum --state "$STATE" --restored-disk "$(disk_name "$DB_DISKS" 0)"
expect_error DiskEncryptionInternalError 1 "but the restored disk cannot be unlocked without its BEK"
coffer verify --state "$STATE" lnx-db-02 --recovery-point "$DB_POINT" --output json
expect_json 'd["ok"]' true "the recovery point itself is intact: verify decrypts it with its own key backup"

step "restore-keys puts the BEK back from the recovery point"
coffer restore-keys --state "$STATE" lnx-db-02 --recovery-point "$DB_POINT" --output json
expect_rc 0 "restore-keys lnx-db-02"
expect_json '[(k["kind"], k["name"], k["action"]) for k in d["keys"]]' "[[\"secret\", \"$DB_BEK\", \"restored\"]]" \
    "the purged secret was restored from the backup"
coffer platform show --state "$STATE" --output json
expect_equal "$(objects)" "$OBJECTS_BEFORE" "the key vault is as before: same name, version, content type BEK and ADE's tags"
for disk in os 0; do
    coffer platform checksum --state "$STATE" --restored-disk "$(disk_name "$DB_DISKS" "$disk")"
    expect_rc 0 "the restored disk $disk unlocks now"
    expect_equal "${OUT%% *}" "$(disk_name "$DB_SUMS" "$disk")" "and is byte for byte the recovery point's"
done
coffer backup --state "$STATE" lnx-db-02 --output json
expect_json 'd["status"]' Completed "backups of lnx-db-02 work again"
coffer restore-keys --state "$STATE" lnx-db-02 --recovery-point "$DB_POINT" --output json
expect_json '[k["action"] for k in d["keys"]]' '["present"]' "restore-keys again: nothing to do, the secret is present"

step "Out of band: win-app-02's KEK is deleted and purged, its BEK deleted (soft)"
coffer platform keyvault delete-key --state "$STATE" "$KV" kek-app-02
expect_rc 0 "delete-key"
coffer backup --state "$STATE" win-app-02
expect_error UserErrorKeyVaultKeyDoesNotExist 1 "backup of win-app-02 without its KEK fails"
coffer platform keyvault purge --state "$STATE" "$KV" kek-app-02
expect_rc 0 "purge the KEK"
coffer platform keyvault delete-secret --state "$STATE" "$KV" "$APP_BEK"
expect_rc 0 "delete-secret (soft-deleted, not purged)"
coffer backup --state "$STATE" win-app-02
expect_error UserErrorKeyVaultSecretDoesNotExist 1 "backup of win-app-02 without its BEK fails"

step "restore-keys: the KEK restored from the backup, the BEK recovered from soft delete"
coffer restore-keys --state "$STATE" win-app-02 --recovery-point "$APP_POINT" --output json
expect_rc 0 "restore-keys win-app-02"
expect_json '[(k["kind"], k["name"], k["action"]) for k in d["keys"]]' \
    "[[\"key\", \"kek-app-02\", \"restored\"], [\"secret\", \"$APP_BEK\", \"recovered\"]]" "key restored, secret recovered"
coffer platform show --state "$STATE" --output json
expect_equal "$(objects)" "$OBJECTS_BEFORE" "the key vault is as it was at the start"

step "A restore of win-app-02 succeeds, and its disk unlocks with the BEK unwrapped by the restored KEK"
coffer restore --state "$STATE" win-app-02 --recovery-point "$APP_POINT" --mode restore-disks --target-resource-group rg-restore --output json
expect_rc 0 "restore-disks win-app-02"
expect_json 'd["job"]["status"]' Completed "the restore job completed"
APP_DISK=$(json 'd["disks"][0]["name"]')
coffer platform checksum --state "$STATE" --restored-disk "$APP_DISK"
expect_rc 0 "the restored disk unlocks"
expect_equal "${OUT%% *}" "$APP_OS_SUM" "and is byte for byte the recovery point's"
coffer backup --state "$STATE" win-app-02 --output json
expect_json 'd["status"]' Completed "backups of win-app-02 work again"

finish
