# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `com.docker.compose.config-hash` label, computed as Docker Compose v2 computes it.

Compose lists, logs and removes only containers that carry this label, and `docker compose up`
recreates a container whose label differs from the hash of the service it would create. Compose's
hash is the SHA-256 of the service serialized as the Compose Specification's canonical JSON (the
form `docker compose config --format json` prints), without the keys that do not change a
container: build, pull_policy, scale, deploy.replicas, depends_on and profiles.

This module writes that canonical form itself, in the order and the shapes Compose 2.40 uses, for
the keys Berth translates. A key written in a shape this module does not know gives a hash
Compose does not: the container is still Compose's (ps, logs, down), and one `docker compose up`
recreates it. The conformance test compares the hash with `docker compose config --hash`.
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.berth.engine.plugins.module_utils.container_values import parse_ports
from ansible_collections.berth.engine.plugins.module_utils.value_parsers import (
    InputError,
    as_mapping,
    as_words,
    environment_values,
    parse_bytes,
    parse_duration,
    volume_spec,
)

# Service keys in the order Compose serializes them (its service structure's field order);
# the ones a hash leaves out are absent.
_ORDER = (
    "annotations", "attach", "blkio_config", "cap_add", "cap_drop", "cgroup_parent", "cgroup", "cpu_count",
    "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset", "cpu_shares",
    "command", "configs", "container_name", "credential_spec", "deploy", "device_cgroup_rules", "devices",
    "dns", "dns_opt", "dns_search", "dockerfile", "domainname", "entrypoint", "provider", "environment",
    "expose", "external_links", "extra_hosts", "group_add", "gpus", "hostname", "healthcheck", "image",
    "init", "ipc", "isolation", "labels", "links", "logging", "mem_limit", "mem_reservation", "memswap_limit",
    "mem_swappiness", "mac_address", "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid",
    "pids_limit", "platform", "ports", "privileged", "read_only", "restart", "runtime", "secrets",
    "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls",
    "tmpfs", "tty", "ulimits", "user", "userns_mode", "uts", "volume_driver", "volumes", "volumes_from",
    "working_dir",
)
_ALWAYS = ("command", "entrypoint")  # serialized even when null
_BYTES = ("mem_limit", "mem_reservation", "memswap_limit", "shm_size")


def size_in_bytes(value):
    """A size as Compose writes it: the number of bytes, as a string ("64m" -> "67108864"). A size the
    parser refuses is written as it is: planning the container fails on it with the parser's message."""
    try:
        return str(parse_bytes(value, "size"))
    except InputError:
        return str(value)


def _nanoseconds(value):
    try:
        return parse_duration(value, "duration")
    except InputError:
        return 0


def go_duration(value):
    """A duration written as Go writes one: 1s, 1m30s, 1h0m0s, 500ms."""
    total = _nanoseconds(value)
    if total == 0:
        return "0s"
    if total < 10 ** 9:
        for unit, size in (("ms", 10 ** 6), ("µs", 10 ** 3), ("ns", 1)):
            if total >= size:
                return _trim(total / size) + unit
    hours, rest = divmod(total, 3600 * 10 ** 9)
    minutes, rest = divmod(rest, 60 * 10 ** 9)
    text = _trim(rest / 10 ** 9) + "s"
    if hours:
        return "%dh%dm%s" % (hours, minutes, text)
    return "%dm%s" % (minutes, text) if minutes else text


def _trim(number):
    return ("%.9f" % number).rstrip("0").rstrip(".")


def _number(value):
    """cpus as Compose writes them: a float32, without a trailing .0."""
    number = float(value)
    return int(number) if number.is_integer() else float("%.7g" % number)


def _words(value):
    return None if value is None else as_words(value if isinstance(value, list) else str(value), "command")


def _mapping(value):
    return None if value is None else {str(k): v for k, v in as_mapping(value, "labels").items()}


def _text_values(mapping):
    return {k: (None if v is None else (str(v).lower() if isinstance(v, bool) else str(v)))
            for k, v in sorted(mapping.items())}


def _port(entry):
    if isinstance(entry, dict):
        port = {"mode": entry.get("mode") or "ingress"}
        if entry.get("host_ip"):
            port["host_ip"] = entry["host_ip"]
        port["target"] = int(entry["target"])
        if entry.get("published") not in (None, ""):
            port["published"] = str(entry["published"])
        port["protocol"] = entry.get("protocol") or "tcp"
        return [port]
    ports = []  # the short syntax read by the container module's parser, one port per target as Compose has it
    for key, bindings in parse_ports([entry]).items():
        target, protocol = key.split("/")
        for host_ip, published in bindings:
            port = {"mode": "ingress"}
            if host_ip:
                port["host_ip"] = host_ip
            port["target"] = int(target)
            if published:
                port["published"] = published
            port["protocol"] = protocol
            ports.append(port)
    return ports


def _volume(project, entry):
    if isinstance(entry, str):
        spec = volume_spec(entry)
        if spec["source"] is None:
            return {"type": "volume", "target": spec["target"], "volume": {}}
        volume = {"type": spec["type"], "source": spec["source"], "target": spec["target"]}
        if spec["read_only"]:
            volume["read_only"] = True
        if spec["type"] == "bind":
            volume["source"] = project["host_path"](spec["source"])
            volume["bind"] = {"create_host_path": True}
        else:
            volume["volume"] = {}
        return volume
    volume = {"type": entry.get("type", "volume")}
    if entry.get("source"):
        volume["source"] = project["host_path"](entry["source"]) if volume["type"] == "bind" else entry["source"]
    volume["target"] = entry["target"]
    if entry.get("read_only"):
        volume["read_only"] = True
    if volume["type"] == "bind":
        bind = dict({"create_host_path": True}, **(entry.get("bind") or {}))
        volume["bind"] = {k: bind[k] for k in ("selinux", "propagation", "create_host_path", "recursive")
                          if bind.get(k)}  # Compose's field order; false and empty are left out
    elif volume["type"] == "volume" and entry.get("volume") is not None:
        volume["volume"] = dict(entry["volume"])
    elif volume["type"] == "tmpfs" and entry.get("tmpfs"):
        volume["tmpfs"] = dict(entry["tmpfs"])
    return volume


def _file_references(entries, kind):
    references = []
    for entry in entries or []:
        entry = {"source": entry} if isinstance(entry, str) else dict(entry)
        default = "/run/secrets/%s" if kind == "secrets" else "/%s"
        target = entry.get("target") or default % entry["source"]
        if kind == "secrets" and not target.startswith("/"):
            target = "/run/secrets/" + target
        reference = {"source": entry["source"], "target": target}
        reference.update({k: str(entry[k]) for k in ("uid", "gid") if entry.get(k) is not None})
        if entry.get("mode") is not None:
            reference["mode"] = entry["mode"]
        references.append(reference)
    return references


def _networks(service):
    declared = service.get("networks")
    if declared is None:
        return {"default": None}
    if isinstance(declared, list):
        return {name: None for name in sorted(declared)}
    result = {}
    for name, options in sorted(declared.items()):
        if options is None:
            result[name] = None
            continue
        network = {}
        for key in ("aliases", "driver_opts", "gw_priority", "interface_name", "ipv4_address", "ipv6_address",
                    "link_local_ips", "mac_address", "priority"):
            if options.get(key):
                network[key] = options[key]
        result[name] = network
    return result


def _healthcheck(value):
    result = {}
    test = value.get("test")
    if test is not None:
        result["test"] = ["CMD-SHELL", test] if isinstance(test, str) else [str(t) for t in test]
    for key in ("timeout", "interval", "retries", "start_period", "start_interval"):
        if value.get(key) is not None:
            result[key] = int(value[key]) if key == "retries" else go_duration(value[key])
    if value.get("disable"):
        result["disable"] = True
    return result


def _resource(section):
    resource = {}
    if section.get("cpus") is not None:
        resource["cpus"] = _number(section["cpus"])
    if section.get("memory") is not None:
        resource["memory"] = size_in_bytes(section["memory"])
    if section.get("pids") is not None:
        resource["pids"] = int(section["pids"])
    devices = []
    for item in section.get("devices") or []:
        device = {"capabilities": [str(c) for c in item.get("capabilities") or []]}
        if item.get("driver"):
            device["driver"] = item["driver"]
        if item.get("count") is not None:
            device["count"] = -1 if item["count"] == "all" else int(item["count"])
        for key, out in (("device_ids", "device_ids"), ("options", "options")):
            if item.get(key):
                device[out] = item[key]
        devices.append(device)
    if devices:
        resource["devices"] = devices
    return resource


def _deploy(deploy):
    result = {}
    if deploy.get("mode"):
        result["mode"] = deploy["mode"]
    resources = deploy.get("resources") or {}
    result["resources"] = {k: _resource(resources[k]) for k in ("limits", "reservations") if resources.get(k)}
    policy = deploy.get("restart_policy")
    if policy is not None:
        result["restart_policy"] = {}
        for key in ("condition", "delay", "max_attempts", "window"):
            if policy.get(key) is not None:
                result["restart_policy"][key] = go_duration(policy[key]) if key in ("delay", "window") \
                    else policy[key]
    result["placement"] = {}
    return result


def _environment(project, service, env_files):
    """The service's environment as Compose holds it: env_file values, then environment; `- KEY` with
    no variable to take is kept as null (the container does not get it)."""
    result = dict(env_files, **environment_values(service.get("environment"), project["environ"], keep_unset=True))
    return _text_values(result) if result else None


def _extra_hosts(value):
    if isinstance(value, dict):
        return sorted("%s=%s" % (k, v) for k, v in value.items())
    return sorted(re.sub(r"^([^=:]+)[=:]", r"\1=", str(item)) for item in value)


def _convert(project, key, value, service, env_files):
    converters = {
        "command": _words, "entrypoint": _words,
        "environment": lambda v: _environment(project, service, env_files),
        "labels": lambda v: _text_values(_mapping(v)), "sysctls": lambda v: _text_values(_mapping(v)),
        "extra_hosts": _extra_hosts,
        "ports": lambda v: [p for entry in v for p in _port(entry)],
        "volumes": lambda v: [_volume(project, entry) for entry in v],
        "secrets": lambda v: _file_references(v, "secrets"), "configs": lambda v: _file_references(v, "configs"),
        "healthcheck": _healthcheck, "deploy": _deploy, "cpus": _number,
        "stop_grace_period": go_duration,
        "tmpfs": lambda v: [v] if isinstance(v, str) else list(v),
        "dns_search": lambda v: [v] if isinstance(v, str) else list(v),
        "dns": lambda v: [v] if isinstance(v, str) else list(v),
        "logging": lambda v: {k: (_text_values(v[k]) if k == "options" else v[k])
                              for k in ("driver", "options") if v.get(k)},
    }
    if key in _BYTES:
        return size_in_bytes(value)
    return converters.get(key, lambda v: v)(value)


def canonical_service(project, service, env_files):
    """The service in Compose's canonical form, minus the keys Compose leaves out of its hash.

    `service` is the merged, interpolated service mapping; `env_files` the variables its env_file
    entries gave (already interpolated), which Compose folds into environment. `project` holds
    "environ" (the project's variables) and "host_path" (a bind source -> the host path Berth mounts).
    """
    result = {}
    present = dict(service)
    if env_files and "environment" not in present:
        present["environment"] = {}
    if not present.get("network_mode"):
        present["networks"] = _networks(service)
    for key in _ORDER:
        if key not in present:
            if key in _ALWAYS:
                result[key] = None
            continue
        value = _convert(project, key, present[key], service, env_files)
        if value is not None or key in _ALWAYS:
            result[key] = value
    return result


def go_json(value):
    """JSON as Go's encoding/json writes it: compact, <, > and & escaped, non-ASCII kept."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def config_hash(project, service, env_files):
    return hashlib.sha256(go_json(canonical_service(project, service, env_files)).encode("utf-8")).hexdigest()
