# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory of the containers of one or more Docker engines, read through the Engine API."""

from __future__ import annotations

DOCUMENTATION = r"""
name: containers
short_description: Containers of one or more Docker engines as an inventory
description:
  - Lists the containers of one or more Docker engines (a local socket, C(tcp://) with TLS) through
    the Engine API and makes each a host, with the variables the connection plugin
    P(berth.engine.docker#connection) needs to run tasks inside it.
  - Default groups by Compose project and service, by Berth stack (label C(io.berth.stack)), by image and
    by state; more with Ansible's constructable options.
  - Reaching the engines of every host of a group through a bastion is not supported; point O(engines)
    at engines the controller reaches itself.
  - The configuration file's name ends in C(containers.berth.yml) or C(containers.berth.yaml).
author:
  - Berth maintainers (!UNKNOWN)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin, always C(berth.engine.containers).
    type: str
    required: true
    choices: [berth.engine.containers]
  engines:
    description:
      - The engines to list. Each takes the connection options of the modules; those not given fall back
        to the environment (E(DOCKER_HOST), E(DOCKER_TLS), E(DOCKER_TLS_VERIFY), E(DOCKER_CERT_PATH) ...),
        then to the defaults.
      - When empty, the one engine the environment describes (the local socket by default).
    type: list
    elements: dict
    default: []
    suboptions:
      docker_host:
        description: Where the engine listens, C(unix:///var/run/docker.sock) or C(tcp://host:2376).
        type: str
      tls:
        description: Speak HTTPS to a C(tcp://) engine.
        type: bool
      ca_path:
        description: CA certificate that signed the engine's certificate.
        type: path
      client_cert:
        description: Client certificate for TLS client authentication.
        type: path
      client_key:
        description: Key of the client certificate.
        type: path
      validate_certs:
        description: Verify the engine's TLS certificate.
        type: bool
      timeout:
        description: Seconds to wait for one API call.
        type: int
  all:
    description: List stopped containers too (their C(state) group tells them apart).
    type: bool
    default: false
  filters:
    description:
      - Which containers become hosts, as Ansible's C(include)/C(exclude) rules applied in order, the first
        that matches deciding; a container no rule matches is included.
      - Each rule is a Jinja2 test over the host's variables (C(berth_container), C(berth_labels) ...).
    type: list
    elements: dict
    default: []
  host_name:
    description:
      - What names a host, C(name) (the container's name) or C(id) (its short ID).
    type: str
    default: name
    choices: [name, id]
"""

EXAMPLES = r"""
# containers.berth.yml: every running container of the local engine
plugin: berth.engine.containers

---
# web.containers.berth.yml: two engines, only the web service of Compose project shop, grouped by a label
plugin: berth.engine.containers
engines:
  - docker_host: unix:///var/run/docker.sock
  - docker_host: tcp://build.example.com:2376
    tls: true
    ca_path: /etc/docker-certs/ca.pem
    client_cert: /etc/docker-certs/cert.pem
    client_key: /etc/docker-certs/key.pem
filters:
  - include: berth_labels['com.docker.compose.project'] | default('') == 'shop'
  - exclude: true
keyed_groups:
  - key: berth_labels['tier'] | default('none')
    prefix: tier
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/berth-inventory
"""

import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.berth.engine.plugins.module_utils.engine_client import (
    EngineClient,
    EngineError,
    resolve_settings,
)

CONNECTION_SETTINGS = ("docker_host", "tls", "ca_path", "client_cert", "client_key", "validate_certs", "timeout")
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
STACK_LABEL = "io.berth.stack"


def group_name(*parts):
    """A group name Ansible accepts: words joined by _, anything else replaced by _."""
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(str(part) for part in parts))


def engine_settings(engine):
    """Connection settings of one engines entry: given ones, then the environment, then defaults."""
    given = {name: (engine or {}).get(name) for name in CONNECTION_SETTINGS}
    return resolve_settings(given)


def connection_vars(settings):
    """Host variables that make berth.engine.docker reach a container of this engine."""
    found = {"ansible_connection": "berth.engine.docker", "ansible_docker_host": settings["docker_host"]}
    if settings["tls"]:
        found["ansible_docker_tls"] = True
        for name in ("ca_path", "client_cert", "client_key"):
            if settings[name]:
                found["ansible_docker_" + name] = settings[name]
        if not settings["validate_certs"]:
            found["ansible_docker_validate_certs"] = False
    return found


def container_vars(container, settings):
    """The host variables of one container (an entry of GET /containers/json)."""
    labels = container.get("Labels") or {}
    name = (container.get("Names") or ["/" + container["Id"][:12]])[0].lstrip("/")
    found = connection_vars(settings)
    found.update(
        ansible_host=name,
        berth_container={"id": container["Id"], "name": name, "image": container.get("Image"),
                         "state": container.get("State"), "status": container.get("Status"),
                         "command": container.get("Command"), "created": container.get("Created"),
                         "ports": container.get("Ports") or [],
                         "networks": sorted((container.get("NetworkSettings") or {}).get("Networks") or {})},
        berth_labels=labels,
        berth_engine=settings["docker_host"],
    )
    return found


def default_groups(container):
    """Groups every container joins: by Compose project and service, Berth stack, image and state."""
    labels = container.get("Labels") or {}
    groups = ["state_%s" % group_name(container.get("State") or "unknown"),
              "image_%s" % group_name(container.get("Image") or "none")]
    if labels.get(COMPOSE_PROJECT):
        groups.append("compose_%s" % group_name(labels[COMPOSE_PROJECT]))
        if labels.get(COMPOSE_SERVICE):
            groups.append("compose_%s_%s" % (group_name(labels[COMPOSE_PROJECT]), group_name(labels[COMPOSE_SERVICE])))
    if labels.get(STACK_LABEL):
        groups.append("stack_%s" % group_name(labels[STACK_LABEL]))
    return groups


class EngineInventory(BaseInventoryPlugin, Constructable, Cacheable):
    """What both Berth inventories share: Ansible's inventory cache and constructed hosts."""

    def _cached_listing(self, path, cache, read):
        """read()'s result, from Ansible's inventory cache when it is on and has it."""
        cache_key = self.get_cache_key(path)
        if self.get_option("cache") and cache:
            try:
                return self._cache[cache_key]
            except KeyError:
                pass
        listing = read()
        if self.get_option("cache"):
            self._cache[cache_key] = listing
        return listing

    def _add_constructed_host(self, host, variables, groups):
        """Add a host with its variables, its default groups, then keyed_groups/groups/compose."""
        strict = self.get_option("strict")
        self.inventory.add_host(host)
        for key, value in variables.items():
            # What the engine reports (labels, names) is data, never a template to render.
            self.inventory.set_variable(host, key, wrap_var(value))
        for group in groups:
            self.inventory.add_group(group)
            self.inventory.add_child(group, host)
        self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)


class InventoryModule(EngineInventory):
    """Hosts from GET /containers/json of every configured engine."""

    NAME = "berth.engine.containers"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("containers.berth.yml", "containers.berth.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        for entry in self._cached_listing(path, cache, self._list_engines):
            self._add_container(entry["container"], entry["settings"])

    def _list_engines(self):
        engines = self.get_option("engines") or [{}]
        listing = []
        for engine in engines:
            settings = engine_settings(engine)
            try:
                client = EngineClient(**settings)
                containers = client.listing("container", all=self.get_option("all"))
            except EngineError as err:
                raise AnsibleError("berth.engine.containers: cannot list the containers of %s: %s"
                                   % (settings["docker_host"], err)) from None
            listing.extend({"container": container, "settings": settings} for container in containers)
        return listing

    def _add_container(self, container, settings):
        variables = container_vars(container, settings)
        host = variables["ansible_host"] if self.get_option("host_name") == "name" else container["Id"][:12]
        if self._passes_filters(variables, host):
            self._add_constructed_host(host, variables, default_groups(container))

    def _passes_filters(self, variables, host):
        """Ansible's include/exclude rules, the first match deciding; included when none matches."""
        for rule in self.get_option("filters"):
            if not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in ("include", "exclude"):
                raise AnsibleParserError("berth.engine.containers: each filters entry is {include: <test>} or "
                                         "{exclude: <test>}, got %r" % (rule,))
            verdict, test = next(iter(rule.items()))
            if self._matches(test, variables, host):
                return verdict == "include"
        return True

    def _matches(self, test, variables, host):
        if isinstance(test, bool):
            return test
        try:
            return bool(self._compose(test, variables))
        except Exception as err:  # a template error names the filter and the host
            raise AnsibleParserError("berth.engine.containers: filter %r failed on %s: %s" % (test, host, err)) from None
