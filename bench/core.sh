#!/usr/bin/env bash
# The encryption and snapshot core benchmark (not a test; CI does not run it). On one disk image of random data
# it prints side by side: coffer's AES-256-XTS against `openssl speed -evp aes-256-xts`; and coffer's first
# backup, backup after overwriting scattered 64 KiB blocks, and restore against restic's — times (medians of
# RUNS runs), bytes stored for the change, and peak memory; and (section "sparse") a 4 TiB disk with 1 GiB
# written in scattered extents through 24 hourly backups, retention and a collection, against restic on a
# 64 GiB sparse file with the same data. See bench/README.md and BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}                    # runs per measurement; medians are reported
RESTORES=${RESTORES:-3}            # restores of each side per run, taken in turn
SIZE_MIB=${SIZE_MIB:-1024}         # disk size in MiB
CHANGED=${CHANGED:-160}            # 64 KiB-aligned 64 KiB blocks overwritten between the two backups
BLOCK_SIZES=${BLOCK_SIZES:-65536}  # coffer block sizes to measure, such as "4096 65536 1048576"
AT_REST=${AT_REST:-1}              # 1: coffer's disk is encrypted at rest, as Azure managed disks always are
WORK=${WORK:-bench/out/core}       # scratch directory; on tmpfs (WORK=/dev/shm/coffer-core) the disk drops out
XTS_SECONDS=${XTS_SECONDS:-2}      # seconds per XTS measurement
XTS_RUNS=${XTS_RUNS:-5}            # XTS measurements of each side, alternating; medians are reported
SECTIONS=${SECTIONS:-"xts dense sparse"}  # which parts to run
SCRATCH=${SCRATCH:-.build}         # swift build's scratch path for the release build
SPARSE_DISK_GIB=${SPARSE_DISK_GIB:-4096}    # sparse section: the disk's provisioned size
SPARSE_DATA_MIB=${SPARSE_DATA_MIB:-1024}    # data written on it, in 1 MiB extents at random places
SPARSE_BACKUPS=${SPARSE_BACKUPS:-24}        # hourly backups after the first, each after 0.1 % of the data changed
SPARSE_KEEP=${SPARSE_KEEP:-3}               # points retention keeps before the collection
RESTIC_FILE_GIB=${RESTIC_FILE_GIB:-64}      # the sparse file restic backs up (it reads every byte of it)
RESTIC_INCREMENTALS=${RESTIC_INCREMENTALS:-$SPARSE_BACKUPS}  # restic's hourly backups (each reads the whole file)

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
swift build -c release --scratch-path "$SCRATCH" --product coffer-bench --static-swift-stdlib >/dev/null 2>&1
BENCH=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/coffer-bench
has() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

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
    tail -1 "$WORK/rss.txt" | awk '{ printf "%.2f\n", $2 }' >>"$WORK/metrics/$key.user"
}
record() { echo "$2" >>"$WORK/metrics/$1"; }
field() { sed -n "s/^$1=//p" "$WORK/last.out" | tail -1; }
least() { sort -g "$WORK/metrics/$1" | head -1; }
median() { sort -g "$WORK/metrics/$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1048576 }'; }
bytes_of() { du -sb "$1" | cut -f1; }

has xts && echo "AES-256-XTS: coffer against openssl speed" >&2
has xts && for _ in $(seq "$XTS_RUNS"); do
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

has dense && echo "making a ${SIZE_MIB} MiB image of random data" >&2
has dense && head -c "${SIZE_MIB}M" /dev/urandom >"$IMAGE" && sync "$IMAGE"

has dense && for bs in $BLOCK_SIZES; do
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

        # Restores, checked byte for byte against the image, RESTORES of each side taken in turn with the
        # floor between them. coffer's restore is durable (fsync); restic's is not, so its time with an fsync
        # of the restored file is shown too. On a machine whose memory comes and goes (a VM that hands freed
        # pages back to its host), the first write of a fresh gigabyte to tmpfs costs anything from 0.4 to 6 s
        # of system time from one minute to the next, whoever writes it; that cost only ever adds, so the
        # fastest of each side's restores is reported beside the median, with user CPU time, which it does not
        # enter.
        for k in $(seq "$RESTORES"); do
            rm -rf "$WORK/restored" "$WORK/restic-restore"
            timed "$bs.coffer.restore" "$BENCH" restore "$STORE" "$point" os "$WORK/restored" --key-file "$WORK/master.key" "${AT_REST_ARGS[@]}"
            [ "$k" = 1 ] && "$BENCH" compare "$WORK/restored" "$IMAGE" "${AT_REST_ARGS[@]}" >/dev/null
            rm -rf "$WORK/restored"
            start=$(date +%s%N)
            timed "$bs.restic.restore" "${RESTIC[@]}" -r "$REPO" restore latest --target "$WORK/restic-restore"
            restored=$(find "$WORK/restic-restore" -type f -name a.img)
            sync "$restored"
            end=$(date +%s%N)
            awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >>"$WORK/metrics/$bs.restic.restore-sync.time"
            [ "$k" = 1 ] && { cmp -s "$restored" "$IMAGE" || { echo "restic restored a different image" >&2; exit 1; }; }
            rm -rf "$WORK/restic-restore"
            "$BENCH" floor --bytes $((SIZE_MIB * 1048576)) --dir "$WORK" >"$WORK/last.out"
            record "$bs.floor.restore" "$(printf "%.3f" "$(field floor_seconds)")"
            record "$bs.floor.write" "$(printf "%.2f" "$(field write_seconds)")"
        done
        snapshot=$next
    done
    rm -rf "$DEV"
done

# The sparse section: one run (its backups are the repetitions).
if has sparse; then
    echo "sparse: a ${SPARSE_DISK_GIB} GiB disk with ${SPARSE_DATA_MIB} MiB in scattered 1 MiB extents" >&2
    S=$WORK/sparse
    mkdir -p "$S"
    head -c "${SPARSE_DATA_MIB}M" /dev/urandom >"$S/data.img"
    # Extent k of the data goes to a random 1 MiB slot of the disk, and of restic's file.
    paste -d' ' <(seq 0 $((SPARSE_DATA_MIB - 1))) \
        <(shuf -i "0-$((SPARSE_DISK_GIB * 1024 - 1))" -n "$SPARSE_DATA_MIB") \
        <(shuf -i "0-$((RESTIC_FILE_GIB * 1024 - 1))" -n "$SPARSE_DATA_MIB") >"$S/extents.txt"
    awk '{ print $1 * 1048576, 1048576, $2 * 1048576 }' "$S/extents.txt" >"$S/disk-ranges.txt"
    awk '{ print $1 * 1048576, 1048576, $3 * 1048576 }' "$S/extents.txt" >"$S/file-ranges.txt"
    DEV=$S/disk
    STORE=$S/store
    REPO=$S/restic-repo
    FILE=$S/disk.img
    "$BENCH" create-device "$DEV" --size $((SPARSE_DISK_GIB * 1073741824)) "${AT_REST_ARGS[@]}"
    timed sparse.setup.write "$BENCH" write-image "$DEV" "$S/data.img" --ranges "$S/disk-ranges.txt" "${AT_REST_ARGS[@]}"
    "$BENCH" scatter "$S/data.img" "$FILE" --size $((RESTIC_FILE_GIB * 1073741824)) --ranges "$S/file-ranges.txt"
    "$BENCH" create-store "$STORE" --key-file "$WORK/master.key"
    "${RESTIC[@]}" -r "$REPO" init >/dev/null
    "$BENCH" snapshot "$DEV" "${AT_REST_ARGS[@]}" >"$WORK/last.out"
    snapshot=$(field snapshot)
    timed sparse.coffer.first "$BENCH" backup "$DEV" "$STORE" --key-file "$WORK/master.key" --snapshot "$snapshot" "${AT_REST_ARGS[@]}"
    point=$(field recovery_point)
    timed sparse.restic.first "${RESTIC[@]}" -r "$REPO" backup "$FILE"
    changed=0
    pieces=$((SPARSE_DATA_MIB * 16 / 1000))
    [ "$pieces" -ge 1 ] || pieces=1
    for hour in $(seq "$SPARSE_BACKUPS"); do
        echo "sparse: hour $hour of $SPARSE_BACKUPS" >&2
        # 0.1 % of the data changes: 64 KiB pieces of random extents get new random bytes, in both copies.
        head -c $((pieces * 65536)) /dev/urandom >"$S/change.img"
        : >"$S/change-disk.txt"
        : >"$S/change-file.txt"
        k=0
        while read -r _ slot fslot; do
            piece=$((RANDOM % 16))
            echo "$((k * 65536)) 65536 $((slot * 1048576 + piece * 65536))" >>"$S/change-disk.txt"
            echo "$((k * 65536)) 65536 $((fslot * 1048576 + piece * 65536))" >>"$S/change-file.txt"
            k=$((k + 1))
        done < <(shuf -n "$pieces" "$S/extents.txt")
        changed=$((changed + pieces * 65536))
        "$BENCH" write-image "$DEV" "$S/change.img" --ranges "$S/change-disk.txt" "${AT_REST_ARGS[@]}" >/dev/null
        "$BENCH" scatter "$S/change.img" "$FILE" --size $((RESTIC_FILE_GIB * 1073741824)) --ranges "$S/change-file.txt"
        "$BENCH" snapshot "$DEV" "${AT_REST_ARGS[@]}" >"$WORK/last.out"
        next=$(field snapshot)
        timed sparse.coffer.incremental "$BENCH" backup "$DEV" "$STORE" --key-file "$WORK/master.key" --snapshot "$next" \
            --base-snapshot "$snapshot" --base-point "$point" "${AT_REST_ARGS[@]}"
        record sparse.coffer.incremental.uploaded "$(field bytes_uploaded)"
        point=$(field recovery_point)
        snapshot=$next
        if [ "$hour" -le "$RESTIC_INCREMENTALS" ]; then
            timed sparse.restic.incremental "${RESTIC[@]}" -r "$REPO" backup "$FILE"
        fi
    done
    record sparse.coffer.store.before "$(bytes_of "$STORE")"
    record sparse.restic.store.before "$(bytes_of "$REPO")"

    # Retention keeps the last SPARSE_KEEP points; then the collection.
    "$BENCH" points "$STORE" --key-file "$WORK/master.key" | head -n -"$SPARSE_KEEP" >"$S/expired.txt"
    start=$(date +%s%N)
    while read -r old; do "$BENCH" delete-point "$STORE" "$old" --key-file "$WORK/master.key"; done <"$S/expired.txt"
    end=$(date +%s%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >>"$WORK/metrics/sparse.coffer.retention.time"
    timed sparse.coffer.gc "$BENCH" gc "$STORE" --key-file "$WORK/master.key"
    timed sparse.restic.forget "${RESTIC[@]}" -r "$REPO" forget --keep-last "$SPARSE_KEEP" --prune
    record sparse.coffer.store "$(bytes_of "$STORE")"
    record sparse.restic.store "$(bytes_of "$REPO")"

    # Restore and verify the latest point; the restored disk is compared with the snapshot at every extent.
    timed sparse.coffer.restore "$BENCH" restore "$STORE" "$point" os "$S/restored" --key-file "$WORK/master.key" "${AT_REST_ARGS[@]}"
    record sparse.coffer.restored.allocated "$(field restored_allocated_bytes)"
    "$BENCH" compare-devices "$DEV" "$snapshot" "$S/restored" --ranges "$S/disk-ranges.txt" "${AT_REST_ARGS[@]}" >/dev/null
    timed sparse.coffer.verify "$BENCH" verify "$STORE" "$point" --key-file "$WORK/master.key"
    # restic 0.14's restore writes every zero of a sparse file; its dump, through dd conv=sparse, keeps holes.
    timed sparse.restic.restore bash -c '"${@:4}" -r "$1" dump latest "$2" | dd of="$3" bs=64K conv=sparse status=none' \
        restore "$REPO" "$FILE" "$S/restic-restored.img" "${RESTIC[@]}"
    cmp -s <(head -c 1048576 "$S/restic-restored.img") <(head -c 1048576 "$FILE") || { echo "restic restored a different file" >&2; exit 1; }
    record sparse.restic.restored.allocated "$(du -B1 "$S/restic-restored.img" | cut -f1)"
    timed sparse.restic.check "${RESTIC[@]}" -r "$REPO" check --read-data
    "$BENCH" floor --bytes $((SPARSE_DATA_MIB * 1048576)) --dir "$S" >"$WORK/last.out"
    record sparse.floor "$(field floor_seconds)"
    record sparse.floor.gcm "$(field gcm_open_seconds)"
    record sparse.floor.xts "$(field xts_seconds)"
    record sparse.floor.write "$(field write_seconds)"
    record sparse.changed "$changed"
    rm -rf "$S/restored" "$S/restic-restored.img"
fi

# Report.
has xts && cat <<EOF

coffer core benchmark: ${SIZE_MIB} MiB of random data, ${CHANGED} × 64 KiB changed ($(mib $((CHANGED * 65536))) MiB), medians of $RUNS runs
machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), work directory on $(df -T "$WORK" | awk 'NR == 2 { print $2 }')
$(restic version | head -1); $(openssl version); coffer disk encrypted at rest: $([ "$AT_REST" = 1 ] && echo yes || echo no)

AES-256-XTS, one thread, bytes per CPU second: coffer $(median xts.coffer) GB/s (AES256XTS.encryptSectors, 16 KiB buffers of four 4 KiB sectors), openssl speed $(median xts.openssl) GB/s (16384-byte column): $(awk -v a="$(median xts.coffer)" -v b="$(median xts.openssl)" 'BEGIN { printf "%.0f %%", 100 * a / b }')
  per wall second: coffer $(median xts.coffer-wall) GB/s, openssl speed -elapsed $(median xts.openssl-wall) GB/s: $(awk -v a="$(median xts.coffer-wall)" -v b="$(median xts.openssl-wall)" 'BEGIN { printf "%.0f %%", 100 * a / b }')
EOF
has dense && for bs in $BLOCK_SIZES; do
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
| restore: fastest of $((RUNS * RESTORES)) (each side's; the floor's) | $(least "$bs.coffer.restore.time") s | $(least "$bs.restic.restore.time") s | $(ratio "$(least "$bs.restic.restore.time")" "$(least "$bs.coffer.restore.time")")x |
| restore: user CPU time (median) | $(median "$bs.coffer.restore.user") s | $(median "$bs.restic.restore.user") s | $(ratio "$(median "$bs.restic.restore.user")" "$(median "$bs.coffer.restore.user")")x |

floor for restoring $(mib $((SIZE_MIB * 1048576))) MiB here (GCM open + XTS + writing, over $(nproc) cores), after each pair of restores: fastest $(least "$bs.floor.restore") s, median $(median "$bs.floor.restore") s; its writing: $(tr '\n' ' ' <"$WORK/metrics/$bs.floor.write")s.
targets, on the fastest of each: restore at least 3x restic: $(ratio "$(least "$bs.restic.restore.time")" "$(least "$bs.coffer.restore.time")")x, $(awk -v a="$(least "$bs.restic.restore.time")" -v b="$(least "$bs.coffer.restore.time")" 'BEGIN { print (a >= 3 * b) ? "met" : "NOT met" }'); restore within 2x the floor: $(ratio "$(least "$bs.coffer.restore.time")" "$(least "$bs.floor.restore")")x, $(awk -v a="$(least "$bs.coffer.restore.time")" -v b="$(least "$bs.floor.restore")" 'BEGIN { print (a <= 2 * b) ? "met" : "NOT met" }').
EOF
done
if has sparse; then
    data=$((SPARSE_DATA_MIB * 1048576))
    changed=$(median sparse.changed)
    limit=$(awk -v d="$data" -v c="$changed" 'BEGIN { printf "%.0f", 1.15 * (d + c) + 1048576 }')
    floor=$(median sparse.floor)
    largest=$(cat "$WORK"/metrics/sparse.coffer.*.rss | sort -g | tail -1)
    met() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? "met" : "NOT met" }'; }
    slowest() { sort -g "$WORK/metrics/$1" | tail -1; }
    restore_ratio=$(ratio "$(median sparse.restic.restore.time)" "$(median sparse.coffer.restore.time)")
    floor_ratio=$(ratio "$(median sparse.coffer.restore.time)" "$floor")
    cat <<EOF

sparse: a ${SPARSE_DISK_GIB} GiB disk (64 KiB blocks$([ "$AT_REST" = 1 ] && echo ", encrypted at rest")), $(mib $data) MiB written in 1 MiB extents at random places; $SPARSE_BACKUPS hourly backups after the first, each after $(mib $((changed / SPARSE_BACKUPS))) MiB (0.1 %) changed; then retention of the last $SPARSE_KEEP points and a collection. restic: a ${RESTIC_FILE_GIB} GiB sparse file with the same data and changes.
machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), work directory on $(df -T "$WORK" | awk 'NR == 2 { print $2 }')
| step | coffer | restic | restic / coffer |
|---|---|---|---|
| first backup | $(median sparse.coffer.first.time) s, $(($(median sparse.coffer.first.rss) / 1024)) MiB peak | $(median sparse.restic.first.time) s, $(($(median sparse.restic.first.rss) / 1024)) MiB | $(ratio "$(median sparse.restic.first.time)" "$(median sparse.coffer.first.time)")x |
| incremental backup: median; slowest (restic: $(wc -l <"$WORK/metrics/sparse.restic.incremental.time") of them) | $(median sparse.coffer.incremental.time) s; $(slowest sparse.coffer.incremental.time) s | $(median sparse.restic.incremental.time) s; $(slowest sparse.restic.incremental.time) s | $(ratio "$(median sparse.restic.incremental.time)" "$(median sparse.coffer.incremental.time)")x |
| incremental backup: CPU time, median | $(median sparse.coffer.incremental.cpu) s | $(median sparse.restic.incremental.cpu) s | |
| incremental backup: largest peak memory | $(($(slowest sparse.coffer.incremental.rss) / 1024)) MiB | $(($(slowest sparse.restic.incremental.rss) / 1024)) MiB | |
| incremental backup: bytes sent to the store (median) | $(mib "$(median sparse.coffer.incremental.uploaded)") MiB | | |
| store after $((SPARSE_BACKUPS + 1)) points | $(mib "$(median sparse.coffer.store.before)") MiB | $(mib "$(median sparse.restic.store.before)") MiB | |
| retention ($((SPARSE_BACKUPS + 1 - SPARSE_KEEP)) points deleted) + collection | $(median sparse.coffer.retention.time) s + $(median sparse.coffer.gc.time) s, $(($(median sparse.coffer.gc.rss) / 1024)) MiB | $(median sparse.restic.forget.time) s (forget --prune), $(($(median sparse.restic.forget.rss) / 1024)) MiB | |
| store after the collection | $(mib "$(median sparse.coffer.store)") MiB | $(mib "$(median sparse.restic.store)") MiB | |
| restore of the latest point | $(median sparse.coffer.restore.time) s, $(($(median sparse.coffer.restore.rss) / 1024)) MiB, $(mib "$(median sparse.coffer.restored.allocated)") MiB allocated | $(median sparse.restic.restore.time) s (dump \| dd conv=sparse), $(($(median sparse.restic.restore.rss) / 1024)) MiB, $(mib "$(median sparse.restic.restored.allocated)") MiB allocated | ${restore_ratio}x |
| restore: CPU time | $(median sparse.coffer.restore.cpu) s | $(median sparse.restic.restore.cpu) s | |
| verify of the latest point (restic: check --read-data of the repository) | $(median sparse.coffer.verify.time) s, $(($(median sparse.coffer.verify.rss) / 1024)) MiB | $(median sparse.restic.check.time) s | |

floor for restoring $(mib $data) MiB here: GCM open $(median sparse.floor.gcm) s + XTS $(median sparse.floor.xts) s + writing $(median sparse.floor.write) s, over $(nproc) cores = $floor s; coffer's restore takes ${floor_ratio}x the floor.
targets: store at most 1.15 × (data + changes) + 1 MiB = $(mib "$limit") MiB: $(mib "$(median sparse.coffer.store.before)") MiB, $(met "$(median sparse.coffer.store.before)" "$limit"); each incremental backup under 0.1 s: slowest $(slowest sparse.coffer.incremental.time) s, $(met "$(slowest sparse.coffer.incremental.time)" 0.1); memory under 64 MiB: largest $((largest / 1024)) MiB, $(met "$largest" 65536); restore at least 3x restic: ${restore_ratio}x, $(met 3 "$restore_ratio"); restore within 2x the floor: ${floor_ratio}x, $(met "$floor_ratio" 2).
EOF
fi
echo
echo "raw figures: $WORK/metrics" >&2
