#!/usr/bin/env bash
# The encryption and snapshot core benchmark (not a test; CI does not run it). On one disk image of random data
# it prints side by side: coffer's AES-256-XTS against `openssl speed -evp aes-256-xts`; and coffer's first
# backup, backup after overwriting scattered 64 KiB blocks, and restore against restic's — times (medians of
# RUNS runs), bytes stored for the change, and peak memory. See bench/README.md and BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}                    # runs per measurement; medians are reported
SIZE_MIB=${SIZE_MIB:-1024}         # disk size in MiB
CHANGED=${CHANGED:-160}            # 64 KiB-aligned 64 KiB blocks overwritten between the two backups
BLOCK_SIZES=${BLOCK_SIZES:-65536}  # coffer block sizes to measure, such as "4096 65536 1048576"
AT_REST=${AT_REST:-1}              # 1: coffer's disk is encrypted at rest, as Azure managed disks always are
WORK=${WORK:-bench/out/core}       # scratch directory; on tmpfs (WORK=/dev/shm/coffer-core) the disk drops out
XTS_SECONDS=${XTS_SECONDS:-2}      # seconds per XTS measurement
XTS_RUNS=${XTS_RUNS:-5}            # XTS measurements of each side, alternating; medians are reported

# Tools: restic and GNU time from apt when missing.
missing=()
command -v restic >/dev/null || missing+=(restic)
[ -x /usr/bin/time ] || missing+=(time)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "building coffer-bench (release)" >&2
swift build -c release --product coffer-bench --static-swift-stdlib >/dev/null 2>&1
BENCH=$(swift build -c release --show-bin-path)/coffer-bench

rm -rf "$WORK"
mkdir -p "$WORK/metrics"
WORK=$(cd "$WORK" && pwd)
IMAGE=$WORK/a.img
BLOCKS64K=$((SIZE_MIB * 16))
hexkey() { head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n'; }
hexkey 32 >"$WORK/master.key"
hexkey 64 >"$WORK/at-rest.key"
echo "coffer benchmark password" >"$WORK/restic.password"
export RESTIC_PASSWORD_FILE=$WORK/restic.password
AT_REST_ARGS=()
[ "$AT_REST" = 1 ] && AT_REST_ARGS=(--at-rest-key-file "$WORK/at-rest.key")
RESTIC=(restic --cache-dir "$WORK/restic-cache" -q)

# timed KEY CMD...: runs CMD under GNU time; records its wall seconds, CPU seconds (user + system: what the
# step costs whatever else loads the machine) and peak RSS (KiB) under KEY.
timed() {
    local key=$1
    shift
    local start end
    start=$(date +%s%N)
    /usr/bin/time -f "%M %U %S" -o "$WORK/rss.txt" "$@" >"$WORK/last.out"
    end=$(date +%s%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >>"$WORK/metrics/$key.time"
    tail -1 "$WORK/rss.txt" | awk '{ print $1 }' >>"$WORK/metrics/$key.rss"
    tail -1 "$WORK/rss.txt" | awk '{ printf "%.2f\n", $2 + $3 }' >>"$WORK/metrics/$key.cpu"
}
record() { echo "$2" >>"$WORK/metrics/$1"; }
field() { sed -n "s/^$1=//p" "$WORK/last.out" | tail -1; }
median() { sort -g "$WORK/metrics/$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1048576 }'; }
bytes_of() { du -sb "$1" | cut -f1; }

echo "AES-256-XTS: coffer against openssl speed" >&2
for _ in $(seq "$XTS_RUNS"); do
    "$BENCH" xts --seconds "$XTS_SECONDS" --buffer 16384 >"$WORK/last.out"
    printf "%.3f\n" "$(field xts_gbps)" >>"$WORK/metrics/xts.coffer"
    printf "%.3f\n" "$(field xts_wall_gbps)" >>"$WORK/metrics/xts.coffer-wall"
    # openssl's last line: AES-256-XTS, then k bytes/s for 16, 64, 256, 1024, 8192 and 16384-byte blocks,
    # divided by CPU user time, or by wall time with -elapsed.
    openssl speed -evp aes-256-xts -seconds "$XTS_SECONDS" 2>/dev/null | tail -1 \
        | awk '{ v = $NF; sub(/k$/, "", v); printf "%.3f\n", v * 1000 / 1e9 }' >>"$WORK/metrics/xts.openssl"
    openssl speed -elapsed -evp aes-256-xts -seconds "$XTS_SECONDS" 2>/dev/null | tail -1 \
        | awk '{ v = $NF; sub(/k$/, "", v); printf "%.3f\n", v * 1000 / 1e9 }' >>"$WORK/metrics/xts.openssl-wall"
done

echo "making a ${SIZE_MIB} MiB image of random data" >&2
head -c "${SIZE_MIB}M" /dev/urandom >"$IMAGE"
sync "$IMAGE"

for bs in $BLOCK_SIZES; do
    echo "block size $bs: the guest writes the image through BlockDevice" >&2
    DEV=$WORK/disk-$bs
    "$BENCH" create-device "$DEV" --size $((SIZE_MIB * 1048576)) --block-size "$bs" "${AT_REST_ARGS[@]}"
    timed "$bs.setup.write" "$BENCH" write-image "$DEV" "$IMAGE" "${AT_REST_ARGS[@]}"
    timed "$bs.setup.snapshot" "$BENCH" snapshot "$DEV" "${AT_REST_ARGS[@]}"
    snapshot=$(field snapshot)
    for run in $(seq "$RUNS"); do
        echo "block size $bs, run $run of $RUNS" >&2
        STORE=$WORK/store
        REPO=$WORK/restic-repo
        rm -rf "$STORE" "$REPO" "$WORK/restic-cache"
        "$BENCH" create-store "$STORE" --key-file "$WORK/master.key"
        "${RESTIC[@]}" -r "$REPO" init >/dev/null

        # What writing the image durably costs here, whoever does it: the floor under any first backup.
        timed "$bs.floor.dd" dd if="$IMAGE" of="$WORK/dd.img" bs=4M conv=fsync status=none
        rm -f "$WORK/dd.img"

        # First backup.
        timed "$bs.coffer.first" "$BENCH" backup "$DEV" "$STORE" --key-file "$WORK/master.key" --snapshot "$snapshot" "${AT_REST_ARGS[@]}"
        point=$(field recovery_point)
        timed "$bs.restic.first" "${RESTIC[@]}" -r "$REPO" backup "$IMAGE"

        # Overwrite CHANGED random 64 KiB-aligned blocks, in the image and (as guest writes) on the disk.
        : >"$WORK/ranges.txt"
        for block in $(shuf -i "0-$((BLOCKS64K - 1))" -n "$CHANGED"); do
            dd if=/dev/urandom of="$IMAGE" bs=65536 seek="$block" count=1 conv=notrunc status=none
            echo "$((block * 65536)) 65536" >>"$WORK/ranges.txt"
        done
        timed "$bs.setup.change" "$BENCH" write-image "$DEV" "$IMAGE" --ranges "$WORK/ranges.txt" "${AT_REST_ARGS[@]}"
        "$BENCH" snapshot "$DEV" "${AT_REST_ARGS[@]}" >"$WORK/last.out"
        next=$(field snapshot)

        # Backup after the change: time, and what it added to the store.
        before=$(bytes_of "$STORE")
        timed "$bs.coffer.incremental" "$BENCH" backup "$DEV" "$STORE" --key-file "$WORK/master.key" --snapshot "$next" \
            --base-snapshot "$snapshot" --base-point "$point" "${AT_REST_ARGS[@]}"
        record "$bs.coffer.growth" $(($(bytes_of "$STORE") - before))
        record "$bs.coffer.incremental.read" "$(field bytes_read)"
        point=$(field recovery_point)
        before=$(bytes_of "$REPO")
        timed "$bs.restic.incremental" "${RESTIC[@]}" -r "$REPO" backup "$IMAGE"
        record "$bs.restic.growth" $(($(bytes_of "$REPO") - before))

        # Restore, checked byte for byte against the image. coffer's restore is durable (fsync); restic's
        # is not, so its time with an fsync of the restored file is shown too.
        rm -rf "$WORK/restored" "$WORK/restic-restore"
        timed "$bs.coffer.restore" "$BENCH" restore "$STORE" "$point" os "$WORK/restored" --key-file "$WORK/master.key" "${AT_REST_ARGS[@]}"
        "$BENCH" compare "$WORK/restored" "$IMAGE" "${AT_REST_ARGS[@]}" >/dev/null
        start=$(date +%s%N)
        timed "$bs.restic.restore" "${RESTIC[@]}" -r "$REPO" restore latest --target "$WORK/restic-restore"
        restored=$(find "$WORK/restic-restore" -type f -name a.img)
        sync "$restored"
        end=$(date +%s%N)
        awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >>"$WORK/metrics/$bs.restic.restore-sync.time"
        cmp -s "$restored" "$IMAGE" || { echo "restic restored a different image" >&2; exit 1; }
        rm -rf "$WORK/restored" "$WORK/restic-restore"
        snapshot=$next
    done
    rm -rf "$DEV"
done

# Report.
cat <<EOF

coffer core benchmark: ${SIZE_MIB} MiB of random data, ${CHANGED} × 64 KiB changed ($(mib $((CHANGED * 65536))) MiB), medians of $RUNS runs
machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), work directory on $(df -T "$WORK" | awk 'NR == 2 { print $2 }')
$(restic version | head -1); $(openssl version); coffer disk encrypted at rest: $([ "$AT_REST" = 1 ] && echo yes || echo no)

AES-256-XTS, one thread, bytes per CPU second: coffer $(median xts.coffer) GB/s (AES256XTS.encryptSectors, 16 KiB buffers of four 4 KiB sectors), openssl speed $(median xts.openssl) GB/s (16384-byte column): $(awk -v a="$(median xts.coffer)" -v b="$(median xts.openssl)" 'BEGIN { printf "%.0f %%", 100 * a / b }')
  per wall second: coffer $(median xts.coffer-wall) GB/s, openssl speed -elapsed $(median xts.openssl-wall) GB/s: $(awk -v a="$(median xts.coffer-wall)" -v b="$(median xts.openssl-wall)" 'BEGIN { printf "%.0f %%", 100 * a / b }')
EOF
for bs in $BLOCK_SIZES; do
    changed=$((CHANGED * 65536))
    cat <<EOF

block size $bs (setup: guest writes of the image $(median "$bs.setup.write.time") s, snapshot $(median "$bs.setup.snapshot.time") s, the change $(median "$bs.setup.change.time") s)
| step | coffer | restic | restic / coffer |
|---|---|---|---|
| first backup | $(median "$bs.coffer.first.time") s | $(median "$bs.restic.first.time") s | $(ratio "$(median "$bs.restic.first.time")" "$(median "$bs.coffer.first.time")")x |
| (floor: \`dd conv=fsync\` of the image) | $(median "$bs.floor.dd.time") s | | |
| backup after the change | $(median "$bs.coffer.incremental.time") s | $(median "$bs.restic.incremental.time") s | $(ratio "$(median "$bs.restic.incremental.time")" "$(median "$bs.coffer.incremental.time")")x |
| bytes read by it | $(mib "$(median "$bs.coffer.incremental.read")") MiB | all | |
| stored for the change ($(mib $changed) MiB) | $(mib "$(median "$bs.coffer.growth")") MiB ($(ratio "$(median "$bs.coffer.growth")" $changed)x) | $(mib "$(median "$bs.restic.growth")") MiB ($(ratio "$(median "$bs.restic.growth")" $changed)x) | $(ratio "$(median "$bs.restic.growth")" "$(median "$bs.coffer.growth")")x |
| restore (coffer: fsynced) | $(median "$bs.coffer.restore.time") s | $(median "$bs.restic.restore.time") s | $(ratio "$(median "$bs.restic.restore.time")" "$(median "$bs.coffer.restore.time")")x |
| restore, restic with fsync | | $(median "$bs.restic.restore-sync.time") s | $(ratio "$(median "$bs.restic.restore-sync.time")" "$(median "$bs.coffer.restore.time")")x |
| CPU time (user + system): first backup | $(median "$bs.coffer.first.cpu") s | $(median "$bs.restic.first.cpu") s | $(ratio "$(median "$bs.restic.first.cpu")" "$(median "$bs.coffer.first.cpu")")x |
| CPU time: backup after the change | $(median "$bs.coffer.incremental.cpu") s | $(median "$bs.restic.incremental.cpu") s | $(ratio "$(median "$bs.restic.incremental.cpu")" "$(median "$bs.coffer.incremental.cpu")")x |
| CPU time: restore | $(median "$bs.coffer.restore.cpu") s | $(median "$bs.restic.restore.cpu") s | $(ratio "$(median "$bs.restic.restore.cpu")" "$(median "$bs.coffer.restore.cpu")")x |
| peak memory: first backup | $(($(median "$bs.coffer.first.rss") / 1024)) MiB | $(($(median "$bs.restic.first.rss") / 1024)) MiB | |
| peak memory: after the change | $(($(median "$bs.coffer.incremental.rss") / 1024)) MiB | $(($(median "$bs.restic.incremental.rss") / 1024)) MiB | |
| peak memory: restore | $(($(median "$bs.coffer.restore.rss") / 1024)) MiB | $(($(median "$bs.restic.restore.rss") / 1024)) MiB | |
EOF
done
echo
echo "raw figures: $WORK/metrics" >&2
