# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of the swarm service resource: desired settings, comparison, the new spec.

Only the options the task gives are compared and written: an update starts from the service's
current spec and replaces just those settings, so whatever else the service has (set by hand, by
`docker service update`, by another tool) stays as it is. Maps (labels, container labels, restart,
update and rollback config, resources) are compared by the keys given; lists (env, mounts, ports,
networks, secrets, configs, constraints) as a whole, in a canonical order.
"""

from __future__ import annotations

import copy

from ansible_collections.berth.engine.plugins.module_utils.container_options import (
    refuse_older_api,
    service_api_versions,
)
from ansible_collections.berth.engine.plugins.module_utils.plan import (
    Plan,
    as_text_map,
    parse_bytes,
    parse_duration,
)
from ansible_collections.berth.engine.plugins.module_utils.service_options import (
    CONTAINER_ARGUMENT_SPEC,
    CONTAINER_SETTINGS,
    MOUNT_SPEC,
    canonical_mounts,
    canonical_setting,
    env_with_files,
    parse_container_settings,
    parse_mounts,
    parse_octal_mode,
)
from ansible_collections.berth.engine.plugins.module_utils.strict_input import text_list, words

# Settings whose change replaces the tasks (a rolling update); the others (replicas, service labels,
# update/rollback config) apply without touching running tasks.
ROLLOUT_ROOTS = ("TaskTemplate", "EndpointSpec")
DEFAULT_SECRET_MODE = 0o444
FORCE_UPDATE = ("TaskTemplate", "ForceUpdate")


def _update_config(value, option, rollback=False):
    if value is None:
        return None
    actions = ("continue", "pause") if rollback else ("continue", "pause", "rollback")
    result = {}
    if value.get("parallelism") is not None:
        result["Parallelism"] = int(value["parallelism"])
    for key, field in (("delay", "Delay"), ("monitor", "Monitor")):
        if value.get(key) is not None:
            result[field] = parse_duration(value[key], "%s.%s" % (option, key))
    if value.get("failure_action") is not None:
        if value["failure_action"] not in actions:
            raise ValueError("%s.failure_action must be one of %s, got %r"
                             % (option, ", ".join(actions), value["failure_action"]))
        result["FailureAction"] = value["failure_action"]
    if value.get("max_failure_ratio") is not None:
        result["MaxFailureRatio"] = float(value["max_failure_ratio"])
    if value.get("order") is not None:
        result["Order"] = value["order"]
    return result


def _resources(value, option):
    if value is None:
        return None
    result = {}
    if value.get("cpus") is not None:
        result["NanoCPUs"] = int(float(value["cpus"]) * 1e9)
    if value.get("memory") is not None:
        result["MemoryBytes"] = parse_bytes(value["memory"], option + ".memory")
    return result


def _restart_policy(value):
    if value is None:
        return None
    result = {}
    if value.get("condition") is not None:
        result["Condition"] = value["condition"]
    for key, field in (("delay", "Delay"), ("window", "Window")):
        if value.get(key) is not None:
            result[field] = parse_duration(value[key], "restart_policy." + key)
    if value.get("max_attempts") is not None:
        result["MaxAttempts"] = int(value["max_attempts"])
    return result


def _ports(value):
    if value is None:
        return None
    result = []
    for index, port in enumerate(value):
        if not port.get("target"):
            raise ValueError("ports[%d].target (the container port) is required" % index)
        entry = {"Protocol": port.get("protocol") or "tcp", "TargetPort": int(port["target"]),
                 "PublishMode": port.get("publish_mode") or "ingress"}
        if port.get("published") is not None:
            entry["PublishedPort"] = int(port["published"])
        result.append(entry)
    return sorted(result, key=_port_key)


def _port_key(port):
    return (port.get("TargetPort", 0), port.get("Protocol") or "tcp", port.get("PublishedPort") or 0)


def _references(value, option, default_target):
    """secrets/configs entries by logical name; resolved to engine objects by the engine part."""
    if value is None:
        return None
    result = []
    for index, entry in enumerate(value):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not entry.get("name"):
            raise ValueError("%s[%d].name is required" % (option, index))
        mode = entry.get("mode")
        mode = None if mode is None else parse_octal_mode(mode, "%s[%d].mode" % (option, index))
        result.append({"name": entry["name"], "target": entry.get("target") or default_target(entry["name"]),
                       "uid": str(entry.get("uid") or "0"), "gid": str(entry.get("gid") or "0"),
                       "mode": DEFAULT_SECRET_MODE if mode is None else int(mode)})
    return result


def _networks(value):
    if value is None:
        return None
    result = []
    for index, entry in enumerate(value):
        if isinstance(entry, str):
            entry = {"name": entry}
        result.append({"name": entry["name"],
                       "aliases": sorted(text_list(entry.get("aliases") or [], "networks[%d].aliases" % index)),
                       "options": as_text_map(entry.get("options"), "networks[%d].options" % index) or {}})
    return result


MODES = {"replicated": "Replicated", "global": "Global", "replicated-job": "ReplicatedJob", "global-job": "GlobalJob"}
JOB_MODES = ("ReplicatedJob", "GlobalJob")


def _check_mode(params):
    mode = params.get("mode")
    if params.get("replicas") is not None and mode in ("global", "global-job"):
        raise ValueError("replicas is for mode: replicated or replicated-job; a %s service runs one task per node"
                         % mode)
    if params.get("replicas") is not None and int(params["replicas"]) < 0:
        raise ValueError("replicas must not be negative, got %r" % params["replicas"])
    if params.get("max_concurrent") is not None:
        if mode not in (None, "replicated-job"):
            raise ValueError("max_concurrent is for mode: replicated-job (tasks of the job run at once), not %s" % mode)
        if int(params["max_concurrent"]) < 1:
            raise ValueError("max_concurrent must be at least 1, got %r" % params["max_concurrent"])


def desired_service(params, read_text=None):
    """Validate the module parameters into {'name', 'state', settings given, wait options}.

    read_text(path) reads env_files on the managed host (unit tests pass their own).
    """
    name = params.get("name")
    if not name:
        raise ValueError("name is required")
    _check_mode(params)
    desired = {
        "name": name,
        "state": params.get("state") or "present",
        "image": params.get("image"),
        "mode": params.get("mode"),
        "replicas": params.get("replicas"),
        "max_concurrent": params.get("max_concurrent"),
        "command": words(params.get("command"), "command"),
        "args": words(params.get("args"), "args"),
        "env": env_with_files(params, read_text or _read_local_text),
        "labels": as_text_map(params.get("labels"), "labels"),
        "container_labels": as_text_map(params.get("container_labels"), "container_labels"),
        "mounts": parse_mounts(params.get("mounts")),
        "networks": _networks(params.get("networks")),
        "secrets": _references(params.get("secrets"), "secrets", lambda n: n),
        "configs": _references(params.get("configs"), "configs", lambda n: "/" + n),
        "limits": _resources(params.get("limits"), "limits"),
        "reservations": _resources(params.get("reservations"), "reservations"),
        "constraints": sorted(params["constraints"]) if params.get("constraints") is not None else None,
        "placement_preferences": _preferences(params.get("placement_preferences")),
        "container": parse_container_settings(params),
        "needs_api": service_api_versions(params),
        "restart_policy": _restart_policy(params.get("restart_policy")),
        "endpoint_mode": params.get("endpoint_mode"),
        "ports": _ports(params.get("ports")),
        "update_config": _update_config(params.get("update_config"), "update_config"),
        "rollback_config": _update_config(params.get("rollback_config"), "rollback_config", rollback=True),
        "force_update": bool(params.get("force_update")),
        "wait": params.get("wait", True) is not False,
        "wait_timeout": int(params.get("wait_timeout") or 300),
        "kernel_check": params.get("kernel_check") or "auto",
        "resolve_image": params.get("resolve_image", True) is not False,
        "with_registry_auth": bool(params.get("with_registry_auth")),
    }
    return desired


def _read_local_text(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _preferences(value):
    if value is None:
        return None
    result = []
    for index, entry in enumerate(value):
        if not entry.get("spread"):
            raise ValueError("placement_preferences[%d].spread (a node label such as node.labels.zone) is required"
                             % index)
        result.append({"Spread": {"SpreadDescriptor": entry["spread"]}})
    return result


# --- from settings to engine paths -----------------------------------------------------------------


def _reference_entries(references, resolved, kind):
    """Engine-shaped secret/config references; `resolved` maps logical name -> (id, engine name)."""
    id_key, name_key = ("SecretID", "SecretName") if kind == "secret" else ("ConfigID", "ConfigName")
    entries = []
    for ref in references:
        object_id, engine_name = resolved[ref["name"]]
        entries.append({"File": {"Name": ref["target"], "UID": ref["uid"], "GID": ref["gid"], "Mode": ref["mode"]},
                        id_key: object_id, name_key: engine_name})
    return sorted(entries, key=lambda e: (e["File"]["Name"], e[name_key]))


def settings(desired, state, current_spec):
    """[(option, path, value, how)]: what the task sets, as engine spec paths.

    how is "replace" (the value as a whole) or "keys" (only the keys of a map that the task gives).
    state carries what the engine part resolved: image reference, network IDs, secret/config versions.
    """
    cs = ("TaskTemplate", "ContainerSpec")
    found = []

    def put(option, path, value, how="replace"):
        if value is not None:
            found.append((option, path, value, how))

    put("image", cs + ("Image",), state.get("image") or desired["image"])
    put("mode", ("Mode",), _mode(desired, current_spec))
    put("command", cs + ("Command",), desired["command"])
    put("args", cs + ("Args",), desired["args"])
    if desired["env"] is not None:
        put("env", cs + ("Env",), sorted("%s=%s" % kv for kv in desired["env"].items()))
    put("labels", ("Labels",), desired["labels"], "keys")
    put("container_labels", cs + ("Labels",), desired["container_labels"], "keys")
    put("mounts", cs + ("Mounts",), desired["mounts"])
    for option, path, _parse in CONTAINER_SETTINGS:
        put(option, path, desired["container"].get(option))
    if desired["secrets"] is not None:
        put("secrets", cs + ("Secrets",), _reference_entries(desired["secrets"], state["secrets"], "secret"))
    if desired["configs"] is not None:
        put("configs", cs + ("Configs",), _reference_entries(desired["configs"], state["configs"], "config"))
    if desired["networks"] is not None:
        networks = []
        for net in desired["networks"]:
            entry = {"Target": state["networks"][net["name"]]["Id"]}
            if net["aliases"]:
                entry["Aliases"] = net["aliases"]
            if net["options"]:
                entry["DriverOpts"] = net["options"]
            networks.append(entry)
        put("networks", ("TaskTemplate", "Networks"), sorted(networks, key=lambda n: n["Target"]))
    put("limits", ("TaskTemplate", "Resources", "Limits"), desired["limits"], "keys")
    put("reservations", ("TaskTemplate", "Resources", "Reservations"), desired["reservations"], "keys")
    put("constraints", ("TaskTemplate", "Placement", "Constraints"), desired["constraints"])
    put("placement_preferences", ("TaskTemplate", "Placement", "Preferences"), desired["placement_preferences"])
    put("restart_policy", ("TaskTemplate", "RestartPolicy"), desired["restart_policy"], "keys")
    put("endpoint_mode", ("EndpointSpec", "Mode"), desired["endpoint_mode"])
    put("ports", ("EndpointSpec", "Ports"), desired["ports"])
    put("update_config", ("UpdateConfig",), desired["update_config"], "keys")
    put("rollback_config", ("RollbackConfig",), desired["rollback_config"], "keys")
    return found


def mode_kind(mode):
    """'Replicated', 'Global', 'ReplicatedJob' or 'GlobalJob': the key of a spec's Mode."""
    return next(iter(mode or {}), None)


def _mode(desired, current_spec):
    """The Mode the task asks for, from the current one for what it leaves out; None: leave it."""
    mode, replicas, concurrent = desired["mode"], desired["replicas"], desired["max_concurrent"]
    current_mode = (current_spec or {}).get("Mode") or {}
    current_kind = mode_kind(current_mode)
    if mode is None:
        if replicas is None and concurrent is None:
            return None if current_spec else {"Replicated": {"Replicas": 1}}
        kind = current_kind or "Replicated"
        if kind in ("Global", "GlobalJob"):
            raise ValueError("service %s runs in %s mode; replicas needs mode: replicated or replicated-job (which "
                             "changes the service to a fixed number of tasks)"
                             % (desired["name"], "global" if kind == "Global" else "global-job"))
    else:
        kind = MODES[mode]
    if kind in ("Global", "GlobalJob"):
        return {kind: {}}
    current = (current_mode.get(kind) or {}) if kind == current_kind else {}
    if kind == "Replicated":
        if concurrent is not None:
            raise ValueError("max_concurrent is for mode: replicated-job, service %s is replicated" % desired["name"])
        replicas = current.get("Replicas", 1) if replicas is None else replicas
        return {"Replicated": {"Replicas": int(replicas)}}
    total = current.get("TotalCompletions", 1) if replicas is None else int(replicas)
    # As `docker service create --mode replicated-job`: all tasks at once unless max_concurrent says otherwise.
    if concurrent is None:
        concurrent = current.get("MaxConcurrent", total) if replicas is None else total
    return {"ReplicatedJob": {"MaxConcurrent": int(concurrent), "TotalCompletions": total}}


def get_path(document, path):
    for part in path:
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document


def set_path(document, path, value):
    for part in path[:-1]:
        if not isinstance(document.get(part), dict):
            document[part] = {}
        document = document[part]
    document[path[-1]] = value


def _canonical(option, value, wanted):
    """The engine's value in the shape the task's value has, so equal means equal."""
    if value is None:
        return None
    if option == "image" and "@" not in wanted:
        return value.split("@", 1)[0]  # the tag the task gives matches whatever digest it was pinned to
    if option in ("env", "constraints"):
        return sorted(value)
    if option == "logging" and "Options" in wanted:
        return dict({"Options": {}}, **value)  # the engine leaves out empty options: `options: {}` stays unchanged
    if option == "networks":
        return sorted(({k: (sorted(v) if k == "Aliases" else v) for k, v in n.items()
                        if k in ("Target", "Aliases", "DriverOpts") and v}
                       for n in value), key=lambda n: n["Target"])
    if option == "mounts":
        return canonical_mounts(value)
    if option == "ports":
        return sorted(({k: v for k, v in p.items() if k != "Name"} for p in value), key=_port_key)
    if option in ("secrets", "configs"):
        name_key = "SecretName" if option == "secrets" else "ConfigName"
        return sorted(value, key=lambda e: ((e.get("File") or {}).get("Name"), e.get(name_key)))
    return canonical_setting(option, value)


def compare(found, current_spec):
    """[(option, path, engine value, declared value)] for every setting that differs."""
    differences = []
    for option, path, wanted, how in found:
        actual = get_path(current_spec, path)
        if how == "keys":
            actual = actual or {}
            # The engine leaves out zero values (omitempty): a missing key equals 0, false or "".
            subset = {k: actual.get(k, type(v)()) for k, v in wanted.items()}
            if subset != wanted:
                differences.append((option, path, {k: actual[k] for k in wanted if k in actual}, wanted))
        else:
            canonical = _canonical(option, actual, wanted)
            if canonical is None and (not wanted or (option == "endpoint_mode" and wanted == "vip")):
                continue  # left out by the engine: empty, or its default
            if canonical != wanted:
                differences.append((option, path, canonical, wanted))
    return differences


def new_spec(current_spec, found, name):
    """The current spec with the task's settings written over it (maps merged by key)."""
    spec = copy.deepcopy(current_spec) if current_spec else {"Name": name, "TaskTemplate": {"ContainerSpec": {}}}
    for _option, path, value, how in found:
        if how == "keys":
            merged = dict(get_path(spec, path) or {})
            merged.update(value)
            value = merged
        set_path(spec, path, copy.deepcopy(value))
    return spec


# --- kernel features the spec needs ------------------------------------------------------------------


def kernel_needs(spec, networks):
    """[(feature, why)] the spec needs from every node's kernel: ip_vs for VIPs and ingress, esp for encryption."""
    needs = []
    endpoint = spec.get("EndpointSpec") or {}
    ports = endpoint.get("Ports") or []
    ingress = [p for p in ports if (p.get("PublishMode") or "ingress") == "ingress"]
    if ingress:
        needs.append(("ip_vs", "port(s) %s published in ingress mode (the routing mesh)"
                      % ", ".join(str(p.get("PublishedPort") or p.get("TargetPort")) for p in ingress)))
    attached = (spec.get("TaskTemplate") or {}).get("Networks") or []
    if (endpoint.get("Mode") or "vip") == "vip" and (attached or ports):
        needs.append(("ip_vs", "endpoint_mode vip (a virtual IP load-balanced by IPVS)"))
    for network in networks.values():
        if "encrypted" in (network.get("Options") or {}):
            needs.append(("esp", "network %s is an encrypted overlay (IPsec ESP)" % network.get("Name")))
    return needs


def kernel_refusal(what, needs, kernel):
    """The message refusing a spec whose needs the nodes' kernels lack, or None."""
    missing = [(feature, why) for feature, why in needs if kernel.get(feature) is False]
    if not missing:
        return None
    features = sorted({f for f, _unused in missing})
    return ("%s needs kernel feature(s) %s, which %s: %s. The engine would accept this spec, report every task "
            "running and serve nothing, so nothing was changed. Use endpoint_mode: dnsrr with ports in "
            "publish_mode: host (and overlay networks without encrypted), or run nodes whose kernel has %s "
            "(CONFIG_IP_VS, CONFIG_INET_ESP). If you know better, set kernel_check: skip."
            % (what, ", ".join(features), kernel.get("source") or "the nodes lack",
               "; ".join(why for _unused, why in missing), " and ".join(features)))


# --- the plan ------------------------------------------------------------------------------------------


def plan_service(desired, state):
    """The actions that take the service in state['current'] (inspect document or None) to `desired`."""
    name = desired["name"]
    current = state.get("current")
    plan = Plan("service", name)
    if desired["state"] == "absent":
        if current is not None:
            plan.add("remove", id=current["ID"])
            plan.differ("state", "present", "absent")
        return plan
    # an older engine would drop the option without a word (the spec it stores lacks it)
    refuse_older_api("service %s" % name, desired.get("needs_api"), state.get("api_version"))
    current_spec = current["Spec"] if current else None
    if current is None and not desired["image"]:
        raise ValueError("service %s does not exist: image is required to create it" % name)
    found = settings(desired, state, current_spec)
    spec = new_spec(current_spec, found, name)
    if desired["kernel_check"] != "skip":
        refusal = kernel_refusal("service %s" % name, kernel_needs(spec, state.get("networks") or {}),
                                 state.get("kernel") or {})
        if refusal:
            raise ValueError(refusal)
    endpoint = spec.get("EndpointSpec") or {}
    if endpoint.get("Mode") == "dnsrr" and any((p.get("PublishMode") or "ingress") == "ingress"
                                               for p in endpoint.get("Ports") or []):
        raise ValueError("service %s: ports in ingress mode need endpoint_mode vip; with endpoint_mode dnsrr give "
                         "the ports publish_mode: host" % name)
    if current is None:
        plan.add("create", spec=spec, rollout=True)
        plan.differ("state", "absent", "present")
        for option, _path, value, _how in found:
            plan.after[option] = value
        return plan
    differences = compare(found, current_spec)
    if desired["force_update"]:
        forced = int(get_path(current_spec, FORCE_UPDATE) or 0) + 1
        set_path(spec, FORCE_UPDATE, forced)
        differences.append(("force_update", FORCE_UPDATE, forced - 1, forced))
    if not differences:
        return plan
    for option, _path, before, after in differences:
        plan.differ(option, before, after)
    reasons = [d[0] for d in differences]
    if mode_kind(spec.get("Mode")) != mode_kind(current_spec.get("Mode")):
        # The engine refuses to change a service's mode in place: the service is removed and created
        # again from the same spec (published ports, secrets, networks and all) in the new mode.
        plan.add("recreate", id=current["ID"], spec=spec, previous=current_spec, reasons=reasons)
        return plan
    replaces_tasks = any(path[0] in ROLLOUT_ROOTS for _o, path, _b, _a in differences)
    rollout = replaces_tasks or mode_kind(spec.get("Mode")) in JOB_MODES  # any update runs a job again
    plan.add("update", id=current["ID"], version=current["Version"]["Index"], spec=spec, rollout=rollout,
             reasons=reasons)
    return plan


# --- convergence of tasks ------------------------------------------------------------------------------


def _timestamp(text):
    """An engine RFC 3339 time ('...T10:21:06.2568Z', fraction of any length) as a comparable tuple."""
    text = (text or "").rstrip("Z")
    whole, _unused, fraction = text.partition(".")
    return whole, int((fraction + "000000000")[:9])


def tasks_converged(service, tasks, since=None):
    """Every task the engine wants running runs, as many as the mode asks; with `since`, all created since then."""
    active = [t for t in tasks if t.get("DesiredState") == "running"]
    if since is not None and any(_timestamp(t.get("CreatedAt")) < _timestamp(since) for t in active):
        return False
    if any((t.get("Status") or {}).get("State") != "running" for t in active):
        return False
    mode = (service.get("Spec") or {}).get("Mode") or {}
    if "Replicated" in mode:
        return len(active) == int((mode["Replicated"] or {}).get("Replicas") or 0)
    return bool(active)


def task_errors(tasks, limit=5):
    """The newest task failures as one line: 'task 1 (failed): starting container failed: ...'."""
    failures = []
    for task in sorted(tasks, key=lambda t: _timestamp(t.get("UpdatedAt")), reverse=True):
        status = task.get("Status") or {}
        if status.get("Err") or status.get("State") in ("failed", "rejected"):
            failures.append("task %s (%s): %s" % (task.get("Slot") or task.get("NodeID", "?")[:12], status.get("State"),
                                                  status.get("Err") or status.get("Message") or "?"))
    return "; ".join(failures[:limit]) or "none reported"


def _iteration(job_iteration):
    return int((job_iteration or {}).get("Index") or 0)


def job_run(service, tasks):
    """The tasks of the job's current run (an update runs a job again, as a new iteration)."""
    iteration = _iteration((service.get("JobStatus") or {}).get("JobIteration"))
    return [t for t in tasks if _iteration(t.get("JobIteration")) == iteration]


def job_outcome(service, tasks):
    """('complete'|'failed'|'running', tasks): how the job's current run stands.

    A run fails once one of its tasks (one slot, or one node of a global job) failed more often than
    restart_policy.max_attempts allows: the engine would start it again and again.
    """
    spec = service.get("Spec") or {}
    mine = job_run(service, tasks)
    failed = [t for t in mine if (t.get("Status") or {}).get("State") in ("failed", "rejected")]
    attempts = int(((spec.get("TaskTemplate") or {}).get("RestartPolicy") or {}).get("MaxAttempts") or 0)
    mode = spec.get("Mode") or {}
    place = (lambda t: t.get("Slot") or 0) if "ReplicatedJob" in mode else (lambda t: t.get("NodeID"))
    per_place = {}
    for task in failed:
        per_place[place(task)] = per_place.get(place(task), 0) + 1
    if per_place and max(per_place.values()) > attempts:
        return "failed", failed
    done = [t for t in mine if (t.get("Status") or {}).get("State") == "complete"]
    if "ReplicatedJob" in mode:
        complete = len(done) >= int((mode["ReplicatedJob"] or {}).get("TotalCompletions") or 1)
    else:
        complete = bool(mine) and {t.get("NodeID") for t in done} == {t.get("NodeID") for t in mine}
    return ("complete" if complete else "running"), done


def job_failure(name, failed, nodes):
    """'job X failed: task X.1 on node n1: task: non-zero exit (3)'; nodes maps node IDs to hostnames."""
    lines = []
    for task in sorted(failed, key=lambda t: _timestamp(t.get("UpdatedAt")), reverse=True)[:5]:
        status = task.get("Status") or {}
        node = task.get("NodeID") or "?"
        # Named as `docker service ps` names it: service.slot, or service.node for a global task (and slot 0).
        lines.append("task %s.%s (%s) on node %s: %s" % (
            name, task.get("Slot") or node, task.get("ID", "?")[:12], nodes.get(node, node),
            status.get("Err") or status.get("Message") or "?"))
    return "job %s failed: %s" % (name, "; ".join(lines))


_UPDATE_OPTIONS = dict(
    parallelism=dict(type="int"),
    delay=dict(type="raw"),
    failure_action=dict(type="str", choices=["continue", "pause", "rollback"]),
    monitor=dict(type="raw"),
    max_failure_ratio=dict(type="float"),
    order=dict(type="str", choices=["stop-first", "start-first"]),
)
_REFERENCE_OPTIONS = dict(
    name=dict(type="str", required=True),
    target=dict(type="str"),
    uid=dict(type="str"),
    gid=dict(type="str"),
    mode=dict(type="raw"),
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    image=dict(type="str"),
    resolve_image=dict(type="bool", default=True),
    with_registry_auth=dict(type="bool", default=False),
    mode=dict(type="str", choices=["replicated", "global", "replicated-job", "global-job"]),
    replicas=dict(type="int"),
    max_concurrent=dict(type="int"),
    # raw, so a YAML boolean reaches the module and is refused rather than written as "True"
    command=dict(type="raw"),
    args=dict(type="raw"),
    env=dict(type="dict"),
    labels=dict(type="dict"),
    container_labels=dict(type="dict"),
    mounts=dict(type="list", elements="dict", options=MOUNT_SPEC),
    networks=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        aliases=dict(type="list", elements="raw"),
        options=dict(type="dict"),
    )),
    # References by name and target, never values: no_log=False says so to validate-modules.
    secrets=dict(type="list", elements="dict", options=_REFERENCE_OPTIONS, no_log=False),
    configs=dict(type="list", elements="dict", options=_REFERENCE_OPTIONS),
    limits=dict(type="dict", options=dict(cpus=dict(type="float"), memory=dict(type="str"))),
    reservations=dict(type="dict", options=dict(cpus=dict(type="float"), memory=dict(type="str"))),
    constraints=dict(type="list", elements="str"),
    placement_preferences=dict(type="list", elements="dict", options=dict(spread=dict(type="str", required=True))),
    healthcheck=dict(type="dict", options=dict(
        test=dict(type="raw"),
        interval=dict(type="raw"),
        timeout=dict(type="raw"),
        retries=dict(type="int"),
        start_period=dict(type="raw"),
        disable=dict(type="bool", default=False),
    )),
    restart_policy=dict(type="dict", options=dict(
        condition=dict(type="str", choices=["none", "on-failure", "any"]),
        delay=dict(type="raw"),
        max_attempts=dict(type="int"),
        window=dict(type="raw"),
    )),
    endpoint_mode=dict(type="str", choices=["vip", "dnsrr"]),
    ports=dict(type="list", elements="dict", options=dict(
        target=dict(type="int", required=True),
        published=dict(type="int"),
        protocol=dict(type="str", default="tcp", choices=["tcp", "udp", "sctp"]),
        publish_mode=dict(type="str", default="ingress", choices=["ingress", "host"]),
    )),
    update_config=dict(type="dict", options=_UPDATE_OPTIONS),
    rollback_config=dict(type="dict", options=dict(_UPDATE_OPTIONS, failure_action=dict(
        type="str", choices=["continue", "pause"]))),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
    kernel_check=dict(type="str", default="auto", choices=["auto", "skip"]),
    **CONTAINER_ARGUMENT_SPEC
)
