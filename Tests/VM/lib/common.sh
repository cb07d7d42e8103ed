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

# vm_run_scenarios RUNNER STEM NAME...: `RUNNER NAME` for each NAME (a RUNNER ending in "_"
# is a prefix: the function RUNNER<NAME, dashes as underscores> runs), one line each —
# "PASS NAME: FIGURES" (what the runner printed) or "FAIL NAME: REASON (console: STEMNAME.log)"
# (the last line it wrote to standard error, kept in STEMNAME.stderr; a scenario without a
# console points at its STEMNAME.json) — then the "N passed, N failed" tally. Returns 1
# when a scenario failed. A runner fails with vm_fail in a subshell of its own.
vm_run_scenarios() {
    local runner="$1" stem="$2"
    shift 2
    local name figures details passed=0 failed=0
    for name in "$@"; do
        local command=("$runner" "$name")
        [[ "$runner" != *_ ]] || command=("$runner${name//-/_}")
        declare -F "${command[0]}" >/dev/null || vm_fail "unknown scenario \"$name\" (no function ${command[0]})"
        if figures="$("${command[@]}" 2>"$stem$name.stderr")"; then
            echo "PASS $name: $figures"
            passed=$((passed + 1))
        else
            details="console: $stem$name.log"
            [[ -f "$stem$name.log" || ! -f "$stem$name.json" ]] || details="details: $stem$name.json"
            echo "FAIL $name: $(tail -n 1 "$stem$name.stderr") ($details)"
            failed=$((failed + 1))
        fi
    done
    echo "$passed passed, $failed failed"
    ((failed == 0))
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
