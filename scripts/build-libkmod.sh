#!/usr/bin/env bash
# Builds a static libkmod.a from Debian's own kmod source package, because Debian ships
# none and kmod's `configure --enable-static` refuses. The static iscsi-root links it.
#
# usage: scripts/build-libkmod.sh
#   Prints the folder that holds libkmod.a (cache/libkmod/lib). Does nothing when it is
#   already built (delete cache/libkmod to rebuild).
#
# The source comes from the same Debian mirror the host's apt already uses: apt is given
# a one-line deb-src list and private list/cache folders for these commands only, so the
# machine's apt configuration is never touched.
#
# Built without xz/zstd/zlib/openssl: this libkmod reads uncompressed modules only, which
# is what Debian 12's kernels ship. Static linking of the LGPL libkmod obliges us to let
# users relink; this script is that recipe.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly CACHE_DIR="$REPO_ROOT/cache/libkmod"
readonly LIB_DIR="$CACHE_DIR/lib"
build_dir="" # removed by the EXIT trap

fail() {
    echo "build-libkmod.sh: $*" >&2
    exit 1
}

# shellcheck source-path=SCRIPTDIR source=debian-mirror.sh
source "$REPO_ROOT/scripts/debian-mirror.sh"

fetch_kmod_source() {
    local work_dir="$1"
    local mirror codename
    mirror="$(debian_mirror)" || fail "the kmod source comes from the machine's Debian mirror"
    codename="$(. /etc/os-release && printf '%s' "$VERSION_CODENAME")"

    local apt_dir="$work_dir/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
        "$mirror" "$codename" >"$apt_dir/sources.list"
    local private_apt=(
        -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache"
        -o "APT::Sandbox::User=root"
    )
    apt-get "${private_apt[@]}" -q update >&2
    (cd "$work_dir" && apt-get "${private_apt[@]}" -q source kmod >&2)
}

build_static_library() {
    local work_dir="$1"
    local source_dir
    source_dir="$(find "$work_dir" -mindepth 1 -maxdepth 1 -type d -name 'kmod-*' | head -n 1)"
    [[ -n "$source_dir" ]] || fail "apt-get source kmod unpacked no kmod-* folder in $work_dir"
    (
        cd "$source_dir"
        # kmod's own autogen.sh does the same when gtk-doc is absent: the API docs are
        # not built, but automake still wants the include to exist.
        [[ -f libkmod/docs/gtk-doc.make ]] || : >libkmod/docs/gtk-doc.make
        autoreconf -fi
        ./configure --without-openssl --without-xz --without-zstd --without-zlib \
            --disable-manpages CFLAGS='-Os -fPIC'
        make -j"$(nproc)" libkmod/libkmod.la
        ar rcs "$work_dir/libkmod.a" libkmod/.libs/*.o shared/.libs/*.o
    ) >&2
}

main() {
    if [[ -f "$LIB_DIR/libkmod.a" ]]; then
        printf '%s\n' "$LIB_DIR"
        return 0
    fi
    "$REPO_ROOT/scripts/install-deps.sh" --set libkmod >&2

    mkdir -p "$CACHE_DIR"
    build_dir="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
    trap 'rm -rf "$build_dir"' EXIT
    # Once per machine: its output goes to a log, shown only when a step fails.
    local log="$CACHE_DIR/build.log" started=$SECONDS
    echo "build-libkmod.sh: building a static libkmod from Debian's kmod source (once; log: $log) …" >&2
    # Outside any condition, so that `set -e` stops the subshell at its first failure.
    local status
    set +e
    (
        set -e
        fetch_kmod_source "$build_dir"
        build_static_library "$build_dir"
    ) 2>"$log"
    status=$?
    set -e
    if ((status != 0)); then
        tail -n 40 "$log" >&2
        fail "the libkmod build failed (whole log: $log)"
    fi
    echo "build-libkmod.sh: libkmod.a built in $((SECONDS - started)) s" >&2

    # Only a complete library ever appears at the cached path.
    mkdir -p "$LIB_DIR"
    mv "$build_dir/libkmod.a" "$LIB_DIR/libkmod.a.partial"
    mv "$LIB_DIR/libkmod.a.partial" "$LIB_DIR/libkmod.a"
    printf '%s\n' "$LIB_DIR"
}

main "$@"
