"""Cluster settings of berth.engine.swarm on private daemons (own network namespaces): the address pool and
raft settings at init, in-place updates, labels, token and CA rotation; observed with the Docker SDK."""
from __future__ import annotations

import time

import pytest

from tests.integration.test_swarm import run_plain_vvv
from tests.support.ansible import module_helpers
from tests.support.private_daemon import private_daemons

_unused, ok, fails = module_helpers("berth.engine.swarm")
_unused, node_ok, _node_fails = module_helpers("berth.engine.swarm_node")


@pytest.fixture
def pair():
    with private_daemons(2, "swcfg") as daemons:
        yield daemons


def test_init_only_settings_raft_and_labels_check_diff_idempotence(pair):
    manager = pair[0]
    args = dict(docker_host=manager.docker_host, advertise_addr=manager.address, default_addr_pool=["10.240.0.0/16"],
                subnet_size=26, data_path_port=4790, keep_old_snapshots=1, log_entries_for_slow_followers=600,
                labels={"io.example.team": "ops"})
    predicted = ok(args, check=True, diff=True)
    assert predicted["actions"] == ["init"] and predicted["diff"]["after"]["default_addr_pool"] == ["10.240.0.0/16"]
    assert manager.client.info()["Swarm"]["LocalNodeState"] == "inactive"
    assert ok(args)["changed"]
    seen = manager.client.swarm.attrs
    assert seen["DefaultAddrPool"] == ["10.240.0.0/16"] and seen["SubnetSize"] == 26 and seen["DataPathPort"] == 4790
    assert seen["Spec"]["Raft"]["KeepOldSnapshots"] == 1 and seen["Spec"]["Raft"]["LogEntriesForSlowFollowers"] == 600
    assert seen["Spec"]["Labels"] == {"io.example.team": "ops"}
    assert not ok(args)["changed"]

    msg = fails(dict(args, default_addr_pool=["10.241.0.0/16"]))
    assert "default_addr_pool is ['10.240.0.0/16'] in this swarm" in msg and "only when the swarm is created" in msg
    msg = fails(dict(args, data_path_port=4791))
    assert "data_path_port is 4790 in this swarm, not 4791" in msg and "only when the swarm is created" in msg
    assert manager.client.swarm.attrs["Version"] == seen["Version"], "nothing was changed"

    change = dict(docker_host=manager.docker_host, election_tick=20, heartbeat_tick=2, labels={"io.example.team": "x"})
    planned = ok(change, check=True, diff=True)
    assert planned["actions"] == ["update"] and manager.client.swarm.attrs["Version"] == seen["Version"]
    assert planned["diff"]["before"] == {"election_tick": 10, "heartbeat_tick": 1, "labels": {"io.example.team": "ops"}}
    assert planned["diff"]["after"] == {"election_tick": 20, "heartbeat_tick": 2, "labels": {"io.example.team": "x"}}
    assert ok(change, diff=True)["diff"] == planned["diff"]
    raft = manager.client.swarm.attrs["Spec"]["Raft"]
    assert (raft["ElectionTick"], raft["HeartbeatTick"]) == (20, 2)
    assert manager.client.swarm.attrs["Spec"]["Labels"] == {"io.example.team": "x"}
    assert not ok(change)["changed"]

    # Node labels: labels_to_remove drops those keys only.
    node_id = manager.client.info()["Swarm"]["NodeID"]
    node = dict(docker_host=manager.docker_host, node=node_id)
    node_ok(dict(node, labels={"zone": "a", "tier": "web"}))
    drop = dict(node, labels_to_remove=["zone"])
    planned = node_ok(drop, check=True, diff=True)
    assert planned["changed"] and planned["diff"]["before"] == {"labels": {"zone": "a"}}
    assert manager.client.nodes.get(node_id).attrs["Spec"]["Labels"] == {"zone": "a", "tier": "web"}
    assert node_ok(drop)["changed"]
    assert manager.client.nodes.get(node_id).attrs["Spec"]["Labels"] == {"tier": "web"}
    assert not node_ok(drop)["changed"]


ROTATE_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Rotate
      berth.engine.swarm:
        docker_host: "{{ manager_host }}"
        rotate_worker_token: true
      register: rotated
    - name: Tokens
      berth.engine.swarm:
        docker_host: "{{ manager_host }}"
        state: inspect
        return_tokens: true
      register: cluster
    - name: Show what was rotated
      ansible.builtin.debug:
        msg: "{{ rotated.rotated }}"
"""


def test_worker_token_rotation_and_ca_rotation(pair, tmp_path):
    manager, worker = pair
    ok(dict(docker_host=manager.docker_host, advertise_addr=manager.address))
    old = manager.client.swarm.attrs["JoinTokens"]
    args = dict(docker_host=manager.docker_host, rotate_worker_token=True)
    predicted = ok(args, check=True, diff=True)
    assert predicted["actions"] == ["rotate_worker_token"] and predicted["rotated"] == ["worker_token"]
    assert predicted["diff"]["before"] == {"worker_token": "current"}
    assert predicted["diff"]["after"] == {"worker_token": "rotated"}
    assert manager.client.swarm.attrs["JoinTokens"] == old, "check mode rotated nothing"

    proc = run_plain_vvv(ROTATE_PLAYBOOK, {"manager_host": manager.docker_host}, tmp_path, ["--diff"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new = manager.client.swarm.attrs["JoinTokens"]
    assert new["Worker"] != old["Worker"] and new["Manager"] == old["Manager"]
    for token in (old["Worker"], new["Worker"], new["Manager"]):
        assert token not in proc.stdout and token not in proc.stderr, "a join token was logged"
    assert "worker_token" in proc.stdout.split("Show what was rotated")[1], "the rotation is reported"

    join = dict(docker_host=worker.docker_host, state="join", remote_addrs=[manager.address],
                advertise_addr=worker.address)
    msg = fails(dict(join, join_token=old["Worker"]))
    assert "joining the swarm failed" in msg and old["Worker"] not in msg
    assert worker.client.info()["Swarm"]["LocalNodeState"] == "inactive"
    assert ok(dict(join, join_token=new["Worker"]))["changed"]
    assert worker.client.info()["Swarm"]["LocalNodeState"] == "active"

    root = manager.client.swarm.attrs["TLSInfo"]["TrustRoot"]
    rotated = ok(dict(docker_host=manager.docker_host, ca_force_rotate=True))
    assert rotated["changed"] and rotated["rotated"] == ["ca"]
    assert manager.client.swarm.attrs["Spec"]["CAConfig"]["ForceRotate"] == 1
    deadline = time.monotonic() + 90
    while manager.client.swarm.attrs["TLSInfo"]["TrustRoot"] == root and time.monotonic() < deadline:
        time.sleep(1)
        manager.client.swarm.reload()
    assert manager.client.swarm.attrs["TLSInfo"]["TrustRoot"] != root, "the root CA was rotated"
