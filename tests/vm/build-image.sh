#!/usr/bin/env bash
# Build the disks of the Molecule `vm` scenario: a bootable Debian 12 VM
# (kernel, GRUB on the MBR, systemd, sshd, python3, sudo; no Docker) and an
# empty xfs disk formatted with ftype=0 (no d_type) for the data-root check.
#
#   tests/vm/build-image.sh        # prints the image directory on its last line
#
# The VM boots with systemd.unified_cgroup_hierarchy=0 (cgroup v1): the
# scenario proves the prereqs role switches it to cgroup v2 with a reboot.
# Root cannot log in; the cloud-style user `admin` has passwordless sudo and
# the SSH key made here (id_ed25519 beside the disk).
#
# Cached: the image directory is named after a hash of this script, so a
# rebuild happens only when the script changes (FORCE=1 rebuilds anyway).
# Environment:
#   BERTH_VM_CACHE          where image directories live
#                           (default ${XDG_CACHE_HOME:-$HOME/.cache}/berth/vm)
#   DEBIAN_MIRROR           (default http://deb.debian.org/debian)
#   BERTH_DEBOOTSTRAP_CACHE .deb cache shared with tests/hosts/build-image.sh
set -euo pipefail

mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache="${BERTH_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/vm}"
deb_cache="${BERTH_DEBOOTSTRAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/debootstrap}/bookworm-vm"
disk_size=4G
xfs_size=512M
# What a small cloud image has, plus xfsprogs (host_prereqs reads ftype with
# xfs_info) and python3-apt (Ansible's apt module).
packages=linux-image-amd64,grub-pc,initramfs-tools,systemd,systemd-sysv,dbus,udev,kmod,openssh-server,python3,python3-apt,sudo,ca-certificates,iproute2,procps,xfsprogs,less
# quiet: every kernel line on the emulated 115200-baud serial console costs
# boot time; mitigations=off: under TCG the Spectre/Meltdown workarounds (page
# table isolation flushes the emulated TLB on every system call) slow down
# everything the VM does, and this throwaway VM runs only our own code.
cmdline="console=ttyS0,115200 systemd.unified_cgroup_hierarchy=0"
cmdline_default="quiet mitigations=off"

log() { echo "[$(date +%T)] vm-image: $*" >&2; }

need() {
  local missing=() c
  for c in debootstrap qemu-img mkfs.ext4 mkfs.xfs sfdisk losetup blkid flock ssh-keygen; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build-image.sh: missing ${missing[*]}; run tests/vm/install-deps.sh" >&2
    exit 2
  fi
}

need_loop_device() {
  if [ "$(id -u)" != 0 ] || ! losetup -f >/dev/null 2>&1; then
    echo "build-image.sh: needs root and a free loop device (losetup -f); in a container: --privileged or /dev/loop* and /dev/loop-control" >&2
    exit 2
  fi
}

# Everything inside the root filesystem besides the packages.
configure_rootfs() {
  local r=$1 uuid=$2
  local chroot=(chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive)
  echo berth-vm >"$r/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 berth-vm\n' >"$r/etc/hosts"
  echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$r/etc/fstab"
  cat >"$r/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
  # No Recommends (the roles must name what they need), no translated
  # descriptions to download and parse (apt is slow on an emulated CPU).
  printf 'APT::Install-Recommends "false";\nAcquire::Languages "none";\nAcquire::Retries "3";\n' \
    >"$r/etc/apt/apt.conf.d/90berth-vm"
  # dpkg leaves out man pages, docs and translations: less to unpack inside the VM.
  printf '%s\n' 'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/doc/*' \
    'path-include=/usr/share/doc/*/copyright' 'path-exclude=/usr/share/locale/*' \
    'path-exclude=/usr/share/info/*' >"$r/etc/dpkg/dpkg.cfg.d/90berth-vm-nodoc"
  # qemu's user-mode network: DHCP on the one NIC, its DNS forwarder.
  printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >"$r/etc/systemd/network/10-nic.network"
  echo "nameserver 10.0.2.3" >"$r/etc/resolv.conf"
  "${chroot[@]}" systemctl enable systemd-networkd.service ssh.service >/dev/null 2>&1
  # Nothing that competes with Ansible for dpkg's lock or the slow CPU: the
  # timers a cloud host can do without, and e2scrub's boot-time reaper.
  local u
  for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
           e2scrub_reap.service fstrim.timer man-db.timer logrotate.timer; do
    ln -sf /dev/null "$r/etc/systemd/system/$u"
  done

  # The cloud-style user; root gets no password and no SSH login.
  "${chroot[@]}" useradd -m -s /bin/bash -G sudo admin
  echo 'admin ALL=(ALL) NOPASSWD:ALL' >"$r/etc/sudoers.d/90-admin"
  chmod 0440 "$r/etc/sudoers.d/90-admin"
  install -d -m 0700 -o 1000 -g 1000 "$r/home/admin/.ssh"
  install -m 0600 -o 1000 -g 1000 "$work/id_ed25519.pub" "$r/home/admin/.ssh/authorized_keys"
  printf 'PermitRootLogin no\nPasswordAuthentication no\nUseDNS no\n' >"$r/etc/ssh/sshd_config.d/berth-vm.conf"
  "${chroot[@]}" passwd -l root >/dev/null

  # GRUB on the serial console, no menu wait, cgroup v1 to start with.
  cat >"$r/etc/default/grub" <<GRUB
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="$cmdline_default"
GRUB_CMDLINE_LINUX="$cmdline"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB_GFXPAYLOAD_LINUX=text
GRUB
  "${chroot[@]}" apt-get clean
  rm -rf "$r"/var/lib/apt/lists/* "$r/debootstrap"
}

# Partition, debootstrap, GRUB; leaves $work/disk.raw. Runs in a subshell
# whose EXIT trap unmounts and detaches what it set up. The partition is
# reached through a loop device at its offset (containers get no partition
# devices from losetup -P), so GRUB is put on the disk by hand: core.img
# (made in the chroot, with the prefix of partition 1) right after the MBR,
# boot.img's code in the MBR, which loads sector 1 by default.
build_system_disk() {
  local raw="$work/disk.raw" rootfs="$work/rootfs" loop uuid
  local chroot=(chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C)
  truncate -s "$disk_size" "$raw"
  printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$raw"
  loop="$(losetup -f --show -o $((2048 * 512)) "$raw")"
  # shellcheck disable=SC2064  # expanded now, the locals are gone at exit
  trap "umount -R $rootfs 2>/dev/null || true; losetup -d $loop" EXIT
  # Inode tables and journal written now: otherwise the VM's ext4lazyinit
  # thread writes them in the background of every boot from a fresh overlay.
  mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 -L berth-root "$loop"
  uuid="$(blkid -s UUID -o value "$loop")"
  mkdir -p "$rootfs" "$deb_cache"
  mount "$loop" "$rootfs"

  log "debootstrap bookworm from $mirror"
  if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$deb_cache" \
        bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 40 "$work/debootstrap.log" >&2
    tail -n 40 "$rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    exit 1
  fi
  log "debootstrap done after $((SECONDS - start))s; configuring"
  configure_rootfs "$rootfs" "$uuid"

  local d
  for d in dev proc sys; do mount --rbind "/$d" "$rootfs/$d"; done
  "${chroot[@]}" sh -ec '
    mkdir -p /boot/grub/i386-pc
    cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst /usr/lib/grub/i386-pc/boot.img /boot/grub/i386-pc/
    grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img -p "(hd0,msdos1)/boot/grub" biosdisk part_msdos ext2' \
    >"$work/grub.log" 2>&1 || { cat "$work/grub.log" >&2; exit 1; }
  dd if="$rootfs/boot/grub/i386-pc/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
  dd if="$rootfs/boot/grub/i386-pc/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none
  # update-grub cannot run here (grub.d/10_linux skips a root on a loop
  # device): the first grub.cfg is written by hand, the VM's own update-grub
  # (the prereqs role runs it) replaces it with Debian's.
  local kernel initrd
  kernel="$(cd "$rootfs/boot" && ls vmlinuz-*)"
  initrd="$(cd "$rootfs/boot" && ls initrd.img-*)"
  cat >"$rootfs/boot/grub/grub.cfg" <<CFG
serial --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry 'Debian GNU/Linux' {
  insmod part_msdos
  insmod ext2
  search --no-floppy --fs-uuid --set=root $uuid
  linux /boot/$kernel root=UUID=$uuid ro $cmdline $cmdline_default
  initrd /boot/$initrd
}
CFG
  # Give the blocks of deleted files (unpacked .debs, apt lists) back: the
  # qcow2 made from the disk then holds only what the VM uses.
  fstrim "$rootfs" || log "fstrim failed; the image is only larger"
}

main() {
  need
  local hash dir
  hash="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
  dir="$cache/debian12-$hash"
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9
  if [ "${FORCE:-0}" != 1 ] && [ -f "$dir/.complete" ]; then
    log "up to date ($dir)"
    echo "$dir"
    return 0
  fi

  need_loop_device
  start=$SECONDS
  work="$(mktemp -d "$cache/.build-$hash.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf --one-file-system $(printf %q "$work")" EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  ssh-keygen -q -t ed25519 -N "" -C berth-vm-admin -f "$work/id_ed25519"
  # The quick disk first. ftype=0 exists only in the old v4 format (crc=0).
  truncate -s "$xfs_size" "$work/xfs-ftype0.raw"
  mkfs.xfs -q -m crc=0 -n ftype=0 -L noftype "$work/xfs-ftype0.raw"
  qemu-img convert -O qcow2 "$work/xfs-ftype0.raw" "$work/xfs-ftype0.qcow2"
  rm -f "$work/xfs-ftype0.raw"
  ( build_system_disk )
  log "converting to qcow2"
  qemu-img convert -O qcow2 "$work/disk.raw" "$work/debian12.qcow2"
  rm -f "$work/disk.raw" "$work"/*.log
  rm -rf "$work/rootfs"
  touch "$work/.complete"
  rm -rf --one-file-system "$dir"
  mv "$work" "$dir"
  # Older builds of the image are of no further use.
  find "$cache" -mindepth 1 -maxdepth 1 -name 'debian12-*' ! -name "debian12-$hash" -exec rm -rf {} +
  log "built $dir in $((SECONDS - start))s"
  echo "$dir"
}

{ main "$@"; exit $?; }
