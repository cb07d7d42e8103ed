# The guest's root filesystem: a 64 MiB ext4 (label "root") holding busybox-static and an
# /sbin/init that reports on the console, writes a file (or, on a read-only root, checks
# that it cannot) and powers off; and the host's look at it afterwards (sourced).
#
#   vm_rootfs_build IMAGE [--partuuid UUID] [--init FILE] [--size SIZE] [--add FILE:PATH]...
#       writes IMAGE (about 1 s). With --partuuid the image is a disk: a GPT whose
#       partition 1 (that PARTUUID, from 1 MiB on) holds the filesystem. --init replaces
#       the /sbin/init below (Tests/VM/guest/), --size the filesystem's 64M; --add puts the
#       host's FILE at PATH (executable), e.g. the agent as /sbin/iscsi-root.
#   vm_rootfs_read IMAGE PATH     prints a file of the filesystem (debugfs)
#   vm_rootfs_check IMAGE         e2fsck -fn: fails when the filesystem is not clean
#
# Markers on the console, for the harness:
#   VM-MARKER: root-init-started uptime=SECONDS
#   VM-MARKER: root-mounted DEVICE TYPE OPTIONS      (/ as /proc/mounts shows it)
#   VM-MARKER: root-file-written path=/var/log/iscsi-root-boots     (read-write root)
#   VM-MARKER: root-read-only-write-refused          (read-only root: the write failed)
#   VM-MARKER: root-read-only-write-succeeded        (read-only root, yet the write worked)
#   VM-MARKER: iscsi-connection persistent_address=HOST persistent_port=PORT address=HOST
#   VM-MARKER: root-poweroff
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly VM_ROOTFS_APPLETS=(sh mount umount cat echo sync poweroff mkdir sleep uname yes head dd dmesg printf grep sed)
# shellcheck disable=SC2034 # used by the scripts that source this one
readonly VM_ROOTFS_FILE=/var/log/iscsi-root-boots
# Where partition 1 starts on a partitioned image (sfdisk's default alignment).
readonly VM_ROOTFS_PARTITION_OFFSET=$((2048 * 512))

vm_rootfs_build() (
    local image="$1"
    shift
    local partuuid="" init="" size="" added=()
    while (($# > 0)); do
        case "$1" in
        --partuuid) partuuid="$2"; shift 2 ;;
        --init) init="$2"; shift 2 ;;
        --size) size="$2"; shift 2 ;;
        --add) added+=("$2"); shift 2 ;;
        *) vm_fail "vm_rootfs_build: unknown option $1" ;;
        esac
    done
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
# The guest's real init: says how / is mounted, proves it is writable (or, mounted
# read-only, that it is not), then powers off.
export PATH=/bin
mount -t proc proc /proc
read -r uptime idle </proc/uptime
echo "VM-MARKER: root-init-started uptime=$uptime"
# The last line for / in /proc/mounts is the mount that is visible.
while read -r device mountpoint type options rest; do
    if [ "$mountpoint" = / ]; then
        root_device="$device" root_type="$type" root_options="$options"
    fi
done </proc/mounts
echo "VM-MARKER: root-mounted $root_device $root_type $root_options"
echo "Hello from the root filesystem: $(uname -s -r -m), / is $root_device ($root_type, ${root_options%%,*})"
case ",$root_options," in
*,ro,*)
    if echo "booted uptime=$uptime" 2>/dev/null >>/var/log/iscsi-root-boots; then
        echo "VM-MARKER: root-read-only-write-succeeded"
    else
        echo "VM-MARKER: root-read-only-write-refused"
    fi
    ;;
*)
    echo "booted uptime=$uptime" >>/var/log/iscsi-root-boots
    sync
    echo "VM-MARKER: root-file-written path=/var/log/iscsi-root-boots"
    ;;
esac
# The kernel session's own view of its portal, as iscsiadm reads it from sysfs.
[ -d /sys/class ] || mount -t sysfs sysfs /sys 2>/dev/null
for connection in /sys/class/iscsi_connection/*; do
    [ -r "$connection/persistent_address" ] || continue
    echo "VM-MARKER: iscsi-connection persistent_address=$(cat "$connection/persistent_address") persistent_port=$(cat "$connection/persistent_port") address=$(cat "$connection/address" 2>/dev/null)"
done
echo "diskless boot from iSCSI ok"
echo "VM-MARKER: root-poweroff"
poweroff -f
INIT
    if [[ -n "$init" ]]; then
        cp "$init" "$tree/sbin/init"
    fi
    chmod 0755 "$tree/sbin/init"
    local entry
    for entry in "${added[@]}"; do
        install -D -m 0755 "${entry%%:*}" "$tree/${entry#*:}"
    done
    rm -f "$image"
    if [[ -z "$partuuid" ]]; then
        mkfs.ext4 -q -F -L root -d "$tree" "$image" "${size:-64M}" >/dev/null
        return 0
    fi
    command -v sfdisk >/dev/null || vm_fail "sfdisk not found (Tests/VM/lib/deps.sh installs fdisk)"
    # 1 MiB of GPT and alignment, 64 MiB of partition, 1 MiB for the backup GPT.
    truncate -s 66M "$image"
    printf 'label: gpt\nstart=2048, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=%s, name=root\n' \
        $((64 * 2048)) "$partuuid" | sfdisk -q "$image" >/dev/null
    mkfs.ext4 -q -F -L root -E "offset=$VM_ROOTFS_PARTITION_OFFSET" -d "$tree" "$image" 64M >/dev/null
)

# debugfs and e2fsck open the filesystem where it starts: the image itself, or partition 1
# (e2fsprogs' unix I/O manager takes "FILE?offset=BYTES").
vm_rootfs_device() {
    local image="$1"
    # The ext4 magic 0xEF53 sits 56 bytes into the superblock, which starts at byte 1024.
    if [[ "$(od -An -tx1 -j $((1024 + 56)) -N 2 "$image" | tr -d ' ')" == "53ef" ]]; then
        echo "$image"
    else
        echo "$image?offset=$VM_ROOTFS_PARTITION_OFFSET"
    fi
}

vm_rootfs_read() {
    local image="$1" path="$2"
    debugfs -R "cat $path" "$(vm_rootfs_device "$image")" 2>/dev/null
}

vm_rootfs_check() {
    local image="$1"
    e2fsck -fn "$(vm_rootfs_device "$image")" >/dev/null 2>&1
}
