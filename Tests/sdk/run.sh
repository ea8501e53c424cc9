#!/usr/bin/env bash
# The official-SDK suite: starts `coffer serve` on a free port with a fresh state from
# examples/reference/world.yaml, issues a token, runs pytest with the pinned Azure SDKs (Tests/sdk/requirements.txt,
# in a virtualenv made here when missing), and stops serve. Extra arguments go to pytest (`-k cross`).
# test_restore.py and test_cross_region.py start a serve of their own on a fresh state (conftest.ServeProcess):
# the reference world, and examples/cross-region-restore/world.yaml, whose eastus has its pair westus.
#
# Environment: COFFER (the executable, default .build/debug/coffer), COFFER_SDK_VENV (default .venv-sdk).
set -euo pipefail
cd "$(dirname "$0")/../.."

coffer="${COFFER:-.build/debug/coffer}"
venv="${COFFER_SDK_VENV:-.venv-sdk}"
if [ ! -x "$coffer" ]; then
    echo "sdk: $coffer is not built; run 'swift build' first" >&2
    exit 1
fi
coffer="$(cd "$(dirname "$coffer")" && pwd)/$(basename "$coffer")"

if [ ! -x "$venv/bin/pytest" ] || ! cmp -s Tests/sdk/requirements.txt "$venv/.requirements.txt"; then
    echo "sdk: installing the pinned SDKs into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r Tests/sdk/requirements.txt
    cp Tests/sdk/requirements.txt "$venv/.requirements.txt"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/coffer-sdk.XXXXXX")"
serve_pid=""
cleanup() {
    if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
        kill -TERM "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

state="$work/state"
"$coffer" platform init --state "$state" --world examples/reference/world.yaml >/dev/null

# Port 0: serve takes a free port and says which in its first JSON line. The suites poll long-running
# operations: every one answers 202 (--sync-grace 0); test_synchronous.py starts a serve of its own with a grace.
"$coffer" serve --state "$state" --listen 127.0.0.1:0 --output json --sync-grace 0 >"$work/serve.log" 2>&1 &
serve_pid=$!
url=""
for _ in $(seq 1 100); do
    url="$("$venv/bin/python" -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("event") == "listening":
        print(event["url"]); break
' "$work/serve.log" 2>/dev/null || true)"
    [ -n "$url" ] && break
    if ! kill -0 "$serve_pid" 2>/dev/null; then
        cat "$work/serve.log" >&2
        echo "sdk: coffer serve exited before listening" >&2
        exit 1
    fi
    sleep 0.2
done
if [ -z "$url" ]; then
    cat "$work/serve.log" >&2
    echo "sdk: coffer serve did not start listening" >&2
    exit 1
fi

token="$("$coffer" serve token --state "$state" --expires-in 2h --description "Tests/sdk" 2>/dev/null)"

status=0
COFFER="$coffer" COFFER_STATE="$state" COFFER_SERVE_URL="$url" COFFER_SERVE_CA="$state/serve/ca.pem" COFFER_SERVE_TOKEN="$token" \
    "$venv/bin/pytest" -q -p no:cacheprovider Tests/sdk "$@" || status=$?

# Serve stops on SIGTERM after the requests in flight; it must exit 0.
kill -TERM "$serve_pid"
serve_status=0
wait "$serve_pid" || serve_status=$?
serve_pid=""
if [ "$serve_status" -ne 0 ]; then
    echo "sdk: coffer serve exited with $serve_status on SIGTERM" >&2
    tail -20 "$work/serve.log" >&2
    status=1
fi
if grep -q "$token" "$work/serve.log"; then
    echo "sdk: the token appears in serve's log" >&2
    status=1
fi
requests=$(grep -c '"request-id"' "$work/serve.log" || true)
echo "sdk: serve answered $requests requests"
exit "$status"
