#!/bin/bash
# shellcheck disable=SC2154 # initdir, moddir, hostonly_cmdline… are set by dracut
# dracut module of iscsi-root: the static agent logs in to the iSCSI root (dracut's own
# grammar: netroot=iscsi:…, root=iscsi:…, rd.iscsi.*, ip=; and iscsi=), leaves its pinned
# supervisor running, and dracut mounts the root. It replaces dracut's iscsi module: only
# one initiator may log in (iscsi-root's dracut.conf.d file omits "iscsi").

# called by dracut
check() {
    require_binaries @SBINDIR@/iscsi-root || return 1
    # Host-only: only when this machine's root is on a session of ours.
    if [[ $hostonly ]]; then
        @SBINDIR@/iscsi-root status > /dev/null 2>&1 || return 255
        return 0
    fi
    return 255
}

# called by dracut
depends() {
    # iscsi-root configures a NIC (static, DHCP, VLAN, iBFT) itself; bonds, bridges and
    # teams need dracut's network module.
    local _deps="rootfs-block"
    if [[ $hostonly ]] && grep -Eq '(^| )(bond|bridge|team)=' /proc/cmdline 2> /dev/null; then
        _deps+=" network"
    fi
    echo "$_deps"
}

# called by dracut
installkernel() {
    hostonly='' instmods iscsi_tcp libiscsi_tcp libiscsi scsi_transport_iscsi sd_mod crc32c \
        iscsi_ibft iscsi_boot_sysfs af_packet 8021q
    # The NIC drivers (dracut's kernel-network-modules is in Debian's dracut-network, which
    # need not be installed): host-only, the driver of the session's NIC; else every wired one.
    local _interface _module
    if [[ $hostonly ]] && [[ -r /run/iscsi-root/interface ]]; then
        read -r _interface < /run/iscsi-root/interface
        _module=$(readlink -f "/sys/class/net/$_interface/device/driver/module" 2> /dev/null)
        if [[ $_module ]]; then
            instmods "${_module##*/}"
            return 0
        fi
    fi
    dracut_instmods -o -P ".*/(wireless|isdn|uwb|net/phy|net/team)/.*" \
        -s "eth_type_trans|register_virtio_device|usbnet_open" "=drivers/net"
}

# The running sessions as dracut's command line, for host-only images:
#   rd.iscsi.initiator=NAME netroot=iscsi:ADDRESS::[PORT]:[LUN]:TARGET (one per session)
# `status --json` puts the root's session at the top level and, with several sessions,
# every session's object in "sessions" (the root's first): their members are indented six
# spaces instead of two. A session still coming up has no portal and is left out.
cmdline() {
    local _json _indent _line _target="" _portal="" _disk="" _session="" _initiator=""
    _json=$(@SBINDIR@/iscsi-root status --json 2> /dev/null) || return 0
    _indent="  "
    grep -q '^  "sessions": \[' <<< "$_json" && _indent="      "
    while IFS= read -r _line; do
        case "$_line" in
        "$_indent\"state\": "*)
            cmdline_session
            _target="" _portal="" _disk="" _session=""
            ;;
        "$_indent\"target\": \""*) _target=$(json_member_value "$_line") ;;
        "$_indent\"portal\": \""*) _portal=$(json_member_value "$_line") ;;
        "$_indent\"disk\": \"/dev/"*) _disk=$(json_member_value "$_line") && _disk=${_disk#/dev/} ;;
        "$_indent\"session\": "[0-9]*) _session=$(json_member_value "$_line") ;;
        esac
    done <<< "$_json"
    cmdline_session
}

# The value of one line `"key": value,` of `status --json` (a string's without its quotes).
json_member_value() {
    local _value=${1#*\": }
    _value=${_value%,}
    _value=${_value#\"}
    printf '%s' "${_value%\"}"
}

# One session of cmdline()'s (its variables): rd.iscsi.initiator= before the first.
cmdline_session() {
    local _address _port _lun=""
    [[ $_target && $_portal ]] || return 0
    _address=${_portal%:*}
    _port=${_portal##*:}
    [[ $_port == 3260 ]] && _port=
    if [[ $_disk && -d /sys/block/$_disk/device/scsi_device ]]; then
        _lun=$(ls /sys/block/"$_disk"/device/scsi_device)
        _lun=${_lun##*:}
    fi
    if [[ ! $_initiator && $_session && -r /sys/class/iscsi_session/session$_session/initiatorname ]]; then
        read -r _initiator < /sys/class/iscsi_session/session"$_session"/initiatorname
        [[ $_initiator ]] && echo "rd.iscsi.initiator=$_initiator"
    fi
    echo "netroot=iscsi:${_address}::${_port}:${_lun}:${_target}"
}

# called by dracut
install() {
    if dracut_module_included "iscsi"; then
        derror "iscsi-root: dracut's iscsi module is in this image too; only one of them may log in to the root."
        derror "iscsi-root: leave it out with omit_dracutmodules+=\" iscsi \" (iscsi-root's dracut.conf.d does)."
        return 1
    fi
    inst_simple @SBINDIR@/iscsi-root /usr/sbin/iscsi-root
    inst_multiple -o /etc/iscsi/iscsi.initramfs
    if [[ -r /etc/iscsi-root/secrets ]]; then
        inst_simple /etc/iscsi-root/secrets /etc/iscsi-root/secrets
        chmod 0600 "${initdir}/etc/iscsi-root/secrets"
    fi

    if [[ $hostonly_cmdline == "yes" ]]; then
        local _cmdline
        _cmdline=$(cmdline)
        [[ $_cmdline ]] && printf "%s\n" "$_cmdline" > "${initdir}/etc/cmdline.d/90iscsi-root.conf"
    fi

    inst_hook cmdline 90 "$moddir/parse-iscsi-root.sh"
    # dracut's network module (when present) runs /sbin/<type>root for netroot=iscsi:… once
    # an interface is up; the settled initqueue job of the cmdline hook uses it too.
    inst_script "$moddir/iscsi-root-netroot.sh" /sbin/iscsiroot
    # Used when dracut's own shutdown ramdisk replaces iscsi-root's (another module asked
    # for it): log the session out once the root is unmounted.
    inst_hook shutdown 20 "$moddir/iscsi-root-shutdown.sh"

    if dracut_module_included "systemd"; then
        # The supervisor forked by the initqueue stays in dracut-initqueue.service's cgroup
        # (KillMode=process): systemd 255 and later spare that cgroup at the final kill; '@' in
        # argv[0] covers every version.
        inst_simple "$moddir/dracut-initqueue-iscsi-root.conf" \
            "$systemdsystemunitdir/dracut-initqueue.service.d/iscsi-root.conf"
    fi
    dracut_need_initqueue
}
