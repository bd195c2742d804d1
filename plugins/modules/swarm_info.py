#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_info
short_description: Read the swarm - the cluster, its nodes, services and tasks
version_added: 0.3.0
description:
  - Returns this engine's swarm membership and, on a manager, the cluster's settings (without join tokens) and on
    request its nodes, services and tasks, each as a short summary; filters are the engine's own.
  - Join tokens only with O(return_tokens); the whole result is then hidden from every output, as with C(no_log).
  - A manager whose swarm lost its quorum reports C(quorum_lost) in RV(swarm) and no cluster; nodes, services or tasks
    asked for then fail saying what to do.
  - Changes nothing, so it runs the same in check mode.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  nodes:
    description: Return the cluster's nodes in RV(nodes) (on a manager).
    type: bool
    default: false
  nodes_filters:
    description: "Engine filters for the nodes, a mapping like C({role: manager}) or C({label: [zone=a]})."
    type: dict
  services:
    description: Return the cluster's services in RV(services) (on a manager).
    type: bool
    default: false
  services_filters:
    description: "Engine filters for the services, a mapping like C({name: web}) or C({label: [tier=front]})."
    type: dict
  tasks:
    description: Return the cluster's tasks in RV(tasks) (on a manager).
    type: bool
    default: false
  tasks_filters:
    description: "Engine filters for the tasks, a mapping like C({service: web, desired-state: running})."
    type: dict
  verbose_output:
    description:
      - Return the engine's whole inspect documents in RV(nodes), RV(services) and RV(tasks) instead of the
        summaries (the documents C(docker node inspect), C(docker service inspect) and C(docker inspect) print
        for a task).
    type: bool
    default: false
  return_tokens:
    description:
      - Return the join tokens (and, with autolock, the unlock key) in RV(tokens); the result is then hidden from
        the output. Register it and pass the values on with C(no_log) tasks.
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
- name: Which tasks of web are not running, and where?
  berth.engine.swarm_info:
    tasks: true
    tasks_filters: {service: web, desired-state: running}
  register: cluster

- name: Show them
  ansible.builtin.debug:
    msg: "{{ cluster.tasks | rejectattr('state', 'eq', 'running') | list }}"
"""

RETURN = r"""
swarm:
  description: The local node's membership, as M(berth.engine.swarm) returns it.
  returned: always
  type: dict
cluster:
  description: GET /swarm without the join tokens (managers only; null elsewhere).
  returned: always
  type: dict
nodes:
  description: With O(nodes), one summary per node (id, hostname, role, availability, labels, state, addr,
    reachability, leader); with O(verbose_output), the nodes' inspect documents.
  returned: when asked for
  type: list
  elements: dict
services:
  description: With O(services), one summary per service (id, name, image, mode, replicas, running_tasks,
    desired_tasks); with O(verbose_output), the services' inspect documents.
  returned: when asked for
  type: list
  elements: dict
tasks:
  description: With O(tasks), one summary per task (id, service_id, service, slot, node_id, node, desired_state,
    state, message, error, exit_code, container_id, timestamp); with O(verbose_output), the tasks' inspect
    documents.
  returned: when asked for
  type: list
  elements: dict
tokens:
  description: With O(return_tokens) on a manager, C(worker), C(manager) and C(unlock_key) (null without autolock).
  returned: when asked for, on a manager
  type: dict
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.swarm_info import (  # noqa: E402
    SwarmReader,
    cluster_summary,
    engine_filters,
)
from ansible_collections.berth.engine.plugins.module_utils.swarm_resource import secrets_of  # noqa: E402

ARGUMENT_SPEC = dict(
    nodes=dict(type="bool", default=False),
    nodes_filters=dict(type="dict"),
    services=dict(type="bool", default=False),
    services_filters=dict(type="dict"),
    tasks=dict(type="bool", default=False),
    tasks_filters=dict(type="dict"),
    verbose_output=dict(type="bool", default=False),
    return_tokens=dict(type="bool", default=False),
)


def main():
    module = engine_module(ARGUMENT_SPEC)
    params = module.params

    def read(client):
        reader = SwarmReader(client)
        filters = {kind: engine_filters(params[kind + "_filters"], kind + "_filters")
                   for kind in ("nodes", "services", "tasks")}
        wanted = [kind for kind in ("nodes", "services", "tasks") if params[kind]]
        state, facts = reader.require_manager() if wanted else reader.local()
        result = dict(changed=False, swarm=facts, cluster=cluster_summary(state["swarm"]))
        verbose = params["verbose_output"]
        if params["nodes"]:
            result["nodes"] = reader.node_summaries(filters["nodes"], verbose)
        if params["services"]:
            result["services"] = reader.service_summaries(filters["services"], verbose)
        if params["tasks"]:
            result["tasks"] = reader.tasks(filters["tasks"], verbose)
        if params["return_tokens"] and state["swarm"] is not None:
            result["tokens"] = secrets_of(client, state["swarm"])
        return result

    run(module, read)


if __name__ == "__main__":
    main()
