#!/usr/bin/env bash
# Throughput of iscsi-root's userspace data path (`iscsi-root dvt --bench`) against libiscsi's
# iscsi-perf (Debian libiscsi-bin), both on one private tgtd on 127.0.0.1 serving a RAM-backed
# LUN (--bstype rdwr on a file in /dev/shm), in the same run. iscsi-perf only reads, so the
# sequential write figure has no peer.
#
# usage: scripts/bench-dvt.sh ISCSI_ROOT_BINARY   (a release build: swift build -c release)
#   SECONDS_PER_RUN=10, QUEUE_DEPTH=16, SIZE_MIB=512 by default.
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

readonly SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
readonly QUEUE_DEPTH="${QUEUE_DEPTH:-16}"
readonly SIZE_MIB="${SIZE_MIB:-512}"
readonly IQN=iqn.2024-01.org.iscsi-root.bench:ram
readonly SEQUENTIAL_BYTES=1048576
readonly RANDOM_BYTES=4096

binary="${1:-}"
[[ -n "$binary" && -x "$binary" ]] || iscsi_root_fail "usage: ${0##*/} ISCSI_ROOT_BINARY (got \"$binary\", not an executable)"
"$binary" dvt --help >/dev/null 2>&1 || iscsi_root_fail "$binary has no dvt command"
command -v iscsi-perf >/dev/null || iscsi_root_fail "iscsi-perf is not installed (Debian package libiscsi-bin)"

folder="$(mktemp -d)"
ram_disk="$(mktemp -p /dev/shm iscsi-root-bench.XXXXXX)"
cleanup() {
    tgt_stop
    rm -rf "$folder" "$ram_disk"
}
trap cleanup EXIT
truncate -s "${SIZE_MIB}M" "$ram_disk"
# Written once so that reads hit allocated pages, not the zero page.
dd if=/dev/urandom of="$ram_disk" bs=1M count="$SIZE_MIB" conv=notrunc status=none
tgt_start "$folder"
tgt_admin --mode target --op new --tid 1 --targetname "$IQN"
tgt_admin --mode logicalunit --op new --tid 1 --lun 1 --bstype rdwr --backing-store "$ram_disk"
tgt_admin --mode target --op bind --tid 1 --initiator-address ALL
portal="127.0.0.1:$TGT_PORT"
last_block=$((SIZE_MIB * 2048 - 1))

# Ours: "MODE: ... X MiB/s, N IOPS" -> "X N"
ours() {
    local mode="$1" bytes="$2"
    shift 2
    "$binary" dvt "$portal" "$IQN" --lun 1 --bench "$mode" --bench-seconds "$SECONDS_PER_RUN" \
        --transfer-size "$bytes" --queue-depth "$QUEUE_DEPTH" "$@" |
        sed -n 's/.*: \([0-9.]*\) MiB\/s, \([0-9]*\) IOPS$/\1 \2/p'
}

# iscsi-perf prints "iops average N (M MB/s)" at the end; MiB/s is computed from the IOPS
# (its MB/s is a rounded integer).
theirs() {
    local blocks="$1"
    shift
    iscsi-perf -i iqn.2024-01.org.iscsi-root.bench:libiscsi -m "$QUEUE_DEPTH" -b "$blocks" -t "$SECONDS_PER_RUN" "$@" \
        "iscsi://$portal/$IQN/1" 2>&1 | tr '\r' '\n' | sed -n 's/.*iops average \([0-9]*\) .*/\1/p' | tail -1 |
        awk -v bytes=$((blocks * 512)) '{ printf "%.1f %d\n", $1 * bytes / 1048576, $1 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

read -r our_seq_mib our_seq_iops < <(ours seq-read "$SEQUENTIAL_BYTES")
read -r their_seq_mib their_seq_iops < <(theirs $((SEQUENTIAL_BYTES / 512)))
read -r our_write_mib our_write_iops < <(ours seq-write "$SEQUENTIAL_BYTES" --write --lba-range "0-$last_block")
read -r our_rand_mib our_rand_iops < <(ours rand-read "$RANDOM_BYTES")
read -r their_rand_mib their_rand_iops < <(theirs $((RANDOM_BYTES / 512)) -r)

echo "userspace data path vs libiscsi iscsi-perf; tgtd rdwr on /dev/shm, ${SIZE_MIB} MiB LUN, queue depth $QUEUE_DEPTH, ${SECONDS_PER_RUN} s each"
printf '%-34s %14s %14s %8s\n' "measure" "iscsi-root" "iscsi-perf" "ratio"
printf '%-34s %14s %14s %8s\n' "sequential read 1 MiB (MiB/s)" "$our_seq_mib" "$their_seq_mib" "$(ratio "$our_seq_mib" "$their_seq_mib")"
printf '%-34s %14s %14s %8s\n' "sequential write 1 MiB (MiB/s)" "$our_write_mib" "-" "-"
printf '%-34s %14s %14s %8s\n' "random read 4 KiB (IOPS)" "$our_rand_iops" "$their_rand_iops" "$(ratio "$our_rand_iops" "$their_rand_iops")"
