# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Compose translator's shared half: a Compose project loaded the same way for every target.

load() merges the documents (-f a -f b, extends), reads .env, interpolates, checks the top-level keys
and the project name, selects the services of the active profiles and names the networks and volumes;
then a target makes its entries from that project: compose.py for one host (berth.engine.stack),
compose_swarm.py for a swarm (berth.engine.swarm_stack). The translations of service keys both
targets take (environment and env_file, volumes, networks, healthcheck, commands) live here too.

Nothing here reads files or talks to the engine: callers pass the parsed documents, the environment
for interpolation and a read_text(path) callable (for env_file and .env).
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re

from ansible_collections.berth.engine.plugins.module_utils.value_parsers import (
    InputError,
    as_mapping,
    as_words,
    environment_values,
    interpolate_tree,
    judged,
    parse_env_file,
    volume_spec,
)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"
NETWORK_LABEL = "com.docker.compose.network"
VOLUME_LABEL = "com.docker.compose.volume"
WORKDIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"


TOP_KEYS = frozenset(["version", "name", "services", "networks", "volumes", "secrets", "configs"])
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ComposeError(InputError):
    """The Compose document cannot be deployed as it is; the message names the key and the service."""


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


# --- merging several files and `extends` ----------------------------------------------------------

_APPENDED = frozenset(["ports", "expose", "dns", "cap_add", "cap_drop", "devices", "security_opt",
                       "tmpfs", "extra_hosts", "env_file", "volumes", "secrets", "configs", "profiles"])
_MAPPINGS = frozenset(["environment", "labels", "sysctls", "extra_hosts", "depends_on"])


def merge_service(base, override):
    """Compose's merge of two definitions of one service (later files and `extends` overrides)."""
    merged = dict(base)
    for key, value in override.items():
        if key in _MAPPINGS and key in merged:
            merged[key] = dict(as_mapping(merged[key], key), **as_mapping(value, key))
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


def words(value, key, service):
    """command, entrypoint: a string split as a shell would, or a list (value_parsers.as_words)."""
    if value is None:
        return None
    if not isinstance(value, (str, list)):
        raise ComposeError("service %s: %s must be a string or a list, got %r" % (service, key, value))
    return as_words(value, "service %s: %s" % (service, key))


def text_map(value, key, service):
    """A mapping of strings; a null value in list form (`- KEY`) takes nothing from the host here."""
    mapping = as_mapping(value, key)
    for name, item in mapping.items():
        if isinstance(item, (dict, list)):
            raise ComposeError("service %s: %s.%s must be a plain value" % (service, key, name))
    return {str(k): ("" if v is None else (str(v).lower() if isinstance(v, bool) else str(v)))
            for k, v in mapping.items()}


def project_path(project, path):
    """An absolute host path: `~` is the home of the user the module runs as on the host, as in Compose."""
    if path.startswith("~"):
        path = os.path.expanduser(path)
    if posixpath.isabs(path):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(project["directory"], path))


def mount(project, entry, service):
    """A short or long volumes entry -> a container `mounts` entry."""
    if isinstance(entry, str):
        entry = volume_spec(entry)
        if entry["source"] is None:
            return {"type": "volume", "source": None, "target": entry["target"], "read_only": False}
        entry["bind"] = {"create_host_path": True}  # the short syntax creates a missing bind source, as Compose v2
    if not isinstance(entry, dict) or not entry.get("target"):
        raise ComposeError("service %s: volumes entry %r needs a target" % (service, entry))
    kind = entry.get("type", "volume")
    if kind not in ("volume", "bind", "tmpfs"):
        raise ComposeError("service %s: volume type %r is not supported (volume, bind, tmpfs)" % (service, kind))
    source = entry.get("source")
    if kind == "bind":
        return dict(_bind_options(entry.get("bind"), entry["target"], service), type="bind",
                    source=project_path(project, source), target=entry["target"],
                    read_only=bool(entry.get("read_only")))
    if kind == "volume" and source:
        if source not in project["volumes"]:
            raise ComposeError("service %s: volume %s is not declared in the top-level volumes" % (service, source))
        source = project["volumes"][source]
    return {"type": kind, "source": source or None, "target": entry["target"],
            "read_only": bool(entry.get("read_only"))}


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


def service_networks(project, service_name, service, container_name):
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


def healthcheck(value, service):
    if value is None:
        return None
    if value.get("disable"):
        return {"disable": True}
    known = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ComposeError("service %s: healthcheck key(s) %s are not supported" % (service, ", ".join(unknown)))
    return {k: value[k] for k in known - {"disable"} if k in value}


def ulimits(value, service):
    """ulimits as the container and service options' NAME=SOFT[:HARD] strings."""
    if value is None:
        return None
    result = []
    for name, limit in sorted(value.items()):
        if isinstance(limit, dict):
            result.append("%s=%s:%s" % (name, limit.get("soft"), limit.get("hard", limit.get("soft"))))
        else:
            result.append("%s=%s" % (name, limit))
    return result


def depends_on(service, name):
    """{dependency: condition} from the short or long form."""
    result = {}
    for dependency, options in as_mapping(service.get("depends_on"), "depends_on").items():
        condition = (options or {}).get("condition", "service_started")
        if condition not in ("service_started", "service_healthy", "service_completed_successfully"):
            raise ComposeError("service %s: depends_on %s condition %r is not service_started, service_healthy "
                               "or service_completed_successfully" % (name, dependency, condition))
        result[dependency] = condition
    return result


def did_you_mean(key, supported):
    """` (did you mean X?)` when a supported key is close to a misspelt one, else nothing."""
    close = difflib.get_close_matches(str(key), sorted(supported), n=1, cutoff=0.75)
    return " (did you mean %s?)" % close[0] if close else ""


def environment(project, name, service):
    """env_file's variables with environment's on top; `- KEY` resolved as Compose does it."""
    env = env_file_values(project, name, service)
    env.update(text_map(environment_values(service.get("environment"), project["environ"]), "environment", name))
    return env


def env_file_values(project, name, service):
    """The variables of the service's env_file entries, in order, their values interpolated."""
    env = {}
    files = service.get("env_file") or []
    for path in [files] if isinstance(files, (str, dict)) else files:
        required = True
        if isinstance(path, dict):
            required, path = path.get("required", True), path.get("path")
        full = project_path(project, path)
        text = project["read_text"](full)
        if text is None:
            if required:
                raise ComposeError("service %s: env_file %s does not exist" % (name, full))
            continue
        env.update(parse_env_file(text, "service %s env_file %s" % (name, full), project["environ"]))
    return env


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
        entry = {"name": engine_name, "labels": dict(text_map(options.get("labels"), "labels", key), **{
            PROJECT_LABEL: project_name, (NETWORK_LABEL if kind == "networks" else VOLUME_LABEL): key})}
        if options.get("driver"):
            entry["driver"] = options["driver"]
        opts = options.get("driver_opts")
        if opts is not None:
            entry["driver_options" if kind == "networks" else "driver_opts"] = text_map(opts, "driver_opts", key)
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
                entry = volume_spec(entry) if isinstance(entry, str) else entry
                if isinstance(entry, dict) and entry.get("type", "volume") == "volume" and entry.get("source"):
                    used.add(entry["source"])
    return used


def _prepare(documents, name, directory, environ, profiles, read_text):
    """Merged, interpolated document, its variables, the project name, the enabled services and the warnings."""
    merged = merge_documents(documents)
    unknown = sorted(k for k in merged if k not in TOP_KEYS and not k.startswith("x-"))
    if unknown:
        raise ComposeError("top-level key %s is not supported%s (%s)"
                           % (unknown[0], did_you_mean(unknown[0], TOP_KEYS), ", ".join(sorted(TOP_KEYS))))
    dotenv = read_text(posixpath.join(directory, ".env"))
    # .env is interpolated too (from the environment first), and the environment wins over it
    dotenv = parse_env_file(dotenv, posixpath.join(directory, ".env"), environ) if dotenv else {}
    env = dict(dotenv, **(environ or {}))
    unset = []
    merged = interpolate_tree(merged, env, unset=unset)
    project_name = str(name or merged.get("name") or posixpath.basename(posixpath.abspath(directory)))
    project_name = re.sub(r"[^a-z0-9_-]", "", project_name.lower())
    if not NAME_RE.match(project_name):
        raise ComposeError("project name %r must be lower-case letters, digits, - and _" % (name or project_name))
    services = _active_services(resolve_extends(merged.get("services") or {}), profiles)
    return merged, env, project_name, services, unset_warnings(unset)


def load(documents, target, name=None, directory=".", environ=None, profiles=None, read_text=None,
         config_files=""):
    """Compose documents -> the entries `target` makes of the project (compose.host_entries or
    compose_swarm.swarm_entries), with the project's name and the interpolation warnings.

    Every failure is a ComposeError: the value parsers' InputError and Python's own complaints about
    a value's type (judged) become one, so the stack reports them as the Compose file's fault.
    """
    try:
        return judged(_load)(documents, target, name, directory, environ, profiles,
                             read_text or (lambda path: None), config_files)
    except ComposeError:
        raise
    except ValueError as err:
        raise ComposeError(str(err)) from None


def _load(documents, target, name, directory, environ, profiles, read_text, config_files):
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
    result = target(project, network_entries, volume_entries)
    result.update(name=project_name, warnings=warnings)
    return result
