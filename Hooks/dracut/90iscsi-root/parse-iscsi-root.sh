#!/bin/sh
# shellcheck disable=SC2154 # hookdir, NEWROOT… are set by dracut
# dracut cmdline hook of iscsi-root (sourced by dracut). Decides whether the root is on
# iSCSI and queues the login; the agent parses the command line itself (netroot=iscsi:…,
# root=iscsi:…, rd.iscsi.*, iscsi_firmware, iscsi=, ip=), so only the routing is here.
#
#   root=iscsi:…           the whole LUN is the root: udev names it /dev/root
#   netroot=iscsi:… root=… the root is found on the LUNs (LABEL=, UUID=, a path)
#   netroot=dhcp           the target comes from DHCP's root path (option 17)
#   rd.iscsi.firmware=1    the iBFT's targets

# shellcheck disable=SC1091 # dracut's library, inside the initramfs
command -v getarg > /dev/null || . /lib/dracut-lib.sh

# sysroot.mount of the whole LUN (/dev/root), as dracut's rootfs generator writes it for a
# root=/dev/… (POSIX sh: no local variables; the caller unsets them).
iscsi_root_mount_unit() {
    iscsi_root_units=/etc/systemd/system
    iscsi_root_options=$(getarg rootflags=)
    iscsi_root_mode=ro
    getarg rw > /dev/null && iscsi_root_mode=rw
    mkdir -p "$iscsi_root_units/initrd-root-fs.target.requires" "$iscsi_root_units/dev-root.device.d"
    {
        echo "[Unit]"
        echo "Before=initrd-root-fs.target"
        echo "Requires=systemd-fsck@dev-root.service"
        echo "After=systemd-fsck@dev-root.service"
        echo "[Mount]"
        echo "What=/dev/root"
        echo "Where=/sysroot"
        echo "Options=${iscsi_root_options:+$iscsi_root_options,}$iscsi_root_mode"
        getarg rootfstype= > /dev/null && echo "Type=$(getarg rootfstype=)"
    } > "$iscsi_root_units/sysroot.mount"
    ln -sf ../sysroot.mount "$iscsi_root_units/initrd-root-fs.target.requires/sysroot.mount"
    # The agent bounds the wait for the LUN (iscsi.* timeouts), the initqueue rd.retry.
    printf '[Unit]\nJobTimeoutSec=0\nJobRunningTimeoutSec=0\n' > "$iscsi_root_units/dev-root.device.d/timeout.conf"
    systemctl daemon-reload
    # The boot's queued start of initrd-root-fs.target predates the unit: a new start job
    # pulls it in (as write_fs_tab does).
    systemctl --no-block start initrd-root-fs.target
}

[ -z "$root" ] && root=$(getarg root=)
iscsi_root_netroot=""
for nroot in $(getargs netroot=); do
    case "$nroot" in
        iscsi | iscsi:* | dhcp | dhcp6)
            iscsi_root_netroot=$nroot
            break
            ;;
    esac
done
iscsi_root_requested=""
iscsi_root_whole_lun=""
case "$root" in
    iscsi:*)
        [ -n "$iscsi_root_netroot" ] && warn "iscsi-root: root=iscsi:… takes precedence over netroot=$iscsi_root_netroot"
        iscsi_root_netroot=$root
        # The whole LUN: /dev/root is the iSCSI disk that is not a partition.
        printf 'ENV{DEVTYPE}!="partition", SYMLINK=="disk/by-path/*-iscsi-*-*", SYMLINK+="root"\n' \
            >> /etc/udev/rules.d/99-iscsi-root.rules
        [ -n "$DRACUT_SYSTEMD" ] && systemctl -q is-active systemd-udevd && udevadm control --reload-rules
        root=/dev/root
        # Shell init: rootfs-block mounts root=/dev/root. systemd: root=iscsi:… is no device
        # to the generators, and fs-lib's write_fs_tab (dracut 059) adds no fstab line
        # (it needs grep, and only appends a line that is there already), so the mount of
        # the whole LUN is written here as dracut's rootfs generator writes it for /dev/….
        [ -n "$DRACUT_SYSTEMD" ] && iscsi_root_mount_unit
        iscsi_root_requested=1
        iscsi_root_whole_lun=1
        ;;
esac
case "$iscsi_root_netroot" in
    iscsi*) iscsi_root_requested=1 ;;
esac
if getargbool 0 rd.iscsi.firmware -y iscsi_firmware || getarg iscsi= > /dev/null || getarg iscsiroot= > /dev/null \
    || getarg rd.iscsi.target.name= > /dev/null; then
    iscsi_root_requested=1
    [ -z "$iscsi_root_netroot" ] && iscsi_root_netroot="iscsi:"
fi
# netroot=dhcp is ours only with an iSCSI root path; dracut's dhcp-root.sh resolves it.
if [ -z "$iscsi_root_requested" ] && [ "$iscsi_root_netroot" != dhcp ] && [ "$iscsi_root_netroot" != dhcp6 ]; then
    unset iscsi_root_netroot iscsi_root_requested iscsi_root_whole_lun iscsi_root_units iscsi_root_options iscsi_root_mode
    unset -f iscsi_root_mount_unit
    return 0
fi

modprobe -b -q iscsi_tcp || die "iscsi-root: the root is on iSCSI but this initramfs has no iscsi_tcp"
modprobe -b -q iscsi_ibft

# With dracut's network module in the image (ip=, bonds…) its ifup calls /sbin/iscsiroot
# once an interface is online; otherwise the agent configures the NIC itself, once udev
# has settled.
if [ -e /lib/net-lib.sh ] && getarg ip= > /dev/null; then
    :
else
    initqueue --onetime --settled --unique --name iscsi-root /sbin/iscsiroot settled "$iscsi_root_netroot" "$NEWROOT"
fi
# With root=iscsi:… initrd-root-device.target has nothing to wait for and is active at once:
# only the login ends the wait.
if [ -n "$iscsi_root_whole_lun" ]; then
    echo "[ -e /tmp/iscsi-root.done ]" > "$hookdir"/initqueue/finished/iscsi-root.sh
else
    echo "${DRACUT_SYSTEMD:+systemctl -q is-active initrd-root-device.target || }[ -e /tmp/iscsi-root.done ]" \
        > "$hookdir"/initqueue/finished/iscsi-root.sh
fi

# shellcheck disable=SC2034 # read by dracut's init
rootok=1
[ -z "$root" ] && root=iscsi
[ -z "$netroot" ] && netroot=$iscsi_root_netroot
unset iscsi_root_netroot iscsi_root_requested iscsi_root_whole_lun iscsi_root_units iscsi_root_options iscsi_root_mode
unset -f iscsi_root_mount_unit
