# Shared shell helpers for the project's scripts (sourced, not run).
# shellcheck shell=bash
#
# A private tgtd on 127.0.0.1 — the shell twin of Tests/InitiatorTests/Support/TargetFixture.swift:
#   tgt_start FOLDER          start tgtd on a free port with a control socket of its own
#   tgt_add_target TID IQN DISKS [SIZE_MIB]
#                             a target with DISKS sparse disks as LUN 1.. (LUN 0 is tgt's controller)
#   tgt_stop                  orderly stop; SIGKILL when tgtd does not go within 2 s
# After tgt_start: TGT_PORT, TGT_CONTROL (the number after `tgtadm -C`), TGT_PID, TGT_FOLDER.
#
# Benchmark figures:
#   median            the median of the numbers on standard input, one a line ("-" for none)
#   ratio A B         A / B with two decimals ("-" when B is 0)
#
# The writer guest (Tests/VM/guest/writer) on a console log:
#   last_written LOG                  the highest block it reported written (0: none yet)
#   wait_for_block LOG AT_LEAST SECONDS   until that block is written; fails after SECONDS
#                                     or when the writer is done short of it

iscsi_root_fail() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# tgtadm against our own tgtd only; bounded, since a stopped tgtd would make it wait forever.
tgt_admin() {
    timeout -s KILL 10 tgtadm -C "$TGT_CONTROL" --lld iscsi "$@"
}

tgt_start() {
    TGT_FOLDER="$1"
    command -v tgtd >/dev/null && command -v tgtadm >/dev/null ||
        iscsi_root_fail "tgtd/tgtadm are not installed: run scripts/install-deps.sh as root (Debian package tgt)"
    mkdir -p "$TGT_FOLDER"
    local attempt
    # A port can be taken between our look and tgtd's bind, and a control number can belong
    # to another tgtd: both show as a tgtd that never lists the portal; a fresh try settles it.
    for attempt in 1 2 3 4 5; do
        TGT_PORT=$((40000 + RANDOM % 20000))
        TGT_CONTROL=$((1024 + RANDOM % 31000)) # tgtd accepts -C up to 32767
        if ss -Htln "sport = :$TGT_PORT" | grep -q .; then continue; fi
        tgtd -f -C "$TGT_CONTROL" --iscsi "portal=127.0.0.1:$TGT_PORT" >"$TGT_FOLDER/tgtd.log" 2>&1 &
        TGT_PID=$!
        # tgtd keeps running without a portal when its port is taken, so ask it, not the port.
        for _ in $(seq 1 100); do
            if ! kill -0 "$TGT_PID" 2>/dev/null; then break; fi
            if tgt_admin --mode portal --op show 2>/dev/null | grep -q "^Portal: 127.0.0.1:$TGT_PORT,"; then
                return 0
            fi
            sleep 0.05
        done
        kill -9 "$TGT_PID" 2>/dev/null || true
        wait "$TGT_PID" 2>/dev/null || true
        echo "${0##*/}: tgtd attempt $attempt (port $TGT_PORT, -C $TGT_CONTROL) did not open its portal: $(tail -n 3 "$TGT_FOLDER/tgtd.log" | tr '\n' ' ')" >&2
    done
    iscsi_root_fail "could not start tgtd on 127.0.0.1 (see $TGT_FOLDER/tgtd.log)"
}

tgt_add_target() {
    local tid="$1" iqn="$2" disks="$3" size_mib="${4:-64}" lun
    tgt_admin --mode target --op new --tid "$tid" --targetname "$iqn"
    for ((lun = 1; lun <= disks; lun++)); do
        truncate -s "${size_mib}M" "$TGT_FOLDER/tid$tid-lun$lun.img"
        tgt_admin --mode logicalunit --op new --tid "$tid" --lun "$lun" --backing-store "$TGT_FOLDER/tid$tid-lun$lun.img"
    done
    tgt_admin --mode target --op bind --tid "$tid" --initiator-address ALL
}

tgt_stop() {
    [[ -n "${TGT_PID:-}" ]] || return 0
    local tid
    # tgtd ignores SIGTERM: delete its targets, then the daemon itself.
    for tid in $(tgt_admin --mode target --op show 2>/dev/null | sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
        tgt_admin --mode target --op delete --force --tid "$tid" >/dev/null 2>&1 || true
    done
    tgt_admin --mode system --op delete >/dev/null 2>&1 || true
    for _ in $(seq 1 40); do
        kill -0 "$TGT_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$TGT_PID" 2>/dev/null || true
    wait "$TGT_PID" 2>/dev/null || true
    TGT_PID=""
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-" } else if (NR % 2) { print v[(NR + 1) / 2] } else { printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 } }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'
}

last_written() {
    local last
    last="$(grep -a -o 'VM-MARKER: wrote seq=[0-9]*' "$1" 2>/dev/null | tail -n 1 | sed 's/.*seq=//')"
    echo "${last:-0}"
}

wait_for_block() {
    local log="$1" at_least="$2" seconds="$3" deadline
    deadline=$((SECONDS + seconds))
    while (($(last_written "$log") < at_least)); do
        ((SECONDS < deadline)) || return 1
        grep -q 'VM-MARKER: writer-done' "$log" && return 1
        sleep 0.2
    done
}
