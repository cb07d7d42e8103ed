#!/usr/bin/env bash
# Boot benchmark: the project's initramfs (the static iscsi-root as /init) against a
# busybox + open-iscsi `iscsistart` initramfs built here, with the same kernel, the same
# kernel modules, the same tgtd target in a private network namespace, the same QEMU
# settings and the same root image (Tests/VM/lib). Boots alternate, BENCH_BOOT_RUNS each
# (default 3); the figures are medians:
#   /init → root's init   guest uptime from the kernel's "Run /init" to the root's init
#   QEMU → root's init    host seconds from QEMU's start to the root's init's first line
#   initramfs size        the compressed archives (both zstd -19, as build-initramfs.sh)
# each with the ratio ours / iscsistart, then where our time goes (the agent's step lines)
# and the reference's own milestones.
#
# usage: scripts/bench-boot.sh     (needs root; make bench-boot builds the static agent)
#   VM_AGENT_BINARY=FILE   the static iscsi-root (default cache/bin/iscsi-root)
#   BENCH_BOOT_RUNS=N      boots of each initramfs (default 3)
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/../Tests/VM/lib" && pwd)"
readonly VM_LIB
# shellcheck source-path=SCRIPTDIR source=../Tests/VM/lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$VM_REPO_ROOT/scripts/lib.sh"

readonly BENCH_DIR="$VM_CACHE_DIR/bench-boot"
readonly RUNS="${BENCH_BOOT_RUNS:-3}"
readonly BOOT_TIMEOUT=120
readonly IQN="$VM_TARGET_IQN_DEFAULT"
readonly REFERENCE_INITIATOR="iqn.2024-01.org.iscsi-root.bench:iscsistart"
# The same command line for both: the reference's /init ignores the iSCSI part.
readonly APPEND="console=ttyS0,115200 panic=-1 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off iscsi=iscsi://10.0.2.2/$IQN/1 root=LABEL=root rw"
# Debian packages unpacked (not installed) for iscsistart, and what it links to from the
# host (installed when missing, so that ldd finds them).
readonly OPEN_ISCSI_PACKAGES=(open-iscsi libisns0 libopeniscsiusr)
readonly HOST_LIBRARIES=(libssl3 libkmod2 libzstd1 liblzma5 libmount1)

# open-iscsi's files in $BENCH_DIR/open-iscsi (once); sets OPEN_ISCSI_TREE.
prepare_open_iscsi() {
    OPEN_ISCSI_TREE="$BENCH_DIR/open-iscsi"
    [[ -f "$OPEN_ISCSI_TREE/.complete" ]] && return 0
    local staging deb
    staging="$(mktemp -d "$BENCH_DIR/staging.XXXXXX")"
    vm_log "downloading ${OPEN_ISCSI_PACKAGES[*]}"
    while IFS= read -r deb; do
        dpkg-deb -x "$deb" "$staging/tree"
    done < <(vm_apt_download "$staging" "${OPEN_ISCSI_PACKAGES[@]}")
    [[ -x "$staging/tree/sbin/iscsistart" ]] || vm_fail "open-iscsi holds no /sbin/iscsistart"
    touch "$staging/tree/.complete"
    rm -rf "$OPEN_ISCSI_TREE"
    mv "$staging/tree" "$OPEN_ISCSI_TREE"
    rm -rf "$staging"
}

# The reference /init: busybox sh, modules with busybox modprobe, the NIC with busybox ip,
# iscsistart, a bounded wait for the disk, mount, switch_root. Milestones on the console
# with the guest's uptime.
write_reference_init() {
    local file="$1"
    cat >"$file" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mark() { read -r up idle </proc/uptime; echo "BENCH-REF: \$1 uptime=\$up"; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mark init-started
for module in iscsi_tcp sd_mod virtio_pci virtio_net ext4 crc32c_generic; do
    modprobe "\$module" || echo "BENCH-REF: modprobe \$module failed"
done
mark modules-loaded
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
mark network-up
iscsistart -i $REFERENCE_INITIATOR -t $IQN -g 1 -a 10.0.2.2 -p 3260 || echo "BENCH-REF: iscsistart failed"
mark login-done
tries=0
while [ ! -b /dev/sda ] && [ \$tries -lt 1500 ]; do usleep 20000; tries=\$((tries + 1)); done
mark disk-present
mkdir -p /sysroot
mount -t ext4 -o rw /dev/sda /sysroot || echo "BENCH-REF: mount failed"
mark root-mounted
exec switch_root /sysroot /sbin/init
INIT
    chmod 0755 "$file"
}

# The busybox + iscsistart initramfs, with build-initramfs.sh's modules and compression.
build_reference_initramfs() (
    local output="$1"
    local tree
    tree="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand now: the trap removes this tree
    trap "rm -rf '$tree'" EXIT
    mkdir -p "$tree"/{bin,sbin,sysroot}
    cp /bin/busybox "$tree/bin/busybox"
    cp "$OPEN_ISCSI_TREE/sbin/iscsistart" "$tree/sbin/iscsistart"
    local libraries line library
    libraries="$(LD_LIBRARY_PATH="$OPEN_ISCSI_TREE/lib/x86_64-linux-gnu:$OPEN_ISCSI_TREE/usr/lib/x86_64-linux-gnu" \
        ldd "$OPEN_ISCSI_TREE/sbin/iscsistart")"
    ! grep -q 'not found' <<<"$libraries" || vm_fail "iscsistart's libraries missing: $(grep 'not found' <<<"$libraries" | tr -s ' \t' ' ')"
    while IFS= read -r line; do
        # "libx.so.N => /path (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        library="$(awk '$2 == "=>" { print $3; next } $1 ~ /^\// { print $1 }' <<<"$line")"
        [[ -n "$library" ]] || continue
        # Where the guest's loader looks: the library's soname under /lib/x86_64-linux-gnu,
        # the loader at its own path.
        local name
        name="$(awk '$2 == "=>" { print $1 }' <<<"$line")"
        if [[ -n "$name" ]]; then
            install -D -m 0644 "$library" "$tree/lib/x86_64-linux-gnu/$name"
        else
            install -D -m 0755 "$library" "$tree$library"
        fi
    done <<<"$libraries"
    write_reference_init "$tree/init"
    vm_initramfs_build "$output" --extra-tree "$tree" >&2
)

# One boot; prints "INIT_TO_ROOT_INIT QEMU_TO_ROOT_INIT" (seconds) and leaves the log.
boot_once() {
    local initrd="$1" image="$2" log="$3"
    vm_netns_create
    VM_TARGET_LOG="$log.tgtd" vm_target_start "$image" "$IQN"
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --timeout "$BOOT_TIMEOUT" \
        --append "$APPEND" || status=$?
    vm_netns_cleanup
    ((status == 0)) || vm_fail "QEMU exited with status $status (console: $log)"
    local run_init root_init_uptime root_init_host
    run_init="$(grep -E -m 1 -o '\[ *[0-9]+\.[0-9]+\] Run /init as init process' "$log" | tr -d '[]' | awk '{ print $1 }')"
    root_init_uptime="$(grep -E -m 1 -o 'root-init-started uptime=[0-9.]+' "$log" | cut -d= -f2)"
    root_init_host="$(vm_console_time "$log" 'VM-MARKER: root-init-started')" ||
        vm_fail "the root's init never ran (console: $log)"
    [[ -n "$run_init" && -n "$root_init_uptime" ]] || vm_fail "no 'Run /init' or root-init uptime in $log"
    echo "$(awk -v a="$root_init_uptime" -v b="$run_init" 'BEGIN { printf "%.3f", a - b }') $root_init_host"
}

# Median over LOGS of the agent's "iscsi-root: STEP: ... (N ms)" durations, one line a step.
agent_step_medians() {
    local step log
    for step in mounts plan modules network login 'root device' mount supervisor; do
        for log in "$@"; do
            grep -E -m 1 -o "iscsi-root: $step: .* \([0-9]+ ms\)$" "$log" | sed -E 's/.*\(([0-9]+) ms\)$/\1/'
        done | median | xargs printf '  %-24s %6s ms\n' "$step"
    done
    for log in "$@"; do
        # From the kernel's "Run /init" to the agent's first line: runtime start-up.
        local run_init started
        run_init="$(grep -E -m 1 -o '\[ *[0-9]+\.[0-9]+\] Run /init as init process' "$log" | tr -d '[]' | awk '{ print $1 }')"
        started="$(grep -E -m 1 -o 'argv \[/init\], uptime [0-9]+ ms' "$log" | awk '{ print $4 }')"
        awk -v a="$started" -v b="$run_init" 'BEGIN { printf "%d\n", a - b * 1000 }'
    done | median | xargs printf '  %-24s %6s ms\n' "exec → first line"
}

# Median over LOGS of the reference's milestones, as durations between them.
reference_milestone_medians() {
    local previous=init-started milestone log
    for milestone in modules-loaded network-up login-done disk-present root-mounted; do
        for log in "$@"; do
            local from to
            from="$(grep -E -m 1 -o "BENCH-REF: $previous uptime=[0-9.]+" "$log" | cut -d= -f2)"
            to="$(grep -E -m 1 -o "BENCH-REF: $milestone uptime=[0-9.]+" "$log" | cut -d= -f2)"
            awk -v a="$to" -v b="$from" 'BEGIN { printf "%d\n", (a - b) * 1000 }'
        done | median | xargs printf '  %-24s %6s ms\n' "$previous → $milestone"
        previous="$milestone"
    done
}

main() {
    ((EUID == 0)) || vm_fail "needs root (network namespaces, QEMU in them)"
    "$VM_LIB/deps.sh"
    "$VM_LIB/deps.sh" "${HOST_LIBRARIES[@]}"
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (run make static)"
    vm_kernel_prepare
    mkdir -p "$BENCH_DIR"
    prepare_open_iscsi
    local ours="$BENCH_DIR/ours.initrd.img" reference="$BENCH_DIR/iscsistart.initrd.img"
    vm_log "building both initramfs images (zstd -19)"
    vm_initramfs_build "$ours" >&2
    build_reference_initramfs "$reference"
    vm_rootfs_build "$BENCH_DIR/root.img"

    local run kind our_logs=() reference_logs=() our_init=() our_qemu=() reference_init=() reference_qemu=()
    for ((run = 1; run <= RUNS; run++)); do
        for kind in ours iscsistart; do
            local log="$BENCH_DIR/$kind.$run.log" figures initrd="$ours"
            [[ "$kind" == ours ]] || initrd="$reference"
            figures="$(boot_once "$initrd" "$BENCH_DIR/root.img" "$log")"
            vm_log "boot $run $kind: /init → root's init ${figures% *} s, QEMU → root's init ${figures#* } s"
            if [[ "$kind" == ours ]]; then
                our_logs+=("$log") our_init+=("${figures% *}") our_qemu+=("${figures#* }")
            else
                reference_logs+=("$log") reference_init+=("${figures% *}") reference_qemu+=("${figures#* }")
            fi
        done
    done

    local oi ri oq rq os rs
    oi="$(printf '%s\n' "${our_init[@]}" | median)"
    ri="$(printf '%s\n' "${reference_init[@]}" | median)"
    oq="$(printf '%s\n' "${our_qemu[@]}" | median)"
    rq="$(printf '%s\n' "${reference_qemu[@]}" | median)"
    os="$(stat -c %s "$ours")"
    rs="$(stat -c %s "$reference")"
    echo
    echo "Boot from iSCSI, QEMU TCG 1 vCPU, kernel $KVER, medians of $RUNS boots each"
    printf '%-30s %12s %12s %8s %8s\n' metric iscsi-root iscsistart ratio goal
    printf '%-30s %12s %12s %8s %8s\n' "/init → root's init (s)" "$oi" "$ri" "$(ratio "$oi" "$ri")" "≤ 0.25"
    printf '%-30s %12s %12s %8s %8s\n' "QEMU start → root's init (s)" "$oq" "$rq" "$(ratio "$oq" "$rq")" "-"
    printf '%-30s %12s %12s %8s %8s\n' "initramfs, zstd -19 (bytes)" "$os" "$rs" "$(ratio "$os" "$rs")" "≤ 0.5"
    echo
    echo "iscsi-root's steps (medians):"
    agent_step_medians "${our_logs[@]}"
    echo "iscsistart initramfs's milestones (medians):"
    reference_milestone_medians "${reference_logs[@]}"
    echo "logs: $BENCH_DIR/{ours,iscsistart}.N.log"
}

main "$@"
