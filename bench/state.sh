#!/usr/bin/env bash
# Shared-state benchmark, in one run:
#  1. a no-op plan of N resources with the reconciler's state in PostgreSQL beside the file store (the same
#     world and manifests, each backend applied once first), RUNS times interleaved; medians and the ratio
#     (target: PostgreSQL at most 1.3x the files at 10 000 resources);
#  2. failover of `coffer watch --replicas-group` (two replicas against one coffer serve): KILLS kill -9s of the
#     leader; the time to a new term and to the new leader's first apply, median and maximum (target: under
#     two lease TTLs at the maximum).
# A throwaway PostgreSQL cluster on loopback (scripts/test-postgres.sh; Debian's postgresql).
#   bench/state.sh
#   N=1000 RUNS=3 KILLS=5 TTL=2 INTERVAL=0.5 bench/state.sh
#   COFFER=.build/debug/coffer N=1000 bench/state.sh      # an existing build
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
RUNS=${RUNS:-5}
KILLS=${KILLS:-10}
TTL=${TTL:-2}
INTERVAL=${INTERVAL:-0.5}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
if [ -z "${COFFER:-}" ]; then    # COFFER=path/to/coffer skips the release build
    swift build -c release --product coffer >/dev/null
    COFFER=$(swift build -c release --show-bin-path)/coffer
fi
WORK=$(mktemp -d)
chmod 755 "$WORK"    # the server runs as the postgres user
trap 'scripts/test-postgres.sh stop "$WORK/pg"; rm -rf "$WORK"' EXIT
URL=$(scripts/test-postgres.sh start "$WORK/pg")
psql -q "$URL" -c "CREATE DATABASE plan_bench" -c "CREATE DATABASE failover_bench"
PLAN_DB=${URL%/*}/plan_bench
FAILOVER_DB=${URL%/*}/failover_bench

echo "== no-op plan of $N resources: state in files vs PostgreSQL (medians of $RUNS, interleaved)"
python3 bench/gen_plan_corpus.py "$N" "$WORK/corpus" >/dev/null
for backend in files postgres; do
    "$COFFER" platform init --state "$WORK/$backend" --world "$WORK/corpus/world.yaml" >/dev/null
done
"$COFFER" apply --state "$WORK/files" --auto-approve "$WORK/corpus/manifests" >/dev/null
"$COFFER" apply --state "$WORK/postgres" --state-backend "$PLAN_DB" --auto-approve "$WORK/corpus/manifests" >/dev/null
files_t=() files_m=() pg_t=() pg_m=()
for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$COFFER" plan --state "$WORK/files" --detailed-exitcode "$WORK/corpus/manifests" >/dev/null
    read -r t m <"$WORK/time"; files_t+=("$t"); files_m+=("$m")
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$COFFER" plan --state "$WORK/postgres" --state-backend "$PLAN_DB" --detailed-exitcode "$WORK/corpus/manifests" >/dev/null
    read -r t m <"$WORK/time"; pg_t+=("$t"); pg_m+=("$m")
done
python3 - "${files_t[*]}" "${files_m[*]}" "${pg_t[*]}" "${pg_m[*]}" <<'PY'
import statistics, sys
ft, fm, pt, pm = ([float(x) for x in arg.split()] for arg in sys.argv[1:])
f, p = statistics.median(ft), statistics.median(pt)
print(f"{'backend':<12} {'seconds':>8} {'peak MiB':>9} {'ratio':>6}")
print(f"{'files':<12} {f:8.3f} {statistics.median(fm) / 1024:9.1f} {1:6.2f}x")
print(f"{'postgres':<12} {p:8.3f} {statistics.median(pm) / 1024:9.1f} {p / f:6.2f}x   (target: at most 1.30x)")
PY

echo
echo "== failover: $KILLS kills of the leader of two replicas (lease TTL ${TTL}s, interval ${INTERVAL}s)"
mkdir -p "$WORK/failover"
python3 bench/failover.py "$COFFER" "$FAILOVER_DB" "$WORK/failover" "$KILLS" "$TTL" "$INTERVAL"
