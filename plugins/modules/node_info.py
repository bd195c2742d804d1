#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_info
short_description: Read one swarm node, and optionally the tasks on it
version_added: 0.3.0
description:
  - Returns whether a node exists in the swarm, its inspect document, a short summary and with O(tasks=true) the
    tasks the engine placed on it. Read on a manager.
  - A hostname that several entries share (a rebuilt host leaves a down entry) means the one that is not down.
  - Safe on a missing node - RV(exists) is false and the task does not fail.
  - Changes nothing, so it runs the same in check mode.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  node:
    description: ID or hostname of the node. One of O(node) and O(self) is required.
    type: str
    aliases: [name]
  self:
    description: Read the node this engine is (the one O(docker_host) points at), without naming it.
    type: bool
    default: false
  tasks:
    description: Also return the tasks on the node in RV(tasks).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Which node is this manager, and what are its labels?
  berth.engine.node_info:
    self: true
  register: me

- name: What runs on node2?
  berth.engine.node_info:
    node: node2
    tasks: true
  register: node2
"""

RETURN = r"""
exists:
  description: Whether the swarm has that node.
  returned: always
  type: bool
node:
  description: The node's inspect document (empty when it does not exist).
  returned: always
  type: dict
summary:
  description: id, hostname, role, availability, labels, state, addr, reachability, leader (empty when missing).
  returned: always
  type: dict
tasks:
  description: With O(tasks), the tasks on the node, summarised as M(berth.engine.swarm_info) does.
  returned: when asked for and the node exists
  type: list
  elements: dict
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.swarm_info import SwarmReader  # noqa: E402

ARGUMENT_SPEC = dict(
    node=dict(type="str", aliases=["name"]),
    self=dict(type="bool", default=False),
    tasks=dict(type="bool", default=False),
)
MUTUALLY_EXCLUSIVE = [("node", "self")]


def main():
    module = engine_module(ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE)
    if not module.params["self"] and not module.params["node"]:
        module.fail_json(msg="node_info needs node (a node ID or hostname) or self: true (the node this engine is)")

    def read(client):
        ref = None if module.params["self"] else module.params["node"]
        return SwarmReader(client).one("node", ref, module.params["tasks"])

    run(module, read)


if __name__ == "__main__":
    main()
