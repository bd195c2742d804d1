"""Pure parts of swarm membership (no daemon): the local swarm plan, node plans, the quorum guard."""
from __future__ import annotations

import importlib

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.berth.engine.plugins.doc_fragments.engine import ModuleDocFragment
from ansible_collections.berth.engine.plugins.filter.swarm import swarm_layout_of, swarm_membership
from ansible_collections.berth.engine.plugins.module_utils.common import CONNECTION_ARGS
from ansible_collections.berth.engine.plugins.module_utils.swarm_plan import (
    ARGUMENT_SPEC_NODE,
    desired_node,
    desired_swarm,
    find_node,
    membership_plan,
    node_summary,
    plan_node,
    plan_swarm,
    quorum_refusal,
    swarm_facts,
    swarm_layout,
)
from tests.unit.test_module_docs import compare

CLUSTER = "qow937u58lq5wg4ua1aps6mix"
WORKER_TOKEN = "SWMTKN-1-3fy9mmbnu3c5w7519b1tm2klg12x4a8f5ky7p6mpfo15ykmn0v-51lnt2vmi1o5suxtzmg0aaaaa"
MANAGER_TOKEN = "SWMTKN-1-3fy9mmbnu3c5w7519b1tm2klg12x4a8f5ky7p6mpfo15ykmn0v-2t53kktzw5vluemz3dwgbbbbb"

INACTIVE = {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
            "Error": "", "RemoteManagers": None}
MANAGER_INFO = {"NodeID": "x2kjy1am0m108ju0p89fp25o4", "NodeAddr": "10.232.0.11", "LocalNodeState": "active",
                "ControlAvailable": True, "Error": "", "Nodes": 1, "Managers": 1,
                "RemoteManagers": [{"NodeID": "x2kjy1am0m108ju0p89fp25o4", "Addr": "10.232.0.11:2377"}],
                "Cluster": {"ID": CLUSTER}}
WORKER_INFO = {"NodeID": "w0rk3r", "NodeAddr": "10.232.0.12", "LocalNodeState": "active", "ControlAvailable": False,
               "Error": "", "RemoteManagers": [{"NodeID": "x2kjy1am0m108ju0p89fp25o4", "Addr": "10.232.0.11:2377"}]}
SWARM = {
    "ID": CLUSTER, "Version": {"Index": 10},
    "Spec": {"Name": "default", "Labels": {}, "Orchestration": {"TaskHistoryRetentionLimit": 5},
             "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0, "LogEntriesForSlowFollowers": 500,
                      "ElectionTick": 10, "HeartbeatTick": 1},
             "Dispatcher": {"HeartbeatPeriod": 5000000000}, "CAConfig": {"NodeCertExpiry": 7776000000000000},
             "TaskDefaults": {}, "EncryptionConfig": {"AutoLockManagers": False}},
    "JoinTokens": {"Worker": WORKER_TOKEN, "Manager": MANAGER_TOKEN},
}


def swarm(**params):
    return desired_swarm(params)


def test_init_when_inactive_with_the_spec_given():
    plan = plan_swarm(swarm(advertise_addr="10.0.0.1", task_history_limit=3, dispatcher_heartbeat="7s"),
                      {"info": INACTIVE, "swarm": None})
    assert plan.action_names() == ["init"]
    body = plan.actions[0]["body"]
    assert body["AdvertiseAddr"] == "10.0.0.1" and body["ListenAddr"] == "0.0.0.0:2377"
    assert body["Spec"] == {"Orchestration": {"TaskHistoryRetentionLimit": 3},
                            "Dispatcher": {"HeartbeatPeriod": 7000000000}}
    assert plan.after == {"state": "active", "task_history_limit": 3, "dispatcher_heartbeat": 7000000000}


def test_present_on_a_manager_compares_only_what_is_given():
    state = {"info": MANAGER_INFO, "swarm": SWARM}
    assert plan_swarm(swarm(), state).actions == []
    assert plan_swarm(swarm(task_history_limit=5, autolock=False), state).actions == []
    plan = plan_swarm(swarm(task_history_limit=2, node_cert_expiry="48h"), state)
    assert plan.action_names() == ["update"]
    update = plan.actions[0]
    assert update["version"] == 10
    assert update["spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 2
    assert update["spec"]["CAConfig"]["NodeCertExpiry"] == 48 * 3600 * 10 ** 9
    assert update["spec"]["Raft"] == SWARM["Spec"]["Raft"], "the rest of the spec is sent unchanged"
    assert SWARM["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 5, "input not mutated"
    assert plan.before == {"task_history_limit": 5, "node_cert_expiry": 7776000000000000}


def test_spec_on_a_worker_fails():
    with pytest.raises(ValueError, match="w0rk3r is a swarm worker"):
        plan_swarm(swarm(autolock=True), {"info": WORKER_INFO, "swarm": None})


def test_join_and_the_same_swarm_is_no_change():
    join = swarm(state="join", remote_addrs=["10.232.0.11"], join_token=WORKER_TOKEN, advertise_addr="10.232.0.12")
    plan = plan_swarm(join, {"info": INACTIVE, "swarm": None})
    assert plan.action_names() == ["join"]
    assert plan.actions[0]["body"]["RemoteAddrs"] == ["10.232.0.11"]
    assert plan_swarm(join, {"info": WORKER_INFO, "swarm": None}).actions == []
    assert plan_swarm(swarm(state="join", remote_addrs=["10.232.0.11"], join_token=MANAGER_TOKEN, cluster_id=CLUSTER),
                      {"info": MANAGER_INFO, "swarm": SWARM}).actions == []


def test_a_manager_of_another_swarm_fails_naming_both_ids():
    join = swarm(state="join", remote_addrs=["10.9.9.9"], join_token="SWMTKN-1-other", cluster_id="otherclusterid")
    with pytest.raises(ValueError) as err:
        plan_swarm(join, {"info": MANAGER_INFO, "swarm": SWARM})
    assert CLUSTER in str(err.value) and "otherclusterid" in str(err.value)
    assert "SWMTKN" not in str(err.value)
    with pytest.raises(ValueError, match="did not issue the join token"):
        plan_swarm(dict(join, cluster_id=None), {"info": MANAGER_INFO, "swarm": SWARM})


def test_a_worker_of_another_swarm_fails_naming_its_managers():
    join = swarm(state="join", remote_addrs=["10.9.9.9:2377"], join_token=WORKER_TOKEN, cluster_id="otherclusterid")
    with pytest.raises(ValueError, match="10.232.0.11:2377.*otherclusterid"):
        plan_swarm(join, {"info": WORKER_INFO, "swarm": None})


def test_leave_refuses_a_manager_without_force():
    with pytest.raises(ValueError, match="force: true"):
        plan_swarm(swarm(state="absent"), {"info": MANAGER_INFO, "swarm": SWARM})
    assert plan_swarm(swarm(state="absent", force=True), {"info": MANAGER_INFO, "swarm": SWARM}).action_names() == [
        "leave"]
    assert plan_swarm(swarm(state="absent"), {"info": WORKER_INFO, "swarm": None}).action_names() == ["leave"]
    assert plan_swarm(swarm(state="absent"), {"info": INACTIVE, "swarm": None}).actions == []


def test_locked_manager_is_unlocked_with_the_key_only():
    locked = dict(MANAGER_INFO, LocalNodeState="locked", ControlAvailable=False)
    with pytest.raises(ValueError, match="unlock_key"):
        plan_swarm(swarm(), {"info": locked, "swarm": None})
    assert plan_swarm(swarm(unlock_key="SWMKEY-1-x"), {"info": locked, "swarm": None}).action_names() == ["unlock"]


def test_inspect_never_plans_and_bad_input_names_the_option():
    assert plan_swarm(swarm(state="inspect", autolock=True), {"info": INACTIVE, "swarm": None}).actions == []
    with pytest.raises(ValueError, match="remote_addrs"):
        swarm(state="join", join_token="x")
    with pytest.raises(ValueError, match="task_history_limit"):
        swarm(state="join", remote_addrs=["a"], join_token="x", task_history_limit=3)
    with pytest.raises(ValueError, match="dispatcher_heartbeat"):
        swarm(dispatcher_heartbeat="often")


def test_facts_never_carry_tokens():
    facts = swarm_facts(MANAGER_INFO, SWARM)
    assert facts["cluster_id"] == CLUSTER and facts["role"] == "manager" and facts["managers"] == ["10.232.0.11:2377"]
    assert WORKER_TOKEN not in repr(facts) and MANAGER_TOKEN not in repr(facts)
    assert swarm_facts(INACTIVE, None)["role"] is None
    assert swarm_facts(WORKER_INFO, None)["role"] == "worker"


# --- nodes ---------------------------------------------------------------------------------


def node(node_id, hostname, role="worker", availability="active", state="ready", reachability=None, labels=None,
         leader=False):
    doc = {"ID": node_id, "Version": {"Index": 42},
           "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
           "Description": {"Hostname": hostname}, "Status": {"State": state, "Addr": "10.0.0.%d" % len(node_id)}}
    if role == "manager":
        doc["ManagerStatus"] = {"Reachability": reachability or "reachable", "Leader": leader,
                                "Addr": "10.0.0.1:2377"}
    return doc


def test_node_update_only_what_is_given_and_labels_merge_or_replace():
    doc = node("n1", "h1", labels={"a": "1", "b": "2"})
    assert plan_node(desired_node({"node": "h1", "labels": {"a": "1"}}), doc).actions == []
    plan = plan_node(desired_node({"node": "h1", "role": "manager", "labels": {"c": True}}), doc)
    assert plan.action_names() == ["update"]
    assert plan.actions[0]["spec"] == {"Role": "manager", "Availability": "active",
                                       "Labels": {"a": "1", "b": "2", "c": "true"}}
    assert plan.actions[0]["version"] == 42
    assert plan.before == {"role": "worker", "labels": {}} and plan.after == {"role": "manager",
                                                                              "labels": {"c": "true"}}
    replaced = plan_node(desired_node({"node": "h1", "labels": {"a": "1"}, "labels_state": "replace"}), doc)
    assert replaced.actions[0]["spec"]["Labels"] == {"a": "1"}


def test_a_demotion_the_engine_would_refuse_is_refused_in_the_plan():
    only = node("n1", "h1", role="manager", leader=True)
    with pytest.raises(ValueError, match="only manager"):
        plan_node(desired_node({"node": "h1", "role": "worker"}), only, [only])
    three = [only, node("n2", "h2", role="manager"), node("n3", "h3", role="manager", reachability="unreachable")]
    with pytest.raises(ValueError, match="1 reachable manager"):
        plan_node(desired_node({"node": "h1", "role": "worker"}), only, three)
    three[2]["ManagerStatus"]["Reachability"] = "reachable"
    assert plan_node(desired_node({"node": "h1", "role": "worker"}), only, three).action_names() == ["update"]


def test_node_takes_community_dockers_hostname_spelling():
    """A docker_node task (`hostname:`) runs as swarm_node unchanged; the alias lands in `node`."""
    validated = ArgumentSpecValidator(ARGUMENT_SPEC_NODE).validate({"hostname": "h1", "labels_to_remove": ["a"]})
    assert validated.error_messages == []
    params = validated.validated_parameters
    assert params["node"] == "h1"
    doc = node("n1", "h1", labels={"a": "1", "b": "2"})
    assert plan_node(desired_node(params), doc).actions[0]["spec"]["Labels"] == {"b": "2"}


def test_drain_waits_and_an_already_drained_node_is_no_change():
    plan = plan_node(desired_node({"node": "n1", "availability": "drain"}), node("n1", "h1"))
    assert plan.action_names() == ["update", "wait_drained"] and plan.changed
    again = plan_node(desired_node({"node": "n1", "availability": "drain"}), node("n1", "h1", availability="drain"))
    assert again.action_names() == ["wait_drained"] and not again.changed


def test_node_removal_rules():
    assert plan_node(desired_node({"node": "gone", "state": "absent"}), None).actions == []
    with pytest.raises(ValueError, match="demote it first"):
        plan_node(desired_node({"node": "m", "state": "absent"}), node("m", "h", role="manager"))
    plan = plan_node(desired_node({"node": "n1", "state": "absent"}), node("n1", "h1"))
    assert plan.actions == [{"action": "remove", "id": "n1", "force": False, "wait_down": True}]
    down = plan_node(desired_node({"node": "n1", "state": "absent"}), node("n1", "h1", state="down"))
    assert down.actions[0]["wait_down"] is False
    with pytest.raises(ValueError, match="no node nope"):
        plan_node(desired_node({"node": "nope", "role": "worker"}), None)


def test_find_node_prefers_the_live_entry_of_a_rebuilt_host():
    old, new = node("old1", "h1", state="down"), node("new1", "h1")
    assert find_node([old, new], "h1")["ID"] == "new1"
    assert find_node([old, new], "old1")["ID"] == "old1"
    assert find_node([old], "h2") is None
    with pytest.raises(ValueError, match="ambiguous"):
        find_node([node("a", "h1"), node("b", "h1")], "h1")


# --- the quorum guard ----------------------------------------------------------------------


def cluster(managers=3, workers=1, unreachable=()):
    nodes = [node("m%d" % i, "mh%d" % i, role="manager", leader=i == 0,
                  reachability="unreachable" if i in unreachable else "reachable",
                  state="down" if i in unreachable else "ready") for i in range(managers)]
    nodes += [node("w%d" % i, "wh%d" % i) for i in range(workers)]
    return [node_summary(n) for n in nodes]


def test_guard_allows_no_change_and_a_promotion_to_an_odd_count():
    nodes = cluster(3, 2)
    assert quorum_refusal(nodes) is None
    assert quorum_refusal(nodes, promote=["w0", "w1"]) is None
    assert "even number" in quorum_refusal(nodes, promote=["w0"])


def test_guard_refuses_losing_the_majority_or_an_even_count():
    nodes = cluster(3, 1)
    refusal = quorum_refusal(nodes, remove=["m1", "m2"])
    assert "fewer than the majority (2)" in refusal and "nothing was changed" in refusal
    assert "even number" in quorum_refusal(nodes, demote=["m2"])
    assert quorum_refusal(nodes, demote=["m2"], force=True) is None
    assert quorum_refusal(nodes, remove=["m1", "m2"], force=True) is None


def test_guard_counts_unreachable_managers_as_lost():
    nodes = cluster(5, 0, unreachable=(3, 4))
    # 5 managers, 2 down: removing a reachable one leaves 2 reachable < majority 3.
    assert "fewer than the majority (3)" in quorum_refusal(nodes, demote=["m0", "m1"])
    assert "fewer than the majority (3)" in quorum_refusal(nodes, remove=["m2"])
    # Removing the two dead ones keeps 3 of 3 reachable.
    assert quorum_refusal(nodes, remove=["m3", "m4"]) is None


def test_rotation_promotes_first_so_it_keeps_quorum():
    nodes = cluster(3, 2)
    assert quorum_refusal(nodes, promote=["w0", "w1"], demote=["m1", "m2"]) is None


def test_membership_plan_from_the_declared_roles():
    nodes = cluster(3, 2)
    declared = {"m0": "manager", "m1": "manager", "m2": "worker", "w0": "manager", "w1": "worker"}
    plan = membership_plan(nodes, declared)
    assert plan == {"promote": ["w0"], "demote": ["m2"], "remove": [], "refusal": None}
    retired = membership_plan(nodes, {"m0": "manager", "m1": "manager", "w0": "worker", "w1": "worker"})
    assert retired["remove"] == ["m2"] and retired["demote"] == ["m2"] and "even number" in retired["refusal"]
    assert membership_plan(nodes, {"m0": "manager", "m1": "manager", "w0": "worker", "w1": "worker"},
                           force=True)["refusal"] is None


# --- module documentation ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["swarm", "swarm_node"])
def test_documentation_matches_argument_spec(name):
    module = importlib.import_module("ansible_collections.berth.engine.plugins.modules.%s" % name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == name and "berth.engine.engine" in doc["extends_documentation_fragment"]
    fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert compare(dict(module.ARGUMENT_SPEC, **CONNECTION_ARGS), dict(doc["options"], **fragment), name) == []
    assert isinstance(yaml.safe_load(module.RETURN), dict)
    valid = set(module.ARGUMENT_SPEC) | set(CONNECTION_ARGS) | {"name"}
    for task in yaml.safe_load(module.EXAMPLES):
        args = task.get("berth.engine.%s" % name)
        assert args is None or set(args) <= valid, task["name"]


# --- the role's layout --------------------------------------------------------------------


def facts(state="inactive", manager=False, cluster=None, managers=()):
    return {"local_node_state": state, "is_manager": manager, "cluster_id": cluster, "managers": list(managers),
            "node_id": "id-%s" % cluster if cluster else None}


def view(**hosts):
    return {host: {"declared": declared, "swarm": fact} for host, (declared, fact) in hosts.items()}


def test_layout_inits_on_the_first_manager_only_when_nobody_is_in_a_swarm():
    fresh = view(h1=("worker", facts()), h2=("manager", facts()), h3=("manager", facts()))
    assert swarm_layout(fresh) == {"init": "h2", "entry": "h2", "error": None}
    assert "no manager" in swarm_layout(view(h1=("worker", facts())))["error"]
    assert swarm_layout(view(h1=(None, facts()))) == {"init": None, "entry": None, "error": None}


def test_layout_a_rebuilt_first_manager_joins_through_the_others():
    rebuilt = view(h1=("manager", facts()), h2=("manager", facts("active", True, "C1")),
                   h3=("manager", facts("active", True, "C1")))
    assert swarm_layout(rebuilt) == {"init": None, "entry": "h2", "error": None}
    # A declared worker that is still a manager is an entry when no declared manager is one.
    demoting = view(h1=("manager", facts()), h2=("worker", facts("active", True, "C1")))
    assert swarm_layout(demoting)["entry"] == "h2"


def test_layout_refuses_two_clusters_and_members_without_a_manager():
    split = view(h1=("manager", facts("active", True, "C1")), h2=("manager", facts("active", True, "C2")))
    error = swarm_layout(split)["error"]
    assert "h1 in C1" in error and "h2 in C2" in error and swarm_layout(split)["init"] is None
    orphan = view(h1=("manager", facts()), h2=("worker", facts("active", False, None, ["10.0.0.9:2377"])))
    error = swarm_layout(orphan)["error"]
    assert "h2 is in a swarm" in error and "10.0.0.9:2377" in error and swarm_layout(orphan)["init"] is None


def test_role_filters_map_hosts_to_declared_roles():
    hosts = ["h1", "h2", "h3"]
    layout = swarm_layout_of(hosts, [facts(), facts(), facts()], ["h2", "h3"], ["h1"])
    assert layout["init"] == "h2"
    nodes = cluster(3, 1)
    plan = swarm_membership(nodes, ["a", "b", "c"], ["m0", "m1", "m2"], ["a", "b", "c"], [])
    assert plan == {"promote": [], "demote": [], "remove": [], "refusal": None}, "w0 undeclared is left alone"
    retire = swarm_membership(nodes, ["a", "b", "c"], ["m0", "m1", None], ["a", "b"], [], remove_undeclared=True)
    assert retire["remove"] == ["m2", "w0"] and "even number" in retire["refusal"]


def test_a_declared_host_outside_the_play_is_never_retired():
    nodes = cluster(3, 1)  # hostnames mh0..mh2, wh0
    # mh2 failed earlier in the run (not a play host) but is still declared: kept, no refusal.
    plan = swarm_membership(nodes, ["mh0", "mh1", "wh0"], ["m0", "m1", "w0"], ["mh0", "mh1", "mh2"], ["wh0"],
                            remove_undeclared=True)
    assert plan == {"promote": [], "demote": [], "remove": [], "refusal": None}
    # The down entry a rebuilt mh2 left behind (mh2 is in the play with a new node ID) is removed.
    stale = cluster(3, 0) + [node_summary(node("old2", "mh2", state="down"))]
    plan = swarm_membership(stale, ["mh0", "mh1", "mh2"], ["m0", "m1", "m2"], ["mh0", "mh1", "mh2"], [],
                            remove_undeclared=True)
    assert plan["remove"] == ["old2"] and plan["refusal"] is None


# --- when managers fail ----------------------------------------------------------------------

NO_LEADER = ("rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers "
             "are online. Make sure more than half of the managers are online.")
LOST_INFO = dict(MANAGER_INFO, Managers=3, RemoteManagers=[
    {"NodeID": "x2kjy1am0m108ju0p89fp25o4", "Addr": "10.232.0.11:2377"},
    {"NodeID": "m2", "Addr": "10.232.0.12:2377"}, {"NodeID": "m3", "Addr": "10.232.0.13:2377"}])


def test_quorum_lost_says_so_and_what_to_do_and_force_new_cluster_is_explicit():
    state = {"info": LOST_INFO, "swarm": None, "quorum_lost": NO_LEADER}
    for desired in (swarm(), swarm(state="join", remote_addrs=["10.232.0.12"], join_token=WORKER_TOKEN),
                    swarm(state="join", force_new_cluster=True, remote_addrs=["a"], join_token="x")):
        with pytest.raises(ValueError) as err:
            plan_swarm(desired, state)
        message = str(err.value)
        assert "lost its quorum" in message and "10.232.0.12:2377, 10.232.0.13:2377" in message
        assert "Bring the managers that are down back" in message and "force_new_cluster: true" in message
        assert "does not have a leader" in message and "Do not make hosts leave" in message
    assert plan_swarm(swarm(state="inspect"), state).actions == []
    plan = plan_swarm(swarm(force_new_cluster=True), state)
    assert plan.actions == [{"action": "force_new_cluster", "body": {
        "ListenAddr": "0.0.0.0:2377", "ForceNewCluster": True, "AdvertiseAddr": "10.232.0.11"}}]
    assert plan.before == {"managers": 3} and plan.after == {"managers": 1}
    # Not lost: force_new_cluster does nothing.
    assert plan_swarm(swarm(force_new_cluster=True), {"info": MANAGER_INFO, "swarm": SWARM}).actions == []
    assert swarm_facts(LOST_INFO, None, quorum_lost=NO_LEADER)["quorum_lost"] is True


def test_layout_with_quorum_lost_names_the_silent_managers_and_changes_nothing():
    lost = dict(facts("active", True, CLUSTER), quorum_lost=True)
    layout = swarm_layout(view(h1=("manager", lost), w1=("worker", facts("active", False, None, ["a:2377"]))),
                          ["h2", "h3"])
    assert layout["init"] is None and layout["entry"] is None
    assert "lost its quorum" in layout["error"] and "manager(s) h1 answer" in layout["error"]
    assert "did not answer this run: h2, h3" in layout["error"] and "leave" in layout["error"]
    through_filter = swarm_layout_of(["h1", "w1"], [lost, facts()], ["h1", "h2", "h3"], ["w1"])
    assert "h2, h3" in through_filter["error"]


def test_join_body_keeps_the_order_given_once_each():
    desired = swarm(state="join", remote_addrs=["10.0.0.2", "10.0.0.1:2377", "10.0.0.2:2377", "10.0.0.3"],
                    join_token=WORKER_TOKEN)
    body = plan_swarm(desired, {"info": INACTIVE, "swarm": None}).actions[0]["body"]
    assert body["RemoteAddrs"] == ["10.0.0.2", "10.0.0.1:2377", "10.0.0.3"]


def test_a_rebuilt_hosts_down_entry_is_removed_without_remove_undeclared():
    stale = cluster(3, 1) + [node_summary(node("old2", "mh2", role="manager", state="down",
                                               reachability="unreachable"))]
    plan = swarm_membership(stale, ["mh0", "mh1", "mh2", "wh0"], ["m0", "m1", "m2", "w0"], ["mh0", "mh1", "mh2"],
                            ["wh0"])
    assert plan == {"promote": [], "demote": ["old2"], "remove": ["old2"], "refusal": None}
    # A down node of a host that is not (yet) back in the swarm is kept.
    plan = swarm_membership(stale, ["mh0", "mh1", "mh2", "wh0"], ["m0", "m1", None, "w0"], ["mh0", "mh1", "mh2"],
                            ["wh0"])
    assert plan["remove"] == [] and plan["demote"] == []


def test_draining_a_down_node_does_not_wait_for_its_tasks():
    down = node("old2", "mh2", state="down")
    plan = plan_node(desired_node({"node": "old2", "availability": "drain"}), down)
    assert plan.action_names() == ["update"]
    assert plan_node(desired_node({"node": "n", "availability": "drain"}), node("n", "h")).action_names() == [
        "update", "wait_drained"]


# --- cluster settings --------------------------------------------------------------------------

SWARM_WITH_POOL = dict(SWARM, DefaultAddrPool=["10.0.0.0/8"], SubnetSize=24, TLSInfo={"TrustRoot": "ROOT\n"})


def test_init_takes_the_address_pool_raft_settings_and_labels():
    desired = swarm(default_addr_pool=["10.240.0.0/16"], subnet_size=26, election_tick=20, keep_old_snapshots=1,
                    labels={"team": "ops", "tier": 1})
    body = plan_swarm(desired, {"info": INACTIVE, "swarm": None}).actions[0]["body"]
    assert body["DefaultAddrPool"] == ["10.240.0.0/16"] and body["SubnetSize"] == 26
    assert body["Spec"] == {"Raft": {"ElectionTick": 20, "KeepOldSnapshots": 1}, "Labels": {"team": "ops", "tier": "1"}}
    plan = plan_swarm(desired, {"info": INACTIVE, "swarm": None})
    assert plan.after["default_addr_pool"] == ["10.240.0.0/16"] and plan.after["labels"] == {"team": "ops", "tier": "1"}


def test_the_address_pool_is_refused_after_init_with_the_reason():
    state = {"info": MANAGER_INFO, "swarm": SWARM_WITH_POOL}
    assert plan_swarm(swarm(default_addr_pool=["10.0.0.0/8"], subnet_size=24), state).actions == []
    with pytest.raises(ValueError, match=r"subnet_size is 24 in this swarm, not 26: .*only when the swarm is created"):
        plan_swarm(swarm(subnet_size=26), state)
    with pytest.raises(ValueError, match="cannot set default_addr_pool"):
        swarm(state="join", remote_addrs=["a"], join_token="t", default_addr_pool=["10.1.0.0/16"])


def test_a_subnet_size_alone_comes_with_the_engines_default_pool():
    # Docker 20.10 drops SubnetSize from an init without DefaultAddrPool (it keeps /24; the peer cases saw it),
    # and a swarm made with a pool alone reports SubnetSize 0: both are the engine's defaults.
    body = plan_swarm(swarm(subnet_size=26), {"info": INACTIVE, "swarm": None}).actions[0]["body"]
    assert body["DefaultAddrPool"] == ["10.0.0.0/8"] and body["SubnetSize"] == 26
    assert "DefaultAddrPool" not in plan_swarm(swarm(), {"info": INACTIVE, "swarm": None}).actions[0]["body"]
    pool_only = {"info": MANAGER_INFO, "swarm": dict(SWARM, DefaultAddrPool=["2.0.0.0/16"], SubnetSize=0)}
    assert plan_swarm(swarm(default_addr_pool=["2.0.0.0/16"], subnet_size=24), pool_only).actions == []
    with pytest.raises(ValueError, match="subnet_size is 24 in this swarm, not 26"):
        plan_swarm(swarm(subnet_size=26), pool_only)


def test_a_signing_ca_is_waited_for_at_init_and_on_change_never_counted_as_a_change():
    # The engine moves to the CA by a root rotation that ends seconds after the call (seen on 20.10, at init
    # too); a rerun before it ends read the old root and rotated again.
    plan = plan_swarm(swarm(signing_ca_cert="CA1\n", signing_ca_key="KEY1"), {"info": INACTIVE, "swarm": None})
    assert plan.action_names() == ["init", "wait_root_ca"] and plan.actions[1]["cert"] == "CA1"
    state = {"info": MANAGER_INFO, "swarm": SWARM_WITH_POOL}
    plan = plan_swarm(swarm(signing_ca_cert="CA2", signing_ca_key="KEY2"), state)
    assert plan.action_names() == ["update", "wait_root_ca"] and plan.changed
    same = plan_swarm(swarm(signing_ca_cert="ROOT", signing_ca_key="KEY"), state)
    assert same.actions == [] and not same.changed
    assert plan_swarm(swarm(task_history_limit=9), state).action_names() == ["update"]


def test_data_path_port_at_init_only_like_the_address_pool():
    body = plan_swarm(swarm(data_path_port=4790), {"info": INACTIVE, "swarm": None}).actions[0]["body"]
    assert body["DataPathPort"] == 4790
    assert "DataPathPort" not in plan_swarm(swarm(), {"info": INACTIVE, "swarm": None}).actions[0]["body"]
    state = {"info": MANAGER_INFO, "swarm": dict(SWARM, DataPathPort=4790)}
    assert plan_swarm(swarm(data_path_port=4790), state).actions == []
    with pytest.raises(ValueError, match=r"data_path_port is 4790 in this swarm, not 4791: .*only when the swarm is"):
        plan_swarm(swarm(data_path_port=4791), state)
    # A swarm created without one reports 0 on some engines: that is the default port.
    assert plan_swarm(swarm(data_path_port=4789), {"info": MANAGER_INFO, "swarm": dict(SWARM, DataPathPort=0)}
                      ).actions == []
    with pytest.raises(ValueError, match="between 1024 and 49151"):
        swarm(data_path_port=80)
    with pytest.raises(ValueError, match="cannot set data_path_port"):
        swarm(state="join", remote_addrs=["a"], join_token="t", data_path_port=4790)


def test_raft_settings_and_labels_update_in_place_labels_whole():
    state = {"info": MANAGER_INFO, "swarm": SWARM}
    assert plan_swarm(swarm(election_tick=10, heartbeat_tick=1, labels={}), state).actions == []
    plan = plan_swarm(swarm(log_entries_for_slow_followers=900, labels={"a": "b"}), state)
    assert plan.action_names() == ["update"]
    spec = plan.actions[0]["spec"]
    assert spec["Raft"]["LogEntriesForSlowFollowers"] == 900 and spec["Labels"] == {"a": "b"}
    assert plan.before == {"log_entries_for_slow_followers": 500, "labels": {}}


def test_rotations_are_explicit_actions_never_carrying_a_token():
    state = {"info": MANAGER_INFO, "swarm": SWARM}
    plan = plan_swarm(swarm(rotate_worker_token=True, rotate_manager_token=True, ca_force_rotate=True,
                            task_history_limit=9), state)
    assert plan.action_names() == ["update", "rotate_worker_token", "rotate_manager_token", "rotate_ca"]
    assert plan.after == {"task_history_limit": 9, "worker_token": "rotated", "manager_token": "rotated",
                          "ca": "rotated"}
    assert WORKER_TOKEN not in repr(plan.actions) + repr(plan.diff())
    assert plan_swarm(swarm(rotate_worker_token=True), {"info": INACTIVE, "swarm": None}).action_names() == ["init"]
    with pytest.raises(ValueError, match="can only be changed on a manager"):
        plan_swarm(swarm(rotate_worker_token=True), {"info": WORKER_INFO, "swarm": None})


def test_an_external_signing_ca_rotates_only_when_it_is_not_the_root_yet():
    state = {"info": MANAGER_INFO, "swarm": SWARM_WITH_POOL}
    assert plan_swarm(swarm(signing_ca_cert="ROOT", signing_ca_key="KEY"), state).actions == []
    plan = plan_swarm(swarm(signing_ca_cert="OTHER\n", signing_ca_key="KEY"), state)
    assert plan.actions[0]["spec"]["CAConfig"]["SigningCACert"] == "OTHER"
    assert "KEY" not in repr(plan.diff())
    with pytest.raises(ValueError, match="go together"):
        swarm(signing_ca_cert="OTHER")


def test_labels_to_remove_drops_only_those_keys():
    labelled = node("n1", "h1", labels={"zone": "a", "tier": "web", "keep": "1"})
    plan = plan_node(desired_node({"node": "n1", "labels_to_remove": ["zone", "absent"]}), labelled)
    assert plan.actions[0]["spec"]["Labels"] == {"tier": "web", "keep": "1"}
    assert plan.before == {"labels": {"zone": "a"}} and plan.after == {"labels": {}}
    plan = plan_node(desired_node({"node": "n1", "labels": {"tier": "db"}, "labels_to_remove": ["zone"]}), labelled)
    assert plan.actions[0]["spec"]["Labels"] == {"tier": "db", "keep": "1"}
    assert plan_node(desired_node({"node": "n1", "labels_to_remove": ["absent"]}), labelled).actions == []
    with pytest.raises(ValueError, match="both set"):
        desired_node({"node": "n1", "labels": {"zone": "b"}, "labels_to_remove": ["zone"]})


# --- the info modules' reader ---------------------------------------------------------------------

def test_info_summaries_and_filters():
    from ansible_collections.berth.engine.plugins.module_utils.swarm_info import (
        cluster_summary,
        engine_filters,
        service_summary,
        task_summary,
    )
    assert engine_filters({"label": ["a=b", "c"], "role": "manager", "x": True}, "f") == {
        "label": ["a=b", "c"], "role": ["manager"], "x": ["true"]}
    with pytest.raises(ValueError, match="nodes_filters must be a mapping"):
        engine_filters(["role=manager"], "nodes_filters")
    assert "JoinTokens" not in cluster_summary(SWARM) and cluster_summary(SWARM)["ID"] == CLUSTER
    service = {"ID": "s1", "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 3}},
                                    "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1@sha256:abc"}}},
               "ServiceStatus": {"RunningTasks": 2, "DesiredTasks": 3}}
    assert service_summary(service) == {"id": "s1", "name": "web", "image": "nginx:1@sha256:abc",
                                        "mode": "replicated", "replicas": 3, "running_tasks": 2, "desired_tasks": 3}
    assert service_summary({"Spec": {"Mode": {"ReplicatedJob": {}}}})["mode"] == "replicated-job"
    task = {"ID": "t1", "ServiceID": "s1", "Slot": 2, "NodeID": "n1", "DesiredState": "shutdown",
            "Status": {"State": "failed", "Message": "started", "Err": "task: non-zero exit (3)",
                       "Timestamp": "2026-12-05T10:00:00Z", "ContainerStatus": {"ContainerID": "c1", "ExitCode": 3}}}
    summary = task_summary(task, {"s1": "web"}, {"n1": "node1"})
    assert summary["service"] == "web" and summary["node"] == "node1" and summary["error"] == "task: non-zero exit (3)"
    assert summary["exit_code"] == 3 and summary["state"] == "failed" and summary["slot"] == 2
    assert task_summary({"ID": "t2", "Status": {}})["error"] is None


class ListingClient:
    """Answers the reader's listings and GET /info and /swarm from canned engine documents."""

    docker_host = "unix:///fake.sock"

    def __init__(self, documents):
        self.documents = documents

    def listing(self, kind, filters=None, **params):
        return list(self.documents[kind])

    def get(self, path, params=None, missing_ok=False, headers=None):
        return {"/info": {"Swarm": MANAGER_INFO}, "/swarm": SWARM}[path]


NODE = {"ID": MANAGER_INFO["NodeID"], "Spec": {"Role": "manager", "Availability": "active", "Labels": {"z": "a"}},
        "Description": {"Hostname": "node1"}, "Status": {"State": "ready", "Addr": "10.232.0.11"},
        "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": "10.232.0.11:2377"}}
OTHER_NODE = dict(NODE, ID="other", Description={"Hostname": "node2"}, ManagerStatus=None)


def test_verbose_output_returns_the_engine_documents_through_the_same_reader():
    from ansible_collections.berth.engine.plugins.module_utils.swarm_info import SwarmReader

    service = {"ID": "s1", "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 1}}}}
    task = {"ID": "t1", "ServiceID": "s1", "NodeID": NODE["ID"], "Slot": 1, "Status": {"State": "running"}}
    reader = SwarmReader(ListingClient({"node": [NODE], "service": [service], "task": [task]}))
    assert reader.node_summaries(verbose=True) == [NODE] and reader.service_summaries(verbose=True) == [service]
    assert reader.tasks(verbose=True) == [task]
    assert reader.node_summaries()[0]["hostname"] == "node1" and reader.service_summaries()[0]["name"] == "web"
    assert reader.tasks()[0]["service"] == "web" and reader.tasks()[0]["node"] == "node1"


def test_node_info_self_reads_the_node_this_engine_is():
    from ansible_collections.berth.engine.plugins.module_utils.swarm_info import SwarmReader

    reader = SwarmReader(ListingClient({"node": [OTHER_NODE, NODE], "service": [], "task": []}))
    found = reader.one("node", None, False)
    assert found["exists"] and found["node"]["ID"] == MANAGER_INFO["NodeID"] and found["summary"]["leader"] is True
    assert reader.one("node", "node2", False)["node"]["ID"] == "other"
