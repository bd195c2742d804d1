"""berth.engine.container against the real engine; state is read back through the Docker SDK."""
from __future__ import annotations

import random
import threading
import urllib.request

import docker
import pytest

from tests.support.ansible import module_helpers

MODULE = "berth.engine.container"


converge, ok, fails = module_helpers(MODULE)


@pytest.fixture
def web(unique_name, cleanup, test_images):
    cleanup.container(unique_name)
    return {
        "name": unique_name,
        "image": test_images.busybox,
        "env": {"APP_MODE": "prod", "WORKERS": 2},
        "labels": {"io.berth.test": "yes"},
        "ports": ["127.0.0.1::8080"],
        "restart_policy": "unless-stopped",
        "stop_timeout": 1,
    }


def test_lifecycle_create_idempotent_drift_check_diff_absent(docker_client, web):
    created = ok(web)
    assert created["changed"] and created["actions"] == ["create", "start"]
    seen = docker_client.containers.get(web["name"])
    assert seen.status == "running"
    assert "APP_MODE=prod" in seen.attrs["Config"]["Env"] and "WORKERS=2" in seen.attrs["Config"]["Env"]
    assert seen.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"

    again = ok(web)
    assert not again["changed"] and again["actions"] == []

    drifted = dict(web, env={"APP_MODE": "debug", "WORKERS": 2})
    predicted = ok(drifted, check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["recreate"]
    assert predicted["diff"]["before"]["env"]["APP_MODE"] == "prod"
    assert predicted["diff"]["after"]["env"]["APP_MODE"] == "debug"
    assert docker_client.containers.get(web["name"]).id == seen.id, "check mode must not touch the engine"

    applied = ok(drifted, diff=True)
    assert applied["actions"] == predicted["actions"] and applied["diff"] == predicted["diff"]
    replaced = docker_client.containers.get(web["name"])
    assert replaced.id != seen.id and "APP_MODE=debug" in replaced.attrs["Config"]["Env"]
    assert replaced.status == "running"
    leftovers = [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(web["name"] + "_")]
    assert leftovers == [], "the old container is removed after a successful recreate"

    removed = ok({"name": web["name"], "state": "absent"})
    assert removed["changed"]
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(web["name"])
    assert not ok({"name": web["name"], "state": "absent"})["changed"]


def test_image_defaults_cause_no_change(docker_client, web):
    # berth-test/busybox carries ENV, LABEL, EXPOSE, VOLUME and CMD of its own.
    ok(web)
    first = docker_client.containers.get(web["name"])
    assert "BERTH_IMAGE_ENV=from-image" in first.attrs["Config"]["Env"]
    assert first.attrs["Config"]["Labels"]["io.berth.test.image-label"] == "yes"
    same_as_image = dict(web, command=first.attrs["Config"]["Cmd"])
    assert not ok(same_as_image)["changed"]
    assert docker_client.containers.get(web["name"]).id == first.id


def test_limits_and_restart_policy_update_in_place(docker_client, web):
    ok(dict(web, memory="64m"))
    before = docker_client.containers.get(web["name"])
    changed = ok(dict(web, memory="96m", cpus=0.5, restart_policy="on-failure", restart_retries=2,
                      pids_limit=64))
    assert changed["actions"] == ["update"]
    after = docker_client.containers.get(web["name"])
    assert after.id == before.id
    assert after.attrs["HostConfig"]["Memory"] == 96 * 1024 * 1024
    assert after.attrs["HostConfig"]["NanoCpus"] == 500_000_000
    assert after.attrs["HostConfig"]["PidsLimit"] == 64
    assert after.attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert after.status == "running"


def test_failed_replacement_rolls_back_to_the_old_container(docker_client, web, test_images):
    ok(web)
    original = docker_client.containers.get(web["name"])
    msg = fails(dict(web, image=test_images.failing))
    assert "rolled back" in msg.lower() and original.id[:12] in msg
    assert "boom" in msg, "the new container's output explains the failure"
    survivor = docker_client.containers.get(web["name"])
    assert survivor.id == original.id and survivor.status == "running"
    assert [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(web["name"])] == [
        web["name"]]


def test_healthy_timeout_rolls_back(docker_client, web, test_images):
    ok(dict(web, image=test_images.http, state="healthy"))
    original = docker_client.containers.get(web["name"])
    assert original.attrs["State"]["Health"]["Status"] == "healthy"
    msg = fails(dict(web, image=test_images.unhealthy, state="healthy", healthy_timeout=10))
    assert "unhealthy" in msg and "rolled back" in msg.lower()
    survivor = docker_client.containers.get(web["name"])
    assert survivor.id == original.id and survivor.status == "running"


def test_image_update_serves_the_new_content(docker_client, unique_name, cleanup, test_images):
    cleanup.container(unique_name)
    args = {"name": unique_name, "image": test_images.http_v1, "ports": ["127.0.0.1::8080"],
            "state": "healthy", "stop_timeout": 1}
    ok(args)
    ok(dict(args, image=test_images.http_v2))
    container = docker_client.containers.get(unique_name)
    assert container.image.id == docker_client.images.get(test_images.http_v2).id
    port = container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
    body = urllib.request.urlopen("http://127.0.0.1:%s/" % port, timeout=5).read().decode()
    assert "v2" in body


def test_static_ip_and_aliases_survive_recreate(docker_client, unique_name, cleanup, web):
    net = unique_name + "-net"
    cleanup.network(net)
    prefix = "10.%d.%d" % (random.randint(100, 250), random.randint(0, 255))
    docker_client.networks.create(net, ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=prefix + ".0/24")]))
    address = prefix + ".10"
    args = dict(web, networks=[{"name": net, "ipv4_address": address, "aliases": ["api"]}])
    ok(args)
    ok(dict(args, env={"APP_MODE": "other"}))
    endpoint = docker_client.containers.get(web["name"]).attrs["NetworkSettings"]["Networks"][net]
    assert endpoint["IPAMConfig"]["IPv4Address"] == address
    assert endpoint["IPAddress"] == address
    assert "api" in endpoint["Aliases"]
    assert not ok(dict(args, env={"APP_MODE": "other"}))["changed"]


def test_stopped_and_started_states(docker_client, web):
    assert ok(dict(web, state="stopped"))["actions"] == ["create"]
    assert docker_client.containers.get(web["name"]).status == "created"
    assert ok(web)["actions"] == ["start"]
    assert ok(dict(web, state="stopped"))["actions"] == ["stop"]
    assert docker_client.containers.get(web["name"]).status == "exited"
    assert not ok(dict(web, state="stopped"))["changed"]


@pytest.mark.parametrize("override, message", [
    ({"ports": ["127.0.0.1:99999:80"]}, "outside 1-65535"),
    ({"ports": ["not-a-port"]}, "ports entry"),
    ({"memory": "-64m"}, "must not be negative"),
    ({"network_mode": "host", "ports": ["80"]}, "network_mode host"),
    ({"networks": [{"name": "berth-no-such-network"}]}, "network berth-no-such-network does not exist"),
])
def test_bad_inputs_fail_clearly(docker_client, web, override, message):
    msg = fails(dict(web, **override))
    assert message in msg
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(web["name"])


def test_unreachable_daemon_gives_a_clear_error(web):
    msg = fails(dict(web, docker_host="unix:///tmp/berth-no-such.sock"))
    assert "/tmp/berth-no-such.sock does not exist" in msg and "daemon running" in msg


def test_missing_image_with_pull_never(web):
    msg = fails(dict(web, image="berth-test/never-built:1", pull="never"))
    assert "not on the host" in msg


def test_pull_from_registry_with_credentials(docker_client, unique_name, cleanup, test_images, local_registry):
    ref = "%s/%s:1" % (local_registry.host, unique_name)
    docker_client.images.get(test_images.busybox).tag(ref)
    docker_client.images.push(ref, auth_config={"username": local_registry.username,
                                                "password": local_registry.password})
    docker_client.images.remove(ref)
    cleanup.image(ref)
    cleanup.container(unique_name)
    args = {"name": unique_name, "image": ref, "registry_username": local_registry.username,
            "registry_password": local_registry.password}
    check = ok(args, check=True)
    assert check["actions"] == ["pull", "create", "start"]
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(ref)
    assert ok(args)["actions"] == ["pull", "create", "start"]
    assert docker_client.containers.get(unique_name).status == "running"
    assert not ok(dict(args, pull="always"))["changed"], "same digest: no change"


def test_recreate_keeps_anonymous_volume_data(docker_client, web):
    # berth-test/busybox declares VOLUME /data: the replacement takes the old anonymous volume over.
    ok(web)
    first = docker_client.containers.get(web["name"])
    assert first.exec_run(["sh", "-c", "echo kept > /data/marker"]).exit_code == 0
    volume = [m["Name"] for m in first.attrs["Mounts"] if m["Destination"] == "/data"][0]
    ok(dict(web, env={"APP_MODE": "changed"}))
    second = docker_client.containers.get(web["name"])
    assert second.id != first.id
    assert [m["Name"] for m in second.attrs["Mounts"] if m["Destination"] == "/data"] == [volume]
    assert second.exec_run(["cat", "/data/marker"]).output.decode().strip() == "kept"
    assert not ok(dict(web, env={"APP_MODE": "changed"}))["changed"], "a carried volume is not drift"


# --- bugs users hit: each rerun must agree with the first run ----------------------------------------

def test_log_options_merged_by_the_daemon_are_not_drift(docker_client, unique_name, cleanup, test_images):
    # The engine merges daemon.json's log-opts (and any the task does not list) into LogConfig.Config.
    cleanup.container(unique_name)
    docker_client.containers.run(test_images.busybox, name=unique_name, detach=True, log_config=docker.types.LogConfig(
        type="json-file", config={"max-size": "5m", "max-file": "2"}))
    before = docker_client.containers.get(unique_name)
    assert before.attrs["HostConfig"]["LogConfig"]["Config"] == {"max-size": "5m", "max-file": "2"}
    args = {"name": unique_name, "image": test_images.busybox, "log_options": {"max-size": "5m"}}
    assert not ok(args)["changed"]
    assert docker_client.containers.get(unique_name).id == before.id
    assert ok(dict(args, log_options={"max-size": "6m"}, stop_timeout=1))["actions"] == ["recreate"]
    assert docker_client.containers.get(unique_name).attrs["HostConfig"]["LogConfig"]["Config"]["max-size"] == "6m"


def test_network_mode_of_another_container_is_idempotent(docker_client, web, make_name, cleanup, test_images):
    ok(web)
    side = make_name("side")
    cleanup.container(side)
    args = {"name": side, "image": test_images.busybox, "network_mode": "container:" + web["name"], "stop_timeout": 1}
    assert ok(args)["actions"] == ["create", "start"]
    seen = docker_client.containers.get(side)
    assert seen.attrs["HostConfig"]["NetworkMode"] == "container:" + docker_client.containers.get(web["name"]).id
    assert not ok(args)["changed"]
    assert docker_client.containers.get(side).id == seen.id
    msg = fails(dict(args, name=make_name("orphan"), network_mode="container:" + make_name("nobody")))
    assert "names a container that does not exist" in msg


def test_empty_networks_mean_the_default_bridge_on_every_run(docker_client, web):
    args = dict(web, networks=[])
    assert ok(args)["actions"] == ["create", "start"]
    assert list(docker_client.containers.get(web["name"]).attrs["NetworkSettings"]["Networks"]) == ["bridge"]
    again = ok(args)
    assert not again["changed"], again["actions"]
    assert list(docker_client.containers.get(web["name"]).attrs["NetworkSettings"]["Networks"]) == ["bridge"]


def test_empty_command_is_the_image_command(docker_client, web):
    args = dict(web, command=[])
    ok(args)
    first = docker_client.containers.get(web["name"])
    assert first.attrs["Config"]["Cmd"] == first.image.attrs["Config"]["Cmd"]
    assert not ok(args)["changed"]
    assert docker_client.containers.get(web["name"]).id == first.id


def test_host_port_range_to_one_port(docker_client, web):
    low = random.randint(20000, 60000)
    args = dict(web, ports=["127.0.0.1:%d-%d:8080" % (low, low + 20)])
    ok(args)
    bound = docker_client.containers.get(web["name"]).attrs["NetworkSettings"]["Ports"]["8080/tcp"]
    assert len(bound) == 1 and low <= int(bound[0]["HostPort"]) <= low + 20
    assert not ok(args)["changed"]
    elsewhere = dict(web, ports=["127.0.0.1:%d-%d:8080" % (low + 30, low + 40)])
    assert ok(elsewhere)["actions"] == ["recreate"]
    bound = docker_client.containers.get(web["name"]).attrs["NetworkSettings"]["Ports"]["8080/tcp"]
    assert low + 30 <= int(bound[0]["HostPort"]) <= low + 40


def test_anonymous_volume_dropped_from_the_task_is_unmounted_not_deleted(docker_client, web, cleanup):
    ok(dict(web, volumes=["/cache"]))
    first = docker_client.containers.get(web["name"])
    cache = [m["Name"] for m in first.attrs["Mounts"] if m["Destination"] == "/cache"][0]
    cleanup.volume(cache)
    data = [m["Name"] for m in first.attrs["Mounts"] if m["Destination"] == "/data"][0]
    assert not ok(dict(web, volumes=["/cache"]))["changed"]
    dropped = ok(dict(web, volumes=[]))
    assert dropped["actions"] == ["recreate"], "removing the volume from the task is a change"
    second = docker_client.containers.get(web["name"])
    assert "/cache" not in [m["Destination"] for m in second.attrs["Mounts"]]
    assert [m["Name"] for m in second.attrs["Mounts"] if m["Destination"] == "/data"] == [data], "image VOLUME kept"
    docker_client.volumes.get(cache)  # the data is kept
    assert not ok(dict(web, volumes=[]))["changed"]


def test_image_is_only_needed_to_create(docker_client, web):
    ok(web)
    name = web["name"]
    first = docker_client.containers.get(name)
    assert ok({"name": name, "state": "stopped", "stop_timeout": 1})["actions"] == ["stop"]
    assert ok({"name": name, "state": "started"})["actions"] == ["start"]
    assert ok({"name": name, "state": "restarted", "stop_timeout": 1})["actions"] == ["restart"]
    assert docker_client.containers.get(name).id == first.id
    recreated = ok({"name": name, "env": {"ONLY": "this"}, "stop_timeout": 1})
    assert recreated["actions"] == ["recreate"]
    assert docker_client.containers.get(name).image.id == first.image.id, "a recreate keeps the image it runs"
    assert ok({"name": name, "state": "absent"})["actions"] == ["remove"]
    msg = fails({"name": name, "state": "started"})
    assert "container %s does not exist and image is not set: image is needed to create it" % name in msg


def test_concurrent_creates_of_one_container_both_succeed(docker_client, web):
    # Both runs plan a create; the one that loses the name conflict re-reads and re-plans instead of failing.
    results = []
    threads = [threading.Thread(target=lambda: results.append(converge(web))) for _unused in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r["failed"] for r in results] == [False, False], [r["msg"] for r in results]
    assert [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(web["name"])] == [
        web["name"]]
    assert docker_client.containers.get(web["name"]).status == "running"


def test_wrong_registry_password_says_which_registry_and_user(unique_name, cleanup, docker_client, test_images,
                                                              local_registry):
    ref = "%s/%s:1" % (local_registry.host, unique_name)
    docker_client.images.get(test_images.busybox).tag(ref)
    docker_client.images.push(ref, auth_config={"username": local_registry.username,
                                                "password": local_registry.password})
    docker_client.images.remove(ref)
    cleanup.image(ref)
    cleanup.container(unique_name)
    msg = fails({"name": unique_name, "image": ref, "registry_username": local_registry.username,
                 "registry_password": "wrong-" + unique_name})
    assert local_registry.host in msg and local_registry.username in msg
    assert "registry_username and registry_password" in msg
    assert "wrong-" + unique_name not in msg
