#!/usr/bin/env bash
# Install what the Molecule `vm` scenario needs on the machine running it
# (Debian/Ubuntu, root): qemu (TCG is enough; KVM is used when /dev/kvm
# works), qemu-img, debootstrap, sfdisk and mkfs.xfs for tests/vm/build-image.sh,
# and the ssh client. A no-op when everything is there.
set -euo pipefail
declare -A pkg_of=(
  [qemu-system-x86_64]=qemu-system-x86 [qemu-img]=qemu-utils [mkfs.xfs]=xfsprogs
  [debootstrap]=debootstrap [sfdisk]=fdisk [ssh]=openssh-client [ssh-keygen]=openssh-client
)
missing=()
for cmd in "${!pkg_of[@]}"; do
  command -v "$cmd" >/dev/null || missing+=("${pkg_of[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
