"""The engine client's kept connection and assumed API version (what the connection plugin uses).

Against tests/unit/fake_daemon.py, an HTTP/1.1 server on a unix socket: http.client's code runs for real.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from ansible_collections.berth.engine.plugins.module_utils.engine_client import (
    MIN_API_VERSION,
    Conflict,
    EngineClient,
    EngineError,
    NotFound,
)
from tests.support.ansible import REPO_ROOT
from tests.unit.fake_daemon import Reply

V = "/v" + MIN_API_VERSION


def kept_client(fake, **kwargs):
    client = EngineClient(docker_host=fake.docker_host, keep_alive=True, **kwargs)
    client.assume_api_version()
    return client


def error_of(call):
    with pytest.raises(EngineError) as caught:
        call()
    return caught.value


def test_calls_share_one_connection_and_ask_no_version(daemon):
    daemon.route("POST", V + "/containers/web/exec", Reply(201, {"Id": "e1"}))
    daemon.route("GET", V + "/exec/e1/json", Reply(body={"ExitCode": 3}))
    client = kept_client(daemon)
    assert client.post("/containers/web/exec", body={"Cmd": ["true"]}) == {"Id": "e1"}
    assert client.get("/exec/e1/json") == {"ExitCode": 3}
    assert client.get("/exec/e1/json") == {"ExitCode": 3}
    assert [s.path for s in daemon.seen] == [V + "/containers/web/exec", V + "/exec/e1/json", V + "/exec/e1/json"]
    assert daemon.seen[0].body == b'{"Cmd": ["true"]}'
    assert daemon.connections == 1 and client.calls == 3


def test_a_connection_the_daemon_dropped_is_replaced_and_the_call_sent_again(daemon):
    daemon.route("GET", V + "/first", Reply(body={"n": 1}, drop=True))
    daemon.route("GET", V + "/second", Reply(body={"n": 2}))
    client = kept_client(daemon)
    assert client.get("/first") == {"n": 1}
    assert client.get("/second") == {"n": 2}
    assert daemon.connections == 2


def test_a_reply_left_unread_does_not_spoil_the_next_call(daemon):
    daemon.route("GET", V + "/containers/web/archive", Reply(body=b"x" * 100000, content_type="application/x-tar"))
    daemon.route("GET", V + "/info", Reply(body={"ok": True}))
    client = kept_client(daemon)
    assert client.response("GET", "/containers/web/archive").read(10) == b"x" * 10
    assert client.get("/info") == {"ok": True}


def test_a_file_body_is_sent_as_it_is(daemon):
    daemon.route("PUT", V + "/containers/web/archive", Reply(200, b""))
    data = os.urandom(300000)
    client = kept_client(daemon)
    client.response("PUT", "/containers/web/archive", params={"path": "/srv"}, body=io.BytesIO(data),
                    raw_body=True, headers={"Content-Length": str(len(data))}).read()
    assert daemon.seen[0].body == data and daemon.seen[0].query == "path=%2Fsrv"


def test_error_replies_map_as_through_urls(daemon):
    daemon.route("POST", V + "/containers/gone/exec", Reply(404, {"message": "No such container: gone"}))
    daemon.route("POST", V + "/containers/stopped/exec", Reply(409, {"message": "Container x is not running"}))
    daemon.route("GET", V + "/boom", Reply(500, {"message": "disk full"}))
    daemon.route("POST", V + "/containers/web/start", Reply(304))
    client = kept_client(daemon)
    gone = error_of(lambda: client.post("/containers/gone/exec", body={}))
    assert isinstance(gone, NotFound) and gone.daemon_message == "No such container: gone"
    assert isinstance(error_of(lambda: client.post("/containers/stopped/exec", body={})), Conflict)
    assert str(error_of(lambda: client.get("/boom"))) == "the engine answered 500 to GET /boom: disk full"
    assert client.post("/containers/web/start") is None
    assert client.inspect("container", "gone") is None
    assert daemon.connections == 1  # error replies were read to their end, the connection kept


def test_missing_socket_and_timeout_say_what_to_do(daemon):
    missing = EngineClient(docker_host="unix://%s.nothing" % daemon.socket_path, keep_alive=True)
    assert "socket %s.nothing does not exist" % daemon.socket_path in str(error_of(lambda: missing.get("/info")))
    daemon.route("GET", V + "/slow", Reply(body={}, delay=3))
    slow = kept_client(daemon, timeout=1)
    assert "did not answer within 1s (timeout option)" in str(error_of(lambda: slow.get("/slow")))


def test_assumed_version_refused_as_too_old_is_negotiated_and_the_call_repeated(daemon):
    daemon.set_api_version("1.45")
    daemon.route("POST", V + "/containers/web/exec", Reply(400, {
        "message": "client version %s is too old. Minimum supported API version is 1.44, please upgrade your "
                   "client to a newer version" % MIN_API_VERSION}))
    daemon.route("POST", "/v1.45/containers/web/exec", Reply(201, {"Id": "e1"}))
    client = kept_client(daemon)
    assert client.post("/containers/web/exec", body={"Cmd": ["true"]}) == {"Id": "e1"}
    assert [s.path for s in daemon.seen] == [V + "/containers/web/exec", "/version", "/v1.45/containers/web/exec"]
    assert daemon.seen[2].body == b'{"Cmd": ["true"]}'


def test_assumed_version_refused_as_too_new_fails_as_negotiation_does(daemon):
    daemon.set_api_version("1.40")
    daemon.route("GET", V + "/info", Reply(400, {
        "message": "client version %s is too new. Maximum supported API version is 1.40" % MIN_API_VERSION}))
    err = error_of(lambda: kept_client(daemon).get("/info"))
    assert "speaks API 1.40 (Docker 99.0.0); Berth needs API %s or newer" % MIN_API_VERSION in str(err)


def test_a_requested_version_is_assumed_and_checked_by_the_engine(daemon):
    daemon.route("GET", "/v1.43/info", Reply(body={"ok": True}))
    assert kept_client(daemon, api_version="1.43").get("/info") == {"ok": True}
    assert [s.path for s in daemon.seen] == ["/v1.43/info"]
    daemon.route("GET", "/v1.45/info", Reply(400, {
        "message": "client version 1.45 is too new. Maximum supported API version is 1.43"}))
    err = error_of(lambda: kept_client(daemon, api_version="1.45").get("/info"))
    assert "api_version 1.45 was requested but the engine at %s only speaks up to 1.43" % daemon.docker_host \
        in str(err)
    low = error_of(lambda: kept_client(daemon, api_version="1.30"))
    assert str(low) == "api_version 1.30 is older than the minimum Berth supports (%s)" % MIN_API_VERSION


def test_other_400s_are_not_taken_for_a_version_refusal(daemon):
    daemon.route("POST", V + "/containers/web/exec", Reply(400, {"message": "No command specified"}))
    err = error_of(lambda: kept_client(daemon).post("/containers/web/exec", body={}))
    assert err.status == 400 and [s.path for s in daemon.seen] == [V + "/containers/web/exec"]


def test_a_kept_client_on_a_socket_never_imports_ansible_urls(daemon):
    """The import costs every forked task worker ~30 ms of CPU: the connection plugin must not pay it."""
    daemon.route("GET", V + "/info", Reply(body={"ok": True}))
    code = ("import sys; from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineClient; "
            "c = EngineClient(docker_host=%r, keep_alive=True); c.assume_api_version(); print(c.get('/info')); "
            "print('ansible.module_utils.urls' in sys.modules)" % daemon.docker_host)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=str(REPO_ROOT / "collections")))
    assert proc.stdout.split("\n")[:2] == ["{'ok': True}", "False"], proc.stderr
