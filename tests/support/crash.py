"""Crash a private dockerd (tests/support/private_daemon.py) the hard way and bring it back.

`crash(daemon)` SIGKILLs dockerd and the containerd it manages (no shutdown, no state saved: what
a power cut or an OOM kill does to them); the containerd shims and containers may survive, as they
do on a real host. `revive(daemon)` starts dockerd again on the same data root and waits for it.
`crash_during(daemon, run, event, nth)` calls run() and crashes the daemon once its event stream has
shown the nth container `event` (create, start, rename ...), so the kill lands at the same step of the
run on a fast or a loaded machine alike.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.support.private_daemon import PrivateDaemon


def _daemon_processes(daemon: PrivateDaemon) -> list[int]:
    """dockerd and its containerd: the processes whose command line names this daemon's roots.

    Shims name the exec root too, so they are left out by their program name.
    """
    marker = str(daemon.root).encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            program = os.path.basename(argv[0])
            if marker in b" ".join(argv) and program in (b"dockerd", b"containerd"):
                pids.append(int(proc.name))
    return pids


def crash(daemon: PrivateDaemon) -> list[int]:
    """SIGKILL dockerd and its containerd at once; returns the killed pids (empty if none ran)."""
    pids = _daemon_processes(daemon)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if daemon.process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.process.wait(timeout=10)  # reap dockerd (our child), or kill(pid, 0) sees a zombie
    deadline = time.monotonic() + 10
    while _daemon_processes(daemon) and time.monotonic() < deadline:
        time.sleep(0.1)
    # The orphaned containerd may stay a zombie (PID 1 of a test sandbox need not reap): dockerd would
    # take the pid in containerd's pidfile for a live containerd and wait on a socket nobody serves.
    with contextlib.suppress(FileNotFoundError):
        (daemon.root / "exec" / "containerd" / "containerd.pid").unlink()
    return pids


def revive(daemon: PrivateDaemon) -> None:
    """Start dockerd again on the same data (after crash()) and wait until it answers."""
    if daemon._client is not None:
        with contextlib.suppress(Exception):
            daemon._client.close()
        daemon._client = None
    daemon.launch()


def crash_during(daemon: PrivateDaemon, run, event: str, nth: int, timeout: float = 180) -> dict:
    """Call run() in a thread, crash() the daemon after its `nth` container `event`; returns run()'s result."""
    seen = threading.Event()
    stream = daemon.client.events(decode=True, filters={"type": "container", "event": event})

    def watch():
        for count, _unused in enumerate(stream, start=1):
            if count >= nth:
                seen.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(result=run()))
    runner.start()
    assert seen.wait(timeout), "the run never reached the %dth %s: %s" % (nth, event, outcome)
    killed = crash(daemon)
    stream.close()
    runner.join(timeout)
    assert killed, "no dockerd/containerd was running to kill"
    return outcome["result"]
