#!/usr/bin/env bash
# Install what the Molecule `vm` scenario needs on the machine running it
# (Debian/Ubuntu, root): qemu (TCG is enough; KVM is used when /dev/kvm
# works), qemu-img, debootstrap, sfdisk, mkfs.xfs/ext4 and losetup for tests/vm/build-image.sh,
# and the ssh client. A no-op when everything is there.
set -euo pipefail
declare -A pkg_of=(
  [qemu-system-x86_64]=qemu-system-x86 [qemu-img]=qemu-utils [mkfs.xfs]=xfsprogs
  [debootstrap]=debootstrap [sfdisk]=fdisk [ssh]=openssh-client [ssh-keygen]=openssh-client
  # Usually there already; a minimal CI image may lack them.
  [mkfs.ext4]=e2fsprogs [losetup]=mount [blkid]=util-linux [flock]=util-linux [fstrim]=util-linux
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
