"""A tiny HTTP server on a unix socket that answers canned responses: a fake *daemon* for the
engine client's own unit tests (tests/unit/test_engine_client.py). The client's HTTP code runs for real.
It speaks HTTP/1.1 and keeps a connection open as dockerd does, unless the client asks to close it.
"""
from __future__ import annotations

import http.server
import json
import os
import socketserver
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list | None = None
    chunks: list | None = None  # sent one by one with a pause: a streamed reply
    content_type: str = "application/json"
    delay: float = 0.0
    close: bool = False  # say "Connection: close" and close (an exec start's hijacked stream ends so)
    drop: bool = False  # close the connection after the reply without saying so (an idle timeout's effect)

    def payload(self):
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body or b""


@dataclass
class Seen:
    method: str
    path: str  # as sent, escapes kept
    query: str
    body: bytes


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.connections += 1

    def log_message(self, *args):  # quiet
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        self.server.seen.append(Seen(self.command, parts.path, parts.query, body))
        reply = self.server.reply_for(self.command, parts.path)
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        if reply.close or reply.chunks is not None:  # a body that ends when the connection does
            self.send_header("Connection", "close")
            self.close_connection = True
        self.close_connection = self.close_connection or reply.drop
        if reply.chunks is None:
            payload = reply.payload()
            if not reply.close:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.end_headers()
        for chunk in reply.chunks:
            self.wfile.write(chunk)
            self.wfile.flush()
            time.sleep(0.01)

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _answer


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path, api_version):
        super().__init__(path, _Handler)
        self.seen = []
        self.connections = 0
        self.routes = {}
        self.api_version = api_version

    def reply_for(self, method, path):
        for (want_method, want_path), reply in self.routes.items():
            if want_method == method and (want_path == path or (want_path.endswith("*")
                                                                and path.startswith(want_path[:-1]))):
                return reply
        if path == "/version":
            return Reply(body={"ApiVersion": self.api_version, "Version": "99.0.0", "MinAPIVersion": "1.24"})
        return Reply(404, {"message": "no canned reply for %s %s" % (method, path)})


@dataclass
class FakeDaemon:
    socket_path: str
    server: _Server = field(repr=False)

    @property
    def docker_host(self):
        return "unix://" + self.socket_path

    @property
    def seen(self):
        return self.server.seen

    @property
    def connections(self):
        """How many connections clients opened so far."""
        return self.server.connections

    def route(self, method, path, reply):
        """Answer `method path` (a trailing * matches a prefix) with `reply` from now on."""
        self.server.routes[(method, path)] = reply

    def set_api_version(self, version):
        self.server.api_version = version


def start(directory, api_version="1.43"):
    path = os.path.join(str(directory), "docker.sock")
    server = _Server(path, api_version)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return FakeDaemon(path, server)


def stop(daemon):
    daemon.server.shutdown()
    daemon.server.server_close()
