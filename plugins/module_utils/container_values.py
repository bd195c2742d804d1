# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Value parsers of the container options: module parameters in, the Engine API's form out (pure).

Each parse_* turns one option's value as a task writes it into the value the engine stores, so the
plan compares like with like; each actual_* reads the same value back from `docker inspect`. The option
table (container_options.py) says which parser belongs to which option.
"""

from __future__ import annotations

import re

from ansible_collections.berth.engine.plugins.module_utils.plan import (
    as_text_list,
    as_text_map,
    as_words,
    parse_bytes,
    parse_duration,
    parse_int,
)
from ansible_collections.berth.engine.plugins.module_utils.value_parsers import InputError, parse_env_file, volume_spec


def command_words(value, option):
    if value is None:
        return None
    return as_words(value, option)


def _normalise_cap(name):
    name = str(name).strip().upper()
    if name != "ALL" and not name.startswith("CAP_"):
        name = "CAP_" + name
    return name


def capabilities(values):
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


def actual_ports(container):
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


def ports_body(bindings):
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


def _short_volume(spec):
    """A `volumes` entry, read by the one short-syntax parser Compose uses too (value_parsers.volume_spec).

    The container module has no project directory, so a bind source is an absolute path on the managed host,
    and the mode is ro or rw (other mode options are refused rather than dropped)."""
    parsed = volume_spec(spec)
    if parsed["options"] not in ([], ["ro"], ["rw"]):
        raise ValueError("volumes entry %r: the mode must be ro or rw" % (spec,))
    source = parsed["source"] or ""
    if source.startswith((".", "~")):
        raise ValueError("volumes entry %r: a host path must be absolute on the managed host (%s is relative)"
                         % (spec, source))
    return _mount(parsed["type"], source, parsed["target"], parsed["read_only"], spec)


def parse_mounts(mounts, volumes):
    """Both `mounts` (dicts) and `volumes` ('src:dst[:ro]') become one sorted list of mounts."""
    if mounts is None and volumes is None:
        return None
    result = []
    for item in mounts or []:
        result.append(_mount(item.get("type") or "volume", item.get("source"), item.get("target"),
                             item.get("read_only"), item))
    for spec in volumes or []:
        result.append(_short_volume(spec))
    targets = [m["target"] for m in result]
    duplicates = sorted({t for t in targets if targets.count(t) > 1})
    if duplicates:
        raise ValueError("more than one mount targets %s" % ", ".join(duplicates))
    return sorted(result, key=lambda m: m["target"])


ANONYMOUS_VOLUME = re.compile(r"^[0-9a-f]{64}$")


def _mount_source(kind, source):
    """An anonymous volume carried over from a replaced container still counts as anonymous."""
    source = source or ""
    return "" if kind == "volume" and ANONYMOUS_VOLUME.match(source) else source


def actual_mounts(container):
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


def mounts_body(mounts):
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
    for option, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod"),
                        ("start_interval", "StartInterval")):
        if value.get(option) is not None:
            result[key] = parse_duration(value[option], "healthcheck." + option)
    if value.get("retries") is not None:
        if int(value["retries"]) < 0:
            raise ValueError("healthcheck.retries must not be negative")
        result["Retries"] = int(value["retries"])
    return result


def grace_seconds(value):
    """stop_grace_period, a duration like 1m30s, in the whole seconds the engine stores (as Compose truncates)."""
    seconds = parse_duration(value, "stop_grace_period") // 1000 ** 3
    if seconds > 86400:
        raise ValueError("stop_grace_period must be at most 24h, got %r" % (value,))
    return seconds


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


# --- the less common run options ----------------------------------------------------------------

_CPU_LIST = re.compile(r"^[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*$")
_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
# '' is the engine's default for user and UTS namespaces: it takes a container set to host back.
_NAMESPACE_MODES = {
    "pid_mode": ("host",),
    "ipc_mode": ("none", "private", "shareable", "host"),
    "userns_mode": ("host", ""),
    "uts": ("host", ""),
}


def int_in(option, minimum, maximum, also=()):
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


def cpu_list(option):
    def parse(value):
        text = str(value).replace(" ", "")
        if not _CPU_LIST.match(text):
            raise ValueError("%s must be a list of numbers and ranges like 0-2,4, got %r" % (option, value))
        return text
    return parse


def namespace_mode(option):
    """pid_mode, ipc_mode, userns_mode, uts: one of the engine's modes, or container:NAME where it applies."""
    def parse(value):
        text = str(value).strip()
        modes = _NAMESPACE_MODES[option]
        if text in modes or (option in ("pid_mode", "ipc_mode") and text.startswith("container:")
                             and len(text) > len("container:")):
            return text
        also = " or container:NAME" if option in ("pid_mode", "ipc_mode") else ""
        named = [mode or repr(mode) for mode in modes]
        raise ValueError("%s must be %s%s, got %r" % (option, " or ".join(named), also, value))
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


def throttle(option, rate_parser):
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


def iops_rate(option):
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


def actual_device_requests(container):
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


# The operating systems Go (and so the engine) knows: a platform without one names only an architecture.
_OPERATING_SYSTEMS = frozenset(["aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js",
                                "linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows"])


def platform_os(platform):
    """The OS part of a platform: `amd64` or `arm64/v8` (no OS) mean the engine's own, as the engine reads them."""
    first = platform.split("/", 1)[0]
    return first if first in _OPERATING_SYSTEMS else "linux"


def actual_platform(container):
    """The engine stores only the OS of a container's platform; its architecture is the image's."""
    return container.get("Platform") or "linux"


def read_env_file(path, read_text):
    """An env_file on the managed host, read as Compose reads one (value_parsers.parse_env_file).

    Compose blanks an unset ${VAR} with a warning; here it is refused instead, so a literal `$` in a
    secret (PASSWORD=abc$def) is never cut short silently: write `$$` for a literal `$`.
    """
    try:
        text = read_text(path)
    except (OSError, UnicodeError) as err:
        raise ValueError("env_file %s cannot be read (%s): give a readable file on the managed host"
                         % (path, getattr(err, "strerror", None) or err)) from None
    unset = []
    values = parse_env_file(text, "env_file %s" % path, unset=unset)
    if unset:
        raise InputError("; ".join("%s: $%s is not set (write $$ for a literal $)" % (where, name)
                                   for name, where in unset))
    return values


def read_local_text(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()
