# The Debian mirror this machine's apt already uses, for the tools that fetch from Debian
# outside apt-get install (debootstrap, `apt-get source` into a private state). Sourced;
# the project names no mirror of its own.
#
#   debian_mirror     prints the URI of the archive serving the machine's own release
#                     (VERSION_CODENAME of /etc/os-release, not -security or -updates):
#                     deb822 /etc/apt/sources.list.d/*.sources first, then the one-line
#                     /etc/apt/sources.list and sources.list.d/*.list; fails with a message
#                     naming the files it read when none has one.
# shellcheck shell=bash

debian_mirror() {
    local codename mirror=""
    # shellcheck disable=SC1091 # the machine's own file
    codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
    if [[ -z "$codename" ]]; then
        echo "debian_mirror: /etc/os-release has no VERSION_CODENAME: is this Debian?" >&2
        return 1
    fi
    local apt="${DEBIAN_MIRROR_APT_DIR:-/etc/apt}"
    local deb822=("$apt"/sources.list.d/*.sources) one_line=("$apt/sources.list" "$apt"/sources.list.d/*.list)
    # A deb822 stanza (blank-line separated) whose Types has deb and whose Suites has the
    # release itself: its first URI.
    mirror="$(awk -v release="$codename" '
        function judge() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " release " ") && uri != "") { print uri; found = 1; exit } }
        FNR == 1 { judge(); types = suites = uri = "" }
        /^[[:space:]]*$/ { judge(); types = suites = uri = ""; next }
        /^Types:/ { types = $0; sub(/^Types:[[:space:]]*/, "", types) }
        /^Suites:/ { suites = $0; sub(/^Suites:[[:space:]]*/, "", suites) }
        /^URIs:/ { uri = $2 }
        END { if (!found) judge() }
    ' "${deb822[@]}" 2>/dev/null || true)"
    if [[ -z "$mirror" ]]; then
        # deb [options] URI SUITE COMPONENT...
        mirror="$(awk -v release="$codename" '
            $1 == "deb" { i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                          if ($(i + 1) == release) { print $i; exit } }
        ' "${one_line[@]}" 2>/dev/null || true)"
    fi
    if [[ -z "$mirror" ]]; then
        echo "debian_mirror: no apt source for Debian $codename in $apt/sources.list.d/*.sources or $apt/sources.list(.d/*.list): add the mirror this machine installs from" >&2
        return 1
    fi
    printf '%s\n' "$mirror"
}
