#!/usr/bin/env bash
# Debian's 6.1 kernel for the VM boots, unpacked into cache/kernel/ (nothing is installed
# system-wide). Sourced for vm_kernel_prepare, or run to prepare it and print its paths.
#
# usage: Tests/VM/lib/kernel.sh        prints KVER=, KERNEL_IMAGE=, MODULES_DIR=
#   VM_KERNEL_PACKAGE=linux-image-6.1.0-NN-amd64 pins the package; by default it is the
#   one Debian's linux-image-amd64 depends on now (the ABI number changes with point
#   releases, and old ones leave the mirror).
# shellcheck shell=bash
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly VM_KERNEL_CACHE="$VM_CACHE_DIR/kernel"

vm_kernel_package() {
    if [[ -n "${VM_KERNEL_PACKAGE:-}" ]]; then
        echo "$VM_KERNEL_PACKAGE"
        return
    fi
    local package
    package="$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.0-[0-9]+-amd64$/ { print $2; exit }')"
    if [[ -z "$package" ]]; then
        apt-get update -q >&2
        package="$(apt-cache depends linux-image-amd64 |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.0-[0-9]+-amd64$/ { print $2; exit }')"
    fi
    [[ -n "$package" ]] || vm_fail "apt-cache finds no linux-image-6.1.0-NN-amd64 behind linux-image-amd64"
    echo "$package"
}

# Downloads PACKAGE and unpacks it into TREE with its modules.dep. A subshell, so that
# its cleanup trap never replaces the caller's.
vm_kernel_unpack() (
    local package="$1" kver="$2" tree="$3"
    command -v depmod >/dev/null || vm_fail "depmod not found (Tests/VM/lib/deps.sh installs kmod)"
    mkdir -p "$VM_KERNEL_CACHE"
    local staging
    staging="$(mktemp -d "$VM_KERNEL_CACHE/staging.XXXXXX")"
    # shellcheck disable=SC2064 # expand now: the trap removes this staging folder
    trap "rm -rf '$staging'" EXIT
    vm_log "downloading $package"
    local deb
    deb="$(vm_apt_download "$staging" "$package")"
    dpkg-deb -x "$deb" "$staging/tree"
    [[ -f "$staging/tree/boot/vmlinuz-$kver" ]] || vm_fail "$deb holds no boot/vmlinuz-$kver"
    # The package ships no modules.dep: its maintainer scripts would run depmod.
    depmod -b "$staging/tree" "$kver"
    vm_kernel_uncompress "$staging/tree/boot/vmlinuz-$kver" "$staging/tree/boot/vmlinux-$kver"
    touch "$staging/tree/.complete"
    rm -rf "$tree"
    mv "$staging/tree" "$tree"
)

# Writes the ELF kernel inside the bzImage BZIMAGE to ELF. QEMU starts such an ELF at its
# PVH entry point, so that the guest does not decompress its XZ payload: under TCG that took
# 4.5 of the 7.8 s from QEMU's start to the kernel's first line of a VM boot. The bzImage
# header (boot protocol 2.08+) gives the payload: setup_sects at 0x1f1, payload_offset and
# payload_length at 0x248 and 0x24c, counted from the end of the setup sectors.
vm_kernel_uncompress() {
    local bzimage="$1" elf="$2"
    local setup_sectors payload_offset payload_length
    setup_sectors="$(od -An -tu1 -j $((0x1f1)) -N 1 "$bzimage" | tr -d ' ')"
    payload_offset="$(od -An -tu4 -j $((0x248)) -N 4 "$bzimage" | tr -d ' ')"
    payload_length="$(od -An -tu4 -j $((0x24c)) -N 4 "$bzimage" | tr -d ' ')"
    dd if="$bzimage" iflag=skip_bytes,count_bytes skip=$(((setup_sectors + 1) * 512 + payload_offset)) \
        count="$payload_length" bs=1M status=none | xz -dc --single-stream >"$elf.partial" ||
        vm_fail "$bzimage: no XZ payload at its header's payload_offset"
    [[ "$(od -An -c -N 4 "$elf.partial" | tr -d ' ')" == '177ELF' ]] || vm_fail "$bzimage: its payload is not an ELF kernel"
    mv "$elf.partial" "$elf"
}

# Sets KVER, KERNEL_IMAGE and MODULES_DIR (the root of an unpacked tree holding
# lib/modules/KVER with modules.dep), downloading and unpacking once.
vm_kernel_prepare() {
    local package
    package="$(vm_kernel_package)"
    KVER="${package#linux-image-}"
    MODULES_DIR="$VM_KERNEL_CACHE/$KVER"
    KERNEL_IMAGE="$MODULES_DIR/boot/vmlinuz-$KVER"
    if [[ ! -f "$MODULES_DIR/.complete" ]]; then
        vm_kernel_unpack "$package" "$KVER" "$MODULES_DIR"
    fi
    # A tree unpacked before the ELF was kept.
    [[ -f "$MODULES_DIR/boot/vmlinux-$KVER" ]] ||
        vm_kernel_uncompress "$KERNEL_IMAGE" "$MODULES_DIR/boot/vmlinux-$KVER"
    return 0
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    vm_kernel_prepare
    printf 'KVER=%s\nKERNEL_IMAGE=%s\nMODULES_DIR=%s\n' "$KVER" "$KERNEL_IMAGE" "$MODULES_DIR"
fi
