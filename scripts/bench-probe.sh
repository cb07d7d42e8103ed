#!/usr/bin/env bash
# Times iscsi-root's probe and discover against libiscsi's iscsi-inq and iscsi-ls (Debian
# libiscsi-bin), all talking to one private tgtd on 127.0.0.1 with a two-disk target.
# Each command runs RUNS times; the medians of whole-process wall time are compared.
#
# usage: scripts/bench-probe.sh ISCSI_ROOT_BINARY   (make bench builds a release binary first)
#   RUNS=50 by default.
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

readonly RUNS="${RUNS:-50}"
readonly IQN=iqn.2024-01.org.iscsi-root.bench:disks

binary="${1:-}"
[[ -n "$binary" && -x "$binary" ]] || iscsi_root_fail "usage: ${0##*/} ISCSI_ROOT_BINARY (got \"$binary\", not an executable)"
for command in probe discover; do
    "$binary" "$command" --help >/dev/null 2>&1 ||
        iscsi_root_fail "$binary has no \"$command\" command yet (\`$binary $command --help\` failed)"
done
for tool in iscsi-inq iscsi-ls; do
    command -v "$tool" >/dev/null || iscsi_root_fail "$tool is not installed: run scripts/install-deps.sh as root (Debian package libiscsi-bin)"
done

folder="$(mktemp -d)"
cleanup() {
    tgt_stop
    rm -rf "$folder"
}
trap cleanup EXIT
tgt_start "$folder"
tgt_add_target 1 "$IQN" 2

# Median wall time in microseconds of RUNS runs of the command; its output is discarded,
# but the first run must succeed, or the numbers would time an error message.
median_microseconds() {
    local run start end samples=()
    if ! "$@" >"$folder/first-run.out" 2>&1; then
        cat "$folder/first-run.out" >&2
        iscsi_root_fail "\`$*\` failed; not timing it"
    fi
    for ((run = 0; run < RUNS; run++)); do
        start=$EPOCHREALTIME
        "$@" >/dev/null 2>&1
        end=$EPOCHREALTIME
        samples+=($((${end/./} - ${start/./})))
    done
    printf '%s\n' "${samples[@]}" | sort -n | sed -n "$((RUNS / 2 + 1))p"
}

report() {
    local what="$1" ours="$2" theirs="$3" peer="$4"
    printf '%-9s iscsi-root %6d us   %-9s %6d us   ratio %s\n' "$what" "$ours" "$peer" "$theirs" \
        "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
}

portal="127.0.0.1:$TGT_PORT"
echo "bench-probe: tgtd on $portal, $RUNS runs each, median wall time per process"
report probe \
    "$(median_microseconds "$binary" probe "$portal" "$IQN" --lun 1)" \
    "$(median_microseconds iscsi-inq "iscsi://$portal/$IQN/1")" iscsi-inq
report discover \
    "$(median_microseconds "$binary" discover "$portal")" \
    "$(median_microseconds iscsi-ls "iscsi://$portal")" iscsi-ls
