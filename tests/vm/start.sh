#!/usr/bin/env bash
# Start the test VM and wait until its sshd answers.
#
#   tests/vm/start.sh RUN_DIR IMAGE_DIR
#
# IMAGE_DIR is what tests/vm/build-image.sh printed. RUN_DIR gets copy-on-write
# overlays of both disks (the images stay pristine: every run starts from the
# same state), the serial console log (console.log), qemu's pid (qemu.pid) and
# the forwarded SSH port (ssh.port). The only way in is SSH on 127.0.0.1
# (qemu user-mode network with one forwarded port). Prints the port.
# The overlays are throwaway, so qemu may ignore the guest's flushes
# (cache=unsafe): dpkg's many fsyncs cost nothing. A virtio RNG gives the
# guest entropy at once.
# Environment:
#   BERTH_VM_BOOT_TIMEOUT  seconds to wait for sshd (default 600; TCG under load is slow)
#   BERTH_VM_MEMORY        MiB (default 2048)
#   BERTH_VM_CPUS          vCPUs (default 1: on a busy 2-core machine a second TCG vCPU
#                          spins on locks its descheduled sibling holds; a reboot
#                          with 2 was seen stuck for minutes in soft lockups)
#   BERTH_VM_CPU           qemu -cpu model (default max)
#   BERTH_VM_ACCEL         qemu -accel list, first that works wins (default tcg:
#                          a KVM guest was seen hanging after GRUB where /dev/kvm
#                          opened but nested virtualisation was incomplete; kvm,tcg to try)
set -euo pipefail
run_dir=${1:?usage: start.sh RUN_DIR IMAGE_DIR}
image_dir=${2:?usage: start.sh RUN_DIR IMAGE_DIR}
timeout_s=${BERTH_VM_BOOT_TIMEOUT:-600}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

mkdir -p "$run_dir"
run_dir="$(cd "$run_dir" && pwd)"
if [ -f "$run_dir/qemu.pid" ] && kill -0 "$(cat "$run_dir/qemu.pid")" 2>/dev/null; then
  echo "start.sh: a VM of $run_dir is already running (pid $(cat "$run_dir/qemu.pid"))" >&2
  exit 1
fi
for d in debian12 xfs-ftype0; do
  qemu-img create -q -f qcow2 -F qcow2 -b "$image_dir/$d.qcow2" "$run_dir/$d.qcow2"
done
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "$port" >"$run_dir/ssh.port"

accel=()
IFS=, read -ra accels <<<"${BERTH_VM_ACCEL:-tcg}"
for a in "${accels[@]}"; do
  case "$a" in
    kvm) [ -w /dev/kvm ] && accel+=(-accel kvm) ;;  # only when the device is usable
    tcg) accel+=(-accel "tcg,thread=multi") ;;      # one host thread per vCPU
    *) accel+=(-accel "$a") ;;
  esac
done

: >"$run_dir/console.log"
t0=$SECONDS
qemu-system-x86_64 \
  -name berth-vm "${accel[@]}" -cpu "${BERTH_VM_CPU:-max}" -smp "${BERTH_VM_CPUS:-1}" -m "${BERTH_VM_MEMORY:-2048}" \
  -drive "file=$run_dir/debian12.qcow2,if=virtio,format=qcow2,cache=unsafe" \
  -drive "file=$run_dir/xfs-ftype0.qcow2,if=virtio,format=qcow2,cache=unsafe" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 \
  -device virtio-rng-pci \
  -display none -monitor none -serial "file:$run_dir/console.log" \
  -daemonize -pidfile "$run_dir/qemu.pid"
echo "start.sh: qemu pid $(cat "$run_dir/qemu.pid") (${accel[*]}), console $run_dir/console.log, ssh port $port" >&2

fail() {
  echo "start.sh: $1; last lines of $run_dir/console.log:" >&2
  tail -n 40 "$run_dir/console.log" | sed 's/\r//; s/^/  | /' >&2
  "$here/stop.sh" "$run_dir" || true
  exit 1
}
# qemu accepts the forwarded connection at once; sshd's banner says the guest is up.
until timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 4 <&3" 2>/dev/null | grep -q SSH-; do
  kill -0 "$(cat "$run_dir/qemu.pid")" 2>/dev/null || fail "qemu exited"
  [ $((SECONDS - t0)) -lt "$timeout_s" ] || fail "no sshd after ${timeout_s}s"
  sleep 3
done
echo "start.sh: sshd answered after $((SECONDS - t0))s" >&2
echo "$port"
