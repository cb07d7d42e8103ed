#!/usr/bin/env bash
# Builds the standalone initramfs: the static iscsi-root is /init, beside it only the
# kernel modules the boot path loads (with their dependencies and a depmod index made for
# exactly those) and the configuration files. No shell, no busybox, no udev.
set -euo pipefail

readonly PROGRAM="${0##*/}"

# What the boot path loads: the iSCSI initiator and SCSI disk, the virtio NIC of the VMs,
# ext4 for the root, and the iBFT reader. crc32c_generic because ext4 and iSCSI digests
# ask the crypto API for "crc32c", and crc32c-intel does not load under emulation.
# Built-in modules (af_packet in Debian's kernels) are fine: they are skipped. dm_multipath
# and its service-time selector: the root's map over several paths (iscsi.multipath=).
readonly DEFAULT_MODULES="iscsi_tcp sd_mod virtio_pci virtio_net ext4 crc32c_generic af_packet iscsi_ibft 8021q dm_multipath dm_service_time"

usage() {
    cat <<EOF
usage: $PROGRAM --binary FILE --output FILE [options]

Builds a compressed newc cpio whose /init is the static iscsi-root.

  --binary FILE            the statically linked iscsi-root (make static)
  --output FILE            where to write the initramfs
  --kver VERSION           kernel version of the modules (default: uname -r)
  --modules-dir DIR        root of the tree holding lib/modules/VERSION (default: /);
                           e.g. a Debian linux-image .deb unpacked with dpkg-deb -x
  --modules "NAME ..."     modules to include with their dependencies
                           (default: $DEFAULT_MODULES)
  --config FILE            becomes /etc/iscsi-root.conf
  --iscsi-initramfs FILE   becomes /etc/iscsi/iscsi.initramfs
  --secrets FILE           becomes /etc/iscsi-root/secrets (mode 0600)
  --extra-tree DIR         DIR's files are copied over the staged tree last, replacing
                           what is there (/init too: scripts/bench-boot.sh builds an
                           open-iscsi initramfs with the same kernel modules this way)
  --compression zstd|gzip  (default: zstd)
  -h, --help               this text

Modules compressed with xz, zstd or gzip are stored uncompressed: the static agent's
libkmod reads uncompressed modules only.
EOF
}

fail() {
    echo "$PROGRAM: $*" >&2
    exit 1
}

usage_error() {
    echo "$PROGRAM: $*" >&2
    echo "run $PROGRAM --help for usage" >&2
    exit 2
}

binary="" output="" kver="" modules_dir="/" modules="$DEFAULT_MODULES"
config="" iscsi_initramfs="" secrets="" extra_tree="" compression="zstd"

parse_arguments() {
    while (($# > 0)); do
        case "$1" in
        -h | --help) usage; exit 0 ;;
        --binary | --output | --kver | --modules-dir | --modules | --config | \
            --iscsi-initramfs | --secrets | --extra-tree | --compression)
            (($# >= 2)) || usage_error "$1 needs a value"
            local value="$2"
            case "$1" in
            --binary) binary="$value" ;;
            --output) output="$value" ;;
            --kver) kver="$value" ;;
            --modules-dir) modules_dir="$value" ;;
            --modules) modules="$value" ;;
            --config) config="$value" ;;
            --iscsi-initramfs) iscsi_initramfs="$value" ;;
            --secrets) secrets="$value" ;;
            --extra-tree) extra_tree="$value" ;;
            --compression) compression="$value" ;;
            esac
            shift 2
            ;;
        *) usage_error "unknown argument \"$1\"" ;;
        esac
    done
    [[ -n "$binary" ]] || usage_error "--binary is required"
    [[ -n "$output" ]] || usage_error "--output is required"
    [[ -n "$kver" ]] || kver="$(uname -r)"
    # modprobe prints absolute paths; they are matched against this prefix.
    [[ -d "$modules_dir" ]] || fail "--modules-dir $modules_dir: no such folder"
    modules_dir="$(cd "$modules_dir" && pwd -P)"
    case "$compression" in
    zstd | gzip) ;;
    *) usage_error "--compression \"$compression\" is not zstd or gzip" ;;
    esac
}

check_inputs() {
    local tool
    for tool in cpio depmod modprobe file "$compression"; do
        command -v "$tool" >/dev/null || fail "$tool not found (Tests/VM/lib/deps.sh installs it)"
    done
    [[ -f "$binary" ]] || fail "--binary $binary: no such file (run make static)"
    # /init runs before any library could be found: a dynamic binary cannot start there.
    file -b "$binary" | grep -Eq 'statically linked|static-pie linked' ||
        fail "--binary $binary is not statically linked ($(file -b "$binary" | cut -d, -f1-4))"
    [[ -f "${modules_dir%/}/lib/modules/$kver/modules.dep" ]] ||
        fail "no ${modules_dir%/}/lib/modules/$kver/modules.dep: check --modules-dir and --kver (run depmod -b DIR $kver on an unpacked kernel)"
    local file
    for file in "$config" "$iscsi_initramfs" "$secrets"; do
        [[ -z "$file" || -f "$file" ]] || fail "$file: no such file"
    done
    [[ -z "$extra_tree" || -d "$extra_tree" ]] || fail "--extra-tree $extra_tree: no such folder"
}

# Prints the module files (paths under $modules_dir) that loading $modules needs, each
# once, dependencies first: modprobe resolves aliases, dependencies and soft
# dependencies from modules.dep the same way the boot's libkmod will.
resolve_module_files() {
    local module line
    for module in $modules; do
        # -C /dev/null: the host's /etc/modprobe.d (blacklists, options) is not the VM's.
        local plan
        plan="$(modprobe --show-depends -C /dev/null -d "$modules_dir" -S "$kver" "$module" 2>&1)" ||
            fail "module $module: $plan"
        while IFS= read -r line; do
            case "$line" in
            insmod\ *)
                line="${line#insmod }"
                printf '%s\n' "${line%% *}"
                ;;
            builtin\ *) ;;
            *) fail "module $module: unexpected modprobe output: $line" ;;
            esac
        done <<<"$plan"
    done | awk '!seen[$0]++'
}

copy_modules() {
    local staging="$1"
    local module_root="lib/modules/$kver"
    local module_files source relative target
    module_files="$(resolve_module_files)"
    mkdir -p "$staging/$module_root"
    while IFS= read -r source; do
        [[ -n "$source" ]] || continue
        relative="${source#"${modules_dir%/}/$module_root/"}"
        [[ "$relative" != "$source" ]] || fail "modprobe named $source, outside $modules_dir/$module_root"
        target="$staging/$module_root/${relative%.*}"
        mkdir -p "${target%/*}"
        case "$source" in
        *.ko) cp "$source" "$target.ko" ;;
        *.ko.xz) xz -dc "$source" >"$target" ;;
        *.ko.zst) zstd -qdc "$source" >"$target" ;;
        *.ko.gz) gzip -dc "$source" >"$target" ;;
        *) fail "unexpected module file $source" ;;
        esac
        # depmod orders same-named aliases by this list; dependencies come first in it.
        printf '%s\n' "${relative%.ko*}.ko" >>"$staging/$module_root/modules.order"
    done <<<"$module_files"
    # Built-in modules must be known to libkmod, or loading one is "not found".
    local index
    for index in modules.builtin modules.builtin.modinfo; do
        if [[ -f "$modules_dir/$module_root/$index" ]]; then
            cp "$modules_dir/$module_root/$index" "$staging/$module_root/"
        fi
    done
    # An index (modules.dep, .dep.bin, .alias, ...) for exactly the modules present.
    depmod -b "$staging" "$kver"
}

stage_files() {
    local staging="$1"
    # Mount points for /init's early mounts; /dev/console comes from the kernel's own
    # built-in initramfs, which this archive is unpacked over.
    mkdir -p "$staging"/{dev,proc,sys,run,etc}
    install -m 0755 "$binary" "$staging/init"
    if [[ -n "$config" ]]; then
        install -m 0644 "$config" "$staging/etc/iscsi-root.conf"
    fi
    if [[ -n "$iscsi_initramfs" ]]; then
        install -D -m 0644 "$iscsi_initramfs" "$staging/etc/iscsi/iscsi.initramfs"
    fi
    if [[ -n "$secrets" ]]; then
        install -d -m 0700 "$staging/etc/iscsi-root"
        install -m 0600 "$secrets" "$staging/etc/iscsi-root/secrets"
    fi
}

write_archive() {
    local staging="$1" partial="$2"
    local compress=(zstd -q -19 -T0)
    [[ "$compression" == gzip ]] && compress=(gzip -9 -n)
    # Sorted names, owner root, no device numbers of the build host: the same inputs give
    # the same archive.
    (cd "$staging" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | "${compress[@]}" >"$partial"
}

staging=""
partial_output=""
cleanup() {
    [[ -z "$staging" ]] || rm -rf "$staging"
    [[ -z "$partial_output" ]] || rm -f "$partial_output"
}

main() {
    parse_arguments "$@"
    check_inputs
    trap cleanup EXIT
    staging="$(mktemp -d)"
    stage_files "$staging"
    copy_modules "$staging"
    if [[ -n "$extra_tree" ]]; then
        cp -a "$extra_tree/." "$staging/"
    fi
    mkdir -p "$(dirname "$output")"
    partial_output="$output.partial"
    write_archive "$staging" "$partial_output"
    mv "$partial_output" "$output"
    partial_output=""
    local module_count
    module_count="$(find "$staging/lib/modules" -name '*.ko' | wc -l)"
    echo "$PROGRAM: $output: $(stat -c %s "$output") bytes $compression, /init $(stat -c %s "$staging/init") bytes, $module_count modules for $kver"
}

main "$@"
