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
case "$root" in
    iscsi:*)
        [ -n "$iscsi_root_netroot" ] && warn "iscsi-root: root=iscsi:… takes precedence over netroot=$iscsi_root_netroot"
        iscsi_root_netroot=$root
        # The whole LUN: /dev/root is the iSCSI disk that is not a partition.
        printf 'ENV{DEVTYPE}!="partition", SYMLINK=="disk/by-path/*-iscsi-*-*", SYMLINK+="root"\n' \
            >> /etc/udev/rules.d/99-iscsi-root.rules
        [ -n "$DRACUT_SYSTEMD" ] && systemctl -q is-active systemd-udevd && udevadm control --reload-rules
        root=/dev/root
        # shellcheck disable=SC1091
        type write_fs_tab > /dev/null 2>&1 || . /lib/fs-lib.sh
        write_fs_tab /dev/root
        iscsi_root_requested=1
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
    unset iscsi_root_netroot iscsi_root_requested
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
echo "${DRACUT_SYSTEMD:+systemctl -q is-active initrd-root-device.target || }[ -e /tmp/iscsi-root.done ]" \
    > "$hookdir"/initqueue/finished/iscsi-root.sh

# shellcheck disable=SC2034 # read by dracut's init
rootok=1
[ -z "$root" ] && root=iscsi
[ -z "$netroot" ] && netroot=$iscsi_root_netroot
unset iscsi_root_netroot iscsi_root_requested
