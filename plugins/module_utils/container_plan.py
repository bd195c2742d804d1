# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of the container resource: desired state, comparison and the action list.

desired_container(params) validates and normalises module parameters; plan_container()
compares them with `docker inspect` documents and returns a Plan. Only options the user set
are compared, and values the image provides (env, labels, cmd, volumes, ports) never count as drift.
"""

from __future__ import annotations

import re
import shlex

from ansible_collections.berth.engine.plugins.module_utils.plan import (
    Plan,
    as_text_map,
    parse_bytes,
    parse_duration,
)

STATES = ("present", "started", "stopped", "absent", "restarted", "healthy")
RUNNING_STATES = ("started", "restarted", "healthy")

# How a difference is fixed: in place through POST /containers/{id}/update, or by recreating.
UPDATE = "update"
RECREATE = "recreate"


def _split_command(value, option):
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as err:
            raise ValueError("%s could not be split into words: %s" % (option, err)) from None
    return [str(item) for item in value]


def _normalise_cap(name):
    name = str(name).strip().upper()
    if name != "ALL" and not name.startswith("CAP_"):
        name = "CAP_" + name
    return name


def _caps(values):
    return sorted({_normalise_cap(v) for v in values or []})


# --- ports -----------------------------------------------------------------------------------

_PORT_RE = re.compile(r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9]+(?:\.[0-9]+){3}):)?(?:(?P<host>[0-9]*(?:-[0-9]+)?):)?"
                      r"(?P<container>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>tcp|udp|sctp))?$")


def _port_range(text, spec):
    if "-" in text:
        low, high = (int(x) for x in text.split("-", 1))
    else:
        low = high = int(text)
    if not (1 <= low <= high <= 65535):
        raise ValueError("port %r in ports entry %r is outside 1-65535 or not a rising range" % (text, spec))
    return list(range(low, high + 1))


def parse_ports(entries):
    """['127.0.0.1:8080:80/tcp', '53/udp', '9000-9001:9000-9001'] -> {'80/tcp': [['127.0.0.1', '8080']]}."""
    if entries is None:
        return None
    bindings = {}
    for entry in entries:
        spec = str(entry).strip()
        match = _PORT_RE.match(spec)
        if not match:
            raise ValueError("ports entry %r is not of the form [ip:][host_port:]container_port[/tcp|udp|sctp]"
                             % spec)
        ip = (match.group("ip") or "").strip("[]")
        if ip:
            import ipaddress  # only here: importing it costs more than a no-change run's planning

            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise ValueError("ports entry %r: %r is not an IP address" % (spec, ip)) from None
        proto = match.group("proto") or "tcp"
        container_ports = _port_range(match.group("container"), spec)
        host = match.group("host") or ""
        host_ports = _port_range(host, spec) if host else [None] * len(container_ports)
        if len(host_ports) != len(container_ports):
            raise ValueError("ports entry %r maps %d host ports to %d container ports"
                             % (spec, len(host_ports), len(container_ports)))
        for container_port, host_port in zip(container_ports, host_ports):
            key = "%d/%s" % (container_port, proto)
            binding = [ip, "" if host_port is None else str(host_port)]
            if binding not in bindings.setdefault(key, []):
                bindings[key].append(binding)
    return {key: sorted(value) for key, value in bindings.items()}


def _actual_ports(container):
    result = {}
    for key, items in ((container.get("HostConfig") or {}).get("PortBindings") or {}).items():
        result[key] = sorted([b.get("HostIp") or "", b.get("HostPort") or ""] for b in items or [])
    return result


def _ports_body(bindings):
    return {key: [{"HostIp": ip, "HostPort": port} for ip, port in value] for key, value in bindings.items()}


# --- mounts ----------------------------------------------------------------------------------

def _mount(kind, source, target, read_only, spec):
    if kind not in ("bind", "volume", "tmpfs"):
        raise ValueError("mount %r: type must be bind, volume or tmpfs" % (spec,))
    if not target or not str(target).startswith("/"):
        raise ValueError("mount %r: target must be an absolute path in the container" % (spec,))
    if kind == "bind" and not (source and str(source).startswith("/")):
        raise ValueError("mount %r: a bind mount needs an absolute source path on the host" % (spec,))
    return {"type": kind, "source": source or "", "target": str(target).rstrip("/") or "/",
            "read_only": bool(read_only)}


def parse_mounts(mounts, volumes):
    """Both `mounts` (dicts) and `volumes` ('src:dst[:ro]') become one sorted list of mounts."""
    if mounts is None and volumes is None:
        return None
    result = []
    for item in mounts or []:
        result.append(_mount(item.get("type") or "volume", item.get("source"), item.get("target"),
                             item.get("read_only"), item))
    for spec in volumes or []:
        parts = str(spec).split(":")
        mode = ""
        if len(parts) == 3:
            source, target, mode = parts
        elif len(parts) == 2:
            source, target = parts
        elif len(parts) == 1:
            source, target = "", parts[0]
        else:
            raise ValueError("volumes entry %r is not of the form [source:]target[:ro|rw]" % spec)
        if mode not in ("", "ro", "rw"):
            raise ValueError("volumes entry %r: the mode must be ro or rw" % spec)
        kind = "bind" if source.startswith("/") else "volume"
        result.append(_mount(kind, source, target, mode == "ro", spec))
    targets = [m["target"] for m in result]
    duplicates = sorted({t for t in targets if targets.count(t) > 1})
    if duplicates:
        raise ValueError("more than one mount targets %s" % ", ".join(duplicates))
    return sorted(result, key=lambda m: m["target"])


_ANONYMOUS_VOLUME = re.compile(r"^[0-9a-f]{64}$")


def _mount_source(kind, source):
    """An anonymous volume carried over from a replaced container still counts as anonymous."""
    source = source or ""
    return "" if kind == "volume" and _ANONYMOUS_VOLUME.match(source) else source


def _actual_mounts(container):
    host = container.get("HostConfig") or {}
    result = []
    for item in host.get("Mounts") or []:
        kind = item.get("Type") or "volume"
        result.append({"type": kind, "source": _mount_source(kind, item.get("Source")),
                       "target": (item.get("Target") or "").rstrip("/") or "/",
                       "read_only": bool(item.get("ReadOnly"))})
    for spec in host.get("Binds") or []:
        parts = spec.split(":")
        source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
        options = parts[2].split(",") if len(parts) > 2 else []
        result.append({"type": "bind" if source.startswith("/") else "volume", "source": source,
                       "target": target.rstrip("/") or "/", "read_only": "ro" in options})
    return sorted(result, key=lambda m: m["target"])


def _mounts_body(mounts):
    body = []
    for m in mounts:
        item = {"Type": m["type"], "Target": m["target"], "ReadOnly": m["read_only"]}
        if m["source"]:
            item["Source"] = m["source"]
        body.append(item)
    return body


# --- small list/dict options -------------------------------------------------------------------

def parse_tmpfs(entries):
    if entries is None:
        return None
    result = {}
    for entry in entries:
        path, _, options = str(entry).partition(":")
        if not path.startswith("/"):
            raise ValueError("tmpfs entry %r must start with an absolute path" % entry)
        result[path] = options
    return result


def parse_ulimits(entries):
    if entries is None:
        return None
    result = []
    for entry in entries:
        match = re.match(r"^([a-z]+)=(-?[0-9]+)(?::(-?[0-9]+))?$", str(entry))
        if not match:
            raise ValueError("ulimits entry %r is not of the form name=soft[:hard]" % entry)
        soft = int(match.group(2))
        hard = int(match.group(3)) if match.group(3) is not None else soft
        result.append({"Name": match.group(1), "Soft": soft, "Hard": hard})
    return sorted(result, key=lambda u: u["Name"])


def parse_devices(entries):
    if entries is None:
        return None
    result = []
    for entry in entries:
        parts = str(entry).split(":")
        if not parts[0].startswith("/") or len(parts) > 3:
            raise ValueError("devices entry %r is not of the form /dev/host[:/dev/container[:rwm]]" % entry)
        result.append({"PathOnHost": parts[0],
                       "PathInContainer": parts[1] if len(parts) > 1 and parts[1] else parts[0],
                       "CgroupPermissions": parts[2] if len(parts) > 2 else "rwm"})
    return sorted(result, key=lambda d: d["PathInContainer"])


def parse_extra_hosts(value):
    if value is None:
        return None
    if isinstance(value, dict):
        items = ["%s:%s" % (host, ip) for host, ip in value.items()]
    else:
        items = [str(v) for v in value]
    for item in items:
        if ":" not in item:
            raise ValueError("extra_hosts entry %r is not of the form host:ip" % item)
    return sorted(items)


def parse_healthcheck(value):
    """The user's healthcheck in API form, holding only the keys the user set."""
    if value is None:
        return None
    if value.get("disable"):
        return {"Test": ["NONE"]}
    result = {}
    test = value.get("test")
    if test is not None:
        if isinstance(test, str):
            test = ["CMD-SHELL", test]
        elif test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            test = ["CMD"] + list(test)
        result["Test"] = [str(t) for t in test]
    for option, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        if value.get(option) is not None:
            result[key] = parse_duration(value[option], "healthcheck." + option)
    if value.get("retries") is not None:
        if int(value["retries"]) < 0:
            raise ValueError("healthcheck.retries must not be negative")
        result["Retries"] = int(value["retries"])
    return result


def parse_networks(entries):
    if entries is None:
        return None
    result = []
    for item in entries:
        if isinstance(item, str):
            item = {"name": item}
        if not item.get("name"):
            raise ValueError("every networks entry needs a name, got %r" % (item,))
        result.append({"name": item["name"], "aliases": sorted(item.get("aliases") or []),
                       "ipv4_address": item.get("ipv4_address") or "",
                       "ipv6_address": item.get("ipv6_address") or ""})
    names = [n["name"] for n in result]
    if len(set(names)) != len(names):
        raise ValueError("a network is listed twice in networks: %s" % ", ".join(names))
    return result


def image_reference(image):
    """Add ':latest' the way the docker CLI does, so names compare and pull the same."""
    if not image:
        return image
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else image + ":latest"


# --- option table --------------------------------------------------------------------------------

class Option:
    """One comparable option: where it lives in the create body and inspect, and how it changes."""

    def __init__(self, name, section, key, parse=None, mode=RECREATE, actual=None, expected=None, body=None):
        self.name = name
        self.section = section  # "Config" or "HostConfig"
        self.key = key
        self.parse = parse or (lambda value: value)
        self.mode = mode
        self._actual = actual
        self._expected = expected
        self._body = body

    def actual(self, container):
        if self._actual:
            return self._actual(container)
        return (container.get(self.section) or {}).get(self.key)

    def expected(self, desired, image):
        return self._expected(desired, image) if self._expected else desired

    def body_value(self, desired):
        return self._body(desired) if self._body else desired


def _env_list(env):
    return ["%s=%s" % (k, v) for k, v in sorted(env.items())]


def _env_dict(items):
    result = {}
    for item in items or []:
        key, _, value = item.partition("=")
        result[key] = value
    return result


def _image_config(image):
    return (image or {}).get("Config") or {}


def _parse_memory(option):
    return lambda value: parse_bytes(value, option)


def _restart_actual(container):
    policy = (container.get("HostConfig") or {}).get("RestartPolicy") or {}
    return {"Name": policy.get("Name") or "no", "MaximumRetryCount": policy.get("MaximumRetryCount") or 0}


def _compare_subset(desired, actual):
    """Healthcheck: the engine merges unset keys from the image, so compare only what was set."""
    actual = actual or {}
    return all(actual.get(k) == v for k, v in desired.items())


OPTIONS = [
    Option("env", "Config", "Env", lambda v: as_text_map(v, "env"),
           actual=lambda c: _env_dict((c.get("Config") or {}).get("Env")),
           expected=lambda d, img: dict(_env_dict(_image_config(img).get("Env")), **d), body=_env_list),
    Option("labels", "Config", "Labels", lambda v: as_text_map(v, "labels"),
           actual=lambda c: (c.get("Config") or {}).get("Labels") or {},
           expected=lambda d, img: dict(_image_config(img).get("Labels") or {}, **d)),
    Option("command", "Config", "Cmd", lambda v: _split_command(v, "command"),
           actual=lambda c: (c.get("Config") or {}).get("Cmd") or []),
    Option("entrypoint", "Config", "Entrypoint", lambda v: _split_command(v, "entrypoint"),
           actual=lambda c: (c.get("Config") or {}).get("Entrypoint") or []),
    Option("user", "Config", "User", str),
    Option("working_dir", "Config", "WorkingDir", str),
    Option("hostname", "Config", "Hostname", str),
    Option("stop_signal", "Config", "StopSignal", str),
    Option("stop_timeout", "Config", "StopTimeout", int),
    Option("healthcheck", "Config", "Healthcheck", parse_healthcheck),
    Option("ports", "HostConfig", "PortBindings", parse_ports, actual=_actual_ports, body=_ports_body),
    Option("mounts", "HostConfig", "Mounts", lambda v: v, actual=_actual_mounts, body=_mounts_body),
    Option("tmpfs", "HostConfig", "Tmpfs", parse_tmpfs, actual=lambda c: (c.get("HostConfig") or {}).get("Tmpfs")
           or {}),
    Option("network_mode", "HostConfig", "NetworkMode", str),
    Option("init", "HostConfig", "Init", bool, actual=lambda c: bool((c.get("HostConfig") or {}).get("Init"))),
    Option("privileged", "HostConfig", "Privileged", bool),
    Option("read_only", "HostConfig", "ReadonlyRootfs", bool),
    Option("cgroupns_mode", "HostConfig", "CgroupnsMode", str),
    Option("cap_add", "HostConfig", "CapAdd", _caps, actual=lambda c: _caps((c.get("HostConfig") or {}).get("CapAdd"))),
    Option("cap_drop", "HostConfig", "CapDrop", _caps,
           actual=lambda c: _caps((c.get("HostConfig") or {}).get("CapDrop"))),
    Option("security_opt", "HostConfig", "SecurityOpt", lambda v: sorted(v),
           actual=lambda c: sorted((c.get("HostConfig") or {}).get("SecurityOpt") or [])),
    Option("devices", "HostConfig", "Devices", parse_devices,
           actual=lambda c: sorted((c.get("HostConfig") or {}).get("Devices") or [],
                                   key=lambda d: d.get("PathInContainer", ""))),
    Option("ulimits", "HostConfig", "Ulimits", parse_ulimits,
           actual=lambda c: sorted((c.get("HostConfig") or {}).get("Ulimits") or [], key=lambda u: u["Name"])),
    Option("sysctls", "HostConfig", "Sysctls", lambda v: as_text_map(v, "sysctls"),
           actual=lambda c: (c.get("HostConfig") or {}).get("Sysctls") or {}),
    Option("dns", "HostConfig", "Dns", lambda v: [str(x) for x in v],
           actual=lambda c: (c.get("HostConfig") or {}).get("Dns") or []),
    Option("extra_hosts", "HostConfig", "ExtraHosts", parse_extra_hosts,
           actual=lambda c: sorted((c.get("HostConfig") or {}).get("ExtraHosts") or [])),
    Option("log_driver", "HostConfig", "LogConfig", str,
           actual=lambda c: ((c.get("HostConfig") or {}).get("LogConfig") or {}).get("Type")),
    Option("log_options", "HostConfig", "LogConfig", lambda v: as_text_map(v, "log_options"),
           actual=lambda c: ((c.get("HostConfig") or {}).get("LogConfig") or {}).get("Config") or {}),
    # Resource limits and the restart policy change in place, keeping the container ID.
    Option("memory", "HostConfig", "Memory", _parse_memory("memory"), mode=UPDATE),
    Option("memory_reservation", "HostConfig", "MemoryReservation", _parse_memory("memory_reservation"),
           mode=UPDATE),
    Option("cpus", "HostConfig", "NanoCpus", lambda v: int(round(float(v) * 1e9)), mode=UPDATE),
    Option("cpu_shares", "HostConfig", "CpuShares", int, mode=UPDATE),
    Option("pids_limit", "HostConfig", "PidsLimit", int, mode=UPDATE,
           actual=lambda c: (c.get("HostConfig") or {}).get("PidsLimit") or 0),
    Option("restart_policy", "HostConfig", "RestartPolicy", None, mode=UPDATE, actual=_restart_actual),
]
OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}


# --- desired state ---------------------------------------------------------------------------------

def _check_conflicts(params, values):
    mode = params.get("network_mode")
    if mode in ("host", "none") or (mode or "").startswith("container:"):
        if values.get("ports"):
            raise ValueError("ports cannot be published with network_mode %s" % mode)
        if params.get("networks"):
            raise ValueError("networks cannot be combined with network_mode %s" % mode)
        if mode != "none" and mode.startswith("container:") and params.get("hostname"):
            raise ValueError("hostname cannot be set with network_mode %s" % mode)
    memory, reservation = values.get("memory"), values.get("memory_reservation")
    if memory and reservation and reservation > memory:
        raise ValueError("memory_reservation (%s) must not be larger than memory (%s)"
                         % (params.get("memory_reservation"), params.get("memory")))
    if values.get("cpus") is not None and values["cpus"] < 0:
        raise ValueError("cpus must not be negative, got %r" % params.get("cpus"))
    if values.get("cpu_shares") is not None and values["cpu_shares"] < 0:
        raise ValueError("cpu_shares must not be negative, got %r" % params.get("cpu_shares"))
    if params.get("restart_retries") and params.get("restart_policy") not in (None, "on-failure"):
        raise ValueError("restart_retries only applies to restart_policy on-failure")
    if params.get("restart_policy") == "always" and params.get("auto_remove"):
        raise ValueError("restart_policy always cannot be combined with auto_remove")
    if values.get("privileged") and params.get("cap_add"):
        # Not an engine error, but a sign of confusion worth stopping for.
        raise ValueError("privileged grants every capability already; drop cap_add or privileged")


def desired_container(params):
    """Validate the module parameters and return the desired state: {option: API value} + the rest."""
    if not params.get("name"):
        raise ValueError("name is required")
    values = {}
    for option in OPTIONS:
        if option.name == "mounts":
            raw = parse_mounts(params.get("mounts"), params.get("volumes"))
            if raw is not None:
                values["mounts"] = raw
            continue
        if option.name == "restart_policy":
            if params.get("restart_policy") is not None:
                values["restart_policy"] = {"Name": params["restart_policy"],
                                            "MaximumRetryCount": int(params.get("restart_retries") or 0)}
            continue
        raw = params.get(option.name)
        if raw is not None:
            values[option.name] = option.parse(raw)
    _check_conflicts(params, values)
    state = params.get("state") or "started"
    if state != "absent" and not params.get("image"):
        raise ValueError("image is required unless state is absent")
    return {
        "name": params["name"],
        "image": image_reference(params.get("image")),
        "state": state,
        "values": values,
        "networks": parse_networks(params.get("networks")),
        "recreate": params.get("recreate") or "auto",
    }


def carried_volumes(old_container):
    """{target: volume name} of the anonymous volumes of a container about to be replaced.

    The replacement mounts them again, as docker compose does, so a recreate neither loses
    their data nor leaves them dangling.
    """
    return {m["Destination"]: m["Name"] for m in (old_container or {}).get("Mounts") or []
            if m.get("Type") == "volume" and _ANONYMOUS_VOLUME.match(m.get("Name") or "")}


def create_body(desired, carried=None):
    """The POST /containers/create document for the desired state.

    Only the first network goes in NetworkingConfig (API < 1.44 takes one); the rest are
    connected before the container starts. `carried` maps targets to anonymous volumes of a
    replaced container that the new one takes over.
    """
    config = {"Image": desired["image"], "HostConfig": {}}
    for name, value in desired["values"].items():
        option = OPTIONS_BY_NAME[name]
        if name in ("log_driver", "log_options"):
            log = config["HostConfig"].setdefault("LogConfig", {"Type": "", "Config": {}})
            log["Type" if name == "log_driver" else "Config"] = value
            continue
        target = config if option.section == "Config" else config["HostConfig"]
        target[option.key] = option.body_value(value)
    ports = desired["values"].get("ports")
    if ports:
        config["ExposedPorts"] = {key: {} for key in ports}
    if carried:
        _add_carried(config["HostConfig"], desired, carried)
    networks = desired["networks"]
    if networks:
        first = networks[0]
        config["HostConfig"]["NetworkMode"] = first["name"]
        config["NetworkingConfig"] = {"EndpointsConfig": {first["name"]: endpoint_config(first)}}
    return config


def _add_carried(host_config, desired, carried):
    declared = {m["target"]: m for m in desired["values"].get("mounts") or []}
    tmpfs = desired["values"].get("tmpfs") or {}
    mounts = host_config.setdefault("Mounts", [])
    for target, volume in sorted(carried.items()):
        wanted = declared.get(target)
        if wanted is None and target not in tmpfs:
            mounts.append({"Type": "volume", "Source": volume, "Target": target, "ReadOnly": False})
        elif wanted is not None and wanted["type"] == "volume" and not wanted["source"]:
            for mount in mounts:
                if mount["Target"] == target:
                    mount["Source"] = volume


def endpoint_config(network):
    config = {}
    if network["aliases"]:
        config["Aliases"] = list(network["aliases"])
    ipam = {}
    if network["ipv4_address"]:
        ipam["IPv4Address"] = network["ipv4_address"]
    if network["ipv6_address"]:
        ipam["IPv6Address"] = network["ipv6_address"]
    if ipam:
        config["IPAMConfig"] = ipam
    return config


# --- comparison --------------------------------------------------------------------------------------

def compare_options(desired, container, image):
    """[(option, before, after, mode)] for every user-set option that differs from the container."""
    differences = []
    for name, value in desired["values"].items():
        option = OPTIONS_BY_NAME[name]
        actual = option.actual(container)
        expected = option.expected(value, image)
        if name == "healthcheck":
            same = _compare_subset(expected, actual)
        elif name == "mounts":
            # Anonymous volumes the user did not declare (the image's VOLUMEs, carried over) are not drift.
            declared = {m["target"] for m in expected}
            actual = [m for m in actual if m["source"] or m["type"] != "volume" or m["target"] in declared]
            same = actual == expected
        elif name == "restart_policy":
            same = actual["Name"] == expected["Name"] and (
                expected["Name"] != "on-failure" or actual["MaximumRetryCount"] == expected["MaximumRetryCount"])
        else:
            same = actual == expected
        if not same:
            differences.append((name, actual, expected, option.mode))
    return differences


def _actual_networks(container):
    return (container.get("NetworkSettings") or {}).get("Networks") or {}


def compare_networks(desired, container):
    """Network actions that fix membership, aliases and static addresses without a recreate."""
    wanted = desired["networks"]
    if wanted is None:
        return [], {}, {}
    actual = _actual_networks(container)
    short_id = (container.get("Id") or "")[:12]
    actions, before, after = [], {}, {}
    for net in wanted:
        current = actual.get(net["name"])
        after[net["name"]] = _network_view(net)
        if current is None:
            actions.append({"action": "connect", "network": net["name"], "endpoint": endpoint_config(net)})
            continue
        ipam = current.get("IPAMConfig") or {}
        aliases = set(current.get("Aliases") or [])
        before[net["name"]] = {"aliases": sorted(aliases - {short_id}), "ipv4_address": ipam.get("IPv4Address") or "",
                               "ipv6_address": ipam.get("IPv6Address") or ""}
        if (not set(net["aliases"]) <= aliases
                or (net["ipv4_address"] and net["ipv4_address"] != (ipam.get("IPv4Address") or ""))
                or (net["ipv6_address"] and net["ipv6_address"] != (ipam.get("IPv6Address") or ""))):
            actions.append({"action": "disconnect", "network": net["name"]})
            actions.append({"action": "connect", "network": net["name"], "endpoint": endpoint_config(net)})
    wanted_names = {n["name"] for n in wanted}
    for name in sorted(actual):
        if name not in wanted_names:
            before[name] = {"attached": True}
            actions.append({"action": "disconnect", "network": name})
    return actions, before, after


def _network_view(net):
    return {"aliases": net["aliases"], "ipv4_address": net["ipv4_address"], "ipv6_address": net["ipv6_address"]}


def _status(container):
    return ((container or {}).get("State") or {}).get("Status") or "absent"


def _is_running(container):
    return bool(((container or {}).get("State") or {}).get("Running"))


def update_body(desired):
    """POST /containers/{id}/update document for the in-place options the user set."""
    body = {}
    for name, value in desired["values"].items():
        option = OPTIONS_BY_NAME[name]
        if option.mode == UPDATE:
            body[option.key] = value
    if "Memory" in body and body["Memory"]:
        # Keep memory+swap at the engine's default ratio, or raising memory fails on the old swap limit.
        body["MemorySwap"] = body["Memory"] * 2
    return body


def plan_container(desired, container, image, image_changed=False, force_restart=False):
    """The action list that takes `container` (inspect document or None) to `desired`.

    `image` is the inspect document of the desired image (None when it is still to be pulled in
    check mode); `image_changed` says the image will be pulled in this run.
    """
    plan = Plan("container", desired["name"])
    state = desired["state"]
    if container is None:
        _plan_missing(plan, desired, state)
        return plan
    if state == "absent":
        plan.add("remove", id=container["Id"])
        plan.differ("state", _status(container), "absent")
        return plan

    recreate_reasons = []
    image_id = (image or {}).get("Id")
    if image_changed or (image_id and container.get("Image") != image_id):
        recreate_reasons.append("image")
        plan.differ("image", container.get("Image"), image_id or "%s (to be pulled)" % desired["image"])
    differences = compare_options(desired, container, image)
    updates = {}
    for name, before, after, mode in differences:
        plan.differ(name, before, after)
        if mode == RECREATE:
            recreate_reasons.append(name)
        else:
            updates[name] = after
    if desired["recreate"] == "always":
        recreate_reasons.append("recreate=always")
    elif desired["recreate"] == "never" and recreate_reasons:
        plan.warnings.append("container %s differs in %s but recreate=never keeps it as it is"
                             % (desired["name"], ", ".join(recreate_reasons)))
        recreate_reasons = []

    was_running = _is_running(container)
    if recreate_reasons:
        run_after = state in RUNNING_STATES or (state == "present" and was_running)
        plan.add("recreate", id=container["Id"], reasons=recreate_reasons, start=run_after,
                 was_running=was_running)
        if state == "healthy":
            plan.add("wait_healthy")
        _differ_state(plan, container, run_after)
        return plan

    if updates:
        plan.add("update", id=container["Id"], options=sorted(updates))
    network_actions, net_before, net_after = compare_networks(desired, container)
    if network_actions:
        plan.differ("networks", net_before, net_after)
        for action in network_actions:
            plan.add(action.pop("action"), **action)
    _plan_run_state(plan, container, state, was_running, force_restart)
    return plan


def _plan_missing(plan, desired, state):
    if state == "absent":
        return
    plan.add("create")
    plan.differ("state", "absent", "running" if state in RUNNING_STATES else "created")
    if state in RUNNING_STATES:
        plan.add("start")
    if state == "healthy":
        plan.add("wait_healthy")


def _plan_run_state(plan, container, state, was_running, force_restart):
    if state in RUNNING_STATES and not was_running:
        plan.add("start", id=container["Id"])
        _differ_state(plan, container, True)
    elif state == "stopped" and was_running:
        plan.add("stop", id=container["Id"])
        _differ_state(plan, container, False)
    elif (state == "restarted" or force_restart) and was_running:
        plan.add("restart", id=container["Id"])
        plan.differ("restarted", False, True)
    if state == "healthy" and (plan.changed or _health(container) != "healthy"):
        plan.add("wait_healthy")


def _differ_state(plan, container, running):
    plan.differ("state", _status(container), "running" if running else "created")


def _health(container):
    return (((container or {}).get("State") or {}).get("Health") or {}).get("Status")


# The container module's options; the stack module validates each of its containers with the same spec.
ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    image=dict(type="str"),
    state=dict(type="str", default="started", choices=list(STATES)),
    pull=dict(type="str", default="missing", choices=["missing", "always", "never"]),
    recreate=dict(type="str", default="auto", choices=["auto", "always", "never"]),
    registry_username=dict(type="str"),
    registry_password=dict(type="str", no_log=True),
    command=dict(type="raw"),
    entrypoint=dict(type="raw"),
    env=dict(type="dict"),
    labels=dict(type="dict"),
    ports=dict(type="list", elements="str"),
    mounts=dict(type="list", elements="dict", options=dict(
        type=dict(type="str", default="volume", choices=["bind", "volume", "tmpfs"]),
        source=dict(type="str"),
        target=dict(type="str", required=True),
        read_only=dict(type="bool", default=False),
    )),
    volumes=dict(type="list", elements="str"),
    tmpfs=dict(type="list", elements="str"),
    networks=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        aliases=dict(type="list", elements="str"),
        ipv4_address=dict(type="str"),
        ipv6_address=dict(type="str"),
    )),
    network_mode=dict(type="str"),
    restart_policy=dict(type="str", choices=["no", "always", "on-failure", "unless-stopped"]),
    restart_retries=dict(type="int"),
    healthcheck=dict(type="dict", options=dict(
        test=dict(type="raw"),
        interval=dict(type="str"),
        timeout=dict(type="str"),
        retries=dict(type="int"),
        start_period=dict(type="str"),
        disable=dict(type="bool", default=False),
    )),
    healthy_timeout=dict(type="int", default=60),
    user=dict(type="str"),
    working_dir=dict(type="str"),
    hostname=dict(type="str"),
    init=dict(type="bool"),
    stop_signal=dict(type="str"),
    stop_timeout=dict(type="int"),
    memory=dict(type="str"),
    memory_reservation=dict(type="str"),
    cpus=dict(type="float"),
    cpu_shares=dict(type="int"),
    pids_limit=dict(type="int"),
    ulimits=dict(type="list", elements="str"),
    cap_add=dict(type="list", elements="str"),
    cap_drop=dict(type="list", elements="str"),
    privileged=dict(type="bool"),
    read_only=dict(type="bool"),
    security_opt=dict(type="list", elements="str"),
    devices=dict(type="list", elements="str"),
    sysctls=dict(type="dict"),
    dns=dict(type="list", elements="str"),
    extra_hosts=dict(type="raw"),
    log_driver=dict(type="str"),
    log_options=dict(type="dict"),
    cgroupns_mode=dict(type="str", choices=["host", "private"]),
    output_logs=dict(type="bool", default=False),
)
