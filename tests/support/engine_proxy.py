"""A unix-socket proxy in front of the real dockerd that lets a test act at a chosen moment of a run.

A module pointed at the proxy (docker_host: proxy.docker_host) talks to the real engine through it. A
hook names one kind of request (method and a regular expression on the path, API version prefix
stripped) and what to do around it, in the test process, with the Docker SDK:

- before(...): runs before the request reaches the engine, so the engine answers it in the world the
  hook made (another client created the same container name between Berth's read and its create);
- after(...): runs once the engine has answered, before the module gets the answer (the other client
  removed its container again before Berth could look).

Nothing in Berth knows about the proxy: the race it stages is a real one on the real engine, only its
timing is fixed. Each connection carries one request (the proxy asks the engine to close after it, as
urllib's own requests do), so every request is seen.

    with EngineProxy() as proxy:
        proxy.before("POST", r"/containers/create", lambda: client.containers.create(...), times=1)
        run_module(..., {"docker_host": proxy.docker_host})
        proxy.requests   # [("GET", "/containers/web/json"), ("POST", "/containers/create?name=web"), ...]
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

# The engine the suite targets (DOCKER_HOST, as the SDK observer and Berth read it).
UPSTREAM = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
VERSION_PREFIX = re.compile(r"^/v\d+(\.\d+)?(?=/)")


@dataclass
class Hook:
    method: str
    path: re.Pattern
    action: object
    when: str  # "before" or "after"
    times: int
    fired: int = 0

    def matches(self, method, path):
        return self.fired < self.times and method == self.method and self.path.search(path) is not None


class EngineProxy:
    def __init__(self, upstream=UPSTREAM):
        self.upstream = upstream
        self._dir = tempfile.TemporaryDirectory(prefix="berth-proxy-")
        self.path = str(Path(self._dir.name) / "engine.sock")
        self.docker_host = "unix://" + self.path
        self.requests = []  # (method, path without the API version prefix), in arrival order
        self.errors = []  # exceptions raised by hooks, re-raised by stop()
        self._hooks = []
        self._lock = threading.Lock()
        self._listener = None
        self._stopping = threading.Event()
        self._threads = []

    # --- hooks -------------------------------------------------------------------------------------

    def before(self, method, path_pattern, action, times=1):
        self._hooks.append(Hook(method, re.compile(path_pattern), action, "before", times))

    def after(self, method, path_pattern, action, times=1):
        self._hooks.append(Hook(method, re.compile(path_pattern), action, "after", times))

    def count(self, method, path_pattern):
        return sum(1 for m, p in self.requests if m == method and re.search(path_pattern, p))

    # --- life cycle --------------------------------------------------------------------------------

    def __enter__(self):
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(16)
        self._listener.settimeout(0.2)  # accept() wakes up to see stop(): closing alone does not wake it
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=30)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._dir.cleanup()
        if self.errors:
            raise AssertionError("a proxy hook failed: %r" % self.errors[0]) from self.errors[0]

    # --- one connection ----------------------------------------------------------------------------

    def _accept(self):
        while not self._stopping.is_set():
            try:
                client, _unused = self._listener.accept()
            except socket.timeout:
                continue
            client.settimeout(None)
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            with self._lock:
                self._threads.append(thread)

    def _serve(self, client):
        upstream = None
        try:
            head, rest = _read_head(client)
            if head is None:
                return
            method, path = _request_line(head)
            with self._lock:
                self.requests.append((method, path))
            self._fire("before", method, path)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.upstream)
            upstream.sendall(_one_request_only(head) + rest)
            pump = threading.Thread(target=_copy, args=(client, upstream), daemon=True)
            pump.start()
            if any(h.when == "after" and h.matches(method, path) for h in self._hooks):
                answer = _read_all(upstream)  # held back until the hook has run
                self._fire("after", method, path)
                client.sendall(answer)
            else:
                _copy(upstream, client)
        except Exception as err:  # noqa: BLE001 - reported by stop(), the test's thread
            self.errors.append(err)
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    _close(sock)

    def _fire(self, when, method, path):
        with self._lock:
            hooks = [h for h in self._hooks if h.when == when and h.matches(method, path)]
            for hook in hooks:
                hook.fired += 1
        for hook in hooks:
            hook.action()


def _read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", rest


def _request_line(head):
    method, target = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
    return method, VERSION_PREFIX.sub("", target)


def _one_request_only(head):
    """The head with `Connection: close`, so that the engine answers this one request and closes."""
    lines = [line for line in head.split(b"\r\n") if line and not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines + [b"Connection: close", b"", b""])


def _read_all(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _copy(source, target):
    """Bytes from source to target until source closes; then target's write side is closed too."""
    with contextlib.suppress(OSError):
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            target.sendall(chunk)
        target.shutdown(socket.SHUT_WR)


def _close(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes the pump thread blocked reading it
    sock.close()
