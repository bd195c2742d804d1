#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_stack
short_description: Converge a named set of swarm services, overlay networks, secrets and configs in one task
version_added: 0.2.0
description:
  - Declares a whole swarm workload and converges it in one task, on a manager.
  - Each entry takes the options of its single-resource module (M(berth.engine.service), M(berth.engine.secret),
    M(berth.engine.config)) and is compared and applied by the same code; networks are overlay networks that are
    created when absent (a network cannot change in place, so a difference is that item's failure).
  - Networks come first, then secrets and configs, then services. Every service is created or updated first, then
    all of them are waited for together until converged, so the wait costs the longest rollout, not their sum.
    A service that uses a network, secret or config that failed is not converged.
  - Everything the stack creates is labelled C(io.berth.swarm_stack=<name>). With O(prune=true), labelled
    services, networks, secrets and configs that are no longer declared are removed (services first). With
    O(state=absent) all of them are removed, like C(docker stack rm).
  - Before anything changes, the whole spec is checked against the nodes' kernels (see O(kernel_check)); a service
    or network that needs IP_VS or ESP where they are missing fails the task with nothing changed. So does a
    service whose image reference is not valid (one message per service); overlay networks declare no subnet here,
    so there is no subnet overlap to check.
  - One item's failure is reported by name and does not hide the others' results; the task fails if any item failed.
extends_documentation_fragment:
  - berth.engine.engine
options:
  name:
    description:
      - Stack name, stored in the C(io.berth.swarm_stack) label of everything it owns.
      - With a Compose file it is the project name (default the file's C(name), or the project directory's name);
        the file's services, networks, secrets and configs are named C(<project>_<name>), as
        C(docker stack deploy) names them. Required without a Compose file.
    type: str
  compose:
    description:
      - A parsed Compose document, or a list merged in order, deployed to the swarm. C(deploy) (mode, replicas,
        placement, update_config, rollback_config, endpoint_mode, resources, restart_policy, labels) maps to the
        services; top-level C(secrets) and C(configs) (C(file), C(environment) or C(content); configs also
        C(template_driver)) become versioned swarm secrets and configs.
      - Keys that only make sense on one host (C(build), C(container_name), C(depends_on) conditions, ...) fail
        naming the key and the service, where C(docker stack deploy) would ignore them silently.
    type: raw
  compose_files:
    description: Compose files on the controller, read by the action plugin and merged in order.
    type: list
    elements: path
  project_directory:
    description: Base of the Compose file's relative paths (C(.env), C(env_file), secret and config files), on the
      managed host. Defaults to the directory of the first of O(compose_files).
    type: path
  profiles:
    description: Compose profiles to enable.
    type: list
    elements: str
  compose_env:
    description: Variables for the Compose file's interpolation and for secrets given by C(environment).
    type: dict
  networks:
    description: Overlay networks.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Network name.
        type: str
        required: true
      driver:
        description: Network driver.
        type: str
        default: overlay
      attachable:
        description: Let standalone containers attach too.
        type: bool
        default: true
      encrypted:
        description: Encrypt the data plane with IPsec (needs ESP in every node's kernel).
        type: bool
        default: false
      internal:
        description: No outside connectivity.
        type: bool
        default: false
      labels:
        description: Labels of the network (set when it is created).
        type: dict
      driver_options:
        description: Driver options (set when it is created).
        type: dict
  secrets:
    description: Secrets; each entry takes the options of M(berth.engine.secret).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Logical name.
        type: str
        required: true
      state:
        description: C(present) or C(absent).
        type: str
        default: present
        choices: [present, absent]
      content:
        description: The value.
        type: str
      content_base64:
        description: The value, base64-encoded.
        type: str
      src:
        description: A file on the manager holding the value.
        type: path
      hash_key:
        description: Key of the HMAC that names the versions (default the cluster ID).
        type: str
      labels:
        description: Labels of a version this task creates.
        type: dict
      keep_versions:
        description: Old versions kept after a change.
        type: int
        default: 1
      update_services:
        description: Roll services that use an older version over to the new one.
        type: bool
        default: true
      wait_timeout:
        description: Seconds to wait for each updated service.
        type: int
        default: 300
  configs:
    description: Configs; each entry takes the options of M(berth.engine.config).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Logical name.
        type: str
        required: true
      state:
        description: C(present) or C(absent).
        type: str
        default: present
        choices: [present, absent]
      content:
        description: The content.
        type: str
      content_base64:
        description: The content, base64-encoded.
        type: str
      src:
        description: A file on the manager holding the content.
        type: path
      labels:
        description: Labels of a version this task creates.
        type: dict
      keep_versions:
        description: Old versions kept after a change.
        type: int
        default: 1
      update_services:
        description: Roll services that use an older version over to the new one.
        type: bool
        default: true
      wait_timeout:
        description: Seconds to wait for each updated service.
        type: int
        default: 300
      template_driver:
        description: C(golang) renders the content per task as a Go template (see M(berth.engine.config)).
        type: str
        choices: [golang]
  services:
    description: Services; each entry takes the options of M(berth.engine.service) (without the connection options).
    type: list
    elements: dict
    default: []
  state:
    description:
      - V(present) converges the declared items (and prunes with O(prune=true)).
      - V(absent) removes the stack as C(docker stack rm) does - every service labelled as this stack's, and once
        their tasks are gone, its secrets, configs and networks. The declared entries are not needed; with a
        Compose file the stack name is taken from it as for V(present).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - Remove services, networks, secrets and configs labelled with this stack that are no longer declared.
      - With nothing declared it is refused (it would remove the whole stack, likelier from a variable that came
        out empty than on purpose); use O(state=absent) to remove the stack.
    type: bool
    default: false
  parallel:
    description: How many items are read and written at once (services are then waited for all together).
    type: int
    default: 4
  kernel_check:
    description:
      - C(auto) refuses, before any change, a stack that needs IP_VS (ingress ports, VIPs) or ESP (encrypted
        networks) where the nodes lack them, as M(berth.engine.service) does. C(skip) does not check (for the whole
        stack; a service entry can also skip it for itself).
    type: str
    default: auto
    choices: [auto, skip]
  with_registry_auth:
    description:
      - Send the registry login that M(berth.engine.login) stored on this host with every service's create and
        update, as C(docker stack deploy --with-registry-auth) does, so the nodes can pull private images. A service
        entry can also set it for itself (O(berth.engine.service#module:with_registry_auth)).
      - The credentials never appear in the result, the diff or the logs.
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
- name: A shop on a swarm whose kernels lack IPVS
  berth.engine.swarm_stack:
    name: shop
    prune: true
    networks:
      - name: shop
    secrets:
      - name: db_password
        content: "{{ vault_db_password }}"
    configs:
      - name: web_conf
        src: files/web.conf
    services:
      - name: shop-db
        image: registry.example.com/postgres:16
        endpoint_mode: dnsrr
        networks: [{name: shop}]
        secrets: [{name: db_password}]
      - name: shop-web
        image: registry.example.com/web:2.3
        replicas: 3
        endpoint_mode: dnsrr
        ports: [{target: 8080, published: 8080, publish_mode: host}]
        networks: [{name: shop}]
        configs: [{name: web_conf, target: /etc/web.conf}]

- name: Remove the stack (docker stack rm)
  berth.engine.swarm_stack:
    name: shop
    state: absent
"""

RETURN = r"""
networks:
  description: Per network, C(changed), C(actions) and, when it failed, C(failed) and C(msg).
  returned: always
  type: dict
secrets:
  description: Per secret (logical name), like RV(networks).
  returned: always
  type: dict
configs:
  description: Per config (logical name), like RV(networks).
  returned: always
  type: dict
services:
  description: Per service, like RV(networks); an update also has C(reasons), the settings that differ.
  returned: always
  type: dict
failures:
  description: One line per failed item, C(<kind> <name>) and its message.
  returned: always
  type: list
  elements: str
summary:
  description: Per kind, how many were declared and which changed.
  returned: always
  type: dict
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.stack_base import run_stack  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.swarm_stack import ARGUMENT_SPEC, SwarmStack  # noqa: E402


def main():
    run_stack(engine_module(ARGUMENT_SPEC), SwarmStack)


if __name__ == "__main__":
    main()
