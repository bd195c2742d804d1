#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_node
short_description: Promote, demote, drain, label or remove a swarm node, from a manager
version_added: 0.2.0
description:
  - Runs against a manager's engine (O(docker_host)) and manages one node of its swarm.
  - Only the settings given are compared. For O(labels) only the keys given, unless O(labels_state=replace).
  - O(availability=drain) waits until the node's tasks have stopped (O(wait_timeout)).
  - O(state=absent) removes the node's entry; the node must have left (be down) unless O(force=true), and a
    manager must be demoted first.
  - Check mode reports exactly the actions a real run would take; diff mode shows what differs.
extends_documentation_fragment:
  - berth.engine.engine
options:
  node:
    description:
      - The node's ID or hostname. Among several nodes with one hostname, the one not down counts.
      - The alias C(hostname) is community.docker's name for it (C(docker_node)).
    type: str
    required: true
    aliases: [name, hostname]
  state:
    description: V(present) sets the node's settings; V(absent) removes the node from the swarm.
    type: str
    default: present
    choices: [present, absent]
  role:
    description: V(manager) promotes the node, V(worker) demotes it.
    type: str
    choices: [manager, worker]
  availability:
    description: V(active), V(pause) (no new tasks) or V(drain) (its tasks move to other nodes).
    type: str
    choices: [active, pause, drain]
  labels:
    description: Node labels, for placement constraints.
    type: dict
  labels_state:
    description: V(merge) sets the keys given; V(replace) makes them the node's only labels.
    type: str
    default: merge
    choices: [merge, replace]
  labels_to_remove:
    description:
      - Label keys to remove from the node; its other labels stay. A key also in O(labels) is an error.
    type: list
    elements: str
  force:
    description: With O(state=absent), remove a node that is not down.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for a drain to empty the node, or for a leaving node to be down.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Promote node2 and label it
  berth.engine.swarm_node:
    node: node2
    role: manager
    labels:
      io.example.zone: b

- name: Drop one label of node2, keeping the others
  berth.engine.swarm_node:
    node: node2
    labels_to_remove: [io.example.zone]

- name: Drain node3 and wait until its tasks moved
  berth.engine.swarm_node:
    node: node3
    availability: drain
    wait_timeout: 300

- name: Remove the entry of a node that left
  berth.engine.swarm_node:
    node: node3
    state: absent
"""

RETURN = r"""
node:
  description: The node's document after the task (before it, in check mode); empty when removed.
  returned: success
  type: dict
actions:
  description: What was done (in check mode, would be done), like C(update), C(wait_drained), C(remove).
  returned: always
  type: list
  elements: str
  sample: [update]
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, plan_result, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.resource import converge  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.swarm_plan import (  # noqa: E402
    ARGUMENT_SPEC_NODE as ARGUMENT_SPEC,
)
from ansible_collections.berth.engine.plugins.module_utils.swarm_resource import SwarmNodeResource  # noqa: E402


def main():
    module = engine_module(ARGUMENT_SPEC)

    def body(client):
        plan, _state, node = converge(SwarmNodeResource(client, module.params, module.check_mode))
        return plan_result(module, plan, "node", node)

    run(module, body)


if __name__ == "__main__":
    main()
