#!/usr/bin/env bash
# Plan benchmark: N resources (5 % vaults, 10 % policies, 5 % access policies, 80 % protected VMs) with a
# matching world. Prints the wall time and peak memory of the first apply, of a plan and of a no-op apply
# against a converged platform, through the embedded provider and over HTTP (--endpoint: a coffer serve of
# the same generated world, on a copy of its own), beside PyYAML's C loader merely parsing the same files,
# in the same run.
#   bench/plan.sh            # N = 1000 and 10000
#   SIZES="1000 5000" RUNS=9 bench/plan.sh
#   COFFER=.build-release/release/coffer bench/plan.sh   # a given build instead of building release
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000"}
RUNS=${RUNS:-7}
# The first apply over HTTP is cut off after this many seconds (and reported as such).
FIRST_APPLY_LIMIT=${FIRST_APPLY_LIMIT:-900}
# coffer serve's options: by default it answers a protected item's PUT at once when the work is done within
# half a second (its own default, 0, answers 202 and is polled, as Azure does). SERVE_ARGS= for the default.
SERVE_ARGS=${SERVE_ARGS---sync-grace 500ms}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
python3 -c 'import yaml; yaml.CSafeLoader' 2>/dev/null || pip install -q pyyaml
if [ -z "${COFFER:-}" ]; then
    swift build -c release --product coffer >/dev/null
    COFFER=$(swift build -c release --show-bin-path)/coffer
fi
WORK=$(mktemp -d)
serve_pid=""
stop_serve() {
    if [ -n "$serve_pid" ]; then
        kill -TERM "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
        serve_pid=""
    fi
}
trap 'stop_serve; rm -rf "$WORK"' EXIT

# Starts coffer serve on $1 (a free port); sets serve_pid and ENDPOINT (the client's options).
start_serve() {
    local state=$1 url=""
    # shellcheck disable=SC2086
    "$COFFER" serve --state "$state" --listen 127.0.0.1:0 --output json $SERVE_ARGS >"$WORK/serve.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1 200); do
        url=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try: event = json.loads(line)
    except ValueError: continue
    if event.get("event") == "listening": print(event["url"]); break
' "$WORK/serve.log" 2>/dev/null || true)
        [ -n "$url" ] && break
        sleep 0.1
    done
    [ -n "$url" ] || { cat "$WORK/serve.log" >&2; echo "serve did not start" >&2; exit 1; }
    "$COFFER" serve token --state "$state" --expires-in 2h >"$WORK/token" 2>/dev/null
    ENDPOINT=(--endpoint "$url" --token-file "$WORK/token" --ca-file "$state/serve/ca.pem")
}

# Peak resident memory (MiB) of the running serve.
serve_peak() { awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$serve_pid/status"; }

# Runs "$@" under /usr/bin/time; sets T (seconds) and M (peak KiB).
timed() {
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
    read -r T M <"$WORK/time"
}

# Runs the five commands in turn RUNS times (parse, plan, plan over HTTP, no-op apply, no-op apply over
# HTTP, parse, ...), so that a noisy spell on the shared machine falls on all alike; prints the median wall
# seconds and peak RSS (MiB) of each.
measure_interleaved() {
    local -a times=() mems=()
    for _ in $(seq "$RUNS"); do
        local i=0
        for command in parse plan plan-http apply apply-http; do
            case $command in
            parse) timed python3 bench/parse_pyyaml.py "$dir/manifests" ;;
            plan) timed "$COFFER" plan --state "$state" "$dir/manifests" ;;
            plan-http) timed "$COFFER" plan --state "$served" "$dir/manifests" "${ENDPOINT[@]}" ;;
            apply) timed "$COFFER" apply --state "$state" --auto-approve "$dir/manifests" ;;
            apply-http) timed "$COFFER" apply --state "$served" --auto-approve "$dir/manifests" "${ENDPOINT[@]}" ;;
            esac
            times[$i]="${times[$i]:-} $T"
            mems[$i]="${mems[$i]:-} $M"
            i=$((i + 1))
        done
    done
    python3 - "${times[@]}" "${mems[@]}" <<'PY'
import statistics, sys
args = [[float(x) for x in arg.split()] for arg in sys.argv[1:]]
half = len(args) // 2
print(" ".join(f"{statistics.median(args[i]):.3f} {statistics.median(args[half + i]) / 1024:.1f}" for i in range(half)))
PY
}

row() { printf '%-7s %-34s %10s %10s %16s\n' "$@"; }
row N step seconds "peak MiB" "ratio"
for n in $SIZES; do
    dir="$WORK/n$n"
    python3 bench/gen_plan_corpus.py "$n" "$dir" >/dev/null
    state="$dir/state"
    served="$dir/served"
    "$COFFER" platform init --state "$state" --world "$dir/world.yaml" >/dev/null
    "$COFFER" platform init --state "$served" --world "$dir/world.yaml" >/dev/null
    timed "$COFFER" apply --state "$state" --auto-approve "$dir/manifests"
    first_t=$T first_m=$M
    start_serve "$served"
    if /usr/bin/time -f "%e %M" -o "$WORK/time" timeout "$FIRST_APPLY_LIMIT" \
        "$COFFER" apply --state "$served" --auto-approve "$dir/manifests" "${ENDPOINT[@]}" >/dev/null 2>"$WORK/err"; then
        read -r http_t http_m <"$WORK/time"
        http_shown=$http_t
        http_ratio=$(python3 -c "print(f'{$http_t/$first_t:.2f}x embedded')")
    else
        # Cut off (or failed): converge the copy embedded, so that the no-op rows measure the same state.
        http_m=$(tail -n 1 "$WORK/time" 2>/dev/null | awk '{ print $2 }')
        http_shown=">$FIRST_APPLY_LIMIT"
        http_ratio="cut off"
        "$COFFER" apply --state "$served" --auto-approve "$dir/manifests" >/dev/null
    fi
    read -r parse_t parse_m plan_t plan_m planh_t planh_m apply_t apply_m applyh_t applyh_m < <(measure_interleaved)
    serve_m=$(serve_peak)
    stop_serve
    ratio() { python3 -c "print(f'{$1/$2:.2f}x $3')"; }
    row "$n" "first apply, embedded" "$first_t" "$((first_m / 1024))" "-"
    row "$n" "first apply, over HTTP" "$http_shown" "$((${http_m:-0} / 1024))" "$http_ratio"
    row "$n" "PyYAML CSafeLoader parse" "$parse_t" "$parse_m" "1.00x parse"
    row "$n" "coffer plan, embedded" "$plan_t" "$plan_m" "$(ratio "$plan_t" "$parse_t" parse)"
    row "$n" "coffer plan, over HTTP" "$planh_t" "$planh_m" "$(ratio "$planh_t" "$plan_t" embedded)"
    row "$n" "coffer apply (no-op), embedded" "$apply_t" "$apply_m" "$(ratio "$apply_t" "$parse_t" parse)"
    row "$n" "coffer apply (no-op), over HTTP" "$applyh_t" "$applyh_m" "$(ratio "$applyh_t" "$apply_t" embedded)"
    row "$n" "coffer serve (peak, whole run)" "-" "$serve_m" "-"
done
