# The guest's root filesystem: a 64 MiB ext4 image (label "root") holding busybox-static
# and an /sbin/init that reports on the console, writes a file and powers off (sourced).
#
#   vm_rootfs_build IMAGE     writes IMAGE (about 1 s)
#
# Markers on the console, for the harness:
#   VM-MARKER: root-init-started uptime=SECONDS
#   VM-MARKER: root-file-written path=/var/log/iscsi-root-boots
#   VM-MARKER: root-poweroff
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly VM_ROOTFS_APPLETS=(sh mount umount cat echo sync poweroff mkdir sleep)

vm_rootfs_build() (
    local image="$1"
    local busybox=/bin/busybox
    [[ -x "$busybox" ]] || vm_fail "no $busybox (Tests/VM/lib/deps.sh installs busybox-static)"
    file -b "$busybox" | grep -Eq 'statically linked|static-pie linked' ||
        vm_fail "$busybox is not the static one (install busybox-static)"
    local tree
    tree="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand now: the trap removes this tree
    trap "rm -rf '$tree'" EXIT
    mkdir -p "$tree"/{bin,sbin,dev,proc,sys,run,tmp,var/log}
    cp "$busybox" "$tree/bin/busybox"
    local applet
    for applet in "${VM_ROOTFS_APPLETS[@]}"; do
        ln -s busybox "$tree/bin/$applet"
    done
    cat >"$tree/sbin/init" <<'INIT'
#!/bin/sh
# The guest's real init: proves the root is mounted read-write, then powers off.
export PATH=/bin
mount -t proc proc /proc
read -r uptime idle </proc/uptime
echo "VM-MARKER: root-init-started uptime=$uptime"
echo "booted uptime=$uptime" >>/var/log/iscsi-root-boots
sync
echo "VM-MARKER: root-file-written path=/var/log/iscsi-root-boots"
echo "VM-MARKER: root-poweroff"
poweroff -f
INIT
    chmod 0755 "$tree/sbin/init"
    rm -f "$image"
    mkfs.ext4 -q -F -L root -d "$tree" "$image" 64M >/dev/null
)
