"""swarm_info, node_info and service_info on a private single-node swarm (own network namespace), against what
the Docker SDK sees: nodes, services, tasks with their errors and nodes, filters, tokens only when asked."""
from __future__ import annotations

import pytest

from tests.integration.test_swarm import run_plain_vvv, wait_for
from tests.support.ansible import module_helpers
from tests.support.private_daemon import private_daemons

_unused, info_ok, info_fails = module_helpers("berth.engine.swarm_info")
_unused, node_ok, node_fails = module_helpers("berth.engine.node_info")
_unused, service_ok, _service_fails = module_helpers("berth.engine.service_info")


@pytest.fixture
def manager(docker_client, test_images):
    with private_daemons(1, "swinfo") as (daemon,):
        for image in (test_images.busybox, test_images.failing):
            daemon.load_image(image, docker_client)
        yield daemon


TOKENS_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Read
      berth.engine.swarm_info:
        docker_host: "{{ manager_host }}"
        return_tokens: true
      register: cluster
    - name: Use
      ansible.builtin.assert:
        that: cluster.tokens.worker is match('SWMTKN-')
        quiet: true
"""


def test_info_modules_read_the_cluster_as_the_engine_sees_it(manager, test_images, tmp_path):
    host = dict(docker_host=manager.docker_host)
    outside = info_ok(host)
    assert outside["swarm"]["local_node_state"] == "inactive" and outside["cluster"] is None
    assert "not a swarm manager" in info_fails(dict(host, nodes=True))

    manager.client.swarm.init(advertise_addr=manager.address)
    node_id = manager.client.info()["Swarm"]["NodeID"]
    sleeper = manager.client.services.create(test_images.busybox, ["sleep", "3600"], name="berth-t-sleeper",
                                             mode={"Replicated": {"Replicas": 2}}, labels={"tier": "back"},
                                             stop_grace_period=1_000_000_000)
    failing = manager.client.services.create(test_images.failing, name="berth-t-failing",
                                             restart_policy={"Condition": "none"})
    wait_for(lambda: len([t for t in sleeper.tasks() if t["Status"]["State"] == "running"]) == 2,
             what="sleepers", timeout=90, describe=lambda: [t["Status"] for t in sleeper.tasks()])
    wait_for(lambda: [t for t in failing.tasks() if t["Status"]["State"] == "failed"], what="the failing task")

    seen = info_ok(dict(host, nodes=True, services=True, services_filters={"label": "tier=back"}, tasks=True,
                        tasks_filters={"service": "berth-t-failing"}))
    cluster = manager.client.swarm.attrs
    assert seen["cluster"]["ID"] == cluster["ID"] and "JoinTokens" not in seen["cluster"]
    assert cluster["JoinTokens"]["Worker"] not in str(seen)
    assert [n["id"] for n in seen["nodes"]] == [node_id] and seen["nodes"][0]["role"] == "manager"
    assert [s["name"] for s in seen["services"]] == ["berth-t-sleeper"]
    assert seen["services"][0]["replicas"] == 2 and seen["services"][0]["running_tasks"] == 2
    [failed] = seen["tasks"]
    engine_task = manager.client.api.tasks(filters={"service": "berth-t-failing"})[0]
    assert failed["service"] == "berth-t-failing" and failed["state"] == "failed"
    assert failed["error"] == engine_task["Status"]["Err"] and "non-zero exit" in failed["error"]
    assert failed["exit_code"] == engine_task["Status"]["ContainerStatus"]["ExitCode"] != 0
    assert failed["node_id"] == node_id and failed["node"] == manager.client.info()["Name"]

    verbose = info_ok(dict(host, nodes=True, services=True, services_filters={"label": "tier=back"}, tasks=True,
                           tasks_filters={"service": "berth-t-failing"}, verbose_output=True))
    assert [n["ID"] for n in verbose["nodes"]] == [node_id]
    assert verbose["nodes"][0]["Spec"] == manager.client.nodes.get(node_id).attrs["Spec"]
    [full_service] = verbose["services"]
    assert full_service["ID"] == sleeper.id and full_service["Spec"] == manager.client.services.get(sleeper.id).attrs[
        "Spec"] and full_service["ServiceStatus"]["RunningTasks"] == 2
    [full_task] = verbose["tasks"]
    assert full_task["ID"] == engine_task["ID"] and full_task["Status"]["Err"] == engine_task["Status"]["Err"]
    assert full_task["Spec"]["ContainerSpec"]["Image"] == engine_task["Spec"]["ContainerSpec"]["Image"]

    sleeping = service_ok(dict(host, name="berth-t-sleeper"))
    assert sleeping["exists"] and sleeping["service"]["ID"] == sleeper.id
    assert sleeping["summary"]["running_tasks"] == 2 and sorted(t["slot"] for t in sleeping["tasks"]) == [1, 2]
    broken = service_ok(dict(host, name=failing.id))
    assert broken["tasks"][0]["error"] == engine_task["Status"]["Err"] and broken["tasks"][0]["node_id"] == node_id
    missing = service_ok(dict(host, name="berth-t-none"))
    assert missing["exists"] is False and missing["service"] == {} and "tasks" not in missing

    node = node_ok(dict(host, node=manager.client.info()["Name"], tasks=True))
    assert node["exists"] and node["node"]["ID"] == node_id and node["summary"]["leader"] is True
    assert {t["service"] for t in node["tasks"]} == {"berth-t-sleeper", "berth-t-failing"}
    assert node_ok(dict(host, node="no-such-node"))["exists"] is False
    me = node_ok(dict(host, self=True))
    assert me["exists"] and me["node"]["ID"] == node_id and me["summary"]["hostname"] == manager.client.info()["Name"]
    assert "mutually exclusive" in node_fails(dict(host, self=True, node=node_id))

    proc = run_plain_vvv(TOKENS_PLAYBOOK, {"manager_host": manager.docker_host}, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for token in cluster["JoinTokens"].values():
        assert token not in proc.stdout and token not in proc.stderr, "a join token was logged"
