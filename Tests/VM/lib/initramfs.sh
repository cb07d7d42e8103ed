# The project's initramfs for the VM kernel (sourced; kernel.sh's vm_kernel_prepare first).
#
#   vm_initramfs_build OUTPUT [build-initramfs.sh options...]
#
# VM_AGENT_BINARY is the static iscsi-root to make /init (default cache/bin/iscsi-root,
# which `make static` writes).
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VM_AGENT_BINARY="${VM_AGENT_BINARY:-$VM_CACHE_DIR/bin/iscsi-root}"

vm_initramfs_build() {
    local output="$1"
    shift
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (run make static)"
    [[ -n "${KVER:-}" && -n "${MODULES_DIR:-}" ]] || vm_fail "vm_initramfs_build: call vm_kernel_prepare first"
    "$VM_REPO_ROOT/Initramfs/build-initramfs.sh" --binary "$VM_AGENT_BINARY" --output "$output" \
        --kver "$KVER" --modules-dir "$MODULES_DIR" "$@"
}
