"""A bad berth_daemon_config on a running host: the play fails with the
daemon's own message and the daemon keeps running with the previous
daemon.json (and its containers keep answering).

Each case runs site.yml once against all of the scenario's hosts, the way a
user would (ansible-playbook with Molecule's inventory), then every host is
checked.
"""

import json
import os

import berth_checks as checks
import pytest

from tests.support.ansible import run_playbook

# name -> (bad berth_daemon_config, what the daemon says about it)
CASES = {
    # dockerd refuses unknown keys: --validate says so on Debian 13 before the
    # file is replaced; on Debian 12 (20.10, no --validate) dockerd fails to
    # start and the role rolls back.
    "unknown-key": (
        {"berth-no-such-option": True},
        "the following directives don't match any configuration option: berth-no-such-option",
    ),
    # Valid JSON of the right type that only fails when the daemon starts,
    # on both releases: the restart, rollback and restart again path.
    "storage-driver": (
        {"storage-driver": "berth-nonexistent"},
        "error initializing graphdriver",
    ),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def bad_run(request):
    """Apply one bad configuration to every host of the scenario with site.yml."""
    config, _ = CASES[request.param]
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    run = run_playbook(
        "site.yml",
        inventory=inventory,
        extra_vars={"berth_daemon_config": config},
        limit="container_hosts",
    )
    return request.param, run


def test_play_fails_with_the_daemons_message(host, bad_run):
    case, run = bad_run
    name = host.backend.get_hostname()
    _, daemon_says = CASES[case]
    assert run.recap[name]["failed"] >= 1, f"{case}: the play did not fail on {name}\n{run.describe()}"
    # The last failure is the one that stopped the host (failures before it
    # were rescued by the role's rollback).
    failures = [t for t in run.tasks if t["host"] == name and t["failed"] and not t["ignore_errors"]]
    assert failures, run.describe()
    msg = json.dumps(failures[-1]["result"])
    print(f"{case} on {name}: task {failures[-1]['task']!r} failed: {failures[-1]['msg']}")
    assert daemon_says in msg, f"{case}: {name} failed without the daemon's message: {msg}"
    # Nobody got a traceback for it.
    assert not run.exceptions, run.exceptions


def test_daemon_runs_with_the_previous_daemon_json(host, host_vars, expected_daemon_json, bad_run):
    checks.check_engine_under_systemd(host)
    checks.check_daemon_json(host, host_vars, expected_daemon_json)
    checks.check_storage_driver(host, host_vars)
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
