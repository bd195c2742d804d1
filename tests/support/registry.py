"""A throw-away Docker registry (Debian's docker-registry) with htpasswd auth on 127.0.0.1."""
from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_BIN = "/usr/bin/docker-registry"

CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}/data
  delete:
    enabled: true
http:
  addr: {host}
auth:
  htpasswd:
    realm: berth-test
    path: {root}/htpasswd
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def v2_status(url: str, auth: tuple[str, str] | None = None) -> int:
    """HTTP status of GET url (optionally with basic auth); 0 when nothing answers."""
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=3) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@dataclass
class LocalRegistry:
    host: str  # "127.0.0.1:PORT" — dockerd treats 127.0.0.0/8 as insecure, so plain http works
    username: str
    password: str
    root: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def auth_config(self) -> dict:
        """For docker SDK push/pull: client.images.push(repo, auth_config=reg.auth_config)."""
        return {"username": self.username, "password": self.password, "serveraddress": self.host}

    def ref(self, repository: str, tag: str = "latest") -> str:
        return f"{self.host}/{repository}:{tag}"

    def push(self, client, source: str, repository: str, tag: str = "latest") -> str:
        """Push local image `source` as HOST/repository:tag; the temporary local tag is removed again."""
        target = self.ref(repository, tag)
        client.images.get(source).tag(f"{self.host}/{repository}", tag)
        try:
            for line in client.api.push(f"{self.host}/{repository}", tag, auth_config=self.auth_config,
                                        stream=True, decode=True):
                if "error" in line:
                    raise RuntimeError(f"push {target} failed: {line['error']}")
        finally:
            client.api.remove_image(target, noprune=True)
        return target

    def log(self) -> str:
        return (self.root / "registry.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _netns_status(netns: str, url: str) -> int:
    """v2_status seen from inside a network namespace (a private daemon's, whose loopback is its own)."""
    proc = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                           "--max-time", "3", url], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          check=False)
    return int(proc.stdout or 0) if proc.stdout.isdigit() else 0


def start_registry(username: str = "berth", password: str = "berth-secret", attempts: int = 3,
                   netns: str | None = None) -> LocalRegistry:
    """Start a registry on a free loopback port and wait until /v2/ asks for auth (401).

    netns: run it in that network namespace instead, on its loopback (where only that namespace's daemon
    reaches it, as a private swarm daemon pulls).
    """
    root = Path(tempfile.mkdtemp(prefix="berth-registry-"))
    htpasswd = subprocess.run(["htpasswd", "-Bbn", username, password], check=True, capture_output=True, text=True)
    (root / "htpasswd").write_text(htpasswd.stdout)
    last = ""
    for _unused in range(attempts):  # the free port can be taken between probe and bind: retry
        host = f"127.0.0.1:{_free_port()}"
        (root / "config.yml").write_text(CONFIG.format(root=root, host=host))
        with open(root / "registry.log", "w") as logf:
            launcher = ["ip", "netns", "exec", netns] if netns else []
            proc = subprocess.Popen([*launcher, REGISTRY_BIN, "serve", str(root / "config.yml")], stdout=logf,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        reg = LocalRegistry(host=host, username=username, password=password, root=root, process=proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            status = _netns_status(netns, f"{reg.url}/v2/") if netns else v2_status(f"{reg.url}/v2/")
            if status == 401:
                return reg
            time.sleep(0.2)
        last = reg.log()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"docker-registry did not come up on 127.0.0.1; last log:\n{last}")
