"""berth.engine.network against the real engine; state is read back through the Docker SDK."""
from __future__ import annotations

import contextlib
import ipaddress
import random

import docker
import pytest

from tests.support.ansible import module_helpers

MODULE = "berth.engine.network"


converge, ok, fails = module_helpers(MODULE)


def free_subnet(docker_client):
    """A 10.x.y.0/24 that no network on this (shared) engine uses."""
    used = []
    for network in docker_client.networks.list():
        for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
            with contextlib.suppress(ValueError):
                used.append(ipaddress.ip_network(pool.get("Subnet", ""), strict=False))
    while True:
        candidate = ipaddress.ip_network("10.%d.%d.0/24" % (random.randint(100, 250), random.randint(0, 255)))
        if not any(candidate.overlaps(u) for u in used if u.version == 4):
            return candidate


@pytest.fixture
def net(docker_client, unique_name, cleanup):
    cleanup.network(unique_name)
    subnet = free_subnet(docker_client)
    return {"name": unique_name, "subnet": subnet,
            "args": {"name": unique_name, "labels": {"io.berth.test": "one"},
                     "ipam": {"config": [{"subnet": str(subnet), "gateway": str(subnet[1])}]}}}


def sleeper(docker_client, cleanup, name, image, network=None, start=True, **endpoint):
    """A busybox container that sleeps; attached to `network` with the endpoint settings given."""
    cleanup.container(name)
    api = docker_client.api
    kwargs = {}
    if network:
        kwargs["host_config"] = api.create_host_config(network_mode=network)
        kwargs["networking_config"] = api.create_networking_config(
            {network: api.create_endpoint_config(**endpoint)})
    container = api.create_container(image, ["sleep", "3600"], name=name, **kwargs)
    if start:
        api.start(container)
    return docker_client.containers.get(name)


def test_lifecycle_create_idempotent_drift_check_diff_absent(docker_client, net):
    args = net["args"]
    created = ok(args)
    assert created["changed"] and created["actions"] == ["create"]
    seen = docker_client.networks.get(net["name"])
    assert seen.attrs["Driver"] == "bridge" and seen.attrs["Labels"] == {"io.berth.test": "one"}
    assert seen.attrs["IPAM"]["Config"][0]["Subnet"] == str(net["subnet"])
    assert created["network"]["Id"] == seen.id

    again = ok(args)
    assert not again["changed"] and again["actions"] == []

    drifted = dict(args, labels={"io.berth.test": "two"}, internal=True)
    predicted = ok(drifted, check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["recreate"]
    assert predicted["diff"]["before"] == {"labels": {"io.berth.test": "one"}, "internal": False}
    assert predicted["diff"]["after"] == {"labels": {"io.berth.test": "two"}, "internal": True}
    assert docker_client.networks.get(net["name"]).id == seen.id, "check mode must not touch the engine"

    applied = ok(drifted, diff=True)
    assert applied["actions"] == predicted["actions"] and applied["diff"] == predicted["diff"]
    recreated = docker_client.networks.get(net["name"])
    assert recreated.id != seen.id
    assert recreated.attrs["Labels"] == {"io.berth.test": "two"} and recreated.attrs["Internal"] is True
    assert recreated.attrs["IPAM"]["Config"][0]["Gateway"] == str(net["subnet"][1])
    assert not ok(drifted)["changed"]

    assert ok({"name": net["name"], "state": "absent"}, check=True)["actions"] == ["remove"]
    docker_client.networks.get(net["name"])
    removed = ok({"name": net["name"], "state": "absent"}, diff=True)
    assert removed["changed"] and removed["diff"]["after"] == {"state": "absent"}
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(net["name"])
    assert not ok({"name": net["name"], "state": "absent"})["changed"]


def test_unset_settings_and_engine_additions_cause_no_change(docker_client, net):
    ok(dict(net["args"], driver_options={"com.docker.network.bridge.enable_icc": "true"}))
    # Fewer settings than the network has: only what is given is compared.
    assert not ok({"name": net["name"]})["changed"]
    assert not ok({"name": net["name"], "labels": {}, "driver": "bridge", "enable_ipv6": False})["changed"]
    assert not ok({"name": net["name"], "ipam": {"config": [{"subnet": str(net["subnet"])}]}})["changed"]


def test_recreate_keeps_static_ips_and_aliases(docker_client, net, make_name, cleanup, test_images):
    ok(net["args"])
    subnet = net["subnet"]
    web = make_name("web")
    cleanup.container(web)
    ok({"name": web, "image": test_images.busybox, "command": ["sleep", "3600"], "stop_timeout": 1,
        "networks": [{"name": net["name"], "ipv4_address": str(subnet[10]), "aliases": ["api", "www"]}]},
       module="berth.engine.container")
    stopped = sleeper(docker_client, cleanup, make_name("stopped"), test_images.busybox, net["name"], start=False,
                      ipv4_address=str(subnet[11]), aliases=["batch"])
    dynamic = sleeper(docker_client, cleanup, make_name("dyn"), test_images.busybox, net["name"])
    old_id = docker_client.networks.get(net["name"]).id

    result = ok(dict(net["args"], labels={"io.berth.test": "recreated"}))
    assert result["actions"] == ["recreate"]
    network = docker_client.networks.get(net["name"])
    assert network.id != old_id

    endpoint = docker_client.containers.get(web).attrs["NetworkSettings"]["Networks"][net["name"]]
    assert endpoint["NetworkID"] == network.id
    assert endpoint["IPAMConfig"]["IPv4Address"] == str(subnet[10]) and endpoint["IPAddress"] == str(subnet[10])
    assert {"api", "www"} <= set(endpoint["Aliases"])
    held = docker_client.containers.get(stopped.name).attrs["NetworkSettings"]["Networks"][net["name"]]
    assert held["IPAMConfig"]["IPv4Address"] == str(subnet[11]) and "batch" in held["Aliases"]
    assert dynamic.name in {c.name for c in network.containers}
    # the stopped container still starts on its address
    docker_client.containers.get(stopped.name).start()
    started = docker_client.containers.get(stopped.name).attrs["NetworkSettings"]["Networks"][net["name"]]
    assert started["IPAddress"] == str(subnet[11])
    # and the container module sees nothing to change
    assert not ok({"name": web, "image": test_images.busybox, "command": ["sleep", "3600"], "stop_timeout": 1,
                   "networks": [{"name": net["name"], "ipv4_address": str(subnet[10]), "aliases": ["api", "www"]}]},
                  module="berth.engine.container")["changed"]


def test_absent_with_attached_containers_fails_unless_forced(docker_client, net, make_name, cleanup, test_images):
    ok(net["args"])
    web = sleeper(docker_client, cleanup, make_name("web"), test_images.busybox, net["name"])
    idle = sleeper(docker_client, cleanup, make_name("idle"), test_images.busybox, net["name"], start=False)
    for check in (True, False):
        msg = fails({"name": net["name"], "state": "absent"}, check=check)
        assert "network %s cannot be removed" % net["name"] in msg
        assert web.name in msg and idle.name in msg and "force: true" in msg
    docker_client.networks.get(net["name"])

    forced = ok({"name": net["name"], "state": "absent", "force": True}, diff=True)
    assert forced["actions"] == ["remove"]
    assert forced["diff"]["before"]["connected"] == sorted([web.name, idle.name])
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(net["name"])
    web.reload()
    assert web.status == "running" and net["name"] not in web.attrs["NetworkSettings"]["Networks"]


def test_connected_with_and_without_appends(docker_client, net, make_name, cleanup, test_images):
    one = sleeper(docker_client, cleanup, make_name("one"), test_images.busybox).name
    two = sleeper(docker_client, cleanup, make_name("two"), test_images.busybox).name

    def attached():
        return sorted(c.name for c in docker_client.networks.get(net["name"]).containers)

    assert ok(dict(net["args"], connected=[one]))["actions"] == ["create", "connect"]
    assert attached() == [one]
    assert not ok(dict(net["args"], connected=[one]))["changed"]

    assert ok(dict(net["args"], connected=[two], appends=True))["actions"] == ["connect"]
    assert attached() == sorted([one, two])
    assert not ok(dict(net["args"], connected=[two], appends=True))["changed"]

    predicted = ok(dict(net["args"], connected=[two]), check=True, diff=True)
    assert predicted["actions"] == ["disconnect"]
    assert predicted["diff"]["after"]["connected"] == [two]
    assert attached() == sorted([one, two])
    assert ok(dict(net["args"], connected=[two]))["actions"] == ["disconnect"]
    assert attached() == [two]

    msg = fails(dict(net["args"], connected=[two, make_name("ghost")]))
    assert "container %s (in connected) does not exist" % make_name("ghost") in msg


@pytest.mark.parametrize("override, message", [
    ({"ipam": {"config": [{"subnet": "10.1.2.0/24", "gateway": "10.9.9.1"}]}}, "gateway 10.9.9.1 is outside subnet"),
    ({"ipam": {"config": [{"subnet": "10.1.2.0/40"}]}}, "is not an address with prefix length"),
    ({"driver": "berth-no-such-driver"}, "creating network"),
])
def test_bad_inputs_fail_clearly(docker_client, net, override, message):
    msg = fails(dict(net["args"], **override))
    assert message in msg
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(net["name"])


def test_failed_recreate_restores_network_and_unfit_static_ips_turn_dynamic(docker_client, net, make_name,
                                                                            cleanup, test_images):
    ok(net["args"])
    subnet = net["subnet"]
    web = sleeper(docker_client, cleanup, make_name("web"), test_images.busybox, net["name"],
                  ipv4_address=str(subnet[10]), aliases=["api"])
    taken = cleanup.network(make_name("taken"))
    taken_subnet = free_subnet(docker_client)
    docker_client.networks.create(taken, ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=str(taken_subnet))]))

    # The new subnet overlaps another network: known before anything is removed, so nothing changes.
    before = docker_client.networks.get(net["name"]).id
    for check in (True, False):
        msg = fails(dict(net["args"], ipam={"config": [{"subnet": str(taken_subnet)}]}), check=check)
        assert "network %s cannot be recreated: its subnets overlap network(s) %s (%s)" % (
            net["name"], taken, taken_subnet) in msg and "Nothing was changed" in msg
    assert docker_client.networks.get(net["name"]).id == before

    # The engine refuses the new network (a bridge name Linux cannot hold): the old one comes back, reconnected.
    msg = fails(dict(net["args"], driver_options={"com.docker.network.bridge.name": "berth-name-too-long-for-linux"}))
    assert "recreating network %s failed" % net["name"] in msg
    assert "previous network was restored and its containers reconnected" in msg
    restored = docker_client.networks.get(net["name"])
    assert restored.attrs["IPAM"]["Config"][0]["Subnet"] == str(subnet)
    endpoint = docker_client.containers.get(web.name).attrs["NetworkSettings"]["Networks"][net["name"]]
    assert endpoint["IPAddress"] == str(subnet[10]) and "api" in endpoint["Aliases"]

    # A static address outside the new subnet cannot be kept: reconnected with a dynamic one, and said so.
    docker_client.networks.get(taken).remove()
    moved = dict(net["args"], ipam={"config": [{"subnet": str(taken_subnet)}]})
    warning = "container %s cannot keep its static address %s" % (web.name, subnet[10])
    predicted = ok(moved, check=True)
    assert predicted["actions"] == ["recreate"] and any(warning in w for w in predicted["warnings"])
    applied = ok(moved)
    assert applied["actions"] == ["recreate"] and any(warning in w for w in applied["warnings"])
    assert docker_client.networks.get(net["name"]).attrs["IPAM"]["Config"][0]["Subnet"] == str(taken_subnet)
    endpoint = docker_client.containers.get(web.name).attrs["NetworkSettings"]["Networks"][net["name"]]
    assert ipaddress.ip_address(endpoint["IPAddress"]) in taken_subnet and "api" in endpoint["Aliases"]


def free_v6_subnet(docker_client):
    """A ULA /64 that no network on this engine uses."""
    used = {pool.get("Subnet") for network in docker_client.networks.list()
            for pool in (network.attrs.get("IPAM") or {}).get("Config") or []}
    while True:
        candidate = ipaddress.ip_network("fd%02x:%x:%x:%x::/64" % (
            random.randint(0, 255), random.randint(1, 0xffff), random.randint(1, 0xffff), random.randint(1, 0xffff)))
        if str(candidate) not in used:
            return candidate


def test_ipv6_only_network_is_not_recreated_for_the_engines_ipv4_pool(docker_client, unique_name, cleanup):
    cleanup.network(unique_name)
    subnet = free_v6_subnet(docker_client)
    args = {"name": unique_name, "enable_ipv6": True, "ipam": {"config": [{"subnet": str(subnet)}]}}
    assert ok(args)["actions"] == ["create"]
    created = docker_client.networks.get(unique_name)
    versions = sorted(ipaddress.ip_network(p["Subnet"]).version for p in created.attrs["IPAM"]["Config"])
    assert versions == [4, 6], "the engine adds an IPv4 pool of its own"
    for check in (True, False):
        again = ok(args, check=check)
        assert not again["changed"] and again["actions"] == []
    assert docker_client.networks.get(unique_name).id == created.id


@pytest.mark.parametrize("subnet, message", [
    ("fdd1:acc:252:7ce1::", "ipam.config[0].subnet 'fdd1:acc:252:7ce1::' has no prefix length"),
    ("fd00:1::1/64", "ipam.config[0].subnet 'fd00:1::1/64' has host bits set: did you mean fd00:1::/64?"),
])
def test_invalid_subnet_fails_before_the_network_is_touched(docker_client, net, make_name, cleanup, test_images,
                                                            subnet, message):
    ok(net["args"])
    before = docker_client.networks.get(net["name"])
    web = sleeper(docker_client, cleanup, make_name("web"), test_images.busybox, net["name"])
    bad = dict(net["args"], enable_ipv6=True, ipam={"config": [{"subnet": subnet}]})
    for check in (True, False):
        assert message in fails(bad, check=check)
    after = docker_client.networks.get(net["name"])
    assert after.id == before.id, "the network was neither removed nor restored under a new ID"
    assert net["name"] in docker_client.containers.get(web.name).attrs["NetworkSettings"]["Networks"]


def test_ipv6_switched_on_without_an_ipv6_subnet_fails_before_removing(docker_client, net):
    ok(net["args"])
    before = docker_client.networks.get(net["name"]).id
    msg = fails({"name": net["name"], "enable_ipv6": True})
    assert "network %s cannot be recreated with enable_ipv6 true but no IPv6 subnet" % net["name"] in msg
    assert docker_client.networks.get(net["name"]).id == before
