#!/usr/bin/env bash
# Build berth-test/debian:bookworm: a debootstrap minbase of Debian 12 with python3, python3-apt (the apt
# module needs it, and could not fetch it: the test containers have no network) and sudo, imported with
# `docker import` (no registry). Used by the connection plugin tests, which need a container that can
# run Ansible modules.
# Idempotent: skipped when the image exists and carries this recipe's key (FORCE=1 rebuilds). The key
# names the recipe (suite and packages); change either and both the cached rootfs and the image go stale.
# The rootfs tarball is cached in $BERTH_CACHE (default /var/cache/berth-test) so a rebuild needs no mirror.
set -euo pipefail
tag=berth-test/debian:bookworm
suite=bookworm
packages=python3,python3-apt,sudo
key="$(printf '%s %s minbase\n' "$suite" "$packages" | sha256sum | cut -c1-12)"
cache="${BERTH_CACHE:-/var/cache/berth-test}"
tarball="$cache/debian-$suite-$key.tar"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

exec 9>/tmp/berth-test-debian.lock
flock 9
built_key="$(docker image inspect -f '{{index .Config.Labels "berth-test.recipe"}}' "$tag" 2>/dev/null || true)"
if [ "${FORCE:-0}" != 1 ] && [ "$built_key" = "$key" ]; then
  echo "  $tag: up to date"; exit 0
fi
if [ ! -s "$tarball" ] || [ "${FORCE:-0}" = 1 ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >/dev/null
  # the downloaded .debs are installed already (the apt test builds its own package)
  find "$root/var/cache/apt/archives" -name '*.deb' -delete
  mkdir -p "$cache"
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  # rootfs tarballs of older recipes (keyed names) are stale now
  find "$cache" -maxdepth 1 -name "debian-$suite-????????????.tar" ! -name "$(basename "$tarball")" -delete
fi
docker import -c 'CMD ["sleep", "infinity"]' -c "LABEL berth-test.recipe=$key" "$tarball" "$tag" >/dev/null
echo "  $tag: built"
