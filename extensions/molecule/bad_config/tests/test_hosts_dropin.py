""""hosts" in daemon.json on the systemd hosts: the unit passes -H, so the
role refuses it unless berth_daemon_hosts_override writes a drop-in that
starts dockerd without -H; a failed restart puts a drop-in this run removed
back, and removes one this run added.

One sequence of runtime-role runs against every systemd host of the scenario
(module fixture), observed on each host with testinfra after every step; each
test checks every systemd host (the host without systemd has no unit to drop into).
"""

import json
import os

import pytest
import testinfra

from tests.support.ansible import run_playbook

ROLE_PLAY = """
- hosts: container_hosts
  gather_facts: false
  roles:
    - role: berth.engine.runtime
"""
LIMIT = "container_hosts:!no_systemd"
DROPIN = "/etc/systemd/system/docker.service.d/berth-hosts.conf"
LISTEN = {"hosts": ["unix:///var/run/docker.sock"]}
BAD = {"storage-driver": "berth-nonexistent"}


def observe(host):
    """What the host runs now: daemon.json, the drop-in, dockerd's command line and whether it answers."""
    pid = host.check_output("systemctl show -p MainPID --value docker.service")
    dropin = host.file(DROPIN)
    return {
        "daemon_json": json.loads(host.file("/etc/docker/daemon.json").content_string),
        "dropin": dropin.content_string if dropin.exists else None,
        "argv": host.file(f"/proc/{pid}/cmdline").content_string.split("\0") if pid != "0" else [],
        "answers": host.run("docker info --format '{{.Driver}}'").stdout.strip() == "overlay2",
    }


@pytest.fixture(scope="module")
def steps():
    inventory_file = os.environ["MOLECULE_INVENTORY_FILE"]
    inventory = os.path.dirname(inventory_file)

    def names(group):
        return {h.backend.get_hostname() for h in testinfra.get_hosts([f"ansible://{group}"],
                                                                      ansible_inventory=inventory_file)}

    hosts = {n: testinfra.get_host(f"ansible://{n}", ansible_inventory=inventory_file)
             for n in sorted(names("container_hosts") - names("no_systemd"))}
    assert hosts, "the scenario has no systemd host"
    record = {}

    def step(label, config, **extra):
        run = run_playbook(ROLE_PLAY, inventory=inventory, limit=LIMIT,
                           extra_vars=dict(extra, berth_daemon_config=config))
        record[label] = (run, {n: observe(h) for n, h in hosts.items()})

    record["start"] = (None, {n: observe(h) for n, h in hosts.items()})
    step("refused", LISTEN)
    step("override", LISTEN, berth_daemon_hosts_override=True)
    step("remove-fails", BAD)  # removes the drop-in, dockerd fails, the drop-in comes back
    step("back", {})
    step("add-fails", dict(LISTEN, **BAD), berth_daemon_hosts_override=True)  # adds it, fails, it goes
    step("again", {})  # after a rollback the same good settings change nothing
    record["hosts"] = sorted(hosts)
    return record


def _failed_task(run, name):
    failed = [t for t in run.tasks if t["host"] == name and t["failed"] and not t["ignore_errors"]]
    assert failed, run.describe()
    return failed[-1]


def test_hosts_is_refused_while_the_unit_passes_dash_h(steps):
    for name in steps["hosts"]:
        run, seen = steps["refused"]
        failed = _failed_task(run, name)
        assert failed["task"] == "Refuse hosts in daemon.json while the service passes -H"
        assert "-H fd://" in failed["msg"] and "berth_daemon_hosts_override" in failed["msg"]
        assert seen[name] == steps["start"][1][name]
        assert "fd://" in " ".join(seen[name]["argv"]), seen[name]["argv"]


def test_override_writes_a_drop_in_and_dockerd_runs_without_dash_h(steps):
    for name in steps["hosts"]:
        run, seen = steps["override"]
        assert run.recap[name]["failed"] == 0, run.describe()
        now = seen[name]
        assert now["daemon_json"]["hosts"] == LISTEN["hosts"]
        assert now["dropin"] and "ExecStart=" in now["dropin"]
        assert now["argv"][0].endswith("/dockerd") and not any(a.startswith("-H") for a in now["argv"]), now["argv"]
        assert now["answers"]


def test_a_failed_restart_puts_the_removed_drop_in_back(steps):
    for name in steps["hosts"]:
        run, seen = steps["remove-fails"]
        failed = _failed_task(run, name)
        assert "restored the previous /etc/docker/daemon.json" in failed["msg"], failed["msg"]
        assert "error initializing graphdriver" in failed["msg"]
        before, now = steps["override"][1][name], seen[name]
        assert now["dropin"] == before["dropin"]
        assert now["daemon_json"] == before["daemon_json"]
        assert not any(a.startswith("-H") for a in now["argv"]) and now["answers"]


def test_without_hosts_the_drop_in_goes_and_dash_h_is_back(steps):
    for name in steps["hosts"]:
        run, seen = steps["back"]
        assert run.recap[name]["failed"] == 0, run.describe()
        now = seen[name]
        assert now["dropin"] is None and "hosts" not in now["daemon_json"]
        assert "fd://" in " ".join(now["argv"]) and now["answers"], now["argv"]


def test_a_failed_restart_removes_the_drop_in_it_added(steps):
    for name in steps["hosts"]:
        run, seen = steps["add-fails"]
        failed = _failed_task(run, name)
        assert "restored the previous /etc/docker/daemon.json" in failed["msg"], failed["msg"]
        before, now = steps["back"][1][name], seen[name]
        assert now["dropin"] is None
        assert now["daemon_json"] == before["daemon_json"]
        assert "fd://" in " ".join(now["argv"]) and now["answers"]


def test_after_a_rollback_a_good_run_changes_nothing(steps):
    run, seen = steps["again"]
    for name in steps["hosts"]:
        assert run.recap[name]["failed"] == 0 and run.recap[name]["changed"] == 0, run.describe()
        assert seen[name] == steps["add-fails"][1][name]
