# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin part of the network resource: read the network and who is attached, execute a plan.

A recreate reads every attached container's endpoint (aliases, static addresses) first, then
disconnects them, removes and creates the network, and reconnects them with the same endpoint
settings. If the new network cannot be created the old one is brought back.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.engine import EngineError, quote_path
from ansible_collections.berth.engine.plugins.module_utils.network_plan import (
    attached_from_list,
    compare_network,
    desired_network,
    fit_endpoints,
    plan_network,
    previous_body,
)


def inspect_network(client, name):
    """The network called exactly `name` (the engine also matches ID prefixes: those do not count)."""
    network = client.get("/networks/%s" % quote_path(name), missing_ok=True)
    if network and network.get("Name") != name:
        return None
    return network


def attached_containers(client, network):
    """Containers attached to the network, stopped ones included ({name, id, running})."""
    summaries = client.get("/containers/json", {
        "all": True, "filters": {"network": [network["Name"], network["Id"]]}}) or []
    return attached_from_list(summaries, network)


def _resolve_connected(client, entries):
    """Container names as the engine knows them; a missing container fails (in check mode too)."""
    names = []
    for entry in entries:
        container = client.get("/containers/%s/json" % quote_path(entry), missing_ok=True)
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


class NetworkConverger:
    def __init__(self, client, params, check_mode=False):
        self.client = client
        self.desired = desired_network(params)
        self.check_mode = check_mode

    def plan(self, actual=None, read=True):
        desired = self.desired
        if read:
            actual = inspect_network(self.client, desired["name"])
        attached = None
        if actual is not None and (desired["state"] == "absent" or desired["connected"] is not None
                                   or compare_network(desired, actual)):
            attached = attached_containers(self.client, actual)
        if desired["connected"] and desired["state"] == "present":
            desired["connected"] = _resolve_connected(self.client, desired["connected"])
        plan = plan_network(desired, actual, attached)
        for action in plan.actions:
            if action["action"] == "recreate":
                # Read now, in check mode too, so the prediction includes the addresses that cannot stay.
                action["saved"] = self._endpoints(actual, attached, action["reconnect"])
                action["endpoints"], warnings = fit_endpoints(action["body"], action["saved"])
                plan.warnings.extend(warnings)
        return plan, actual

    def _endpoints(self, network, attached, names):
        """{container name: EndpointConfig as attached now} for the containers to reconnect."""
        endpoints = {}
        for entry in attached or []:
            if entry["name"] in names:
                container = self.client.get("/containers/%s/json" % quote_path(entry["id"]), missing_ok=True)
                if container is not None:
                    endpoints[entry["name"]] = saved_endpoint(container, network["Name"])
        return endpoints

    def apply(self, plan, actual):
        name = self.desired["name"]
        network_id = actual["Id"] if actual else None
        for action in plan.actions:
            kind = action["action"]
            if kind == "create":
                network_id = self._create(action["body"])
            elif kind == "connect":
                self._connect(network_id, action["container"], {})
            elif kind == "disconnect":
                self._disconnect(network_id, action["container"])
            elif kind == "recreate":
                network_id = self._recreate(actual, action)
            elif kind == "remove":
                for container in action["disconnect"]:
                    self._disconnect(network_id, container)
                self._delete(network_id)
                return None
        return inspect_network(self.client, name)

    def _create(self, body):
        try:
            return self.client.post("/networks/create", body=body)["Id"]
        except EngineError as err:
            raise EngineError("creating network %s failed: %s" % (body["Name"], err.daemon_message or err),
                              err.status, err.daemon_message) from None

    def _connect(self, network_id, container, endpoint):
        self.client.post("/networks/%s/connect" % quote_path(network_id),
                         body={"Container": container, "EndpointConfig": endpoint})

    def _disconnect(self, network_id, container):
        self.client.post("/networks/%s/disconnect" % quote_path(network_id),
                         body={"Container": container, "Force": True})

    def _delete(self, network_id):
        try:
            self.client.delete("/networks/%s" % quote_path(network_id), missing_ok=True)
        except EngineError as err:
            raise EngineError("removing network %s failed: %s" % (self.desired["name"], err.daemon_message or err),
                              err.status, err.daemon_message) from None

    def _recreate(self, old, action):
        name = self.desired["name"]
        for entry in attached_containers(self.client, old):
            self._disconnect(old["Id"], entry["id"])
        self._delete(old["Id"])
        try:
            network_id = self._create(action["body"])
        except EngineError as err:
            restored = self._restore(old, action["saved"])
            raise EngineError("recreating network %s failed: %s. %s" % (name, err, restored),
                              err.status, err.daemon_message) from None
        failures = self._reconnect(network_id, action["endpoints"])
        if failures:
            raise EngineError(
                "network %s was recreated but these containers could not be reconnected and are now detached "
                "from it: %s. Fix their network settings (berth.engine.container networks) and run again."
                % (name, "; ".join(failures)))
        return network_id

    def _reconnect(self, network_id, saved):
        failures = []
        for container, endpoint in saved.items():
            try:
                self._connect(network_id, container, endpoint)
            except EngineError as err:
                failures.append("%s (%s)" % (container, err.daemon_message or err))
        return failures

    def _restore(self, old, saved):
        body = previous_body(old)
        try:
            network_id = self.client.post("/networks/create", body=body)["Id"]
        except EngineError as err:
            return ("Restoring the previous network failed too (%s); containers %s are detached."
                    % (err.daemon_message or err, ", ".join(saved) or "none"))
        failures = self._reconnect(network_id, fit_endpoints(body, saved)[0])
        if failures:
            return "The previous network was restored but reconnecting failed for: %s." % "; ".join(failures)
        return "The previous network was restored and its containers reconnected."


def converge_network(client, params, check_mode=False, actual=None, read=True):
    """Plan, and apply unless check_mode. Returns (plan, network inspect document or None)."""
    converger = NetworkConverger(client, params, check_mode)
    plan, actual = converger.plan(actual, read=read)
    if check_mode or not plan.actions:
        return plan, actual
    return plan, converger.apply(plan, actual)
