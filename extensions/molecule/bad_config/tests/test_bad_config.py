"""A bad berth_daemon_config on a running host: the play fails saying why (the
daemon's own message when the daemon is the one that refuses) and the daemon
keeps running with the previous daemon.json (and its containers keep
answering). On a host without systemd too.

Each case runs site.yml once against all of the scenario's hosts, the way a
user would (ansible-playbook with Molecule's inventory), then every host is
checked.
"""

import json
import os

import berth_checks as checks
import pytest

from tests.support.ansible import run_playbook

WRITE_TASK = "Write daemon.json (checked, validated, atomic, with a backup)"
ROLLED_BACK_TASK = "Fail with the daemon's message (the previous configuration is running again)"

# name -> (bad berth_daemon_config, what the failure says, who refuses it)
CASES = {
    # Berth's own check, before anything is written, on every host.
    "unknown-key": (
        {"live-restor": False},
        "live-restor is not a daemon.json setting dockerd knows (did you mean live-restore?)",
        "berth",
    ),
    # The right type, but dockerd refuses the value: `dockerd --validate` says so
    # before the file is replaced where dockerd has it (Debian 13's 26.x); 20.10
    # (Debian 12) refuses to start with it and the role rolls back.
    "dns-not-an-ip": ({"dns": ["berth-not-an-ip"]}, "berth-not-an-ip", "dockerd"),
    # Valid for --validate, fails only when the daemon starts, on every release:
    # the restart, rollback and restart again path.
    "storage-driver": ({"storage-driver": "berth-nonexistent"}, "error initializing graphdriver", "restart"),
}


def no_systemd(host_vars):
    return "no_systemd" in host_vars.get("group_names", [])


def has_validate(host):
    return "--validate" in host.run("dockerd --help").stdout


@pytest.fixture(scope="module", params=sorted(CASES))
def bad_run(request):
    """Apply one bad configuration to every host of the scenario with site.yml."""
    config, _unused, _unused = CASES[request.param]
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    run = run_playbook(
        "site.yml",
        inventory=inventory,
        extra_vars={"berth_daemon_config": config},
        limit="container_hosts",
    )
    return request.param, run


def test_play_fails_saying_why(host, bad_run):
    case, run = bad_run
    name = host.backend.get_hostname()
    _unused, says, refused_by = CASES[case]
    assert run.recap[name]["failed"] >= 1, f"{case}: the play did not fail on {name}\n{run.describe()}"
    # The last failure is the one that stopped the host (failures before it
    # were handled by the role's rollback).
    failures = [t for t in run.tasks if t["host"] == name and t["failed"] and not t["ignore_errors"]]
    assert failures, run.describe()
    last = failures[-1]
    msg = json.dumps(last["result"])
    print(f"{case} on {name}: task {last['task']!r} failed: {last['msg']}")
    assert says in msg, f"{case}: {name} failed without saying {says!r}: {msg}"
    before_write = refused_by == "berth" or (refused_by == "dockerd" and has_validate(host))
    if before_write:
        assert last["task"] == WRITE_TASK, msg
        if refused_by == "dockerd":
            assert "dockerd --validate refused the new configuration" in last["msg"]
    else:
        assert last["task"] == ROLLED_BACK_TASK, msg
        assert "restored the previous /etc/docker/daemon.json" in last["msg"] and "running with it again" in last["msg"]
    # Nobody got a traceback for it.
    assert not run.exceptions, run.exceptions


def check_engine(host, host_vars):
    if not no_systemd(host_vars):
        checks.check_engine_under_systemd(host)
        return
    # No systemd: dockerd runs from the init script (or the role's stand-in) with its pid file.
    assert host.file("/proc/1/comm").content_string.strip() != "systemd"
    pid = host.file("/var/run/docker.pid").content_string.strip()
    assert host.file(f"/proc/{pid}/comm").content_string.strip() == "dockerd"
    assert host.run("docker version --format '{{.Server.Version}}'").rc == 0


def test_daemon_runs_with_the_previous_daemon_json(host, host_vars, expected_daemon_json, bad_run):
    check_engine(host, host_vars)
    checks.check_daemon_json(host, host_vars, expected_daemon_json)
    checks.check_storage_driver(host, host_vars)
    assert not host.file("/var/lib/berth/runtime-restart-pending").exists
    # The running daemon really uses that file: a new container gets its log options.
    log_config = json.loads(
        host.check_output(
            "docker create --name berth-log-probe berth-test/http:v1 >/dev/null && "
            "docker inspect -f '{{json .HostConfig.LogConfig}}' berth-log-probe; "
            "docker rm -f berth-log-probe >/dev/null"
        )
    )
    assert log_config["Type"] == expected_daemon_json["log-driver"]
    assert log_config["Config"] == expected_daemon_json["log-opts"]


def test_workload_still_answers(host, host_vars, bad_run):
    checks.check_workload(host, host_vars)
