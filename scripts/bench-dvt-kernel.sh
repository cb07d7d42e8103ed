#!/usr/bin/env bash
# Throughput of the DVT's kernel path (`iscsi-root dvt --block-device /dev/sdX --bench`, one
# O_DIRECT pread/pwrite at a time) against fio (psync, queue depth 1, O_DIRECT) on the same
# disk in the same guest, in the same run. The guest boots from iSCSI like Tests/VM/dvt.sh;
# the disk under test is LUN 2 of the root's session on the host's tgtd, a scratch file that
# both writers may overwrite. The guest root carries the host's fio with the libraries ldd
# names. Needs root; one guest under TCG, a few minutes.
#
# usage: scripts/bench-dvt-kernel.sh    (VM_AGENT_BINARY: the static agent, make static)
#   SECONDS_PER_RUN=10, TRANSFER_BYTES=1048576, SCRATCH_MIB=64 by default;
#   VM_BOOT_TIMEOUT=SECONDS bounds the guest (default 900).
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/../Tests/VM/lib" && pwd)"
readonly VM_LIB
# shellcheck source=Tests/VM/lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source=Tests/VM/lib/dvt.sh
source "$VM_LIB/dvt.sh"

readonly SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
readonly TRANSFER_BYTES="${TRANSFER_BYTES:-1048576}"
readonly SCRATCH_MIB="${SCRATCH_MIB:-64}"
readonly BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-900}"
readonly LOG_DIR="$VM_CACHE_DIR/vm/logs"
readonly IQN="$VM_TARGET_IQN_DEFAULT"
readonly NAME=bench-dvt-kernel

vm_suite_prepare
command -v fio >/dev/null || "$VM_LIB/deps.sh" fio
fio_binary="$(command -v fio)"

# The guest's init: LUN 2 of the root's session, warmed once (reads then hit the host's page
# cache for both), then ours and fio per direction; each result in /var/log/bench.
init="$(mktemp)"
trap 'rm -f "$init"' EXIT
last_block=$((SCRATCH_MIB * 2048 - 1))
cat >"$init" <<INIT
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc 2>/dev/null
[ -d /sys/class ] || mount -t sysfs sysfs /sys
out=/var/log/bench
mkdir -p "\$out"
disk=""
for block in /sys/class/scsi_device/*:0:0:2/device/block/*; do
    [ -e "\$block" ] && disk="/dev/\${block##*/}"
done
echo "VM-MARKER: bench-disk \$disk"
dd if="\$disk" of=/dev/null bs=1M 2>/dev/null
fio_run() {
    fio --name="\$1" --filename="\$disk" --direct=1 --rw="\$1" --bs=$TRANSFER_BYTES --iodepth=1 --ioengine=psync \
        --runtime=$SECONDS_PER_RUN --time_based --thread --output-format=json >"\$out/fio-\$1.out" 2>"\$out/fio-\$1.err"
    echo "VM-MARKER: bench fio-\$1 exit=\$?"
}
ours_run() {
    iscsi-root dvt --block-device "\$disk" --bench "\$@" --bench-seconds $SECONDS_PER_RUN --transfer-size $TRANSFER_BYTES \
        --json >"\$out/ours-\$1.out" 2>"\$out/ours-\$1.err"
    echo "VM-MARKER: bench ours-\$1 exit=\$?"
}
ours_run seq-read
fio_run read
ours_run seq-write --write --lba-range 0-$last_block
fio_run write
sync
echo "VM-MARKER: bench-done"
poweroff -f
INIT

image="$LOG_DIR/$NAME.root.img" initrd="$LOG_DIR/$NAME.initrd.img" log="$LOG_DIR/$NAME.log"
vm_initramfs_build "$initrd" >/dev/null
# fio, its libraries and the dynamic loader, each at the path ldd names.
added=(--add "$VM_AGENT_BINARY:sbin/iscsi-root" --add "$fio_binary:usr/bin/fio")
while read -r library; do
    added+=(--add "$(readlink -f "$library"):${library#/}")
done < <(ldd "$fio_binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
vm_rootfs_build "$image" --init "$init" --size 256M "${added[@]}"
vm_dvt_scratch "$LOG_DIR/$NAME.lun2.img" "${SCRATCH_MIB}M"
vm_netns_create
trap 'rm -f "$init"; vm_netns_cleanup' EXIT
VM_TARGET_LOG="$LOG_DIR/$NAME.tgtd.log" vm_target_start "$image" "$IQN"
vm_dvt_add_lun 1 2 "$LOG_DIR/$NAME.lun2.img"
rm -f "$log"
status=0
vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --timeout "$BOOT_TIMEOUT" \
    --append "console=ttyS0,115200 panic=-1 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off iscsi=iscsi://10.0.2.2/$IQN/1 root=LABEL=root rw" ||
    status=$?
vm_netns_cleanup
((status != 124)) || vm_fail "QEMU still running after ${BOOT_TIMEOUT} s (console: $log)"
((status == 0)) || vm_fail "QEMU exited with status $status (console: $log)"
grep -q 'VM-MARKER: bench-done' "$log" || vm_fail "the guest's runs did not finish (console: $log)"

# MiB/s of one run, from its JSON.
figure() {
    local run="$1" check="$2" json
    json="$(vm_rootfs_read "$image" "/var/log/bench/$run.out")"
    python3 -c "
import json, sys
report = json.loads(sys.stdin.read())
$check
" <<<"$json" || vm_fail "$run: $(vm_rootfs_read "$image" "/var/log/bench/$run.err" | tail -n 3 | tr '\n' ' ')"
}
ours() { figure "ours-$1" 'print("%.1f" % (report["kibibytesPerSecond"] / 1024))'; }
theirs() { figure "fio-$1" "print('%.1f' % (report['jobs'][0]['$1']['bw_bytes'] / 1048576))"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# One assignment each: a failing substitution then stops the script (set -e).
our_read="$(ours seq-read)"
their_read="$(theirs read)"
our_write="$(ours seq-write)"
their_write="$(theirs write)"
echo "DVT kernel path vs fio (psync, O_DIRECT), same guest (TCG), LUN 2 on tgtd: ${SCRATCH_MIB} MiB file, $TRANSFER_BYTES-byte transfers, queue depth 1, ${SECONDS_PER_RUN} s each"
printf '%-34s %14s %14s %8s\n' "measure" "iscsi-root" "fio" "ratio"
printf '%-34s %14s %14s %8s\n' "sequential read (MiB/s)" "$our_read" "$their_read" "$(ratio "$our_read" "$their_read")"
printf '%-34s %14s %14s %8s\n' "sequential write (MiB/s)" "$our_write" "$their_write" "$(ratio "$our_write" "$their_write")"
