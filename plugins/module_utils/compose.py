# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose files as stack input: the Compose translator's host target (berth.engine.stack).

compose_project.load() reads the project the same way for both targets; this file turns each service
into the entries a user would write for berth.engine.stack (images, networks, volumes, containers),
named and labelled as `docker compose` names and labels them, so the stack's own plan code compares
them: there is no second set of comparison rules. A key this file does not translate fails before
anything changes, naming the key and the service. The swarm target is compose_swarm.py.
"""

from __future__ import annotations

import re

from ansible_collections.berth.engine.plugins.module_utils import compose_project as shared
from ansible_collections.berth.engine.plugins.module_utils.compose_hash import config_hash, size_in_bytes
from ansible_collections.berth.engine.plugins.module_utils.compose_project import (
    CONFIG_FILES_LABEL,
    CONFIG_HASH_LABEL,
    NUMBER_LABEL,
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    WORKDIR_LABEL,
    ComposeError,
    depends_on,
    did_you_mean,
    load,
)
from ansible_collections.berth.engine.plugins.module_utils.container_options import COMPOSE_KEYS

# The translations both targets share (compose_project), under the names this file has always used.
_words, _text_map, _mount, _healthcheck = shared.words, shared.text_map, shared.mount, shared.healthcheck
_environment, _env_file_values, _project_path = shared.environment, shared.env_file_values, shared.project_path
_networks, _ulimits = shared.service_networks, shared.ulimits

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
]) | frozenset(key.split(".", 1)[0] for key in COMPOSE_KEYS)  # and every key the container option table maps
DEPLOY_KEYS = frozenset(["replicas", "resources", "mode", "restart_policy"])
# Windows-only engine fields: a Linux engine has no such limit, so Berth refuses them (Compose sends them on).
WINDOWS_ONLY_KEYS = ("cpu_count", "cpu_percent")


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


def _compose_section(service, section, name):
    """The mapping a dotted table key reads from (blkio_config for blkio_config.weight); unknown keys fail."""
    if not section:
        return service
    value = service.get(section) or {}
    if not isinstance(value, dict):
        raise ComposeError("service %s: %s must be a mapping" % (name, section))
    supported = sorted(key.split(".", 1)[1] for key in COMPOSE_KEYS if key.startswith(section + "."))
    unknown = sorted(set(value) - set(supported))
    if unknown:
        raise ComposeError("service %s: %s.%s is not supported (%s)"
                           % (name, section, unknown[0], ", ".join(supported)))
    return value


def _table_options(service, name):
    """The service keys the container option table maps to an option (Option.compose), converted as it says."""
    options = {}
    for key, option in COMPOSE_KEYS.items():
        section, _dot, field = key.rpartition(".")
        source = _compose_section(service, section, name)
        if field in source:
            options[option.name] = option.from_compose(source[field])
    return options


def _gpus(service):
    """gpus: all or a count sets the gpus option, a list of device requests device_requests (count all = -1)."""
    gpus = service.get("gpus")
    if gpus is None:
        return {}
    if gpus == "all" or isinstance(gpus, (int, str)):
        return {"gpus": str(gpus)}
    return {"device_requests": [dict(item, count=-1) if isinstance(item, dict) and item.get("count") == "all"
                                else item for item in gpus]}


def _check_keys(name, service):
    unknown = sorted(k for k in service if k not in SERVICE_KEYS and not k.startswith("x-"))
    if unknown:
        raise ComposeError("service %s: key %s is not supported by Berth%s. Supported service keys: %s"
                           % (name, unknown[0], did_you_mean(unknown[0], SERVICE_KEYS),
                              ", ".join(sorted(SERVICE_KEYS))))


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
    options = _table_options(service, name)
    options.update(_gpus(service))
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


def host_entries(project, network_entries, volume_entries):
    """The host target: images to build, networks, volumes and one container entry per replica."""
    services = project["services"]
    conditions = [(dep, cond) for n, s in services.items() for dep, cond in depends_on(s, n).items()]
    healthy = {d for d, c in conditions if c == "service_healthy"}
    completed = {d for d, c in conditions if c == "service_completed_successfully"}
    containers, images = [], []
    for service_name in sorted(services):
        entries, image = translate_service(project, service_name, services[service_name], healthy, completed)
        containers.extend(entries)
        if image and image["name"] not in [i["name"] for i in images]:
            images.append(image)
    return {"images": images, "networks": network_entries, "volumes": volume_entries, "containers": containers}


def load_project(documents, **options):
    """Compose documents -> {'name', 'images', 'networks', 'volumes', 'containers', 'warnings'} stack entries
    (options: those of compose_project.load)."""
    return load(documents, host_entries, **options)
