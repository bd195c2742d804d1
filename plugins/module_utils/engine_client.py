# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place in berth.engine that speaks HTTP to the Docker Engine.

Built on ansible.module_utils.urls so managed nodes need nothing but Python:
it handles unix sockets, TCP and TLS client certificates for us. A client made with keep_alive
(the connection plugin's) speaks over one kept http.client connection instead, and never imports
ansible.module_utils.urls unless it needs TLS: that import costs a forked task worker ~30 ms.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

DEFAULT_HOST = "unix:///var/run/docker.sock"
_TRUE_WORDS = ("1", "true", "yes", "on", "y", "t")
MIN_API_VERSION = "1.41"
# Newest API this client is written against; a newer daemon is spoken to at this level.
MAX_API_VERSION = "1.51"


class EngineError(Exception):
    """An engine call failed; the message is meant for the user as it is."""

    def __init__(self, message, status=None, daemon_message=None):
        super().__init__(message)
        self.status = status
        self.daemon_message = daemon_message


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    pass


_API_VERSION_RE = re.compile(r"^[0-9]{1,3}\.[0-9]{1,3}$")
# The daemon's 400 for a version it does not speak: "client version 1.41 is too old. Minimum supported ..."
_VERSION_REFUSED_RE = re.compile(r"client version \S+ is too (new|old)", re.IGNORECASE)
# A kept connection the daemon closed while idle fails its next request with one of these: send it again.
_STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def version_tuple(version):
    """'1.43' -> (1, 43); ValueError naming api_version for anything else."""
    if not _API_VERSION_RE.match(str(version)):
        raise ValueError("api_version must be auto or an API version such as 1.43, got %r" % (version,))
    return tuple(int(part) for part in str(version).split("."))


def quote_path(value):
    return quote(str(value), safe="")


# The API's collection for each object kind, and the suffix its inspect endpoint takes.
COLLECTIONS = {
    "container": ("containers", "/json"),
    "image": ("images", "/json"),
    "network": ("networks", ""),
    "volume": ("volumes", ""),
    "service": ("services", ""),
    "task": ("tasks", ""),
    "node": ("nodes", ""),
    "secret": ("secrets", ""),
    "config": ("configs", ""),
}


def endpoint(*parts):
    """The one way an endpoint path is built: every part escaped, so a name can never add a segment.

    endpoint("containers", name, "start") -> "/containers/<name escaped>/start"
    """
    if not parts:
        raise ValueError("endpoint needs at least one part")
    return "".join("/" + quote_path(part) for part in parts)


def _collection_entry(kind):
    try:
        return COLLECTIONS[kind]
    except (KeyError, TypeError):
        raise ValueError("unknown engine object kind %r (known: %s)" % (kind, ", ".join(sorted(COLLECTIONS)))) from None


def collection(kind):
    return _collection_entry(kind)[0]


# --- settings from the environment --------------------------------------------------------------

def _env_flag(environ, name):
    value = environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip().lower() in _TRUE_WORDS


def _cert_path_file(environ, filename):
    """A file of the Docker CLI's DOCKER_CERT_PATH directory (ca.pem, cert.pem, key.pem), when there."""
    directory = environ.get("DOCKER_CERT_PATH")
    if not directory:
        return None
    path = os.path.join(os.path.expanduser(directory), filename)
    return path if os.path.isfile(path) else None


def environment_settings(environ=None):
    """Connection settings the environment gives, by option name (only those it gives).

    Berth's own variables first (DOCKER_HOST, DOCKER_TLS, DOCKER_CA_PATH, DOCKER_CLIENT_CERT,
    DOCKER_CLIENT_KEY), then the Docker CLI's: DOCKER_TLS_VERIFY turns tls on, and DOCKER_CERT_PATH
    supplies ca.pem, cert.pem and key.pem. Task options and plugin variables come before all of these.
    """
    environ = os.environ if environ is None else environ
    found = {
        "docker_host": environ.get("DOCKER_HOST") or None,
        "tls": _env_flag(environ, "DOCKER_TLS"),
        "ca_path": environ.get("DOCKER_CA_PATH") or _cert_path_file(environ, "ca.pem"),
        "client_cert": environ.get("DOCKER_CLIENT_CERT") or _cert_path_file(environ, "cert.pem"),
        "client_key": environ.get("DOCKER_CLIENT_KEY") or _cert_path_file(environ, "key.pem"),
    }
    if found["tls"] is None and _env_flag(environ, "DOCKER_TLS_VERIFY"):
        found["tls"] = True
    return {name: value for name, value in found.items() if value is not None}


def resolve_settings(given, environ=None):
    """Connection settings: what is given (not None), else the environment, else the defaults."""
    settings = {"docker_host": DEFAULT_HOST, "tls": False, "ca_path": None, "client_cert": None,
                "client_key": None, "validate_certs": True, "timeout": 60, "api_version": "auto"}
    settings.update(environment_settings(environ))
    settings.update({name: value for name, value in given.items() if value is not None})
    return settings


class EngineClient:
    """A small Docker Engine API client: JSON requests, streamed replies, clear errors."""

    def __init__(self, docker_host=None, tls=False, ca_path=None, client_cert=None, client_key=None,
                 validate_certs=True, timeout=60, api_version=None, keep_alive=False):
        self.docker_host = docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 86400:
            raise EngineError("timeout must be a number of seconds from 1 to 86400, got %r" % (timeout,))
        if api_version not in (None, "auto"):
            try:
                version_tuple(api_version)
            except ValueError as err:
                raise EngineError(str(err)) from None
        self.timeout = timeout
        self._unix_socket = None
        self._base_url = self._base_url_for(self.docker_host, tls)
        self._ssl_context = self._tls_context(ca_path, client_cert, client_key, validate_certs)
        self._kept = _KeptConnection(self) if keep_alive else None
        self._request = None if keep_alive else self._urls_request(ca_path, client_cert, client_key, validate_certs)
        self.requested_api_version = api_version
        self._api_version = None
        self._version_assumed = False
        self.calls = 0  # counted for benchmarks and tests of call budgets

    def _urls_request(self, ca_path, client_cert, client_key, validate_certs):
        from ansible.module_utils.urls import Request

        # Left to itself, Request.open builds a TLS context per call, loading the system CA store each
        # time (about as slow as the API call itself), even for plain HTTP: give it one.
        context = self._ssl_context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return Request(context=context, timeout=self.timeout, validate_certs=validate_certs,
                       client_cert=client_cert, client_key=client_key, ca_path=ca_path,
                       unix_socket=self._unix_socket, use_proxy=False, follow_redirects="none")

    def _tls_context(self, ca_path, client_cert, client_key, validate_certs):
        """The TLS context of an https engine, built once per client; None for plain HTTP and unix sockets."""
        if not self._base_url.startswith("https://"):
            return None
        from ansible.module_utils.urls import make_context

        return make_context(cafile=ca_path, validate_certs=validate_certs, client_cert=client_cert,
                            client_key=client_key)

    def close(self):
        """Close the kept connection, if any (a later call opens a new one)."""
        if self._kept is not None:
            self._kept.close()

    def _base_url_for(self, host, tls):
        if host.startswith("unix://"):
            self._unix_socket = host[len("unix://"):]
            return "http://localhost"
        for prefix in ("tcp://", "http://", "https://"):
            if host.startswith(prefix):
                scheme = "https" if tls or prefix == "https://" else "http"
                return "%s://%s" % (scheme, host[len(prefix):].rstrip("/"))
        raise EngineError(
            "docker_host %r is not understood: use unix:///path/to/docker.sock or tcp://host:port" % host)

    @property
    def is_local(self):
        """Whether the engine answers on a unix socket of this host (its paths, e.g. a volume's, are ours)."""
        return self._unix_socket is not None

    # --- API version ---------------------------------------------------------------------

    @property
    def api_version(self):
        if self._api_version is None:
            self._api_version = self._negotiate_version()
        return self._api_version

    def assume_api_version(self):
        """Speak the requested API version (MIN_API_VERSION for auto) without asking GET /version first.

        One call less for a caller whose endpoints read the same in every version Berth supports (the
        connection plugin: exec and archive). An engine that refuses the version gets the usual
        negotiation (and its clear errors), then the call again.
        """
        wanted = self.requested_api_version
        wanted = wanted if wanted and wanted != "auto" else MIN_API_VERSION
        _check_not_below_minimum(wanted)
        self._api_version = wanted
        self._version_assumed = True

    def _negotiate_version(self):
        info = self._call("GET", "/version", versioned=False)
        server = info.get("ApiVersion", "0.0")
        wanted = self.requested_api_version
        if wanted and wanted != "auto":
            _check_not_below_minimum(wanted)
            if version_tuple(wanted) > version_tuple(server):
                raise EngineError("api_version %s was requested but the engine at %s only speaks up to %s"
                                  % (wanted, self.docker_host, server))
            return wanted
        if version_tuple(server) < version_tuple(MIN_API_VERSION):
            raise EngineError(
                "the engine at %s speaks API %s (Docker %s); Berth needs API %s or newer (Docker 20.10+). "
                "Upgrade the engine, e.g. with the berth.engine.runtime role."
                % (self.docker_host, server, info.get("Version", "?"), MIN_API_VERSION))
        if version_tuple(server) > version_tuple(MAX_API_VERSION):
            return MAX_API_VERSION
        return server

    # --- HTTP ----------------------------------------------------------------------------

    def _url(self, path, params, versioned, base=None):
        url = self._base_url if base is None else base
        if versioned:
            url += "/v" + self.api_version
        url += path
        if params:
            clean = {}
            for key, value in params.items():
                if value is None:
                    continue
                if isinstance(value, bool):
                    value = "1" if value else "0"
                elif isinstance(value, (dict, list)):
                    value = json.dumps(value)
                clean[key] = value
            if clean:
                url += "?" + urlencode(clean)
        return url

    def _open(self, method, path, params=None, body=None, headers=None, versioned=True, timeout=None,
              raw_body=False):
        send_headers = {"Content-Type": "application/json"}
        if headers:
            send_headers.update(headers)
        data = body
        if body is not None and not raw_body:
            data = json.dumps(body).encode("utf-8")
        start = data.tell() if hasattr(data, "seek") else None
        try:
            return self._send(method, path, params, data, send_headers, versioned, timeout or self.timeout)
        except EngineError as err:
            if not (versioned and self._version_assumed and err.status == 400
                    and _VERSION_REFUSED_RE.search(err.daemon_message or "")):
                raise
        # The assumed API version was refused: negotiate one (or fail clearly), then send the call again.
        self._api_version, self._version_assumed = None, False
        if start is not None:
            data.seek(start)
        return self._send(method, path, params, data, send_headers, versioned, timeout or self.timeout)

    def _send(self, method, path, params, data, headers, versioned, timeout):
        self.calls += 1
        if self._kept is not None:
            target = self._url(path, params, versioned, base="")
            return self._kept.request(method, path, target, data, headers, timeout)
        try:
            return self._request.open(method, self._url(path, params, versioned), data=data, headers=headers,
                                      timeout=timeout)
        except HTTPError as err:
            if err.code == 304:
                return _EmptyResponse()
            raise self._http_error(method, path, err.code, _read_quietly(err), err.reason) from None
        except (URLError, OSError, socket.timeout, ssl.SSLError) as err:
            raise self._connection_error(err) from None

    def _call(self, method, path, params=None, body=None, versioned=True, timeout=None, headers=None):
        response = self._open(method, path, params, body, headers, versioned, timeout)
        payload = response.read()
        if not payload:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            return payload.decode("utf-8", "replace")

    def _http_error(self, method, path, status, text, reason=None):
        """The EngineError for an error reply: `status` with body `text` to `method path`."""
        try:
            message = json.loads(text).get("message", text)
        except (ValueError, AttributeError):
            message = text
        message = (message or reason or "").strip()
        where = "%s %s" % (method, path)
        if status == 404:
            return NotFound("not found: %s (%s)" % (message, where), status, message)
        if status == 409:
            return Conflict("conflict: %s (%s)" % (message, where), status, message)
        if status == 400 and "HTTP request to an HTTPS server" in message:
            return EngineError(
                "the engine at %s speaks TLS but was spoken to in plain HTTP (%s): set tls: true (or "
                "DOCKER_TLS_VERIFY=1) with ca_path, client_cert and client_key (or DOCKER_CERT_PATH)"
                % (self.docker_host, where), status, message)
        if status == 401 or status == 403:
            return EngineError("the engine refused %s: %s" % (where, message), status, message)
        return EngineError("the engine answered %s to %s: %s" % (status, where, message), status, message)

    def _connection_error(self, err):
        reason = getattr(err, "reason", err)
        host = self.docker_host
        if isinstance(reason, FileNotFoundError) or "No such file" in str(reason):
            return EngineError(
                "cannot reach the Docker daemon: socket %s does not exist. Is the daemon running? "
                "Start it with `systemctl start docker` (or `service docker start`), or set docker_host."
                % (self._unix_socket or host))
        if isinstance(reason, PermissionError) or "Permission denied" in str(reason):
            return EngineError(
                "permission denied on %s: add the user to the docker group (and log in again) or run the "
                "task with become: true" % (self._unix_socket or host))
        if isinstance(reason, ConnectionRefusedError) or "refused" in str(reason):
            return EngineError("cannot reach the Docker daemon at %s: connection refused. Is the daemon "
                               "running and listening there?" % host)
        if isinstance(reason, (socket.timeout, TimeoutError)) or "timed out" in str(reason):
            return EngineError("the Docker daemon at %s did not answer within %ss (timeout option)"
                               % (host, self.timeout))
        if isinstance(reason, ssl.SSLError) or "SSL" in str(reason) or "CERTIFICATE" in str(reason):
            return EngineError("TLS to the Docker daemon at %s failed: %s. Check tls, ca_path, client_cert, "
                               "client_key and validate_certs." % (host, reason))
        return EngineError("cannot reach the Docker daemon at %s: %s" % (host, reason))

    # --- verbs ---------------------------------------------------------------------------

    def get(self, path, params=None, missing_ok=False, headers=None):
        """GET a JSON document; with missing_ok a 404 returns None."""
        try:
            return self._call("GET", path, params, headers=headers)
        except NotFound:
            if missing_ok:
                return None
            raise

    def post(self, path, params=None, body=None, timeout=None, headers=None):
        return self._call("POST", path, params, body, timeout=timeout, headers=headers)

    def delete(self, path, params=None, missing_ok=False):
        try:
            return self._call("DELETE", path, params)
        except NotFound:
            if missing_ok:
                return None
            raise

    def stream(self, method, path, params=None, body=None, headers=None, timeout=None, raw_body=False,
               on_event=None):
        """Read a streamed endpoint (pull, push, build, load) to its end.

        Returns the list of JSON events; an event with error/errorDetail raises EngineError,
        since the daemon reports those failures with a 200 status. on_event(event), if given,
        sees each event as it arrives (e.g. to keep build output for the failure message).
        A raw body may be bytes or an open file (then pass its Content-Length in headers).
        """
        response = self._open(method, path, params, body, headers, timeout=timeout, raw_body=raw_body)
        events = []
        buffer = b""
        while True:
            chunk = response.read(65536)
            if not chunk:
                break
            buffer += chunk
            lines = buffer.split(b"\n")
            buffer = lines.pop()
            for line in lines:
                self._collect_event(line, events, on_event)
        self._collect_event(buffer, events, on_event)
        return events

    @staticmethod
    def _collect_event(line, events, on_event=None):
        line = line.strip()
        if not line:
            return
        try:
            event = json.loads(line)
        except ValueError:
            event = {"stream": line.decode("utf-8", "replace")}
        if on_event is not None and isinstance(event, dict):
            on_event(event)
        if isinstance(event, dict) and (event.get("error") or event.get("errorDetail")):
            detail = event.get("errorDetail") or {}
            raise EngineError(event.get("error") or detail.get("message") or str(event),
                              daemon_message=event.get("error"))
        events.append(event)

    # --- named calls: what resources use instead of building paths ---------------------------

    def inspect(self, kind, name):
        """The inspect document of one object, or None when there is none by that name or ID."""
        plural, suffix = _collection_entry(kind)
        return self.get(endpoint(plural, name) + suffix, missing_ok=True)

    def listing(self, kind, filters=None, **params):
        """GET /<kind>s/json (containers, images) or /<kind>s (the others), with filters."""
        plural, suffix = _collection_entry(kind)
        if filters:
            params["filters"] = filters
        return self.get(endpoint(plural) + ("/json" if suffix else ""), params) or []

    def create(self, kind, body, params=None, timeout=None, headers=None):
        return self.post(endpoint(collection(kind), "create"), params, body, timeout=timeout, headers=headers)

    def remove(self, kind, name, params=None, missing_ok=True):
        return self.delete(endpoint(collection(kind), name), params, missing_ok=missing_ok)

    def act(self, kind, name, verb, params=None, body=None, timeout=None):
        """POST /<kind>s/<name>/<verb>: start, stop, restart, rename, update, tag, connect ..."""
        return self.post(endpoint(collection(kind), name, verb), params, body, timeout=timeout)

    def connect(self, network, container, endpoint_config=None):
        return self.act("network", network, "connect",
                        body={"Container": container, "EndpointConfig": endpoint_config or {}})

    def disconnect(self, network, container, force=True):
        return self.act("network", network, "disconnect", body={"Container": container, "Force": force})

    def raw(self, method, path, params=None, body=None, timeout=None, headers=None, raw_body=False):
        """The whole body of a non-JSON reply (logs, exec output, archives) as bytes.

        With raw_body, `body` is sent as it is (bytes, e.g. a tar archive) instead of as JSON.
        """
        return self._open(method, path, params, body, headers, timeout=timeout, raw_body=raw_body).read()

    def download(self, path, handle, params=None, timeout=None):
        """Copy the body of a GET (an image tarball) into the open binary file `handle` in chunks; returns its size."""
        response = self._open("GET", path, params, timeout=timeout)
        size = 0
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                return size
            handle.write(chunk)
            size += len(chunk)

    def response(self, method, path, params=None, body=None, headers=None, timeout=None, raw_body=False):
        """The open reply of a call, to read in chunks (an archive to extract as it arrives)."""
        return self._open(method, path, params, body, headers, timeout=timeout, raw_body=raw_body)

    def exec_attached(self, exec_id, stdin=None, timeout=None, wait_forever=False):
        """Start an exec with its streams attached; returns the raw (multiplexed) output as bytes.

        The engine hijacks the HTTP connection for an attached exec: the request is written by hand
        on a socket of our own, then `stdin` (bytes) is sent and the write half closed so the process
        reads EOF, and the output is read until the engine closes the connection (with wait_forever,
        however long the command runs; else each read waits `timeout`).
        """
        self.calls += 1
        body = json.dumps({"Detach": False, "Tty": False}).encode("utf-8")
        path = "/v%s%s" % (self.api_version, endpoint("exec", exec_id, "start"))
        try:
            sock = self._raw_socket(timeout or self.timeout)
        except (OSError, ssl.SSLError) as err:
            raise self._connection_error(err) from None
        try:
            sock.sendall(("POST %s HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                          "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n"
                          % (path, len(body))).encode("ascii") + body)
            rest = self._hijacked_reply(sock, path)
            if wait_forever:
                sock.settimeout(None)
            if stdin is not None:
                sock.sendall(stdin)
                # Half-close the raw socket (bypassing SSLSocket.shutdown, which would end TLS reads too).
                socket.socket.shutdown(sock, socket.SHUT_WR)
            chunks = [rest]
            while True:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        except (OSError, ssl.SSLError) as err:
            raise self._connection_error(err) from None
        finally:
            sock.close()

    def _raw_socket(self, timeout):
        if self._unix_socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(self._unix_socket)
            return sock
        scheme, address = self._base_url.split("://", 1)
        host, _sep, port = address.rpartition(":")
        if not host:
            host, port = address, "443" if scheme == "https" else "80"
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        if scheme == "https":
            sock = self._ssl_context.wrap_socket(sock, server_hostname=host.strip("[]"))
        return sock

    def _hijacked_reply(self, sock, path):
        """Read the reply's head; return the bytes after it. An error status raises EngineError."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise EngineError("the engine closed the connection of POST %s without a reply" % path)
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if status in (101, 200):
            return rest
        message = _error_message(_read_error_body(sock, head, rest).decode("utf-8", "replace"))
        error = NotFound if status == 404 else Conflict if status == 409 else EngineError
        raise error("the engine answered %s to POST %s: %s" % (status, path, message), status, message)

    def head(self, path, params=None):
        """The headers of a HEAD request as a dict, or None on 404."""
        try:
            response = self._open("HEAD", path, params)
        except NotFound:
            return None
        return dict(response.headers.items()) if getattr(response, "headers", None) is not None else {}

    def logs(self, container_id, tail=200):
        """A container's stdout+stderr as text, demultiplexed when there is no TTY."""
        response = self._open("GET", endpoint("containers", container_id, "logs"),
                              {"stdout": True, "stderr": True, "tail": tail})
        data = response.read()
        return demultiplex(data)


def _check_not_below_minimum(wanted):
    if version_tuple(wanted) < version_tuple(MIN_API_VERSION):
        raise EngineError("api_version %s is older than the minimum Berth supports (%s)" % (wanted, MIN_API_VERSION))


def _read_quietly(reply):
    """The body of an error reply as text; empty when it cannot be read."""
    try:
        return reply.read().decode("utf-8", "replace")
    except Exception:
        return ""


class _KeptConnection:
    """One HTTP/1.1 connection to the engine, kept open across calls (http.client, no urllib).

    A reply must be read to its end before the next call can use the connection; one that was not
    (a fetched archive whose tail was left unread) makes the next call open a new connection.
    """

    def __init__(self, client):
        self._client = client
        self._connection = None
        self._last = None

    def _connect(self):
        client = self._client
        if client._unix_socket:
            return _UnixHTTPConnection(client._unix_socket, timeout=client.timeout, blocksize=1 << 16)
        scheme, address = client._base_url.split("://", 1)
        if scheme == "https":
            return http.client.HTTPSConnection(address, timeout=client.timeout, context=client._ssl_context,
                                               blocksize=1 << 16)
        return http.client.HTTPConnection(address, timeout=client.timeout, blocksize=1 << 16)

    def request(self, method, path, target, data, headers, timeout):
        """The reply of `method target`, read to its end or not; errors as EngineError."""
        start = data.tell() if hasattr(data, "seek") else None
        for attempt in (1, 2):
            reused = self._connection is not None
            try:
                reply = self._exchange(method, target, data, headers, timeout)
                break
            except _STALE_CONNECTION_ERRORS as err:
                self.close()
                if attempt == 2 or not reused or (hasattr(data, "read") and start is None):
                    raise self._client._connection_error(err) from None
                if start is not None:
                    data.seek(start)
            except (OSError, http.client.HTTPException, ssl.SSLError) as err:
                self.close()
                raise self._client._connection_error(err) from None
        if reply.status == 304:
            reply.read()
            return _EmptyResponse()
        if reply.status >= 300:
            raise self._client._http_error(method, path, reply.status, _read_quietly(reply), reply.reason)
        return reply

    def _exchange(self, method, target, data, headers, timeout):
        if self._last is not None and not self._last.isclosed():
            self.close()
        if self._connection is None:
            self._connection = self._connect()
        if self._connection.sock is not None:
            self._connection.sock.settimeout(timeout)
        self._connection.timeout = timeout
        try:
            self._connection.request(method, target, body=data, headers=headers)
            self._last = self._connection.getresponse()
        except BaseException:
            self.close()  # a request cut short (a body that failed to read) leaves nothing to reuse
            raise
        return self._last

    def close(self):
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._last = None


class _UnixHTTPConnection(http.client.HTTPConnection):
    """http.client's connection on the engine's unix socket (reconnects there too, not to localhost:80)."""

    def __init__(self, path, **kwargs):
        super().__init__("localhost", **kwargs)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _read_error_body(sock, head, rest):
    """The body of an error reply on a raw socket: by Content-Length, to the last chunk, or to EOF."""
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while True:
        if length and len(rest) >= int(length.group(1)):
            return rest
        if not length and rest.endswith(b"0\r\n\r\n"):
            return rest
        chunk = sock.recv(4096)
        if not chunk:
            return rest
        rest += chunk


def _error_message(text):
    """The daemon's {"message": ...} out of an error body (possibly in chunked framing)."""
    start = text.find("{")
    if start < 0:
        return text.strip()
    try:
        return json.JSONDecoder().raw_decode(text[start:])[0].get("message", text)
    except (ValueError, AttributeError):
        return text.strip()


class _EmptyResponse:
    """What a 304 Not Modified reads as: no body."""

    @staticmethod
    def read(size=-1):
        return b""


def frames(data):
    """[(stream, bytes)] of a non-TTY attach/logs stream: 8-byte headers, 1 = stdout, 2 = stderr.

    Bytes that do not follow the frame format (a TTY stream, a truncated tail) come as stream 1.
    """
    out = []
    pos = 0
    while pos + 8 <= len(data) and data[pos] in (0, 1, 2) and data[pos + 1:pos + 4] == b"\x00\x00\x00":
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        out.append((data[pos], data[pos + 8:pos + 8 + size]))
        pos += 8 + size
    if pos < len(data):
        out.append((1, data[pos:]))
    return out


def demultiplex(data):
    """Undo the engine's 8-byte frame headers on non-TTY log streams: stdout and stderr as one text."""
    return b"".join(chunk for _unused, chunk in frames(data)).decode("utf-8", "replace")


def split_stream_bytes(data):
    """(stdout, stderr) bytes of a non-TTY attach/logs/exec stream."""
    parts = frames(data)
    return (b"".join(chunk for stream, chunk in parts if stream != 2),
            b"".join(chunk for stream, chunk in parts if stream == 2))


def split_streams(data):
    """(stdout, stderr) texts of a non-TTY attach/logs stream."""
    stdout, stderr = split_stream_bytes(data)
    return stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")
