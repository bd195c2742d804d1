"""A private single-node swarm: its own dockerd in its own network namespace.

Swarm mode creates docker_gwbridge, the ingress sandbox and iptables chains; two swarm daemons in one
network namespace clash, and the shared host dockerd must never be touched. So each daemon gets:
a netns (berth-svc-<hex>) with lo and its own bridge (10.236.0.1/24, only inside that netns), its own
--data-root, --exec-root, --pidfile and unix socket under /tmp, and address pools in 10.237/10.238.
The unix socket is reachable from the host; published ports only from inside the netns (`in_netns`).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import docker

from tests.support.private_daemon import daemon_json, dockerd_argv

BRIDGE_CIDR = "10.236.0.1/24"
NODE_ADDRESS = "10.236.0.1"
SWARM_POOL = "10.237.0.0/16"
LOCAL_POOL = "base=10.238.0.0/16,size=24"


def _run(*cmd, check=True, **kwargs):
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kwargs)


def _remount_cgroups():
    """Shell commands that mount the host's cgroup hierarchies again (same types and options)."""
    commands = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        source, target, fstype, options = line.split()[:4]
        if target == "/sys/fs/cgroup":  # our own tmpfs to hold the mount points, writable whatever the host's is
            commands.append(f"mount -t tmpfs -o rw,mode=755 {source} {target} &&")
        elif target.startswith("/sys/fs/cgroup/"):
            commands.append(f"mkdir -p {target} && mount -t {fstype} -o {options} {source} {target} &&")
    return " ".join(commands)


class SwarmDaemon:
    """Start with start(), stop with stop() (idempotent; also after a failed start)."""

    def __init__(self):
        token = secrets.token_hex(3)
        self.netns = f"berth-svc-{token}"
        self.bridge = "brsvc0"  # inside the netns, so the fixed name cannot clash
        self.root = Path(tempfile.mkdtemp(prefix=f"berth-svc-{token}-", dir="/tmp"))
        self.socket = self.root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.process = None
        self.client = None
        self.node_address = NODE_ADDRESS
        self._log = None

    def in_netns(self, *cmd, **kwargs):
        """Run a command inside the daemon's network namespace (e.g. to reach a published port)."""
        return _run("ip", "netns", "exec", self.netns, *cmd, **kwargs)

    def start(self, images=()):
        _run("ip", "netns", "add", self.netns)
        self.in_netns("ip", "link", "set", "lo", "up")
        self.in_netns("ip", "link", "add", self.bridge, "type", "bridge")
        self.in_netns("ip", "addr", "add", BRIDGE_CIDR, "dev", self.bridge)
        self.in_netns("ip", "link", "set", self.bridge, "up")
        self._log = log = open(self.root / "dockerd.log", "w")  # noqa: SIM115 - dockerd writes it for its whole life
        # `ip netns exec` remounts /sys in a new mount namespace, which hides the cgroup mounts dockerd
        # needs; mount the same hierarchies again there before exec'ing dockerd.
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "sh", "-c", _remount_cgroups() + ' exec "$@"', "sh", *dockerd_argv([
             "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
             "--pidfile", str(self.root / "docker.pid"), "-H", self.host, "--bridge", self.bridge,
             "--default-address-pool", LOCAL_POOL, "--config-file", str(self._config()),
             "--userland-proxy=false"])],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.client = docker.DockerClient(base_url=self.host, timeout=120, version="1.41")
        self._wait_ready()
        self.client.swarm.init(advertise_addr=NODE_ADDRESS, listen_addr=f"{NODE_ADDRESS}:2377",
                               default_addr_pool=[SWARM_POOL], subnet_size=24)
        if images:
            self.load(images)
        return self

    def _config(self):
        path = self.root / "daemon.json"
        path.write_text(daemon_json())
        return path

    def _wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"private dockerd exited ({self.process.returncode}):\n{self.log()}")
            try:
                self.client.ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.3)
        raise RuntimeError(f"private dockerd did not answer within {timeout}s:\n{self.log()}")

    def load(self, images):
        """Copy images from the host daemon (no registry is reachable)."""
        save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        load = _run("docker", "-H", self.host, "load", stdin=save.stdout, check=False)
        save.stdout.close()
        if save.wait() != 0 or load.returncode != 0:
            raise RuntimeError(f"copying {images} into the private daemon failed: {load.stderr}")

    def log(self):
        try:
            return (self.root / "dockerd.log").read_text()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.client is not None:
            with contextlib.suppress(Exception):  # tearing down anyway
                self.client.swarm.leave(force=True)
            self.client.close()
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self._log is not None:
            self._log.close()
        _run("ip", "netns", "delete", self.netns, check=False)
        self._unmount_all()
        shutil.rmtree(self.root, ignore_errors=True)

    def _unmount_all(self):
        """Leftover mounts under the root (netns files, overlay layers) would block its removal."""
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        targets = [m.split()[1] for m in mounts if len(m.split()) > 1 and m.split()[1].startswith(str(self.root))]
        for target in sorted(targets, key=len, reverse=True):
            _run("umount", "-l", target, check=False)


def swarm_fixture(scope="module", images=None):
    """A pytest fixture (assign it in a test module) yielding a started SwarmDaemon with the test images
    (images: a function of the test_images fixture naming fewer, to load only those)."""
    import pytest

    @pytest.fixture(scope=scope)
    def swarm(test_images):
        daemon = SwarmDaemon()
        try:
            daemon.start(images=images(test_images) if images else [test_images.http_v1, test_images.http_v2,
                                                                    test_images.failing, test_images.busybox])
        except Exception as err:  # noqa: BLE001 - a test infrastructure failure, reported as such
            log = daemon.log()
            daemon.stop()
            pytest.fail(f"the private swarm daemon did not start: {err}\n{log}", pytrace=False)
        yield daemon
        daemon.stop()

    return swarm
