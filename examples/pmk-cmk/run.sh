#!/usr/bin/env bash
# VMs encrypted at rest with a platform-managed key and with a customer-managed key (disk encryption set):
# protected, backed up and restored with no Key Vault access step at all (no KeyVaultAccessPolicy), and,
# unlike ADE VMs, restorable as a new VM, in place, and file by file.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks

step "Create the platform"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
coffer platform show --state "$STATE" --output json
expect_json '{vm["name"]: [x["encryptionAtRest"] for x in vm["disks"]] for vm in d["virtualMachines"]}' \
    '{"lnx-pmk-01": ["EncryptionAtRestWithPlatformKey", "EncryptionAtRestWithPlatformKey"], "win-cmk-02": ["EncryptionAtRestWithCustomerKey"]}' \
    "lnx-pmk-01's disks use a platform key, win-cmk-02's a customer key"
expect_json '[p["principalName"] for k in d["keyVaults"] for p in k["accessPolicies"]]' '["disk encryption set des-apps-weu"]' \
    "the key vault gives access to the disk encryption set only"

step "Plan and apply: no KeyVaultAccessPolicy in the manifests, and none needed"
coffer validate --state "$STATE" "$EXAMPLE_DIR/manifests"
expect_rc 0 "validate"
coffer plan --state "$STATE" "$EXAMPLE_DIR/manifests" --output json
expect_rc 0 "plan"
expect_json 'd["diagnostics"]' '[]' "no diagnostics: nothing about Key Vault permissions"
expect_json 'sorted(c["kind"] for c in d["resource_changes"])' '["BackupPolicy", "ProtectedVM", "ProtectedVM", "RecoveryServicesVault"]' \
    "a vault, a policy and two protected VMs; no access policy"
coffer apply --state "$STATE" "$EXAMPLE_DIR/manifests" --auto-approve --output json
expect_rc 0 "apply"
expect_json 'd["result"]' succeeded "the apply succeeded"
coffer plan --state "$STATE" "$EXAMPLE_DIR/manifests" --detailed-exitcode
expect_rc 0 "plan again: no changes"
coffer get access-policies --state "$STATE" --output json
expect_json '[p["principalName"] for p in d["accessPolicies"]]' '["disk encryption set des-apps-weu"]' \
    "still no access policy for the Backup Management Service"

step "Backup now, both VMs"
coffer backup --state "$STATE" lnx-pmk-01 --output json
expect_rc 0 "backup lnx-pmk-01 (platform key)"
expect_json 'd["status"]' Completed "the job completed"
PMK_POINT=$(json 'd["recoveryPoint"]')
coffer backup --state "$STATE" win-cmk-02 --output json
expect_rc 0 "backup win-cmk-02 (customer key)"
expect_json 'd["status"]' Completed "the job completed"
CMK_POINT=$(json 'd["recoveryPoint"]')
coffer get jobs --state "$STATE" --output json
expect_json 'sorted((j["vm"], j["status"], j["errorCode"] if "errorCode" in j else None) for j in d["jobs"])' \
    '[["lnx-pmk-01", "Completed", null], ["win-cmk-02", "Completed", null]]' "two jobs, both completed, no error code"
coffer get recovery-points --state "$STATE" --output json
expect_json 'sorted((p["vm"], p["tier"], p["hasKeyBackup"]) for p in d["recoveryPoints"])' \
    '[["lnx-pmk-01", "Snapshot and vault", false], ["win-cmk-02", "Snapshot and vault", false]]' \
    "a recovery point each, in both tiers, with no key backup (there is no BEK)"
PMK_SUMS=$(json "{x['disk']: x['checksum'] for p in d['recoveryPoints'] if p['id'] == '$PMK_POINT' for x in p['disks']}")
CMK_OS_SUM=$(json "[x['checksum'] for p in d['recoveryPoints'] if p['id'] == '$CMK_POINT' for x in p['disks']][0]")

step "Verify both points"
coffer verify --state "$STATE" lnx-pmk-01 --output json
expect_json '(d["ok"], len(d["result"]["disks"]))' '[true, 2]' "lnx-pmk-01: both disks match"
coffer verify --state "$STATE" win-cmk-02 --output json
expect_json '(d["ok"], len(d["result"]["disks"]))' '[true, 1]' "win-cmk-02: its disk matches"

step "The guests write after the backup"
coffer platform read --state "$STATE" lnx-pmk-01 --disk 0 --offset 4M --length 64K
cp "$OUT_FILE" "$WORK/at-backup.bin"
coffer platform write --state "$STATE" lnx-pmk-01 --disk 0 --offset 4M --length 64K --seed 99
expect_rc 0 "lnx-pmk-01 overwrites 64 KiB of its data disk"
coffer platform write --state "$STATE" win-cmk-02 --disk os --offset 0 --length 256K --seed 98
expect_rc 0 "win-cmk-02 overwrites 256 KiB of its OS disk"
coffer platform checksum --state "$STATE" win-cmk-02 --disk os
[ "${OUT%% *}" != "$CMK_OS_SUM" ] || fail "the write did not change win-cmk-02's checksum"
pass "win-cmk-02's OS disk differs from the recovery point now"

step "File-level (item-level) recovery works for VMs without ADE"
coffer restore --state "$STATE" lnx-pmk-01 --recovery-point "$PMK_POINT" --mode files --disk 0 --offset 4M --length 64K
expect_rc 0 "restore --mode files"
cmp -s "$OUT_FILE" "$WORK/at-backup.bin" || fail "the recovered bytes are not what the guest had at the backup"
pass "the 64 KiB recovered are byte for byte what the guest had at the backup"

step "Create a new VM from lnx-pmk-01's point"
coffer restore --state "$STATE" lnx-pmk-01 --recovery-point "$PMK_POINT" --mode create-vm --target-name lnx-pmk-01-copy --output json
expect_rc 0 "restore --mode create-vm"
expect_json '(d["job"]["status"], d["vm"], d["region"])' '["Completed", "lnx-pmk-01-copy", "westeurope"]' "VM lnx-pmk-01-copy was created"
coffer platform checksum --state "$STATE" lnx-pmk-01-copy
expect_rc 0 "checksum of the new VM's disks"
GOT=$(printf '%s\n' "$OUT" | python3 -c 'import json, sys; print(json.dumps({l.split()[1].split("/")[1]: l.split()[0] for l in sys.stdin if l.strip()}, sort_keys=True))')
expect_equal "$GOT" "$PMK_SUMS" "the new VM's disks are byte for byte the recovery point's"

step "Replace win-cmk-02's disks in place with its recovery point"
coffer restore --state "$STATE" win-cmk-02 --recovery-point "$CMK_POINT" --mode replace-existing --output json
expect_rc 0 "restore --mode replace-existing"
expect_json '(d["job"]["status"], d["vm"])' '["Completed", "win-cmk-02"]' "win-cmk-02's disks were replaced"
coffer platform checksum --state "$STATE" win-cmk-02 --disk os
expect_equal "${OUT%% *}" "$CMK_OS_SUM" "win-cmk-02's OS disk is back to the recovery point, byte for byte"
coffer platform show --state "$STATE" --output json
expect_json '[(x["encryptionAtRest"], x.get("diskEncryptionSet")) for vm in d["virtualMachines"] if vm["name"] == "win-cmk-02" for x in vm["disks"]]' \
    '[["EncryptionAtRestWithCustomerKey", "des-apps-weu"]]' "and still encrypted with the customer key of des-apps-weu"
expect_json '[p["principalName"] for k in d["keyVaults"] for p in k["accessPolicies"]]' '["disk encryption set des-apps-weu"]' \
    "at no point did the Backup Management Service need Key Vault access"

step "A disk encryption set that loses its key access makes its disks unreadable, and the plan says so"
coffer platform show --state "$STATE" --output json
DES_ID=$(json '[p["objectID"] for k in d["keyVaults"] for p in k["accessPolicies"] if p["principalName"] == "disk encryption set des-apps-weu"][0]')
coffer platform keyvault remove-access --state "$STATE" kv-disks-weu "$DES_ID"
expect_rc 0 "remove the disk encryption set's access policy (out of band)"
coffer plan --state "$STATE" "$EXAMPLE_DIR/manifests" --output json
expect_rc 1 "the plan fails although nothing is to change"
expect_json 'sorted({(x["code"], x["range"]["file"].split("/")[-1]) for x in d["diagnostics"] if x["severity"] == "error"})' \
    '[["KeyVaultAccessForbidden", "backup.yaml"]]' "KeyVaultAccessForbidden at win-cmk-02's manifest"
coffer backup --state "$STATE" win-cmk-02
expect_error KeyVaultAccessForbidden 1 "and the backup fails with it"
coffer platform keyvault set-access --state "$STATE" kv-disks-weu "$DES_ID" --key-permissions Get,WrapKey,UnwrapKey
expect_rc 0 "give the access back"
coffer backup --state "$STATE" win-cmk-02 --output json
expect_json 'd["status"]' Completed "win-cmk-02 backs up again"

finish
