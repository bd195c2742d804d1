# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose files as stack input: the pure translation of a Compose document into stack entries.

The result holds the same entries a user would write for berth.engine.stack (images, networks,
volumes, containers), named and labelled as `docker compose` names and labels them, so the
stack's own plan code compares them: there is no second set of comparison rules. A key this file
does not translate fails before anything changes, naming the key and the service.

Nothing here reads files or talks to the engine: callers pass the parsed documents, the
environment for interpolation and a read_text(path) callable (for env_file and .env).
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
import shlex

from ansible_collections.berth.engine.plugins.module_utils.compose_hash import config_hash, size_in_bytes

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"
NETWORK_LABEL = "com.docker.compose.network"
VOLUME_LABEL = "com.docker.compose.volume"
WORKDIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"

# Service keys translated here (x-* extension keys are always allowed and ignored).
SERVICE_KEYS = frozenset([
    "build", "cap_add", "cap_drop", "command", "configs", "container_name", "depends_on", "deploy", "devices",
    "dns", "entrypoint", "env_file", "environment", "extends", "extra_hosts", "healthcheck", "hostname", "image",
    "init", "labels", "logging", "network_mode", "networks", "pids_limit", "ports", "privileged", "profiles",
    "pull_policy", "read_only", "restart", "scale", "secrets", "security_opt", "stop_grace_period", "stop_signal",
    "sysctls", "tmpfs", "ulimits", "user", "volumes", "working_dir",
    # the less common run options of the container module (issue 12)
    "shm_size", "tty", "stdin_open", "pid", "ipc", "userns_mode", "uts", "memswap_limit", "mem_swappiness",
    "cpuset", "cpu_period", "cpu_quota", "blkio_config", "oom_score_adj", "oom_kill_disable", "group_add",
    "domainname", "mac_address", "dns_search", "dns_opt", "expose", "runtime", "platform", "gpus",
    "cgroup_parent", "storage_opt",
    # the Compose Specification's resource keys (the v2 file format's), and volumes_from (issue 20)
    "mem_limit", "mem_reservation", "cpus", "cpu_shares", "volumes_from", "cpu_count", "cpu_percent",
])
DEPLOY_KEYS = frozenset(["replicas", "resources", "mode", "restart_policy"])
# Windows-only engine fields: a Linux engine has no such limit, so Berth refuses them (Compose sends them on).
WINDOWS_ONLY_KEYS = ("cpu_count", "cpu_percent")
TOP_KEYS = frozenset(["version", "name", "services", "networks", "volumes", "secrets", "configs"])
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PLAIN_VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ComposeError(ValueError):
    """The Compose document cannot be deployed as it is; the message names the key and the service."""


# --- interpolation ---------------------------------------------------------------------------------

def _substitute(expression, environ, where, unset=None):
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", expression, re.S)
    if not match:
        raise ComposeError("%s: invalid interpolation ${%s}" % (where, expression))
    name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
    value = environ.get(name)
    unset_or_empty = value is None or (operator is not None and operator.startswith(":") and value == "")
    if operator in ("-", ":-"):
        return interpolate(argument, environ, where, unset) if unset_or_empty else value
    if operator in ("?", ":?"):
        if unset_or_empty:
            raise ComposeError("%s: required variable %s is missing a value: %s"
                               % (where, name, argument or "set it in the environment or .env"))
        return value
    if operator in ("+", ":+"):
        return "" if unset_or_empty else interpolate(argument, environ, where, unset)
    return _blank_if_unset(name, value, where, unset)


def _blank_if_unset(name, value, where, unset):
    """An unset variable without a default is a blank string, as in Compose, which warns: `unset` collects
    (variable, where) for that warning."""
    if value is None:
        if unset is not None:
            unset.append((name, where))
        return ""
    return value


def _braced_end(text, start):
    """Index of the } closing the ${ that opens at `start`, allowing nested ${...} in defaults."""
    depth, pos = 0, start
    while pos < len(text):
        if text.startswith("${", pos):
            depth, pos = depth + 1, pos + 2
            continue
        if text[pos] == "}":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return -1


def interpolate(text, environ, where="compose", unset=None):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR:+alt}, $VAR and $$."""
    out, pos = [], 0
    while True:
        dollar = text.find("$", pos)
        if dollar < 0:
            return "".join(out) + text[pos:]
        out.append(text[pos:dollar])
        if text.startswith("$$", dollar):
            out.append("$")
            pos = dollar + 2
        elif text.startswith("${", dollar):
            end = _braced_end(text, dollar)
            if end < 0:
                raise ComposeError("%s: unclosed ${ in %r" % (where, text))
            out.append(_substitute(text[dollar + 2:end], environ, where, unset))
            pos = end + 1
        else:
            match = _PLAIN_VAR_RE.match(text, dollar + 1)
            out.append(_blank_if_unset(match.group(0), environ.get(match.group(0)), where, unset) if match else "$")
            pos = match.end() if match else dollar + 1


def interpolate_tree(value, environ, where="compose", unset=None):
    if isinstance(value, str):
        return interpolate(value, environ, where, unset)
    if isinstance(value, dict):
        return {key: interpolate_tree(item, environ, "%s.%s" % (where, key), unset) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate_tree(item, environ, where, unset) for item in value]
    return value


def unset_warnings(unset):
    """Compose's warning for each variable interpolated as a blank string, once per variable and service."""
    warnings = []
    for name, where in unset:
        parts = where.split(".")
        place = "service %s" % parts[2] if parts[1:2] == ["services"] and len(parts) > 2 else where
        warning = 'compose: %s: The "%s" variable is not set. Defaulting to a blank string.' % (place, name)
        if warning not in warnings:
            warnings.append(warning)
    return warnings


def parse_env_file(text, where, environ=None):
    """KEY=VALUE lines as Compose reads them: comments, blank lines, optional quotes, `export`.

    With `environ` (an env_file, not .env) unquoted and double-quoted values are interpolated as
    Compose does: the project's variables first, then the keys defined earlier in the same file.
    """
    result = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", key):
            raise ComposeError("%s line %d is not KEY=VALUE: %r" % (where, number, line))
        value = value.strip()
        single_quoted = len(value) >= 2 and value[0] == value[-1] == "'"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if environ is not None and not single_quoted:
            value = interpolate(value, dict(result, **environ), "%s line %d" % (where, number))
        result[key] = value
    return result


# --- merging several files and `extends` ----------------------------------------------------------

_APPENDED = frozenset(["ports", "expose", "dns", "cap_add", "cap_drop", "devices", "security_opt",
                       "tmpfs", "extra_hosts", "env_file", "volumes", "secrets", "configs", "profiles"])
_MAPPINGS = frozenset(["environment", "labels", "sysctls", "extra_hosts", "depends_on"])


def _as_mapping(value, key):
    """environment/labels/sysctls/extra_hosts/depends_on: list form -> mapping form."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    result = {}
    for item in value:
        text = str(item)
        if key == "depends_on":
            result[text] = {"condition": "service_started"}
            continue
        sep = ":" if key == "extra_hosts" and "=" not in text else "="
        name, has_value, rest = text.partition(sep)
        result[name] = rest if has_value else None
    return result


def merge_service(base, override):
    """Compose's merge of two definitions of one service (later files and `extends` overrides)."""
    merged = dict(base)
    for key, value in override.items():
        if key in _MAPPINGS and key in merged:
            merged[key] = dict(_as_mapping(merged[key], key), **_as_mapping(value, key))
        elif key in _APPENDED and key in merged and isinstance(value, list) and isinstance(merged[key], list):
            merged[key] = merged[key] + [v for v in value if v not in merged[key]]
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_service(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_documents(documents):
    """`docker compose -f a -f b`: top-level sections merged by name, services by merge_service."""
    result = {}
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise ComposeError("compose file %d is not a mapping (got %s)" % (index + 1, type(document).__name__))
        for key, value in document.items():
            if key in ("services", "networks", "volumes", "secrets", "configs") and isinstance(value, dict):
                section = result.setdefault(key, {})
                for name, item in value.items():
                    section[name] = merge_service(section.get(name) or {}, item or {})
            else:
                result[key] = value
    return result


def resolve_extends(services):
    """`extends: {service: base}` (or `extends: base`) within the file, applied recursively."""
    resolved = {}

    def resolve(name, chain):
        if name in resolved:
            return resolved[name]
        if name not in services:
            raise ComposeError("service %s: extends service %s, which the file does not define" % (chain[-1], name))
        if name in chain:
            raise ComposeError("services %s: extends forms a cycle" % " -> ".join(chain + [name]))
        service = dict(services[name] or {})
        extends = service.pop("extends", None)
        if extends is not None:
            if isinstance(extends, str):
                extends = {"service": extends}
            if extends.get("file"):
                raise ComposeError("service %s: extends.file is not supported; merge the files with compose_files"
                                   % name)
            service = merge_service(resolve(extends["service"], chain + [name]), service)
        resolved[name] = service
        return service

    for name in services:
        resolve(name, [])
    return resolved


# --- one service -> container entries ---------------------------------------------------------------

def _words(value, key, service):
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as err:
            raise ComposeError("service %s: %s cannot be split into words: %s" % (service, key, err)) from None
    if isinstance(value, list):
        return [str(item) for item in value]
    raise ComposeError("service %s: %s must be a string or a list, got %r" % (service, key, value))


def _text_map(value, key, service):
    """A mapping of strings; a null value in list form (`- KEY`) takes nothing from the host here."""
    mapping = _as_mapping(value, key)
    for name, item in mapping.items():
        if isinstance(item, (dict, list)):
            raise ComposeError("service %s: %s.%s must be a plain value" % (service, key, name))
    return {str(k): ("" if v is None else (str(v).lower() if isinstance(v, bool) else str(v)))
            for k, v in mapping.items()}


def _port_text(entry, service):
    if isinstance(entry, (str, int)):
        return str(entry)
    if not isinstance(entry, dict) or "target" not in entry:
        raise ComposeError("service %s: ports entry %r needs a target" % (service, entry))
    if entry.get("mode", "ingress") not in ("ingress", "host"):
        raise ComposeError("service %s: ports mode %r is not ingress or host" % (service, entry["mode"]))
    published = "" if entry.get("published") in (None, "") else str(entry["published"])
    text = str(entry["target"])
    if entry.get("host_ip"):
        text = "%s:%s:%s" % (entry["host_ip"], published, text)
    elif published:
        text = "%s:%s" % (published, text)
    return text + ("/" + entry["protocol"] if entry.get("protocol") else "")


def _project_path(project, path):
    """An absolute host path: `~` is the home of the user the module runs as on the host, as in Compose."""
    if path.startswith("~"):
        path = os.path.expanduser(path)
    if posixpath.isabs(path):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(project["directory"], path))


def _mount(project, entry, service):
    """A short or long volumes entry -> a container `mounts` entry."""
    if isinstance(entry, str):
        parts = entry.split(":")
        read_only = len(parts) == 3 and "ro" in parts[2].split(",")
        if len(parts) == 1:
            return {"type": "volume", "source": None, "target": parts[0], "read_only": False}
        # The short syntax creates a missing bind source, as Compose v2 does.
        entry = {"source": parts[0], "target": parts[1], "read_only": read_only,
                 "type": "bind" if parts[0].startswith((".", "/", "~")) else "volume",
                 "bind": {"create_host_path": True}}
    if not isinstance(entry, dict) or not entry.get("target"):
        raise ComposeError("service %s: volumes entry %r needs a target" % (service, entry))
    kind = entry.get("type", "volume")
    if kind not in ("volume", "bind", "tmpfs"):
        raise ComposeError("service %s: volume type %r is not supported (volume, bind, tmpfs)" % (service, kind))
    source = entry.get("source")
    if kind == "bind":
        return dict(_bind_options(entry.get("bind"), entry["target"], service), type="bind",
                    source=_project_path(project, source), target=entry["target"],
                    read_only=bool(entry.get("read_only")))
    if kind == "volume" and source:
        if source not in project["volumes"]:
            raise ComposeError("service %s: volume %s is not declared in the top-level volumes" % (service, source))
        source = project["volumes"][source]
    return {"type": kind, "source": source or None, "target": entry["target"],
            "read_only": bool(entry.get("read_only"))}


def _swarm_mount(project, entry, service):
    """A service's mount: the nodes' engines refuse a missing bind source, there is no host path to create.
    bind.propagation, volume.nocopy and tmpfs.size/mode become the service's mount options."""
    options = {}
    if isinstance(entry, dict):
        entry = dict(entry)
        bind, volume, tmpfs = (dict(entry.pop(k, None) or {}) for k in ("bind", "volume", "tmpfs"))
        if bind.get("propagation"):
            options["propagation"] = bind.pop("propagation")
        if volume.pop("nocopy", None):
            options["no_copy"] = True
        options.update({"tmpfs_" + k: tmpfs.pop(k) for k in ("size", "mode") if tmpfs.get(k) is not None})
        leftover = sorted(["bind." + k for k in bind if k != "create_host_path"] + ["volume." + k for k in volume]
                          + ["tmpfs." + k for k in tmpfs])
        if leftover:
            raise ComposeError("service %s: volumes entry for %s: %s is not supported for a swarm service"
                               % (service, entry.get("target"), ", ".join(leftover)))
    mount = _mount(project, entry, service)
    mount.pop("create_host_path", None)
    mount.pop("bind", None)
    mount.update(options)
    return mount


def _swarm_container_options(service, name):
    """The Compose keys of a service's container options -> service options (issue 22)."""
    options = {target: service[key] for key, target in _SWARM_SIMPLE.items() if key in service}
    for key in ("dns", "dns_search"):
        if key in service:
            options[key] = [service[key]] if isinstance(service[key], str) else list(service[key])
    if "sysctls" in service:
        options["sysctls"] = _text_map(service["sysctls"], "sysctls", name)
    if "extra_hosts" in service:
        options["hosts"] = _text_map(service["extra_hosts"], "extra_hosts", name)
    if "ulimits" in service:
        options["ulimits"] = _ulimits(service["ulimits"], name)
    logging = service.get("logging") or {}
    if logging:
        options["logging"] = {"driver": logging.get("driver") or "json-file"}
        if logging.get("options") is not None:
            options["logging"]["options"] = _text_map(logging["options"], "logging.options", name)
    return options


def _bind_options(bind, target, service):
    """The `bind:` block of a long-syntax bind: create_host_path is honoured, what cannot be is refused."""
    bind = bind or {}
    if not isinstance(bind, dict):
        raise ComposeError("service %s: volumes entry for %s: bind must be a mapping" % (service, target))
    unsupported = sorted(k for k, v in bind.items() if k != "create_host_path" and v not in (None, ""))
    if unsupported:
        raise ComposeError("service %s: volumes entry for %s: bind.%s is not supported by berth.engine (the "
                           "container module has no such mount option); remove it" % (
                               service, target, ", bind.".join(unsupported)))
    return {"create_host_path": bool(bind.get("create_host_path"))}


def _file_mounts(project, entries, kind, service):
    """Secrets and configs on one host are read-only bind mounts of their files, as Compose does."""
    mounts = []
    for entry in entries or []:
        if isinstance(entry, str):
            entry = {"source": entry}
        name = entry.get("source")
        declared = project[kind].get(name)
        if declared is None:
            raise ComposeError("service %s: %s %s is not declared in the top-level %s"
                               % (service, kind[:-1], name, kind))
        if not declared.get("file"):
            raise ComposeError("%s %s: only file: is supported on one host (environment: and content: need a "
                               "swarm; use swarm_stack)" % (kind[:-1], name))
        default = "/run/secrets/%s" % name if kind == "secrets" else "/%s" % name
        target = entry.get("target") or default
        if kind == "secrets" and not target.startswith("/"):
            target = "/run/secrets/" + target
        mounts.append({"type": "bind", "source": _project_path(project, declared["file"]), "target": target,
                       "read_only": True})
    return mounts


def _networks(project, service_name, service, container_name):
    """The service's networks as container `networks` entries; the service name is an alias, as in Compose."""
    declared = service.get("networks")
    if declared is None:
        declared = {"default": None}
    if isinstance(declared, list):
        declared = {name: None for name in declared}
    entries = []
    for name, options in declared.items():
        if name not in project["networks"]:
            raise ComposeError("service %s: network %s is not declared in the top-level networks"
                               % (service_name, name))
        options = options or {}
        aliases = [service_name] + [str(a) for a in options.get("aliases") or [] if a != service_name]
        entry = {"name": project["networks"][name], "aliases": aliases}
        for key in ("ipv4_address", "ipv6_address"):
            if options.get(key):
                entry[key] = options[key]
        entries.append(entry)
    return entries


def _healthcheck(value, service):
    if value is None:
        return None
    if value.get("disable"):
        return {"disable": True}
    known = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ComposeError("service %s: healthcheck key(s) %s are not supported" % (service, ", ".join(unknown)))
    return {k: value[k] for k in ("test", "interval", "timeout", "retries", "start_period") if k in value}


def _restart(value, service):
    if value is None:
        return {}
    match = re.match(r"^(no|always|unless-stopped|on-failure)(?::([0-9]+))?$", str(value))
    if not match:
        raise ComposeError("service %s: restart %r is not no, always, unless-stopped or on-failure[:N]"
                           % (service, value))
    result = {"restart_policy": match.group(1)}
    if match.group(2):
        result["restart_retries"] = int(match.group(2))
    return result


def _resources(deploy, service):
    unknown = sorted(set(deploy) - DEPLOY_KEYS)
    if unknown:
        raise ComposeError("service %s: deploy.%s only takes effect in a swarm (swarm_stack); on one host "
                           "Berth supports deploy.%s" % (service, unknown[0], ", deploy.".join(sorted(DEPLOY_KEYS))))
    if deploy.get("mode", "replicated") != "replicated":
        raise ComposeError("service %s: deploy.mode %s needs a swarm (swarm_stack)" % (service, deploy["mode"]))
    resources = deploy.get("resources") or {}
    limits, reservations = resources.get("limits") or {}, resources.get("reservations") or {}
    result = {}
    if limits.get("cpus") is not None:
        result["cpus"] = float(limits["cpus"])
    if limits.get("memory") is not None:
        result["memory"] = str(limits["memory"])
    if limits.get("pids") is not None:
        result["pids_limit"] = int(limits["pids"])
    if reservations.get("memory") is not None:
        result["memory_reservation"] = str(reservations["memory"])
    if reservations.get("devices"):
        result["device_requests"] = [_device_request(item, service) for item in reservations["devices"]]
    result.update(_deploy_restart(deploy.get("restart_policy"), service))
    return result


def _device_request(item, service):
    """deploy.resources.reservations.devices entry -> a container device_requests entry (count all = -1)."""
    if not isinstance(item, dict) or not item.get("capabilities"):
        raise ComposeError("service %s: deploy.resources.reservations.devices entry %r needs capabilities"
                           % (service, item))
    unknown = sorted(set(item) - {"capabilities", "driver", "count", "device_ids", "options"})
    if unknown:
        raise ComposeError("service %s: deploy.resources.reservations.devices.%s is not supported"
                           % (service, unknown[0]))
    request = {"capabilities": [str(c) for c in item["capabilities"]]}
    if item.get("driver"):
        request["driver"] = str(item["driver"])
    if item.get("count") is not None:
        request["count"] = -1 if item["count"] == "all" else int(item["count"])
    if item.get("device_ids"):
        request["device_ids"] = [str(d) for d in item["device_ids"]]
    if item.get("options"):
        request["options"] = _text_map(item["options"], "devices.options", service)
    return request


# deploy.restart_policy.condition -> the engine's restart policy, as Compose v2 maps it on one host
# (no condition gives the engine's default, no restart; delay and window have no engine field).
_RESTART_CONDITIONS = {None: "no", "none": "no", "no": "no", "on-failure": "on-failure", "any": "always",
                       "always": "always", "unless-stopped": "unless-stopped"}


def _deploy_restart(policy, service):
    if policy is None:
        return {}
    if not isinstance(policy, dict) or policy.get("condition") not in _RESTART_CONDITIONS:
        raise ComposeError("service %s: deploy.restart_policy.condition must be none, on-failure or any, got %r"
                           % (service, (policy or {}).get("condition") if isinstance(policy, dict) else policy))
    result = {"restart_policy": _RESTART_CONDITIONS[policy.get("condition")]}
    if policy.get("max_attempts") is not None:
        if result["restart_policy"] != "on-failure":
            raise ComposeError("service %s: deploy.restart_policy.max_attempts needs condition on-failure on one host"
                               % service)
        result["restart_retries"] = int(policy["max_attempts"])
    return result


# The Compose Specification's own resource keys; each must agree with its deploy.resources twin.
_RESOURCE_KEYS = {"mem_limit": "memory", "mem_reservation": "memory_reservation", "cpus": "cpus",
                  "cpu_shares": "cpu_shares"}


def _service_resources(service, name):
    """mem_limit, cpus, ... merged with deploy (restart and resources); a conflict fails as in Compose."""
    for key in WINDOWS_ONLY_KEYS:
        if key in service:
            raise ComposeError("service %s: %s only limits Windows containers; a Linux engine has no such limit. "
                               "Use cpus (or deploy.resources.limits.cpus) instead" % (name, key))
    options = _restart(service.get("restart"), name)
    deploy = _resources(service.get("deploy") or {}, name)
    for key, option in _RESOURCE_KEYS.items():
        if service.get(key) is None:
            continue
        value = float(service[key]) if option == "cpus" else (
            int(service[key]) if option == "cpu_shares" else str(service[key]))
        same = size_in_bytes if option.startswith("memory") else str
        if option in deploy and same(deploy[option]) != same(value):
            raise ComposeError("service %s: %s (%s) and deploy.resources set different values (%s); keep one"
                               % (name, key, service[key], deploy[option]))
        options[option] = value
    if "restart_policy" in deploy:  # deploy.restart_policy wins over restart, as in Compose
        options.pop("restart_retries", None)
    options.update(deploy)
    return options


def _ulimits(value, service):
    if value is None:
        return None
    result = []
    for name, limit in sorted(value.items()):
        if isinstance(limit, dict):
            result.append("%s=%s:%s" % (name, limit.get("soft"), limit.get("hard", limit.get("soft"))))
        else:
            result.append("%s=%s" % (name, limit))
    return result


def _stop_timeout(value, service):
    if value is None:
        return None
    match = re.match(r"^(?:([0-9]+)m)?(?:([0-9]+)s)?$", str(value))
    if str(value).isdigit():
        return int(value)
    if not match or not any(match.groups()):
        raise ComposeError("service %s: stop_grace_period %r is not a duration such as 10s or 1m30s" % (service, value))
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def depends_on(service, name):
    """{dependency: condition} from the short or long form."""
    result = {}
    for dependency, options in _as_mapping(service.get("depends_on"), "depends_on").items():
        condition = (options or {}).get("condition", "service_started")
        if condition not in ("service_started", "service_healthy", "service_completed_successfully"):
            raise ComposeError("service %s: depends_on %s condition %r is not service_started, service_healthy "
                               "or service_completed_successfully" % (name, dependency, condition))
        result[dependency] = condition
    return result


_SIMPLE = {  # compose key -> container option, copied as they are
    "user": "user", "working_dir": "working_dir", "hostname": "hostname", "init": "init",
    "stop_signal": "stop_signal", "privileged": "privileged", "read_only": "read_only",
    "security_opt": "security_opt", "devices": "devices", "dns": "dns", "cap_add": "cap_add",
    "cap_drop": "cap_drop", "pids_limit": "pids_limit",
    "shm_size": "shm_size", "tty": "tty", "stdin_open": "interactive", "pid": "pid_mode", "ipc": "ipc_mode",
    "userns_mode": "userns_mode", "uts": "uts", "memswap_limit": "memory_swap", "mem_swappiness": "memory_swappiness",
    "cpuset": "cpuset_cpus", "cpu_period": "cpu_period", "cpu_quota": "cpu_quota", "oom_score_adj": "oom_score_adj",
    "group_add": "groups", "domainname": "domainname", "mac_address": "mac_address", "dns_opt": "dns_options",
    "runtime": "runtime", "platform": "platform", "cgroup_parent": "cgroup_parent", "storage_opt": "storage_opt",
}
_BLKIO = {"weight": "blkio_weight", "device_read_bps": "device_read_bps", "device_write_bps": "device_write_bps",
          "device_read_iops": "device_read_iops", "device_write_iops": "device_write_iops"}


def _issue12_options(service, name):
    """Compose keys of the less common run options that need more than a rename."""
    options = {}
    if "oom_kill_disable" in service:
        options["oom_killer"] = not service["oom_kill_disable"]
    if "dns_search" in service:
        search = service["dns_search"]
        options["dns_search"] = [search] if isinstance(search, str) else list(search)
    if "expose" in service:
        options["exposed_ports"] = [str(port) for port in service["expose"]]
    blkio = service.get("blkio_config") or {}
    if not isinstance(blkio, dict):
        raise ComposeError("service %s: blkio_config must be a mapping" % name)
    unknown = sorted(set(blkio) - set(_BLKIO))
    if unknown:
        raise ComposeError("service %s: blkio_config.%s is not supported (%s)" % (name, unknown[0], ", ".join(_BLKIO)))
    options.update({_BLKIO[key]: value for key, value in blkio.items()})
    gpus = service.get("gpus")
    if gpus is not None:
        if gpus == "all" or isinstance(gpus, (int, str)):
            options["gpus"] = str(gpus)
        else:
            options["device_requests"] = [dict(item, count=-1) if isinstance(item, dict) and item.get("count") == "all"
                                          else item for item in gpus]
    return options


def did_you_mean(key, supported):
    """` (did you mean X?)` when a supported key is close to a misspelt one, else nothing."""
    close = difflib.get_close_matches(str(key), sorted(supported), n=1, cutoff=0.75)
    return " (did you mean %s?)" % close[0] if close else ""


def _check_keys(name, service):
    unknown = sorted(k for k in service if k not in SERVICE_KEYS and not k.startswith("x-"))
    if unknown:
        raise ComposeError("service %s: key %s is not supported by Berth%s. Supported service keys: %s"
                           % (name, unknown[0], did_you_mean(unknown[0], SERVICE_KEYS),
                              ", ".join(sorted(SERVICE_KEYS))))


def _environment(project, name, service):
    env = _env_file_values(project, name, service)
    declared = _as_mapping(service.get("environment"), "environment")
    # `- KEY` (no value) takes the project's variable, and is left out when there is none, as in Compose
    declared = {key: project["environ"].get(key) if value is None else value for key, value in declared.items()}
    env.update(_text_map({k: v for k, v in declared.items() if v is not None}, "environment", name))
    return env


def _env_file_values(project, name, service):
    """The variables of the service's env_file entries, in order, their values interpolated."""
    env = {}
    files = service.get("env_file") or []
    for path in [files] if isinstance(files, (str, dict)) else files:
        required = True
        if isinstance(path, dict):
            required, path = path.get("required", True), path.get("path")
        full = _project_path(project, path)
        text = project["read_text"](full)
        if text is None:
            if required:
                raise ComposeError("service %s: env_file %s does not exist" % (name, full))
            continue
        env.update(parse_env_file(text, "service %s env_file %s" % (name, full), project["environ"]))
    return env


def _image(project, name, service):
    """(image reference, image entry to build or None, container pull option)."""
    build = service.get("build")
    reference = service.get("image") or ("%s-%s" % (project["name"], name) if build else None)
    if not reference:
        raise ComposeError("service %s: needs image or build" % name)
    policy = service.get("pull_policy", "missing")
    pulls = {"always": "always", "never": "never", "missing": "missing", "if_not_present": "missing",
             "build": "never"}
    if policy not in pulls:
        raise ComposeError("service %s: pull_policy %r is not always, never, missing or build" % (name, policy))
    if build is None:
        return reference, None, pulls[policy]
    if isinstance(build, str):
        build = {"context": build}
    unknown = sorted(set(build) - {"context", "dockerfile", "args", "target", "labels"})
    if unknown:
        raise ComposeError("service %s: build.%s is not supported (context, dockerfile, args, target, labels)"
                           % (name, unknown[0]))
    spec = {"path": _project_path(project, build.get("context", ".")),
            "dockerfile": build.get("dockerfile", "Dockerfile")}
    for key in ("args", "labels"):
        if build.get(key) is not None:
            spec[key] = _text_map(build[key], key, name)
    if build.get("target"):
        spec["target"] = build["target"]
    return reference, {"name": reference, "source": "build", "build": spec}, "never"


def _runtime_options(project, name, service):
    """Everything of a container entry that does not depend on its replica number."""
    options = {target: service[key] for key, target in _SIMPLE.items() if key in service}
    options.update(_issue12_options(service, name))
    options.update(_service_resources(service, name))
    for key in ("command", "entrypoint"):
        if key in service:
            options[key] = _words(service[key], key, name)
    if "labels" in service:
        options["labels"] = _text_map(service["labels"], "labels", name)
    if "sysctls" in service:
        options["sysctls"] = _text_map(service["sysctls"], "sysctls", name)
    if "extra_hosts" in service:
        options["extra_hosts"] = ["%s:%s" % kv for kv in sorted(_text_map(service["extra_hosts"], "extra_hosts",
                                                                          name).items())]
    if "tmpfs" in service:
        tmpfs = service["tmpfs"]
        options["tmpfs"] = [tmpfs] if isinstance(tmpfs, str) else list(tmpfs)
    if "ulimits" in service:
        options["ulimits"] = _ulimits(service["ulimits"], name)
    if "stop_grace_period" in service:
        options["stop_timeout"] = _stop_timeout(service["stop_grace_period"], name)
    if "healthcheck" in service:
        options["healthcheck"] = _healthcheck(service["healthcheck"], name)
    logging = service.get("logging") or {}
    if logging.get("driver"):
        options["log_driver"] = logging["driver"]
    if logging.get("options") is not None:
        options["log_options"] = _text_map(logging["options"], "logging.options", name)
    if "ports" in service:
        options["ports"] = [_port_text(p, name) for p in service["ports"]]
    env = _environment(project, name, service)
    if env:
        options["env"] = env
    mounts = [_mount(project, v, name) for v in service.get("volumes") or []]
    mounts += _file_mounts(project, service.get("secrets"), "secrets", name)
    mounts += _file_mounts(project, service.get("configs"), "configs", name)
    if mounts:
        options["mounts"] = mounts
    return options


def replica_count(name, service):
    deploy = service.get("deploy") or {}
    count = service.get("scale", deploy.get("replicas", 1))
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ComposeError("service %s: scale/deploy.replicas must be a whole number >= 0, got %r" % (name, count))
    if count > 1 and service.get("container_name"):
        raise ComposeError("service %s: container_name cannot be used with more than one replica" % name)
    return count


def container_names(project_name, name, service):
    count = replica_count(name, service)
    if service.get("container_name"):
        return [service["container_name"]]
    return ["%s-%s-%d" % (project_name, name, n) for n in range(1, count + 1)]


def _network_mode(project, name, service):
    mode = service.get("network_mode")
    if mode is None:
        return None
    if mode.startswith("service:"):
        target = mode[len("service:"):]
        if target not in project["services"]:
            raise ComposeError("service %s: network_mode %s names no service of this file" % (name, mode))
        return "container:" + container_names(project["name"], target, project["services"][target])[0]
    if mode in ("host", "none", "bridge") or mode.startswith("container:"):
        return mode
    raise ComposeError("service %s: network_mode %r is not host, none, bridge, service:NAME or container:NAME"
                       % (name, mode))


def _volumes_from(project, name, service):
    """volumes_from `svc[:ro]` or `container:name[:ro]` -> the container names the engine takes."""
    sources = []
    for entry in service.get("volumes_from") or []:
        text = str(entry)
        if text.startswith("container:"):
            sources.append(text[len("container:"):])
            continue
        target, sep, mode = text.partition(":")
        if target not in project["services"]:
            raise ComposeError("service %s: volumes_from %s names no service of this file (use container:NAME "
                               "for a container outside it)" % (name, text))
        sources.append(container_names(project["name"], target, project["services"][target])[0] + sep + mode)
    return sources


def implied_dependencies(service):
    """Services Compose starts first without depends_on: network_mode service:X and volumes_from X."""
    implied = []
    mode = service.get("network_mode") or ""
    if mode.startswith("service:"):
        implied.append(mode[len("service:"):])
    for entry in service.get("volumes_from") or []:
        if not str(entry).startswith("container:"):
            implied.append(str(entry).partition(":")[0])
    return implied


def translate_service(project, name, service, healthy, completed):
    """The container entries of one service (one per replica)."""
    _check_keys(name, service)
    reference, image_entry, pull = _image(project, name, service)
    options = _runtime_options(project, name, service)
    mode = _network_mode(project, name, service)
    volumes_from = _volumes_from(project, name, service)
    if volumes_from:
        options["volumes_from"] = volumes_from
    dependencies = list(depends_on(service, name))
    dependencies += [d for d in implied_dependencies(service) if d not in dependencies]
    after = [c for dep in dependencies for c in container_names(project["name"], dep, project["services"][dep])]
    state = "completed" if name in completed else ("healthy" if name in healthy else "started")
    # Compose only lists containers with this label, and recreates those whose label differs from it
    service_hash = config_hash(dict(project, host_path=lambda path: _project_path(project, path)), service,
                               _env_file_values(project, name, service))
    containers = []
    for number, container_name in enumerate(container_names(project["name"], name, service), 1):
        entry = dict(options, name=container_name, image=reference, pull=pull, state=state, depends_on=after)
        entry["labels"] = dict(options.get("labels") or {}, **{
            PROJECT_LABEL: project["name"], SERVICE_LABEL: name, NUMBER_LABEL: str(number),
            ONEOFF_LABEL: "False", WORKDIR_LABEL: project["directory"],
            CONFIG_FILES_LABEL: project["config_files"], CONFIG_HASH_LABEL: service_hash})
        if mode:
            entry["network_mode"] = mode
        else:
            entry["networks"] = _networks(project, name, service, container_name)
        containers.append(entry)
    return containers, image_entry


def _top_level(project_name, section, kind, used):
    """{compose key: engine name} and the entries Berth creates (external ones are only referred to)."""
    names, entries = {}, []
    for key, options in section.items():
        options = options or {}
        external = options.get("external")
        engine_name = options.get("name") or (key if external else "%s_%s" % (project_name, key))
        names[key] = engine_name
        if external or key not in used:
            continue
        entry = {"name": engine_name, "labels": dict(_text_map(options.get("labels"), "labels", key), **{
            PROJECT_LABEL: project_name, (NETWORK_LABEL if kind == "networks" else VOLUME_LABEL): key})}
        if options.get("driver"):
            entry["driver"] = options["driver"]
        opts = options.get("driver_opts")
        if opts is not None:
            entry["driver_options" if kind == "networks" else "driver_opts"] = _text_map(opts, "driver_opts", key)
        if kind == "networks":
            entry.update(_network_options(key, options))
        entries.append(entry)
    return names, entries


def _network_options(key, options):
    unknown = sorted(set(options) - {"name", "driver", "driver_opts", "external", "labels", "ipam", "internal",
                                     "attachable", "enable_ipv6"} - {k for k in options if k.startswith("x-")})
    if unknown:
        raise ComposeError("network %s: key %s is not supported" % (key, unknown[0]))
    result = {k: bool(options[k]) for k in ("internal", "attachable", "enable_ipv6") if k in options}
    ipam = options.get("ipam")
    if ipam:
        result["ipam"] = {"driver": ipam.get("driver"), "config": [
            {k: c[k] for k in ("subnet", "gateway", "ip_range", "aux_addresses") if k in c}
            for c in ipam.get("config") or []]}
        if not result["ipam"]["driver"]:
            del result["ipam"]["driver"]
    return result


def _active_services(services, profiles):
    """Services without profiles, and those with a selected profile (Compose's rule)."""
    selected = set(profiles or [])
    active = {}
    for name, service in services.items():
        if not isinstance(service, dict):
            raise ComposeError("service %s must be a mapping" % name)
        wanted = service.get("profiles") or []
        if not wanted or selected & set(wanted) or "*" in selected:
            active[name] = service
    for name, service in active.items():
        for dependency in depends_on(service, name):
            if dependency not in active:
                why = "is not enabled by the selected profiles" if dependency in services else "is not defined"
                raise ComposeError("service %s depends_on %s, which %s" % (name, dependency, why))
    return active


def _used(services, key):
    used = set()
    for service in services.values():
        if key == "networks":
            if service.get("network_mode"):
                continue
            declared = service.get("networks")
            used.update(declared if declared is not None else ["default"])
        else:
            for entry in service.get("volumes") or []:
                source = entry.split(":")[0] if isinstance(entry, str) and ":" in entry else (
                    entry.get("source") if isinstance(entry, dict) and entry.get("type", "volume") == "volume"
                    else None)
                if source and not source.startswith((".", "/", "~")):
                    used.add(source)
    return used


def _prepare(documents, name, directory, environ, profiles, read_text):
    """Merged, interpolated document, its variables, the project name, the enabled services and the warnings."""
    merged = merge_documents(documents)
    unknown = sorted(k for k in merged if k not in TOP_KEYS and not k.startswith("x-"))
    if unknown:
        raise ComposeError("top-level key %s is not supported%s (%s)"
                           % (unknown[0], did_you_mean(unknown[0], TOP_KEYS), ", ".join(sorted(TOP_KEYS))))
    dotenv = read_text(posixpath.join(directory, ".env"))
    env = dict(parse_env_file(dotenv, posixpath.join(directory, ".env")) if dotenv else {}, **(environ or {}))
    unset = []
    merged = interpolate_tree(merged, env, unset=unset)
    project_name = str(name or merged.get("name") or posixpath.basename(posixpath.abspath(directory)))
    project_name = re.sub(r"[^a-z0-9_-]", "", project_name.lower())
    if not NAME_RE.match(project_name):
        raise ComposeError("project name %r must be lower-case letters, digits, - and _" % (name or project_name))
    services = _active_services(resolve_extends(merged.get("services") or {}), profiles)
    return merged, env, project_name, services, unset_warnings(unset)


def load_project(documents, name=None, directory=".", environ=None, profiles=None, read_text=None,
                 config_files=""):
    """Compose documents -> {'name', 'images', 'networks', 'volumes', 'containers'} stack entries."""
    read_text = read_text or (lambda path: None)
    merged, env, project_name, services, warnings = _prepare(documents, name, directory, environ, profiles, read_text)
    networks = dict(merged.get("networks") or {})
    networks.setdefault("default", None)
    project = {"name": project_name, "directory": directory, "services": services, "read_text": read_text,
               "config_files": config_files, "environ": env, "secrets": merged.get("secrets") or {},
               "configs": merged.get("configs") or {}}
    project["networks"], network_entries = _top_level(project_name, networks, "networks",
                                                      _used(services, "networks"))
    project["volumes"], volume_entries = _top_level(project_name, merged.get("volumes") or {}, "volumes",
                                                    _used(services, "volumes"))
    conditions = [(dep, cond) for n, s in services.items() for dep, cond in depends_on(s, n).items()]
    healthy = {d for d, c in conditions if c == "service_healthy"}
    completed = {d for d, c in conditions if c == "service_completed_successfully"}
    containers, images = [], []
    for service_name in sorted(services):
        entries, image = translate_service(project, service_name, services[service_name], healthy, completed)
        containers.extend(entries)
        if image and image["name"] not in [i["name"] for i in images]:
            images.append(image)
    return {"name": project_name, "images": images, "networks": network_entries, "volumes": volume_entries,
            "containers": containers, "warnings": warnings}


# --- the same file for a swarm: swarm_stack entries -------------------------------------------------

# compose key -> service option, copied as they are (issue 22: the container options of a service)
_SWARM_SIMPLE = {
    "user": "user", "working_dir": "working_dir", "hostname": "hostname", "init": "init", "tty": "tty",
    "read_only": "read_only", "group_add": "groups", "cap_add": "cap_add", "cap_drop": "cap_drop",
    "stop_signal": "stop_signal", "stop_grace_period": "stop_grace_period", "dns_opt": "dns_options",
}
SWARM_SERVICE_KEYS = frozenset([
    "command", "configs", "deploy", "depends_on", "entrypoint", "env_file", "environment", "extends",
    "healthcheck", "image", "labels", "networks", "ports", "profiles", "secrets", "volumes",
    "dns", "dns_search", "extra_hosts", "logging", "sysctls", "ulimits",
]) | frozenset(_SWARM_SIMPLE)
SWARM_DEPLOY_KEYS = frozenset(["endpoint_mode", "labels", "mode", "placement", "replicas", "resources",
                               "restart_policy", "rollback_config", "update_config"])
# Keys that only mean something on one host: `docker stack deploy` ignores them silently, Berth says so.
ONE_HOST_KEYS = frozenset(["build", "container_name", "network_mode", "scale", "restart", "pull_policy",
                           "privileged", "devices"])


def _swarm_check_keys(name, service):
    for key in service:
        if key.startswith("x-") or key in SWARM_SERVICE_KEYS:
            continue
        if key in ONE_HOST_KEYS:
            raise ComposeError("service %s: %s only works on one host (berth.engine.stack); a swarm service "
                               "cannot take it" % (name, key))
        raise ComposeError("service %s: key %s is not supported for a swarm%s. Supported service keys: %s"
                           % (name, key, did_you_mean(key, SWARM_SERVICE_KEYS | ONE_HOST_KEYS),
                              ", ".join(sorted(SWARM_SERVICE_KEYS))))
    for dependency, condition in depends_on(service, name).items():
        if condition != "service_started":
            raise ComposeError("service %s: depends_on %s with condition %s needs one host (berth.engine.stack): "
                               "a swarm starts services in no order" % (name, dependency, condition))
    unknown = sorted(set(service.get("deploy") or {}) - SWARM_DEPLOY_KEYS)
    if unknown:
        raise ComposeError("service %s: deploy.%s is not supported%s"
                           % (name, unknown[0], did_you_mean(unknown[0], SWARM_DEPLOY_KEYS)))


def _swarm_port(entry, service):
    if isinstance(entry, dict):
        port = {"target": int(entry["target"]), "protocol": entry.get("protocol", "tcp"),
                "publish_mode": entry.get("mode", "ingress")}
        if entry.get("published") not in (None, ""):
            port["published"] = int(entry["published"])
        return port
    text, _unused, protocol = str(entry).partition("/")
    parts = text.split(":")
    if len(parts) > 2 or "-" in text:
        raise ComposeError("service %s: ports entry %r: a swarm takes [published:]target, or the long syntax"
                           % (service, entry))
    port = {"target": int(parts[-1]), "protocol": protocol or "tcp", "publish_mode": "ingress"}
    if len(parts) == 2:
        port["published"] = int(parts[0])
    return port


def _swarm_deploy(deploy, name):
    options = {}
    for key in ("mode", "replicas", "endpoint_mode"):
        if key in deploy:
            options[key] = deploy[key]
    if "labels" in deploy:
        options["labels"] = _text_map(deploy["labels"], "deploy.labels", name)
    placement = deploy.get("placement") or {}
    if placement.get("constraints"):
        options["constraints"] = [str(c) for c in placement["constraints"]]
    if placement.get("preferences"):
        options["placement_preferences"] = [{"spread": p["spread"]} for p in placement["preferences"]]
    if placement.get("max_replicas_per_node") is not None:
        options["max_replicas_per_node"] = placement["max_replicas_per_node"]
    resources = deploy.get("resources") or {}
    for section in ("limits", "reservations"):
        values = {k: resources[section][k] for k in ("cpus", "memory") if k in (resources.get(section) or {})}
        if "cpus" in values:
            values["cpus"] = float(values["cpus"])
        if values:
            options[section] = values
    for key in ("update_config", "rollback_config", "restart_policy"):
        if deploy.get(key):
            options[key] = dict(deploy[key])
    return options


def _swarm_service(project, name, service):
    _swarm_check_keys(name, service)
    if not service.get("image"):
        raise ComposeError("service %s: a swarm service needs image (build is for one host)" % name)
    entry = {"name": "%s_%s" % (project["name"], name), "image": service["image"]}
    entry.update(_swarm_deploy(service.get("deploy") or {}, name))
    entry.update(_swarm_container_options(service, name))
    if "entrypoint" in service:
        entry["command"] = _words(service["entrypoint"], "entrypoint", name)
    if "command" in service:
        entry["args"] = _words(service["command"], "command", name)
    env = _environment(project, name, service)
    if env:
        entry["env"] = env
    if "labels" in service:
        entry["container_labels"] = _text_map(service["labels"], "labels", name)
    if "healthcheck" in service:
        entry["healthcheck"] = _healthcheck(service["healthcheck"], name)
    if "ports" in service:
        entry["ports"] = [_swarm_port(p, name) for p in service["ports"]]
    mounts = [_swarm_mount(project, v, name) for v in service.get("volumes") or []]
    if mounts:
        entry["mounts"] = mounts
    networks = _networks(project, name, service, None)
    entry["networks"] = [{"name": n["name"], "aliases": n["aliases"]} for n in networks]
    for kind in ("secrets", "configs"):
        references = []
        for item in service.get(kind) or []:
            item = {"source": item} if isinstance(item, str) else dict(item)
            if item["source"] not in project[kind]:
                raise ComposeError("service %s: %s %s is not declared in the top-level %s"
                                   % (name, kind[:-1], item["source"], kind))
            reference = {"name": "%s_%s" % (project["name"], item["source"])}
            reference.update({k: str(item[k]) for k in ("target", "uid", "gid") if item.get(k) is not None})
            if item.get("mode") is not None:
                reference["mode"] = item["mode"]
            references.append(reference)
        if references:
            entry[kind] = references
    return entry


def _swarm_object(project, kind, key, declared):
    """A top-level secret or config -> a swarm_stack secrets/configs entry (content read here)."""
    entry = {"name": "%s_%s" % (project["name"], key)}
    if declared.get("external"):
        return None
    if declared.get("file"):
        content = project["read_text"](_project_path(project, declared["file"]))
        if content is None:
            raise ComposeError("%s %s: file %s does not exist" % (kind[:-1], key, declared["file"]))
        entry["content"] = content
    elif declared.get("environment"):
        value = project["environ"].get(declared["environment"])
        if value is None:
            raise ComposeError("%s %s: environment variable %s is not set (compose_env)"
                               % (kind[:-1], key, declared["environment"]))
        entry["content"] = value
    elif "content" in declared:
        entry["content"] = str(declared["content"])
    else:
        raise ComposeError("%s %s needs file, environment or content" % (kind[:-1], key))
    return entry


def load_swarm_project(documents, name=None, directory=".", environ=None, profiles=None, read_text=None):
    """Compose documents -> swarm_stack entries {'name', 'services', 'networks', 'secrets', 'configs'}."""
    read_text = read_text or (lambda path: None)
    merged, env, project_name, services, warnings = _prepare(documents, name, directory, environ, profiles, read_text)
    networks = dict(merged.get("networks") or {})
    networks.setdefault("default", None)
    project = {"name": project_name, "directory": directory, "services": services, "read_text": read_text,
               "environ": env, "secrets": merged.get("secrets") or {}, "configs": merged.get("configs") or {}}
    project["networks"], network_entries = _top_level(project_name, networks, "networks", _used(services, "networks"))
    project["volumes"], _unused = _top_level(project_name, merged.get("volumes") or {}, "volumes", set())
    result = {"name": project_name, "services": [], "secrets": [], "configs": [], "warnings": warnings}
    result["networks"] = [_swarm_network(entry) for entry in network_entries]
    for kind in ("secrets", "configs"):
        for key, declared in sorted(project[kind].items()):
            entry = _swarm_object(project, kind, key, declared or {})
            if entry:
                result[kind].append(entry)
    for service_name in sorted(services):
        result["services"].append(_swarm_service(project, service_name, services[service_name]))
    return result


def _swarm_network(entry):
    """A swarm stack's networks are overlays unless the file says otherwise."""
    network = {"name": entry["name"], "driver": entry.get("driver") or "overlay",
               "labels": entry.get("labels") or {}}
    for key in ("internal", "attachable"):
        if key in entry:
            network[key] = entry[key]
    if entry.get("driver_options"):
        network["driver_options"] = entry["driver_options"]
        if "encrypted" in entry["driver_options"]:
            network["encrypted"] = True
    return network
