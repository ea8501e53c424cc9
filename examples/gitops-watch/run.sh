#!/usr/bin/env bash
# The GitOps loop. A git repository holds the manifests; `coffer watch --once` applies its commit (as a CI
# job would); then `coffer watch` runs in the background, polling every second: a new commit is applied
# and recorded with its commit id, an invalid commit is never applied, and an access policy removed out of
# band is put back. SIGTERM stops it cleanly.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks
REPO="$WORK/backup-config"
LOG="$WORK/watch.log"

git_() { git -C "$REPO" -c user.name="Example Operator" -c user.email=operator@example.invalid "$@"; }
head_commit() { git -C "$REPO" rev-parse HEAD; }
# Whether coffer's history has an apply of this commit.
history_has() {
    "$COFFER" history --state "$STATE" --output json | python3 -c \
        'import json, sys; sys.exit(0 if any(a["source"].get("commit") == sys.argv[1] for a in json.load(sys.stdin)["applies"]) else 1)' "$1"
}
# Whether watch's JSON log has an event (with a commit, if given).
logged() {
    python3 - "$LOG" "$@" <<'PY'
import json, sys
path, event = sys.argv[1], sys.argv[2]
commit = sys.argv[3] if len(sys.argv) > 3 else None
for line in open(path):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("event") == event and (commit is None or entry.get("commit") == commit):
        sys.exit(0)
sys.exit(1)
PY
}
backup_service_access() {
    "$COFFER" get access-policies --state "$STATE" --output json | python3 -c \
        'import json, sys; print(json.dumps([p["secretPermissions"] for p in json.load(sys.stdin)["accessPolicies"] if p["principalName"] == "Backup Management Service"]))'
}
has_backup_service_access() { [ "$(backup_service_access)" == '[["Backup", "Get", "List"]]' ]; }

step "Create the platform and a git repository with the manifests"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
git init -q -b main "$REPO"
cp -r "$EXAMPLE_DIR/manifests" "$REPO/manifests"
git_ add -A
git_ commit -qm "Back up lnx-ade-04"
FIRST=$(head_commit)
pass "commit ${FIRST:0:10}: Back up lnx-ade-04"

step "watch --once: reconcile the branch once and exit (as in CI)"
coffer watch --state "$STATE" --repo "$REPO" --ref main --path manifests --once --output json
expect_rc 0 "watch --once"
printf '%s\n' "$OUT" >"$LOG"
logged applied "$FIRST" || fail "watch --once did not log the apply of $FIRST"
pass "it logged the apply of ${FIRST:0:10}"
coffer history --state "$STATE" --output json
expect_json '[(a["source"]["commit"], a["source"]["ref"], a["source"]["subdirectory"], a["source"]["summary"], a["result"]) for a in d["applies"]]' \
    "[[\"$FIRST\", \"main\", \"manifests\", \"Back up lnx-ade-04\", \"succeeded\"]]" "the history records the commit, ref, folder and summary"
expect_json 'd["applies"][0]["summary"]["add"]' 4 "4 resources added"
NOTE=$(git -C "$REPO" notes --ref=coffer show "$FIRST")
case "$NOTE" in *"coffer apply succeeded"*"4 to add"*) pass "the commit has a coffer note: $(echo "$NOTE" | head -n 1)" ;; *) fail "the note on $FIRST is '$NOTE'" ;; esac

step "Start watch in the background: poll every second, look for drift every 2 seconds"
echo "\$ $(describe "$COFFER" watch --state "$STATE" --repo "$REPO" --ref main --path manifests --interval 1s --drift-interval 2s --output json) > \$WORK/watch.log &"
"$COFFER" watch --state "$STATE" --repo "$REPO" --ref main --path manifests --interval 1s --drift-interval 2s --output json \
    </dev/null >"$LOG" 2>&1 &
WATCH_PID=$!
BACKGROUND_PIDS+=("$WATCH_PID")
wait_until 30 "watch finds ${FIRST:0:10} already applied" logged in-sync "$FIRST"

step "Push a new commit: keep daily points 45 days, and protect lnx-web-05"
sed -i 's/count: 30/count: 45/' "$REPO/manifests/vault.yaml"
cp "$EXAMPLE_DIR/changes/lnx-web-05.yaml" "$REPO/manifests/"
git_ add -A
git_ commit -qm "Keep daily points 45 days; protect lnx-web-05"
SECOND=$(head_commit)
pass "commit ${SECOND:0:10}"
wait_until 30 "watch applies ${SECOND:0:10} (the history has it)" history_has "$SECOND"
coffer history --state "$STATE" --output json
expect_json '(d["applies"][0]["source"]["commit"], d["applies"][0]["result"], d["applies"][0]["summary"])' \
    "[\"$SECOND\", \"succeeded\", {\"add\": 1, \"change\": 1, \"destroy\": 0, \"replace\": 0}]" "newest apply: that commit, 1 added, 1 changed"
coffer get policies --state "$STATE" --output json
expect_json '[p["spec"]["retention"]["daily"]["count"] for p in d["policies"] if p.get("managedBy") == "coffer"]' '[45]' \
    "the policy keeps daily points 45 days (the vault's default policies aside)"
coffer get protected-vms --state "$STATE" --output json
expect_json 'sorted(i["vm"] for i in d["protectedVMs"])' '["lnx-ade-04", "lnx-web-05"]' "lnx-web-05 is protected"
wait_until 10 "watch logged the apply" logged applied "$SECOND"

step "Push an invalid commit: watch refuses it and keeps the last good one"
sed -i 's/count: 45/count: "45"/' "$REPO/manifests/vault.yaml"
git_ commit -qam "Quote the retention count (invalid: it must be an integer)"
BROKEN=$(head_commit)
wait_until 30 "watch logs ${BROKEN:0:10} as invalid" logged invalid "$BROKEN"
history_has "$BROKEN" && fail "the invalid commit was applied"
pass "the invalid commit is not in the history"

step "Drift: remove the Backup Management Service's access to the key vault out of band"
coffer platform keyvault remove-access --state "$STATE" kv-web-neu BackupManagementService
expect_rc 0 "remove-access"
wait_until 30 "watch puts the access policy back" has_backup_service_access
wait_until 10 "watch logged the repair" logged repaired "$SECOND"
coffer get access-policies --state "$STATE" --output json
expect_json '[(p["secretPermissions"], p["keyPermissions"], p["managedBy"]) for p in d["accessPolicies"] if p["principalName"] == "Backup Management Service"]' \
    '[[["Backup", "Get", "List"], [], "coffer"]]' "secrets Get, List, Backup, owned by coffer again"
coffer history --state "$STATE" --output json
expect_json '(d["applies"][0]["source"]["commit"], d["applies"][0]["result"], d["applies"][0]["summary"]["add"])' \
    "[\"$SECOND\", \"succeeded\", 1]" "the repair is in the history, applied from the last good commit"
coffer backup --state "$STATE" lnx-ade-04 --output json
expect_json 'd["status"]' Completed "and backups of lnx-ade-04 work"

step "Stop watch with SIGTERM"
kill -TERM "$WATCH_PID"
WATCH_RC=0
wait "$WATCH_PID" || WATCH_RC=$?
expect_equal "$WATCH_RC" 0 "watch exits 0 on SIGTERM"
logged signal || fail "watch did not log the signal"
logged stop || fail "watch did not log that it stopped"
pass "it logged the signal and its stop"
NOTES=$(git -C "$REPO" log --notes=coffer --format='%h %s%n%N')
case "$NOTES" in
    *"Keep daily points"*"coffer apply succeeded"*"Back up lnx-ade-04"*"coffer apply succeeded"*) pass "git log --notes=coffer shows both applies" ;;
    *) fail "git log --notes=coffer: $NOTES" ;;
esac

step "With watch stopped, the same drift again: plan shows it, a fix commit and watch --once repair it"
coffer platform keyvault remove-access --state "$STATE" kv-web-neu BackupManagementService
expect_rc 0 "remove-access"
coffer plan --state "$STATE" --repo "$REPO" --ref main --path manifests
expect_error invalid-manifests 65 "a plan of main (the invalid commit) is refused"
coffer plan --state "$STATE" --repo "$REPO" --ref "$SECOND" --path manifests --output json --detailed-exitcode
expect_rc 2 "a plan of the last good commit has changes"
expect_json '[(x["address"], x["observed"]) for x in d["drift"]]' '[["KeyVaultAccessPolicy/kv-web-neu-backup", null]]' \
    "the drift: the access policy coffer applied is gone from the platform"
expect_json '[(c["action"], c["reason"]) for c in d["resource_changes"] if c["kind"] == "KeyVaultAccessPolicy"]' \
    '[["create", "drifted-out-of-band"]]' "apply would create it again"
git_ revert --no-edit HEAD >/dev/null
FIXED=$(head_commit)
pass "commit ${FIXED:0:10}: revert the invalid commit"
coffer watch --state "$STATE" --repo "$REPO" --ref main --path manifests --once --output json
expect_rc 0 "watch --once"
printf '%s\n' "$OUT" >"$LOG"
logged applied "$FIXED" || fail "watch --once did not log the apply of $FIXED"
pass "it applied ${FIXED:0:10}"
has_backup_service_access || fail "the access policy is not back: $(backup_service_access)"
pass "the access policy is back"
coffer plan --state "$STATE" --repo "$REPO" --ref main --path manifests --detailed-exitcode
expect_rc 0 "main and the platform agree: no changes"

step "An invalid commit, then a commit that puts the manifests back: the platform is at that revision, recorded"
sed -i 's/count: 45/count: "45"/' "$REPO/manifests/vault.yaml"
git_ commit -qam "Quote the retention count again (invalid)"
INVALID=$(head_commit)
coffer watch --state "$STATE" --repo "$REPO" --ref main --path manifests --once --output json
printf '%s\n' "$OUT" >"$LOG"
logged invalid "$INVALID" || fail "watch --once did not refuse $INVALID"
pass "watch --once refuses ${INVALID:0:10}"
git_ revert --no-edit HEAD >/dev/null
BACK=$(head_commit)
pass "commit ${BACK:0:10}: the manifests of ${FIXED:0:10} again"
coffer watch --state "$STATE" --repo "$REPO" --ref main --path manifests --once
expect_rc 0 "watch --once"
expect_text "revision ${BACK:0:10} reconciled: no changes" "it logs the revision as reconciled, with no changes"
coffer history --state "$STATE" --output json
expect_json '(d["applies"][0]["source"]["commit"], d["applies"][0]["result"])' "[\"$BACK\", \"no-changes\"]" \
    "the history names ${BACK:0:10}: no changes"
history_has "$INVALID" && fail "the invalid commit is in the history"
pass "the invalid commit is not"
NOTE=$(git -C "$REPO" notes --ref=coffer show "$BACK")
case "$NOTE" in "coffer apply no-changes"*) pass "${BACK:0:10} has a note: $(echo "$NOTE" | head -n 1)" ;; *) fail "the note on $BACK is '$NOTE'" ;; esac
coffer status --state "$STATE"
expect_rc 0 "coffer status"
expect_text "Revision:    $BACK" "status names the revision the platform is at"
coffer status --state "$STATE" --output json
expect_json '(d["reconciled"]["source"]["commit"], d["reconciled"]["result"], d["driftSince"])' "[\"$BACK\", \"no-changes\", []]" \
    "as JSON: that revision, no changes, no drift found since"

finish
