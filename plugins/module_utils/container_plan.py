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

from ansible_collections.berth.engine.plugins.module_utils.plan import (
    INT64_MAX,
    Plan,
    as_text_list,
    as_text_map,
    as_words,
    parse_bytes,
    parse_cpus,
    parse_duration,
    parse_int,
)
from ansible_collections.berth.engine.plugins.module_utils.strict_input import check_container_input

STATES = ("present", "started", "stopped", "absent", "restarted", "healthy", "completed")
RUNNING_STATES = ("started", "restarted", "healthy")

# How a difference is fixed: in place through POST /containers/{id}/update, or by recreating.
UPDATE = "update"
RECREATE = "recreate"


def _split_command(value, option):
    if value is None:
        return None
    return as_words(value, option)


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
        if len(container_ports) == 1 and len(host_ports) > 1:
            host_ports = [host]  # one container port to a host range: the engine binds one free port of it
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


def _host_port_matches(wanted, actual):
    """A wanted host range ('8000-8010') matches the range itself or any one port bound inside it."""
    if wanted == actual or "-" not in wanted:
        return wanted == actual
    low, high = (int(x) for x in wanted.split("-", 1))
    return actual.isdigit() and low <= int(actual) <= high


def ports_equal(expected, actual):
    if sorted(expected) != sorted(actual):
        return False
    for key, wanted in expected.items():
        bound = list(actual[key])
        if len(bound) != len(wanted):
            return False
        for ip, host in wanted:
            match = next((b for b in bound if b[0] == ip and _host_port_matches(host, b[1])), None)
            if match is None:
                return False
            bound.remove(match)
    return True


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
        path, _unused, options = str(entry).partition(":")
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
        items = as_text_list(value, "extra_hosts")
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
        test = ["CMD-SHELL", test] if isinstance(test, str) else as_text_list(test, "healthcheck.test")
        if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
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


# --- the less common run options (issue 12) -------------------------------------------------------

_CPU_LIST = re.compile(r"^[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*$")
_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
_NAMESPACE_MODES = {
    "pid_mode": ("host",),
    "ipc_mode": ("none", "private", "shareable", "host"),
    "userns_mode": ("host",),
    "uts": ("host",),
}


def _int_in(option, minimum, maximum, also=()):
    """A parser for a whole number within [minimum, maximum] (or one of `also`, like 0 for 'unset')."""
    def parse(value):
        number = parse_int(value, option)
        if number in also:
            return number
        if not minimum <= number <= maximum:
            extra = " (or %s)" % " or ".join(str(a) for a in also) if also else ""
            raise ValueError("%s must be from %d to %d%s, got %r" % (option, minimum, maximum, extra, value))
        return number
    return parse


def _cpu_list(option):
    def parse(value):
        text = str(value).replace(" ", "")
        if not _CPU_LIST.match(text):
            raise ValueError("%s must be a list of numbers and ranges like 0-2,4, got %r" % (option, value))
        return text
    return parse


def _namespace_mode(option):
    """pid_mode, ipc_mode, userns_mode, uts: one of the engine's modes, or container:NAME where it applies."""
    def parse(value):
        text = str(value).strip()
        modes = _NAMESPACE_MODES[option]
        if text in modes or (option in ("pid_mode", "ipc_mode") and text.startswith("container:")
                             and len(text) > len("container:")):
            return text
        also = " or container:NAME" if option in ("pid_mode", "ipc_mode") else ""
        raise ValueError("%s must be %s%s, got %r" % (option, " or ".join(modes), also, value))
    return parse


def parse_mac_address(value):
    text = str(value).strip().lower().replace("-", ":")
    if not _MAC.match(text):
        raise ValueError("mac_address must look like 02:42:ac:11:00:02, got %r" % (value,))
    return text


def parse_memory_swap(value):
    """Memory plus swap in bytes; -1 means unlimited swap."""
    if str(value).strip() == "-1":
        return -1
    return parse_bytes(value, "memory_swap")


def parse_exposed_ports(entries):
    """['80', '53/udp', '8000-8001'] -> ['53/udp', '80/tcp', '8000/tcp', '8001/tcp']."""
    result = set()
    for entry in as_text_list(entries, "exposed_ports"):
        port, _unused, proto = entry.strip().partition("/")
        proto = proto or "tcp"
        if proto not in ("tcp", "udp", "sctp") or not re.match(r"^[0-9]+(?:-[0-9]+)?$", port):
            raise ValueError("exposed_ports entry %r is not of the form port[-port][/tcp|udp|sctp]" % entry)
        result.update("%d/%s" % (number, proto) for number in _port_range(port, entry))
    return sorted(result)


def _throttle(option, rate_parser):
    """device_read_bps & co: [{path, rate}] -> [{'Path': '/dev/vda', 'Rate': 1048576}] as the engine stores it."""
    def parse(entries):
        result = []
        for entry in entries:
            if not isinstance(entry, dict) or not str(entry.get("path") or "").startswith("/dev/"):
                raise ValueError("every %s entry needs a device path under /dev and a rate, got %r" % (option, entry))
            if entry.get("rate") is None:
                raise ValueError("%s entry for %s needs a rate" % (option, entry["path"]))
            result.append({"Path": entry["path"], "Rate": rate_parser(entry["rate"])})
        return sorted(result, key=lambda d: d["Path"])
    return parse


def _iops(option):
    return lambda value: parse_int(value, option + " rate", 0)


def _device_request(item, where):
    """One DeviceRequest as the engine stores it (empty driver, IDs and options kept as empty values)."""
    count = item.get("count")
    ids = as_text_list(item.get("device_ids") or [], where + ".device_ids")
    if count is not None:
        count = -1 if str(count).strip() == "all" else parse_int(count, where + ".count", -1)
    if count and ids:
        raise ValueError("%s: count and device_ids cannot both be set" % where)
    capabilities = as_text_list(item.get("capabilities") or ["gpu"], where + ".capabilities")
    return {"Driver": str(item.get("driver") or ""), "Count": count or 0, "DeviceIDs": ids,
            "Capabilities": [sorted(capabilities)],
            "Options": as_text_map(item.get("options") or {}, where + ".options")}


def parse_gpus(value):
    """`gpus` as docker run --gpus takes it: all, a count, or driver=,count=,device=,capabilities= fields."""
    text = str(value).strip().replace('"', "")
    if text == "all" or text.isdigit():
        return [_device_request({"count": text}, "gpus")]
    item, key = {}, None
    for part in text.split(","):
        name, sep, field = part.partition("=")
        if sep:
            key = name.strip()
            if key not in ("driver", "count", "device", "capabilities", "options"):
                raise ValueError("gpus: %r is not one of driver, count, device, capabilities, options" % key)
            if key in ("device", "capabilities"):
                item.setdefault(key, []).append(field.strip())
            else:
                item[key] = field.strip()
        elif key in ("device", "capabilities") and part.strip():
            item[key].append(part.strip())  # device=0,1 : the IDs after the first come without a key
        else:
            raise ValueError("gpus must be all, a count, or fields like count=2,capabilities=gpu or "
                             "device=0,1; got %r" % (value,))
    if "options" in item:
        raise ValueError("gpus: options are only accepted in device_requests")
    return [_device_request({"driver": item.get("driver"), "count": item.get("count"),
                             "device_ids": item.get("device"), "capabilities": item.get("capabilities")}, "gpus")]


def parse_device_requests(entries):
    return [_device_request(item, "device_requests[%d]" % index) for index, item in enumerate(entries)]


def _actual_device_requests(container):
    result = []
    for item in (container.get("HostConfig") or {}).get("DeviceRequests") or []:
        result.append({"Driver": item.get("Driver") or "", "Count": item.get("Count") or 0,
                       "DeviceIDs": list(item.get("DeviceIDs") or []),
                       "Capabilities": [sorted(c) for c in item.get("Capabilities") or []],
                       "Options": dict(item.get("Options") or {})})
    return result


def parse_platform(value):
    text = str(value).strip().lower()
    if not re.match(r"^[a-z0-9_]+(?:/[a-z0-9_]+){0,2}$", text):
        raise ValueError("platform must look like linux, linux/amd64 or linux/arm64/v8, got %r" % (value,))
    return text


def _actual_platform(container):
    """The engine stores only the OS of a container's platform; its architecture is the image's."""
    return container.get("Platform") or "linux"


def read_env_file(path, read_text):
    """KEY=VALUE lines of an env_file on the managed host; blank lines and # comments are skipped."""
    try:
        text = read_text(path)
    except (OSError, UnicodeError) as err:
        raise ValueError("env_file %s cannot be read (%s): give a readable file on the managed host"
                         % (path, getattr(err, "strerror", None) or err)) from None
    result = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", key.strip()):
            raise ValueError("env_file %s line %d is not KEY=VALUE: %r" % (path, number, line))
        result[key.strip()] = value
    return result


def _read_local_text(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


# --- comparisons ---------------------------------------------------------------------------------

COMPARISON_MODES = ("strict", "ignore", "allow_more_present")


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
        key, _unused, value = item.partition("=")
        result[key] = value
    return result


def _image_config(image):
    return (image or {}).get("Config") or {}


def _parse_memory(option):
    return lambda value: parse_bytes(value, option)


def _restart_actual(container):
    policy = (container.get("HostConfig") or {}).get("RestartPolicy") or {}
    return {"Name": policy.get("Name") or "no", "MaximumRetryCount": policy.get("MaximumRetryCount") or 0}


COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_IMAGE_LABEL = "com.docker.compose.image"


def compose_image_label(labels, image):
    """A Compose project's container also carries its image's ID, as `docker compose up` writes it:
    Compose recreates a container whose label differs from the image it would run."""
    if COMPOSE_PROJECT_LABEL in labels and (image or {}).get("Id"):
        return dict(labels, **{COMPOSE_IMAGE_LABEL: image["Id"]})
    return labels


OPTIONS = [
    Option("env", "Config", "Env", lambda v: as_text_map(v, "env"),
           actual=lambda c: _env_dict((c.get("Config") or {}).get("Env")),
           expected=lambda d, img: dict(_env_dict(_image_config(img).get("Env")), **d), body=_env_list),
    Option("labels", "Config", "Labels", lambda v: as_text_map(v, "labels"),
           actual=lambda c: (c.get("Config") or {}).get("Labels") or {},
           expected=lambda d, img: dict(_image_config(img).get("Labels") or {}, **compose_image_label(d, img))),
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
    Option("security_opt", "HostConfig", "SecurityOpt", sorted,
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
    Option("cpus", "HostConfig", "NanoCpus", parse_cpus, mode=UPDATE),
    Option("cpu_shares", "HostConfig", "CpuShares", int, mode=UPDATE),
    Option("pids_limit", "HostConfig", "PidsLimit", int, mode=UPDATE,
           actual=lambda c: (c.get("HostConfig") or {}).get("PidsLimit") or 0),
    Option("restart_policy", "HostConfig", "RestartPolicy", None, mode=UPDATE, actual=_restart_actual),
    # Less common run options (issue 12); the cpu, cpuset, blkio weight and swap limits change in place.
    Option("tty", "Config", "Tty", bool, actual=lambda c: bool((c.get("Config") or {}).get("Tty"))),
    Option("interactive", "Config", "OpenStdin", bool,
           actual=lambda c: bool((c.get("Config") or {}).get("OpenStdin"))),
    Option("domainname", "Config", "Domainname", str),
    Option("mac_address", "Config", "MacAddress", parse_mac_address,
           actual=lambda c: ((c.get("Config") or {}).get("MacAddress") or "").lower()),
    Option("exposed_ports", "Config", "ExposedPorts", parse_exposed_ports,
           actual=lambda c: sorted((c.get("Config") or {}).get("ExposedPorts") or {}),
           body=lambda v: {port: {} for port in v}),
    Option("shm_size", "HostConfig", "ShmSize", _parse_memory("shm_size")),
    Option("pid_mode", "HostConfig", "PidMode", _namespace_mode("pid_mode")),
    Option("ipc_mode", "HostConfig", "IpcMode", _namespace_mode("ipc_mode")),
    Option("userns_mode", "HostConfig", "UsernsMode", _namespace_mode("userns_mode")),
    Option("uts", "HostConfig", "UTSMode", _namespace_mode("uts")),
    Option("memory_swappiness", "HostConfig", "MemorySwappiness", _int_in("memory_swappiness", 0, 100)),
    Option("oom_score_adj", "HostConfig", "OomScoreAdj", _int_in("oom_score_adj", -1000, 1000)),
    Option("oom_killer", "HostConfig", "OomKillDisable", bool,
           actual=lambda c: not (c.get("HostConfig") or {}).get("OomKillDisable"), body=lambda v: not v),
    Option("groups", "HostConfig", "GroupAdd", lambda v: sorted(as_text_list(v, "groups")),
           actual=lambda c: sorted((c.get("HostConfig") or {}).get("GroupAdd") or [])),
    Option("dns_search", "HostConfig", "DnsSearch", lambda v: as_text_list(v, "dns_search"),
           actual=lambda c: (c.get("HostConfig") or {}).get("DnsSearch") or []),
    Option("dns_options", "HostConfig", "DnsOptions", lambda v: as_text_list(v, "dns_options"),
           actual=lambda c: (c.get("HostConfig") or {}).get("DnsOptions") or []),
    Option("publish_all_ports", "HostConfig", "PublishAllPorts", bool,
           actual=lambda c: bool((c.get("HostConfig") or {}).get("PublishAllPorts"))),
    Option("volumes_from", "HostConfig", "VolumesFrom", lambda v: as_text_list(v, "volumes_from"),
           actual=lambda c: (c.get("HostConfig") or {}).get("VolumesFrom") or []),
    Option("auto_remove", "HostConfig", "AutoRemove", bool,
           actual=lambda c: bool((c.get("HostConfig") or {}).get("AutoRemove"))),
    Option("runtime", "HostConfig", "Runtime", str),
    Option("cgroup_parent", "HostConfig", "CgroupParent", str),
    Option("storage_opt", "HostConfig", "StorageOpt", lambda v: as_text_map(v, "storage_opt"),
           actual=lambda c: (c.get("HostConfig") or {}).get("StorageOpt") or {}),
    Option("device_requests", "HostConfig", "DeviceRequests", parse_device_requests, actual=_actual_device_requests),
    Option("gpus", "HostConfig", "DeviceRequests", parse_gpus, actual=_actual_device_requests),
    Option("device_read_bps", "HostConfig", "BlkioDeviceReadBps",
           _throttle("device_read_bps", _parse_memory("device_read_bps rate")),
           actual=lambda c: (c.get("HostConfig") or {}).get("BlkioDeviceReadBps") or []),
    Option("device_write_bps", "HostConfig", "BlkioDeviceWriteBps",
           _throttle("device_write_bps", _parse_memory("device_write_bps rate")),
           actual=lambda c: (c.get("HostConfig") or {}).get("BlkioDeviceWriteBps") or []),
    Option("device_read_iops", "HostConfig", "BlkioDeviceReadIOps",
           _throttle("device_read_iops", _iops("device_read_iops")),
           actual=lambda c: (c.get("HostConfig") or {}).get("BlkioDeviceReadIOps") or []),
    Option("device_write_iops", "HostConfig", "BlkioDeviceWriteIOps",
           _throttle("device_write_iops", _iops("device_write_iops")),
           actual=lambda c: (c.get("HostConfig") or {}).get("BlkioDeviceWriteIOps") or []),
    Option("platform", None, None, parse_platform, actual=_actual_platform,
           expected=lambda d, img: d.split("/", 1)[0]),
    Option("memory_swap", "HostConfig", "MemorySwap", parse_memory_swap, mode=UPDATE),
    Option("cpuset_cpus", "HostConfig", "CpusetCpus", _cpu_list("cpuset_cpus"), mode=UPDATE),
    Option("cpuset_mems", "HostConfig", "CpusetMems", _cpu_list("cpuset_mems"), mode=UPDATE),
    Option("cpu_period", "HostConfig", "CpuPeriod", _int_in("cpu_period", 1000, 1000000, also=(0,)), mode=UPDATE),
    Option("cpu_quota", "HostConfig", "CpuQuota", _int_in("cpu_quota", 1000, INT64_MAX, also=(0, -1)),
           mode=UPDATE),
    Option("blkio_weight", "HostConfig", "BlkioWeight", _int_in("blkio_weight", 10, 1000, also=(0,)), mode=UPDATE),
]
OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}
# Options holding lists or mappings: comparisons may allow_more_present for them (and for networks).
COLLECTION_OPTIONS = frozenset([
    "env", "labels", "ports", "mounts", "tmpfs", "cap_add", "cap_drop", "security_opt", "devices", "ulimits",
    "sysctls", "dns", "extra_hosts", "log_options", "groups", "dns_search", "dns_options", "exposed_ports",
    "volumes_from", "storage_opt", "device_requests", "gpus", "device_read_bps", "device_write_bps",
    "device_read_iops", "device_write_iops", "networks",
])


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
    if values.get("privileged") and params.get("cap_add"):
        # Not an engine error, but a sign of confusion worth stopping for.
        raise ValueError("privileged grants every capability already; drop cap_add or privileged")


def _desired_env(params, read_text):
    """env_file's variables with env's on top (env wins), or None when neither is set."""
    if params.get("env_file") is None:
        return params.get("env")
    return dict(read_env_file(params["env_file"], read_text), **as_text_map(params.get("env") or {}, "env"))


def parse_comparisons(value):
    """{option or '*': mode}; allow_more_present only for options that hold lists or mappings."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("comparisons must be a mapping of option name (or *) to %s, got %r"
                         % (", ".join(COMPARISON_MODES), value))
    result = {}
    known = sorted(set(OPTIONS_BY_NAME) - {"platform"} | {"networks"})
    for key, mode in value.items():
        key = {"volumes": "mounts", "restart_retries": "restart_policy", "env_file": "env"}.get(key, key)
        if key != "*" and key not in known:
            raise ValueError("comparisons: %r is not an option that is compared; use * or one of %s"
                             % (key, ", ".join(known)))
        if mode not in COMPARISON_MODES:
            raise ValueError("comparisons.%s must be %s, got %r" % (key, ", ".join(COMPARISON_MODES), mode))
        if mode == "allow_more_present" and key != "*" and key not in COLLECTION_OPTIONS:
            raise ValueError("comparisons.%s: allow_more_present applies only to list and mapping options (%s)"
                             % (key, ", ".join(sorted(COLLECTION_OPTIONS))))
        result[key] = mode
    return result


def comparison_mode(desired, name):
    comparisons = desired.get("comparisons") or {}
    mode = comparisons.get(name, comparisons.get("*", "strict"))
    return "strict" if mode == "allow_more_present" and name not in COLLECTION_OPTIONS else mode


# Options the engine accepts but discards on a host whose kernel cannot apply them: it stores the default
# (BlkioWeight 0, MemorySwappiness null) and only warns in the create or update answer. Compared, they
# would differ on every run while no update could change them.
DISCARD_PROBED_OPTIONS = ("blkio_weight", "memory_swappiness")


def options_the_engine_discards(info):
    """{option: why} for the options that the engine whose GET /info answer is `info` discards.

    cgroup v2 has no memory swappiness; its block IO weight needs io.weight (the engine warns when it is
    missing). On cgroup v1 the engine looks for blkio.weight, which Linux has no longer had since 5.0
    (CFQ went; BFQ names its file otherwise), and warns only in its log.
    """
    discarded = {}
    if str(info.get("CgroupVersion") or "1") == "2":
        discarded["memory_swappiness"] = "cgroup v2 has no memory swappiness"
        if "WARNING: No io.weight support" in (info.get("Warnings") or []):
            discarded["blkio_weight"] = "the host has no io.weight support"
    else:
        major = re.match(r"\d+", str(info.get("KernelVersion") or ""))
        if major and int(major.group()) >= 5:
            discarded["blkio_weight"] = "cgroup v1 has no blkio.weight since Linux 5.0"
    return discarded


def ignore_discarded(desired, discarded):
    """(desired, warnings): the options of `discarded` that the task sets are no longer compared."""
    names = sorted(name for name in discarded if desired["values"].get(name) is not None)
    if not names:
        return desired, []
    comparisons = dict(desired.get("comparisons") or {}, **{name: "ignore" for name in names})
    warnings = ["container %s: the engine discards %s on this host (%s), so it is not compared"
                % (desired["name"], name, discarded[name]) for name in names]
    return dict(desired, comparisons=comparisons), warnings


def _check_new_conflicts(params, values):
    if params.get("gpus") is not None and params.get("device_requests") is not None:
        raise ValueError("gpus and device_requests both set the container's device requests; use one of them")
    if values.get("cpus") and (values.get("cpu_period") or values.get("cpu_quota")):
        raise ValueError("cpus cannot be combined with cpu_period or cpu_quota (the engine sets one or the other)")
    swap, memory = values.get("memory_swap"), values.get("memory")
    if swap is not None and not memory:
        raise ValueError("memory_swap needs memory: the engine limits swap only together with memory")
    if swap not in (None, -1, 0) and memory and swap < memory:
        raise ValueError("memory_swap (%s) is memory plus swap, so it must not be smaller than memory (%s)"
                         % (params.get("memory_swap"), params.get("memory")))
    if values.get("auto_remove") and params.get("restart_policy") not in (None, "no"):
        raise ValueError("auto_remove cannot be combined with restart_policy %s" % params["restart_policy"])


def desired_container(params, read_text=_read_local_text):
    """Validate the module parameters and return the desired state: {option: API value} + the rest.

    `read_text(path)` reads env_file on the managed host (unit tests pass their own).
    """
    if not params.get("name"):
        raise ValueError("name is required")
    params = check_container_input(params)
    params = dict(params, env=_desired_env(params, read_text))
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
    _check_new_conflicts(params, values)
    state = params.get("state") or "started"
    # image may be left out for an existing container; plan_container fails if one must be created.
    return {
        "name": params["name"],
        "image": image_reference(params.get("image")),
        "state": state,
        "values": values,
        "networks": parse_networks(params.get("networks")),
        "recreate": params.get("recreate") or "auto",
        "comparisons": parse_comparisons(params.get("comparisons")),
    }


def carried_volumes(old_container, desired=None, image=None):
    """{target: volume name} of the anonymous volumes a replacement of `old_container` mounts again.

    As docker compose does, so a recreate neither loses their data nor leaves them dangling. When
    the task declares its mounts, only the image's VOLUME paths and the anonymous volumes the task
    declares are carried: one removed from the task is no longer mounted (the volume itself is kept).
    """
    mounts = ((desired or {}).get("values") or {}).get("mounts")
    keep = None
    if mounts is not None:
        keep = {m["target"] for m in mounts if m["type"] == "volume" and not m["source"]} | _image_volumes(image)
    return {m["Destination"]: m["Name"] for m in (old_container or {}).get("Mounts") or []
            if m.get("Type") == "volume" and _ANONYMOUS_VOLUME.match(m.get("Name") or "")
            and (keep is None or m["Destination"] in keep)}


def create_body(desired, carried=None, image=None, image_document=None):
    """The POST /containers/create document for the desired state.

    Only the first network goes in NetworkingConfig (API < 1.44 takes one); the rest are
    connected before the container starts. `carried` maps targets to anonymous volumes of a
    replaced container that the new one takes over. `image` overrides desired["image"] (a
    recreate of a container whose task names no image keeps the image it runs); `image_document`,
    the desired image's inspect document, gives a Compose container its image label.
    """
    config = {"Image": image or desired["image"], "HostConfig": {}}
    for name, value in desired["values"].items():
        option = OPTIONS_BY_NAME[name]
        if name == "labels":
            value = compose_image_label(value, image_document)
        if name in ("log_driver", "log_options"):
            log = config["HostConfig"].setdefault("LogConfig", {"Type": "", "Config": {}})
            log["Type" if name == "log_driver" else "Config"] = value
            continue
        if name == "platform":
            continue  # a query parameter of the create call: create_params()
        target = config if option.section == "Config" else config["HostConfig"]
        target[option.key] = option.body_value(value)
    ports = desired["values"].get("ports")
    if ports:
        config["ExposedPorts"] = dict({key: {} for key in ports}, **config.get("ExposedPorts", {}))
    if carried:
        _add_carried(config["HostConfig"], desired, carried)
    networks = desired["networks"]
    if networks:
        first = networks[0]
        config["HostConfig"]["NetworkMode"] = first["name"]
        config["NetworkingConfig"] = {"EndpointsConfig": {first["name"]: endpoint_config(first)}}
    return config


def create_params(desired):
    """Query parameters of POST /containers/create besides the name."""
    platform = desired["values"].get("platform")
    return {"platform": platform} if platform else {}


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

def _image_volumes(image):
    return set(_image_config(image).get("Volumes") or {})


def _declared_mounts_only(expected, actual, image):
    """Anonymous volumes at the image's VOLUME paths (created by the engine, or carried) are not drift."""
    declared = {m["target"] for m in expected}
    image_volumes = _image_volumes(image)
    return [m for m in actual if not (m["type"] == "volume" and not m["source"] and m["target"] not in declared
                                      and m["target"] in image_volumes)]


def _expected_command(desired, image):
    """command [] means the image's CMD: the engine fills an empty Cmd in unless an entrypoint is set."""
    if desired["values"].get("entrypoint"):
        return []
    return _image_config(image).get("Cmd") or []


def compare_options(desired, container, image, network_mode_target=None, container_targets=None):
    """[(option, before, after, mode)] for every user-set option that differs from the container.

    `network_mode_target` is the ID that `network_mode: container:NAME` resolves to: the engine
    stores container:<ID>, so the name alone would always differ; `container_targets` does the same
    for pid_mode and ipc_mode ({'container:NAME': ID}).
    """
    differences = []
    for name, value in desired["values"].items():
        mode = comparison_mode(desired, name)
        if mode == "ignore":
            continue
        option = OPTIONS_BY_NAME[name]
        actual = option.actual(container)
        expected = option.expected(value, image)
        if name in ("healthcheck", "log_options"):
            # The engine merges the image's healthcheck and the daemon's log-opts in: compare what was set.
            actual = {k: (actual or {}).get(k) for k in expected}
        elif name == "command" and not expected:
            expected = _expected_command(desired, image)
        elif name == "mounts":
            actual = _declared_mounts_only(expected, actual, image)
        elif name == "network_mode" and expected.startswith("container:") and network_mode_target:
            expected = "container:" + network_mode_target
        elif name in ("pid_mode", "ipc_mode") and (container_targets or {}).get(expected):
            expected = "container:" + container_targets[expected]
        elif name == "exposed_ports":
            # The image's EXPOSE and the published ports are exposed too: only the rest is the task's own.
            expected = sorted(set(expected) | set(_image_config(image).get("ExposedPorts") or {})
                              | set(_actual_ports(container)))
        if mode == "allow_more_present":
            same = _contains(name, expected, actual)
        elif name == "restart_policy":
            same = actual["Name"] == expected["Name"] and (
                expected["Name"] != "on-failure" or actual["MaximumRetryCount"] == expected["MaximumRetryCount"])
        elif name == "ports":
            same = ports_equal(expected, actual)
        else:
            same = actual == expected
        if not same:
            differences.append((name, actual, expected, option.mode))
    return differences


def _contains(name, expected, actual):
    """allow_more_present: everything the task lists is in the container; what else is there does not count."""
    if name == "ports":
        return all(key in actual and ports_equal({key: wanted}, {key: actual[key]}) for key, wanted in expected.items())
    if isinstance(expected, dict):
        actual = actual or {}
        return all(key in actual and actual[key] == value for key, value in expected.items())
    return all(item in (actual or []) for item in expected)


def _actual_networks(container):
    return (container.get("NetworkSettings") or {}).get("Networks") or {}


def compare_networks(desired, container):
    """Network actions that fix membership, aliases and static addresses without a recreate."""
    wanted = desired["networks"]
    mode = comparison_mode(desired, "networks")
    if wanted is None or mode == "ignore":
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
    if not wanted:
        # networks: [] means no user networks; the network the container was created on stays.
        mode = (container.get("HostConfig") or {}).get("NetworkMode") or "default"
        wanted_names = {"bridge" if mode == "default" else mode}
    for name in sorted(actual):
        if name not in wanted_names and mode != "allow_more_present":
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
        if option.mode == UPDATE and comparison_mode(desired, name) != "ignore":
            body[option.key] = value
    if body.get("Memory") and "MemorySwap" not in body:
        # Keep memory+swap at the engine's default ratio, or raising memory fails on the old swap limit.
        body["MemorySwap"] = body["Memory"] * 2
    return body


def plan_container(desired, container, image, image_changed=False, force_restart=False,
                   network_mode_target=None, container_targets=None):
    """The action list that takes `container` (inspect document or None) to `desired`.

    `image` is the inspect document of the desired image (None when it is still to be pulled in
    check mode); `image_changed` says the image will be pulled in this run.
    """
    plan = Plan("container", desired["name"])
    state = desired["state"]
    if container is None and state != "absent" and not desired["image"]:
        raise ValueError("container %s does not exist and image is not set: image is needed to create it"
                         % desired["name"])
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
    differences = compare_options(desired, container, image, network_mode_target, container_targets)
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
        run_after = state in RUNNING_STATES or state == "completed" or (state == "present" and was_running)
        plan.add("recreate", id=container["Id"], reasons=recreate_reasons, start=run_after,
                 was_running=was_running)
        if state == "healthy":
            plan.add("wait_healthy")
        if state == "completed":
            plan.add("wait_exit")
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
    plan.differ("state", "absent", "exited (0)" if state == "completed" else
                "running" if state in RUNNING_STATES else "created")
    if state in RUNNING_STATES or state == "completed":
        plan.add("start")
    if state == "healthy":
        plan.add("wait_healthy")
    if state == "completed":
        plan.add("wait_exit")


def _plan_run_state(plan, container, state, was_running, force_restart):
    if state == "completed":
        _plan_completed(plan, container, was_running)
        return
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


def _plan_completed(plan, container, was_running):
    """A one-shot container: run once to a zero exit; one that exited 0 with this config is done."""
    finished = (container.get("State") or {}).get("FinishedAt") or ""
    exited_ok = not was_running and not finished.startswith("0001-") and \
        (container.get("State") or {}).get("ExitCode") == 0 and bool(finished)
    if exited_ok and not plan.changed:
        return
    if not was_running:
        plan.add("start", id=container["Id"])
        plan.differ("state", _status(container), "exited (0)")
    plan.add("wait_exit")


def _differ_state(plan, container, running):
    plan.differ("state", _status(container), "running" if running else "created")


def _health(container):
    return (((container or {}).get("State") or {}).get("Health") or {}).get("Status")


def plan_from_state(desired, state):
    """The whole container plan from what ContainerResource.read() found (pure).

    Adds the pull, fails when a network the plan needs does not exist, and puts the create
    document in every create and recreate action, so apply only executes.
    """
    current, image = state.get("current"), state.get("image")
    pull = state.get("pull")
    # A pull predicted in check mode means an image we cannot inspect yet: assume it differs.
    plan = plan_container(desired, current, image, image_changed=pull == "predicted",
                          network_mode_target=state.get("network_mode_target"),
                          container_targets=state.get("container_targets"))
    if desired["state"] == "absent":
        return plan
    mode = desired["values"].get("network_mode") or ""
    if mode.startswith("container:") and not state.get("network_mode_target") and (
            plan.has("create") or plan.has("recreate")):
        raise ValueError("container %s: network_mode %s names a container that does not exist; create it first"
                         % (desired["name"], mode))
    _check_networks(plan, desired, state.get("networks") or {})
    if pull:
        plan.actions.insert(0, {"action": "pull", "image": desired["image"]})
    # Without an image in the task a recreate keeps the image the container runs.
    image_ref = None if desired["image"] else (current or {}).get("Image")
    for action in plan.actions:
        if action["action"] == "create":
            action["body"] = create_body(desired, image_document=image)
        elif action["action"] == "recreate":
            action["body"] = create_body(desired, carried_volumes(current, desired, image), image_ref, image)
        if action["action"] in ("create", "recreate"):
            action["params"] = create_params(desired)
            action["connect"] = [(n["name"], endpoint_config(n)) for n in (desired["networks"] or [])[1:]]
    return plan


def _check_networks(plan, desired, existing):
    """Fail before any change (in check mode too) when a network the plan attaches to does not exist."""
    wanted = [a["network"] for a in plan.actions if a["action"] == "connect"]
    if plan.has("create") or plan.has("recreate"):
        wanted = [n["name"] for n in desired["networks"] or []]
    for name in wanted:
        if not existing.get(name):
            raise ValueError("container %s: network %s does not exist; create it first with berth.engine.network "
                             "(or fix the name)" % (desired["name"], name))


# One device's rate limit: device_read_bps rates are sizes like 10m, the iops ones whole numbers.
_THROTTLE_SPEC = dict(path=dict(type="str", required=True), rate=dict(type="str", required=True))

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
        create_host_path=dict(type="bool", default=False),
    )),
    volumes=dict(type="list", elements="str"),
    tmpfs=dict(type="list", elements="str"),
    networks=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        aliases=dict(type="list", elements="raw"),
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
    env_file=dict(type="path"),
    shm_size=dict(type="str"),
    tty=dict(type="bool"),
    interactive=dict(type="bool"),
    pid_mode=dict(type="str"),
    ipc_mode=dict(type="str"),
    userns_mode=dict(type="str"),
    uts=dict(type="str"),
    memory_swap=dict(type="str"),
    memory_swappiness=dict(type="int"),
    cpuset_cpus=dict(type="str"),
    cpuset_mems=dict(type="str"),
    cpu_period=dict(type="int"),
    cpu_quota=dict(type="int"),
    blkio_weight=dict(type="int"),
    oom_score_adj=dict(type="int"),
    oom_killer=dict(type="bool"),
    groups=dict(type="list", elements="str"),
    domainname=dict(type="str"),
    mac_address=dict(type="str"),
    dns_search=dict(type="list", elements="str"),
    dns_options=dict(type="list", elements="str"),
    publish_all_ports=dict(type="bool"),
    exposed_ports=dict(type="list", elements="str"),
    volumes_from=dict(type="list", elements="str"),
    auto_remove=dict(type="bool"),
    runtime=dict(type="str"),
    platform=dict(type="str"),
    gpus=dict(type="str"),
    device_requests=dict(type="list", elements="dict", options=dict(
        driver=dict(type="str"),
        count=dict(type="int"),
        device_ids=dict(type="list", elements="str"),
        capabilities=dict(type="list", elements="str"),
        options=dict(type="dict"),
    )),
    device_read_bps=dict(type="list", elements="dict", options=_THROTTLE_SPEC),
    device_write_bps=dict(type="list", elements="dict", options=_THROTTLE_SPEC),
    device_read_iops=dict(type="list", elements="dict", options=_THROTTLE_SPEC),
    device_write_iops=dict(type="list", elements="dict", options=_THROTTLE_SPEC),
    cgroup_parent=dict(type="str"),
    storage_opt=dict(type="dict"),
    comparisons=dict(type="dict"),
)
