#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container
short_description: Manage a Docker container idempotently through the Engine API
version_added: 0.1.0
description:
  - Creates, updates, recreates, starts, stops and removes one container so that it matches what the task declares.
  - Only the options you set are compared. Values the image provides (environment, labels, command, entrypoint,
    exposed ports, volumes) never count as a difference.
  - Resource limits and the restart policy change in place (the container keeps its ID); any other difference
    recreates the container.
  - A recreate never leaves the host without the service. The new image is obtained first; the old container is
    stopped and renamed aside, the new one is created and started. If that fails (or O(state=healthy) times out),
    the new container is removed, the old one gets its name back and is started again, and the task fails
    saying so. The old container is removed only after success; its anonymous volumes are kept.
  - Check mode reports exactly the actions a real run would take; diff mode shows what differs.
  - When another run changes the container between this run's read and its apply (it created the name first,
    or renamed the old container aside), this run reads and plans again, once, instead of failing. A second
    such change fails the task, and so does a container created under the name while a recreate has the old
    one renamed aside; neither removes the other run's container.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
  - berth.engine.container_options
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Run a web server, reachable on the host's loopback only
  berth.engine.container:
    name: web
    image: registry.example.com/web:1.4
    ports:
      - 127.0.0.1:8080:80
    env:
      LOG_LEVEL: info
    restart_policy: unless-stopped
    memory: 256m

- name: Deploy a new version and wait until it is healthy (rolls back if not)
  berth.engine.container:
    name: web
    image: registry.example.com/web:1.5
    state: healthy
    healthy_timeout: 90

- name: Attach to a user network with a fixed address and an alias
  berth.engine.container:
    name: db
    image: registry.example.com/postgres:16
    networks:
      - name: backend
        ipv4_address: 172.30.0.10
        aliases: [database]
    volumes:
      - pgdata:/var/lib/postgresql/data

- name: Remove it
  berth.engine.container:
    name: web
    state: absent
"""

RETURN = r"""
container:
  description: The container's inspect document after the task (before it, in check mode); absent when removed.
  returned: success
  type: dict
actions:
  description:
    - What was done (or, in check mode, would be done), in order, like C(create), C(start), C(update), C(recreate).
    - C(create_bind_source) first when a missing bind source directory was created (O(mounts[].create_host_path),
      O(volumes)).
  returned: always
  type: list
  elements: str
  sample: [pull, recreate]
logs:
  description: The container's recent output, with O(output_logs=true) or when a start failed.
  returned: when requested or on failure
  type: list
  elements: str
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, plan_result, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.container_options import ARGUMENT_SPEC  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.container_resource import (  # noqa: E402
    ContainerResource,
    converge_container,
)
from ansible_collections.berth.engine.plugins.module_utils.preflight import prepare_bind_sources  # noqa: E402


def main():
    module = engine_module(ARGUMENT_SPEC)

    def converge(client):
        resource = ContainerResource(client, module.params, module.check_mode)
        created = prepare_bind_sources(client, module.params, module.check_mode)
        plan, _unused, container = converge_container(resource)
        result = plan_result(module, plan, "container", container)
        if created:
            result.update(changed=True, actions=["create_bind_source"] + result["actions"])
        if module.params["output_logs"] and container and not module.check_mode:
            result["logs"] = client.logs(container["Id"]).splitlines()
        return result

    run(module, converge)


if __name__ == "__main__":
    main()
