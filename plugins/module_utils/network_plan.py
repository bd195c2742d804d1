# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of the network resource: desired state, comparison and the action list.

Only settings the user gave are compared. A network cannot change in place, so any difference
recreates it; the engine part then reconnects every container that was attached with its aliases
and static addresses. Which containers are attached (running or not) comes from the engine part.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.berth.engine.plugins.module_utils.plan import Plan, as_text_map

PREDEFINED = ("bridge", "host", "none")
UNSET = object()
# Settings compared as "the keys the user gave have these values": the engine or other tools may add keys.
SUBSET_KEYS = ("options", "labels", "ipam_options")


# The smallest subnets the engine can use: a gateway plus at least one container address
# (the engine reserves more of a tiny IPv6 subnet and refuses /126 and smaller).
MAX_PREFIX = {4: 30, 6: 125}


def _network(value, option):
    """A subnet or range with an explicit prefix length and no host bits, as the engine needs it."""
    text = str(value).strip()
    if "/" not in text:
        problem = "has no prefix length" if _is_address(text) else "is not an address with prefix length"
        raise ValueError("%s %r %s: give a subnet such as 172.28.0.0/16 or fd00:28::/64" % (option, value, problem))
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError("%s %r is not an address with prefix length such as 172.28.0.0/16" % (option, value)) from None
    if ipaddress.ip_interface(text).ip != network.network_address:
        raise ValueError("%s %r has host bits set: did you mean %s?" % (option, value, network))
    return network


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _address(value, option):
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise ValueError("%s %r is not an IP address" % (option, value)) from None


def _address_in(value, option, subnet):
    """An address that must lie inside `subnet`, normalised (IPv6 compressed)."""
    address = _address(value, option)
    if address.version != subnet.version:
        raise ValueError("%s %s is an IPv%d address in the IPv%d subnet %s"
                         % (option, address, address.version, subnet.version, subnet))
    if address not in subnet:
        raise ValueError("%s %s is outside subnet %s" % (option, address, subnet))
    return str(address)


def _ipam_entry(entry, index):
    """One ipam.config entry, normalised (IPv6 compressed) and checked for consistency."""
    where = "ipam.config[%d]" % index
    if not entry.get("subnet"):
        raise ValueError("%s needs a subnet such as 172.28.0.0/16" % where)
    network = _network(entry["subnet"], where + ".subnet")
    if network.prefixlen > MAX_PREFIX[network.version]:
        raise ValueError("%s.subnet %r is too small: the engine needs room for a gateway and containers "
                         "(at most /%d for IPv%d)" % (where, entry["subnet"], MAX_PREFIX[network.version],
                                                      network.version))
    subnet = str(network)
    result = {"subnet": subnet}
    if entry.get("gateway"):
        result["gateway"] = _address_in(entry["gateway"], where + ".gateway", network)
        if ipaddress.ip_address(result["gateway"]) == network.network_address:
            raise ValueError("%s.gateway %s is the subnet's network address; use a host address such as %s"
                             % (where, result["gateway"], network[1]))
    if entry.get("ip_range"):
        ip_range = _network(entry["ip_range"], where + ".ip_range")
        if ip_range.version != network.version or not ip_range.subnet_of(network):
            raise ValueError("%s.ip_range %s is outside subnet %s" % (where, ip_range, subnet))
        result["ip_range"] = str(ip_range)
    if entry.get("aux_addresses") is not None:
        aux = as_text_map(entry["aux_addresses"], where + ".aux_addresses")
        result["aux_addresses"] = {k: _address_in(v, "%s.aux_addresses.%s" % (where, k), network)
                                   for k, v in aux.items()}
    return result


def _check_ip_versions(config):
    """A v6 subnet on a network whose IPv6 the task switches off can never work."""
    if config.get("enable_ipv6") is False:
        for index, entry in enumerate(config.get("ipam_config") or []):
            if ipaddress.ip_network(entry["subnet"]).version == 6:
                raise ValueError("ipam.config[%d].subnet %s is IPv6 but enable_ipv6 is false: set enable_ipv6: "
                                 "true or drop that subnet" % (index, entry["subnet"]))


def desired_network(params):
    """Validate the module parameters: {'name', 'state', 'config' (only what the user set), ...}."""
    name = params.get("name")
    if not name:
        raise ValueError("name is required")
    config = {}
    for key in ("driver", "scope"):
        if params.get(key):
            config[key] = params[key]
    for key in ("internal", "attachable", "enable_ipv6"):
        if params.get(key) is not None:
            config[key] = bool(params[key])
    if params.get("driver_options") is not None:
        config["options"] = as_text_map(params["driver_options"], "driver_options")
    if params.get("labels") is not None:
        config["labels"] = as_text_map(params["labels"], "labels")
    ipam = params.get("ipam") or {}
    if ipam.get("driver"):
        config["ipam_driver"] = ipam["driver"]
    if ipam.get("options") is not None:
        config["ipam_options"] = as_text_map(ipam["options"], "ipam.options")
    if ipam.get("config") is not None:
        entries = [_ipam_entry(entry or {}, i) for i, entry in enumerate(ipam["config"])]
        subnets = [e["subnet"] for e in entries]
        if len(set(subnets)) != len(subnets):
            raise ValueError("ipam.config lists a subnet twice")
        config["ipam_config"] = sorted(entries, key=lambda e: e["subnet"])
    _check_ip_versions(config)
    connected = params.get("connected")
    if connected is not None:
        connected = list(dict.fromkeys(str(c) for c in connected))
    return {
        "name": name,
        "state": params.get("state") or "present",
        "config": config,
        "connected": connected,
        "appends": bool(params.get("appends")),
        "force": bool(params.get("force")),
    }


# --- the engine's view -----------------------------------------------------------------------------

def _actual_ipam_config(network):
    entries = []
    for item in ((network.get("IPAM") or {}).get("Config") or []):
        entry = {}
        if item.get("Subnet"):
            entry["subnet"] = _soft(item["Subnet"], ipaddress.ip_interface)
        if item.get("Gateway"):
            entry["gateway"] = _soft(item["Gateway"].split("/")[0], ipaddress.ip_address)
        if item.get("IPRange"):
            entry["ip_range"] = _soft(item["IPRange"], ipaddress.ip_interface)
        entry["aux_addresses"] = {k: _soft(v, ipaddress.ip_address)
                                  for k, v in (item.get("AuxiliaryAddresses") or {}).items()}
        entries.append(entry)
    return sorted(entries, key=lambda e: e.get("subnet", ""))


def _soft(value, parse):
    try:
        return str(parse(value))
    except ValueError:
        return value


def actual_config(network):
    """The network inspect document in the shape of desired['config']."""
    ipam = network.get("IPAM") or {}
    return {
        "driver": network.get("Driver"),
        "scope": network.get("Scope"),
        "internal": bool(network.get("Internal")),
        "attachable": bool(network.get("Attachable")),
        "enable_ipv6": bool(network.get("EnableIPv6")),
        "options": network.get("Options") or {},
        "labels": network.get("Labels") or {},
        "ipam_driver": ipam.get("Driver") or "default",
        "ipam_options": ipam.get("Options") or {},
        "ipam_config": _actual_ipam_config(network),
    }


def _ip_version(subnet):
    try:
        return ipaddress.ip_network(subnet or "", strict=False).version
    except ValueError:
        return None


def _same_ipam_config(wanted, actual):
    # The engine gives every network an IPv4 pool (and, when asked for IPv6 without a subnet, an IPv6
    # one): a pool of an IP version the task declares no subnet of is the engine's choice, not a drift.
    versions = {_ip_version(entry["subnet"]) for entry in wanted}
    by_subnet = {entry.get("subnet"): entry for entry in actual if _ip_version(entry.get("subnet")) in versions}
    if set(by_subnet) != {entry["subnet"] for entry in wanted}:
        return False
    for entry in wanted:
        current = by_subnet[entry["subnet"]]
        for key in ("gateway", "ip_range", "aux_addresses"):
            if key in entry and entry[key] != current.get(key, {} if key == "aux_addresses" else None):
                return False
    return True


def compare_network(desired, network):
    """[(setting, engine value, declared value)] for every user-set setting that differs."""
    actual = actual_config(network)
    differences = []
    for key, wanted in desired["config"].items():
        current = actual[key]
        if key in SUBSET_KEYS:
            current = {k: current[k] for k in wanted if k in current}
            same = current == wanted
        elif key == "ipam_config":
            same = _same_ipam_config(wanted, current)
        else:
            same = current == wanted
        if not same:
            differences.append((key, current, wanted))
    return differences


def attached_from_inspect(network):
    """Attached containers as the network inspect shows them (running ones only)."""
    return [{"name": info.get("Name"), "id": container_id, "running": True}
            for container_id, info in ((network or {}).get("Containers") or {}).items()]


def attached_from_list(summaries, network):
    """Attached containers, running or not, from GET /containers/json?filters={network: [...]}."""
    attached = []
    for summary in summaries or []:
        networks = (summary.get("NetworkSettings") or {}).get("Networks") or {}
        if network["Name"] in networks or any(
                (ep or {}).get("NetworkID") == network["Id"] for ep in networks.values()):
            attached.append({"name": (summary.get("Names") or ["/" + summary["Id"]])[0].lstrip("/"),
                             "id": summary["Id"], "running": summary.get("State") == "running"})
    return sorted(attached, key=lambda a: a["name"])


# --- bodies ------------------------------------------------------------------------------------

def _ipam_body(entries):
    body = []
    for entry in entries:
        item = {"Subnet": entry["subnet"]}
        if entry.get("gateway"):
            item["Gateway"] = entry["gateway"]
        if entry.get("ip_range"):
            item["IPRange"] = entry["ip_range"]
        if entry.get("aux_addresses"):
            item["AuxiliaryAddresses"] = dict(entry["aux_addresses"])
        body.append(item)
    return body


def network_body(desired, previous=None):
    """POST /networks/create for the desired network.

    When recreating, `previous` (the old inspect document) supplies what the user did not set, so a
    change of, say, labels keeps the subnet and the flags; its driver options are kept only when the
    driver stays the same.
    """
    config = desired["config"]
    base = actual_config(previous) if previous else {}
    if previous and config.get("driver", base["driver"]) != base["driver"]:
        base["options"] = {}
    merged = dict(base)
    for key, value in config.items():
        if key in SUBSET_KEYS:
            merged[key] = {**(base.get(key) or {}), **value}
        else:
            merged[key] = value
    if config.get("enable_ipv6") is False and "ipam_config" not in config:
        # IPv6 switched off: the old network's IPv6 pools do not come along.
        merged["ipam_config"] = [e for e in merged.get("ipam_config") or [] if _ip_version(e.get("subnet")) != 6]
    body = {
        "Name": desired["name"],
        "CheckDuplicate": True,
        "Driver": merged.get("driver") or "bridge",
        "Internal": bool(merged.get("internal")),
        "Attachable": bool(merged.get("attachable")),
        "EnableIPv6": bool(merged.get("enable_ipv6")),
        "Options": dict(merged.get("options") or {}),
        "Labels": dict(merged.get("labels") or {}),
        "IPAM": {"Driver": merged.get("ipam_driver") or "default",
                 "Config": _ipam_body(merged.get("ipam_config") or []),
                 "Options": dict(merged.get("ipam_options") or {})},
    }
    if config.get("scope"):
        body["Scope"] = config["scope"]
    return body


def previous_body(network):
    """The create document that brings back `network` as it was (to roll back a failed recreate)."""
    return network_body({"name": network["Name"], "config": {}}, network)


def fit_endpoints(body, endpoints):
    """Endpoints to reconnect after a recreate, adapted to the new network; returns (endpoints, warnings).

    A static address the new network cannot hold (outside its subnets, or no user subnet of that IP
    version) is dropped, so the container is reconnected with a dynamic one, aliases intact; the engine
    would otherwise refuse the connect (and keep a broken endpoint on a running container).
    Containers with static addresses come first, so dynamic allocation cannot take their addresses.
    """
    subnets = []
    for entry in (body.get("IPAM") or {}).get("Config") or []:
        try:
            subnets.append(ipaddress.ip_interface(entry.get("Subnet", "")).network)
        except ValueError:
            continue
    fitted, warnings = {}, []
    for container in sorted(endpoints, key=lambda c: (not (endpoints[c].get("IPAMConfig")), c)):
        endpoint = dict(endpoints[container])
        ipam = dict(endpoint.get("IPAMConfig") or {})
        for key in ("IPv4Address", "IPv6Address"):
            if not ipam.get(key):
                continue
            try:
                address = ipaddress.ip_address(ipam[key])
            except ValueError:
                continue
            if not any(address in subnet for subnet in subnets if subnet.version == address.version):
                warnings.append("network %s: container %s cannot keep its static address %s, which the new network "
                                "does not hold; it is reconnected with a dynamic one (set a new address with "
                                "berth.engine.container networks)" % (body["Name"], container, ipam.pop(key)))
        if ipam:
            endpoint["IPAMConfig"] = ipam
        else:
            endpoint.pop("IPAMConfig", None)
        fitted[container] = endpoint
    return fitted, warnings


# --- plan --------------------------------------------------------------------------------------

def _view(desired_config):
    view = dict(desired_config)
    if "ipam_config" in view:
        view["ipam_config"] = [dict(e) for e in view["ipam_config"]]
    return view


def kept_containers(desired, names, connected):
    """Which of the attached `names` stay attached (and so are reconnected by a recreate)."""
    if connected is None or desired["appends"]:
        return list(names)
    return [n for n in names if n in connected]


def overlapping_networks(body, networks):
    """'name (subnet)' of the other networks whose pools overlap the subnets of `body`."""
    wanted = [ipaddress.ip_network(e["Subnet"], strict=False) for e in body["IPAM"]["Config"]]
    clashes = []
    for network in networks or []:
        if network.get("Name") == body["Name"]:
            continue
        for entry in (network.get("IPAM") or {}).get("Config") or []:
            try:
                pool = ipaddress.ip_network(entry.get("Subnet") or "", strict=False)
            except ValueError:
                continue
            if any(pool.version == w.version and pool.overlaps(w) for w in wanted):
                clashes.append("%s (%s)" % (network.get("Name"), pool))
    return sorted(clashes)


def plan_network(desired, actual, attached=None, connected=UNSET, endpoints=None, networks=None):
    """The actions that take `actual` (network inspect document or None) to `desired`.

    `attached` lists the containers connected to the network ({name, id, running}), stopped ones
    included; without it the inspect document's running containers are used. `connected` is
    desired['connected'] with names resolved as the engine knows them. `endpoints` holds the
    EndpointConfig of each container a recreate reconnects, and `networks` the engine's other
    networks (their pools must not overlap the new one); both are read only when there is a drift.
    """
    name = desired["name"]
    plan = Plan("network", name)
    if attached is None:
        attached = attached_from_inspect(actual)
    names = sorted(a["name"] for a in attached)
    if connected is UNSET:
        connected = desired["connected"]

    if desired["state"] == "absent":
        return _plan_absent(plan, desired, actual, names)
    if actual is None:
        plan.add("create", body=network_body(desired))
        plan.differ("state", "absent", "present")
        plan.after.update(_view(desired["config"]))
        for container in connected or []:
            plan.add("connect", container=container)
        if connected:
            plan.differ("connected", [], sorted(connected))
        return plan

    keep = kept_containers(desired, names, connected)
    drop = [n for n in names if n not in keep]
    add = [c for c in connected or [] if c not in names]
    for container in drop:
        plan.add("disconnect", container=container)
    differences = compare_network(desired, actual)
    if differences:
        _plan_recreate(plan, desired, actual, differences, keep, endpoints or {}, networks)
    for container in add:
        plan.add("connect", container=container)
    if add or drop:
        plan.differ("connected", names, sorted(keep + add))
    return plan


def _plan_absent(plan, desired, actual, names):
    name = desired["name"]
    if actual is None:
        return plan
    if name in PREDEFINED:
        raise ValueError("network %s is predefined by the engine and cannot be removed" % name)
    if names and not desired["force"]:
        raise ValueError(
            "network %s cannot be removed: container(s) %s are attached to it. Remove or disconnect them "
            "first, or set force: true to disconnect them and remove the network" % (name, ", ".join(names)))
    plan.add("remove", id=actual["Id"], disconnect=names)
    plan.differ("state", "present", "absent")
    if names:
        plan.differ("connected", names, [])
    return plan


def _plan_recreate(plan, desired, actual, differences, keep, endpoints, networks):
    """A recreate, planned only once its replacement is known to be valid (nothing is removed before)."""
    name = desired["name"]
    if name in PREDEFINED:
        raise ValueError("network %s is predefined by the engine and cannot be recreated; it differs in %s"
                         % (name, ", ".join(d[0] for d in differences)))
    body = network_body(desired, actual)
    _check_body(body)
    clashes = overlapping_networks(body, networks)
    if clashes:
        raise ValueError("network %s cannot be recreated: its subnets overlap network(s) %s, so the engine would "
                         "refuse the new network after the old one is gone. Nothing was changed; choose another "
                         "subnet" % (name, ", ".join(clashes)))
    for key, before, after in differences:
        plan.differ(key, before, after)
    saved = {container: endpoints[container] for container in keep if container in endpoints}
    fitted, warnings = fit_endpoints(body, saved)
    plan.warnings.extend(warnings)
    plan.add("recreate", id=actual["Id"], reasons=[d[0] for d in differences], body=body, reconnect=keep,
             saved=saved, endpoints=fitted)


def _check_body(body):
    """What the engine would refuse in a recreate's body, found before the old network is removed.

    Each user-given value was validated by desired_network; the old network's own values were
    accepted by the engine. What remains is their combination, such as IPv6 switched on for a
    network that has no IPv6 subnet (the engine has no IPv6 pool of its own by default).
    """
    versions = {_ip_version(e.get("Subnet")) for e in body["IPAM"]["Config"]}
    if body["EnableIPv6"] and 6 not in versions:
        raise ValueError("network %s cannot be recreated with enable_ipv6 true but no IPv6 subnet: the engine would "
                         "refuse it after the old network is gone. Nothing was changed; add an IPv6 subnet to "
                         "ipam.config" % body["Name"])


ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    driver=dict(type="str"),
    driver_options=dict(type="dict", aliases=["options"]),
    ipam=dict(type="dict", options=dict(
        driver=dict(type="str"),
        options=dict(type="dict"),
        config=dict(type="list", elements="dict", options=dict(
            subnet=dict(type="str", required=True),
            gateway=dict(type="str"),
            ip_range=dict(type="str"),
            aux_addresses=dict(type="dict"),
        )),
    )),
    internal=dict(type="bool"),
    attachable=dict(type="bool"),
    enable_ipv6=dict(type="bool"),
    scope=dict(type="str", choices=["local", "swarm", "global"]),
    labels=dict(type="dict"),
    connected=dict(type="list", elements="str"),
    appends=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
)
