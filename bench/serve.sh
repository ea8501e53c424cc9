#!/usr/bin/env bash
# Serve benchmark: `coffer serve` answering GET of a protected item and the paged list of ITEMS protected
# items, beside a Hummingbird hello-world route served by the same binary, over the same TLS listener, in
# the same run.
#   bench/serve.sh                                   # 1 000 items; 1, 16 and 64 connections; 10 s each
#   ITEMS=2000 CONNECTIONS="16" DURATION=20 bench/serve.sh
# Needs: wrk and python3-venv (installed with apt-get when missing), the pinned SDKs of Tests/sdk (a
# virtualenv in .venv-sdk is made when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${ITEMS:-1000}
CONNECTIONS=${CONNECTIONS:-"1 16 64"}
DURATION=${DURATION:-10}
LIST_RUNS=${LIST_RUNS:-20}

command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
venv=${COFFER_SDK_VENV:-.venv-sdk}
if [ ! -x "$venv/bin/python" ] || ! cmp -s Tests/sdk/requirements.txt "$venv/.requirements.txt"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r Tests/sdk/requirements.txt
    cp Tests/sdk/requirements.txt "$venv/.requirements.txt"
fi
# COFFER=path runs a given build instead of building release.
if [ -z "${COFFER:-}" ]; then
    swift build -c release --product coffer >/dev/null
    COFFER=$(swift build -c release --show-bin-path)/coffer
fi
WORK=$(mktemp -d)
serve_pid=""
cleanup() {
    [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The platform: ITEMS VMs protected in one vault (setup, not measured).
python3 bench/gen_serve_world.py "$ITEMS" "$WORK" >/dev/null
state="$WORK/state"
"$COFFER" platform init --state "$state" --world "$WORK/world.yaml" >/dev/null
"$COFFER" apply --state "$state" --auto-approve "$WORK/manifests" >/dev/null

# Serve, logging every request as users run it (to a file), with the baseline route.
"$COFFER" serve --state "$state" --listen 127.0.0.1:0 --output json --baseline-route >"$WORK/serve.log" 2>&1 &
serve_pid=$!
url=""
for _ in $(seq 1 100); do
    url=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try: event = json.loads(line)
    except ValueError: continue
    if event.get("event") == "listening": print(event["url"]); break
' "$WORK/serve.log" 2>/dev/null || true)
    [ -n "$url" ] && break
    sleep 0.2
done
[ -n "$url" ] || { cat "$WORK/serve.log" >&2; echo "serve did not start" >&2; exit 1; }
token=$("$COFFER" serve token --state "$state" --expires-in 1h 2>/dev/null)
ca="$state/serve/ca.pem"
item="/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-vaults/providers/Microsoft.RecoveryServices/vaults/rsv-bench/backupFabrics/Azure/protectionContainers/IaasVMContainer%3Biaasvmcontainerv2%3Brg-vms%3Bvm-00000/protectedItems/VM%3Biaasvmcontainerv2%3Brg-vms%3Bvm-00000?api-version=2026-10-01"
# The item answers, with a token, before anything is measured.
curl -sf --cacert "$ca" -H "Authorization: Bearer $token" "$url$item" >/dev/null

# wrk's summary as "requests/s p50-ms p99-ms errors".
run_wrk() {
    local connections=$1 path=$2 threads=$(( $1 < 2 ? 1 : 2 ))
    wrk -t"$threads" -c"$connections" -d"${DURATION}s" --latency -H "Authorization: Bearer $token" "$url$path" >"$WORK/wrk.out"
    python3 - "$WORK/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(value):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
socket = re.search(r"Socket errors: (.*)", text)
print(f"{rate:.0f} {p50:.2f} {p99:.2f} {int(errors.group(1)) if errors else 0}{' (' + socket.group(1) + ')' if socket else ''}")
PY
}

printf '%-6s %-24s %10s %9s %9s %9s %8s\n' conns route "req/s" "p50 ms" "p99 ms" "vs hello" errors
for c in $CONNECTIONS; do
    read -r hello_rate hello_p50 hello_p99 hello_errors < <(run_wrk "$c" /.coffer/hello)
    read -r item_rate item_p50 item_p99 item_errors < <(run_wrk "$c" "$item")
    printf '%-6s %-24s %10s %9s %9s %9s %8s\n' "$c" "hello world (baseline)" "$hello_rate" "$hello_p50" "$hello_p99" "1.00x" "$hello_errors"
    printf '%-6s %-24s %10s %9s %9s %9s %8s\n' "$c" "GET protected item" "$item_rate" "$item_p50" "$item_p99" \
        "$(python3 -c "print(f'{$item_rate/$hello_rate:.2f}x')")" "$item_errors"
done

"$venv/bin/python" bench/serve_list.py "$url" "$ca" "$token" "$LIST_RUNS" >"$WORK/list.json"
python3 - "$WORK/list.json" <<'PY'
import json, statistics, sys
result = json.load(open(sys.argv[1]))
print(f"list of {result['items']} protected items, {result['pages']} pages, every page, {len(result['sdk'])} runs:")
for key, label in (("http", "plain HTTP (keep-alive, JSON)"), ("sdk", "the Python SDK (typed models)"),
                   ("after_write", "plain HTTP, after a write")):
    ms = sorted(s * 1000 for s in result[key])
    print(f"  {label:32} median {statistics.median(ms):6.0f} ms   max {ms[-1]:6.0f} ms")
PY
