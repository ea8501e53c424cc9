#!/usr/bin/env bash
# Plan benchmark: N resources (5 % vaults, 10 % policies, 5 % access policies, 80 % protected VMs) with a
# matching world. Prints the wall time and peak memory of a plan and of a no-op apply against a converged
# platform, beside PyYAML's C loader merely parsing the same files, in the same run.
#   bench/plan.sh            # N = 1000 and 10000
#   SIZES="1000 5000" RUNS=9 bench/plan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000"}
RUNS=${RUNS:-7}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
python3 -c 'import yaml; yaml.CSafeLoader' 2>/dev/null || pip install -q pyyaml
swift build -c release --product coffer >/dev/null
COFFER=$(swift build -c release --show-bin-path)/coffer
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Runs the three commands in turn RUNS times (parse, plan, apply, parse, plan, ...), so that a noisy spell on
# the shared machine falls on all three alike; prints the median wall seconds and peak RSS (MiB) of each.
measure_interleaved() {
    local parse_t=() parse_m=() plan_t=() plan_m=() apply_t=() apply_m=()
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$WORK/time" python3 bench/parse_pyyaml.py "$dir/manifests" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
        read -r t m <"$WORK/time"; parse_t+=("$t"); parse_m+=("$m")
        /usr/bin/time -f "%e %M" -o "$WORK/time" "$COFFER" plan --state "$state" "$dir/manifests" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
        read -r t m <"$WORK/time"; plan_t+=("$t"); plan_m+=("$m")
        /usr/bin/time -f "%e %M" -o "$WORK/time" "$COFFER" apply --state "$state" --auto-approve "$dir/manifests" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
        read -r t m <"$WORK/time"; apply_t+=("$t"); apply_m+=("$m")
    done
    python3 - "${parse_t[*]}" "${parse_m[*]}" "${plan_t[*]}" "${plan_m[*]}" "${apply_t[*]}" "${apply_m[*]}" <<'PY'
import statistics, sys
values = [[float(x) for x in arg.split()] for arg in sys.argv[1:]]
print(" ".join(f"{statistics.median(values[i]):.3f} {statistics.median(values[i + 1]) / 1024:.1f}" for i in (0, 2, 4)))
PY
}

printf '%-7s %-22s %10s %10s %12s\n' N step seconds "peak MiB" "vs parse"
for n in $SIZES; do
    dir="$WORK/n$n"
    python3 bench/gen_plan_corpus.py "$n" "$dir" >/dev/null
    state="$dir/state"
    "$COFFER" platform init --state "$state" --world "$dir/world.yaml" >/dev/null
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$COFFER" apply --state "$state" --auto-approve "$dir/manifests" >/dev/null 2>&1
    read -r setup_t setup_m <"$WORK/time"
    read -r parse_t parse_m plan_t plan_m apply_t apply_m < <(measure_interleaved)
    printf '%-7s %-22s %10s %10s %12s\n' "$n" "first apply (setup)" "$setup_t" "$(( setup_m / 1024 ))" "-"
    printf '%-7s %-22s %10s %10s %12s\n' "$n" "PyYAML CSafeLoader" "$parse_t" "$parse_m" "1.00x"
    printf '%-7s %-22s %10s %10s %12s\n' "$n" "coffer plan" "$plan_t" "$plan_m" "$(python3 -c "print(f'{$plan_t/$parse_t:.2f}x')")"
    printf '%-7s %-22s %10s %10s %12s\n' "$n" "coffer apply (no-op)" "$apply_t" "$apply_m" "$(python3 -c "print(f'{$apply_t/$parse_t:.2f}x')")"
done
