# A Debian root tree made with debootstrap from the host's own apt mirror, built once per
# (suite, package list) and cached under cache/debian/ (sourced).
#
#   debian_root_tree SUITE PACKAGES     prints the cached tree's path (debootstrap on a miss)
#                                       PACKAGES: comma-separated, for --include
#   debian_root_image TREE IMAGE SIZE   ext4 image labelled "root" made from TREE (mkfs -d)
#   debian_mirror                       the host's Debian mirror (scripts/debian-mirror.sh)
#   debian_root_unattended TREE         a machine id, and no getty, prompt or timer
#   debian_root_marker TREE SCRIPT      SCRIPT runs once multi-user.target is reached
#                                       (Tests/VM/guest/marker.service)
#
# The tree is --variant=minbase; no package script starts a service (debootstrap runs them
# in a chroot with its own policy). Callers copy the tree before changing it. Needs root.
# A minbase bookworm with systemd-sysv and udev takes about 3 minutes and 250 MB.
# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly DEBIAN_ROOT_CACHE="$VM_CACHE_DIR/debian"

# shellcheck source=../../../scripts/debian-mirror.sh
source "$VM_REPO_ROOT/scripts/debian-mirror.sh"

debian_root_tree() {
    local suite="$1" packages="$2"
    local key
    key="$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c 1-12)"
    local tree="$DEBIAN_ROOT_CACHE/$suite-$key"
    if [[ ! -f "$tree/.complete" ]]; then
        command -v debootstrap >/dev/null || "$VM_REPO_ROOT/Tests/VM/lib/deps.sh" --set debian-root >&2
        local staging="$tree.staging" log="$tree.debootstrap.log"
        rm -rf "$staging" "$tree"
        mkdir -p "$DEBIAN_ROOT_CACHE"
        local mirror
        mirror="$(debian_mirror)" || vm_fail "debootstrap needs a Debian mirror"
        vm_log "debootstrap $suite with $packages from $mirror (once; cached in $tree)"
        debootstrap --variant=minbase --include="$packages" "$suite" "$staging" "$mirror" >"$log" 2>&1 || {
            tail -n 30 "$log" >&2
            vm_fail "debootstrap failed (log: $log)"
        }
        # What a machine-specific id would otherwise make differ between copies.
        rm -f "$staging/etc/machine-id" "$staging/var/lib/dbus/machine-id"
        : >"$staging/etc/machine-id"
        rm -rf "$staging/var/cache/apt/archives/"*.deb "$staging/var/lib/apt/lists/"*
        printf '%s\n%s\n' "$suite" "$packages" >"$staging/.complete"
        mv "$staging" "$tree"
    fi
    echo "$tree"
}

debian_root_image() {
    local tree="$1" image="$2" size="$3"
    rm -f "$image"
    mkfs.ext4 -q -L root -d "$tree" "$image" "$size" >/dev/null
}

# What a test boot must not wait for: a machine id (an empty one means "first boot", and
# systemd-firstboot would prompt), a login on the console, the daily timers, e2scrub_reap
# (multi-user.target waits for its LVM scan: 4 s to 30 s under TCG), and KVM: udev
# loads kvm_amd for the emulated CPU's SVM flag, which stalled a TCG guest for ~9 s, long
# enough for the session's NOP-Out to time out.
debian_root_unattended() {
    local tree="$1" unit
    mkdir -p "$tree/etc/modprobe.d"
    printf 'blacklist kvm_amd\nblacklist kvm_intel\nblacklist kvm\n' >"$tree/etc/modprobe.d/vm-no-kvm.conf"
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$tree/etc/machine-id"
    echo >>"$tree/etc/machine-id"
    for unit in systemd-firstboot.service serial-getty@ttyS0.service getty@tty1.service \
        apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer; do
        ln -sf /dev/null "$tree/etc/systemd/system/$unit"
    done
}

debian_root_marker() {
    local tree="$1" script="$2"
    mkdir -p "$tree/usr/local/sbin"
    install -m 0755 "$script" "$tree/usr/local/sbin/vm-marker"
    install -m 0644 "$VM_REPO_ROOT/Tests/VM/guest/marker.service" "$tree/etc/systemd/system/vm-marker.service"
    ln -sf /etc/systemd/system/vm-marker.service "$tree/etc/systemd/system/multi-user.target.wants/vm-marker.service"
}
