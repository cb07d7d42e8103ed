# An iSCSI Boot Firmware Table for QEMU's -acpitable, as boot firmware (iPXE, a NIC's
# option ROM) would leave it: one initiator, one NIC, one target (sourced).
#
#   vm_ibft_write OUTPUT [--with-header] [--vlan ID] INITIATOR MAC PCI_BDF ADDRESS PREFIX GATEWAY \
#                 TARGET_ADDRESS TARGET_PORT LUN TARGET_NAME
#
# --vlan ID: the NIC's 802.1Q VLAN id (0, none, by default).
# Without --with-header OUTPUT is the table's body from byte 36 on: QEMU writes the ACPI
# header (signature, length, checksum, OEM ids) in front of it. --with-header writes a
# whole table (header and checksum included) that `iscsi-root plan --ibft FILE` reads.
# Layout of iBFT 1.03 (each field's offset and meaning: Sources/BootConfig/IBFT.swift): a 48-byte
# header, the control structure at 48, initiator at 72, NIC 0 at 152, target 0 at 256,
# then the strings. Integers little-endian; addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d
# (ADDRESS, GATEWAY and TARGET_ADDRESS may be IPv6, PREFIX then up to 128).
# Every structure is flagged valid and boot-selected; the NIC's origin is "manual" (static).
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

vm_ibft_write() (
    local output="$1"
    shift
    local with_header=0
    if [[ "${1:-}" == --with-header ]]; then
        with_header=1
        shift
    fi
    local vlan=0
    if [[ "${1:-}" == --vlan ]]; then
        vlan="$2"
        shift 2
    fi
    (($# == 10)) || vm_fail "vm_ibft_write: expected 10 values after OUTPUT, got $#"
    local initiator="$1" mac="$2" bdf="$3" address="$4" prefix="$5" gateway="$6"
    local target_address="$7" target_port="$8" lun="$9" target_name="${10}"
    local -a table=()
    local strings=312

    u8() { table[$1]=$(($2 & 0xFF)); }
    u16() {
        u8 "$1" "$2"
        u8 $(($1 + 1)) $(($2 >> 8))
    }
    u32() {
        u16 "$1" "$2"
        u16 $(($1 + 2)) $(($2 >> 16))
    }
    ipv4() {
        local offset="$1" a b c d
        IFS=. read -r a b c d <<<"$2"
        u8 $((offset + 10)) 0xFF
        u8 $((offset + 11)) 0xFF
        u8 $((offset + 12)) "$a"
        u8 $((offset + 13)) "$b"
        u8 $((offset + 14)) "$c"
        u8 $((offset + 15)) "$d"
    }
    # An IPv6 address as its own 16 bytes, an IPv4 one mapped (ipv4).
    address_at() {
        local offset="$1" byte i=0
        if [[ "$2" != *:* ]]; then
            ipv4 "$offset" "$2"
            return
        fi
        for byte in $(python3 -c 'import ipaddress, sys; print(*ipaddress.IPv6Address(sys.argv[1]).packed)' "$2"); do
            u8 $((offset + i)) "$byte"
            i=$((i + 1))
        done
    }
    # A string's u16 length at OFFSET and its u16 position right after; the bytes go to the
    # string area with a NUL after each, as firmware lays them out.
    # The byte value of the character at INDEX of TEXT.
    char_at() { printf -v "$1" '%d' "'${2:$3:1}"; }
    string() {
        local offset="$1" text="$2" i byte
        u16 "$offset" "${#text}"
        u16 $((offset + 2)) "$strings"
        for ((i = 0; i < ${#text}; i++)); do
            char_at byte "$text" "$i"
            u8 $((strings + i)) "$byte"
        done
        u8 $((strings + ${#text})) 0
        strings=$((strings + ${#text} + 1))
    }
    structure() {
        local offset="$1" id="$2" length="$3"
        u8 "$offset" "$id"
        u8 $((offset + 1)) 1 # version
        u16 $((offset + 2)) "$length"
        u8 $((offset + 4)) 0 # index
        u8 $((offset + 5)) 3 # flags: valid, boot selected
    }

    # Control structure: id 1, 18 bytes; offsets of initiator, NIC 0, NIC 1, target 0, target 1.
    structure 48 1 18
    u8 53 0 # the control structure has no valid / boot-selected flags
    u16 56 72
    u16 58 152
    u16 62 256
    structure 72 2 74
    string $((72 + 70)) "$initiator"
    structure 152 3 102
    address_at $((152 + 6)) "$address"
    u8 $((152 + 22)) "$prefix"
    u8 $((152 + 23)) 1 # origin: manual
    address_at $((152 + 24)) "$gateway"
    local i octets
    IFS=: read -r -a octets <<<"$mac"
    for i in 0 1 2 3 4 5; do
        u8 $((152 + 90 + i)) $((16#${octets[i]}))
    done
    u16 $((152 + 88)) "$vlan"
    u16 $((152 + 96)) $((bdf))
    structure 256 4 54
    address_at $((256 + 6)) "$target_address"
    u16 $((256 + 22)) "$target_port"
    u8 $((256 + 25)) "$lun" # SAM peripheral addressing: LUN in byte 1
    u8 $((256 + 32)) 0      # CHAP: none
    u8 $((256 + 33)) 0      # through NIC 0
    string $((256 + 34)) "$target_name"

    local length=$(((strings + 7) / 8 * 8))
    for ((i = 0; i < length; i++)); do
        table[i]=${table[i]:-0}
    done
    if ((with_header)); then
        # Signature at 0, OEM id at 10, OEM table id at 16 (what QEMU's -acpitable writes).
        local header="iBFT      ISCSIRISCSIRT" byte
        for ((i = 0; i < ${#header}; i++)); do
            [[ "${header:i:1}" == " " ]] && continue
            char_at byte "$header" "$i"
            u8 "$i" "$byte"
        done
        u32 4 "$length"
        u8 8 1 # revision
        local sum=0
        for ((i = 0; i < length; i++)); do sum=$((sum + table[i])); done
        u8 9 $(((256 - sum % 256) % 256))
    fi
    local first=$((with_header ? 0 : 36)) escaped="" piece
    for ((i = first; i < length; i++)); do
        printf -v piece '\\x%02x' "${table[i]}"
        escaped+="$piece"
    done
    printf '%b' "$escaped" >"$output"
)
