#!/usr/bin/env bash
# The distribution drop-in without a VM: shellcheck on every hook and helper script, the
# systemd units' syntax, `make install` + `make uninstall` leaving nothing behind, and the
# Debian package (dpkg-buildpackage, its contents, dpkg -i into a throwaway root, dpkg -r
# and --purge leaving it empty). Prints "N passed, N failed". About 1 minute; needs root
# for the package installs (scripts/install-deps.sh) and the throwaway dpkg root.
#
# usage: Tests/Packaging/run.sh        (VM_AGENT_BINARY=/path/to/static/iscsi-root, default cache/bin/iscsi-root)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
binary="${VM_AGENT_BINARY:-$repo/cache/bin/iscsi-root}"
work="$repo/cache/packaging"

"$repo/scripts/install-deps.sh" --set packaging

passed=0
failed=0
check() {
    local name=$1
    shift
    local log="$work/$name.log" status
    # In a subshell outside any condition, so that `set -e` stops the check at its first
    # failing command (inside `if` it would be ignored).
    set +e
    (
        set -e
        "$@"
    ) >"$log" 2>&1
    status=$?
    set -e
    if ((status == 0)); then
        passed=$((passed + 1))
        echo "packaging: $name: passed"
    else
        failed=$((failed + 1))
        echo "packaging: $name: FAILED (log: $log)"
        tail -n 30 "$log" | sed 's/^/    /'
    fi
}

rm -rf "$work"
mkdir -p "$work"

# --- shellcheck ------------------------------------------------------------------------
# Each framework's dialect: initramfs-tools and dracut's hooks are POSIX sh, dracut's
# module-setup.sh is bash.
shellcheck_hooks() {
    shellcheck -s sh Hooks/initramfs-tools/hooks/iscsi-root Hooks/initramfs-tools/scripts/local-top/iscsi-root \
        Hooks/initramfs-tools/scripts/local-bottom/iscsi-root Hooks/dracut/90iscsi-root/parse-iscsi-root.sh \
        Hooks/dracut/90iscsi-root/iscsi-root-netroot.sh Hooks/dracut/90iscsi-root/iscsi-root-shutdown.sh \
        Systemd/iscsi-root-keep-network
    shellcheck -s bash Hooks/dracut/90iscsi-root/module-setup.sh Tests/Packaging/run.sh
    shellcheck -x scripts/install-deps.sh scripts/debian-mirror.sh scripts/build-libkmod.sh Tests/VM/lib/deps.sh
    # From their own folder: that is where their `source` paths resolve (run from the
    # repository root, shellcheck -x spent 9 minutes on distro.sh alone).
    (cd Tests/VM && shellcheck -x run.sh faults.sh lio.sh demo.sh shutdown.sh dvt.sh distro.sh)
    shellcheck -s sh Tests/VM/guest/demo-init Tests/VM/guest/writer Tests/VM/guest/writer-init \
        Tests/VM/guest/lio-target-init Tests/VM/guest/shutdown-cycle Tests/VM/guest/distro-marker \
        Tests/VM/guest/dvt-init Tests/VM/guest/dvt-check
}
check shellcheck shellcheck_hooks

# --- units: every key known to this systemd, or to a later one on purpose ---------------
verify_units() {
    command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; return 0; }
    local folder="$work/units" unit output
    rm -rf "$folder"
    make -s install DESTDIR="$folder" PREFIX=/usr BINARY="$binary" >/dev/null
    for unit in "$folder"/usr/lib/systemd/system/iscsi-root*.service; do
        output=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no --root="$folder" "$unit" 2>&1 || true)
        # SurviveFinalKillSignal= is systemd 255's; older ones name it as unknown and go on.
        output=$(grep -v -e "SurviveFinalKillSignal" -e "not executable" -e "No such file" -e "Failed to prepare" <<<"$output" || true)
        if grep -Ei "unknown|invalid|error" <<<"$output"; then return 1; fi
    done
    # The keep-network helper writes what systemd-networkd and NetworkManager read.
    grep -q '^KeepConfiguration=yes' Systemd/iscsi-root-keep-network
}
check units verify_units

# --- make install / uninstall ----------------------------------------------------------
install_uninstall() {
    local destdir="$work/destdir" left
    rm -rf "$destdir"
    make -s install DESTDIR="$destdir" PREFIX=/usr BINARY="$binary"
    # The placeholders are gone and the paths are the installed ones.
    if grep -rl -e '@SBINDIR@' -e '@LIBEXECDIR@' "$destdir"; then return 1; fi
    grep -q '^binary=/usr/sbin/iscsi-root$' "$destdir/usr/share/initramfs-tools/hooks/iscsi-root"
    grep -q '^ExecStart=/usr/lib/iscsi-root/iscsi-root-keep-network$' \
        "$destdir/usr/lib/systemd/system/iscsi-root-keep-network.service"
    test -x "$destdir/usr/sbin/iscsi-root"
    test -L "$destdir/usr/lib/systemd/system/sysinit.target.wants/iscsi-root.service"
    test -x "$destdir/usr/lib/dracut/modules.d/90iscsi-root/module-setup.sh"
    # The man page renders without a warning.
    [[ -z "$(groff -man -ww -z "$destdir/usr/share/man/man8/iscsi-root.8" 2>&1)" ]]
    make -s uninstall DESTDIR="$destdir" PREFIX=/usr
    left=$(find "$destdir" ! -type d)
    [[ -z "$left" ]] || { echo "left behind: $left"; return 1; }
    # Only the shared folders (usr/share/man/man8, …) may stay, and only empty.
    left=$(find "$destdir" -type d -name '*iscsi-root*')
    [[ -z "$left" ]] || { echo "folders left behind: $left"; return 1; }
}
check install-uninstall install_uninstall

# --- Debian package --------------------------------------------------------------------
# Built in a copy of the tree under cache/ (dpkg-buildpackage writes the .deb beside the
# source folder), with the static binary already built.
deb_build() {
    local source="$work/deb/iscsi-root-0.1.0"
    mkdir -p "$source"
    tar -C "$repo" --exclude=./.git --exclude='./.build*' --exclude=./cache -cf - . | tar -C "$source" -xf -
    mkdir -p "$source/cache/bin"
    cp "$binary" "$source/cache/bin/iscsi-root"
    (cd "$source" && dpkg-buildpackage -us -uc -b)
    ls "$work"/deb/iscsi-root_0.1.0_*.deb
}
check dpkg-buildpackage deb_build

deb_contents() {
    local deb listing path
    deb=$(ls "$work"/deb/iscsi-root_0.1.0_*.deb)
    listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
    for path in ./usr/sbin/iscsi-root ./usr/share/man/man8/iscsi-root.8.gz ./usr/share/initramfs-tools/hooks/iscsi-root \
        ./usr/share/initramfs-tools/scripts/local-top/iscsi-root ./usr/share/initramfs-tools/scripts/local-bottom/iscsi-root \
        ./usr/lib/dracut/modules.d/90iscsi-root/module-setup.sh ./usr/lib/dracut/dracut.conf.d/90-iscsi-root.conf \
        ./lib/systemd/system/iscsi-root.service ./lib/systemd/system/iscsi-root-keep-network.service \
        ./lib/systemd/system/iscsid.service.d/iscsi-root.conf ./lib/systemd/system/networking.service.d/iscsi-root.conf \
        ./lib/systemd/system/mdadm-shutdown.service.d/iscsi-root.conf ./lib/systemd/system/dracut-shutdown.service.d/iscsi-root.conf \
        ./usr/lib/iscsi-root/iscsi-root-keep-network; do
        grep -qx "$path" <<<"$listing" || { echo "missing from the package: $path"; return 1; }
    done
    # No maintainer script may start or stop anything on a machine whose root is live.
    local control="$work/deb/control"
    rm -rf "$control"
    dpkg-deb -e "$deb" "$control"
    for script in preinst postinst prerm postrm; do
        [[ ! -e "$control/$script" ]] || { echo "unexpected maintainer script: $script"; cat "$control/$script"; return 1; }
    done
    # The initramfs is rebuilt when the hooks change.
    grep -q 'update-initramfs' "$control/triggers"
    file -b "$binary" | grep -Eq 'statically linked|static-pie linked'
}
check deb-contents deb_contents

# dpkg into an empty root of its own: install, then remove and purge, and nothing of the
# package may stay.
deb_install_remove() {
    local deb root="$work/dpkg-root" left
    deb=$(ls "$work"/deb/iscsi-root_0.1.0_*.deb)
    rm -rf "$root"
    mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
    : >"$root/var/lib/dpkg/status"
    : >"$root/var/lib/dpkg/available"
    dpkg --root="$root" --force-script-chrootless -i "$deb"
    dpkg --root="$root" -s iscsi-root | grep -q '^Status: install ok installed'
    test -x "$root/usr/sbin/iscsi-root"
    "$root/usr/sbin/iscsi-root" --version
    dpkg --root="$root" -r iscsi-root
    dpkg --root="$root" -P iscsi-root
    left=$(find "$root" ! -type d ! -path "$root/var/lib/dpkg/*")
    [[ -z "$left" ]] || { echo "left behind: $left"; return 1; }
    if dpkg --root="$root" -s iscsi-root 2>/dev/null | grep -q '^Status: install'; then return 1; fi
}
check dpkg-install-remove deb_install_remove

# --- a fresh machine -------------------------------------------------------------------
# Every package set of `make check` and `make demo` (install-deps.sh --all), installed as on
# a new machine whose package lists are empty, against a private apt and dpkg state
# (--apt-state: apt-get update into private lists, then install --simulate), so this
# machine is not touched. The private dpkg status is this machine's without those packages
# (and whatever needs them), except that it remembers tgt as removed with its configuration
# kept, as dpkg remembers a package it once had: then `apt-cache show` of the missing
# packages succeeds although the lists are empty, so a refresh decided by it never happens.
install_from_empty_lists() {
    local state="$work/apt-state" output private
    rm -rf "$state"
    mkdir -p "$state/dpkg" "$state/lists/partial" "$state/cache/archives/partial"
    # shellcheck disable=SC2046 # one package name a word
    Tests/Packaging/status-without.py --config-files tgt $(scripts/install-deps.sh --all --list) \
        </var/lib/dpkg/status >"$state/dpkg/status"
    private=(-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o "Dir::State::status=$state/dpkg/status")
    apt-cache "${private[@]}" show tgt qemu-system-x86 >/dev/null 2>&1
    output=$(scripts/install-deps.sh --apt-state "$state" --all)
    echo "$output"
    grep -q '^install-deps.sh: installing .*qemu-system-x86' <<<"$output"
    grep -q '^install-deps.sh: installing .*tgt' <<<"$output"
    grep -Eq '^install-deps.sh: apt would install [1-9][0-9]* package' <<<"$output"
    [[ -n "$(ls "$state/lists"/*Packages* 2>/dev/null)" ]]
}
check fresh-machine-packages install_from_empty_lists

# The mirror for debootstrap and the kmod source comes from the machine's apt sources:
# deb822 first, the release itself (not -security), then one-line lists; none: a message.
mirror_from_apt_sources() {
    local apt="$work/apt-sources" codename
    # shellcheck disable=SC1091 # the machine's own file
    codename="$(. /etc/os-release && printf '%s' "$VERSION_CODENAME")"
    rm -rf "$apt"
    mkdir -p "$apt/sources.list.d"
    printf 'Types: deb\nURIs: http://security.invalid/x\nSuites: %s-security\n\nTypes: deb-src deb\nURIs: http://deb822.invalid/debian\nSuites: %s %s-updates\n' \
        "$codename" "$codename" "$codename" >"$apt/sources.list.d/a.sources"
    printf 'deb [signed-by=/k.gpg] http://one-line.invalid/debian %s main\n' "$codename" >"$apt/sources.list"
    [[ "$(DEBIAN_MIRROR_APT_DIR=$apt bash -c 'source scripts/debian-mirror.sh && debian_mirror')" == http://deb822.invalid/debian ]]
    rm "$apt/sources.list.d/a.sources"
    [[ "$(DEBIAN_MIRROR_APT_DIR=$apt bash -c 'source scripts/debian-mirror.sh && debian_mirror')" == http://one-line.invalid/debian ]]
    printf 'deb http://security.invalid/x %s-security main\n' "$codename" >"$apt/sources.list"
    local message
    if message=$(DEBIAN_MIRROR_APT_DIR=$apt bash -c 'source scripts/debian-mirror.sh && debian_mirror' 2>&1); then return 1; fi
    grep -q "no apt source for Debian $codename in $apt/sources.list.d/\*.sources" <<<"$message"
}
check debian-mirror mirror_from_apt_sources

# dracut's host-only command line from `status --json` (module-setup.sh's cmdline()): one
# netroot= per logged-in session, the root's first, none for a session still coming up; the
# LUN and the initiator come from sysfs, which this machine lacks (left empty, then absent).
dracut_cmdline() {
    local bin="$work/fake-sbin" module="$work/module-setup.sh"
    mkdir -p "$bin"
    printf '#!/bin/sh
cat "%s"
' "$work/status.json" >"$bin/iscsi-root"
    chmod 0755 "$bin/iscsi-root"
    sed "s|@SBINDIR@|$bin|g" Hooks/dracut/90iscsi-root/module-setup.sh >"$module"
    cat >"$work/status.json" <<'JSON'
{
  "state": "logged in",
  "target": "iqn.2024-01.example:root",
  "portal": "10.0.2.2:3260",
  "session": 1,
  "disk": "/dev/sda",
  "timers": {
    "replacementTimeout": 86400
  },
  "sessions": [
    {
      "state": "logged in",
      "target": "iqn.2024-01.example:root",
      "portal": "10.0.2.2:3260",
      "session": 1,
      "negotiated": {
        "HeaderDigest": "None"
      }
    },
    {
      "state": "recovering",
      "target": "iqn.2024-01.example:data",
      "portal": "[fd00::2]:3261",
      "session": 2
    },
    {
      "state": "coming up",
      "target": "iqn.2024-01.example:late",
      "portals": [
        "10.0.2.3:3260"
      ]
    }
  ]
}
JSON
    [[ "$(bash -c "source $module && cmdline")" == "netroot=iscsi:10.0.2.2::::iqn.2024-01.example:root
netroot=iscsi:[fd00::2]::3261::iqn.2024-01.example:data" ]]
    # One session: the top-level object alone.
    sed -n '1,9p' "$work/status.json" >"$work/one.json" && echo '  }' >>"$work/one.json" && echo '}' >>"$work/one.json"
    mv "$work/one.json" "$work/status.json"
    [[ "$(bash -c "source $module && cmdline")" == "netroot=iscsi:10.0.2.2::::iqn.2024-01.example:root" ]]
}
check dracut-cmdline dracut_cmdline

echo "packaging: $passed passed, $failed failed"
((failed == 0))
