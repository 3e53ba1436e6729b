#!/usr/bin/env bash
# Free-threaded CPython 3.13 (PEP 703, `--disable-gil`) for polylab's python variants.
#
# No binary of this build is reachable from the registries polylab may use, but Debian's source package
# of python3.13 is: this script downloads its upstream tarball with a private apt configuration (the
# system's apt sources are left alone), builds it once per machine into a cache outside the clone, and
# puts `python3.13t` on PATH. It does nothing when a free-threaded python3.13t / python3.14t is already
# on PATH (uv, pyenv, distro packages) or the cached install runs.
#
#   bash langs/python/toolchains/build-free-threaded.sh
#   POLYLAB_TOOLCHAINS=DIR   cache root (default /var/cache/polylab/toolchains, or
#                            ~/.cache/polylab/toolchains when /var/cache is not writable)
set -euo pipefail

NAME=cpython-3.13t
SOURCE_PACKAGE=python3.13
SOURCE_SUITE=trixie           # the Debian release whose python3.13 source is used
BUILD_DEPS=(build-essential libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev
            pkg-config xz-utils debian-archive-keyring)
RETRY="${POLYLAB_TOOLCHAINS:+POLYLAB_TOOLCHAINS=$POLYLAB_TOOLCHAINS }bash langs/python/toolchains/build-free-threaded.sh"

# Progress goes to the terminal's stdout, saved as fd 3: a trap can run while a step's output is
# redirected to the log.
exec 3>&1
say() { echo "free-threaded python: $*" >&3; }

# A python that is a free-threaded build (Py_GIL_DISABLED), whatever its GIL state at run time.
is_free_threaded() {
    "$1" -c 'import sys, sysconfig; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else 1)' \
        >/dev/null 2>&1
}

describe() {
    "$1" -c 'import sys; print(sys.version.split()[0], "GIL enabled" if sys._is_gil_enabled() else "GIL disabled")'
}

for candidate in python3.13t python3.14t; do
    found=$(command -v "$candidate" || true)
    if [ -n "$found" ] && is_free_threaded "$found"; then
        say "already on PATH: $found ($(describe "$found")); nothing to do"
        exit 0
    fi
done

if [ -n "${POLYLAB_TOOLCHAINS:-}" ]; then
    cache_root=$POLYLAB_TOOLCHAINS
elif mkdir -p /var/cache/polylab/toolchains 2>/dev/null && [ -w /var/cache/polylab/toolchains ]; then
    cache_root=/var/cache/polylab/toolchains
else
    cache_root=$HOME/.cache/polylab/toolchains
fi
current_step="create the cache folder $cache_root"
work=""
trap 'status=$?; [ $status -eq 0 ] || on_failure; [ -z "$work" ] || rm -rf "$work"; exit $status' EXIT
# Killed by a signal, bash runs the EXIT trap with status 0: turn signals into failing exits.
trap 'exit 130' INT
trap 'exit 143' TERM
on_failure() {
    say "FAILED at step '$current_step' (log: ${log:-none}); fix the cause and retry: $RETRY"
}
mkdir -p "$cache_root"
prefix=$cache_root/$NAME
log=$cache_root/$NAME.build.log

link_onto_path() {
    current_step="link python3.13t onto PATH"
    local bin_dir=/usr/local/bin
    if ! [ -w "$bin_dir" ]; then
        bin_dir=$HOME/.local/bin
        mkdir -p "$bin_dir"
    fi
    ln -sfn "$prefix/bin/python3.13t" "$bin_dir/python3.13t"
    say "linked $bin_dir/python3.13t -> $prefix/bin/python3.13t"
    case ":$PATH:" in
        *":$bin_dir:"*) ;;
        *) say "hint: $bin_dir is not on PATH; add it: export PATH=\"$bin_dir:\$PATH\"" ;;
    esac
}

# Only a finished build is ever moved to $prefix, so one that runs is complete.
cached_install_runs() { [ -x "$prefix/bin/python3.13t" ] && is_free_threaded "$prefix/bin/python3.13t"; }

use_cached_install() {
    say "cached build at $prefix ($(describe "$prefix/bin/python3.13t"))"
    link_onto_path
    exit 0
}
cached_install_runs && use_cached_install

current_step="wait for the build lock"
# One build at a time per cache (two clones may run `make toolchains` at once).
exec 9>"$cache_root/.$NAME.lock"
if ! flock -n 9; then
    say "another build holds $cache_root/.$NAME.lock; waiting for it"
    flock 9
fi
cached_install_runs && use_cached_install  # the other build finished it
# Left-overs of interrupted builds (we hold the lock, so none is in progress).
rm -rf "$cache_root/.build-$NAME".*

# The build lives next to the cache (same file system) so the final move is one atomic rename.
work=$(mktemp -d "$cache_root/.build-$NAME.XXXXXX")
: >"$log"

# Run one step with its output in the log; print one line with its time.
step() {
    current_step=$1
    shift
    local started=$SECONDS
    echo "=== $current_step: $*" >>"$log"
    "$@" >>"$log" 2>&1
    say "$current_step done ($((SECONDS - started)) s)"
}

missing_deps=()
for package in "${BUILD_DEPS[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ] \
        || missing_deps+=("$package")
done
install_build_deps() {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_deps[@]}"
}
if [ ${#missing_deps[@]} -gt 0 ]; then
    step "install build dependencies (${missing_deps[*]})" install_build_deps
fi

apt_dir=$work/apt
apt_options=(-o "Dir::Etc::SourceList=$apt_dir/src.sources" -o Dir::Etc::SourceParts=/dev/null
             -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
# apt downloads as the _apt user, which cannot write into our private (0700) temp dir.
[ "$(id -u)" -ne 0 ] || apt_options+=(-o APT::Sandbox::User=root)
download_source() {
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
        "$SOURCE_SUITE" /usr/share/keyrings/debian-archive-keyring.gpg >"$apt_dir/src.sources"
    apt-get "${apt_options[@]}" update
    (cd "$work" && apt-get "${apt_options[@]}" source --download-only "$SOURCE_PACKAGE")
}
step "download $SOURCE_PACKAGE source from Debian $SOURCE_SUITE" download_source

unpack() {
    local tarballs=("$work/${SOURCE_PACKAGE}_"*.orig.tar.xz)
    tar -C "$work" -xf "${tarballs[0]}"
}
step "unpack" unpack
source_dir=$(find "$work" -maxdepth 1 -type d -name 'Python-3.13*' | head -n 1)
[ -n "$source_dir" ] || { current_step="unpack (no Python-3.13* folder in the tarball)"; exit 1; }

cd "$source_dir"
step "configure --disable-gil" ./configure --disable-gil --prefix="$prefix" --without-ensurepip
step "make -j$(nproc)" make -j"$(nproc)"
# Installed into a staging root with the final prefix compiled in, then renamed into place.
step "make install" make install DESTDIR="$work/stage"

publish() {
    rm -rf "$prefix"  # a previous install that no longer runs
    mv -T "$work/stage$prefix" "$prefix"
    cached_install_runs
}
step "install into $prefix" publish
link_onto_path
say "ready: $prefix/bin/python3.13t ($(describe "$prefix/bin/python3.13t")), built in $SECONDS s"
