#!/usr/bin/env bash
# A policy's time zone is a Windows time-zone id, checked by validate against the table the platform reads:
# a misspelt one is refused at its line with the id it meant, and a policy in W. Australia Standard Time
# (+08:00, an id beyond the few that coffer once knew) is applied and backs up at 02:00 in Perth.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks

step "Validate refuses a misspelt time zone, at its line, with the id it meant"
coffer validate "$EXAMPLE_DIR/manifests-misspelt" --output json
expect_rc 65 "validate: invalid manifests"
expect_json '[(x["code"], x["range"]["line"], x["range"]["column"]) for x in d["diagnostics"]]' '[["invalid-value", 16, 13]]' \
    "one error, at backup.yaml:16:13, the value of timeZone"
expect_json 'd["diagnostics"][0]["summary"]' "'W. Australia Standart Time' is not a Windows time-zone id" "the summary names the value"
expect_json 'd["diagnostics"][0]["hint"]' "did you mean 'W. Australia Standard Time'?" "the hint names the id it meant"
coffer validate "$EXAMPLE_DIR/manifests-misspelt"
expect_text "backup.yaml:16:13: error[invalid-value]" "the text form points at file:line:column"

step "Apply the policy in W. Australia Standard Time"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
coffer validate "$EXAMPLE_DIR/manifests"
expect_rc 0 "validate"
coffer apply --state "$STATE" "$EXAMPLE_DIR/manifests" --auto-approve --output json
expect_rc 0 "apply"
expect_json '(d["result"], d["summary"]["add"])' '["succeeded", 3]' "a vault, the policy and the protected VM created"
coffer get policies --state "$STATE" --output json
expect_json '[p["spec"]["timeZone"] for p in d["policies"] if p["name"] == "nightly-perth"]' '["W. Australia Standard Time"]' \
    "the platform holds the zone as written"

step "A day of the clock: 02:00 in Perth is 18:00 UTC the day before"
coffer platform clock --state "$STATE" --advance 1d --output json
expect_rc 0 "platform clock --advance 1d (from 2026-02-02T00:00:00Z)"
expect_json '[(j["vm"], j["start"], j["status"]) for j in d["jobs"]]' \
    '[["lnx-per-01", "2026-02-02T18:00:00Z", "Completed"]]' "one scheduled backup, at 2026-02-03 02:00 +08:00"

finish
