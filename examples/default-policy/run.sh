#!/usr/bin/env bash
# Every vault comes with DefaultPolicy and EnhancedPolicy, made by the service: a VM is protected by the
# vault's DefaultPolicy without declaring it, backed up on demand and at 00:00 UTC; a declared DefaultPolicy
# is adopted and changed; when the declaration leaves, a prune forgets it and the vault keeps it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks

step "Protect a VM with the vault's DefaultPolicy, which no manifest declares"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
coffer validate "$EXAMPLE_DIR/manifests"
expect_rc 0 "validate: policy DefaultPolicy needs no declaration"
coffer plan --state "$STATE" "$EXAMPLE_DIR/manifests" --output json
expect_json '[(c["address"], c["action"]) for c in d["resource_changes"]]' \
    '[["RecoveryServicesVault/rsv-web-eus", "create"], ["ProtectedVM/lnx-web-01", "create"]]' "the vault and the protection, no policy"
expect_json 'd["diagnostics"]' '[]' "a clean plan: the new vault will have DefaultPolicy"
coffer apply --state "$STATE" "$EXAMPLE_DIR/manifests" --auto-approve --output json
expect_rc 0 "apply"
expect_json '(d["result"], d["summary"]["add"])' '["succeeded", 2]' "the vault and the protected VM created"

step "The vault's default policies, listed with the others, managed by no one"
coffer get policies --state "$STATE"
expect_text "MANAGED BY" "the text listing has a MANAGED BY column"
expect_text "every 4h from 08:00 for 24h" "EnhancedPolicy: every 4 hours from 08:00 UTC for 24 hours"
coffer get policies --state "$STATE" --output json
expect_json '[(p["name"], p["spec"]["policyType"], p["protectedItems"], p.get("managedBy")) for p in d["policies"]]' \
    '[["DefaultPolicy", "Standard", 1, null], ["EnhancedPolicy", "Enhanced", 0, null]]' "DefaultPolicy protects the VM; neither is coffer's"
expect_json '[(p["spec"]["schedule"]["time"], p["spec"]["instantRestoreRetentionDays"], p["spec"]["retention"]["daily"]["count"]) for p in d["policies"]]' \
    '[["00:00", 2, 30], ["08:00", 7, 180]]' "daily at 00:00 UTC, 2 days of snapshots, 30 days; Enhanced: 7 days, 180 days"

step "Back up now, then a day of the clock: DefaultPolicy runs at 00:00 UTC"
coffer backup lnx-web-01 --state "$STATE" --output json
expect_rc 0 "backup now"
expect_json '(d["status"], d["trigger"])' '["Completed", "OnDemand"]' "the on-demand job completed"
coffer platform clock --state "$STATE" --advance 1d --output json
expect_rc 0 "platform clock --advance 1d (from 2026-03-02T12:00:00Z)"
expect_json '[(j["vm"], j["start"], j["status"]) for j in d["jobs"]]' \
    '[["lnx-web-01", "2026-03-03T00:00:00Z", "Completed"]]' "one scheduled backup, at midnight UTC"

step "Declare DefaultPolicy to keep daily points 45 days: coffer adopts the vault's own and changes it"
coffer plan --state "$STATE" "$EXAMPLE_DIR/manifests-declared" --output json
expect_json '[(c["address"], c["action"], c["changed_paths"]) for c in d["resource_changes"] if c["action"] != "no-op"]' \
    '[["BackupPolicy/DefaultPolicy", "update", ["retention.daily.count"]]]' "an update in place, not a create"
expect_json '[x["code"] for x in d["diagnostics"]]' '["adopt-with-changes"]' "a warning: coffer takes over the vault's policy"
coffer apply --state "$STATE" "$EXAMPLE_DIR/manifests-declared" --auto-approve
expect_rc 0 "apply"
coffer get policies --state "$STATE" --output json
expect_json '[p["spec"]["retention"]["daily"]["count"] for p in d["policies"] if p["name"] == "DefaultPolicy"]' '[45]' "DefaultPolicy keeps daily points 45 days"

step "The declaration leaves the manifests: a prune forgets DefaultPolicy, never deletes it"
coffer plan --state "$STATE" "$EXAMPLE_DIR/manifests" --prune --output json
expect_json '[(c["address"], c["action"], c["reason"]) for c in d["resource_changes"] if c["kind"] == "BackupPolicy"]' \
    '[["BackupPolicy/DefaultPolicy", "no-op", "forget-vault-default"]]' "DefaultPolicy leaves the inventory"
expect_json 'd["summary"]["destroy"]' '0' "nothing to destroy"
coffer plan --state "$STATE" "$EXAMPLE_DIR/manifests" --prune
expect_text "coffer will forget these default policies" "the text plan says it is forgotten, not destroyed"
coffer apply --state "$STATE" "$EXAMPLE_DIR/manifests" --prune --auto-approve
expect_rc 0 "apply --prune"
coffer get policies --state "$STATE" --output json
expect_json '[(p["name"], p["spec"]["retention"]["daily"]["count"], p["protectedItems"]) for p in d["policies"]]' \
    '[["DefaultPolicy", 45, 1], ["EnhancedPolicy", 180, 0]]' "the vault keeps DefaultPolicy as last applied, still protecting the VM"
coffer plan --state "$STATE" "$EXAMPLE_DIR/manifests" --prune --detailed-exitcode
expect_rc 0 "nothing left to do"

finish
