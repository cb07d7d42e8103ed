# The Linux kernel's iSCSI target (LIO) in a second QEMU guest, for Tests/VM/lio.sh
# (sourced, after lib/harness.sh). The host never loads LIO itself: the target guest runs the
# same Debian kernel with an initramfs of busybox-static, LIO's modules and
# Tests/VM/guest/lio-target-init, which configures LIO through configfs.
#
#   lio_initramfs_build OUTPUT       that initramfs (gzip), for KVER/MODULES_DIR (kernel.sh)
#   lio_target_boot LOG SERIAL=IMAGE...   boots the target guest in the background inside
#       $VM_NETNS (vm_netns_create first): each IMAGE a virtio disk (cache=writethrough, so
#       the host reads what the target wrote) and an iblock backstore named SERIAL; QEMU
#       forwards the namespace's 127.0.0.1:3260 to the guest's port 3260, so a client guest
#       reaches LIO as 10.0.2.2:3260, as it reaches tgtd, and 127.0.0.1:3261 to the same port:
#       10.0.2.2:3261 is a second path (lio-multipath). Returns when LIO is ready (not in
#       a command substitution: the guest is a job of the calling shell).
#   lio_ctl COMMAND ARGS...          runs one command of lio-target-init's control protocol
#       in the target guest (its second serial port); prints its output, returns its status
#   lio_target_stop                  stops the target guest (lio_cleanup calls it)
#   lio_cleanup                      the target guest, then the namespace (the EXIT trap)
# shellcheck shell=bash

# Modules the target guest loads, with their dependencies from modules.dep: virtio for the
# disks and the NIC, configfs and LIO, and crc32c, which LIO asks the crypto API for on
# every connection (the guest has no modprobe to load it on demand).
readonly LIO_MODULES=(virtio_pci virtio_net virtio_blk crc32c_generic configfs target_core_mod target_core_iblock iscsi_target_mod)
# The bound on one control command, and on the guest's boot until LIO is ready.
readonly LIO_CTL_TIMEOUT=30
readonly LIO_READY_TIMEOUT=120
LIO_TARGET_PID=""
LIO_TARGET_LOG=""
LIO_CONTROL_SOCKET=""

# Prints the module paths (relative to lib/modules/KVER) of NAMEs and what they need, each
# after its dependencies, once.
lio_module_order() {
    local dep="$MODULES_DIR/lib/modules/$KVER/modules.dep"
    [[ -f "$dep" ]] || vm_fail "no $dep (vm_kernel_prepare runs depmod)"
    awk -v wanted="$*" '
        { path = $1; sub(/:$/, "", path); name = path; sub(/.*\//, "", name); sub(/\.ko(\.[a-z]+)?$/, "", name)
          gsub(/-/, "_", name); file[name] = path; deps[name] = ""
          for (i = 2; i <= NF; i++) { d = $i; sub(/.*\//, "", d); sub(/\.ko(\.[a-z]+)?$/, "", d); gsub(/-/, "_", d); deps[name] = deps[name] " " d } }
        function visit(name,    n, list, i) {
            if (name in done) return
            if (!(name in file)) { print "missing " name; exit 1 }
            done[name] = 1
            n = split(deps[name], list, " ")
            # modules.dep lists what a module needs nearest first: load from the end.
            for (i = n; i >= 1; i--) visit(list[i])
            print file[name]
        }
        END { n = split(wanted, names, " "); for (i = 1; i <= n; i++) visit(names[i]) }
    ' "$dep"
}

lio_initramfs_build() (
    local output="$1"
    [[ -n "${KVER:-}" && -n "${MODULES_DIR:-}" ]] || vm_fail "lio_initramfs_build: call vm_kernel_prepare first"
    local tree order
    tree="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand now: the trap removes this tree
    trap "rm -rf '$tree'" EXIT
    order="$(lio_module_order "${LIO_MODULES[@]}")"
    ! grep -q '^missing ' <<<"$order" || vm_fail "kernel $KVER has no module $(grep -m 1 '^missing ' <<<"$order" | cut -d' ' -f2)"
    mkdir -p "$tree"/{bin,dev,etc,proc,sys,lib/modules}
    cp /bin/busybox "$tree/bin/busybox"
    file -b "$tree/bin/busybox" | grep -Eq 'statically linked|static-pie linked' ||
        vm_fail "/bin/busybox is not the static one (install busybox-static)"
    cp "$VM_REPO_ROOT/Tests/VM/guest/lio-target-init" "$tree/init"
    chmod 0755 "$tree/init"
    local module
    while read -r module; do
        mkdir -p "$tree/lib/modules/$(dirname "$module")"
        cp "$MODULES_DIR/lib/modules/$KVER/$module" "$tree/lib/modules/$module"
    done <<<"$order"
    echo "$order" >"$tree/etc/lio-modules"
    # The kernel opens /dev/console for init before anything mounts devtmpfs.
    mknod -m 600 "$tree/dev/console" c 5 1
    (cd "$tree" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$output"
)

lio_target_boot() {
    local log="$1"
    shift
    [[ -n "$VM_NETNS" ]] || vm_fail "lio_target_boot: call vm_netns_create first"
    local initrd="$log.initrd.img" extra=() index=0 disk
    lio_initramfs_build "$initrd"
    for disk in "$@"; do
        [[ -f "${disk#*=}" ]] || vm_fail "lio_target_boot: no image ${disk#*=}"
        # shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
        extra+=(--extra -drive --extra "file=${disk#*=},if=none,id=d$index,format=raw,cache=writethrough"
            --extra -device --extra "virtio-blk-pci,drive=d$index,serial=${disk%%=*}")
        index=$((index + 1))
    done
    LIO_TARGET_LOG="$log"
    LIO_CONTROL_SOCKET="$log.control"
    rm -f "$log" "$LIO_CONTROL_SOCKET"
    # The guest's ttyS1: the control port, a socket QEMU listens on.
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --timeout "${LIO_TARGET_SECONDS:-1800}" \
        --append "console=ttyS0,115200 panic=-1" --hostfwd tcp:127.0.0.1:3260-:3260 --hostfwd tcp:127.0.0.1:3261-:3260 \
        --extra -serial --extra "unix:$LIO_CONTROL_SOCKET,server=on,wait=off" "${extra[@]}" &
    LIO_TARGET_PID=$!
    local waited=0
    until grep -q 'LIO-TARGET: ready' "$log" 2>/dev/null; do
        grep -q 'LIO-TARGET: failed' "$log" 2>/dev/null && vm_fail "the target guest failed: $(grep -m 1 'LIO-TARGET: failed' "$log")"
        kill -0 "$LIO_TARGET_PID" 2>/dev/null || vm_fail "the target guest stopped before LIO was ready (console: $log)"
        ((waited < LIO_READY_TIMEOUT * 10)) || vm_fail "LIO not ready within $LIO_READY_TIMEOUT s (console: $log)"
        sleep 0.1
        waited=$((waited + 1))
    done
    vm_log "target guest: $(grep -m 1 -o 'LIO-TARGET: ready.*' "$log" | sed 's/^LIO-TARGET: //')"
}

# The command travels in the environment, not on a command line: it may hold a secret.
lio_ctl() {
    [[ -n "$LIO_CONTROL_SOCKET" ]] || vm_fail "lio_ctl: call lio_target_boot first"
    LIO_CTL_COMMAND="$*" python3 - "$LIO_CONTROL_SOCKET" "$LIO_CTL_TIMEOUT" <<'PY'
import os, socket, sys, time
path, timeout = sys.argv[1], float(sys.argv[2])
ident = "%d.%d" % (os.getpid(), time.monotonic_ns() % 1000000)
done = ("LIO-CTL-DONE %s rc=" % ident).encode()
deadline = time.monotonic() + timeout
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.sendall(("%s %s\n" % (ident, os.environ["LIO_CTL_COMMAND"])).encode())
received = b""
# Until the answer's line is complete: "LIO-CTL-DONE ID rc=STATUS\n".
while done not in received or b"\n" not in received.partition(done)[2]:
    left = deadline - time.monotonic()
    if left <= 0:
        print("lio_ctl: no answer within %g s" % timeout, file=sys.stderr)
        sys.exit(124)
    s.settimeout(left)
    try:
        chunk = s.recv(4096)
    except socket.timeout:
        continue
    if not chunk:
        print("lio_ctl: the control port closed", file=sys.stderr)
        sys.exit(1)
    received += chunk
s.close()
before, _, after = received.partition(done)
# What an earlier, abandoned command printed may precede this one's output: keep the
# lines after the last answer to another command.
lines = before.decode(errors="replace").split("\n")
start = max((i + 1 for i, line in enumerate(lines) if line.startswith("LIO-CTL-DONE ")), default=0)
output = "\n".join(lines[start:]).strip("\n")
if output:
    print(output)
sys.exit(int(after.split(b"\n")[0]))
PY
}

lio_target_stop() {
    [[ -n "$LIO_TARGET_PID" ]] || return 0
    local pid
    pid="$(cat "$LIO_TARGET_LOG.pid" 2>/dev/null || true)"
    [[ -z "$pid" ]] || kill -TERM "$pid" 2>/dev/null || true
    # vm_qemu_boot's timeout ends it at the latest.
    wait "$LIO_TARGET_PID" 2>/dev/null || true
    LIO_TARGET_PID=""
}

lio_cleanup() {
    lio_target_stop
    vm_netns_cleanup
}
