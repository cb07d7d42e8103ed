#!/bin/sh
# /sbin/iscsiroot in a dracut image with iscsi-root: the netroot handler for
# netroot=iscsi:… (dracut's netroot.sh calls it as `iscsiroot NETIF NETROOT NEWROOT` when
# an interface is online) and the settled initqueue job of parse-iscsi-root.sh. Logs in
# with `iscsi-root login`, which is safe to call again: a session already supervised is
# reported, not logged in twice.
# shellcheck disable=SC1091 # dracut's library, inside the initramfs
command -v getarg > /dev/null || . /lib/dracut-lib.sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin

netroot=${2:-}
[ -e /tmp/iscsi-root.done ] && exit 0

# netroot=dhcp: dracut's DHCP client got the root path, and hands it over as NETROOT.
root_path=""
case "$netroot" in
    iscsi:?*) root_path=$netroot ;;
esac

if device=$(iscsi-root login ${root_path:+--root-path "$root_path"}); then
    info "iscsi-root: root device $device"
    echo "$device" > /tmp/iscsi-root.done
    exit 0
fi
warn "iscsi-root: login failed (messages above; \`iscsi-root plan\` explains the command line)"
exit 1
