# Boots the guest under QEMU inside the run's network namespace, bounded in time, with
# every serial line stamped with the host's seconds since QEMU started (sourced).
#
#   vm_qemu_boot --kernel FILE --initrd FILE --append TEXT --log FILE --timeout SECONDS
#                [--monitor SOCKET] [--acpitable FILE] [--hostfwd RULE] [--guestfwd RULE] [--extra ARG]... [--show]
#                [--ipv6 | --dual-stack | --vlan-switch | --tap IFNAME] [--second-nic]
#   vm_qemu_boot --network-boot DIR --log FILE --timeout SECONDS [...]
#
# --network-boot: no -kernel; SeaBIOS boots the NIC's iPXE ROM (Debian's ipxe-qemu), which
# gets its address from QEMU's DHCP and runs DIR/boot.ipxe from QEMU's TFTP server (DIR);
# the script loads the kernel and initramfs (lib/ipxe.sh writes it).
#
# --hostfwd adds a forward to the user network (QEMU's hostfwd= syntax; repeatable), --guestfwd one from
# the guest (guestfwd=: an address of the guest's subnet that reaches the namespace); --extra passes one
# more argument to QEMU as it is (repeatable: drives, serial ports).
# --ipv6: the user network serves IPv6 (prefix fd00:10:2::/64, router advertisements
# included), its host fd00:10:2::2 being the namespace's ::1, and no IPv4 (QEMU turns it off
# when only ipv6=on is given); --dual-stack: both families, 10.0.2.2 and fd00:10:2::2.
# --vlan-switch: the NIC's frames go as UDP datagrams over the namespace's loopback to
# target.sh's vlan-switch.py instead.
# --tap: the NIC is the namespace's tap IFNAME (made beforehand, e.g. by dhcp6.sh), no user network.
# --second-nic: a second NIC (the guest's eth1, QEMU's netdev n1) on a user network of its own,
# 10.0.3.0/24, whose host 10.0.3.2 is the namespace's loopback too: a second path to the same
# portals that `set_link n1 off` on the monitor cuts alone, silently (a cable pulled).
# Returns QEMU's exit status (0 after the guest powered off; 124 when the host's timeout
# stopped it). --show copies the console to standard output as it arrives.
# Software emulation only (no usable KVM here), one vCPU: the machines have 2 cores.
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly VM_GUEST_MAC="52:54:00:12:34:56"
# iPXE's ROM for virtio-net; its PCI id is the modern device's (1af4:1041), hence
# disable-legacy=on for the NIC when it is used.
readonly VM_IPXE_ROM="/usr/lib/ipxe/qemu/pxe-virtio.rom"

vm_qemu_boot() {
    local kernel="" initrd="" append="" log="" timeout_seconds="" monitor="" acpitable="" show=0 network_boot=""
    local hostfwd="" guestfwd="" extra=() user_options="" vlan_switch=0 tap="" second_nic=0
    while (($# > 0)); do
        case "$1" in
        --network-boot) network_boot="$2"; shift 2 ;;
        --kernel) kernel="$2"; shift 2 ;;
        --initrd) initrd="$2"; shift 2 ;;
        --append) append="$2"; shift 2 ;;
        --log) log="$2"; shift 2 ;;
        --timeout) timeout_seconds="$2"; shift 2 ;;
        --monitor) monitor="$2"; shift 2 ;;
        --acpitable) acpitable="$2"; shift 2 ;;
        --hostfwd) hostfwd+="${hostfwd:+,hostfwd=}$2"; shift 2 ;;
        --guestfwd) guestfwd="$2"; shift 2 ;;
        --extra) extra+=("$2"); shift 2 ;;
        --ipv6) user_options=",ipv6=on,ipv6-net=fd00:10:2::/64,ipv6-host=fd00:10:2::2"; shift ;;
        # ipv6=on alone turns QEMU's IPv4 off: both families need both words.
        --dual-stack) user_options=",ipv4=on,ipv6=on,ipv6-net=fd00:10:2::/64,ipv6-host=fd00:10:2::2"; shift ;;
        --vlan-switch) vlan_switch=1; shift ;;
        --tap) tap="$2"; shift 2 ;;
        --second-nic) second_nic=1; shift ;;
        --show) show=1; shift ;;
        *) vm_fail "vm_qemu_boot: unknown option $1" ;;
        esac
    done
    [[ -n "$log" && -n "$timeout_seconds" ]] || vm_fail "vm_qemu_boot: --log and --timeout are required"
    [[ -n "$network_boot" || (-n "$kernel" && -n "$initrd") ]] ||
        vm_fail "vm_qemu_boot: --kernel and --initrd are required (or --network-boot DIR)"
    [[ -n "$VM_NETNS" ]] || vm_fail "vm_qemu_boot: call vm_netns_create first (target.sh)"

    # shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
    local qemu=(
        qemu-system-x86_64 -accel tcg -smp 1 -m 512 -nodefaults -no-reboot -display none
        -serial stdio -pidfile "$log.pid"
    )
    # In the namespace, the guest's 10.0.2.2 is the namespace's loopback.
    # shellcheck disable=SC2054
    if [[ -n "$network_boot" ]]; then
        [[ -f "$network_boot/boot.ipxe" ]] || vm_fail "vm_qemu_boot: no $network_boot/boot.ipxe"
        [[ -f "$VM_IPXE_ROM" ]] || vm_fail "vm_qemu_boot: no $VM_IPXE_ROM (Tests/VM/lib/deps.sh installs ipxe-qemu)"
        qemu+=(
            -netdev "user,id=n0,tftp=$network_boot,bootfile=boot.ipxe${hostfwd:+,hostfwd=$hostfwd}"
            -device "virtio-net-pci,netdev=n0,mac=$VM_GUEST_MAC,addr=03.0,disable-legacy=on,romfile=$VM_IPXE_ROM"
            -boot n
        )
    else
        local netdev="user,id=n0$user_options${hostfwd:+,hostfwd=$hostfwd}${guestfwd:+,guestfwd=$guestfwd}"
        ((vlan_switch == 0)) ||
            netdev="socket,id=n0,udp=127.0.0.1:$VM_VLAN_SWITCH_PORT,localaddr=127.0.0.1:$VM_VLAN_QEMU_PORT"
        [[ -z "$tap" ]] || netdev="tap,id=n0,ifname=$tap,script=no,downscript=no"
        # The same kernel uncompressed, when kernel.sh wrote it: QEMU boots it at its PVH
        # entry, seconds sooner under TCG. Firmware (iPXE above) loads the bzImage.
        local elf="${kernel%/vmlinuz-*}/vmlinux-${kernel##*/vmlinuz-}"
        [[ "$kernel" != */vmlinuz-* || ! -f "$elf" ]] || kernel="$elf"
        qemu+=(
            -netdev "$netdev"
            -device "virtio-net-pci,netdev=n0,mac=$VM_GUEST_MAC,addr=03.0,romfile="
            -kernel "$kernel" -initrd "$initrd" -append "$append"
        )
        # shellcheck disable=SC2054
        ((second_nic == 0)) || qemu+=(
            -netdev "user,id=n1,net=10.0.3.0/24,host=10.0.3.2"
            -device "virtio-net-pci,netdev=n1,mac=${VM_GUEST_MAC%:*}:57,addr=04.0,romfile="
        )
    fi
    if [[ -n "$monitor" ]]; then
        qemu+=(-monitor "unix:$monitor,server,nowait")
    else
        qemu+=(-monitor none)
    fi
    if [[ -n "$acpitable" ]]; then
        qemu+=(-acpitable "sig=iBFT,rev=1,oem_id=ISCSIR,oem_table_id=ISCSIRT,data=$acpitable")
    fi

    qemu+=("${extra[@]}")

    local started_us="${EPOCHREALTIME/./}"
    local status=0
    # timeout runs inside the namespace so that QEMU is its own child (ip netns exec
    # forks); QEMU gets 10 s after SIGTERM before SIGKILL.
    ip netns exec "$VM_NETNS" timeout --kill-after=10 "$timeout_seconds" "${qemu[@]}" </dev/null 2>&1 |
        vm_stamp_lines "$started_us" "$show" >"$log" || status=$?
    # The pipeline's status is QEMU's unless the stamping failed, which set -o pipefail
    # reports too: either way a non-zero status is a failed boot.
    return "$status"
}

# Prefixes each line with the seconds (millisecond precision) since STARTED_US, the
# host's EPOCHREALTIME without its dot. The console's carriage returns are dropped.
vm_stamp_lines() {
    local started_us="$1" show="$2"
    local line now_us elapsed_ms
    while IFS= read -r line || [[ -n "$line" ]]; do
        now_us="${EPOCHREALTIME/./}"
        elapsed_ms=$(((now_us - started_us) / 1000))
        line="${line//$'\r'/}"
        printf '%4d.%03d %s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) "$line"
        if ((show)); then
            printf '%4d.%03d %s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) "$line" >&2
        fi
    done
}

# Prints the host time (seconds since QEMU started) of the first console line in LOG that
# matches the extended regular expression PATTERN; fails when none does.
vm_console_time() {
    local log="$1" pattern="$2"
    local stamp
    stamp="$(grep -E -m 1 -- "^ *[0-9]+\.[0-9]{3} .*($pattern)" "$log" | awk '{ print $1 }')"
    [[ -n "$stamp" ]] || return 1
    echo "$stamp"
}
