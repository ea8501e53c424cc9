#!/usr/bin/env bash
# Cross-region restore: an ADE VM (BitLocker with a KEK) in a geo-redundant vault with cross-region restore
# on, restored to eastus's paired region, westus, into a resource group of westus once its BEK and KEK are
# restored into a key vault of westus; and what the service refuses: another region than the
# pair, a new VM or in-place restore of an ADE VM, replacing disks across regions, a snapshot-only point, a
# vault without cross-region restore, and an ADE VM whose pair is in another geography.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks

step "Create the platform and apply the manifests"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
coffer apply --state "$STATE" "$EXAMPLE_DIR/manifests" --auto-approve --output json
expect_rc 0 "apply"
expect_json '(d["result"], d["summary"]["add"])' '["succeeded", 13]' "13 resources created"
coffer get vaults --state "$STATE" --output json
expect_json '{v["name"]: [v["spec"]["location"], v["spec"]["storageRedundancy"], v["spec"]["crossRegionRestore"]] for v in d["vaults"]}' \
    '{"rsv-batch-eastus": ["eastus", "LocallyRedundant", false], "rsv-erp-brazilsouth": ["brazilsouth", "GeoRedundant", true], "rsv-erp-eastus": ["eastus", "GeoRedundant", true]}' \
    "rsv-erp-eastus and rsv-erp-brazilsouth are geo-redundant with cross-region restore; rsv-batch-eastus is locally redundant"

step "13 hours of scheduled backups"
coffer platform clock --state "$STATE" --advance 13h --output json
expect_rc 0 "platform clock --advance 13h"
expect_json 'sorted((j["vm"], j["start"][11:16], j["status"]) for j in d["jobs"])' \
    '[["lnx-batch-03", "02:00", "Completed"], ["lnx-erp-br", "02:00", "Completed"], ["lnx-web-02", "08:00", "Completed"], ["lnx-web-02", "12:00", "Completed"], ["win-erp-01", "02:00", "Completed"]]' \
    "the daily backups at 02:00, and lnx-web-02's Enhanced backups at 08:00 and 12:00"
coffer get recovery-points --state "$STATE" --output json
point() { json "[p['id'] for p in d['recoveryPoints'] if p['vm'] == '$1' and p['time'][11:16] == '$2'][0]"; }
ERP_POINT=$(point win-erp-01 02:00)
WEB_SNAPSHOT_POINT=$(point lnx-web-02 08:00)
WEB_POINT=$(point lnx-web-02 12:00)
BATCH_POINT=$(point lnx-batch-03 02:00)
BR_POINT=$(point lnx-erp-br 02:00)
expect_json "sorted((p['time'][11:16], p['id'], p['tier']) for p in d['recoveryPoints'] if p['vm'] == 'lnx-web-02')" \
    "[[\"08:00\", \"$WEB_SNAPSHOT_POINT\", \"Snapshot\"], [\"12:00\", \"$WEB_POINT\", \"Snapshot and vault\"]]" \
    "lnx-web-02's 08:00 point is a snapshot only; the 12:00 one, the last of the window, reached the vault"
ERP_SUMS=$(json "{x['disk']: x['checksum'] for p in d['recoveryPoints'] if p['id'] == '$ERP_POINT' for x in p['disks']}")

step "Restore win-erp-01 (ADE, BEK + KEK) to the paired region: a resource group and the keys there first"
coffer restore --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --mode restore-disks --target-region westus
expect_error BMSUserErrorInvalidInput 1 "a cross-region restore without a target resource group"
expect_text "--target-resource-group" "the hint names the option"
coffer restore --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --mode restore-disks \
    --target-region westus --target-resource-group rg-erp-eastus
expect_error BMSUserErrorInvalidInput 1 "a target resource group of eastus"
coffer restore --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --mode restore-disks \
    --target-region westus --target-resource-group rg-restore-westus
expect_error DiskEncryptionInternalError 1 "the BEK and KEK are in kv-erp-eastus only: refused at restore time, before any disk is made"
expect_text "restore-keys win-erp-01 --recovery-point $ERP_POINT --target-key-vault" "the hint names restore-keys --target-key-vault"
coffer get jobs --state "$STATE" --vm win-erp-01 --output json
expect_json '[j["operation"] for j in d["jobs"]]' '["Backup"]' "no restore job was started by the refused requests"
coffer restore-keys --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --target-key-vault kv-erp-brazilsouth
expect_error InvalidArgument 1 "restore-keys into a key vault of another geography"
coffer restore-keys --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --target-key-vault kv-erp-westus --output json
expect_rc 0 "restore-keys --target-key-vault kv-erp-westus"
expect_json '[(a["kind"], a["keyVault"], a["action"]) for a in d["keys"]]' \
    '[["key", "kv-erp-westus", "restored"], ["secret", "kv-erp-westus", "restored"]]' \
    "the KEK and the BEK secret are restored into kv-erp-westus from the recovery point's backups"
coffer restore --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --mode restore-disks \
    --target-region westus --target-resource-group rg-restore-westus --output json
expect_rc 0 "restore --mode restore-disks --target-region westus"
expect_json 'd["job"]["status"]' Completed "the restore job completed"
expect_json 'd["region"]' westus "the restore's target region is westus, the pair of the vault's region eastus"
expect_json 'd["source"]' Vault "it restored the vault copy replicated to the secondary region (never a snapshot)"
expect_json '[(x["disk"], x["region"], x["resourceGroup"]) for x in d["disks"]]' \
    '[["os", "westus", "rg-restore-westus"], ["0", "westus", "rg-restore-westus"]]' "both disks are in westus, in rg-restore-westus"
expect_true 'all(x["bekSecretURL"].startswith("https://kv-erp-westus.vault.azure.net/secrets/") and x["kekURL"].startswith("https://kv-erp-westus.vault.azure.net/keys/kek-erp/") for x in d["disks"])' \
    "the disks are still ADE-encrypted, with the BEK and KEK of kv-erp-westus"
RESTORED=$(json '{x["disk"]: x["name"] for x in d["disks"]}')
for disk in os 0; do
    name=$(printf '%s' "$RESTORED" | python3 -c "import json, sys; print(json.load(sys.stdin)['$disk'])")
    coffer platform checksum --state "$STATE" --restored-disk "$name"
    expect_rc 0 "the restored disk $name unlocks with the BEK and KEK in kv-erp-westus"
    expected=$(printf '%s' "$ERP_SUMS" | python3 -c "import json, sys; print(json.load(sys.stdin)['$disk'])")
    expect_equal "${OUT%% *}" "$expected" "restored disk $disk in westus is byte for byte the recovery point's"
done

step "What the service refuses for an ADE VM, also in the secondary region"
coffer restore --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --mode create-vm \
    --target-region westus --target-resource-group rg-restore-westus
expect_error UserErrorRestoreModeNotSupportedForEncryptedVm 1 "create-vm of an ADE VM in westus"
coffer restore --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --mode replace-existing --target-region westus
expect_error UserErrorRestoreModeNotSupportedForEncryptedVm 1 "replace-existing of an ADE VM"
coffer restore --state "$STATE" win-erp-01 --recovery-point "$ERP_POINT" --mode restore-disks \
    --target-region centralus --target-resource-group rg-restore-westus
expect_error UserErrorCrossRegionRestoreNotSupported 1 "a region that is not the pair (centralus)"
expect_text "use --target-region westus" "the hint names the pair"

step "A VM without ADE: a new VM in the secondary region, but no in-place restore across regions"
coffer restore --state "$STATE" lnx-web-02 --recovery-point "$WEB_POINT" --mode create-vm \
    --target-region westus --target-resource-group rg-restore-westus --target-name lnx-web-02-dr --output json
expect_rc 0 "create-vm of lnx-web-02 in westus"
expect_json '(d["vm"], d["region"], d["source"])' '["lnx-web-02-dr", "westus", "Vault"]' "VM lnx-web-02-dr is in westus, from the vault copy"
coffer platform show --state "$STATE" --output json
expect_json '[(v["region"], v["resourceGroup"]) for v in d["virtualMachines"] if v["name"] == "lnx-web-02-dr"]' \
    '[["westus", "rg-restore-westus"]]' "the platform has the new VM in westus"
coffer restore --state "$STATE" lnx-web-02 --recovery-point "$WEB_POINT" --mode replace-existing --target-region westus
expect_error UserErrorReplaceExistingNotSupported 1 "replace-existing across regions"
coffer restore --state "$STATE" lnx-web-02 --recovery-point "$WEB_SNAPSHOT_POINT" --mode create-vm \
    --target-region westus --target-resource-group rg-restore-westus
expect_error UserErrorCrossRegionRestoreNotSupported 1 "a snapshot-only point (not replicated)"
expect_text "snapshot tier only" "the message says the point is in the snapshot tier only"

step "A locally redundant vault has nothing in the secondary region"
coffer restore --state "$STATE" lnx-batch-03 --recovery-point "$BATCH_POINT" --mode create-vm \
    --target-region westus --target-resource-group rg-restore-westus
expect_error UserErrorCrossRegionRestoreNotSupported 1 "cross-region restore from rsv-batch-eastus"
coffer restore --state "$STATE" lnx-batch-03 --recovery-point "$BATCH_POINT" --mode create-vm --target-name lnx-batch-03-copy --output json
expect_rc 0 "a restore in the vault's own region works"
expect_json 'd["region"]' eastus "in eastus"

step "Brazil South's pair is in another geography: no cross-region restore for ADE VMs"
coffer restore --state "$STATE" lnx-erp-br --recovery-point "$BR_POINT" --mode restore-disks \
    --target-region southcentralus --target-resource-group rg-restore-westus
expect_error UserErrorCrossRegionRestoreNotSupported 1 "restore of lnx-erp-br (ADE) to southcentralus"
expect_text "another geography" "the message names the reason"
coffer restore --state "$STATE" lnx-erp-br --recovery-point "$BR_POINT" --mode restore-disks --output json
expect_rc 0 "a restore in brazilsouth works"
expect_json '(d["region"], d["source"])' '["brazilsouth", "Snapshot"]' "in brazilsouth, from the instant-restore snapshot"

finish
