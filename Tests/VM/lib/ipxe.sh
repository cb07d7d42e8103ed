# A network boot through iPXE, as a machine whose NIC ROM attaches the root's iSCSI disk
# and leaves an iBFT in low memory (sourced).
#
#   vm_ipxe_tftp_dir DIR KERNEL INITRD APPEND INITIATOR ROOT_PATH
#
# Fills DIR (QEMU's TFTP root, for vm_qemu_boot --network-boot DIR) with the kernel, the
# initramfs and boot.ipxe: DHCP, the initiator name, `sanhook ROOT_PATH` (iPXE logs in and
# publishes the iBFT), then the kernel with APPEND as its whole command line, and boot.
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

vm_ipxe_tftp_dir() {
    local dir="$1" kernel="$2" initrd="$3" append="$4" initiator="$5" root_path="$6"
    [[ -f "$kernel" && -f "$initrd" ]] || vm_fail "vm_ipxe_tftp_dir: no kernel $kernel or initramfs $initrd"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$kernel" "$dir/vmlinuz"
    cp "$initrd" "$dir/initrd.img"
    # iPXE stops at the first failing command (no `|| shell`): the boot then never reaches
    # the kernel and the host's timeout ends it.
    cat >"$dir/boot.ipxe" <<SCRIPT
#!ipxe
dhcp
set initiator-iqn $initiator
sanhook $root_path
kernel tftp://10.0.2.2/vmlinuz $append
initrd tftp://10.0.2.2/initrd.img
boot
SCRIPT
}
