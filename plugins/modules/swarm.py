#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm
short_description: Make the host's engine a swarm manager, join it to a swarm, or make it leave
version_added: 0.2.0
description:
  - Manages the membership of the engine at O(docker_host) in a Docker swarm, through the Engine API.
  - V(present) initialises a new swarm when the node is in none, and updates the cluster settings in place on a
    manager (only the settings given are compared).
  - V(join) joins an existing swarm through O(remote_addrs) with O(join_token). A host already in a swarm stays
    as it is when it is the same swarm; a host in another swarm is a failure naming both cluster IDs (nothing is
    changed). Role changes of a member are done with M(berth.engine.swarm_node) on a manager.
  - V(absent) leaves the swarm; a manager only with O(force=true).
  - V(inspect) changes nothing and returns the facts.
  - A manager whose swarm lost its quorum fails V(present) and V(join) saying so, which managers it knows and
    what to do (nothing is changed); V(inspect) reports RV(swarm.quorum_lost).
  - A join tries the managers of O(remote_addrs) in turn, in the order given, until one answers.
  - A manager locked by autolock after a daemon restart is unlocked with O(unlock_key) (states V(present), V(join)).
  - Check mode reports exactly the actions a real run would take; diff mode shows what differs.
extends_documentation_fragment:
  - berth.engine.engine
options:
  state:
    description: What the node's membership should be.
    type: str
    default: present
    choices: [present, join, absent, inspect]
  advertise_addr:
    description: Address (or interface) other nodes reach this node at, for init and join.
    type: str
  listen_addr:
    description: Address the node listens on for cluster traffic.
    type: str
    default: 0.0.0.0:2377
  data_path_addr:
    description: Address (or interface) for the overlay data traffic (VXLAN), if not O(advertise_addr).
    type: str
  remote_addrs:
    description: Managers to join through (C(host) or C(host:port)); required with O(state=join).
    type: list
    elements: str
  join_token:
    description: Worker or manager join token of the swarm; required with O(state=join). Never logged.
    type: str
  cluster_id:
    description:
      - The ID of the swarm the node must be in. A manager in another swarm is a failure naming both IDs.
      - Without it, a manager must have issued O(join_token), and a worker must know one of O(remote_addrs).
    type: str
  force:
    description: With O(state=absent), let a manager leave (the last one destroys the cluster).
    type: bool
    default: false
  unlock_key:
    description: Key to unlock a manager locked by autolock. Never logged.
    type: str
  force_new_cluster:
    description:
      - With O(state=present) on a manager whose swarm has lost its quorum (a majority of its managers is down),
        re-form the cluster from this manager alone. It keeps the cluster ID, services, secrets, configs and
        networks, but this becomes the only manager; the lost managers must leave and join again. Use it only when
        those managers are lost for good; while they can come back, bring them back instead.
      - Ignored while the quorum holds, so it never changes a healthy cluster.
    type: bool
    default: false
  snapshot_interval:
    description: Raft log entries between snapshots (cluster setting).
    type: int
  keep_old_snapshots:
    description: Raft snapshots kept besides the current one (cluster setting).
    type: int
  log_entries_for_slow_followers:
    description: Raft log entries kept to catch up slow followers after a snapshot (cluster setting).
    type: int
  election_tick:
    description:
      - Raft ticks without a leader before a follower starts an election (cluster setting); must exceed
        O(heartbeat_tick). Running managers take a change when their engine restarts.
    type: int
  heartbeat_tick:
    description: Raft ticks between the leader's heartbeats (cluster setting).
    type: int
  labels:
    description: The cluster's labels (cluster setting); the labels given are the whole set.
    type: dict
  default_addr_pool:
    description:
      - Address pools (CIDRs) the swarm carves overlay network subnets from. Taken only at init; a different
        value on an existing swarm is a failure saying why (nothing is changed).
    type: list
    elements: str
  subnet_size:
    description:
      - Prefix length of the subnets cut from O(default_addr_pool) (init only, like it). Without
        O(default_addr_pool) the engine's default pool, C(10.0.0.0/8), is used.
    type: int
  data_path_port:
    description:
      - UDP port of the overlay networks' data path (VXLAN); the engine's default is 4789. Taken only at init,
        like O(default_addr_pool); a different value on an existing swarm is a failure saying why (nothing is
        changed). Every node must be able to reach every other on this port.
    type: int
  rotate_worker_token:
    description:
      - Rotate the worker join token (on a manager), an explicit action done on every run that asks for it and
        reported in RV(rotated) and RV(actions). Nodes already joined stay; the old token joins no new node.
      - The tokens never appear in the result, logs or diff; read the new one with O(return_tokens).
    type: bool
    default: false
  rotate_manager_token:
    description: Rotate the manager join token, like O(rotate_worker_token).
    type: bool
    default: false
  ca_force_rotate:
    description:
      - Rotate the swarm's root CA and every node's certificate (an explicit action, like
        O(rotate_worker_token)). The engine finishes the rotation in the background as nodes renew.
    type: bool
    default: false
  signing_ca_cert:
    description:
      - PEM certificate of an external root CA the swarm signs node certificates with, with O(signing_ca_key).
        When it is not the swarm's root CA yet, the swarm rotates to it, and the task waits (up to O(timeout))
        until every node has a certificate it signed. Never logged.
    type: str
  signing_ca_key:
    description: PEM private key of O(signing_ca_cert). Never logged.
    type: str
  dispatcher_heartbeat:
    description: How often nodes report to the dispatcher, a duration like C(5s) (cluster setting).
    type: str
  node_cert_expiry:
    description: Validity of node certificates, a duration like C(2160h) (cluster setting).
    type: str
  task_history_limit:
    description: Old tasks kept per service slot (cluster setting).
    type: int
  autolock:
    description: Lock the managers' raft keys when their daemon restarts (cluster setting).
    type: bool
  return_tokens:
    description:
      - Return the join tokens (and, with autolock, the unlock key) in RV(tokens). The whole result is then
        hidden from the output, as with C(no_log); register it and pass the values on with C(no_log) tasks.
    type: bool
    default: false
  list_nodes:
    description: On a manager, return the cluster's nodes in RV(swarm.nodes).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: First manager
  berth.engine.swarm:
    state: present
    advertise_addr: 10.0.0.11
    task_history_limit: 3
  register: first

- name: Read the join tokens on that manager (never shown)
  berth.engine.swarm:
    state: inspect
    return_tokens: true
  register: cluster
  no_log: true

- name: Join a worker
  berth.engine.swarm:
    state: join
    remote_addrs: [10.0.0.11]
    join_token: "{{ cluster.tokens.worker }}"
    cluster_id: "{{ first.swarm.cluster_id }}"
    advertise_addr: 10.0.0.21
  no_log: true

- name: Rotate the worker join token (say, on a schedule); read the new one with return_tokens
  berth.engine.swarm:
    state: present
    rotate_worker_token: true

- name: Leave
  berth.engine.swarm:
    state: absent
"""

RETURN = r"""
swarm:
  description: The local node and its cluster after the task (before it, in check mode).
  returned: success
  type: dict
  contains:
    local_node_state:
      description: C(inactive), C(pending), C(active), C(error) or C(locked).
      type: str
    node_id:
      description: This node's ID in the swarm.
      type: str
    node_addr:
      description: The address this node advertises.
      type: str
    role:
      description: C(manager), C(worker), or null outside a swarm.
      type: str
    is_manager:
      description: Whether the node is a manager that can answer for the cluster.
      type: bool
    cluster_id:
      description: The swarm's ID (managers only).
      type: str
    managers:
      description: Addresses of the managers the node knows.
      type: list
      elements: str
    quorum_lost:
      description: Whether this manager's swarm has no leader because too few managers are online.
      type: bool
    nodes:
      description: With O(list_nodes) on a manager, one summary per node (id, hostname, role, availability, labels,
        state, addr, reachability, leader).
      type: list
      elements: dict
rotated:
  description: What was rotated (in check mode, what would be), among C(worker_token), C(manager_token), C(ca).
  returned: always
  type: list
  elements: str
  sample: [worker_token]
tokens:
  description: With O(return_tokens) on a manager, C(worker), C(manager) and C(unlock_key) (null without autolock).
  returned: when asked for, on a manager
  type: dict
actions:
  description: What was done (in check mode, would be done), like C(init), C(join), C(update), C(unlock), C(leave),
    C(force_new_cluster), C(rotate_worker_token), C(rotate_manager_token), C(rotate_ca).
  returned: always
  type: list
  elements: str
  sample: [init]
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, plan_result, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.engine_client import endpoint  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.resource import converge  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.swarm_plan import (  # noqa: E402
    ARGUMENT_SPEC_SWARM as ARGUMENT_SPEC,
)
from ansible_collections.berth.engine.plugins.module_utils.swarm_plan import swarm_facts  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.swarm_resource import (  # noqa: E402
    SwarmResource,
    read_local_swarm,
    secrets_of,
)


def main():
    module = engine_module(ARGUMENT_SPEC)

    def body(client):
        resource = SwarmResource(client, module.params, module.check_mode)
        plan, state, _document = converge(resource)
        if plan.actions and not module.check_mode:
            state = read_local_swarm(client)
        nodes = None
        if module.params["list_nodes"] and state["swarm"] is not None:
            nodes = client.get(endpoint("nodes")) or []
        facts = swarm_facts(state["info"], state["swarm"], nodes, quorum_lost=state.get("quorum_lost"))
        result = plan_result(module, plan, "swarm", facts)
        result["rotated"] = [name[len("rotate_"):] for name in plan.action_names() if name.startswith("rotate_")]
        if module.params["return_tokens"] and state["swarm"] is not None:
            result["tokens"] = secrets_of(client, state["swarm"])
        return result

    run(module, body)


if __name__ == "__main__":
    main()
