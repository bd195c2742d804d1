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
    parse_mounts,
    parse_ports,
    plan_container,
    plan_from_state,
    update_body,
)

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


def container_from(desired, image=IMAGE, running=True):
    """An inspect document like the engine would return for a container created from `desired`."""
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
