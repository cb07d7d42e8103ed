# Shared helpers for the VM harness scripts (sourced, not run).
# shellcheck shell=bash

# Every other lib sources this one: load it once.
[[ -z "${VM_REPO_ROOT:-}" ]] || return 0
VM_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
readonly VM_REPO_ROOT
# shellcheck disable=SC2034 # used by the scripts that source this one
readonly VM_CACHE_DIR="$VM_REPO_ROOT/cache"

vm_fail() {
    echo "${0##*/}: $*" >&2
    exit 1
}

vm_log() {
    echo "${0##*/}: $*" >&2
}

# Milliseconds since the epoch (for host-side timings).
vm_now_ms() {
    local seconds nanoseconds
    read -r seconds nanoseconds < <(date '+%s %N')
    echo $((seconds * 1000 + 10#$nanoseconds / 1000000))
}

# Downloads Debian PACKAGEs (verified by apt) into DIR, installing nothing; prints the
# .deb files, one a line.
vm_apt_download() {
    local dir="$1"
    shift
    mkdir -p "$dir"
    # apt's _apt user cannot write into the cache folders; the download is still verified.
    (cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$@" >&2)
    local package deb
    for package in "$@"; do
        deb="$(find "$dir" -maxdepth 1 -name "${package}_*.deb" | head -n 1)"
        [[ -n "$deb" ]] || vm_fail "apt-get download left no ${package}_*.deb in $dir"
        echo "$deb"
    done
}
