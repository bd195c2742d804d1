"""The engine client (plugins/module_utils/engine_client.py) against a fake daemon on a unix socket.

tests/unit/fake_daemon.py answers canned responses over real HTTP, so the client's own code
(ansible's urls, error mapping, version negotiation, streaming) runs as it does against dockerd.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
import threading

import pytest

from ansible_collections.berth.engine.plugins.module_utils.engine_client import (
    MAX_API_VERSION,
    MIN_API_VERSION,
    Conflict,
    EngineClient,
    EngineError,
    NotFound,
    collection,
    demultiplex,
    endpoint,
)
from tests.unit.fake_daemon import Reply


def client_for(fake, **kwargs):
    return EngineClient(docker_host=fake.docker_host, **kwargs)


def error_of(call):
    with pytest.raises(EngineError) as caught:
        call()
    return caught.value


# --- HTTP errors -----------------------------------------------------------------------------------

def test_404_is_not_found_and_inspect_returns_none(daemon):
    daemon.route("GET", "/v1.43/containers/web/json", Reply(404, {"message": "No such container: web"}))
    client = client_for(daemon)
    assert client.inspect("container", "web") is None
    err = error_of(lambda: client.get(endpoint("containers", "web", "json")))
    assert isinstance(err, NotFound)
    assert err.status == 404 and err.daemon_message == "No such container: web"
    assert "No such container: web" in str(err) and "GET /containers/web/json" in str(err)


def test_409_is_conflict(daemon):
    daemon.route("POST", "/v1.43/containers/create", Reply(409, {"message": "name web is already in use"}))
    err = error_of(lambda: client_for(daemon).create("container", {"Image": "x"}, {"name": "web"}))
    assert isinstance(err, Conflict) and err.status == 409
    assert "conflict: name web is already in use" in str(err)


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_say_the_engine_refused(daemon, status):
    daemon.route("DELETE", "/v1.43/volumes/data", Reply(status, {"message": "authorization denied by plugin"}))
    err = error_of(lambda: client_for(daemon).remove("volume", "data", missing_ok=False))
    assert type(err).__name__ == "EngineError" and isinstance(err, EngineError) and err.status == status
    assert str(err) == "the engine refused DELETE /volumes/data: authorization denied by plugin"


def test_5xx_carries_the_daemons_json_message(daemon):
    daemon.route("POST", "/v1.43/containers/web/start",
                 Reply(500, {"message": "failed to create task: OCI runtime create failed"}))
    err = error_of(lambda: client_for(daemon).act("container", "web", "start"))
    assert err.status == 500 and err.daemon_message == "failed to create task: OCI runtime create failed"
    assert "500" in str(err) and "POST /containers/web/start" in str(err) and "OCI runtime" in str(err)


@pytest.mark.parametrize("body, expected", [
    ("upstream proxy exploded\n", "upstream proxy exploded"),  # text, not JSON
    ('["a", "list"]', '["a", "list"]'),  # JSON, but not an object
    ("", "Bad Gateway"),  # nothing: the HTTP reason
])
def test_non_json_error_bodies(daemon, body, expected):
    daemon.route("GET", "/v1.43/info", Reply(502, body, content_type="text/plain"))
    err = error_of(lambda: client_for(daemon).get("/info"))
    assert err.status == 502 and str(err) == "the engine answered 502 to GET /info: " + expected


def test_304_is_success_without_a_body(daemon):
    daemon.route("POST", "/v1.43/containers/web/start", Reply(304))
    daemon.route("POST", "/v1.43/containers/web/stop", Reply(304))
    client = client_for(daemon)
    assert client.act("container", "web", "start") is None
    assert client.post(endpoint("containers", "web", "stop")) is None


def test_json_and_text_replies_and_the_call_count(daemon):
    daemon.route("GET", "/v1.43/_ping", Reply(body="OK", content_type="text/plain"))
    daemon.route("GET", "/v1.43/info", Reply(body={"ID": "abc"}))
    client = client_for(daemon)
    assert client.get("/_ping") == "OK"
    assert client.get("/info") == {"ID": "abc"}
    assert client.calls == 3  # /version once, then the two calls


def test_query_parameters_are_encoded(daemon):
    daemon.route("GET", "/v1.43/containers/json", Reply(body=[]))
    client_for(daemon).listing("container", {"label": ["a=b"]}, all=True, limit=None)
    seen = daemon.seen[-1]
    assert seen.path == "/v1.43/containers/json"
    assert sorted(seen.query.split("&")) == ["all=1", "filters=%7B%22label%22%3A+%5B%22a%3Db%22%5D%7D"]


# --- connection errors -----------------------------------------------------------------------------

def test_missing_socket():
    directory = tempfile.mkdtemp(prefix="berth-fake-")
    path = os.path.join(directory, "docker.sock")
    err = error_of(lambda: EngineClient(docker_host="unix://" + path).get("/info"))
    os.rmdir(directory)
    assert "socket %s does not exist" % path in str(err) and "systemctl start docker" in str(err)


def test_refused_when_nothing_listens():
    directory = tempfile.mkdtemp(prefix="berth-fake-")
    path = os.path.join(directory, "docker.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # the file exists, but nothing listens: a daemon that died
    stale.close()
    try:
        err = error_of(lambda: EngineClient(docker_host="unix://" + path).get("/info"))
    finally:
        os.unlink(path)
        os.rmdir(directory)
    assert "connection refused" in str(err) and "unix://" + path in str(err)


def _as_nobody(call):
    """call() in a forked child that runs as nobody; returns what it printed (the Python lives under /root)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, str(call()).encode())
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            os.write(write_end, ("%s: %s" % (type(err).__name__, err)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode()
    os.waitpid(pid, 0)
    return output


def test_permission_denied_says_what_to_do(daemon):
    """Root passes any file permission, so the client runs as nobody against a root-only socket."""
    daemon.route("GET", "/v1.43/info", Reply(body={}))
    client = client_for(daemon)
    assert client.get("/info") == {}  # as root: the socket answers, and everything the call needs is loaded
    os.chmod(daemon.socket_path, 0o600)
    os.chmod(os.path.dirname(daemon.socket_path), 0o755)
    fresh = client_for(daemon, api_version="1.43")
    message = _as_nobody(lambda: error_of(lambda: fresh.get("/info")))
    assert message.startswith("permission denied on %s: add the user to the docker group" % daemon.socket_path), \
        message
    assert "become: true" in message


def test_timeout_names_the_option(daemon):
    daemon.route("GET", "/v1.43/info", Reply(body={}, delay=3))
    err = error_of(lambda: client_for(daemon, timeout=1).get("/info"))
    assert "did not answer within 1s (timeout option)" in str(err)


def _plain_tcp_server():
    """A TCP listener on loopback that answers plain HTTP junk: a TLS handshake with it fails."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer():
        try:
            conn, _unused = listener.accept()
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()
        except OSError:
            pass

    threading.Thread(target=answer, daemon=True).start()
    return listener


def test_tls_failure_names_the_tls_options():
    listener = _plain_tcp_server()
    port = listener.getsockname()[1]
    try:
        err = error_of(lambda: EngineClient(docker_host="tcp://127.0.0.1:%d" % port, tls=True, timeout=5).get("/info"))
    finally:
        listener.close()
    assert str(err).startswith("TLS to the Docker daemon at tcp://127.0.0.1:%d failed" % port)
    assert "ca_path, client_cert, client_key and validate_certs" in str(err)


def test_docker_host_not_understood():
    err = error_of(lambda: EngineClient(docker_host="ssh://host"))
    assert "docker_host 'ssh://host' is not understood" in str(err)


@pytest.mark.parametrize("timeout", [0, -5, 86401, 1e30, float("inf"), float("nan"), "60", True])
def test_bad_timeouts_fail_before_any_call(timeout):
    err = error_of(lambda: EngineClient(timeout=timeout))
    assert str(err).startswith("timeout must be a number of seconds from 1 to 86400")


# --- API version negotiation -----------------------------------------------------------------------

def test_server_older_than_the_minimum(daemon):
    daemon.set_api_version("1.40")
    err = error_of(lambda: client_for(daemon).api_version)
    assert "speaks API 1.40 (Docker 99.0.0); Berth needs API %s or newer" % MIN_API_VERSION in str(err)
    assert "berth.engine.runtime" in str(err)


def test_server_newer_than_the_maximum_is_spoken_to_at_the_maximum(daemon):
    daemon.set_api_version("1.99")
    daemon.route("GET", "/v%s/info" % MAX_API_VERSION, Reply(body={"ok": True}))
    client = client_for(daemon)
    assert client.api_version == MAX_API_VERSION
    assert client.get("/info") == {"ok": True}
    assert [s.path for s in daemon.seen] == ["/version", "/v%s/info" % MAX_API_VERSION]


@pytest.mark.parametrize("requested, server, expected", [
    ("auto", "1.43", "1.43"),
    (None, "1.45", "1.45"),
    ("1.43", "1.45", "1.43"),
    (MIN_API_VERSION, MIN_API_VERSION, MIN_API_VERSION),
    # Docker 28.5 (sid's docker.io) speaks 1.51: Berth speaks it all the way; Docker 29 (1.52) at 1.51.
    ("auto", "1.51", "1.51"),
    ("auto", "1.52", "1.51"),
    ("1.51", "1.51", "1.51"),
])
def test_negotiated_versions(daemon, requested, server, expected):
    daemon.set_api_version(server)
    assert client_for(daemon, api_version=requested).api_version == expected


def test_requested_version_below_the_minimum(daemon):
    err = error_of(lambda: client_for(daemon, api_version="1.30").api_version)
    assert str(err) == "api_version 1.30 is older than the minimum Berth supports (%s)" % MIN_API_VERSION


def test_requested_version_above_the_server(daemon):
    err = error_of(lambda: client_for(daemon, api_version="1.45").api_version)
    assert "api_version 1.45 was requested but the engine at %s only speaks up to 1.43" % daemon.docker_host \
        in str(err)


@pytest.mark.parametrize("requested", ["[]", "1.x", "latest", "1", "1.43.1", " 1.43"])
def test_malformed_requested_version(requested):
    err = error_of(lambda: EngineClient(api_version=requested))
    assert str(err) == "api_version must be auto or an API version such as 1.43, got %r" % requested


# --- logs ------------------------------------------------------------------------------------------

def frame(stream, data):
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def test_demultiplex_stdout_and_stderr_frames_in_order():
    data = frame(1, b"out 1\n") + frame(2, b"err 1\n") + frame(1, b"out 2\n")
    assert demultiplex(data) == "out 1\nerr 1\nout 2\n"


def test_demultiplex_tty_output_is_raw():
    assert demultiplex(b"plain tty output\r\n\x1b[31mred\x1b[0m\n") == "plain tty output\r\n\x1b[31mred\x1b[0m\n"
    assert demultiplex(b"") == ""


def test_demultiplex_truncated_frames_keep_what_arrived():
    assert demultiplex(frame(1, b"complete\n") + frame(2, b"cut off here")[:12]) == "complete\ncut "
    assert demultiplex(frame(1, b"complete\n") + b"\x01\x00\x00") == "complete\n\x01\x00\x00"


def test_demultiplex_invalid_utf8_is_replaced():
    assert demultiplex(frame(1, b"caf\xc3")) == "caf\ufffd"


def test_logs_through_the_daemon(daemon):
    daemon.route("GET", "/v1.43/containers/web/logs", Reply(body=frame(1, b"hello\n") + frame(2, b"oops\n"),
                                                            content_type="application/vnd.docker.raw-stream"))
    assert client_for(daemon).logs("web", tail=5) == "hello\noops\n"
    assert sorted(daemon.seen[-1].query.split("&")) == ["stderr=1", "stdout=1", "tail=5"]


# --- endpoints ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, escaped", [
    ("../x", "..%2Fx"),
    ("a/b", "a%2Fb"),
    ("what?x=1", "what%3Fx%3D1"),
    ("frag#ment", "frag%23ment"),
    ("with space", "with%20space"),
    ("名前", "%E5%90%8D%E5%89%8D"),
    ("..", ".."),
    ("%2F", "%252F"),
])
def test_endpoint_escapes_every_part(name, escaped):
    assert endpoint("containers", name, "json") == "/containers/%s/json" % escaped


def test_escaped_names_reach_the_daemon_as_one_segment(daemon):
    daemon.route("GET", "/v1.43/containers/..%2Fx/json", Reply(body={"Id": "1"}))
    assert client_for(daemon).inspect("container", "../x") == {"Id": "1"}
    assert daemon.seen[-1].path == "/v1.43/containers/..%2Fx/json"


def test_endpoint_needs_a_part():
    with pytest.raises(ValueError, match="at least one part"):
        endpoint()


@pytest.mark.parametrize("kind", ["bogus", "containers", None, ["container"]])
def test_unknown_kind(kind):
    with pytest.raises(ValueError, match="unknown engine object kind"):
        collection(kind)
    with pytest.raises(ValueError, match="unknown engine object kind"):
        EngineClient().inspect(kind, "x")


def test_known_kinds():
    assert [collection(k) for k in ("container", "image", "network", "volume")] == \
        ["containers", "images", "networks", "volumes"]


# --- streamed replies --------------------------------------------------------------------------------

def lines(*events):
    return [json.dumps(e).encode() + b"\n" for e in events]


def test_stream_collects_events_split_across_chunks(daemon):
    body = b"".join(lines({"status": "Pulling from x"}, {"status": "Downloading", "progress": "[=> ]"},
                          {"status": "Digest: sha256:abc"}))
    chunks = [body[:7], body[7:40], body[40:] + b"not json at the end"]
    daemon.route("POST", "/v1.43/images/create", Reply(chunks=chunks))
    seen = []
    events = client_for(daemon).stream("POST", endpoint("images", "create"), {"fromImage": "x"},
                                       on_event=seen.append)
    assert [e.get("status") for e in events[:3]] == ["Pulling from x", "Downloading", "Digest: sha256:abc"]
    assert events[3] == {"stream": "not json at the end"}
    assert seen == events


def test_stream_error_line_raises_even_with_status_200(daemon):
    chunks = lines({"stream": "Step 1/2 : FROM scratch\n"},
                   {"errorDetail": {"message": "COPY failed: no such file"}, "error": "COPY failed: no such file"},
                   {"stream": "never read\n"})
    daemon.route("POST", "/v1.43/build", Reply(chunks=chunks))
    seen = []
    err = error_of(lambda: client_for(daemon).stream("POST", "/build", on_event=seen.append))
    assert str(err) == "COPY failed: no such file" and err.daemon_message == "COPY failed: no such file"
    assert len(seen) == 2  # the failure's event is seen too, e.g. to keep build output for the message


def test_stream_error_detail_only(daemon):
    daemon.route("POST", "/v1.43/images/x/push", Reply(chunks=lines({"errorDetail": {"message": "denied"}})))
    err = error_of(lambda: client_for(daemon).stream("POST", endpoint("images", "x", "push")))
    assert str(err) == "denied"


def test_stream_http_error_is_mapped(daemon):
    daemon.route("POST", "/v1.43/images/create", Reply(404, {"message": "pull access denied for x"}))
    err = error_of(lambda: client_for(daemon).stream("POST", "/images/create"))
    assert isinstance(err, NotFound) and "pull access denied for x" in str(err)
