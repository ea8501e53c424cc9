#!/usr/bin/env bash
# Benchmark of reading manifests from git (not run in CI): coffer's GitRepository.files(at:under:) against
# `git archive REV | tar -x -C tmp` of the same tree, on a generated repository of 10 000 YAML manifests of
# about 1 KiB in nested folders, both packed (as a clone or fetch leaves it) and loose (as commits written
# one by one leave it). Each command runs RUNS times (default 5) alternating with the others, in one run of
# this script, and the medians are printed side by side with their ratio. Needs git and tar.
#
#   bench/git.sh            # builds coffer-git-bench in release mode, then measures
#   RUNS=9 FILES=20000 bench/git.sh
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
files=${FILES:-10000}
out=bench/out/git
# Extract onto tmpfs when there is one, so that tar measures git and tar rather than the disk.
scratch_base=${SCRATCH:-$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo "$out")}

for tool in git tar; do
    command -v "$tool" >/dev/null || { echo "git.sh: $tool is needed: apt-get install -y $tool" >&2; exit 1; }
done

swift build -c release --product coffer-git-bench >&2
bench=$(swift build -c release --show-bin-path)/coffer-git-bench

mkdir -p "$out"
if [ ! -f "$out/commit-$files" ]; then
    rm -rf "$out/loose" "$out/packed" "$out"/commit-*
    echo "generating $files manifests with libgit2..." >&2
    "$bench" generate "$out/loose" --files "$files" >"$out/commit-$files.tmp"
    git clone -q --bare "$out/loose" "$out/packed"
    git -C "$out/packed" repack -adq
    mv "$out/commit-$files.tmp" "$out/commit-$files"
fi
rev=$(cat "$out/commit-$files")
scratch=$(mktemp -d "$scratch_base/coffer-git-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }

echo
echo "Reading $files manifests (manifests/ at $rev), medians of $runs runs, $(nproc) cores, $(git --version)"
echo
echo "| repository | coffer files(at:under:) | git archive \\| tar -x | ratio (tar / coffer) | git archive > /dev/null | coffer in-process |"
echo "|---|---|---|---|---|---|"
for kind in packed loose; do
    repo="$out/$kind"
    coffer=() extract=() archive=()
    for _ in $(seq "$runs"); do
        start=$(now)
        summary=$("$bench" read "$repo" "$rev" --under manifests | head -1)
        coffer+=($(( $(now) - start )))

        rm -rf "$scratch/x" && mkdir "$scratch/x"
        start=$(now)
        git -C "$repo" archive "$rev" manifests | tar -x -C "$scratch/x"
        extract+=($(( $(now) - start )))

        start=$(now)
        git -C "$repo" archive "$rev" manifests >/dev/null
        archive+=($(( $(now) - start )))
    done
    # Both sides must have read the same files and bytes.
    count=$(find "$scratch/x" -type f | wc -l)
    bytes=$(find "$scratch/x" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    if [ "$summary" != "files=$count bytes=$bytes" ]; then
        echo "git.sh: coffer read '$summary' but tar extracted files=$count bytes=$bytes" >&2
        exit 1
    fi
    inprocess=$("$bench" read "$repo" "$rev" --under manifests --runs "$runs" | sed -n 's/^median=//p')
    c=$(printf '%s\n' "${coffer[@]}" | median)
    e=$(printf '%s\n' "${extract[@]}" | median)
    a=$(printf '%s\n' "${archive[@]}" | median)
    ratio=$(awk -v e="$e" -v c="$c" 'BEGIN { printf "%.2f", e / c }')
    echo "| $kind | $(ms "$c") ms | $(ms "$e") ms | ${ratio}× | $(ms "$a") ms | $(awk -v s="$inprocess" 'BEGIN { printf "%.1f", s * 1000 }') ms |"
done
echo
echo "coffer: one process per run (start, open, resolve, read every file into memory); tar: extracting into $scratch_base."
