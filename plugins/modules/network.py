#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network
short_description: Manage a Docker network idempotently, keeping attached containers across a recreate
version_added: 0.1.0
description:
  - Creates, recreates and removes one network so that it matches what the task declares, and manages which
    containers are attached to it (O(connected)).
  - Only the settings you give are compared. For O(driver_options), O(labels) and O(ipam.options) only the keys you
    list are compared (the engine and other tools may add their own). For O(ipam.config) the set of subnets must
    match, and within each entry the gateway, IP range and auxiliary addresses you give. Pools of an IP version you
    give no subnet of are not compared, such as the IPv4 pool the engine adds to an IPv6 network.
  - Every subnet, IP range, gateway and auxiliary address is validated before anything changes (a subnet needs its
    prefix length and no host bits; the others must lie inside it, in the same IP version). A recreate is refused,
    with nothing changed, when the engine would refuse the new network, for example when its subnets overlap another
    network or IPv6 is switched on without an IPv6 subnet.
  - A network cannot change in place, so any difference recreates it. Every container attached before (running or
    stopped) is disconnected, the network is removed and created again, and the containers are reconnected with
    their aliases and static IP addresses. Settings you do not give are taken over from the old network (its driver
    options only if the driver stays the same). If the new network cannot be created, the old one is restored
    and its containers reconnected.
  - A static address the new network cannot hold (outside its new subnets) is dropped with a warning; that container
    is reconnected with a dynamic address and its aliases, and a later M(berth.engine.container) task can give it a
    new static one. Check mode predicts these warnings too.
  - Containers lose connectivity on that network while it is recreated.
  - Check mode reports exactly the actions a real run would take; diff mode shows what differs.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  name:
    description: Network name.
    type: str
    required: true
  state:
    description:
      - C(present) the network exists as declared. C(absent) it does not exist.
      - Removing a network that has containers attached (running or stopped) fails and names them, unless
        O(force=true).
    type: str
    default: present
    choices: [present, absent]
  driver:
    description:
      - Network driver, such as C(bridge), C(macvlan), C(ipvlan) or C(overlay) (needs a swarm manager).
      - A new network uses C(bridge) when it is not given; an existing one is then not compared.
    type: str
  driver_options:
    description: Driver options, for example C(com.docker.network.bridge.name) or C(parent) for macvlan.
    type: dict
    aliases: [options]
  ipam:
    description: IP address management.
    type: dict
    suboptions:
      driver:
        description: IPAM driver; the engine's is C(default).
        type: str
      options:
        description: IPAM driver options.
        type: dict
      config:
        description: Address pools. Without it the engine picks a subnet.
        type: list
        elements: dict
        suboptions:
          subnet:
            description: Subnet in CIDR notation, for example C(172.28.0.0/16) or C(fd00:28::/64).
            type: str
            required: true
          gateway:
            description: Gateway address, inside O(ipam.config[].subnet).
            type: str
          ip_range:
            description: Range to allocate container addresses from, inside O(ipam.config[].subnet).
            type: str
          aux_addresses:
            description: Addresses the IPAM driver must not hand out, by host name.
            type: dict
  internal:
    description: Restrict external access to the network.
    type: bool
  attachable:
    description: Let standalone containers attach to a swarm-scoped (overlay) network.
    type: bool
  enable_ipv6:
    description: Enable IPv6 on the network.
    type: bool
  scope:
    description: The network's scope.
    type: str
    choices: [local, swarm, global]
  labels:
    description: Labels of the network. Labels not listed are not compared.
    type: dict
  connected:
    description:
      - Names (or IDs) of containers that must be attached to the network. They must exist.
      - Without it attachment is not managed (containers can attach themselves, e.g. through the C(networks)
        option of M(berth.engine.container)).
    type: list
    elements: str
  appends:
    description:
      - With O(connected), C(false) means exactly those containers are attached (others are disconnected);
        C(true) only adds them.
    type: bool
    default: false
  force:
    description: With O(state=absent), disconnect attached containers and remove the network anyway.
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
- name: A bridge network with a fixed subnet
  berth.engine.network:
    name: backend
    ipam:
      config:
        - subnet: 172.28.0.0/16
          gateway: 172.28.0.1
          ip_range: 172.28.5.0/24
    labels:
      org.example.stack: shop

- name: An internal network that exactly these containers are attached to
  berth.engine.network:
    name: db-only
    internal: true
    connected: [api, db]

- name: A macvlan network on the host's eth0
  berth.engine.network:
    name: lan
    driver: macvlan
    driver_options:
      parent: eth0
    ipam:
      config:
        - subnet: 192.168.1.0/24
          gateway: 192.168.1.1

- name: Remove it, disconnecting whatever is still attached
  berth.engine.network:
    name: backend
    state: absent
    force: true
"""

RETURN = r"""
network:
  description: The network's inspect document after the task (before it, in check mode); empty when removed.
  returned: success
  type: dict
actions:
  description: What was done (in check mode, would be done), in order, like C(create), C(recreate), C(connect), C(disconnect), C(remove).
  returned: always
  type: list
  elements: str
  sample: [recreate]
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, plan_result, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.network_plan import ARGUMENT_SPEC  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.network_resource import NetworkResource  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.resource import converge  # noqa: E402


def main():
    module = engine_module(ARGUMENT_SPEC)

    def body(client):
        plan, _unused, network = converge(NetworkResource(client, module.params, module.check_mode))
        return plan_result(module, plan, "network", network)

    run(module, body)


if __name__ == "__main__":
    main()
