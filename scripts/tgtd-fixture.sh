#!/usr/bin/env bash
# A private tgtd on 127.0.0.1 for trying iscsi-root by hand (the tests use the Swift twin,
# Tests/InitiatorTests/Support/TargetFixture.swift).
#
# usage: scripts/tgtd-fixture.sh start FOLDER [IQN [DISKS]]
#          starts tgtd in the background, serving IQN (default iqn.2024-01.org.iscsi-root:test)
#          with DISKS sparse 64 MiB disks (default 1) as LUN 1..; prints the portal and
#          remembers tgtd's pid and control port in FOLDER/tgtd.env
#        scripts/tgtd-fixture.sh stop FOLDER
#          stops that tgtd and removes FOLDER
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

usage() { iscsi_root_fail "usage: ${0##*/} start FOLDER [IQN [DISKS]] | stop FOLDER"; }

case "${1:-}" in
start)
    [[ $# -ge 2 ]] || usage
    [[ ! -e "$2/tgtd.env" ]] || iscsi_root_fail "$2 already has a running fixture (stop it first)"
    tgt_start "$2"
    tgt_add_target 1 "${3:-iqn.2024-01.org.iscsi-root:test}" "${4:-1}"
    printf 'TGT_PID=%s\nTGT_CONTROL=%s\nTGT_PORT=%s\n' "$TGT_PID" "$TGT_CONTROL" "$TGT_PORT" >"$2/tgtd.env"
    echo "portal 127.0.0.1:$TGT_PORT (tgtadm -C $TGT_CONTROL; stop with: ${0##*/} stop $2)"
    ;;
stop)
    [[ $# -eq 2 && -f "$2/tgtd.env" ]] || iscsi_root_fail "no fixture in \"${2:-}\" (expected ${2:-FOLDER}/tgtd.env)"
    # shellcheck disable=SC1091
    source "$2/tgtd.env"
    TGT_FOLDER="$2"
    tgt_stop
    rm -rf "$2"
    ;;
*) usage ;;
esac
