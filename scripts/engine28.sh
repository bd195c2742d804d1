#!/usr/bin/env bash
# A second Docker engine, Debian sid's docker.io 28.5 (API 1.51) with the containerd image store,
# beside this machine's own dockerd, so the integration suite can run against both:
#
#   scripts/engine28.sh start    # build the sid root if missing, start dockerd 28, wait for /_ping
#   scripts/engine28.sh env      # prints: export DOCKER_HOST=unix:///run/berth-d28/docker.sock
#   scripts/engine28.sh host     # prints: unix:///run/berth-d28/docker.sock
#   scripts/engine28.sh stop     # stop it (containers die with it), unmount, remove the bridge
#   scripts/engine28.sh status   # exit 0 when it answers
#   scripts/engine28.sh build-root   # only build (or adopt) the sid root
#   scripts/engine28.sh enter CMD... # exec CMD in the sid root (private test daemons: BERTH_PRIVATE_ENGINE=28)
#
# Needs root on a Debian machine with network access to the Debian mirror (first run only). The
# engine runs in the sid root (pivot_root) inside its own mount namespace (the host's /sys, /dev,
# /tmp and this repository bound in, so cgroups and bind mounts from there work), on its own socket, data root, exec
# root and bridge (NEVER --bridge=none: a second dockerd started with it deletes the host's
# docker0). --iptables=false: sid's nft-based iptables must not rewrite the host daemon's rules;
# published ports go through docker-proxy. The host's netns is shared: ports are on 127.0.0.1.
set -euo pipefail

SID_DIR=/var/lib/berth-sid
SID_ROOT=$SID_DIR/root
SID_MIRROR=${BERTH_SID_MIRROR:-http://deb.debian.org/debian}
# The sid root's packages; the root is rebuilt when this list changes (its hash is the cache key).
SID_PACKAGES="docker.io,docker-cli,docker-compose,containerd,runc,iptables,ca-certificates,procps"

RUN=/run/berth-d28                 # socket, pidfile, exec root (bound to the same path inside)
DATA=/var/lib/berth-d28            # data root (same path inside)
SOCK=$RUN/docker.sock
LOG=/var/log/berth-d28.log
# Host directories the engine sees at the same path (bind mounts, build contexts, compose projects):
# /tmp and this repository; BERTH_ENGINE28_BINDS adds more (space-separated).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BINDS="/tmp $REPO_ROOT ${BERTH_ENGINE28_BINDS:-}"
BRIDGE=berth28br0
BRIDGE_CIDR=10.228.0.1/24

packages_hash() { echo "$SID_PACKAGES" | sha256sum | cut -c1-16; }
stamp() { echo "$SID_ROOT/.berth-packages"; }

ping_ok() { [ "$(curl -fsS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" = OK ]; }

# A root built by an earlier version of the package list, or half-built, is rebuilt.
root_current() {
  [ -x "$SID_ROOT/usr/sbin/dockerd" ] || return 1
  [ "$(cat "$(stamp)" 2>/dev/null)" = "$(packages_hash)" ] && return 0
  # A root built by hand with the same packages is adopted: every package installed.
  local p
  for p in ${SID_PACKAGES//,/ }; do
    # shellcheck disable=SC2016 # ${Status} is dpkg-query's format field, not a shell expansion
    chroot "$SID_ROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || return 1
  done
  packages_hash >"$(stamp)"
}

build_root() {
  root_current && return 0
  command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  echo "engine28: building the sid root in $SID_ROOT (debootstrap, a few minutes)"
  local tmp=$SID_ROOT.new
  rm -rf "$tmp"
  mkdir -p "$SID_DIR"
  debootstrap --variant=minbase --include="$SID_PACKAGES" sid "$tmp" "$SID_MIRROR" >"$SID_DIR/debootstrap.log" 2>&1 \
    || { tail -n 30 "$SID_DIR/debootstrap.log" >&2; exit 1; }
  packages_hash >"$tmp/.berth-packages"
  rm -rf "$SID_ROOT"
  mv "$tmp" "$SID_ROOT"
}

ensure_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip -br addr show dev "$BRIDGE" | grep -q "${BRIDGE_CIDR%/*}" || ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

write_config() {
  mkdir -p "$RUN" "$DATA" "$SID_ROOT$RUN" "$SID_ROOT$DATA"
  # The containerd image store (the default for fresh installs since 29; opt-in on 28).
  cat >"$RUN/daemon.json" <<'EOF'
{"features": {"containerd-snapshotter": true}, "log-level": "warn"}
EOF
}

start() {
  if ping_ok; then echo "engine28: already running on $SOCK"; return 0; fi
  build_root
  ensure_bridge
  write_config
  local pid; pid=$(cat "$RUN/docker.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && ! grep -qs dockerd "/proc/$pid/comm"; then rm -f "$RUN/docker.pid"; fi
  # The engine's run and data dirs are bound in at the same paths, like BINDS (enter, below).
  BERTH_ENGINE28_BINDS="${BERTH_ENGINE28_BINDS:-} $RUN $DATA" setsid nohup bash "${BASH_SOURCE[0]}" enter \
    dockerd -H "unix://$SOCK" --config-file "$RUN/daemon.json" --data-root "$DATA" \
      --exec-root "$RUN/exec" --pidfile "$RUN/docker.pid" --bridge "$BRIDGE" \
      --iptables=false --ip6tables=false >>"$LOG" 2>&1 </dev/null &
  for _ in $(seq 90); do
    if ping_ok; then echo "engine28: dockerd $(version) up on $SOCK"; return 0; fi
    sleep 1
  done
  echo "engine28: dockerd did not answer on $SOCK within 90 s; last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2
  return 1
}

# enter CMD...: exec CMD (e.g. dockerd) inside the sid root, in the calling process (its pid stays, so
# a caller such as tests/support/private_daemon.py can signal it; it also keeps the caller's network
# namespace). Own mount namespace: the root bound on itself (so it is a mount point), the host's /proc,
# /sys, /dev and BINDS bound in at the same paths, then pivot_root into it and the host's root
# detached. pivot_root, not chroot: runc exec joins a container's mount namespace and starts at that
# namespace's root, which under a chroot'ed engine is the HOST's / (docker exec landed in the host's
# file system). dockerd starts its own containerd, runc and docker-proxy from the root.
enter() {
  [ $# -gt 0 ] || { echo "usage: $0 enter CMD [ARG...]" >&2; exit 2; }
  root_current || { echo "engine28: no current sid root in $SID_ROOT (run: $0 start, or build-root)" >&2; exit 1; }
  # shellcheck disable=SC2016 # the script runs in the new namespace's shell, with its own arguments
  BINDS=$BINDS exec unshare -m --propagation private sh -c '
    set -e; R=$1; shift
    mount --bind "$R" "$R"
    mount -t proc proc "$R/proc"
    mount --rbind /sys "$R/sys"
    mount --rbind /dev "$R/dev"
    for dir in $BINDS; do mkdir -p "$R$dir"; mount --rbind "$dir" "$R$dir"; done
    mkdir -p "$R/.host-root"
    cd "$R"
    pivot_root . .host-root
    exec chroot . sh -c "umount -l /.host-root && exec \"\$@\"" engine28 "$@"' engine28 "$SID_ROOT" "$@"
}

version() { curl -fsS --unix-socket "$SOCK" http://localhost/version | python3 -c 'import json,sys; print(json.load(sys.stdin)["Version"])'; }

stop() {
  local pid; pid=$(cat "$RUN/docker.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && grep -qs dockerd "/proc/$pid/comm"; then
    kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # The mounts lived in the engine's own namespace: they went with it. The bridge did not.
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -f "$RUN/docker.pid" "$SOCK"
  echo "engine28: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export DOCKER_HOST=unix://$SOCK" ;;
  host) echo "unix://$SOCK" ;;
  status) ping_ok ;;
  build-root) build_root ;;
  enter) shift; enter "$@" ;;
  *) echo "usage: $0 start|stop|env|host|status|build-root|enter CMD..." >&2; exit 2 ;;
esac
