#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_info
short_description: Read one swarm service - its spec and its tasks with their errors and nodes
version_added: 0.3.0
description:
  - Returns whether a service exists, its inspect document, a short summary and its tasks, each with its state,
    its error and the node (ID and hostname) it runs on. Read on a manager.
  - Safe on a missing service - RV(exists) is false and the task does not fail.
  - Changes nothing, so it runs the same in check mode.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  name:
    description: Name or ID of the service.
    type: str
    required: true
  tasks:
    description: Return the service's tasks in RV(tasks).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Why does web not run?
  berth.engine.service_info:
    name: web
  register: web

- name: The failed tasks, their errors and nodes
  ansible.builtin.debug:
    msg: "{{ web.tasks | selectattr('error') | map(attribute='node') | zip(web.tasks | map(attribute='error')) }}"
"""

RETURN = r"""
exists:
  description: Whether the service exists.
  returned: always
  type: bool
service:
  description: The service's inspect document (empty when it does not exist).
  returned: always
  type: dict
summary:
  description: id, name, image, mode, replicas, running_tasks (with O(tasks)), desired_tasks (empty when missing).
  returned: always
  type: dict
tasks:
  description: With O(tasks), the service's tasks (id, slot, node_id, node, desired_state, state, message, error,
    exit_code, container_id, timestamp), by slot.
  returned: when asked for and the service exists
  type: list
  elements: dict
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.swarm_info import SwarmReader  # noqa: E402

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    tasks=dict(type="bool", default=True),
)


def main():
    module = engine_module(ARGUMENT_SPEC)

    def read(client):
        result = SwarmReader(client).one("service", module.params["name"], module.params["tasks"])
        if "tasks" in result:
            # GET /services/<id> has no task counts: count them from the tasks read.
            result["summary"]["running_tasks"] = sum(1 for t in result["tasks"] if t["state"] == "running"
                                                     and t["desired_state"] == "running")
        return result

    run(module, read)


if __name__ == "__main__":
    main()
