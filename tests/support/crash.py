"""Crash a private dockerd (tests/support/private_daemon.py) the hard way and bring it back.

`crash(daemon)` SIGKILLs dockerd and the containerd it manages (no shutdown, no state saved: what
a power cut or an OOM kill does to them); the containerd shims and containers may survive, as they
do on a real host. `revive(daemon)` starts dockerd again on the same data root and waits for it.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
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
