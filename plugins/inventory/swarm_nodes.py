# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory of the nodes of a Docker swarm, read from a manager's Engine API."""

from __future__ import annotations

DOCUMENTATION = r"""
name: swarm_nodes
short_description: The nodes of a Docker swarm as an inventory
description:
  - Reads every node of a swarm from one manager's Engine API (C(GET /nodes)) and makes each a host with
    its role, availability, state, engine version, labels and address.
  - Groups by role (C(role_manager), C(role_worker)), availability (C(availability_active),
    C(availability_pause), C(availability_drain)), state (C(state_ready), C(state_down)) and node label
    (C(label_<key>_<value>)); more with Ansible's constructable options.
  - C(ansible_host) is the node's address as the swarm knows it; O(ansible_host_source) changes that, and
    O(compose) can set it to anything.
  - The configuration file's name ends in C(swarm_nodes.berth.yml) or C(swarm_nodes.berth.yaml).
author:
  - Berth maintainers (!UNKNOWN)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin, always C(berth.engine.swarm_nodes).
    type: str
    required: true
    choices: [berth.engine.swarm_nodes]
  docker_host:
    description:
      - The Engine API of a manager of the swarm. Falls back to E(DOCKER_HOST), then the local socket.
    type: str
  tls:
    description: Speak HTTPS to a C(tcp://) engine. Falls back to E(DOCKER_TLS), then E(DOCKER_TLS_VERIFY).
    type: bool
  ca_path:
    description: CA certificate of the engine. Falls back to E(DOCKER_CA_PATH), then C(ca.pem) in E(DOCKER_CERT_PATH).
    type: path
  client_cert:
    description: Client certificate. Falls back to E(DOCKER_CLIENT_CERT), then C(cert.pem) in E(DOCKER_CERT_PATH).
    type: path
  client_key:
    description: Client key. Falls back to E(DOCKER_CLIENT_KEY), then C(key.pem) in E(DOCKER_CERT_PATH).
    type: path
  validate_certs:
    description: Verify the engine's TLS certificate.
    type: bool
  timeout:
    description: Seconds to wait for one API call.
    type: int
  host_name:
    description:
      - What names a host, C(hostname) (the node's hostname) or C(id) (its ID).
      - Nodes that share a hostname are named C(<hostname>-<first 12 characters of the ID>).
    type: str
    default: hostname
    choices: [hostname, id]
  ansible_host_source:
    description:
      - What C(ansible_host) is set to, C(address) (the node's address, C(Status.Addr)), C(hostname)
        (C(Description.Hostname)) or C(none) (leave it to O(compose) or host variables).
    type: str
    default: address
    choices: [address, hostname, none]
"""

EXAMPLES = r"""
# swarm_nodes.berth.yml: the nodes of the swarm the local engine manages
plugin: berth.engine.swarm_nodes

---
# prod.swarm_nodes.berth.yml: a remote manager with TLS, hosts reached by hostname, grouped by a label
plugin: berth.engine.swarm_nodes
docker_host: tcp://manager-1.example.com:2376
tls: true
ansible_host_source: hostname
keyed_groups:
  - key: berth_node.labels.zone | default('none')
    prefix: zone
groups:
  upgradable: berth_node.engine_version is version('27.0', '<')
"""

from ansible.errors import AnsibleError

from ansible_collections.berth.engine.plugins.inventory.containers import (
    CONNECTION_SETTINGS,
    EngineInventory,
    group_name,
)
from ansible_collections.berth.engine.plugins.module_utils.engine_client import (
    EngineClient,
    EngineError,
    resolve_settings,
)


def node_facts(node):
    """The berth_node variable of one node (an entry of GET /nodes)."""
    spec = node.get("Spec") or {}
    description = node.get("Description") or {}
    status = node.get("Status") or {}
    manager = node.get("ManagerStatus") or {}
    return {
        "id": node["ID"],
        "hostname": description.get("Hostname"),
        "role": spec.get("Role"),
        "availability": spec.get("Availability"),
        "state": status.get("State"),
        "address": status.get("Addr"),
        "engine_version": (description.get("Engine") or {}).get("EngineVersion"),
        "labels": spec.get("Labels") or {},
        "engine_labels": (description.get("Engine") or {}).get("Labels") or {},
        "leader": bool(manager.get("Leader")),
        "manager_address": manager.get("Addr"),
        "reachability": manager.get("Reachability"),
        "platform": description.get("Platform") or {},
    }


def node_groups(facts):
    groups = ["role_%s" % group_name(facts["role"] or "unknown"),
              "availability_%s" % group_name(facts["availability"] or "unknown"),
              "state_%s" % group_name(facts["state"] or "unknown")]
    groups += ["label_%s" % group_name(key, value) for key, value in sorted(facts["labels"].items())]
    if facts["leader"]:
        groups.append("swarm_leader")
    return groups


def host_names(facts, naming):
    """A host name per node: its hostname (with the short ID where hostnames repeat) or its ID."""
    if naming == "id":
        return [node["id"] for node in facts]
    counts = {}
    for node in facts:
        counts[node["hostname"]] = counts.get(node["hostname"], 0) + 1
    return [node["hostname"] if node["hostname"] and counts[node["hostname"]] == 1
            else "%s-%s" % (node["hostname"] or "node", node["id"][:12]) for node in facts]


class InventoryModule(EngineInventory):
    """Hosts from GET /nodes of one swarm manager."""

    NAME = "berth.engine.swarm_nodes"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("swarm_nodes.berth.yml", "swarm_nodes.berth.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        facts = [node_facts(node) for node in self._cached_listing(path, cache, self._read_nodes)]
        for name, node in zip(host_names(facts, self.get_option("host_name")), facts):
            self._add_node(name, node)

    def _read_nodes(self):
        settings = resolve_settings({name: self.get_option(name) for name in CONNECTION_SETTINGS})
        try:
            return EngineClient(**settings).listing("node")
        except EngineError as err:
            hint = ""
            if err.status == 503:
                hint = " (that engine is not a swarm manager: point docker_host at a manager)"
            raise AnsibleError("berth.engine.swarm_nodes: cannot list the nodes from %s: %s%s"
                               % (settings["docker_host"], err, hint)) from None

    def _add_node(self, host, facts):
        variables = {"berth_node": facts}
        source = self.get_option("ansible_host_source")
        if source != "none" and facts.get(source):
            variables["ansible_host"] = facts[source]
        self._add_constructed_host(host, variables, node_groups(facts))
