#!/usr/bin/env bash
# The end-to-end boots: Debian's kernel with the project's initramfs under QEMU (software
# emulation), each scenario bounded in time, judged by the markers on its console.
#
# usage: Tests/VM/run.sh [SCENARIO...]      (default: every scenario; needs root)
#   VM_AGENT_BINARY=FILE   the static iscsi-root (default cache/bin/iscsi-root: make static)
#   VM_BOOT_TIMEOUT=SECONDS  the host's bound on one boot (default 120)
# Console logs stay in cache/vm/logs/SCENARIO.log. Prints one line per scenario and
# "N passed, N failed"; exits 1 when a scenario failed.
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source=lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source=lib/ipxe.sh
source "$VM_LIB/ipxe.sh"
# shellcheck source=lib/dhcp6.sh
source "$VM_LIB/dhcp6.sh"

readonly BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-120}"
readonly LOG_DIR="$VM_CACHE_DIR/vm/logs"
readonly SCENARIOS=(
    static-ip dhcp dracut initramfs-tools initramfs-tools-file ibft ipxe chap mutual-chap early-entropy partition multipath-partition
    read-only redirect fail-chap fail-unknown-target fail-no-route fail-no-root fail-no-ibft
    ipv6-static ipv6-slaac ipv6-dhcp6 ipv6-either6 ipv6-link-local vlan ibft-vlan fail-vlan-no-parent ibft-ipv6 san-late two-targets
    two-targets-late
)
readonly VM_STATIC_IP="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"
readonly IQN="$VM_TARGET_IQN_DEFAULT"
readonly ROOT_RW="root=LABEL=root rw"
# A failed boot prints its reason, waits 10 s for a person to read it, and reboots
# (QEMU runs with -no-reboot, so it exits): boot ~4 s + retries + 10 s, well inside this.
readonly FAILURE_BOUND_SECONDS=40
# Short retries so that a failure is over in seconds, not minutes.
readonly FAIL_FAST="iscsi.retries=1 iscsi.login_timeout=5 rd.retry=3"
# CHAP accounts: the initiator's on the target, the target's for mutual CHAP. The
# secrets initramfs holds both, as /etc/iscsi-root/secrets.
readonly CHAP_USER="vm-initiator" CHAP_SECRET="initiator-secret-16"
readonly MUTUAL_USER="vm-target" MUTUAL_SECRET="target-secret-0016"
readonly PARTUUID="6c1b7f2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"

# Each scenario runs in a subshell: it prints its figures on success, or its reason for
# failing on standard error, and its namespace is removed by target.sh's trap either way.

# The initramfs KIND (default, secrets, iscsi-initramfs), built once per run: zstd -19 of
# the static agent takes seconds. The variants with extra files use gzip, so that both of
# build-initramfs.sh's compressions boot.
vm_scenario_initramfs() {
    local kind="$1" initrd="$LOG_DIR/run.$1.initrd.img"
    if [[ ! -f "$initrd" ]]; then
        local extra=()
        case "$kind" in
        default) ;;
        secrets)
            printf '# user secret\n%s %s\n%s %s\n' "$CHAP_USER" "$CHAP_SECRET" "$MUTUAL_USER" "$MUTUAL_SECRET" \
                >"$LOG_DIR/run.secrets"
            extra=(--secrets "$LOG_DIR/run.secrets" --compression gzip)
            ;;
        iscsi-initramfs)
            # What open-iscsi's initramfs-tools hook would copy in.
            printf 'ISCSI_INITIATOR="iqn.2024-01.org.iscsi-root.test:from-file"\nISCSI_TARGET_NAME=%s\nISCSI_TARGET_IP=10.0.2.2\nISCSI_TARGET_PORT=3260\n' \
                "$IQN" >"$LOG_DIR/run.iscsi.initramfs"
            extra=(--iscsi-initramfs "$LOG_DIR/run.iscsi.initramfs" --compression gzip)
            ;;
        *) vm_fail "vm_scenario_initramfs: unknown kind $kind" ;;
        esac
        vm_initramfs_build "$initrd.partial" "${extra[@]}" >/dev/null
        mv "$initrd.partial" "$initrd"
    fi
    echo "$initrd"
}

# vm_boot_from_iscsi NAME APPEND [options]: one boot of a fresh root image served as LUN 1
# of tgtd in the namespace, then the checks on the console and on the image.
#   --initramfs KIND         (default: default)
#   --target-iqn IQN         the name the target is served under (default: $IQN)
#   --chap / --mutual-chap   the target asks for CHAP / authenticates itself too
#   --chap-secret SECRET     the target's secret for the initiator's account
#   --partuuid UUID          the root is partition 1 of a GPT disk
#   --ibft                   QEMU plants an iBFT: this NIC, static 10.0.2.15/24, the target
#                            (with --vlan: VLAN 100, 192.168.100.15/24, target 192.168.100.1;
#                            with --ipv6: fd00:10:2::15/64, gateway and target fd00:10:2::2)
#   --ipxe INITIATOR         no -kernel: the NIC's iPXE ROM boots boot.ipxe from QEMU's TFTP
#                            server, which sanhooks LUN 1 of the target as INITIATOR (iPXE
#                            leaves its iBFT in low memory) and boots the kernel and initramfs
#                            with the same command line
#   --read-only              the root is mounted ro: the guest's write must fail
#   --redirector             10.0.2.2:3260 only redirects logins to tgtd on 10.0.2.2:3261
#                            (login-redirector.py): exactly one redirect, no failed attempt
#   --ipv6                   tgtd listens on [::1] only; the guest's user network serves
#                            IPv6 (fd00:10:2::/64, tgtd as [fd00:10:2::2]:3260): no login
#                            attempt may fail (none from a tentative address)
#   --vlan                   the guest's NIC reaches the namespace only through VLAN 100
#                            (target.sh's vlan-switch.py), tgtd on 192.168.100.1
#   --dhcp6 ROOT_PATH        the guest's NIC on a tap where dnsmasq serves DHCPv6 only (no
#                            router advertisement) with boot-file URL ROOT_PATH, tgtd on
#                            [fd00:10:2::2]:3260 (lib/dhcp6.sh): no login attempt may fail
#   --link-local             the guest's NIC on a tap whose end holds only fe80::2/64, tgtd on
#                            the namespace's [::]:3260 (lib/dhcp6.sh): no login attempt may fail
#   --target-late SECONDS    tgtd starts only SECONDS after QEMU (the SAN back after the
#                            servers); QEMU's bound grows by as much
#   --expect REGEX           one more console line that must be there (repeatable)
#   --expect-failure REGEX   the boot must fail: the agent prints REGEX, then the
#                            machine reboots by itself within FAILURE_BOUND_SECONDS
# Success: a step line with its duration for each boot step; the root's init ran and wrote
# its file (or could not, read-only); the kernel powered off; the file is in the image
# (or not); e2fsck -fn finds the filesystem clean. Prints the figures.
vm_boot_from_iscsi() {
    local name="$1" append="$2"
    shift 2
    local kind=default target_iqn="$IQN" chap=0 mutual=0 chap_secret="$CHAP_SECRET" partuuid="" ibft=0
    local read_only=0 redirector=0 failure="" expects=() ipxe_initiator="" ipv6=0 vlan=0 target_late=0 dhcp6=""
    local link_local=0 second_portal=0
    while (($# > 0)); do
        case "$1" in
        --initramfs) kind="$2"; shift 2 ;;
        --target-iqn) target_iqn="$2"; shift 2 ;;
        --chap) chap=1; shift ;;
        --mutual-chap) mutual=1; shift ;;
        --chap-secret) chap_secret="$2"; shift 2 ;;
        --partuuid) partuuid="$2"; shift 2 ;;
        --ibft) ibft=1; shift ;;
        --ipxe) ipxe_initiator="$2"; shift 2 ;;
        --read-only) read_only=1; shift ;;
        --redirector) redirector=1; shift ;;
        --ipv6) ipv6=1; shift ;;
        --vlan) vlan=1; shift ;;
        --dhcp6) dhcp6="$2"; shift 2 ;;
        --link-local) link_local=1; shift ;;
        --second-portal) second_portal=1; shift ;;
        --target-late) target_late="$2"; shift 2 ;;
        --expect) expects+=("$2"); shift 2 ;;
        --expect-failure) failure="$2"; shift 2 ;;
        *) vm_fail "vm_boot_from_iscsi: unknown option $1" ;;
        esac
    done
    local log="$LOG_DIR/$name.log" image="$LOG_DIR/$name.root.img" initrd
    initrd="$(vm_scenario_initramfs "$kind")"
    vm_rootfs_build "$image" ${partuuid:+--partuuid "$partuuid"}
    local qemu_extra=()
    if ((ibft)); then
        local ibft_table="$LOG_DIR/$name.ibft.bin"
        if ((ipv6)); then
            vm_ibft_write "$ibft_table" iqn.2024-01.org.iscsi-root.test:ibft-initiator "$VM_GUEST_MAC" 0x18 \
                fd00:10:2::15 64 fd00:10:2::2 fd00:10:2::2 3260 1 "$IQN"
        elif ((vlan)); then
            vm_ibft_write "$ibft_table" --vlan "$VM_VLAN_ID" iqn.2024-01.org.iscsi-root.test:ibft-initiator \
                "$VM_GUEST_MAC" 0x18 192.168.100.15 24 "$VM_VLAN_TARGET" "$VM_VLAN_TARGET" 3260 1 "$IQN"
        else
            vm_ibft_write "$ibft_table" iqn.2024-01.org.iscsi-root.test:ibft-initiator "$VM_GUEST_MAC" 0x18 \
                10.0.2.15 24 10.0.2.2 10.0.2.2 3260 1 "$IQN"
        fi
        qemu_extra=(--acpitable "$ibft_table")
    fi
    vm_netns_create
    if ((ipv6)); then
        vm_target_ipv6_only
        qemu_extra+=(--ipv6)
    fi
    if ((vlan)); then
        vm_netns_vlan_switch $((BOOT_TIMEOUT + 30)) "$LOG_DIR/$name.vlan-switch.log"
        qemu_extra+=(--vlan-switch)
    fi
    if [[ -n "$dhcp6" ]]; then
        vm_netns_dhcp6 $((BOOT_TIMEOUT + 30)) "$LOG_DIR/$name.dnsmasq.log" "$dhcp6"
        qemu_extra+=(--tap "$VM_DHCP6_TAP")
    fi
    if ((link_local)); then
        vm_netns_link_local
        qemu_extra+=(--tap "$VM_DHCP6_TAP")
    fi
    local redirector_log="$LOG_DIR/$name.redirector.log"
    ((redirector == 0)) || vm_target_behind_redirector $((BOOT_TIMEOUT + 30)) "$redirector_log"
    start_target() {
        VM_TARGET_LOG="$LOG_DIR/$name.tgtd.log" vm_target_start "$image" "$target_iqn"
        ((chap == 0)) || vm_target_add_chap "$CHAP_USER" "$chap_secret"
        ((mutual == 0)) || vm_target_add_mutual_chap "$MUTUAL_USER" "$MUTUAL_SECRET"
        ((second_portal == 0)) || vm_target_second_portal 3261
    }
    ((target_late > 0)) || start_target
    local status=0 command_line="console=ttyS0,115200 panic=-1 $append"
    if [[ -n "$ipxe_initiator" ]]; then
        local tftp_dir="$LOG_DIR/$name.tftp"
        vm_ipxe_tftp_dir "$tftp_dir" "$KERNEL_IMAGE" "$initrd" "$command_line" "$ipxe_initiator" \
            "iscsi:10.0.2.2::3260:1:$target_iqn"
        qemu_extra+=(--network-boot "$tftp_dir")
    else
        qemu_extra+=(--kernel "$KERNEL_IMAGE" --initrd "$initrd" --append "$command_line")
    fi
    local timeout=$((BOOT_TIMEOUT + target_late))
    if ((target_late > 0)); then
        local qemu_start
        qemu_start="$(vm_now_ms)"
        vm_qemu_boot --log "$log" "${qemu_extra[@]}" --timeout "$timeout" &
        local qemu=$!
        sleep "$target_late"
        echo "$(($(vm_now_ms) - qemu_start))" >"$LOG_DIR/$name.target-started-ms"
        start_target
        wait "$qemu" || status=$?
    else
        vm_qemu_boot --log "$log" "${qemu_extra[@]}" --timeout "$timeout" || status=$?
    fi
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${timeout} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"
    vm_check_boot_started "$log"
    local expected
    for expected in "${expects[@]}"; do
        vm_console_time "$log" "$expected" >/dev/null || vm_fail "no console line matching '$expected'"
    done
    if [[ -n "$failure" ]]; then
        vm_check_failed_boot "$log" "$image" "$failure"
        return
    fi

    local redirected=""
    if ((ipv6 || vlan || link_local)) || [[ -n "$dhcp6" ]]; then
        ! grep -q 'iscsi-root: login attempt' "$log" ||
            vm_fail "a login attempt failed: $(grep -m 1 'iscsi-root: login attempt' "$log")"
        redirected="; $(grep -m 1 -o 'network: .*' "$log")"
    fi
    if ((redirector)); then
        # One login, one redirect: a failed attempt would have come back for another.
        local redirects
        redirects="$(grep -c 'login-redirector: redirect ' "$redirector_log" || true)"
        ((redirects == 1)) || vm_fail "the redirector sent $redirects redirect(s), expected 1 (see $redirector_log)"
        ! grep -q 'iscsi-root: login attempt' "$log" ||
            vm_fail "a login attempt failed: $(grep -m 1 'iscsi-root: login attempt' "$log")"
        redirected="; $(grep -m 1 -o 'redirect 1: .*' "$redirector_log" | sed 's/ ISID.*->/ ->/')"
    fi
    local figures mode=()
    ((read_only == 0)) || mode=(--read-only)
    figures="$(vm_check_successful_boot "$log" "$image" "${mode[@]}")"
    echo "$figures$redirected"
}

# A boot that had to fail: the reason on the console, the agent's "reboot in N s", the
# machine gone by itself within the bound, the root's init never run, the image clean.
vm_check_failed_boot() {
    local log="$1" image="$2" reason="$3"
    local failed_at gone_at
    failed_at="$(vm_console_time "$log" "iscsi-root: .*$reason")" ||
        vm_fail "no console line with the reason '$reason': $(grep -m 1 'iscsi-root: .*failed' "$log" || echo 'no failure line')"
    vm_console_time "$log" 'iscsi-root: check: ' >/dev/null || vm_fail "no 'check:' advice line"
    vm_console_time "$log" 'iscsi-root: no rescue shell in this initramfs; reboot in [0-9]+ s' >/dev/null ||
        vm_fail "no 'reboot in N s' line"
    gone_at="$(vm_console_time "$log" 'reboot: Restarting system')" || vm_fail "the kernel did not say 'reboot: Restarting system'"
    ((${gone_at%.*} < FAILURE_BOUND_SECONDS)) || vm_fail "the machine rebooted only ${gone_at} s after QEMU start (bound ${FAILURE_BOUND_SECONDS} s)"
    ! vm_console_time "$log" 'VM-MARKER: root-init-started' >/dev/null || vm_fail "the root's init ran although the boot failed"
    vm_rootfs_check "$image" || vm_fail "e2fsck -fn finds the root image unclean"
    echo "failed as expected at ${failed_at} s: \"$(grep -E -m 1 -o "iscsi-root: .*$reason.*" "$log" | cut -c 1-160)\"; rebooted at ${gone_at} s"
}

scenario_static_ip() (
    vm_boot_from_iscsi static-ip "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 $ROOT_RW" \
        --expect 'iscsi-root: network: eth0 10\.0\.2\.15/24 via 10\.0\.2\.2'
)

# QEMU's built-in DHCP server hands out 10.0.2.15/24 with router 10.0.2.2.
scenario_dhcp() (
    vm_boot_from_iscsi dhcp "ip=dhcp iscsi=iscsi://10.0.2.2/$IQN/1 $ROOT_RW" \
        --expect 'iscsi-root: network: eth0 10\.0\.2\.15/24 via 10\.0\.2\.2'
)

# dracut's grammar: an empty LUN field means LUN 0, the controller on tgt; root=LABEL=
# finds the filesystem on the session's disk LUN 1 all the same, as it does with dracut.
scenario_dracut() (
    vm_boot_from_iscsi dracut "$VM_STATIC_IP netroot=iscsi:10.0.2.2::::$IQN $ROOT_RW" \
        --expect 'iscsi-root: root device: /dev/sda \(LUN 1[,)]'
)

# initramfs-tools' (open-iscsi's local-top/iscsi) parameters on the command line.
scenario_initramfs_tools() (
    vm_boot_from_iscsi initramfs-tools \
        "$VM_STATIC_IP iscsi_initiator=iqn.2024-01.org.iscsi-root.test:from-cmdline iscsi_target_name=$IQN iscsi_target_ip=10.0.2.2 iscsi_target_port=3260 $ROOT_RW" \
        --expect 'iscsi-root: login: .* as iqn\.2024-01\.org\.iscsi-root\.test:from-cmdline,'
)

# The same from /etc/iscsi/iscsi.initramfs in the initramfs, nothing iSCSI on the command line.
scenario_initramfs_tools_file() (
    vm_boot_from_iscsi initramfs-tools-file "$VM_STATIC_IP $ROOT_RW" --initramfs iscsi-initramfs \
        --expect 'iscsi-root: login: .* as iqn\.2024-01\.org\.iscsi-root\.test:from-file,'
)

# No ip= and no target on the command line: the NIC, its address, the initiator and the
# target all come from the iBFT that QEMU publishes as an ACPI table.
scenario_ibft() (
    vm_boot_from_iscsi ibft "rd.iscsi.firmware=1 $ROOT_RW" --ibft \
        --expect 'iscsi-root: network: eth0 10\.0\.2\.15/24 via 10\.0\.2\.2' \
        --expect 'iscsi-root: login: .* as iqn\.2024-01\.org\.iscsi-root\.test:ibft-initiator,'
)

# Booted as by real firmware: the NIC's iPXE ROM attaches the target with `sanhook` and
# leaves its iBFT in low memory, not in ACPI. The command line asks for the firmware's
# targets and nothing else: the agent finds the table where the kernel found it.
scenario_ipxe() (
    local initiator="iqn.2024-01.org.iscsi-root.test:ipxe-initiator"
    vm_boot_from_iscsi ipxe "rd.iscsi.firmware=1 $ROOT_RW" --ipxe "$initiator" \
        --expect 'iscsi-root: plan: .*; iBFT from low memory at 0x[0-9a-f]+ \(/dev/mem\) \([0-9]+ ms\)' \
        --expect 'iscsi-root: network: eth0 10\.0\.2\.15/24 via 10\.0\.2\.2' \
        --expect "iscsi-root: login: ${IQN//./\\.} at 10\\.0\\.2\\.2:3260 as ${initiator//./\\.}," \
        --expect 'iBFT found at 0x[0-9a-f]+'
    # The agent read the table where the kernel's own scan found it.
    local log="$LOG_DIR/ipxe.log" kernel_address agent_address
    kernel_address="$(grep -E -m 1 -o 'iBFT found at 0x[0-9a-f]+' "$log" | sed -E 's/.*0x0*/0x/')"
    agent_address="$(grep -E -m 1 -o 'iBFT from low memory at 0x[0-9a-f]+' "$log" | sed -E 's/.* //')"
    [[ "$kernel_address" == "$agent_address" ]] ||
        vm_fail "the kernel found the iBFT at $kernel_address, the agent at $agent_address"
)

scenario_chap() (
    vm_boot_from_iscsi chap "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 iscsi.chap=$CHAP_USER $ROOT_RW" \
        --initramfs secrets --chap
)

scenario_mutual_chap() (
    vm_boot_from_iscsi mutual-chap \
        "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 iscsi.chap=$CHAP_USER iscsi.mutual=$MUTUAL_USER $ROOT_RW" \
        --initramfs secrets --chap --mutual-chap
)

# The kernel's random pool is not ready when /init starts: no RDRAND under TCG, no
# virtio-rng, the CPU's and the boot loader's seeds distrusted. The agent's hash tables
# (their seed) must not wait for it: the plan step, which uses them, is on the console before
# the kernel's "crng init done". The mutual-CHAP challenge must wait (a blocking getrandom):
# the login comes after it.
scenario_early_entropy() (
    log="$LOG_DIR/early-entropy.log"
    figures="$(vm_boot_from_iscsi early-entropy \
        "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 iscsi.chap=$CHAP_USER iscsi.mutual=$MUTUAL_USER $ROOT_RW random.trust_cpu=off random.trust_bootloader=off" \
        --initramfs secrets --chap --mutual-chap)"
    plan_at="$(vm_console_time "$log" 'iscsi-root: plan: ')" || vm_fail "no 'plan:' line"
    ready_at="$(vm_console_time "$log" 'random: crng init done')" || vm_fail "the kernel never said 'random: crng init done'"
    login_at="$(vm_console_time "$log" 'iscsi-root: login: ')" || vm_fail "no 'login:' line"
    awk -v plan="$plan_at" -v ready="$ready_at" 'BEGIN { exit !(plan < ready) }' ||
        vm_fail "the plan line (${plan_at} s) came after the pool was ready (${ready_at} s): something waited for entropy"
    awk -v ready="$ready_at" -v login="$login_at" 'BEGIN { exit !(ready <= login) }' ||
        vm_fail "logged in (${login_at} s) before the pool was ready (${ready_at} s): the CHAP challenge did not wait"
    echo "$figures; plan at ${plan_at} s, pool ready at ${ready_at} s, login at ${login_at} s"
)

# The root is partition 1 (GPT) of the LUN, found by its PARTUUID.
scenario_partition() (
    vm_boot_from_iscsi partition "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 root=PARTUUID=$PARTUUID rw" \
        --partuuid "$PARTUUID" --expect 'iscsi-root: root device: /dev/sda1 \(LUN 1[,)]'
)

# The same root over two paths (tgtd also on 10.0.2.2:3261): mounted from the partition's
# map over the multipath map, as kpartx names it.
scenario_multipath_partition() (
    vm_boot_from_iscsi multipath-partition \
        "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 iscsi=iscsi://10.0.2.2:3261/$IQN/1 root=PARTUUID=$PARTUUID rw" \
        --partuuid "$PARTUUID" --second-portal \
        --expect 'iscsi-root: root device: /dev/mapper/[0-9a-z]+-part1 \(LUN 1[^;]*; /dev/sda1 on a multipath map over sda' \
        --expect 'VM-MARKER: root-mounted /dev/mapper/[0-9a-z]+-part1 ext4 rw'
)

scenario_read_only() (
    vm_boot_from_iscsi read-only "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 root=LABEL=root ro" --read-only
)

# The portal on the command line only redirects (RFC 7143 §11.13.5): the root is where it
# points, tgtd on 10.0.2.2:3261. The login line names both.
scenario_redirect() (
    vm_boot_from_iscsi redirect "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 $ROOT_RW" --redirector \
        --expect "iscsi-root: login: ${IQN//./\\.} at 10\.0\.2\.2:3261 \(redirected by 10\.0\.2\.2:3260\) as "
)

# The target knows the initiator's account with another secret: the login is refused.
scenario_fail_chap() (
    vm_boot_from_iscsi fail-chap "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 iscsi.chap=$CHAP_USER $FAIL_FAST $ROOT_RW" \
        --initramfs secrets --chap --chap-secret "not-the-secret-16" --expect-failure 'authentication failed'
)

scenario_fail_unknown_target() (
    vm_boot_from_iscsi fail-unknown-target "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN.missing/1 $FAIL_FAST $ROOT_RW" \
        --expect-failure 'not found'
)

# A /24 without a gateway and a portal outside it.
scenario_fail_no_route() (
    vm_boot_from_iscsi fail-no-route \
        "ip=10.0.2.15:::255.255.255.0::eth0:off iscsi=iscsi://10.0.3.99/$IQN/1 $FAIL_FAST $ROOT_RW" \
        --expect-failure 'no route'
)

scenario_fail_no_root() (
    vm_boot_from_iscsi fail-no-root "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 $FAIL_FAST root=LABEL=nosuchroot rw" \
        --expect-failure 'LABEL=nosuchroot not found within 3 s'
)

# The firmware is asked for, but this machine has no iBFT anywhere (no ACPI table, nothing
# in low memory, nothing once iscsi_ibft is loaded): the plan error names every place.
scenario_fail_no_ibft() (
    vm_boot_from_iscsi fail-no-ibft "rd.iscsi.firmware=1 $FAIL_FAST $ROOT_RW" \
        --expect-failure 'plan failed after [0-9]+ ms: rd\.iscsi\.firmware=1: no iBFT found: not in ACPI \(/sys/firmware/acpi/tables/iBFT, IBFT, BIFT\), not in low memory 0x80000-0xFFFFF \(/dev/mem\), not in /sys/firmware/ibft after loading iscsi_ibft; check that the firmware'
)

# IPv6 only: tgtd listens on [::1] and nothing else. The login leaves only once duplicate
# address detection has finished (the network line says how long it took), the login and
# the status name the portal in brackets.
scenario_ipv6_static() (
    vm_boot_from_iscsi ipv6-static \
        "ip=[fd00:10:2::15]::[fd00:10:2::2]:64::eth0:none iscsi=iscsi://[fd00:10:2::2]/$IQN/1 $ROOT_RW" --ipv6 \
        --expect 'iscsi-root: network: eth0 fd00:10:2::15/64 via fd00:10:2::2; DAD [0-9]+ ms' \
        --expect "iscsi-root: login: ${IQN//./\\.} at \\[fd00:10:2::2\\]:3260 as "
)

# Stateless autoconfiguration: QEMU's user network advertises fd00:10:2::/64; the agent
# waits for the kernel's address from that prefix (EUI-64 of the NIC's MAC) to be usable.
scenario_ipv6_slaac() (
    vm_boot_from_iscsi ipv6-slaac "ip=eth0:auto6 iscsi=iscsi://[fd00:10:2::2]/$IQN/1 $ROOT_RW" --ipv6 \
        --expect 'iscsi-root: network: eth0 fd00:10:2:0:5054:ff:fe12:3456/64; SLAAC [0-9]+ ms' \
        --expect "iscsi-root: login: ${IQN//./\\.} at \\[fd00:10:2::2\\]:3260 as "
)

# DHCPv6 (dracut's ip=dhcp6 netroot=dhcp6): dnsmasq on a tap leases an address, and its
# boot-file URL (RFC 5970 option 59) is the root path. No router advertisement: the address
# is a /128 and the target, on the link, gets a host route. The network line shows the lease.
scenario_ipv6_dhcp6() (
    vm_boot_from_iscsi ipv6-dhcp6 "ip=dhcp6 netroot=dhcp6 $ROOT_RW" --dhcp6 "iscsi:[fd00:10:2::2]::::$IQN" \
        --expect 'iscsi-root: network: eth0 fd00:10:2::1[0-9a-f]{2}/128; DAD [0-9]+ ms; DHCPv6 lease fd00:10:2::1[0-9a-f]{2} from fe80::[0-9a-f:]+ \(valid 3600 s\), root path iscsi:\[fd00:10:2::2\]::::' \
        --expect "iscsi-root: login: ${IQN//./\\.} at \\[fd00:10:2::2\\]:3260 as "
)

# ip=link6 and a link-local portal with its zone: the tap's other end holds fe80::2 alone (no
# router, no DHCP). The agent brings eth0 up, waits for its own link-local address to leave
# DAD (the network line shows it), and connects with eth0's scope id; the login line, status
# and the kernel's persistent address name the portal [fe80::2%eth0]:3260.
scenario_ipv6_link_local() (
    vm_boot_from_iscsi ipv6-link-local "ip=eth0:link6 iscsi=iscsi://[fe80::2%eth0]/$IQN/1 $ROOT_RW" --link-local \
        --expect 'iscsi-root: network: eth0 fe80::5054:ff:fe12:3456/64; DAD [0-9]+ ms' \
        --expect "iscsi-root: login: ${IQN//./\\.} at \\[fe80::2%eth0\\]:3260 as " \
        --expect 'VM-MARKER: iscsi-connection persistent_address=fe80::2%eth0 persistent_port=3260 address=fe80:0000:0000:0000:0000:0000:0000:0002$'
)

# The same link with dracut's grammar and no zone: the plan takes eth0, the only interface
# it brings up. Not in the default list (one link-local boot is enough for CI's time).
scenario_ipv6_link_local_inferred() (
    vm_boot_from_iscsi ipv6-link-local-inferred "ip=eth0:link6 netroot=iscsi:[fe80::2]:::1:$IQN $ROOT_RW" --link-local \
        --expect 'iscsi-root: network: eth0 fe80::5054:ff:fe12:3456/64; DAD [0-9]+ ms' \
        --expect "iscsi-root: login: ${IQN//./\\.} at \\[fe80::2%eth0\\]:3260 as "
)

# ip=either6 on the same network: no router advertises, so after the wait for one the
# boot asks DHCPv6 and goes on as ipv6-dhcp6 does.
scenario_ipv6_either6() (
    vm_boot_from_iscsi ipv6-either6 "ip=either6 netroot=dhcp6 $ROOT_RW" --dhcp6 "iscsi:[fd00:10:2::2]::::$IQN" \
        --expect 'iscsi-root: network: eth0 fd00:10:2::1[0-9a-f]{2}/128; DAD [0-9]+ ms; DHCPv6 lease fd00:10:2::1[0-9a-f]{2} from fe80::[0-9a-f:]+ \(valid 3600 s\), root path iscsi:\[fd00:10:2::2\]::::' \
        --expect "iscsi-root: login: ${IQN//./\\.} at \\[fd00:10:2::2\\]:3260 as "
)

# dracut's grammar for a VLAN: the agent creates eth0.100 over rtnetlink and puts ip= on it;
# the target answers only on VLAN 100.
scenario_vlan() (
    vm_boot_from_iscsi vlan \
        "vlan=eth0.100:eth0 ip=192.168.100.15:::255.255.255.0::eth0.100:none iscsi=iscsi://192.168.100.1/$IQN/1 $ROOT_RW" \
        --vlan --expect 'iscsi-root: network: eth0\.100 192\.168\.100\.15/24' \
        --expect "iscsi-root: login: ${IQN//./\\.} at 192\\.168\\.100\\.1:3260 as "
)

# The iBFT's NIC is on VLAN 100 (its VLAN field): the agent makes eth0.100 on the NIC the
# table names by MAC and puts the table's address on it.
scenario_ibft_vlan() (
    vm_boot_from_iscsi ibft-vlan "rd.iscsi.firmware=1 $ROOT_RW" --ibft --vlan \
        --expect 'iscsi-root: network: eth0\.100 192\.168\.100\.15/24 via 192\.168\.100\.1' \
        --expect "iscsi-root: login: ${IQN//./\\.} at 192\\.168\\.100\\.1:3260 as iqn\\.2024-01\\.org\\.iscsi-root\\.test:ibft-initiator,"
)

# vlan= on a physical device this machine does not have: the error names the parameter,
# the device and the interfaces there are.
scenario_fail_vlan_no_parent() (
    vm_boot_from_iscsi fail-vlan-no-parent \
        "vlan=eth0.100:eth9 ip=192.168.100.15:::255.255.255.0::eth0.100:none iscsi=iscsi://192.168.100.1/$IQN/1 $FAIL_FAST $ROOT_RW" \
        --vlan --expect-failure 'network failed after [0-9]+ ms: vlan=eth0\.100:eth9: no network interface eth9 \(present: lo'
)

# The iBFT's NIC and target fields hold IPv6 addresses (no IPv4 anywhere): the plan, the
# address (after DAD) and the login come from them.
scenario_ibft_ipv6() (
    vm_boot_from_iscsi ibft-ipv6 "rd.iscsi.firmware=1 $ROOT_RW" --ibft --ipv6 \
        --expect 'iscsi-root: network: eth0 fd00:10:2::15/64 via fd00:10:2::2; DAD [0-9]+ ms' \
        --expect "iscsi-root: login: ${IQN//./\\.} at \\[fd00:10:2::2\\]:3260 as iqn\\.2024-01\\.org\\.iscsi-root\\.test:ibft-initiator,"
)

# After a power outage the servers boot before their SAN: tgtd starts 90 s after QEMU. The
# agent keeps trying (iscsi.boot_timeout=, default 600 s), prints a progress line every
# ~10 s, and boots once the target answers, in the same QEMU run: QEMU has -no-reboot, so a
# reboot in between would have ended it before the root's init.
scenario_san_late() (
    local late=90 log="$LOG_DIR/san-late.log"
    figures="$(vm_boot_from_iscsi san-late "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 $ROOT_RW" --target-late "$late" \
        --expect 'iscsi-root: login attempt 1: .*10\.0\.2\.2:3260' \
        --expect 'iscsi-root: login: no path answers after [0-9]+ s \(round [0-9]+\); still trying for [0-9]+ s \(iscsi\.boot_timeout=600\); last: .*10\.0\.2\.2:3260' \
        --expect "iscsi-root: login: ${IQN//./\\.} answered in round [0-9]+, [0-9]+ s after the first")"
    local boots progress target_at login_at
    boots="$(grep -c 'Linux version ' "$log" || true)"
    ((boots == 1)) || vm_fail "the kernel started $boots times: the machine rebooted while waiting for the target"
    ! grep -q 'iscsi-root: no rescue shell' "$log" || vm_fail "the agent gave up: $(grep -m 1 'login failed' "$log" || true)"
    # The target was down for at least 80 s of the guest's login: a line every ~10 s (at
    # most one round, 8 s, late) makes at least 4 however the jitter fell.
    progress="$(grep -c 'iscsi-root: login: no path answers after' "$log" || true)"
    ((progress >= 4)) || vm_fail "$progress progress line(s) while the target was down, expected at least 4"
    ((progress <= late / 10 + 1)) || vm_fail "$progress progress lines in ${late} s: more than one per ~10 s"
    target_at="$(cat "$LOG_DIR/san-late.target-started-ms")"
    login_at="$(vm_console_time "$log" 'iscsi-root: login: .* as ')" || vm_fail "no login line"
    awk -v login="$login_at" -v target="$target_at" 'BEGIN { exit !(login * 1000 >= target) }' ||
        vm_fail "logged in at ${login_at} s, before the target started (${target_at} ms)"
    echo "$figures; target up at ${target_at} ms, logged in at ${login_at} s; $progress progress lines"
)

# Two targets in one tgtd: A (tid 1) serves the root, B (tid 2) a data LUN the root's init
# (lib/two-targets-init) mounts and writes to. Both are on the command line as iscsi=.
readonly IQN_DATA="iqn.2024-01.org.iscsi-root.test:data"
readonly TWO_TARGETS_APPEND="$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN/1 iscsi=iscsi://10.0.2.2/$IQN_DATA/1 $ROOT_RW"

# two_targets_images NAME: the root (with the agent for its status, and the two-target init)
# and an empty data filesystem (label "data").
two_targets_images() {
    local name="$1"
    vm_rootfs_build "$LOG_DIR/$name.root.img" --init "$VM_LIB/two-targets-init" --size 96M \
        --add "$VM_AGENT_BINARY:sbin/iscsi-root"
    rm -f "$LOG_DIR/$name.data.img"
    mkfs.ext4 -q -F -L data "$LOG_DIR/$name.data.img" 64M >/dev/null
}


# What both two-target scenarios check once QEMU is gone: the writes to both disks went
# through without an I/O error, both sessions were logged out at shutdown after the root
# was unmounted, and both images are clean.
two_targets_check() {
    local name="$1" blocks="$2" log="$LOG_DIR/$1.log"
    vm_check_boot_started "$log"
    vm_check_boot_steps "$log"
    ! grep -q 'VM-MARKER: second-session-missing' "$log" || vm_fail "the second session never came up: $(grep -m 3 'VM-STATUS' "$log" | tr '\n' ' ')"
    ! grep -q 'VM-MARKER: data-mount-failed' "$log" || vm_fail "$(grep -m 1 'data-mount-failed' "$log")"
    fault_check_writer "$log" "$LOG_DIR/$name.root.img" "$blocks"
    fault_verify_blocks "$LOG_DIR/$name.data.img" "$blocks"
    vm_rootfs_check "$LOG_DIR/$name.data.img" || vm_fail "e2fsck -fn finds the data image unclean"
    local sessions
    sessions="$(grep -c 'VM-STATUS: session [0-9]* (host[0-9]*): logged in' "$log" || true)"
    ((sessions >= 2)) || vm_fail "iscsi-root status in the guest showed $sessions logged-in session(s), expected 2"
    vm_console_time "$log" 'iscsi-root: shutdown: root unmounted; logging out' >/dev/null || vm_fail "the root was not unmounted before the logout"
    vm_console_time "$log" "iscsi-root: shutdown: logged out of ${IQN//./\\.}" >/dev/null || vm_fail "no shutdown line for the root session's logout"
    vm_console_time "$log" "iscsi-root: shutdown: logged out of ${IQN_DATA//./\\.}" >/dev/null || vm_fail "no shutdown line for the data session's logout"
    vm_console_time "$log" 'reboot: Power down' >/dev/null || vm_fail "the kernel did not say 'reboot: Power down'"
}

# Both targets up: both sessions log in (the root's waited for, the data one alongside),
# the host deletes B's connection and then A's while the guest writes to both; both
# sessions recover, no write fails, both disks hold every block, both log out at shutdown.
scenario_two_targets() (
    local name=two-targets blocks=24 log="$LOG_DIR/two-targets.log" initrd
    initrd="$(vm_scenario_initramfs default)"
    two_targets_images "$name"
    vm_netns_create
    VM_TARGET_LOG="$LOG_DIR/$name.tgtd.log" vm_target_start "$LOG_DIR/$name.root.img" "$IQN"
    vm_target_add 2 "$IQN_DATA" "$LOG_DIR/$name.data.img"
    rm -f "$log"
    # The writes and two recoveries add about a minute to the boot under emulation.
    local timeout=$((BOOT_TIMEOUT + 60))
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --timeout "$timeout" \
        --append "console=ttyS0,115200 panic=-1 $TWO_TARGETS_APPEND twotargets.blocks=$blocks" &
    local qemu=$! status=0
    fault_wait_for_console "$log" 'VM-MARKER: wrote seq=6 ' 100
    fault_delete_connection 2
    fault_wait_for_console "$log" 'VM-MARKER: wrote seq=12 ' 60
    fault_delete_connection 1
    wait "$qemu" || status=$?
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${timeout} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"
    two_targets_check "$name" "$blocks"
    vm_console_time "$log" "iscsi-root: sessions: 2 planned; the boot waits for ${IQN//./\\.}; logging in alongside: ${IQN_DATA//./\\.} \(pid [0-9]+\)" \
        >/dev/null || vm_fail "no 'sessions: 2 planned' line"
    local joined recoveries
    joined="$(vm_console_time "$log" "iscsi-root: sessions: ${IQN_DATA//./\\.} at 10\.0\.2\.2:3260 logged in as ")" ||
        vm_fail "no line for the data session's login"
    recoveries="$(grep -c 'operational again' "$log" || true)"
    ((recoveries >= 2)) || vm_fail "$recoveries recovery line(s), expected one per session: $(grep -m 2 'operational again' "$log" || true)"
    grep -q 'VM-STATUS: recoveries 1' "$log" || vm_fail "iscsi-root status does not count the recoveries"
    echo "data session up at ${joined} s; $(grep -o 'operational again .* in [0-9]* ms' "$log" | sed 's/ at .* after / after /' | tr '\n' ';') $blocks blocks on each disk; both logged out; images clean"
)

# Target B is not there at boot (tgtd answers "not found" for it): the boot goes on with
# the root on A and does not wait for B; the host adds B 20 s after the root's init started,
# and the session joins by itself (the guest waits up to 90 s for it), then as above.
scenario_two_targets_late() (
    local name=two-targets-late blocks=8 late=20 log="$LOG_DIR/two-targets-late.log" initrd
    initrd="$(vm_scenario_initramfs default)"
    two_targets_images "$name"
    vm_netns_create
    VM_TARGET_LOG="$LOG_DIR/$name.tgtd.log" vm_target_start "$LOG_DIR/$name.root.img" "$IQN"
    rm -f "$log"
    local qemu_start
    qemu_start="$(vm_now_ms)"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --timeout "$((BOOT_TIMEOUT + late + 60))" \
        --append "console=ttyS0,115200 panic=-1 $TWO_TARGETS_APPEND twotargets.blocks=$blocks twotargets.wait=90" &
    local qemu=$! status=0
    fault_wait_for_console "$log" 'VM-MARKER: root-init-started' 100
    sleep "$late"
    local added_ms=$(($(vm_now_ms) - qemu_start))
    vm_target_add 2 "$IQN_DATA" "$LOG_DIR/$name.data.img"
    wait "$qemu" || status=$?
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after $((BOOT_TIMEOUT + late + 60)) s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"
    two_targets_check "$name" "$blocks"
    grep -q "VM-STATUS-AT-START: session to ${IQN_DATA//./\\.}: coming up (not logged in yet)" "$log" ||
        vm_fail "status at the root's start does not show the data session coming up: $(grep -m 12 'VM-STATUS-AT-START' "$log" | tr '\n' ' ')"
    local init_at joined
    init_at="$(vm_console_time "$log" 'VM-MARKER: root-init-started')"
    joined="$(vm_console_time "$log" "iscsi-root: sessions: ${IQN_DATA//./\\.} at 10\.0\.2\.2:3260 logged in as ")" ||
        vm_fail "the data session never joined"
    awk -v joined="$joined" -v added="$added_ms" 'BEGIN { exit !(joined * 1000 >= added) }' ||
        vm_fail "the data session logged in at ${joined} s, before its target was added (${added_ms} ms)"
    echo "root's init at ${init_at} s without B; B added at $((added_ms / 1000)) s, joined at ${joined} s; $blocks blocks on each disk; both logged out; images clean"
)

main() {
    vm_suite_prepare
    # This run's initramfs images are built when a scenario first needs them.
    rm -f "$LOG_DIR"/run.*
    local selected=("$@")
    ((${#selected[@]} > 0)) || selected=("${SCENARIOS[@]}")
    vm_run_scenarios scenario_ "$LOG_DIR/" "${selected[@]}"
}

main "$@"
