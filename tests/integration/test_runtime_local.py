"""The runtime role on this machine (the inventory's localhost).

Checked through other paths than Berth's modules: daemon.json read from disk,
the daemon's view through the Docker SDK, the daemon's pid from its pid file.
The first run on an unprovisioned machine restarts the daemon once; CI
provisions localhost (site.yml) before the integration tests, so here every
run must be a no-op that leaves the daemon process alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.ansible import run_playbook

DAEMON_JSON = Path("/etc/docker/daemon.json")
PLAY = """
- hosts: container_hosts
  gather_facts: false
  roles:
    - role: berth.engine.runtime
"""
DEFAULTS = {"live-restore": True, "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}


def _daemon_pid() -> int:
    return int(Path("/var/run/docker.pid").read_text().strip())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_daemon_configured_and_second_run_changes_nothing(docker_client):
    first = run_playbook(PLAY)
    assert not first.failed, first.describe()
    assert json.loads(DAEMON_JSON.read_text()) == DEFAULTS  # inventories/local sets berth_daemon_config: {}
    info = docker_client.info()
    assert info["LiveRestoreEnabled"] is True
    assert info["LoggingDriver"] == "json-file"
    assert info["Driver"] == "overlay2"
    assert not Path("/var/lib/berth/runtime-restart-pending").exists()

    pid, digest = _daemon_pid(), _digest(DAEMON_JSON)
    second = run_playbook(PLAY)
    assert not second.failed, second.describe()
    assert second.recap["localhost"]["changed"] == 0, [t["task"] for t in second.tasks if t["changed"]]
    assert _daemon_pid() == pid, "a run without changes restarted the daemon"
    assert _digest(DAEMON_JSON) == digest
    verify = second.task("Check the daemon answers with the expected storage driver")
    assert "storage driver overlay2" in verify["msg"]


def test_wrong_types_are_refused_before_anything_is_written(docker_client):
    before, pid = DAEMON_JSON.read_bytes(), _daemon_pid()
    backups = sorted(p.name for p in DAEMON_JSON.parent.glob("daemon.json.*~"))
    bad = {"live-restore": "yes", "log-opts": {"max-file": 3}, "mtu": "1500", "dns": "10.0.0.53"}
    run = run_playbook(PLAY, extra_vars={"berth_daemon_config": bad})
    assert run.failed
    failed = [t for t in run.tasks if t["status"] == "failed"]
    assert [t["task"] for t in failed] == ["Check the types of the known daemon.json keys"], run.describe()
    for text in (
        'live-restore must be true or false, got "yes"',
        'mtu must be an integer, got "1500"',
        'dns must be a list, got "10.0.0.53"',
        "log-opts.max-file must be a string (quote it), got 3",
    ):
        assert text in failed[0]["msg"]
    assert DAEMON_JSON.read_bytes() == before
    assert sorted(p.name for p in DAEMON_JSON.parent.glob("daemon.json.*~")) == backups
    assert _daemon_pid() == pid
    docker_client.ping()


def test_check_mode_predicts_a_change_and_touches_nothing(docker_client):
    before, pid = DAEMON_JSON.read_bytes(), _daemon_pid()
    # null removes a default: the file would lose live-restore
    run = run_playbook(PLAY, check=True, diff=True, extra_vars={"berth_daemon_config": {"live-restore": None}})
    assert not run.failed, run.describe()
    write = run.task("Write daemon.json (validated, atomic, with a backup)")
    assert write["changed"] is True
    diff = write["diff"][0]
    assert json.loads(diff["before"]) == DEFAULTS
    assert json.loads(diff["after"]) == {k: v for k, v in DEFAULTS.items() if k != "live-restore"}
    assert DAEMON_JSON.read_bytes() == before
    assert not Path("/var/lib/berth/runtime-restart-pending").exists()
    assert _daemon_pid() == pid
