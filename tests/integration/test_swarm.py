"""berth.engine.swarm and swarm_node against private daemons (each in its own network namespace).

Swarm mode would change the shared daemon for everyone, so every test here gets fresh private
daemons (tests/support/private_daemon.py); their state is observed with the Docker SDK.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ansible import REPO_ROOT, module_helpers, run_playbook
from tests.support.private_daemon import private_daemons

converge, ok, fails = module_helpers("berth.engine.swarm")
_unused, node_ok, node_fails = module_helpers("berth.engine.swarm_node")
_unused, service_ok, service_fails = module_helpers("berth.engine.service")


@pytest.fixture
def pair():
    with private_daemons(2, "swarm") as daemons:
        yield daemons


def local_state(daemon):
    return daemon.client.info()["Swarm"]["LocalNodeState"]


def swarm_args(daemon, **args):
    return dict(docker_host=daemon.docker_host, **args)


def init(daemon, **args):
    return ok(swarm_args(daemon, state="present", advertise_addr=daemon.address, **args))


def test_init_check_diff_idempotence_spec_update_and_leave(pair):
    manager = pair[0]
    predicted = ok(swarm_args(manager, advertise_addr=manager.address, task_history_limit=3), check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["init"]
    assert predicted["diff"]["after"] == {"state": "active", "task_history_limit": 3}
    assert local_state(manager) == "inactive", "check mode changed nothing"

    created = init(manager, task_history_limit=3)
    assert created["changed"] and created["actions"] == ["init"]
    seen = manager.client.swarm.attrs
    assert seen["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 3
    assert created["swarm"]["cluster_id"] == seen["ID"] and created["swarm"]["role"] == "manager"
    assert created["swarm"]["node_id"] == manager.client.info()["Swarm"]["NodeID"]
    assert "tokens" not in created and seen["JoinTokens"]["Worker"] not in created["_stdout"]

    again = init(manager, task_history_limit=3)
    assert not again["changed"] and again["actions"] == []

    change = swarm_args(manager, task_history_limit=7, dispatcher_heartbeat="7s", snapshot_interval=5000)
    planned = ok(change, check=True, diff=True)
    assert planned["actions"] == ["update"]
    assert planned["diff"]["before"]["task_history_limit"] == 3
    assert planned["diff"]["after"] == {"task_history_limit": 7, "dispatcher_heartbeat": 7_000_000_000,
                                        "snapshot_interval": 5000}
    assert manager.client.swarm.attrs["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 3
    updated = ok(change, diff=True)
    assert updated["changed"] and updated["diff"] == planned["diff"]
    spec = manager.client.swarm.attrs["Spec"]
    assert spec["Orchestration"]["TaskHistoryRetentionLimit"] == 7
    assert spec["Dispatcher"]["HeartbeatPeriod"] == 7_000_000_000 and spec["Raft"]["SnapshotInterval"] == 5000
    assert manager.client.swarm.attrs["ID"] == seen["ID"], "updated in place"
    assert not ok(change)["changed"]

    msg = fails(swarm_args(manager, state="absent"))
    assert "is a swarm manager" in msg and "force: true" in msg
    assert local_state(manager) == "active"
    left = ok(swarm_args(manager, state="absent", force=True))
    assert left["changed"] and left["actions"] == ["leave"] and local_state(manager) == "inactive"
    assert not ok(swarm_args(manager, state="absent"))["changed"]


def test_bad_input_fails_cleanly(pair):
    msg = fails(swarm_args(pair[0], state="join", remote_addrs=[pair[1].address]))
    assert "join_token" in msg
    msg = fails(swarm_args(pair[0], dispatcher_heartbeat="soon"))
    assert "dispatcher_heartbeat must be a duration" in msg
    assert local_state(pair[0]) == "inactive"


JOIN_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Tokens
      berth.engine.swarm:
        docker_host: "{{ manager_host }}"
        state: inspect
        return_tokens: true
      register: cluster
    - name: Join
      berth.engine.swarm:
        docker_host: "{{ worker_host }}"
        state: join
        remote_addrs: ["{{ manager_addr }}"]
        advertise_addr: "{{ worker_addr }}"
        join_token: "{{ cluster.tokens.worker }}"
        cluster_id: "{{ cluster.swarm.cluster_id }}"
      register: joined
    - name: Facts
      ansible.builtin.debug:
        msg: "{{ joined.swarm }}"
"""


def join_vars(manager, worker):
    return {"manager_host": manager.docker_host, "worker_host": worker.docker_host,
            "manager_addr": manager.address, "worker_addr": worker.address}


def run_plain_vvv(playbook_text, extra_vars, tmp_path, more_args=()):
    """ansible-playbook -vvv with the default (human) output, as a user would see and log it."""
    path = tmp_path / "join.yml"
    path.write_text(playbook_text)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_NOCOLOR="1")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local", str(path),
           "-e", json.dumps(extra_vars), "-vvv", *more_args]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_join_tokens_never_logged_and_idempotent(pair, tmp_path):
    manager, worker = pair
    init(manager)
    tokens = manager.client.swarm.attrs["JoinTokens"]
    proc = run_plain_vvv(JOIN_PLAYBOOK, join_vars(manager, worker), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for token in tokens.values():
        assert token not in proc.stdout and token not in proc.stderr, "a join token was logged"
    assert "no_log: true" in proc.stdout, "the tokens result is censored"
    worker_node = worker.client.info()["Swarm"]["NodeID"]
    nodes = {n.id: n.attrs for n in manager.client.nodes.list()}
    assert nodes[worker_node]["Spec"]["Role"] == "worker"
    again = run_playbook(JOIN_PLAYBOOK, extra_vars=join_vars(manager, worker))
    assert not again.failed and not again.task("Join")["changed"], again.describe()
    assert again.task("Tokens")["result"]["_ansible_no_log"] is True


def test_joining_a_host_of_another_swarm_fails_naming_both_ids(pair):
    first, second = pair
    init(first)
    init(second)
    first_id, second_id = first.client.swarm.attrs["ID"], second.client.swarm.attrs["ID"]
    token = first.client.swarm.attrs["JoinTokens"]["Manager"]
    args = swarm_args(second, state="join", remote_addrs=[first.address], join_token=token, cluster_id=first_id)
    for check in (True, False):
        msg = fails(args, check=check)
        assert first_id in msg and second_id in msg and "nothing was changed" in msg
    assert token not in msg
    # Without cluster_id the token tells: the other swarm did not issue it.
    msg = fails(dict(args, cluster_id=None))
    assert second_id in msg and "did not issue the join token" in msg
    assert second.client.swarm.attrs["ID"] == second_id and len(first.client.nodes.list()) == 1


def wait_for(predicate, timeout=60, what="condition", describe=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out waiting for %s %s" % (what, describe()))


def running_on(client, service, node_id):
    tasks = client.api.tasks(filters={"service": service, "node": node_id, "desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"]


def test_swarm_node_labels_roles_drain_and_removal(pair, docker_client, test_images):
    manager, worker = pair
    init(manager)
    run = run_playbook(JOIN_PLAYBOOK, extra_vars=join_vars(manager, worker))
    assert not run.failed, run.describe()
    worker_id = worker.client.info()["Swarm"]["NodeID"]
    on_manager = {"docker_host": manager.docker_host, "node": worker_id}

    labelled = node_ok(dict(on_manager, labels={"io.berth.zone": "b"}), diff=True)
    assert labelled["changed"] and labelled["diff"]["after"] == {"labels": {"io.berth.zone": "b"}}
    node_ok(dict(on_manager, labels={"io.berth.rack": "7"}))
    assert manager.client.nodes.get(worker_id).attrs["Spec"]["Labels"] == {"io.berth.zone": "b", "io.berth.rack": "7"}
    replaced = node_ok(dict(on_manager, labels={"io.berth.rack": "7"}, labels_state="replace"), check=True)
    assert replaced["changed"] and manager.client.nodes.get(worker_id).attrs["Spec"]["Labels"]["io.berth.zone"] == "b"
    node_ok(dict(on_manager, labels={"io.berth.rack": "7"}, labels_state="replace"))
    assert manager.client.nodes.get(worker_id).attrs["Spec"]["Labels"] == {"io.berth.rack": "7"}
    assert not node_ok(dict(on_manager, labels={"io.berth.rack": "7"}))["changed"]

    promoted = node_ok(dict(on_manager, role="manager"))
    assert promoted["actions"] == ["update"]
    wait_for(lambda: worker.client.info()["Swarm"]["ControlAvailable"], what="the promotion")
    assert not node_ok(dict(on_manager, role="manager"))["changed"]
    node_ok(dict(on_manager, role="worker"))
    assert manager.client.nodes.get(worker_id).attrs["Spec"]["Role"] == "worker"

    for daemon in pair:
        daemon.load_image(test_images.busybox, docker_client)
    service = manager.client.services.create(test_images.busybox, ["sleep", "3600"], name="berth-t-drain",
                                             mode={"Replicated": {"Replicas": 4}})
    wait_for(lambda: running_on(manager.client, service.id, worker_id), what="tasks on the worker")
    drained = node_ok(dict(on_manager, availability="drain"))
    assert drained["actions"] == ["update", "wait_drained"]
    assert running_on(manager.client, service.id, worker_id) == [], "drain returned before the tasks moved"
    again = node_ok(dict(on_manager, availability="drain"))
    assert not again["changed"]

    msg = node_fails(dict(on_manager, state="absent", wait_timeout=2))
    assert "is not down" in msg and worker_id in {n.id for n in manager.client.nodes.list()}
    ok(swarm_args(worker, state="absent"))
    removed = node_ok(dict(on_manager, state="absent", wait_timeout=60))
    assert removed["actions"] == ["remove"]
    assert [n.id for n in manager.client.nodes.list()] == [manager.client.info()["Swarm"]["NodeID"]]
    assert not node_ok(dict(on_manager, state="absent"))["changed"]


KERNEL_YES = {"io.berth.kernel.ip_vs": "true", "io.berth.kernel.esp": "true"}


def test_the_kernel_labels_of_every_node_decide_the_service_kernel_check(pair, docker_client, test_images):
    """With the labels on both nodes, they (not this host's kernel) decide; one node without IP_VS refuses."""
    manager, worker = pair
    init(manager)
    run = run_playbook(JOIN_PLAYBOOK, extra_vars=join_vars(manager, worker))
    assert not run.failed, run.describe()
    manager_id, worker_id = (d.client.info()["Swarm"]["NodeID"] for d in pair)
    node_ok({"docker_host": manager.docker_host, "node": manager_id, "labels": KERNEL_YES})
    node_ok({"docker_host": manager.docker_host, "node": worker_id,
             "labels": dict(KERNEL_YES, **{"io.berth.kernel.ip_vs": "false"})})
    for daemon in pair:
        daemon.load_image(test_images.busybox, docker_client)
    ingress = {"docker_host": manager.docker_host, "name": "berth-t-kernel", "image": test_images.busybox,
               "resolve_image": False, "args": ["sleep", "3600"], "wait": False,
               "ports": [{"target": 8080, "published": 18095}]}

    refused = service_fails(ingress)
    assert "node labels io.berth.kernel.* say node(s)" in refused and "ip_vs" in refused, refused
    assert "nothing was changed" in refused and manager.client.services.list() == []

    node_ok({"docker_host": manager.docker_host, "node": worker_id, "labels": {"io.berth.kernel.ip_vs": "true"}})
    created = service_ok(ingress)
    assert created["changed"] and created["actions"] == ["create"]
    spec = manager.client.services.get("berth-t-kernel").attrs["Spec"]
    assert spec["EndpointSpec"]["Ports"][0]["PublishMode"] == "ingress"


AUTOLOCK_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Autolock on
      berth.engine.swarm:
        docker_host: "{{ manager_host }}"
        autolock: true
        return_tokens: true
      register: locked
    - name: Keep the key where the test can read it
      ansible.builtin.copy:
        content: "{{ locked.tokens.unlock_key }}"
        dest: "{{ key_file }}"
        mode: "0600"
      no_log: true
"""


def test_autolock_then_unlock_after_a_daemon_restart(pair, tmp_path):
    manager = pair[0]
    init(manager)
    key_file = tmp_path / "key"
    run = run_playbook(AUTOLOCK_PLAYBOOK, extra_vars={"manager_host": manager.docker_host, "key_file": str(key_file)})
    assert not run.failed, run.describe()
    key = key_file.read_text()
    assert key.startswith("SWMKEY-1-") and key not in run.stdout
    assert run.task("Autolock on")["changed"]
    assert manager.client.swarm.attrs["Spec"]["EncryptionConfig"]["AutoLockManagers"] is True

    manager.restart()
    assert local_state(manager) == "locked"
    msg = fails(swarm_args(manager))
    assert "locked" in msg and "unlock_key" in msg
    unlocked = ok(swarm_args(manager, unlock_key=key))
    assert unlocked["actions"] == ["unlock"] and key not in unlocked["_stdout"]
    assert local_state(manager) == "active"
    assert not ok(swarm_args(manager, autolock=True))["changed"]
