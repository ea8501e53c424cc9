#!/usr/bin/env bash
# Commit-to-applied latency of `coffer watch --interval 1s`: commit a change to a repository, and time
# until the history records that commit as applied. Prints each sample and the median.
#   bench/watch.sh            # 5 commits
#   COMMITS=10 bench/watch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COMMITS=${COMMITS:-5}
swift build -c release --product coffer >/dev/null
COFFER=$(swift build -c release --show-bin-path)/coffer
ROOT=$(pwd)
WORK=$(mktemp -d)
trap 'kill "$WATCH" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$COFFER" platform init --state "$WORK/state" --world examples/reference/world.yaml >/dev/null
git init -q -b main "$WORK/repo"
cp -r manifests "$WORK/repo/manifests"
git -C "$WORK/repo" add -A
git -C "$WORK/repo" -c user.name=bench -c user.email=bench@example.invalid commit -qm "Reference desired state"

"$COFFER" watch --state "$WORK/state" --repo "$WORK/repo" --ref main --path manifests --interval 1s >"$WORK/watch.log" 2>&1 &
WATCH=$!

applied() { "$COFFER" history --state "$WORK/state" --output json | python3 -c "import json,sys; print(' '.join(a['source'].get('commit') or '' for a in json.load(sys.stdin)['applies']))"; }
until applied | grep -q "$(git -C "$WORK/repo" rev-parse HEAD)"; do sleep 0.1; done

samples=()
for i in $(seq "$COMMITS"); do
    sed -i "s/count: [0-9]*$/count: $((30 + i))/" "$WORK/repo/manifests/policies.yaml"
    git -C "$WORK/repo" -c user.name=bench -c user.email=bench@example.invalid commit -qam "Keep $((30 + i)) days"
    commit=$(git -C "$WORK/repo" rev-parse HEAD)
    start=$(date +%s.%N)
    until applied | grep -q "$commit"; do sleep 0.05; done
    end=$(date +%s.%N)
    sample=$(python3 -c "print(f'{$end - $start:.2f}')")
    samples+=("$sample")
    echo "commit $i: applied after ${sample}s"
done
python3 -c "import statistics,sys; print(f'median commit-to-applied latency: {statistics.median(map(float, sys.argv[1:])):.2f}s (interval 1s)')" "${samples[@]}"
