"""The runtime role and its two modules (daemon_config, runtime_facts) on this machine.

Checked through other paths than Berth's modules: daemon.json read from disk,
the daemon's view through the Docker SDK, the daemon's pid from its pid file,
packages from dpkg-query. The first run on an unprovisioned machine restarts
the daemon once; CI provisions localhost (site.yml) before the integration
tests, so here every role run must be a no-op that leaves the daemon process
alone. The daemon_config module itself is exercised on files in tmp_path.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.support.ansible import module_helpers, run_playbook

DAEMON_JSON = Path("/etc/docker/daemon.json")
PLAY = """
- hosts: container_hosts
  gather_facts: false
  roles:
    - role: berth.engine.runtime
"""
DEFAULTS = {"live-restore": True, "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}
WRITE_TASK = "Write daemon.json (checked, validated, atomic, with a backup)"
converge, ok, fails = module_helpers("berth.engine.daemon_config")


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
    assert [t["task"] for t in failed] == [WRITE_TASK], run.describe()
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
    write = run.task(WRITE_TASK)
    assert write["changed"] is True
    diff = write["diff"]
    assert json.loads(diff["before"]) == DEFAULTS
    assert json.loads(diff["after"]) == {k: v for k, v in DEFAULTS.items() if k != "live-restore"}
    assert DAEMON_JSON.read_bytes() == before
    assert not Path("/var/lib/berth/runtime-restart-pending").exists()
    assert _daemon_pid() == pid


def test_no_change_run_reads_the_host_with_one_probe_and_writes_nothing():
    run = run_playbook(PLAY)
    assert not run.failed, run.describe()
    assert run.recap["localhost"]["changed"] == 0
    # What runs on the host: the role's own fact gathering (the play gathers none), the one probe and
    # the daemon.json module; no stat/uri/shell/slurp/command probes, no copy or blockinfile.
    on_host = sorted(t["action"] for t in run.tasks if t["status"] != "skipped"
                     and t["action"] not in ("ansible.builtin.set_fact", "ansible.builtin.assert",
                                             "ansible.builtin.include_tasks", "ansible.builtin.validate_argument_spec"))
    assert on_host == ["ansible.builtin.setup", "berth.engine.daemon_config", "berth.engine.runtime_facts"], on_host
    probe = run.task("Read the engine's state on the host")["result"]
    write = run.task(WRITE_TASK)["result"]
    assert write["actions"] == [] and write["restart_needed"] is False and write["backup_file"] == ""
    assert write["config"] == DEFAULTS
    assert probe["restart_pending"] is False


def test_runtime_facts_match_what_the_host_says(docker_client):
    facts = ok({"packages": ["docker.io", "containerd", "runc", "docker-ce", "berth-no-such-package"],
                "commands": ["iptables", "berth-no-such-command"], "timeout": 5},
               module="berth.engine.runtime_facts")
    dpkg = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "docker.io", "containerd", "runc"],
                          capture_output=True, text=True, check=True).stdout
    assert facts["packages"] == dict(line.split(" ", 1) for line in dpkg.splitlines())
    assert facts["commands"]["berth-no-such-command"] == "" and facts["commands"]["iptables"].endswith("/iptables")
    version = docker_client.version()
    info = docker_client.info()
    assert facts["daemon"] == {"reachable": True, "version": version["Version"], "api_version": version["ApiVersion"],
                               "live_restore": info["LiveRestoreEnabled"], "swarm": info["Swarm"]["LocalNodeState"],
                               "storage_driver": info["Driver"]}
    assert facts["systemd"] is Path("/run/systemd/system").is_dir()
    assert facts["daemon_json"]["content"] == json.loads(DAEMON_JSON.read_text())
    assert facts["restart_pending"] is Path("/var/lib/berth/runtime-restart-pending").exists()
    help_text = subprocess.run([facts["dockerd"]["path"], "--help"], capture_output=True, text=True, check=False).stdout
    assert facts["dockerd"]["validate"] is ("--validate" in help_text)


def test_runtime_facts_report_an_unreachable_daemon_and_wait_for_it(tmp_path):
    socket_path = tmp_path / "no-daemon.sock"
    facts = ok({"gather": ["daemon"], "docker_host": f"unix://{socket_path}", "wait": 2, "timeout": 1},
               module="berth.engine.runtime_facts")
    assert facts["daemon"]["reachable"] is False
    assert "does not exist" in facts["daemon"]["error"]
    assert "packages" not in facts and "dockerd" not in facts


def _file(tmp_path):
    return tmp_path / "docker" / "daemon.json"


def _backups(path: Path):
    return sorted(path.parent.glob(path.name + ".*~"))


def test_daemon_config_writes_then_changes_nothing_and_backs_up_a_replaced_file(tmp_path):
    path = _file(tmp_path)
    args = {"path": str(path), "defaults": DEFAULTS, "config": {"log-opts": {"max-size": "50m"}}}
    first = ok(args)
    assert first["changed"] and first["restart_needed"] and first["existed"] is False and first["backup_file"] == ""
    written = json.loads(path.read_text())
    assert written == dict(DEFAULTS, **{"log-opts": {"max-size": "50m", "max-file": "3"}})
    assert oct(path.stat().st_mode & 0o777) == "0o644" and path.stat().st_uid == os.geteuid()
    assert not list(path.parent.glob(".daemon.json.*")), "a temporary file was left behind"

    again = ok(args)
    assert not again["changed"] and again["actions"] == [] and again["restart_needed"] is False

    # the same settings in another layout are the same configuration
    path.write_text(json.dumps(written, separators=(",", ":")))
    assert not ok(args)["changed"]

    previous = path.read_text()
    marker = tmp_path / "state" / "restart-pending"
    changed = ok(dict(args, config={"mtu": 1400}, restart_marker=str(marker)))
    assert changed["changed_keys"] == ["log-opts", "mtu"] and changed["restart_needed"]
    assert Path(changed["backup_file"]).read_text() == previous
    assert _backups(path) == [Path(changed["backup_file"])]
    assert marker.read_text() == f"{path} changed; daemon restart pending\n"
    marker.unlink()
    assert not ok(dict(args, config={"mtu": 1400}, restart_marker=str(marker)))["changed"]
    assert not marker.exists(), "an unchanged file asked for a restart"


def test_daemon_config_check_and_diff_mode_write_nothing(tmp_path):
    path = _file(tmp_path)
    path.parent.mkdir()
    path.write_text(json.dumps(DEFAULTS))
    before = path.read_bytes()
    result = ok({"path": str(path), "defaults": DEFAULTS, "config": {"live-restore": None, "debug": True}},
                check=True, diff=True)
    assert result["changed"] and result["changed_keys"] == ["debug", "live-restore"]
    diff = result["diff"]
    assert json.loads(diff["before"]) == DEFAULTS
    assert json.loads(diff["after"]) == {"debug": True, "log-driver": "json-file", "log-opts": DEFAULTS["log-opts"]}
    assert path.read_bytes() == before and _backups(path) == []


def test_daemon_config_fixes_the_mode_without_asking_for_a_restart(tmp_path):
    path = _file(tmp_path)
    ok({"path": str(path), "defaults": DEFAULTS})
    path.chmod(0o600)
    fixed = ok({"path": str(path), "defaults": DEFAULTS})
    assert fixed["changed"] and fixed["actions"] == ["set_attributes"] and fixed["restart_needed"] is False
    assert oct(path.stat().st_mode & 0o777) == "0o644" and _backups(path) == []


def test_daemon_config_refuses_unknown_keys_with_the_closest_one(tmp_path):
    path = _file(tmp_path)
    msg = fails({"path": str(path), "config": {"live-restor": True}})
    assert "live-restor is not a daemon.json setting dockerd knows (did you mean live-restore?)" in msg
    assert not path.exists()
    passed = ok({"path": str(path), "config": {"some-future-option": [1]}, "allow_unknown_keys": True,
                 "validate_with": ""})
    assert json.loads(path.read_text()) == {"some-future-option": [1]} and passed["validated"] is False
    # The value checks every module makes (common.checked_module): a NUL byte is named, not a crash.
    msg = fails({"path": str(path) + "\x00.d", "config": {}})
    assert "path must not contain a NUL byte" in msg and "Traceback" not in msg


def test_daemon_config_leaves_the_file_alone_when_the_validator_refuses(tmp_path):
    path = _file(tmp_path)
    path.parent.mkdir()
    path.write_text(json.dumps(DEFAULTS))
    before = path.read_bytes()
    # A validator with dockerd's interface (--validate --config-file FILE) that refuses mtu 1234.
    validator = tmp_path / "dockerd-validate"
    validator.write_text('#!/bin/sh\nif grep -q 1234 "$3"; then echo "invalid mtu in $3" >&2; exit 1; fi\n'
                         'echo configuration OK\n')
    validator.chmod(0o755)
    msg = fails({"path": str(path), "defaults": DEFAULTS, "config": {"mtu": 1234}, "validate_with": str(validator)})
    assert "dockerd --validate refused the new configuration" in msg and "invalid mtu in the new file" in msg
    assert path.read_bytes() == before and _backups(path) == []
    assert [p.name for p in path.parent.iterdir()] == ["daemon.json"]
    accepted = ok({"path": str(path), "defaults": DEFAULTS, "config": {"mtu": 1400}, "validate_with": str(validator)})
    assert accepted["validated"] is True and json.loads(path.read_text())["mtu"] == 1400


def test_daemon_config_refuses_a_data_root_on_overlayfs(tmp_path):
    """A real overlay mount: overlay2 cannot stack on it, and dockerd would start on vfs instead."""
    path = _file(tmp_path)
    path.parent.mkdir()
    path.write_text(json.dumps(DEFAULTS))
    before = path.read_bytes()
    layers = {name: tmp_path / name for name in ("lower", "upper", "work", "merged")}
    for directory in layers.values():
        directory.mkdir()
    options = "lowerdir={lower},upperdir={upper},workdir={work}".format(**layers)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(layers["merged"])], check=True)
    try:
        data_root = str(layers["merged"] / "docker")
        msg = fails({"path": str(path), "defaults": DEFAULTS, "config": {"data-root": data_root}, "validate_with": ""})
        assert msg.startswith(f"{path} was left unchanged: The data root {data_root} is on an overlay filesystem")
        assert "overlay2 cannot stack on overlayfs" in msg, msg
        assert path.read_bytes() == before and _backups(path) == []
        # Choosing a driver that can run there is the user's way out.
        chosen = ok({"path": str(path), "defaults": DEFAULTS, "validate_with": "",
                     "config": {"data-root": data_root, "storage-driver": "vfs"}})
        assert chosen["changed"] and json.loads(path.read_text())["storage-driver"] == "vfs"
    finally:
        subprocess.run(["umount", str(layers["merged"])], check=True)
