# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin part of the network resource: read the network and who is attached, execute a plan.

A recreate reads every attached container's endpoint (aliases, static addresses) first, then
disconnects them, removes and creates the network, and reconnects them with the same endpoint
settings. If the new network cannot be created the old one is brought back.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.network_plan import (
    attached_from_list,
    compare_network,
    desired_network,
    fit_endpoints,
    kept_containers,
    plan_network,
    previous_body,
)
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource


def inspect_network(client, name):
    """The network called exactly `name` (the engine also matches ID prefixes: those do not count)."""
    return _exactly(client.inspect("network", name), name)


def _exactly(network, name):
    if network and network.get("Name") != name:
        return None
    return network


def attached_containers(client, network):
    """Containers attached to the network, stopped ones included ({name, id, running})."""
    summaries = client.listing("container", {"network": [network["Name"], network["Id"]]}, all=True)
    return attached_from_list(summaries, network)


def _resolve_connected(client, entries):
    """Container names as the engine knows them; a missing container fails (in check mode too)."""
    names = []
    for entry in entries:
        container = client.inspect("container", entry)
        if container is None:
            raise EngineError("container %s (in connected) does not exist; create it first or fix the name" % entry)
        names.append(container["Name"].lstrip("/"))
    return list(dict.fromkeys(names))


def saved_endpoint(container, network_name):
    """The EndpointConfig that reconnects `container` as it is attached now (aliases, static IPs)."""
    endpoint = ((container.get("NetworkSettings") or {}).get("Networks") or {}).get(network_name) or {}
    config = {}
    short_id = container["Id"][:12]
    aliases = [a for a in endpoint.get("Aliases") or [] if a != short_id]
    if aliases:
        config["Aliases"] = aliases
    ipam = {k: v for k, v in (endpoint.get("IPAMConfig") or {}).items() if v}
    if ipam:
        config["IPAMConfig"] = ipam
    if endpoint.get("Links"):
        config["Links"] = endpoint["Links"]
    if endpoint.get("DriverOpts"):
        config["DriverOpts"] = endpoint["DriverOpts"]
    return config


class NetworkResource(Resource):
    """One network; a drift recreates it and reconnects the containers that stay attached."""

    kind = "network"

    def desire(self, params):
        return desired_network(params)

    def read(self, known=UNREAD):
        """The network, who is attached, `connected` resolved, and for a drift the endpoints and other networks."""
        desired = self.desired
        current = inspect_network(self.client, self.name) if known is UNREAD else _exactly(known, self.name)
        state = {"current": current, "attached": [], "connected": desired["connected"], "endpoints": {},
                 "networks": []}
        present = desired["state"] == "present"
        if present and desired["connected"]:
            state["connected"] = _resolve_connected(self.client, desired["connected"])
        if current is None:
            return state
        drift = present and bool(compare_network(desired, current))
        if not present or desired["connected"] is not None or drift:
            state["attached"] = attached_containers(self.client, current)
        if drift:
            names = [a["name"] for a in state["attached"]]
            keep = kept_containers(desired, names, state["connected"])
            state["endpoints"] = self._endpoints(current, state["attached"], keep)
            state["networks"] = self.client.listing("network")
        return state

    def _endpoints(self, network, attached, names):
        """{container name: EndpointConfig as attached now} for the containers a recreate reconnects."""
        endpoints = {}
        for entry in attached:
            if entry["name"] in names:
                container = self.client.inspect("container", entry["id"])
                if container is not None:
                    endpoints[entry["name"]] = saved_endpoint(container, network["Name"])
        return endpoints

    def plan(self, state):
        return plan_network(self.desired, state["current"], state["attached"], state["connected"],
                            state["endpoints"], state["networks"])

    def apply(self, plan, state):
        current = state["current"]
        network_id = current["Id"] if current else None
        for action in plan.actions:
            kind = action["action"]
            if kind == "create":
                network_id = self._create(action["body"])
            elif kind == "connect":
                self.client.connect(network_id, action["container"])
            elif kind == "disconnect":
                self.client.disconnect(network_id, action["container"])
            elif kind == "recreate":
                network_id = self._recreate(current, action)
            elif kind == "remove":
                for container in action["disconnect"]:
                    self.client.disconnect(network_id, container)
                self._delete(network_id)
                return None
        return inspect_network(self.client, self.name)

    def _create(self, body):
        try:
            return self.client.create("network", body)["Id"]
        except EngineError as err:
            raise EngineError("creating network %s failed: %s" % (body["Name"], err.daemon_message or err),
                              err.status, err.daemon_message) from None

    def _delete(self, network_id):
        try:
            self.client.remove("network", network_id)
        except EngineError as err:
            raise EngineError("removing network %s failed: %s" % (self.name, err.daemon_message or err),
                              err.status, err.daemon_message) from None

    def _recreate(self, old, action):
        for container in action["reconnect"]:
            self.client.disconnect(old["Id"], container)
        self._delete(old["Id"])
        try:
            network_id = self._create(action["body"])
        except EngineError as err:
            restored = self._restore(old, action["saved"])
            raise EngineError("recreating network %s failed: %s. %s" % (self.name, err, restored),
                              err.status, err.daemon_message) from None
        failures = self._reconnect(network_id, action["endpoints"])
        if failures:
            raise EngineError(
                "network %s was recreated but these containers could not be reconnected and are now detached "
                "from it: %s. Fix their network settings (berth.engine.container networks) and run again."
                % (self.name, "; ".join(failures)))
        return network_id

    def _reconnect(self, network_id, endpoints):
        failures = []
        for container, endpoint in endpoints.items():
            try:
                self.client.connect(network_id, container, endpoint)
            except EngineError as err:
                failures.append("%s (%s)" % (container, err.daemon_message or err))
        return failures

    def _restore(self, old, saved):
        body = previous_body(old)
        try:
            network_id = self.client.create("network", body)["Id"]
        except EngineError as err:
            return ("Restoring the previous network failed too (%s); containers %s are detached."
                    % (err.daemon_message or err, ", ".join(saved) or "none"))
        failures = self._reconnect(network_id, fit_endpoints(body, saved)[0])
        if failures:
            return "The previous network was restored but reconnecting failed for: %s." % "; ".join(failures)
        return "The previous network was restored and its containers reconnected."
