# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of the container resource: desired state, comparison and the action list.

desired_container(params) validates and normalises module parameters; plan_container()
compares them with `docker inspect` documents and returns a Plan. Only options the user set
are compared, and values the image provides (env, labels, cmd, volumes, ports) never count as drift.
What an option is (its spec, docs, engine field, parser) is one row of container_options.TABLE;
here is only what the plan does with the rows.
"""

from __future__ import annotations

import re

# ARGUMENT_SPEC is re-exported: stack.py validates its containers entries with the container module's spec.
from ansible_collections.berth.engine.plugins.module_utils.container_options import (  # pylint: disable=unused-import
    ARGUMENT_SPEC,  # noqa: F401
    COLLECTION_OPTIONS,
    COMPARED_AS,
    OPTIONS,
    OPTIONS_BY_NAME,
    RECREATE,
    TABLE,
    UPDATE,
    compose_image_label,
    image_config,
    refuse_older_api,
    required_api_versions,
)
from ansible_collections.berth.engine.plugins.module_utils.container_values import (
    ANONYMOUS_VOLUME,
    actual_ports,
    image_reference,
    parse_networks,
    ports_equal,
    read_env_file,
    read_local_text,
)
from ansible_collections.berth.engine.plugins.module_utils.plan import Plan, as_text_map
from ansible_collections.berth.engine.plugins.module_utils.strict_input import check_container_input

RUNNING_STATES = ("started", "restarted", "healthy")
COMPARISON_MODES = ("strict", "ignore", "allow_more_present")

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
        key = COMPARED_AS.get(key, key)
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


def desired_container(params, read_text=read_local_text):
    """Validate the module parameters and return the desired state: {option: API value} + the rest.

    `read_text(path)` reads env_file on the managed host (unit tests pass their own).
    """
    if not params.get("name"):
        raise ValueError("name is required")
    params = check_container_input(params)
    params = dict(params, env=_desired_env(params, read_text))
    values = {}
    for option in OPTIONS:
        value = option.desire(params)
        if value is not None:
            values[option.name] = value
    _check_table_conflicts(params)
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
        "needs_api": required_api_versions(params),
    }


def _check_table_conflicts(params):
    for row in TABLE:
        for other in getattr(row, "conflicts", ()):
            if params.get(row.name) is not None and params.get(other) is not None:
                raise ValueError("%s and %s both set the same engine field; use one of them" % (row.name, other))


def check_api_version(desired, api_version):
    refuse_older_api("container %s" % desired["name"], desired.get("needs_api"), api_version)


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
            if m.get("Type") == "volume" and ANONYMOUS_VOLUME.match(m.get("Name") or "")
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
        if not option.key:
            continue  # not a field of the body: platform is a query parameter of the create call (create_params)
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
    return set(image_config(image).get("Volumes") or {})


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
    return image_config(image).get("Cmd") or []


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
        if option.partial:
            actual = {k: (actual or {}).get(k) for k in expected}
        else:
            expected, actual = _in_context(name, expected, actual, desired, container, image, network_mode_target,
                                           container_targets)
        same = _contains(name, expected, actual) if mode == "allow_more_present" else option.same(expected, actual)
        if not same:
            differences.append((name, actual, expected, option.mode))
    return differences


def _in_context(name, expected, actual, desired, container, image, network_mode_target, container_targets):
    """(expected, actual) of the options whose comparison depends on the image, the container or a target."""
    if name == "command" and not expected:
        expected = _expected_command(desired, image)
    elif name == "mounts":
        actual = _declared_mounts_only(expected, actual, image)
    elif name == "network_mode" and expected.startswith("container:") and network_mode_target:
        expected = "container:" + network_mode_target
    elif name in ("pid_mode", "ipc_mode") and (container_targets or {}).get(expected):
        expected = "container:" + container_targets[expected]
    elif name == "exposed_ports":
        # The image's EXPOSE and the published ports are exposed too: only the rest is the task's own.
        expected = sorted(set(expected) | set(image_config(image).get("ExposedPorts") or {})
                          | set(actual_ports(container)))
    return expected, actual


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

    recreate_reasons, updates = _differences(plan, desired, container, image, image_changed,
                                             compare_options(desired, container, image, network_mode_target,
                                                             container_targets))
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


def _differences(plan, desired, container, image, image_changed, differences):
    """(what makes a recreate, {option: value} that changes in place), each difference noted in the plan."""
    recreate_reasons, updates = [], {}
    image_id = (image or {}).get("Id")
    if image_changed or (image_id and container.get("Image") != image_id):
        recreate_reasons.append("image")
        plan.differ("image", container.get("Image"), image_id or "%s (to be pulled)" % desired["image"])
    for name, before, after, mode in differences:
        plan.differ(name, before, after)
        if mode == RECREATE:
            recreate_reasons.append(name)
        else:
            updates[name] = after
    return recreate_reasons, updates


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
    check_api_version(desired, state.get("api_version"))
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
