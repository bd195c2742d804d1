#!/bin/sh
# Start, stop or restart dockerd on a host whose PID 1 is not systemd.
# Shipped by berth.engine.runtime and run through ansible.builtin.script.
#
# It works whether dockerd was started by /etc/init.d/docker or by hand (only
# /var/run/docker.pid then), and starts dockerd the way Debian's init script
# does when that script cannot run (for example its `ulimit -n 1048576` fails
# in a sandbox that caps the hard limit lower).
#
# Usage: berth-dockerd-sysv.sh start|stop|restart|status [timeout_seconds]
set -u
action="${1:-status}"
timeout="${2:-60}"

# Same names and overrides as Debian's /etc/init.d/docker.
BASE=docker
DOCKERD=/usr/sbin/dockerd
DOCKER_PIDFILE=/var/run/$BASE.pid
DOCKER_SSD_PIDFILE=/var/run/$BASE-ssd.pid
DOCKER_LOGFILE=/var/log/$BASE.log
DOCKER_OPTS=
INIT=/etc/init.d/$BASE
if [ -f /etc/default/$BASE ]; then
	# shellcheck disable=SC1090
	. /etc/default/$BASE
fi
if [ ! -x "$DOCKERD" ]; then
	DOCKERD=$(command -v dockerd) || { echo "dockerd not found" >&2; exit 1; }
fi

running_pid() {
	for f in "$DOCKER_PIDFILE" "$DOCKER_SSD_PIDFILE"; do
		p=$(cat "$f" 2>/dev/null) || continue
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

do_stop() {
	pid=$(running_pid) || { rm -f "$DOCKER_SSD_PIDFILE"; return 0; }
	kill -TERM "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $((timeout * 5)) ]; then
			echo "dockerd (pid $pid) did not stop within ${timeout}s" >&2
			return 1
		fi
		sleep 0.2
	done
	rm -f "$DOCKER_SSD_PIDFILE"
	echo "stopped dockerd (pid $pid)"
}

# A daemon that rejects its configuration exits within a second: watch the
# new process for a few seconds so that the caller need not wait for /_ping.
watch_start() {
	sleep 1
	i=0
	while [ "$i" -lt 8 ]; do
		if ! running_pid >/dev/null; then
			echo "dockerd exited right after starting; last lines of $DOCKER_LOGFILE:" >&2
			tail -n 5 "$DOCKER_LOGFILE" >&2 2>/dev/null
			return 1
		fi
		i=$((i + 1))
		sleep 0.5
	done
	return 0
}

do_start() {
	if pid=$(running_pid); then
		echo "dockerd already running (pid $pid)"
		return 0
	fi
	if [ -x "$INIT" ]; then
		if out=$("$INIT" start 2>&1 </dev/null); then
			echo "started with $INIT"
			watch_start
			return
		fi
		echo "$INIT start failed ($(echo "$out" | tail -n 1)); starting dockerd like it would" >&2
	fi
	touch "$DOCKER_LOGFILE"
	chgrp docker "$DOCKER_LOGFILE" 2>/dev/null || true
	# Debian's /bin/sh (dash) has ulimit -n and -H; elsewhere a failure is tolerated.
	# shellcheck disable=SC3045
	ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	if command -v start-stop-daemon >/dev/null 2>&1; then
		# shellcheck disable=SC2086
		start-stop-daemon --start --background --no-close \
			--exec "$DOCKERD" --pidfile "$DOCKER_SSD_PIDFILE" --make-pidfile \
			-- -p "$DOCKER_PIDFILE" $DOCKER_OPTS >>"$DOCKER_LOGFILE" 2>&1 </dev/null
	else
		# shellcheck disable=SC2086
		nohup "$DOCKERD" -p "$DOCKER_PIDFILE" $DOCKER_OPTS >>"$DOCKER_LOGFILE" 2>&1 </dev/null &
		echo $! >"$DOCKER_SSD_PIDFILE"
	fi
	echo "started $DOCKERD in the background (log: $DOCKER_LOGFILE)"
	watch_start
}

case "$action" in
	start) do_start ;;
	stop) do_stop ;;
	restart) do_stop && do_start ;;
	status)
		if pid=$(running_pid); then echo "running (pid $pid)"; else echo "stopped"; exit 3; fi
		;;
	*) echo "usage: $0 start|stop|restart|status [timeout]" >&2; exit 2 ;;
esac
