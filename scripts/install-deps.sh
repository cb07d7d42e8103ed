#!/usr/bin/env bash
# Installs the Debian packages that building and testing iscsi-root need, only those that
# are missing, so it is quick to run before every `make check`.
#
# usage: scripts/install-deps.sh [PACKAGE...]
#   Without arguments: the build and test set below. With arguments: exactly those
#   packages, so that every script installs through this one place.
#
# tgt's postinst would start a system tgtd listening on every address; the tests run their
# own tgtd on loopback, so package scripts must start no service: a policy-rc.d that exits
# 101 is in place for the duration of the install, and the machine's own (if any) is put
# back afterwards.
set -euo pipefail

readonly BUILD_AND_TEST_PACKAGES=(
    pkg-config libkmod-dev libblkid-dev            # the C libraries the modules link
    tgt                                            # the target of the integration tests
    libiscsi-bin                                   # iscsi-ls/iscsi-inq, the benchmark's peer
    e2fsprogs iproute2                             # filesystem images; ss and network namespaces
    dnsmasq-base                                   # the DHCP server of the network tests
    shellcheck dpkg-dev debhelper fakeroot         # the hooks' lint and the Debian package (Tests/Packaging)
)
readonly POLICY_RC=/usr/sbin/policy-rc.d

missing_packages() {
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' ||
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

install_without_starting_services() {
    if [[ -e "$POLICY_RC" ]]; then
        saved_policy="$(mktemp)"
        cp -p "$POLICY_RC" "$saved_policy"
    fi
    created_policy=true
    trap restore_policy EXIT
    printf '#!/bin/sh\n# written by iscsi-root scripts/install-deps.sh for one apt-get run\nexit 101\n' >"$POLICY_RC"
    chmod 0755 "$POLICY_RC"

    # Refresh the lists whenever anything is to be installed: a fresh machine's are empty,
    # and `apt-cache show` cannot tell (it succeeds as soon as one package is known from
    # dpkg's status). An update costs seconds; a stale or empty list costs the whole run.
    local log
    log="$(mktemp)"
    if ! apt-get update -qq >"$log" 2>&1; then
        cat "$log" >&2
        echo "install-deps.sh: apt-get update failed: check the machine's apt sources (/etc/apt/sources.list.d/, /etc/apt/sources.list) and its network" >&2
        exit 1
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "install-deps.sh: apt-get install failed for: $*" >&2
        exit 1
    fi
    rm -f "$log"
}

main() {
    local wanted=("$@")
    ((${#wanted[@]} > 0)) || wanted=("${BUILD_AND_TEST_PACKAGES[@]}")
    local missing
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    ((${#missing[@]} > 0)) || return 0
    if ((EUID != 0)); then
        echo "install-deps.sh: missing Debian packages: ${missing[*]} (run this script as root to install them)" >&2
        exit 1
    fi
    echo "install-deps.sh: installing ${missing[*]}"
    local started=$SECONDS
    install_without_starting_services "${missing[@]}"
    echo "install-deps.sh: installed ${#missing[@]} package(s) in $((SECONDS - started)) s"
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    if ((${#missing[@]} > 0)); then
        echo "install-deps.sh: still missing after apt-get install: ${missing[*]}" >&2
        exit 1
    fi
}

main "$@"
