#!/usr/bin/env bash
# Installs the Debian packages the end-to-end boots need, only those that are missing.
#
# usage: Tests/VM/lib/deps.sh [PACKAGE...]
#   Without arguments: the VM harness's set (QEMU, tgt, busybox-static, cpio, kmod, ...).
#   With arguments: exactly those packages (scripts/build-libkmod.sh uses this for its
#   build tools), so every script installs through this one place.
#
# tgt's postinst would start a tgtd listening on every address; the harness runs its own
# tgtd on loopback inside a private namespace, so package scripts must start no service:
# a policy-rc.d that exits 101 is in place for the duration of the install and the
# machine's previous one (if any) is put back afterwards.
set -euo pipefail

readonly VM_PACKAGES=(qemu-system-x86 busybox-static cpio zstd kmod e2fsprogs tgt iproute2 file)
readonly POLICY_RC=/usr/sbin/policy-rc.d

missing_packages() {
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
            printf '%s\n' "$package"
        fi
    done
}

install_without_starting_services() {
    local saved_policy=""
    if [[ -e "$POLICY_RC" ]]; then
        saved_policy="$(mktemp)"
        cp -p "$POLICY_RC" "$saved_policy"
    fi
    restore_policy() {
        if [[ -n "$saved_policy" ]]; then
            mv -f "$saved_policy" "$POLICY_RC"
        else
            rm -f "$POLICY_RC"
        fi
    }
    trap restore_policy EXIT
    printf '#!/bin/sh\n# installed by iscsi-root Tests/VM/lib/deps.sh for one apt-get run\nexit 101\n' >"$POLICY_RC"
    chmod 0755 "$POLICY_RC"

    # apt-get update only when the lists cannot place a wanted package (a fresh machine).
    if ! apt-cache show "$@" >/dev/null 2>&1; then
        apt-get update -q
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
    restore_policy
    trap - EXIT
}

main() {
    local wanted=("$@")
    if ((${#wanted[@]} == 0)); then
        wanted=("${VM_PACKAGES[@]}")
    fi
    local missing
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if ((EUID != 0)); then
        echo "deps.sh: missing Debian packages: ${missing[*]} — run as root to install them" >&2
        exit 1
    fi
    echo "deps.sh: installing ${missing[*]}" >&2
    install_without_starting_services "${missing[@]}"
}

main "$@"
