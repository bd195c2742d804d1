# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Compose translator's swarm target: a project (compose_project.load) -> swarm_stack entries.

`docker stack deploy` reads the same files; keys that only mean something on one host fail here,
naming the key and the service, where the CLI would ignore them silently.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.compose_project import (
    ComposeError,
    depends_on,
    did_you_mean,
    environment,
    healthcheck,
    load,
    mount,
    project_path,
    service_networks,
    text_map,
    ulimits,
    words,
)
from ansible_collections.berth.engine.plugins.module_utils.container_options import SERVICE_OPTIONS
from ansible_collections.berth.engine.plugins.module_utils.container_values import parse_ports
from ansible_collections.berth.engine.plugins.module_utils.value_parsers import parse_int


def _ports(value, key, name):
    return [port for entry in value for port in _swarm_ports(entry, name)]


def _logging(value, key, name):
    logging = {"driver": value.get("driver") or "json-file"}
    if value.get("options") is not None:
        logging["options"] = text_map(value["options"], "logging.options", name)
    return logging


def _from_table(field):
    return lambda value, key, name: field.row.from_compose(value)


# Compose service key -> (swarm_stack services option, translate(value, key, service name)): a key that
# maps one to one goes here. Keys that need the project are translated in swarm_service. The container
# options a service shares (user, cap_add, dns_opt, oom_score_adj ...) come from the option table, as
# the Compose host target takes them, so a row with a `service` field and a Compose key maps here too.
SWARM_KEYS = dict({field.row.compose: (name, _from_table(field)) for name, field in SERVICE_OPTIONS.items()
                   if field.row.compose}, **{
    "entrypoint": ("command", words),
    "command": ("args", words),
    "labels": ("container_labels", text_map),
    "healthcheck": ("healthcheck", lambda value, key, name: healthcheck(value, name)),
    "ports": ("ports", _ports),
    # the host target reads these in compose.py (with the service's name in its errors), not from the table
    "sysctls": ("sysctls", text_map), "extra_hosts": ("hosts", text_map),
    "ulimits": ("ulimits", lambda value, key, name: ulimits(value, name)),
    "logging": ("logging", _logging),
})
SWARM_SERVICE_KEYS = frozenset(SWARM_KEYS) | frozenset([
    "configs", "deploy", "depends_on", "env_file", "environment", "extends", "image", "networks", "profiles",
    "secrets", "volumes",
])
SWARM_DEPLOY_KEYS = frozenset(["endpoint_mode", "labels", "mode", "placement", "replicas", "resources",
                               "restart_policy", "rollback_config", "update_config"])
# Keys that only mean something on one host: `docker stack deploy` ignores them silently, Berth says so.
ONE_HOST_KEYS = frozenset(["build", "container_name", "network_mode", "scale", "restart", "pull_policy",
                           "privileged", "devices"])


def _check_keys(name, service):
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


def _swarm_ports(entry, service):
    """A ports entry -> swarm ports. The short syntax is read by the container module's parser (one grammar
    for both targets, ranges included); a swarm publishes on every node, so a host IP is refused."""
    where = "service %s: ports entry %r" % (service, entry)
    if isinstance(entry, dict):
        port = {"target": parse_int(entry.get("target"), where + ": target", 1, 65535),
                "protocol": entry.get("protocol", "tcp"), "publish_mode": entry.get("mode", "ingress")}
        if entry.get("published") not in (None, ""):
            port["published"] = parse_int(entry["published"], where + ": published", 1, 65535)
        return [port]
    ports = []
    for key, bindings in parse_ports([entry]).items():
        target, protocol = key.split("/")
        for host_ip, published in bindings:
            if host_ip or "-" in published:
                raise ComposeError("%s: a swarm takes [published:]target (ranges as well), or the long syntax; "
                                   "a host IP or a host port range is for one host" % where)
            port = {"target": int(target), "protocol": protocol, "publish_mode": "ingress"}
            if published:
                port["published"] = int(published)
            ports.append(port)
    return ports


def _deploy(deploy, name):
    options = {}
    for key in ("mode", "replicas", "endpoint_mode"):
        if key in deploy:
            options[key] = deploy[key]
    if "labels" in deploy:
        options["labels"] = text_map(deploy["labels"], "deploy.labels", name)
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


def _mount_options(entry, service):
    """bind.propagation, volume.nocopy and tmpfs.size/mode of a long-syntax entry -> the service's mount
    options (issue 22), the entry without those blocks; anything else in them is refused."""
    if not isinstance(entry, dict):
        return entry, {}
    entry, options = dict(entry), {}
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
    return entry, options


def _mount(project, entry, service):
    """A service's mount: the nodes' engines refuse a missing bind source, there is no host path to create."""
    entry, options = _mount_options(entry, service)
    result = mount(project, entry, service)
    result.pop("create_host_path", None)
    result.pop("bind", None)
    result.update(options)
    return result


def _references(project, name, service, kind):
    """The service's secrets or configs -> swarm_stack references to the stack's objects."""
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
    return references


def swarm_service(project, name, service):
    """One Compose service -> one swarm_stack services entry."""
    _check_keys(name, service)
    if not service.get("image"):
        raise ComposeError("service %s: a swarm service needs image (build is for one host)" % name)
    entry = {"name": "%s_%s" % (project["name"], name), "image": service["image"]}
    entry.update(_deploy(service.get("deploy") or {}, name))
    for key, (option, translate) in SWARM_KEYS.items():
        if key in service:
            entry[option] = translate(service[key], key, name)
    env = environment(project, name, service)
    if env:
        entry["env"] = env
    mounts = [_mount(project, v, name) for v in service.get("volumes") or []]
    if mounts:
        entry["mounts"] = mounts
    networks = service_networks(project, name, service, None)
    entry["networks"] = [{"name": n["name"], "aliases": n["aliases"]} for n in networks]
    for kind in ("secrets", "configs"):
        references = _references(project, name, service, kind)
        if references:
            entry[kind] = references
    return entry


def _swarm_object(project, kind, key, declared):
    """A top-level secret or config -> a swarm_stack secrets/configs entry (content read here)."""
    entry = {"name": "%s_%s" % (project["name"], key)}
    if declared.get("external"):
        return None
    if declared.get("file"):
        content = project["read_text"](project_path(project, declared["file"]))
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
    if kind == "configs" and declared.get("template_driver"):
        entry["template_driver"] = declared["template_driver"]
    return entry


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


def swarm_entries(project, network_entries, volume_entries):
    """The swarm target: services, overlay networks, secrets and configs (a swarm creates no volumes here:
    a service's volume mounts are created by each node's engine)."""
    result = {"services": [], "secrets": [], "configs": []}
    result["networks"] = [_swarm_network(entry) for entry in network_entries]
    for kind in ("secrets", "configs"):
        for key, declared in sorted(project[kind].items()):
            entry = _swarm_object(project, kind, key, declared or {})
            if entry:
                result[kind].append(entry)
    for service_name in sorted(project["services"]):
        result["services"].append(swarm_service(project, service_name, project["services"][service_name]))
    return result


def load_swarm_project(documents, **options):
    """Compose documents -> swarm_stack entries {'name', 'services', 'networks', 'secrets', 'configs'}
    (options: those of compose_project.load)."""
    return load(documents, swarm_entries, **options)
