#!/usr/bin/env bash
# Make sure the packages the tests need are installed and a Docker daemon answers
# on /var/run/docker.sock. Idempotent: never restarts a daemon that already runs
# (other people may be using it).
set -euo pipefail
sock=/var/run/docker.sock
log=/var/log/dockerd.log

# docker.io: the engine; busybox-static: test images; docker-registry + apache2-utils
# (htpasswd): the local registry fixture; debootstrap: rootfs tests; curl: the ping below.
missing=()
for pkg in docker.io busybox-static docker-registry apache2-utils debootstrap curl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-dockerd: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

ping_ok() { [ "$(curl -fsS --max-time 3 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" = OK ]; }

if ping_ok; then
  exit 0
fi

echo "ensure-dockerd: no daemon on $sock, starting one"
if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then
  systemctl start docker
else
  # A pidfile left by a killed dockerd makes the new one refuse to start.
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  if [ -n "$pid" ] && ! grep -qs dockerd "/proc/$pid/comm"; then rm -f /var/run/docker.pid; fi
  # No init system to supervise it: detach dockerd from this shell so it outlives us.
  setsid nohup dockerd --pidfile /var/run/docker.pid >>"$log" 2>&1 </dev/null &
fi

for _ in $(seq 60); do
  ping_ok && { echo "ensure-dockerd: daemon is up"; exit 0; }
  sleep 1
done
echo "ensure-dockerd: daemon did not answer /_ping within 60 s; last lines of $log:" >&2
tail -n 40 "$log" >&2 || true
exit 1
