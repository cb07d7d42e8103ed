# Everything a boot script needs, in one line for it to source: the kernel, the
# initramfs, the target, QEMU, the root image, the iBFT helpers, the faults and the
# checks on a finished boot (sourced).
# shellcheck shell=bash
VM_HARNESS_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$VM_HARNESS_LIB/common.sh"
# shellcheck source=kernel.sh
source "$VM_HARNESS_LIB/kernel.sh"
# shellcheck source=initramfs.sh
source "$VM_HARNESS_LIB/initramfs.sh"
# shellcheck source=target.sh
source "$VM_HARNESS_LIB/target.sh"
# shellcheck source=qemu.sh
source "$VM_HARNESS_LIB/qemu.sh"
# shellcheck source=rootfs.sh
source "$VM_HARNESS_LIB/rootfs.sh"
# shellcheck source=ibft.sh
source "$VM_HARNESS_LIB/ibft.sh"
# shellcheck source=faults.sh
source "$VM_HARNESS_LIB/faults.sh"
# shellcheck source=boot-checks.sh
source "$VM_HARNESS_LIB/boot-checks.sh"

# What a boot suite needs before its first boot: root, the VM packages, the static agent,
# the kernel (KVER, KERNEL_IMAGE) and the log folder, cache/vm/logs.
vm_suite_prepare() {
    ((EUID == 0)) || vm_fail "needs root (network namespaces, QEMU in them)"
    "$VM_HARNESS_LIB/deps.sh"
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (run make static)"
    vm_kernel_prepare
    mkdir -p "$VM_CACHE_DIR/vm/logs"
}
