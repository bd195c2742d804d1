#!/usr/bin/env bash
# Build Berth's Molecule test-host images: Debian with systemd as PID 1,
# python3 and openssh-server, made with debootstrap and `docker import`.
#
#   tests/hosts/build-image.sh 12            # one release (11|12|13|sid or bullseye|bookworm|trixie|unstable)
#   tests/hosts/build-image.sh 11 12 13      # several, built in parallel
#   tests/hosts/build-image.sh all           # 11 12 13 sid
#
# Result: berth-molecule/debian:<11|12|13|sid>. sid (unstable) has no version
# number, no -updates and no -security suite: its tag is its codename. Cached by tag: an image whose
# io.berth.molecule.build-hash label matches this script's hash is kept;
# FORCE=1 rebuilds anyway. Environment:
#   DEBIAN_MIRROR           (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   BERTH_DEBOOTSTRAP_CACHE .deb cache dir kept between builds
#                           (default ${XDG_CACHE_HOME:-$HOME/.cache}/berth/debootstrap)
#   http_proxy              honoured by debootstrap's downloads
set -euo pipefail

repo="berth-molecule/debian"
label="io.berth.molecule.build-hash"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
cache_root="${BERTH_DEBOOTSTRAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/debootstrap}"

# What goes into the image besides minbase. python3-apt saves Ansible's apt
# module an install; kmod gives the prereqs role modprobe; iproute2/procps for
# humans debugging a host.
packages=systemd,systemd-sysv,dbus,python3,python3-apt,openssh-server,ca-certificates,iproute2,procps,sudo,gnupg,kmod,less
debootstrap_opts=(--variant=minbase --components=main)
# docker import cannot set STOPSIGNAL: whoever runs the image passes
# SIGRTMIN+3, which makes systemd shut down cleanly.
import_changes=('CMD ["/sbin/init"]' 'ENV container=docker')

# Units that cannot work (or only make noise) in a container; masked so that
# `systemctl is-system-running` reaches "running".
masked_units=(
  systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
  systemd-udev-trigger.service systemd-udev-settle.service
  systemd-remount-fs.service systemd-firstboot.service
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount
  sys-fs-fuse-connections.mount dev-hugepages.mount
  getty.target console-getty.service getty@tty1.service serial-getty@.service
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer
)

usage() { echo "usage: $0 11|12|13|sid|bullseye|bookworm|trixie|unstable|all ..." >&2; exit 2; }

# normalise RELEASE -> "number codename"
resolve() {
  case "$1" in
    11|bullseye) echo "11 bullseye" ;;
    12|bookworm) echo "12 bookworm" ;;
    13|trixie) echo "13 trixie" ;;
    sid|unstable) echo "sid sid" ;;
    *) usage ;;
  esac
}

# The hash covers what goes into an image (packages, debootstrap options, the
# rootfs set-up, the import changes) and the release: change any of it and the
# image is rebuilt; comments and the rest of the script do not count.
# (sid's own set-up counts only for sid: adding it rebuilt no release image.)
build_hash() {
  { declare -p packages debootstrap_opts masked_units import_changes
    declare -f configure_rootfs
    if [ "$1" = sid ]; then declare -p sid_import_changes; declare -f configure_sid; fi
    echo "$1"; } | sha256sum | cut -c1-16
}

log() { echo "[$(date +%T)] debian:$num: $*" >&2; }

build_one() {
  local num codename
  read -r num codename <<<"$(resolve "$1")"
  local tag="$repo:$num" hash
  hash="$(build_hash "$num")"

  # One build per release at a time, across work trees sharing this dockerd.
  exec 9>"/tmp/berth-molecule-debian-$num.lock"
  flock 9

  if [ "${FORCE:-0}" != 1 ] &&
     [ "$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$tag" 2>/dev/null)" = "$hash" ]; then
    log "up to date ($tag, $hash)"
    return 0
  fi

  local start=$SECONDS work rootfs
  work="$(mktemp -d "/tmp/berth-molecule-$num.XXXXXX")"
  rootfs="$work/rootfs"
  # debootstrap leaves /proc etc. mounted when it dies half-way: unmount first.
  # (Expanded now: the locals are gone when the EXIT trap runs.)
  # shellcheck disable=SC2064
  trap "umount -R $(printf %q "$rootfs")/{proc,sys,dev/pts} 2>/dev/null || true; rm -rf --one-file-system $(printf %q "$work")" EXIT
  trap 'exit 143' TERM  # (subshells do not inherit main's traps)
  trap 'exit 130' INT

  mkdir -p "$cache_root/$codename"
  local attempt
  for attempt in 1 2; do
    log "debootstrap $codename from $mirror (attempt $attempt)"
    if debootstrap "${debootstrap_opts[@]}" --include="$packages" \
          --cache-dir="$cache_root/$codename" \
          "$codename" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
      break
    fi
    tail -n 40 "$work/debootstrap.log" >&2
    tail -n 40 "$rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    if [ "$attempt" = 2 ]; then
      log "debootstrap failed"
      return 1
    fi
    # A mirror hiccup: start over (the .debs fetched so far stay cached).
    umount -R "$rootfs"/{proc,sys,dev/pts} 2>/dev/null || true
    rm -rf --one-file-system "$rootfs"
    sleep 5
  done
  log "debootstrap done after $((SECONDS - start))s; configuring"

  configure_rootfs "$rootfs" "$codename"
  if [ "$codename" = sid ]; then configure_sid "$rootfs"; fi

  log "importing as $tag"
  local changes=() c
  for c in "${import_changes[@]}"; do changes+=(--change "$c"); done
  if [ "$codename" = sid ]; then
    for c in "${sid_import_changes[@]}"; do changes+=(--change "$c"); done
  fi
  local old
  old="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  tar --numeric-owner --xattrs -C "$rootfs" \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' \
      -c . |
    docker import \
      "${changes[@]}" \
      --change "LABEL $label=$hash" \
      --change "LABEL io.berth.molecule.release=$num" \
      - "$tag" >/dev/null
  docker tag "$tag" "$repo:$codename"
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  log "built $tag in $((SECONDS - start))s"
}

configure_rootfs() {
  local r=$1 codename=$2
  local chroot=(chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C)

  # apt sources: the release with updates and security, as on a real host.
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  # Keep the image small, like a freshly installed host: no cached .debs,
  # no package lists (the first `apt-get update` is the roles' job).
  # Recommends off, as on many minimal and cloud images: the roles must name
  # every package they need (e.g. docker-cli, only recommended by trixie's
  # docker.io).
  cat >"$r/etc/apt/apt.conf.d/90berth-test-host" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Retries "3";
APT

  # Units that do not belong in a container.
  local u
  for u in "${masked_units[@]}"; do
    ln -sf /dev/null "$r/etc/systemd/system/$u"
  done

  # Every container gets its own machine-id (systemd writes one at boot) and
  # its own SSH host keys (generated before sshd starts).
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"
  rm -f "$r"/etc/ssh/ssh_host_*
  cat >"$r/etc/systemd/system/berth-ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys (Berth test host)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
  # Docker mounts /proc/sys read-only in containers it does not run
  # --privileged. The engine inside (DinD) must write per-network-namespace
  # sysctls (docker.io 26 fails to start containers when it cannot disable
  # IPv6 on their interfaces), and so does the prereqs role. Make only
  # /proc/sys/net writable: it is namespaced, so nothing leaks to the machine
  # running the tests; kernel.* and vm.* stay read-only (and
  # systemd-sysctl.service keeps skipping itself, as in any container).
  cat >"$r/etc/systemd/system/berth-proc-sys-net-rw.service" <<'UNIT'
[Unit]
Description=Make /proc/sys/net writable (Berth test host)
DefaultDependencies=no
Before=sysinit.target systemd-sysctl.service
ConditionPathIsReadWrite=!/proc/sys/net

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/mount --bind /proc/sys/net /proc/sys/net
ExecStart=/bin/mount -o remount,bind,rw /proc/sys/net

[Install]
WantedBy=sysinit.target
UNIT
  "${chroot[@]}" systemctl enable berth-ssh-hostkeys.service berth-proc-sys-net-rw.service ssh.service >/dev/null 2>&1
  # Root logs in with the key injected at create time (/root/.ssh/authorized_keys).
  install -d -m 0700 "$r/root/.ssh"
  printf 'UseDNS no\nPermitRootLogin prohibit-password\n' >"$r/etc/ssh/sshd_config.d/berth-test-host.conf" 2>/dev/null ||
    printf 'UseDNS no\nPermitRootLogin prohibit-password\n' >>"$r/etc/ssh/sshd_config"

  # Docker bind-mounts these; leave them empty in the image.
  : >"$r/etc/hostname"
  : >"$r/etc/resolv.conf"
  echo "# Berth test host: no fstab" >"$r/etc/fstab"

  "${chroot[@]}" apt-get clean
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/log/*.log \
         "$r"/var/log/apt/* "$r/debootstrap"
}

# sid starts through berth-init (configure_sid); the later CMD wins.
sid_import_changes=('CMD ["/usr/local/sbin/berth-init"]')

configure_sid() {
  local r=$1
  # One suite: no -updates, no -security (fixes land in sid itself). sid's
  # Release file is valid for a week only: a mirror snapshot older than that
  # (a CI cache, a frozen mirror) would stop apt, so its date is not checked.
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
Check-Valid-Until: no
SRC
  # systemd 258 and later run only on cgroup v2 (the unified hierarchy). On a
  # machine still on cgroup v1 or hybrid, Docker gives a container a tmpfs of
  # v1 hierarchies there; with a private cgroup namespace the container can
  # mount cgroup2 itself: the kernel shows it its own subtree. Read-only
  # cgroup2 (v2 machines, no --privileged) is made writable for systemd.
  cat >"$r/usr/local/sbin/berth-init" <<'INIT'
#!/bin/sh
# Berth test host: cgroup v2 at /sys/fs/cgroup, then systemd.
set -e
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
  grep ' /sys/fs/cgroup' /proc/self/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
elif [ ! -w /sys/fs/cgroup/cgroup.procs ]; then
  mount -o remount,rw /sys/fs/cgroup
fi
exec /sbin/init "$@"
INIT
  chmod 0755 "$r/usr/local/sbin/berth-init"
}

main() {
  [ $# -ge 1 ] || usage
  if [ "$1" = all ]; then set -- 11 12 13 sid; fi
  local r
  for r in "$@"; do resolve "$r" >/dev/null; done
  # Killed: still run the EXIT traps that unmount and remove the work dirs.
  trap 'exit 143' TERM
  trap 'exit 130' INT

  if [ $# -eq 1 ]; then
    build_one "$1"
    return
  fi
  # Several releases: one background build each; fail if any fails.
  local pids=() p rc=0
  for r in "$@"; do
    ( build_one "$r" ) &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}

# One compound command: bash parses it whole before running it, so editing
# this file while a build runs cannot derail the running build.
{ main "$@"; exit $?; }
