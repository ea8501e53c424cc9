#!/usr/bin/env bash
# The lifecycle of a backup item: stop protection and keep the data for ever (ProtectionStopped), then
# resume; delete the data (a ProtectedVM pruned with deletionPolicy: Delete): the item is soft-deleted for
# the vault's retention, its recovery points kept and restorable; a vault that holds it cannot be deleted;
# putting the ProtectedVM back recovers it (a rehydrate), `coffer undelete` does too; and after the
# retention the data is purged for good.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks
M="$WORK/manifests"
# The last column (KEYS) of each row of `coffer get recovery-points` in $OUT.
keys_column() { printf '%s\n' "$OUT" | awk 'NR > 1 { print $NF }' | sort -u | tr '\n' ' '; }

step "Create the platform, apply, back up both VMs"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
cp -r "$EXAMPLE_DIR/manifests" "$M"
coffer apply --state "$STATE" "$M" --auto-approve --output json
expect_json 'd["result"]' succeeded "apply"
for vm in lnx-db-03 lnx-web-03; do
    coffer backup --state "$STATE" "$vm" --output json
    expect_json 'd["status"]' Completed "backup $vm"
done
coffer get recovery-points --state "$STATE" --vm lnx-db-03
expect_equal "$(keys_column)" "BEK " "lnx-db-03 is BEK-only: its point's KEYS column says BEK"
coffer get recovery-points --state "$STATE" --vm lnx-web-03
expect_equal "$(keys_column)" "- " "lnx-web-03 has no ADE: no keys"

step "Stop protection of lnx-web-03 and keep its data for ever (protectionState: ProtectionStopped)"
printf '  protectionState: ProtectionStopped\n' >>"$M/lnx-web-03.yaml"
coffer apply --state "$STATE" "$M" --auto-approve --output json
expect_json 'd["result"]' succeeded "apply"
coffer get protected-vms --state "$STATE" --output json
expect_json '[i["state"] for i in d["protectedVMs"] if i["vm"] == "lnx-web-03"]' '["ProtectionStopped"]' "lnx-web-03 is ProtectionStopped"
coffer platform clock --state "$STATE" --advance 40d
expect_rc 0 "40 days later (past the on-demand point's 30 days)"
coffer get recovery-points --state "$STATE" --vm lnx-web-03 --output json
expect_json '[(p["type"], p.get("expiry")) for p in d["recoveryPoints"]]' '[["OnDemand", null]]' \
    "no backup ran, and its one point is kept for ever (no expiry)"
sed -i '/protectionState: ProtectionStopped/d' "$M/lnx-web-03.yaml"
coffer plan --state "$STATE" "$M" --output json
expect_json '[(c["action"], c["changed_paths"]) for c in d["resource_changes"] if c["name"] == "lnx-web-03"]' '[["update", ["protectionState"]]]' \
    "taking protectionState out again plans a resume"
coffer apply --state "$STATE" "$M" --auto-approve --output json
expect_json 'd["result"]' succeeded "apply"
coffer get protected-vms --state "$STATE" --output json
expect_json '[i["state"] for i in d["protectedVMs"] if i["vm"] == "lnx-web-03"]' '["Protected"]' "lnx-web-03 is protected again, under its policy"

step "Remove lnx-db-03 (deletionPolicy: Delete): the plan names the soft delete and when the data really goes"
coffer get protected-vms --state "$STATE" --output json
POINTS=$(json '[i["recoveryPoints"] for i in d["protectedVMs"] if i["vm"] == "lnx-db-03"][0]')
echo "  lnx-db-03 has $POINTS recovery points"
mv "$M/lnx-db-03.yaml" "$WORK/lnx-db-03.yaml"
coffer plan --state "$STATE" "$M" --prune
expect_rc 0 "plan --prune"
expect_text "the item stays soft-deleted for 30 days (the vault's soft-delete retention)" "it names the soft delete"
expect_text "the data is purged for good at 2026-07-13T00:00:00Z, if applied now" "and the date the data goes (40 days in, plus 30)"
coffer plan --state "$STATE" "$M" --prune --output json
expect_json '[(c["action"], c["deletion_policy"], c["soft_delete"]) for c in d["resource_changes"] if c["name"] == "lnx-db-03"]' \
    '[["delete", "Delete", {"purge_after": "2026-07-13T00:00:00Z", "retention_days": 30}]]' "as JSON: soft_delete"

step "Deleting everything, the vault too, is an error: the vault would still hold the soft-deleted item"
mkdir -p "$WORK/empty"
printf '# Nothing is declared: with --prune --prune-all, coffer would delete everything it owns.\n' >"$WORK/empty/nothing.yaml"
coffer plan --state "$STATE" "$WORK/empty" --prune --prune-all --output json
expect_json '[x["code"] for x in d["diagnostics"] if x["severity"] == "error" and x["code"] == "ServiceResourceNotEmpty"]' '["ServiceResourceNotEmpty"]' \
    "ServiceResourceNotEmpty: the vault holds items, soft-deleted ones included"
expect_true 'any(x["code"] == "ServiceResourceNotEmpty" and "manifests/vault.yaml:3:1, removed since" in x["summary"] for x in d["diagnostics"])' \
    "a pruned vault has no line left: the error names where it was last declared"

step "Apply the prune: lnx-db-03 is soft-deleted, its points kept and restorable"
coffer apply --state "$STATE" "$M" --prune --auto-approve --output json
expect_json 'd["result"]' succeeded "apply --prune"
coffer get protected-vms --state "$STATE" --output json
expect_json '[(i["state"], i["purgeAt"], i["recoveryPoints"]) for i in d["protectedVMs"] if i["vm"] == "lnx-db-03"]' \
    "[[\"SoftDeleted\", \"2026-07-13T00:00:00Z\", $POINTS]]" "SoftDeleted until 2026-07-13, its $POINTS points kept"
coffer get recovery-points --state "$STATE" --vm lnx-db-03 --output json
LATEST=$(json 'd["recoveryPoints"][-1]["id"]')
coffer restore --state "$STATE" lnx-db-03 --recovery-point "$LATEST" --mode restore-disks --target-resource-group rg-restore --output json
expect_rc 0 "a soft-deleted item's point restores"
coffer backup --state "$STATE" lnx-db-03
expect_error UserErrorBcmDatasourceNotPresent 1 "no backup runs: protection is stopped"

step "Put the ProtectedVM back: the plan recovers the item (undelete, then resume) instead of creating one"
cp "$WORK/lnx-db-03.yaml" "$M/"
coffer plan --state "$STATE" "$M" --output json
expect_json '[(c["action"], c["reason"]) for c in d["resource_changes"] if c["name"] == "lnx-db-03"]' '[["create", "recover-soft-deleted"]]' \
    "create, reason recover-soft-deleted"
coffer plan --state "$STATE" "$M"
expect_text "ProtectedVM/lnx-db-03 will be recovered from soft delete" "the text plan says so"
coffer apply --state "$STATE" "$M" --auto-approve --output json
expect_json 'd["result"]' succeeded "apply"
coffer get protected-vms --state "$STATE" --output json
expect_json '[(i["state"], i["recoveryPoints"]) for i in d["protectedVMs"] if i["vm"] == "lnx-db-03"]' "[[\"Protected\", $POINTS]]" \
    "Protected again, with its $POINTS recovery points"

step "coffer undelete: the same recovery by hand"
mv "$M/lnx-db-03.yaml" "$WORK/lnx-db-03.yaml"
coffer apply --state "$STATE" "$M" --prune --auto-approve --output json
expect_json 'd["result"]' succeeded "prune it again"
coffer undelete --state "$STATE" lnx-db-03
expect_rc 0 "coffer undelete lnx-db-03"
expect_text "recovered in vault rsv-data-eastus: protection stopped (ProtectionStopped), $POINTS recovery points kept" "it says what came back"
coffer undelete --state "$STATE" lnx-db-03
expect_error UserErrorBackupItemNotSoftDeleted 1 "a second undelete has nothing to recover"

step "Past the soft-delete retention the data is purged for good"
cp "$WORK/lnx-db-03.yaml" "$M/"
coffer apply --state "$STATE" "$M" --auto-approve --output json
expect_json 'd["result"]' succeeded "put it back under coffer (the stopped item is adopted and resumed)"
mv "$M/lnx-db-03.yaml" "$WORK/lnx-db-03.yaml"
coffer apply --state "$STATE" "$M" --prune --auto-approve --output json
expect_json 'd["result"]' succeeded "prune it again: soft-deleted"
coffer platform clock --state "$STATE" --advance 31d
expect_rc 0 "31 days later"
coffer get protected-vms --state "$STATE" --output json
expect_json '[i["vm"] for i in d["protectedVMs"]]' '["lnx-web-03"]' "the item of lnx-db-03 is gone"
coffer get recovery-points --state "$STATE" --vm lnx-db-03 --output json
expect_json 'len(d["recoveryPoints"])' 0 "and so are its recovery points"

finish
