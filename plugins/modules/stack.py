#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack
short_description: Converge a named set of networks, volumes and containers in one task
version_added: 0.1.0
description:
  - Declares a whole workload on one host and converges it in a single task, which is much faster than
    looping over M(berth.engine.container) because Ansible starts one module process instead of one per item.
  - Each entry takes the same options as the single-resource module (M(berth.engine.network),
    M(berth.engine.volume), M(berth.engine.container)) and is compared by the same rules, including the
    container module's safe recreate with rollback.
  - Actual state is read with one container list plus one inspect per container; every item is planned,
    then applied by a bounded pool of O(parallel) workers, networks and volumes before containers, and
    containers in O(containers[].depends_on) order.
  - Everything the stack creates is labelled C(io.berth.stack=<name>). With O(prune=true), labelled containers
    and networks that are no longer declared are removed, and volumes too with O(prune_volumes=true).
  - One item's failure is reported by name and does not hide the others' results; containers that depend on a
    failed one are not converged. The task fails if any item failed.
extends_documentation_fragment:
  - berth.engine.engine
options:
  name:
    description: Stack name, stored in the C(io.berth.stack) label of everything it owns.
    type: str
    required: true
  networks:
    description: Networks; each entry takes the options of M(berth.engine.network).
    type: list
    elements: dict
    default: []
  volumes:
    description: Volumes; each entry takes the options of M(berth.engine.volume).
    type: list
    elements: dict
    default: []
  containers:
    description:
      - Containers; each entry takes the options of M(berth.engine.container), plus C(depends_on),
        a list of container names of this stack that must converge first.
    type: list
    elements: dict
    default: []
  parallel:
    description: How many items are applied at once.
    type: int
    default: 4
  prune:
    description: Remove containers and networks labelled as this stack's that are no longer declared.
    type: bool
    default: false
  prune_volumes:
    description: With O(prune=true), remove undeclared volumes of this stack too (their data goes with them).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers
"""

EXAMPLES = r"""
- name: Deploy the shop
  berth.engine.stack:
    name: shop
    prune: true
    networks:
      - name: shop
        ipam:
          config:
            - subnet: 172.28.0.0/24
    volumes:
      - name: shop-db
    containers:
      - name: shop-db
        image: registry.example.com/postgres:16
        networks: [{name: shop, aliases: [db]}]
        volumes: ["shop-db:/var/lib/postgresql/data"]
      - name: shop-web
        image: registry.example.com/shop:2.3
        depends_on: [shop-db]
        state: healthy
        networks: [{name: shop}]
        ports: ["127.0.0.1:8080:8080"]
"""

RETURN = r"""
containers:
  description: Per container, C(changed), C(actions) and, when it failed, C(failed) and C(msg).
  returned: always
  type: dict
  sample: {shop-web: {changed: true, actions: [recreate]}}
networks:
  description: Per network, as for RV(containers).
  returned: always
  type: dict
volumes:
  description: Per volume, as for RV(containers).
  returned: always
  type: dict
failures:
  description: One line per failed item, naming it.
  returned: always
  type: list
  elements: str
summary:
  description: Per kind, how many were declared and which changed.
  returned: always
  type: dict
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.stack import (  # noqa: E402
    ItemError,
    Stack,
    describe_failures,
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    networks=dict(type="list", elements="dict", default=[]),
    volumes=dict(type="list", elements="dict", default=[]),
    containers=dict(type="list", elements="dict", default=[]),
    parallel=dict(type="int", default=4),
    prune=dict(type="bool", default=False),
    prune_volumes=dict(type="bool", default=False),
)


def main():
    module = engine_module(ARGUMENT_SPEC)

    def converge(client):
        stack = Stack(client, module.params, module.check_mode)
        try:
            result = stack.converge()
        except ItemError as err:
            raise ValueError(str(err)) from None
        for warning in stack.warnings:
            module.warn(warning)
        if module._diff:
            result["diff"] = stack.diffs
        if result["failures"]:
            module.fail_json(msg=describe_failures(module.params["name"], result["failures"]), **result)
        return result

    run(module, converge)


if __name__ == "__main__":
    main()
