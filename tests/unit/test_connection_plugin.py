"""The connection plugin berth.engine.docker against the fake daemon: its calls per command and its errors.

The real engine runs it in tests/integration/test_connection_plugin.py; here the point is what it asks
the engine (three calls a command, no version or inspect up front) and what it says when a call fails.
"""
from __future__ import annotations

import io
import os
import tarfile

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleFileNotFound
from ansible.playbook.play_context import PlayContext

from ansible_collections.berth.engine.plugins.connection.docker import Connection
from ansible_collections.berth.engine.plugins.module_utils.engine_client import MIN_API_VERSION
from tests.unit.fake_daemon import Reply

V = "/v" + MIN_API_VERSION


def connection(docker_host, **options):
    conn = Connection(PlayContext(), None)
    given = {"remote_addr": "web", "docker_host": docker_host, "api_version": "auto", "docker_timeout": 5,
             "validate_certs": True, **options}
    conn.get_option = lambda name, hostvars=None: given.get(name)
    return conn


def frame(stream, data):
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def route_exec(daemon, exit_code, stdout=b"", stderr=b""):
    daemon.route("POST", V + "/containers/web/exec", Reply(201, {"Id": "e1"}))
    daemon.route("POST", V + "/exec/e1/start", Reply(body=frame(1, stdout) + frame(2, stderr), close=True,
                                                     content_type="application/vnd.docker.raw-stream"))
    daemon.route("GET", V + "/exec/e1/json", Reply(body={"ExitCode": exit_code}))


def failure_of(call, kind=AnsibleConnectionFailure):
    with pytest.raises(kind) as caught:
        call()
    return str(caught.value)


def test_a_command_costs_three_calls_and_nothing_up_front(daemon):
    route_exec(daemon, 3, b"out\n", b"err\n")
    conn = connection(daemon.docker_host)
    assert conn.exec_command("echo out; echo err >&2; exit 3") == (3, b"out\n", b"err\n")
    assert conn.exec_command("again")[0] == 3
    assert [s.path for s in daemon.seen] == [V + "/containers/web/exec", V + "/exec/e1/start",
                                             V + "/exec/e1/json"] * 2
    assert b'"Cmd": ["/bin/sh", "-c", "again"]' in daemon.seen[3].body
    assert daemon.connections == 3  # one kept for the JSON calls, one hijacked per exec start
    conn.close()


def test_a_missing_container_is_named(daemon):
    daemon.route("POST", V + "/containers/web/exec", Reply(404, {"message": "No such container: web"}))
    message = failure_of(lambda: connection(daemon.docker_host).exec_command("true"))
    assert message == ("berth.engine.docker: no container web on the engine at %s: check ansible_host (the "
                       "container's name or ID) and docker_host" % daemon.docker_host)


@pytest.mark.parametrize("state", [{"Status": "exited", "Running": False},
                                   {"Status": "paused", "Running": True, "Paused": True}])
def test_a_container_not_running_says_its_state(daemon, state):
    daemon.route("POST", V + "/containers/web/exec", Reply(409, {"message": "Container web is not running"}))
    daemon.route("GET", V + "/containers/web/json", Reply(body={"Id": "abc", "State": state}))
    message = failure_of(lambda: connection(daemon.docker_host).exec_command("true"))
    assert message.startswith("berth.engine.docker: container web is %s, not running: start it" % state["Status"])


def test_an_engine_that_is_down_is_said_so(tmp_path):
    message = failure_of(lambda: connection("unix://%s/no.sock" % tmp_path).exec_command("true"))
    assert message.startswith("berth.engine.docker: cannot reach the Docker daemon: socket %s/no.sock does not "
                              "exist" % tmp_path)


def test_put_file_streams_one_tar_member_with_mode_and_owner(daemon, tmp_path):
    daemon.route("GET", V + "/containers/web/json", Reply(body={"Id": "abc", "Config": {"User": ""}}))
    daemon.route("PUT", V + "/containers/web/archive", Reply(200, b""))
    source = tmp_path / "file 汉语.txt"
    source.write_bytes(os.urandom(70000))
    source.chmod(0o640)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    empty.chmod(0o600)
    conn = connection(daemon.docker_host)
    conn.put_file(str(source), "/srv/dir with spaces/file 汉语.txt")
    conn.put_file(str(empty), "relative/empty")
    puts = [s for s in daemon.seen if s.method == "PUT"]
    assert [s.query for s in puts] == ["path=%2Fsrv%2Fdir+with+spaces", "path=%2Frelative"]
    assert len([s for s in daemon.seen if s.method == "GET"]) == 1  # the container inspected once
    for put, local, mode in ((puts[0], source, 0o640), (puts[1], empty, 0o600)):
        assert len(put.body) % tarfile.BLOCKSIZE == 0
        with tarfile.open(fileobj=io.BytesIO(put.body)) as tar:
            (member,) = tar.getmembers()
            seen = (member.name, member.mode, member.uid, member.gid, member.isfile())
            assert seen == (local.name, mode, 0, 0, True)
            assert tar.extractfile(member).read() == local.read_bytes()


def test_fetch_tells_a_missing_file_from_a_missing_container(daemon, tmp_path):
    daemon.route("GET", V + "/containers/web/archive",
                 Reply(404, {"message": "Could not find the file /nope in container web"}))
    conn = connection(daemon.docker_host)
    missing_file = failure_of(lambda: conn.fetch_file("/nope", str(tmp_path / "x")), AnsibleFileNotFound)
    assert "no file /nope in container web" in missing_file
    daemon.route("GET", V + "/containers/web/archive", Reply(404, {"message": "No such container: web"}))
    assert "no container web on the engine" in failure_of(lambda: conn.fetch_file("/x", str(tmp_path / "x")))
