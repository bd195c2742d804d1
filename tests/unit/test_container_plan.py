"""The pure container plan: parsing, comparison rules and action lists, without a daemon."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.berth.engine.plugins.module_utils.container_plan import (
    carried_volumes,
    create_body,
    desired_container,
    plan_container,
    plan_from_state,
    update_body,
)
from ansible_collections.berth.engine.plugins.module_utils.container_values import parse_gpus, parse_mounts, parse_ports

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name):
    """Inspect documents captured from a real engine (see the fixture names for what they hold)."""
    return json.loads((FIXTURES / name).read_text())


IMAGE = {
    "Id": "sha256:img1",
    "Config": {"Env": ["PATH=/bin", "FROM_IMAGE=1"], "Labels": {"image.label": "yes"},
               "Cmd": ["sleep", "3600"], "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/data": {}}},
}


def params(**overrides):
    base = {"name": "web", "image": "app", "state": "started"}
    base.update(overrides)
    return base


def container_from(desired, image=None, running=True):
    """An inspect document like the engine would return for a container created from `desired`."""
    image = IMAGE if image is None else image
    body = create_body(desired)
    config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
    env = dict(e.split("=", 1) for e in image["Config"]["Env"])
    env.update(dict(e.split("=", 1) for e in config.get("Env", [])))
    config["Env"] = ["%s=%s" % kv for kv in env.items()]
    config["Labels"] = dict(image["Config"]["Labels"], **config.get("Labels", {}))
    config.setdefault("Cmd", image["Config"]["Cmd"])
    host = body["HostConfig"]
    host.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    networks = {}
    for name, endpoint in (body.get("NetworkingConfig") or {}).get("EndpointsConfig", {}).items():
        networks[name] = {"Aliases": ["abcdef123456"] + endpoint.get("Aliases", []),
                          "IPAMConfig": endpoint.get("IPAMConfig")}
    for net in (desired["networks"] or [])[1:]:
        networks[net["name"]] = {"Aliases": list(net["aliases"]),
                                 "IPAMConfig": {"IPv4Address": net["ipv4_address"]} if net["ipv4_address"] else None}
    return {"Id": "abcdef1234567890", "Image": image["Id"], "Config": config, "HostConfig": host,
            "NetworkSettings": {"Networks": networks or {"bridge": {"Aliases": None}}},
            "State": {"Status": "running" if running else "exited", "Running": running}}


def test_ports_forms():
    assert parse_ports(["80"]) == {"80/tcp": [["", ""]]}
    assert parse_ports(["18080:8080"]) == {"8080/tcp": [["", "18080"]]}
    assert parse_ports(["127.0.0.1:8080:80/udp"]) == {"80/udp": [["127.0.0.1", "8080"]]}
    assert parse_ports(["8000-8001:80-81"]) == {"80/tcp": [["", "8000"]], "81/tcp": [["", "8001"]]}
    assert parse_ports(["[::1]:9000:90"]) == {"90/tcp": [["::1", "9000"]]}
    assert parse_ports(["127.0.0.1::53/udp"]) == {"53/udp": [["127.0.0.1", ""]]}


@pytest.mark.parametrize("bad", ["abc", "80/xyz", "0:80", "1-3:80-81", "70000", "127.0.0.1:8080:80:1",
                                 "300.1.1.1:80:80"])
def test_malformed_ports_are_rejected_with_the_entry(bad):
    with pytest.raises(ValueError, match="ports entry"):
        parse_ports([bad])


def test_volumes_short_form_becomes_mounts():
    mounts = parse_mounts(None, ["/srv:/srv:ro", "data:/data", "/cache"])
    assert mounts == [
        {"type": "volume", "source": "", "target": "/cache", "read_only": False},
        {"type": "volume", "source": "data", "target": "/data", "read_only": False},
        {"type": "bind", "source": "/srv", "target": "/srv", "read_only": True},
    ]
    with pytest.raises(ValueError, match="more than one mount targets /data"):
        parse_mounts([{"type": "volume", "source": "x", "target": "/data"}], ["y:/data"])


@pytest.mark.parametrize("overrides, message", [
    ({"memory": "-1m"}, "memory must not be negative"),
    ({"memory": "lots"}, "memory must be a size"),
    ({"memory": "64m", "memory_reservation": "128m"}, "memory_reservation"),
    ({"network_mode": "host", "ports": ["80"]}, "network_mode host"),
    ({"network_mode": "host", "networks": [{"name": "x"}]}, "network_mode host"),
    ({"restart_policy": "always", "restart_retries": 3}, "restart_retries"),
    ({"healthcheck": {"interval": "soon"}}, "healthcheck.interval"),
    ({"cpus": -1}, "cpus must not be negative"),
])
def test_bad_inputs_fail_with_a_message(overrides, message):
    with pytest.raises(ValueError, match=message):
        desired_container(params(**overrides))


def test_missing_container_is_created_and_started():
    plan = plan_container(desired_container(params()), None, IMAGE)
    assert plan.action_names() == ["create", "start"]
    assert plan.diff()["before"] == {"state": "absent"}
    assert plan.diff()["after"] == {"state": "running"}


def test_present_creates_without_starting_and_stopped_too():
    assert plan_container(desired_container(params(state="present")), None, IMAGE).action_names() == ["create"]
    assert plan_container(desired_container(params(state="stopped")), None, IMAGE).action_names() == ["create"]


def test_unchanged_container_needs_nothing_even_with_image_defaults():
    desired = desired_container(params(env={"A": 1}, labels={"l": "v"}, ports=["127.0.0.1:8080:8080"],
                                       memory="64m", restart_policy="unless-stopped",
                                       volumes=["data:/var/lib/app"], cap_add=["net_admin"]))
    container = container_from(desired)
    # The engine stores capabilities with the CAP_ prefix; that is not a difference.
    container["HostConfig"]["CapAdd"] = ["CAP_NET_ADMIN"]
    plan = plan_container(desired, container, IMAGE)
    assert plan.actions == []
    assert not plan.changed


def test_env_from_image_and_removed_user_env():
    desired = desired_container(params(env={"A": "1", "B": "2"}))
    container = container_from(desired)
    smaller = desired_container(params(env={"A": "1"}))
    plan = plan_container(smaller, container, IMAGE)
    assert plan.action_names() == ["recreate"]
    assert plan.before["env"]["B"] == "2" and "B" not in plan.after["env"]
    assert plan.after["env"]["FROM_IMAGE"] == "1"


def test_limits_and_restart_policy_update_in_place():
    container = container_from(desired_container(params(memory="64m", restart_policy="no")))
    desired = desired_container(params(memory="128m", restart_policy="always", cpus=0.5))
    plan = plan_container(desired, container, IMAGE)
    assert plan.action_names() == ["update"]
    body = update_body(desired)
    assert body["Memory"] == 128 * 1024 * 1024
    assert body["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
    assert body["NanoCpus"] == 500000000


def test_new_image_recreates_and_keeps_running():
    container = container_from(desired_container(params()))
    new_image = dict(IMAGE, Id="sha256:img2")
    plan = plan_container(desired_container(params()), container, new_image)
    assert plan.action_names() == ["recreate"]
    assert plan.actions[0]["start"] is True
    assert plan.before["image"] == "sha256:img1" and plan.after["image"] == "sha256:img2"


def test_recreate_never_warns_instead():
    container = container_from(desired_container(params(env={"A": "1"})))
    plan = plan_container(desired_container(params(env={"A": "2"}, recreate="never")), container, IMAGE)
    assert plan.actions == []
    assert "recreate=never" in plan.warnings[0]


def test_state_transitions():
    running = container_from(desired_container(params()))
    stopped = container_from(desired_container(params()), running=False)
    assert plan_container(desired_container(params(state="stopped")), running, IMAGE).action_names() == ["stop"]
    assert plan_container(desired_container(params()), stopped, IMAGE).action_names() == ["start"]
    assert plan_container(desired_container(params(state="present")), stopped, IMAGE).actions == []
    assert plan_container(desired_container(params(state="restarted")), running, IMAGE).action_names() == ["restart"]
    assert plan_container(desired_container(params(state="absent")), running, IMAGE).action_names() == ["remove"]
    assert plan_container(desired_container(params(state="absent")), None, None).actions == []


def test_healthy_waits_but_an_already_healthy_container_is_no_change():
    container = container_from(desired_container(params()))
    container["State"]["Health"] = {"Status": "healthy"}
    assert plan_container(desired_container(params(state="healthy")), container, IMAGE).actions == []
    container["State"]["Health"] = {"Status": "starting"}
    plan = plan_container(desired_container(params(state="healthy")), container, IMAGE)
    assert plan.action_names() == ["wait_healthy"] and not plan.changed


def test_networks_connect_reconnect_and_disconnect_in_place():
    desired = desired_container(params(networks=[{"name": "front", "aliases": ["web"]},
                                                 {"name": "back", "ipv4_address": "10.5.0.5"}]))
    container = container_from(desired)
    assert plan_container(desired, container, IMAGE).actions == []
    moved = copy.deepcopy(container)
    moved["NetworkSettings"]["Networks"]["back"]["IPAMConfig"] = {"IPv4Address": "10.5.0.9"}
    moved["NetworkSettings"]["Networks"]["old"] = {"Aliases": None}
    del moved["NetworkSettings"]["Networks"]["front"]
    names = [(a["action"], a["network"]) for a in plan_container(desired, moved, IMAGE).actions]
    assert names == [("connect", "front"), ("disconnect", "back"), ("connect", "back"), ("disconnect", "old")]


def test_create_body_first_network_in_create_rest_connected_later():
    desired = desired_container(params(networks=[{"name": "a", "ipv4_address": "10.0.0.2"}, {"name": "b"}],
                                       healthcheck={"test": "true", "interval": "2s"}))
    body = create_body(desired)
    assert body["HostConfig"]["NetworkMode"] == "a"
    assert list(body["NetworkingConfig"]["EndpointsConfig"]) == ["a"]
    assert body["NetworkingConfig"]["EndpointsConfig"]["a"]["IPAMConfig"] == {"IPv4Address": "10.0.0.2"}
    assert body["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 2 * 10 ** 9}


def test_healthcheck_compares_only_what_was_set():
    desired = desired_container(params(healthcheck={"interval": "5s"}))
    container = container_from(desired)
    container["Config"]["Healthcheck"] = {"Test": ["CMD", "probe"], "Interval": 5 * 10 ** 9, "Retries": 3}
    assert plan_container(desired, container, IMAGE).actions == []


def test_carried_anonymous_volumes_are_not_drift():
    anonymous = "a" * 64
    desired = desired_container(params(volumes=["/cache", "named:/named"]))
    body = create_body(desired, carried={"/data": anonymous, "/cache": "b" * 64})
    mounts = {m["Target"]: m.get("Source") for m in body["HostConfig"]["Mounts"]}
    assert mounts == {"/data": anonymous, "/cache": "b" * 64, "/named": "named"}
    container = container_from(desired)
    container["HostConfig"]["Mounts"] = body["HostConfig"]["Mounts"]
    assert plan_container(desired, container, IMAGE).actions == []


# --- documents captured from the engine ---------------------------------------------------------
# container_web.json: berth-test/busybox created with log max-size=5m (the daemon adds max-file=3),
# ports 127.0.0.1:8000-8010:8080 (bound 8002), an anonymous volume at /cache (the image has VOLUME /data).
# container_network_mode.json: network_mode container:<ID of that container>.

def web_params(**overrides):
    base = dict(image="berth-test/busybox", ports=["127.0.0.1:8000-8010:8080"], volumes=["/cache"],
                log_options={"max-size": "5m"}, stop_signal="TERM")
    base.update(overrides)
    return params(**base)


def test_log_options_compare_only_the_keys_set_against_effective_values():
    web, image = fixture("container_web.json"), fixture("container_image.json")
    assert web["HostConfig"]["LogConfig"]["Config"] == {"max-file": "3", "max-size": "5m"}
    assert plan_container(desired_container(web_params()), web, image).actions == []
    plan = plan_container(desired_container(web_params(log_options={"max-size": "6m"})), web, image)
    assert plan.action_names() == ["recreate"]
    assert plan.before["log_options"] == {"max-size": "5m"} and plan.after["log_options"] == {"max-size": "6m"}


def test_host_port_range_to_one_port_is_accepted_and_the_bound_port_counts():
    assert parse_ports(["127.0.0.1:8000-8010:80"]) == {"80/tcp": [["127.0.0.1", "8000-8010"]]}
    body = create_body(desired_container(params(ports=["127.0.0.1:8000-8010:80"])))
    assert body["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000-8010"}]}
    web, image = fixture("container_web.json"), fixture("container_image.json")
    assert plan_container(desired_container(web_params()), web, image).actions == []
    concrete = copy.deepcopy(web)  # as if created with the one port the engine picked
    concrete["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"] = "8002"
    assert plan_container(desired_container(web_params()), concrete, image).actions == []
    outside = desired_container(web_params(ports=["127.0.0.1:9000-9010:8080"]))
    assert plan_container(outside, concrete, image).action_names() == ["recreate"]


def test_network_mode_container_name_resolves_to_the_stored_id():
    side, image = fixture("container_network_mode.json"), fixture("container_image.json")
    target = side["HostConfig"]["NetworkMode"].split(":", 1)[1]
    desired = desired_container(params(image="berth-test/busybox", network_mode="container:web", state="present"))
    assert plan_container(desired, side, image, network_mode_target=target).actions == []
    assert plan_container(desired, side, image, network_mode_target="f" * 64).action_names() == ["recreate"]
    state = {"current": None, "image": image, "network_mode_target": None}
    with pytest.raises(ValueError, match="network_mode container:web names a container that does not exist"):
        plan_from_state(desired, state)


def test_empty_networks_keep_the_default_bridge_and_drop_user_networks():
    web, image = fixture("container_web.json"), fixture("container_image.json")
    assert list(web["NetworkSettings"]["Networks"]) == ["bridge"]
    desired = desired_container(web_params(networks=[]))
    assert plan_from_state(desired, {"current": None, "image": image}).action_names() == ["create", "start"]
    assert "NetworkingConfig" not in create_body(desired)
    assert plan_container(desired, web, image).actions == []
    joined = copy.deepcopy(web)
    joined["NetworkSettings"]["Networks"]["extra"] = {"Aliases": None}
    assert [(a["action"], a["network"]) for a in plan_container(desired, joined, image).actions] == [
        ("disconnect", "extra")]


def test_empty_command_means_the_image_command():
    web, image = fixture("container_web.json"), fixture("container_image.json")
    assert plan_container(desired_container(web_params(command=[])), web, image).actions == []
    assert plan_container(desired_container(web_params(command=["true"])), web, image).action_names() == [
        "recreate"]


def test_anonymous_volume_removed_from_the_task_recreates_without_it():
    web, image = fixture("container_web.json"), fixture("container_image.json")
    assert plan_container(desired_container(web_params(volumes=["/cache"])), web, image).actions == []
    dropped = desired_container(web_params(volumes=[]))
    plan = plan_from_state(dropped, {"current": web, "image": image})
    assert plan.action_names() == ["recreate"] and plan.before["mounts"][0]["target"] == "/cache"
    carried = {m["Target"]: m.get("Source") for m in plan.actions[0]["body"]["HostConfig"]["Mounts"]}
    assert list(carried) == ["/data"], "the image's VOLUME is carried, the dropped /cache is not"
    everything = carried_volumes(web)
    assert sorted(everything) == ["/cache", "/data"], "without mounts in the task all are carried, as before"


def test_image_is_needed_only_to_create():
    web, image = fixture("container_web.json"), fixture("container_image.json")
    for state in ("started", "present", "healthy", "restarted", "stopped"):
        with pytest.raises(ValueError, match="container web does not exist and image is not set"):
            plan_container(desired_container(params(image=None, state=state)), None, None)
    assert plan_container(desired_container(params(image=None, state="absent")), None, None).actions == []
    assert plan_container(desired_container(params(image=None, state="stopped")), web, image).action_names() == [
        "stop"]
    recreate = plan_from_state(desired_container(params(image=None, env={"NEW": "1"})),
                               {"current": web, "image": image})
    assert recreate.action_names() == ["recreate"]
    assert recreate.actions[0]["body"]["Image"] == web["Image"], "a recreate keeps the image it runs"


def test_plan_from_state_adds_the_pull_and_checks_networks():
    image = fixture("container_image.json")
    desired = desired_container(params(networks=[{"name": "front"}, {"name": "back", "aliases": ["b"]}]))
    with pytest.raises(ValueError, match="network back does not exist"):
        plan_from_state(desired, {"current": None, "image": image, "networks": {"front": True}})
    plan = plan_from_state(desired, {"current": None, "image": None, "pull": "predicted",
                                     "networks": {"front": True, "back": True}})
    assert plan.action_names() == ["pull", "create", "start"]
    assert plan.actions[1]["connect"] == [("back", {"Aliases": ["b"]})]
    assert plan.actions[1]["body"]["HostConfig"]["NetworkMode"] == "front"


# --- finishing a recreate a crash interrupted (container_recovery.py) -----------------------------

def _crash_leftovers(new_state=None, new_health=None):
    """(old container renamed aside, new container or None) shaped like a real engine's inspect."""
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import aside_name

    base = fixture("container_web.json")
    old = copy.deepcopy(base)
    old["Id"] = "a" * 64
    old["Name"] = "/" + aside_name("web", old["Id"])
    old["State"].update(Running=False, Status="exited", Pid=0, FinishedAt="2026-12-01T10:22:00Z")
    if new_state is None:
        return old, None
    new = copy.deepcopy(base)
    new["Id"], new["Name"], new["Created"] = "b" * 64, "/web", "2026-12-01T10:22:01Z"
    new["State"].update(Running=new_state == "running", Status=new_state)
    if new_state == "created":
        new["State"]["StartedAt"] = "0001-01-01T00:00:00Z"
    if new_health:
        new["State"]["Health"] = {"Status": new_health, "FailingStreak": 0, "Log": []}
    return old, new


def test_aside_marker_is_the_containers_own_id():
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import aside_name, aside_of

    old, _unused = _crash_leftovers()
    assert aside_of(old) == "web"
    assert aside_of({"Id": old["Id"], "Names": ["/" + aside_name("my_berth_old_app", old["Id"])]}) == \
        "my_berth_old_app"
    assert aside_of(dict(old, Id="c" * 64)) is None, "a name embedding another container's ID is not ours"
    assert aside_of({"Id": "a" * 64, "Names": ["/web_berth_old_"]}) is None
    assert aside_of(fixture("container_web.json")) is None


def test_recovery_keeps_a_running_replacement_and_removes_the_old_one():
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import plan_recovery

    old, new = _crash_leftovers("running")
    actions, effective, warnings = plan_recovery(desired_container(params()), new, [old])
    assert [(a["action"], a["verdict"], a["remove"]) for a in actions] == [("recover", "keep", [old["Id"]])]
    assert actions[0]["restorable"], "a stack that rolls back as a whole may keep it aside and restore it"
    assert effective is new
    assert "interrupted" in warnings[0] and "web" in warnings[0]
    dead = dict(old, State=dict(old["State"], Status="dead", Dead=True))
    assert not plan_recovery(desired_container(params()), new, [dead])[0][0]["restorable"]


@pytest.mark.parametrize("new_state", [None, "created", "exited"])
def test_recovery_puts_the_old_container_back_when_the_new_one_does_not_run(new_state):
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import plan_recovery

    old, new = _crash_leftovers(new_state)
    actions, effective, _unused = plan_recovery(desired_container(params()), new, [old])
    assert actions[0]["verdict"] == "restore" and actions[0]["aside"] == old["Id"]
    assert actions[0]["new"] == (new["Id"] if new else None) and actions[0]["start"] is True
    assert effective["Id"] == old["Id"] and effective["Name"] == "/web" and effective["State"]["Running"]


def test_recovery_with_health_waits_for_a_starting_replacement_and_rejects_an_unhealthy_one():
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import plan_recovery

    desired = desired_container(params(state="healthy"))
    for health, verdict in (("healthy", "keep"), ("starting", "confirm"), ("unhealthy", "restore")):
        old, new = _crash_leftovers("running", health)
        actions, _unused, _unused = plan_recovery(desired, new, [old])
        assert actions[0]["verdict"] == verdict, health


def test_recovery_for_a_stopped_task_keeps_an_existing_replacement_and_never_starts_the_old_one():
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import plan_recovery

    old, new = _crash_leftovers("created")
    assert plan_recovery(desired_container(params(state="stopped")), new, [old])[0][0]["verdict"] == "keep"
    actions, effective, _unused = plan_recovery(desired_container(params(state="stopped")), None, [old])
    assert actions[0]["verdict"] == "restore" and actions[0]["start"] is False
    assert not effective["State"]["Running"]


def test_recovery_restores_the_newest_of_several_leftovers_and_nothing_without_any():
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import plan_recovery

    old, _unused = _crash_leftovers()
    older = dict(copy.deepcopy(old), Id="c" * 64, Created="2026-11-30T00:00:00Z")
    actions, effective, _unused = plan_recovery(desired_container(params()), None, [old, older])
    assert actions[0]["aside"] == old["Id"] and actions[0]["remove"] == [older["Id"]]
    assert effective["Id"] == old["Id"]
    web = fixture("container_web.json")
    assert plan_recovery(desired_container(params()), web, []) == ([], web, [])


def test_resource_plan_recovers_first_then_recreates_the_restored_container():
    """One plan: finish the interrupted step, then converge from what it leaves (here: a recreate)."""
    from ansible_collections.berth.engine.plugins.module_utils.container_resource import ContainerResource

    old, _unused = _crash_leftovers()
    image = fixture("container_image.json")
    resource = ContainerResource(None, params(image="berth-test/busybox", env={"CHANGED": "1"}))
    state = {"current": None, "image": image, "pull": None, "networks": {}, "network_mode_target": None,
             "asides": [old]}
    plan = resource.plan(state)
    assert plan.action_names() == ["recover", "recreate"]
    assert plan.actions[1]["id"] == old["Id"]
    assert plan.warnings and "interrupted" in plan.warnings[0]
    state["asides"] = []
    assert resource.plan(state).action_names() == ["create", "start"], "without leftovers: a plain create"


def test_a_start_of_a_never_started_container_carries_its_create_document():
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import is_stale_task_error
    from ansible_collections.berth.engine.plugins.module_utils.container_resource import ContainerResource

    _unused, created = _crash_leftovers("created")
    created["State"]["Running"] = False
    image = fixture("container_image.json")
    created["Image"] = image["Id"]
    resource = ContainerResource(None, params(image="berth-test/busybox"))
    state = {"current": created, "image": image, "pull": None, "networks": {}, "network_mode_target": None,
             "asides": []}
    plan = resource.plan(state)
    start = next(a for a in plan.actions if a["action"] == "start")
    assert start["repair"]["body"]["Image"] == "berth-test/busybox:latest"
    ran = copy.deepcopy(created)
    ran["State"]["StartedAt"] = "2026-12-01T10:21:00Z"
    assert "repair" not in next(a for a in resource.plan(dict(state, current=ran)).actions
                                if a["action"] == "start"), "a container that has run is never re-created"
    assert is_stale_task_error("task 53ef9d81a948: already exists")
    assert is_stale_task_error("id already in use")
    assert not is_stale_task_error("container already exists")


def test_a_first_start_killed_by_a_stale_containerd_task_is_recognised():
    """Captured from Docker 28.5: a never-run container left by a crash, killed ~2 s after its start."""
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import killed_by_stale_task

    killed = fixture("container_stale_task_killed_docker28.5.json")
    assert killed["State"]["Restarting"] and killed["State"]["ExitCode"] == 137
    assert killed_by_stale_task(killed), "restarting after a kill (restart policy)"
    exited = copy.deepcopy(killed)
    exited["State"].update(Status="exited", Running=False, Restarting=False)
    assert killed_by_stale_task(exited), "no restart policy: left exited"
    oom = copy.deepcopy(exited)
    oom["State"]["OOMKilled"] = True
    assert not killed_by_stale_task(oom), "the memory limit killed it: the container's own failure"
    running = copy.deepcopy(exited)
    running["State"].update(Status="running", Running=True, ExitCode=0)
    assert not killed_by_stale_task(running)
    own_exit = copy.deepcopy(exited)
    own_exit["State"]["ExitCode"] = 1
    assert not killed_by_stale_task(own_exit), "a command that fails is not the engine's kill"


# --- the less common run options and comparisons (issue 12) -----------------------------------------

from ansible_collections.berth.engine.plugins.module_utils.container_plan import create_params  # noqa: E402

NEW_OPTIONS = dict(
    tty=True, interactive=True, domainname="example.test", mac_address="02:42:AC:11:00:99", shm_size="128m",
    pid_mode="host", ipc_mode="shareable", uts="host", userns_mode="host", memory_swappiness=10,
    oom_score_adj=-500, oom_killer=False, groups=["20", "10"], dns_search=["a.test"], dns_options=["ndots:2"],
    publish_all_ports=True, exposed_ports=["9000-9001/udp", "7000"], volumes_from=["donor:ro"], auto_remove=True,
    runtime="runc", cgroup_parent="/berth", storage_opt={"size": "10G"}, gpus="all",
    device_read_bps=[{"path": "/dev/vda", "rate": "1m"}], device_write_iops=[{"path": "/dev/vda", "rate": "100"}],
    memory="64m", memory_swap="256m", cpuset_cpus="0-1", cpuset_mems="0", cpu_period=100000, cpu_quota=50000,
    blkio_weight=300,
)


def engine_view(desired):
    """container_from plus what the engine adds itself: the image's EXPOSE and the OS of the platform."""
    container = container_from(desired)
    container["Config"]["ExposedPorts"] = dict(IMAGE["Config"]["ExposedPorts"],
                                               **container["Config"].get("ExposedPorts", {}))
    container["Platform"] = "linux"
    return container


def test_new_options_reach_the_create_body_as_the_engine_stores_them():
    body = create_body(desired_container(params(**NEW_OPTIONS)))
    host = body["HostConfig"]
    assert body["Tty"] is True and body["OpenStdin"] is True and body["MacAddress"] == "02:42:ac:11:00:99"
    assert body["ExposedPorts"] == {"7000/tcp": {}, "9000/udp": {}, "9001/udp": {}}
    assert host["ShmSize"] == 128 * 1024 ** 2 and host["OomKillDisable"] is True and host["GroupAdd"] == ["10", "20"]
    assert host["DeviceRequests"] == [{"Driver": "", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]],
                                       "Options": {}}]
    assert host["BlkioDeviceReadBps"] == [{"Path": "/dev/vda", "Rate": 1024 ** 2}]
    assert host["BlkioDeviceWriteIOps"] == [{"Path": "/dev/vda", "Rate": 100}]
    assert (host["MemorySwap"], host["CpuPeriod"], host["CpuQuota"], host["BlkioWeight"]) == (
        256 * 1024 ** 2, 100000, 50000, 300)
    assert host["StorageOpt"] == {"size": "10G"} and host["VolumesFrom"] == ["donor:ro"]


def test_new_options_unchanged_need_nothing_and_image_expose_is_no_drift():
    desired = desired_container(params(**NEW_OPTIONS))
    assert plan_container(desired, engine_view(desired), IMAGE).actions == []


@pytest.mark.parametrize("change, action", [
    ({"cpu_quota": 25000}, "update"), ({"cpuset_cpus": "1"}, "update"), ({"memory_swap": "-1"}, "update"),
    ({"blkio_weight": 500}, "update"), ({"cpuset_mems": "0-1"}, "update"),
    ({"shm_size": "256m"}, "recreate"), ({"tty": False}, "recreate"), ({"oom_killer": True}, "recreate"),
    ({"mac_address": "02:42:ac:11:00:98"}, "recreate"), ({"exposed_ports": ["7000"]}, "recreate"),
    ({"gpus": "2"}, "recreate"), ({"device_read_bps": [{"path": "/dev/vda", "rate": "2m"}]}, "recreate"),
    ({"platform": "windows/amd64"}, "recreate"), ({"dns_search": ["b.test"]}, "recreate"),
])
def test_each_change_is_fixed_in_place_or_by_a_recreate(change, action):
    container = engine_view(desired_container(params(**NEW_OPTIONS)))
    plan = plan_container(desired_container(params(**dict(NEW_OPTIONS, **change))), container, IMAGE)
    assert plan.action_names() == [action]


def test_update_body_keeps_the_given_swap_and_skips_ignored_options():
    desired = desired_container(params(memory="64m", memory_swap="-1", cpu_quota=20000, cpus=None,
                                       comparisons={"cpu_quota": "ignore"}))
    assert update_body(desired) == {"Memory": 64 * 1024 ** 2, "MemorySwap": -1}
    assert update_body(desired_container(params(memory="64m")))["MemorySwap"] == 128 * 1024 ** 2


def test_platform_is_a_create_parameter_and_only_its_os_is_compared():
    desired = desired_container(params(platform="Linux/AMD64"))
    assert create_params(desired) == {"platform": "linux/amd64"} and "platform" not in create_body(desired)
    state = {"current": None, "image": IMAGE, "networks": {}}
    assert plan_from_state(desired, state).actions[0]["params"] == {"platform": "linux/amd64"}
    assert plan_container(desired, engine_view(desired), IMAGE).actions == []


def test_pid_mode_container_compares_the_id_the_engine_stores():
    desired = desired_container(params(pid_mode="container:donor", ipc_mode="container:donor"))
    container = engine_view(desired)
    container["HostConfig"]["PidMode"] = container["HostConfig"]["IpcMode"] = "container:" + "d" * 64
    targets = {"container:donor": "d" * 64}
    assert plan_container(desired, container, IMAGE, container_targets=targets).actions == []
    assert plan_container(desired, container, IMAGE).action_names() == ["recreate"]


@pytest.mark.parametrize("value, expected", [
    ("all", [{"Driver": "", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}]),
    ("2", [{"Driver": "", "Count": 2, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}]),
    ('"device=0,2"', [{"Driver": "", "Count": 0, "DeviceIDs": ["0", "2"], "Capabilities": [["gpu"]],
                       "Options": {}}]),
    ("driver=nvidia,count=1,capabilities=utility,compute",
     [{"Driver": "nvidia", "Count": 1, "DeviceIDs": [], "Capabilities": [["compute", "utility"]], "Options": {}}]),
])
def test_gpus_parse_like_docker_run(value, expected):
    assert parse_gpus(value) == expected


def test_env_file_is_merged_under_env():
    files = {"/etc/app.env": "# comment\n\nA=from-file\nB=from-file\nexport_ok.x=1\n"}
    desired = desired_container(params(env_file="/etc/app.env", env={"B": "task"}), read_text=files.__getitem__)
    assert desired["values"]["env"] == {"A": "from-file", "B": "task", "export_ok.x": "1"}
    with pytest.raises(ValueError, match="env_file /etc/none.env cannot be read"):
        desired_container(params(env_file="/etc/none.env"), read_text=lambda path: Path(path).read_text())
    with pytest.raises(ValueError, match="line 1 is not KEY=VALUE"):
        desired_container(params(env_file="/x"), read_text=lambda path: "NOT A PAIR\n")


@pytest.mark.parametrize("overrides, message", [
    ({"mac_address": "02:42"}, "mac_address"), ({"shm_size": "big"}, "shm_size"),
    ({"ipc_mode": "bogus"}, "ipc_mode must be"), ({"pid_mode": "container:"}, "pid_mode"),
    ({"uts": "private"}, "uts must be host"), ({"oom_score_adj": 1001}, "oom_score_adj must be from -1000"),
    ({"memory_swappiness": -1}, "memory_swappiness"), ({"cpu_period": 999}, "cpu_period"),
    ({"cpu_quota": 5}, "cpu_quota"), ({"blkio_weight": 1001}, "blkio_weight"), ({"cpuset_cpus": "0-"}, "cpuset_cpus"),
    ({"memory_swap": "1g"}, "memory_swap needs memory"), ({"memory": "1g", "memory_swap": "512m"}, "memory_swap"),
    ({"cpus": 1, "cpu_period": 100000}, "cpus cannot be combined"), ({"exposed_ports": ["80/xyz"]}, "exposed_ports"),
    ({"gpus": "all", "device_requests": [{"count": 1}]}, "gpus and device_requests"),
    ({"gpus": "sometimes"}, "gpus must be"), ({"gpus": "count=x"}, "gpus.count"),
    ({"device_requests": [{"count": 1, "device_ids": ["0"]}]}, "count and device_ids"),
    ({"device_read_bps": [{"path": "/tmp/x", "rate": "1m"}]}, "device_read_bps"),
    ({"device_write_iops": [{"path": "/dev/vda", "rate": "-1"}]}, "device_write_iops rate"),
    ({"platform": "linux amd64"}, "platform"), ({"auto_remove": True, "restart_policy": "always"}, "auto_remove"),
    ({"comparisons": {"nope": "ignore"}}, "'nope' is not an option"),
    ({"comparisons": {"env": "loose"}}, "comparisons.env must be"),
    ({"comparisons": {"user": "allow_more_present"}}, "comparisons.user: allow_more_present"),
    ({"comparisons": ["env"]}, "comparisons must be a mapping"),
])
def test_bad_new_inputs_fail_naming_the_option(overrides, message):
    with pytest.raises(ValueError, match=message):
        desired_container(params(**overrides))


def test_comparisons_allow_more_present_ignore_and_strict():
    theirs = desired_container(params(labels={"ours": "1", "theirs": "x"}, env={"MODE": "theirs"},
                                      cap_add=["net_admin", "sys_time"], ports=["80", "90"], user="app"))
    container = engine_view(theirs)
    ours = dict(labels={"ours": "1"}, env={"MODE": "ours"}, cap_add=["net_admin"], ports=["80"], user="app")
    relaxed = desired_container(params(comparisons={"*": "allow_more_present", "env": "ignore"}, **ours))
    assert plan_container(relaxed, container, IMAGE).actions == []
    strict = desired_container(params(comparisons={"env": "ignore"}, **ours))
    plan = plan_container(strict, container, IMAGE)
    assert plan.action_names() == ["recreate"] and "env" not in plan.after
    assert {"labels", "cap_add", "ports"} <= set(plan.after)
    # allow_more_present with * keeps scalars strict, and a listed label that differs is still a difference.
    theirs = dict(ours)
    theirs.update(comparisons={"*": "allow_more_present"}, env={"MODE": "theirs"}, user="root")
    changed = desired_container(params(**theirs))
    assert plan_container(changed, container, IMAGE).action_names() == ["recreate"]
    assert set(plan_container(changed, container, IMAGE).after) - {"state"} == {"user"}


def test_comparisons_for_networks():
    desired = desired_container(params(networks=[{"name": "front"}]))
    container = engine_view(desired)
    container["NetworkSettings"]["Networks"]["other"] = {"Aliases": None}
    assert plan_container(desired, container, IMAGE).action_names() == ["disconnect"]
    relaxed = desired_container(params(networks=[{"name": "front"}], comparisons={"networks": "allow_more_present"}))
    assert plan_container(relaxed, container, IMAGE).actions == []
    ignored = desired_container(params(networks=[{"name": "back"}], comparisons={"networks": "ignore"}))
    assert plan_container(ignored, container, IMAGE).actions == []


def test_recovery_keeps_the_new_container_when_the_old_one_died_being_removed():
    from ansible_collections.berth.engine.plugins.module_utils.container_recovery import plan_recovery

    old, new = _crash_leftovers("exited")
    old["State"].update(Dead=True, Status="dead")
    actions, effective, _unused = plan_recovery(desired_container(params()), new, [old])
    assert actions[0]["verdict"] == "keep" and actions[0]["remove"] == [old["Id"]]
    assert effective is new, "the normal plan then starts the new container"
    actions, effective, _unused = plan_recovery(desired_container(params()), None, [old])
    assert actions[0]["verdict"] == "keep" and effective is None, "and creates one when there is none"


# --- option bugs found by community.docker's cases (issue 21) ---------------------------------------

def test_dns_options_are_a_set_so_reordering_them_changes_nothing():
    container = engine_view(desired_container(params(dns_options=["ndots:2", "timeout:1"])))
    reordered = desired_container(params(dns_options=["timeout:1", "ndots:2"]))
    assert plan_container(reordered, container, IMAGE).actions == []
    changed = desired_container(params(dns_options=["timeout:1", "ndots:3"]))
    assert plan_container(changed, container, IMAGE).action_names() == ["recreate"]


@pytest.mark.parametrize("platform", ["amd64", "arm64/v8", "linux", "linux/amd64"])
def test_a_platform_naming_only_an_architecture_does_not_recreate_every_run(platform):
    desired = desired_container(params(platform=platform))
    assert create_params(desired) == {"platform": platform}
    assert plan_container(desired, engine_view(desired), IMAGE).actions == []


@pytest.mark.parametrize("option, key", [("uts", "UTSMode"), ("userns_mode", "UsernsMode")])
def test_the_engine_default_namespace_takes_a_host_container_back(option, key):
    on_host = engine_view(desired_container(params(**{option: "host"})))
    back = desired_container(params(**{option: ""}))
    plan = plan_container(back, on_host, IMAGE)
    assert plan.action_names() == ["recreate"] and plan.after[option] == ""
    assert create_body(back)["HostConfig"][key] == ""
    assert plan_container(back, engine_view(back), IMAGE).actions == []


# --- options added as one table row each (issue 21) -------------------------------------------------

def test_healthcheck_start_interval_is_honoured_and_refused_by_an_engine_older_than_api_1_44():
    desired = desired_container(params(healthcheck={"test": "true", "start_period": "30s", "start_interval": "2s"}))
    assert create_body(desired)["Healthcheck"]["StartInterval"] == 2 * 1000 ** 3
    assert desired["needs_api"] == {"healthcheck.start_interval": "1.44"}
    container = copy.deepcopy(engine_view(desired))
    assert plan_container(desired, container, IMAGE).actions == []
    del container["Config"]["Healthcheck"]["StartInterval"]  # what an engine that drops it stores
    assert plan_container(desired, container, IMAGE).action_names() == ["recreate"]
    state = {"current": None, "image": IMAGE, "networks": {}, "api_version": "1.44"}
    assert plan_from_state(desired, state).action_names() == ["create", "start"]
    with pytest.raises(ValueError, match="healthcheck.start_interval needs Docker Engine API 1.44 or newer, "
                                         "but the engine speaks 1.41"):
        plan_from_state(desired, dict(state, api_version="1.41"))
    assert desired_container(params(healthcheck={"test": "true"}))["needs_api"] == {}


def test_stop_grace_period_is_stop_timeout_as_compose_spells_it():
    desired = desired_container(params(stop_grace_period="1m30.5s"))
    assert create_body(desired)["StopTimeout"] == 90
    assert plan_container(desired, engine_view(desired_container(params(stop_timeout=90))), IMAGE).actions == []
    assert plan_container(desired, engine_view(desired_container(params(stop_timeout=10))), IMAGE).action_names() \
        == ["recreate"]
    with pytest.raises(ValueError, match="stop_grace_period and stop_timeout both set"):
        desired_container(params(stop_grace_period="10s", stop_timeout=10))
    with pytest.raises(ValueError, match="stop_grace_period must be a duration"):
        desired_container(params(stop_grace_period="soon"))
    with pytest.raises(ValueError, match="stop_grace_period must be at most 24h"):
        desired_container(params(stop_grace_period="25h"))
