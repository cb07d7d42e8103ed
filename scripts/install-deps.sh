#!/usr/bin/env bash
# Installs the Debian packages that building and testing iscsi-root need, only those that
# are missing, so it is quick to run before every `make check`. Every package set of the
# project is named here, and every script installs through this one place.
#
# usage: scripts/install-deps.sh [--set NAME]... [--all] [PACKAGE...]
#   Without arguments: the `build` set. --set NAME adds a set below, --all every set,
#   PACKAGE... exactly those packages.
#   --list          prints the packages of the chosen sets, one a line, and exits
#   --apt-state DIR resolves against a private apt and dpkg state in DIR instead of the
#                   machine's (DIR/lists, DIR/cache, DIR/dpkg/status) and only simulates the
#                   install: Tests/Packaging proves with it that a machine whose package
#                   lists are empty gets everything, without touching this machine.
#
# tgt's postinst would start a system tgtd listening on every address; the tests run their
# own tgtd on loopback, so package scripts must start no service: a policy-rc.d that exits
# 101 is in place for the duration of the install, and the machine's own (if any) is put
# back afterwards.
set -euo pipefail

declare -A PACKAGE_SETS=(
    # The C libraries the modules link, the integration tests' target, libiscsi's tools (the
    # benchmark's peer), filesystem images, ss and network namespaces, the DHCP server of the
    # network tests, the hooks' lint and the Debian package.
    [build]="pkg-config libkmod-dev libblkid-dev tgt libiscsi-bin e2fsprogs iproute2 dnsmasq-base shellcheck dpkg-dev debhelper fakeroot"
    # The QEMU boots (Tests/VM): the emulator with its firmware and the NIC's iPXE ROM, the
    # guest roots' busybox, initramfs and image tools, xz for the kernel's payload.
    [vm]="qemu-system-x86 ipxe-qemu busybox-static cpio zstd xz-utils kmod e2fsprogs fdisk tgt iproute2 file"
    # Tests/Packaging: the hooks' lint, the Debian package, the man page check.
    [packaging]="shellcheck dpkg-dev debhelper fakeroot groff-base file"
    # scripts/build-libkmod.sh: Debian's kmod source built into a static library.
    [libkmod]="dpkg-dev autoconf automake libtool pkg-config make gcc libkmod-dev file"
    # Debian roots for the systemd and distribution boots (Tests/VM/lib/debian-root.sh).
    [debian-root]="debootstrap"
)
readonly POLICY_RC=/usr/sbin/policy-rc.d

fail() {
    echo "install-deps.sh: $*" >&2
    exit 1
}

apt_options=()
dpkg_options=()
simulate=false

missing_packages() {
    local package
    for package in "$@"; do
        dpkg-query "${dpkg_options[@]}" -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' ||
            printf '%s\n' "$package"
    done
}

saved_policy=""
created_policy=false
restore_policy() {
    if [[ -n "$saved_policy" ]]; then
        mv -f "$saved_policy" "$POLICY_RC"
    elif $created_policy; then
        rm -f "$POLICY_RC"
    fi
}

block_service_starts() {
    if [[ -e "$POLICY_RC" ]]; then
        saved_policy="$(mktemp)"
        cp -p "$POLICY_RC" "$saved_policy"
    fi
    created_policy=true
    trap restore_policy EXIT
    printf '#!/bin/sh\n# written by iscsi-root scripts/install-deps.sh for one apt-get run\nexit 101\n' >"$POLICY_RC"
    chmod 0755 "$POLICY_RC"
}

install_packages() {
    $simulate || block_service_starts
    # Refresh the lists whenever anything is to be installed: a fresh machine's are empty,
    # and no cheaper test tells (`apt-cache show` succeeds as soon as dpkg's status knows
    # one of the packages). An update costs seconds; a stale or empty list, the whole run.
    local log
    log="$(mktemp)"
    if ! apt-get "${apt_options[@]}" update -qq >"$log" 2>&1; then
        cat "$log" >&2
        fail "apt-get update failed: check the machine's apt sources (/etc/apt/sources.list.d/, /etc/apt/sources.list) and its network"
    fi
    local install=(install -y -qq --no-install-recommends)
    ! $simulate || install+=(--simulate)
    if ! DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" "${install[@]}" "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "apt-get install failed for: $*"
    fi
    ! $simulate || echo "install-deps.sh: apt would install $(grep -c '^Inst ' "$log") package(s) for these"
    rm -f "$log"
}

use_private_state() {
    local dir="$1"
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/dpkg"
    [[ -f "$dir/dpkg/status" ]] || : >"$dir/dpkg/status"
    apt_options=(
        -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
        -o "Dir::State::status=$dir/dpkg/status" -o "APT::Sandbox::User=root"
    )
    dpkg_options=("--admindir=$dir/dpkg")
    simulate=true
}

main() {
    local wanted=() sets=() list=false
    while (($# > 0)); do
        case "$1" in
        --set)
            [[ -n "${PACKAGE_SETS[${2:-}]:-}" ]] || fail "--set: unknown set \"${2:-}\" (expected one of: ${!PACKAGE_SETS[*]})"
            sets+=("$2")
            shift 2
            ;;
        --all) sets+=("${!PACKAGE_SETS[@]}"); shift ;;
        --list) list=true; shift ;;
        --apt-state)
            [[ -n "${2:-}" ]] || fail "--apt-state needs a folder"
            use_private_state "$2"
            shift 2
            ;;
        -*) fail "unknown option \"$1\" (expected --set NAME, --all, --list, --apt-state DIR)" ;;
        *) wanted+=("$1"); shift ;;
        esac
    done
    ((${#wanted[@]} + ${#sets[@]} > 0)) || sets=(build)
    local set
    for set in "${sets[@]}"; do
        # shellcheck disable=SC2206 # the sets are space-separated package names
        wanted+=(${PACKAGE_SETS[$set]})
    done
    mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | awk '!seen[$0]++')
    if $list; then
        printf '%s\n' "${wanted[@]}"
        return 0
    fi

    local missing
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    ((${#missing[@]} > 0)) || return 0
    ((EUID == 0)) || fail "missing Debian packages: ${missing[*]} (run this script as root to install them)"
    echo "install-deps.sh: installing ${missing[*]}"
    local started=$SECONDS
    install_packages "${missing[@]}"
    $simulate && return 0
    echo "install-deps.sh: installed ${#missing[@]} package(s) in $((SECONDS - started)) s"
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    ((${#missing[@]} == 0)) || fail "still missing after apt-get install: ${missing[*]}"
}

main "$@"
