#!/usr/bin/env bash
# Stop the test VM of RUN_DIR (tests/vm/start.sh) and remove its overlays;
# the console log stays for post-mortems. A no-op when nothing runs.
#   tests/vm/stop.sh RUN_DIR [--keep-disks]
set -euo pipefail
run_dir=${1:?usage: stop.sh RUN_DIR [--keep-disks]}
pidfile="$run_dir/qemu.pid"
if [ -f "$pidfile" ]; then
  pid="$(cat "$pidfile")"
  # Only a qemu we started: the pid file may be stale after a host reboot.
  if kill -0 "$pid" 2>/dev/null && grep -q qemu-system "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
fi
[ "${2:-}" = --keep-disks ] || rm -f "$run_dir/debian12.qcow2" "$run_dir/xfs-ftype0.qcow2" "$run_dir/ssh.port"
