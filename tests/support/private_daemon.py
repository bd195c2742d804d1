"""Private dockerd instances for tests that must not touch the shared daemon (swarm mode above all).

Each daemon runs in its OWN network namespace (two swarm-mode daemons in one namespace clash over
docker_gwbridge and iptables chains), with its own bridge inside it, data root, exec root, pidfile and
unix socket under /tmp. The socket is reachable from the host; published ports only from inside the
namespace (`daemon.netns_run([...])`).

    with private_daemons(3, "swarm") as daemons:     # 3 daemons linked on 10.232.0.0/24
        daemons[0].docker_host                        # "unix:///tmp/bpd-.../docker.sock"
        daemons[0].client.swarm.init(advertise_addr=daemons[0].address)

Several daemons are linked by veth pairs to one bridge in a separate "link" namespace; daemon i has
10.232.0.(11+i)/24 on its `eth0`. Teardown (also on failure) kills the daemons and the processes they
started, unmounts what they mounted, deletes the namespaces and the directories.

Which dockerd: the host's (Docker 20.10 here) by default; with BERTH_PRIVATE_ENGINE=28 the one in the
Debian sid root of scripts/engine28.sh (Docker 28.5, containerd 2), run through `engine28.sh enter`
(own mount namespace, pivot_root) and with the containerd image store, like the shared 28 engine.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import docker

LINK_SUBNET = "10.232.0"  # the daemons' interconnect: .1 unused, daemon i at .(11+i)
DOCKER_BRIDGE_CIDR = "10.231.0.1/24"  # each daemon's docker0-like bridge, inside its own namespace
DOCKER_BRIDGE = "berthswbr0"
START_TIMEOUT = 60
ENGINE28_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "engine28.sh"


def engine28_selected() -> bool:
    """BERTH_PRIVATE_ENGINE=28: private daemons run sid's dockerd 28.5 instead of the host's."""
    return os.environ.get("BERTH_PRIVATE_ENGINE", "") == "28"


def dockerd_argv(args: list[str]) -> list[str]:
    """The command that runs `dockerd args...` from the selected engine, in the caller's process (same pid)."""
    if engine28_selected():
        return ["bash", str(ENGINE28_SCRIPT), "enter", "dockerd", *args]
    return ["dockerd", *args]


def daemon_json() -> str:
    """A private daemon's own daemon.json (the host's may set live-restore, which swarm mode refuses)."""
    if engine28_selected():
        return '{"features": {"containerd-snapshotter": true}}\n'
    return "{}\n"


def _ip(*args, netns=None):
    cmd = ["ip", "netns", "exec", netns, "ip", *args] if netns else ["ip", *args]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


class PrivateDaemon:
    """One dockerd in its own network namespace; start() / stop(), docker_host and a Docker SDK client."""

    def __init__(self, label: str, address: str | None = None):
        token = secrets.token_hex(3)
        self.label = label
        self.netns = f"berth-{label}-{token}"
        # Short: the unix socket and containerd's socket under exec-root must fit in 108 bytes.
        self.root = Path(f"/tmp/bpd-{token}")
        self.socket = self.root / "docker.sock"
        self.docker_host = f"unix://{self.socket}"
        self.address = address  # the interconnect address (None for a lone daemon)
        self.process: subprocess.Popen | None = None
        self._client: docker.DockerClient | None = None
        self.extra_args: list[str] = []  # more dockerd flags, e.g. a TLS listener (set before launch())

    @property
    def log_path(self) -> Path:
        return self.root / "dockerd.log"

    def start(self) -> PrivateDaemon:
        self.root.mkdir(parents=True)
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        _ip("link", "set", "lo", "up", netns=self.netns)
        _ip("link", "add", DOCKER_BRIDGE, "type", "bridge", netns=self.netns)
        _ip("addr", "add", DOCKER_BRIDGE_CIDR, "dev", DOCKER_BRIDGE, netns=self.netns)
        _ip("link", "set", DOCKER_BRIDGE, "up", netns=self.netns)
        return self

    def launch(self) -> None:
        """Start dockerd (after start() and any links are in place) and wait until it answers."""
        config = self.root / "daemon.json"
        config.write_text(daemon_json())
        # nsenter, not `ip netns exec`: that also makes a mount namespace with a fresh /sys, which hides
        # the cgroup (v1) mounts dockerd needs.
        cmd = ["nsenter", f"--net=/run/netns/{self.netns}", *dockerd_argv([
               "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
               "--pidfile", str(self.root / "docker.pid"), "-H", self.docker_host,
               "--config-file", str(config),
               "--bridge", DOCKER_BRIDGE, "--cgroup-parent", f"/{self.netns}",
               "--log-level", "warn", *self.extra_args])]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"private dockerd {self.netns} exited: {self.log_tail()}")
            with contextlib.suppress(Exception):
                if self.client.ping():
                    return
            time.sleep(0.2)
        raise RuntimeError(f"private dockerd {self.netns} did not answer in {START_TIMEOUT}s: {self.log_tail()}")

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker.DockerClient(base_url=self.docker_host, timeout=120)
        return self._client

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return "(no log)"

    def netns_run(self, argv: list[str], timeout: int = 30) -> subprocess.CompletedProcess:
        """Run a command inside this daemon's network namespace (e.g. to reach a published port)."""
        return subprocess.run(["ip", "netns", "exec", self.netns, *argv], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def load_image(self, ref: str, source: docker.DockerClient) -> None:
        """Copy an image from another daemon (the shared one) into this one."""
        # By the reference, not save(named=True): that names the image by its first tag, which under the
        # containerd store may be any other name the image has there (it then arrives under that name).
        data = b"".join(source.api.get_image(ref))
        self.client.images.load(data)

    def restart(self) -> None:
        """Stop dockerd and start it again on the same data (e.g. to see a swarm autolock)."""
        self._terminate()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        self.launch()

    def halt(self) -> None:
        """Kill dockerd and what it started, as a host that dies: its data stays, launch() brings it back."""
        pid = self._daemon_pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if self.process is not None and self.process.pid == pid:
                self.process.wait(timeout=20)
        self._kill_leftovers()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def rebuild(self) -> None:
        """The same host (name, address) reinstalled: dockerd starts again on empty data."""
        self.halt()
        self._unmount_all()
        for part in ("data", "exec", "docker.pid"):
            path = self.root / part
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self.launch()

    def _terminate(self) -> None:
        pid = self._daemon_pid()
        if not pid:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if self.process is not None and self.process.pid == pid:
            try:  # our child: wait() reaps it (a zombie would still answer kill(pid, 0))
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        else:
            self._wait_gone(pid, 20)

    def stop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        self._terminate()
        self._kill_leftovers()
        self._unmount_all()
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _daemon_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.root / "docker.pid").read_text().strip())
        # nsenter execs dockerd (through engine28.sh's execs for 28), so the Popen pid is the daemon's.
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    @staticmethod
    def _wait_gone(pid: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def _kill_leftovers(self) -> None:
        """containerd, shims and containers this daemon started: every process still in its namespace."""
        result = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True, check=False)
        marker = str(self.root).encode()
        pids = {int(p) for p in result.stdout.split() if p.strip().isdigit()}
        for proc in Path("/proc").iterdir():  # shims sit in the host namespace; they name our exec root
            if proc.name.isdigit():
                with contextlib.suppress(OSError):
                    if marker in (proc / "cmdline").read_bytes():
                        pids.add(int(proc.name))
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.3 if pids else 0)

    def _unmount_all(self) -> None:
        with open("/proc/mounts") as mounts:
            points = [line.split()[1] for line in mounts if line.split()[1].startswith(str(self.root))]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _link(daemons: list[PrivateDaemon], label: str) -> str:
    """A bridge in its own namespace with a veth to each daemon; returns the link namespace."""
    link_ns = f"berth-{label}-lk-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", link_ns], check=True, capture_output=True)
    _ip("link", "set", "lo", "up", netns=link_ns)
    _ip("link", "add", "br0", "type", "bridge", netns=link_ns)
    _ip("link", "set", "br0", "up", netns=link_ns)
    for index, daemon in enumerate(daemons):
        outside = f"bsw{index}"
        _ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", daemon.netns, netns=link_ns)
        _ip("link", "set", outside, "master", "br0", netns=link_ns)
        _ip("link", "set", outside, "up", netns=link_ns)
        _ip("addr", "add", f"{daemon.address}/24", "dev", "eth0", netns=daemon.netns)
        _ip("link", "set", "eth0", "up", netns=daemon.netns)
        # A default route so the daemon has an "external" interface to pick when advertising.
        _ip("route", "add", "default", "via", f"{LINK_SUBNET}.1", "dev", "eth0", netns=daemon.netns)
    return link_ns


@contextlib.contextmanager
def private_daemons(count: int = 1, label: str = "pd"):
    """`count` private daemons (linked on 10.232.0.0/24 when more than one); all torn down on exit."""
    daemons: list[PrivateDaemon] = []
    link_ns = None
    try:
        for index in range(count):
            address = f"{LINK_SUBNET}.{11 + index}"
            daemons.append(PrivateDaemon(label, address).start())
        link_ns = _link(daemons, label)
        for daemon in daemons:
            daemon.launch()
        yield daemons
    finally:
        for daemon in daemons:
            daemon.stop()
        if link_ns:
            subprocess.run(["ip", "netns", "delete", link_ns], capture_output=True, check=False)
