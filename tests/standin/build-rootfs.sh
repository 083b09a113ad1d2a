#!/usr/bin/env bash
# Build a Debian root filesystem image, localhost/dct-debian:<suite>, that the stand-ins
# for the official images start from (tests/containers/standins.py holds their table; each
# stand-in is a Containerfile in tests/standin/ built on this image).
#
# Where no container registry is reachable, `FROM python:3.13-slim-trixie` and the like are
# satisfied by stand-ins stored in the ISOLATED podman store under the official names;
# `podman build --pull=never` then resolves FROM locally. This script makes their common
# ground: `debootstrap --variant=minbase` of a Debian suite, imported into that store, with
#   * ca-certificates, netbase, tzdata; empty apt lists; apt sources in deb822 form
#     (<suite>, <suite>-updates, <suite>-security), like the official images;
#   * the host's extra CA certificates (a TLS-intercepting proxy's) trusted: copied in, then
#     `update-ca-certificates` runs in a RUN step (run in a chroot it silently does not
#     take). Harmless where none exist.
#
# Cached: the image carries a label with a hash of this script, the suite, the mirrors and
# the host CA certificates; a matching image is reused (about 0.2 s), anything else is
# rebuilt (about a minute). Concurrent callers serialise on a flock(1) lock,
# <cache root>/locks/rootfs-<suite>.lock (tests/helpers.cache_lock takes the same files),
# and the second one reuses.
#
# Usage (the environment must point podman at the isolated store; scripts/podman-env or
# tests/containers set it up):
#   scripts/podman-env tests/standin/build-rootfs.sh [SUITE]     # default trixie
# Prints the image's tag on stdout; progress goes to stderr.
#
# Environment:
#   DCT_CACHE_DIR        cache root (default ~/.cache/django-container-template)
#   DCT_DEBIAN_MIRROR    Debian mirror (default: the one apt uses on this host)
#   DCT_DEBIAN_SECURITY_MIRROR  security mirror (default: the host's, or <mirror>-security)
#   DCT_STANDIN_FORCE=1  rebuild even when the cached image matches
set -euo pipefail

suite=${1:-trixie}

die() { printf 'build-rootfs: %s\n' "$*" >&2; exit 1; }
log() { printf 'build-rootfs: %s\n' "$*" >&2; }

case "$suite" in
    *[!a-z]* | "") die "SUITE must be a Debian release name such as trixie, not '$suite'" ;;
esac
[ -n "${CONTAINERS_STORAGE_CONF:-}" ] ||
    die "CONTAINERS_STORAGE_CONF is not set; run this through scripts/podman-env so the isolated store is used"
command -v podman >/dev/null || die "podman is not installed"

script_path=$(readlink -f "${BASH_SOURCE[0]}")
cache_root=${DCT_CACHE_DIR:-$HOME/.cache/django-container-template}
cache=$cache_root/podman
tag="localhost/dct-debian:${suite}"
rootfs_tag="localhost/dct-debian-import:${suite}"
mkdir -p "$cache_root/locks"

# The first "URIs:"/"deb" entry in apt's sources whose path is (or is not)
# the security archive.
host_mirror() {  # $1: "main" or "security"
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] && files+=("$f")
    done
    [ "${#files[@]}" -gt 0 ] || return 0
    sed -n -e 's/^URIs:[[:space:]]*//p' \
        -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
        "${files[@]}" | tr ' ' '\n' | grep -E '^https?://' | grep -E '/debian(-security)?/?$' |
        if [ "$1" = security ]; then grep -E -- '-security/?$'; else grep -v -E -- '-security/?$'; fi |
        head -n 1 | sed 's:/*$::'
}
mirror=${DCT_DEBIAN_MIRROR:-$(host_mirror main)}
mirror=${mirror:-http://deb.debian.org/debian}
security_mirror=${DCT_DEBIAN_SECURITY_MIRROR:-$(host_mirror security)}
security_mirror=${security_mirror:-${mirror}-security}

ca_certs=()
if [ -d /usr/local/share/ca-certificates ]; then
    while IFS= read -r -d '' f; do ca_certs+=("$f"); done < <(
        find /usr/local/share/ca-certificates -type f -name '*.crt' -print0 | sort -z)
fi

key=$(
    {
        cat "$script_path"
        printf '%s\n' "$suite" "$mirror" "$security_mirror"
        if [ "${#ca_certs[@]}" -gt 0 ]; then cat "${ca_certs[@]}"; fi
    } | sha256sum | cut -c1-32
)

current_key() {
    podman image inspect --format '{{index .Config.Labels "dct.standin.key"}}' "$tag" 2>/dev/null || true
}

lock=$cache_root/locks/rootfs-${suite}.lock
exec 9>"$lock"
flock -w 1800 9 || die "timed out waiting for another build of the $suite root filesystem (lock $lock)"

if [ "${DCT_STANDIN_FORCE:-0}" != 1 ] && [ "$(current_key)" = "$key" ]; then
    printf '%s\n' "$tag"
    exit 0
fi

old_id=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
[ "$(id -u)" = 0 ] || die "debootstrap needs root to build the $suite root filesystem (it is not cached yet)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"

work=$(mktemp -d "$cache/standin-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
start=$SECONDS

log "debootstrap $suite from $mirror (about a minute) ..."
if ! debootstrap --variant=minbase \
    --include=ca-certificates,netbase,tzdata \
    "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    die "debootstrap failed (full log above, last 20 lines)"
fi
# Like the official image: deb822 sources with updates and security, and no
# package lists or downloaded packages left behind.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite ${suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: ${suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
find "$rootfs/var/cache/apt/archives" -name '*.deb' -delete

# The host's extra CA certificates (the TLS-intercepting proxy's).
mkdir -p "$rootfs/usr/local/share/ca-certificates"
if [ "${#ca_certs[@]}" -gt 0 ]; then
    cp "${ca_certs[@]}" "$rootfs/usr/local/share/ca-certificates/"
fi

log "importing the root filesystem ..."
tar --numeric-owner -C "$rootfs" -cf - . | podman import -q - "$rootfs_tag" >/dev/null
rm -rf "$rootfs"

# update-ca-certificates must run inside a container to take effect.
mkdir -p "$work/ctx"
cat >"$work/ctx/Containerfile" <<EOF
FROM $rootfs_tag
RUN update-ca-certificates
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8
LABEL dct.standin.key="$key" \\
      dct.standin.note="Debian ${suite} root filesystem for the test suite's stand-ins, built by tests/standin/build-rootfs.sh"
CMD ["bash"]
EOF
log "trusting the CA certificates and tagging $tag ..."
podman build --pull=never --network=none -t "$tag" -f "$work/ctx/Containerfile" "$work/ctx" >"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2
    die "podman build of the $suite root filesystem failed"
}
podman untag "$rootfs_tag" >/dev/null 2>&1 || true
# Drop the previous root filesystem unless images built on it still use it.
if [ -n "$old_id" ]; then podman rmi "$old_id" >/dev/null 2>&1 || true; fi

[ "$(current_key)" = "$key" ] || die "built $tag but its cache key label does not match"
log "built $tag in $((SECONDS - start)) s"
printf '%s\n' "$tag"
