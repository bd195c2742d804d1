"""When managers fail: a rebuilt manager rejoins through a manager that answers, a lost quorum is
explained (and re-formed only when asked), against three private daemons observed with the Docker SDK."""
from __future__ import annotations

import docker
import pytest

from tests.integration.test_swarm import wait_for
from tests.support.ansible import module_helpers
from tests.support.private_daemon import private_daemons

_unused, ok, fails = module_helpers("berth.engine.swarm")
_unused, node_ok, _node_fails = module_helpers("berth.engine.swarm_node")


@pytest.fixture
def trio():
    with private_daemons(3, "swfail") as daemons:
        yield daemons


def three_managers(daemons):
    first = daemons[0]
    # A 1 s heartbeat: a dead node is seen down in seconds, not the default 15.
    first.client.swarm.init(advertise_addr=first.address, listen_addr="0.0.0.0:2377",
                            dispatcher_heartbeat_period=1_000_000_000)
    token = first.client.swarm.attrs["JoinTokens"]["Manager"]
    for other in daemons[1:]:
        other.client.swarm.join(remote_addrs=[first.address], join_token=token, advertise_addr=other.address)
    return first.client.swarm.attrs["ID"], token


def leader_lost(client):
    try:
        client.swarm.reload()
    except docker.errors.APIError as err:
        return "leader" in str(err)
    return False


def test_a_rebuilt_manager_rejoins_and_a_lost_quorum_is_explained(trio):
    first, second, third = trio
    cluster_id, token = three_managers(trio)
    old_id = first.client.info()["Swarm"]["NodeID"]
    managers = ok(dict(docker_host=second.docker_host, state="inspect"))["swarm"]["managers"]
    assert managers[0] == "%s:2377" % first.address, "sorted: the rebuilt host's own address comes first"

    first.rebuild()  # same address, empty engine: its own address answers no join
    joined = ok(dict(docker_host=first.docker_host, state="join", remote_addrs=managers, join_token=token,
                     cluster_id=cluster_id, advertise_addr=first.address))
    assert joined["changed"] and joined["actions"] == ["join"]
    info = first.client.info()["Swarm"]
    assert info["LocalNodeState"] == "active" and info["ControlAvailable"] and info["NodeID"] != old_id
    assert first.client.swarm.attrs["ID"] == cluster_id

    # The stale entry: demoted (it is down, so the raft can drop it) and removed.
    wait_for(lambda: second.client.nodes.get(old_id).attrs["Status"]["State"] == "down", what="old entry down")
    node_ok(dict(docker_host=second.docker_host, node=old_id, role="worker"))
    node_ok(dict(docker_host=second.docker_host, node=old_id, state="absent"))
    nodes = {n.id: n.attrs["Spec"]["Role"] for n in second.client.nodes.list()}
    assert old_id not in nodes and sorted(nodes.values()) == ["manager"] * 3

    # Two of three managers down: the quorum is lost. Nothing is changed, the message says what to do.
    second.halt()
    third.halt()
    wait_for(lambda: leader_lost(first.client), timeout=90, what="the leader to be lost")
    seen = ok(dict(docker_host=first.docker_host, state="inspect"))["swarm"]
    assert seen["quorum_lost"] is True and seen["role"] == "manager"
    for args in (dict(state="present", task_history_limit=3), dict(state="join", remote_addrs=[second.address],
                                                                   join_token=token, cluster_id=cluster_id)):
        msg = fails(dict(docker_host=first.docker_host, **args))
        assert "lost its quorum" in msg and "%s:2377" % third.address in msg, msg
        assert "Bring the managers that are down back" in msg and "force_new_cluster" in msg
        assert "Traceback" not in msg and token not in msg
    assert leader_lost(first.client) and first.client.info()["Swarm"]["LocalNodeState"] == "active"

    # Only when asked: re-form the cluster from the one manager left, keeping its ID.
    predicted = ok(dict(docker_host=first.docker_host, force_new_cluster=True), check=True, diff=True)
    assert predicted["actions"] == ["force_new_cluster"] and leader_lost(first.client)
    reformed = ok(dict(docker_host=first.docker_host, force_new_cluster=True), diff=True)
    assert reformed["changed"] and reformed["diff"] == predicted["diff"]
    first.client.swarm.reload()
    assert first.client.swarm.attrs["ID"] == cluster_id
    in_raft = [n.id for n in first.client.nodes.list() if n.attrs.get("ManagerStatus")]
    assert in_raft == [first.client.info()["Swarm"]["NodeID"]], "this is the only manager left"
    assert not ok(dict(docker_host=first.docker_host, force_new_cluster=True))["changed"]
