#!/usr/bin/env bash
# Installs the Debian packages the end-to-end boots need, only those that are missing,
# through the project's one installer (scripts/install-deps.sh: no service is started).
#
# usage: Tests/VM/lib/deps.sh [PACKAGE...]
#   Without arguments: the VM harness's set (QEMU, tgt, busybox-static, cpio, kmod, ...).
#   With arguments: exactly those packages (scripts/build-libkmod.sh uses this).
set -euo pipefail

readonly VM_PACKAGES=(qemu-system-x86 ipxe-qemu busybox-static cpio zstd kmod e2fsprogs fdisk tgt iproute2 file)
installer="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/scripts/install-deps.sh"
if (($# > 0)); then
    exec "$installer" "$@"
fi
exec "$installer" "${VM_PACKAGES[@]}"
