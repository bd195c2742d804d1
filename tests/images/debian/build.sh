#!/usr/bin/env bash
# Build berth-test/debian:bookworm: a debootstrap minbase of Debian 12 with python3 and sudo,
# imported with `docker import` (no registry). Used by the connection plugin tests, which need a
# container that can run Ansible modules. Idempotent: skipped when the image exists (FORCE=1 rebuilds).
# The rootfs tarball is cached in $BERTH_CACHE (default /var/cache/berth-test) so a rebuild needs no mirror.
set -euo pipefail
tag=berth-test/debian:bookworm
cache="${BERTH_CACHE:-/var/cache/berth-test}"
tarball="$cache/debian-bookworm-python3.tar"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

exec 9>/tmp/berth-test-debian.lock
flock 9
if [ "${FORCE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "  $tag: up to date"; exit 0
fi
if [ ! -s "$tarball" ] || [ "${FORCE:-0}" = 1 ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include=python3,sudo bookworm "$root" "$mirror" >/dev/null
  # keep the .debs of python3's dependencies out, but leave one small .deb for the apt test
  find "$root/var/cache/apt/archives" -name '*.deb' ! -name 'sudo_*' -delete
  mkdir -p "$cache"
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
fi
docker import -c 'CMD ["sleep", "infinity"]' "$tarball" "$tag" >/dev/null
echo "  $tag: built"
