#!/usr/bin/env bash
# Installs the Debian packages the end-to-end boots need, only those that are missing,
# through the project's one installer (scripts/install-deps.sh: the package sets are named
# there, and no service is started).
#
# usage: Tests/VM/lib/deps.sh [ARGUMENT...]
#   Without arguments: the installer's `vm` set (QEMU, tgt, busybox-static, cpio, kmod, ...).
#   With arguments: passed to the installer (--set NAME, or package names).
set -euo pipefail

installer="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/scripts/install-deps.sh"
if (($# > 0)); then
    exec "$installer" "$@"
fi
exec "$installer" --set vm
