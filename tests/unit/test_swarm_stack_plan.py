"""Unit tests for the pure parts of swarm_stack: validation, overlay network plan, kernel pre-check (no daemon)."""
from __future__ import annotations

import pytest
import yaml

from ansible_collections.berth.engine.plugins.module_utils.swarm_stack import (
    ARGUMENT_SPEC,
    NETWORK_SPEC,
    ItemError,
    SwarmStack,
    desired_overlay,
    plan_network,
    validate_entry,
)
from tests.unit.test_module_docs import compare as compare_docs

OVERLAY = {"Name": "shop", "Id": "n1", "Driver": "overlay", "Scope": "swarm", "Attachable": True, "Internal": False,
           "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"},
           "Labels": {"io.berth.swarm_stack": "shop"}}


class NoEngine:
    """Stands in for the client where the code under test must not need the engine beyond these answers."""

    def __init__(self, services=None, networks=None, nodes=None):
        self.services = services or {}
        self.networks = networks or {}
        self.nodes = nodes or []

    def inspect(self, kind, name):
        return {"service": self.services, "network": self.networks}[kind].get(name)

    def listing(self, kind, filters=None):
        assert kind == "node"
        return self.nodes


LABELLED_NO = [{"ID": "a", "Spec": {"Labels": {"io.berth.kernel.ip_vs": "false", "io.berth.kernel.esp": "false"}},
                "Description": {"Hostname": "a"}}]


def test_documentation_matches_argument_spec():
    from ansible_collections.berth.engine.plugins.modules import swarm_stack

    assert compare_docs(ARGUMENT_SPEC, yaml.safe_load(swarm_stack.DOCUMENTATION)["options"], "swarm_stack") == []


def test_network_plan():
    item = validate_entry("networks", NETWORK_SPEC, {"name": "shop"})
    assert plan_network(desired_overlay(item), OVERLAY).actions == []
    created = plan_network(desired_overlay(dict(item, encrypted=True, labels={"a": "b", "io.berth.swarm_stack": "s"})),
                           None)
    body = created.actions[0]["body"]
    assert body["Options"] == {"encrypted": ""} and body["Labels"] == {"a": "b", "io.berth.swarm_stack": "s"}
    with pytest.raises(ValueError, match="encrypted is False, declared True.*cannot change in place"):
        plan_network(desired_overlay(dict(item, encrypted=True)), OVERLAY)


def test_networks_are_resources_labelled_as_the_stacks():
    stack = SwarmStack(NoEngine(), {"name": "s", "networks": [{"name": "shop", "labels": {"a": "b"}}]}, False)
    network = stack.resources()["networks"][0]
    assert network.desired["body"]["Labels"] == {"a": "b", "io.berth.swarm_stack": "s"}
    assert network.plan(network.read(None)).action_names() == ["create"]
    assert network.plan(network.read(OVERLAY)).actions == []


@pytest.mark.parametrize("kind, entry, message", [
    ("services", {"name": "web", "image": "x", "wait_timeout": -5}, "wait_timeout must be a number from 0 to 86400"),
    ("services", {"name": "web", "image": "x", "wait_timeout": float("inf")}, "wait_timeout must be a finite number"),
    ("services", {"name": "web", "image": "x", "wait_timeout": ".inf"}, "wait_timeout.*cannot be converted"),
    ("services", {"name": "web", "image": "x\x00y"}, "image must not contain a NUL byte"),
    ("services", {"name": "web", "image": "x", "networks": [{"name": "a\x00b"}]},
     "networks\\[0\\].name must not contain a NUL byte"),
    ("secrets", {"name": "db", "content": "x", "wait_timeout": -5}, "wait_timeout must be a number from 0 to 86400"),
    ("configs", {"name": "conf", "content": "x", "wait_timeout": float("inf")}, "wait_timeout must be a finite"),
    ("networks", {"name": "shop", "driver": "overlay\x00"}, "driver must not contain a NUL byte"),
    ("networks", {"name": "shop", "encrypted": "maybe"}, "encrypted"),
])
def test_entries_are_refused_as_their_own_modules_refuse_them(kind, entry, message):
    """Each entry goes through validate_params, as the single-resource module's task does."""
    stack = SwarmStack(NoEngine(), {"name": "s", kind: [entry]}, False)
    with pytest.raises(ItemError, match="%s entry %s: .*%s" % (kind, entry["name"], message)):
        stack.resources()


def test_bad_entries_fail_before_anything():
    with pytest.raises(ItemError, match="services entry web"):
        SwarmStack(NoEngine(), {"name": "s", "services": [{"name": "web", "replicas": "many"}]}, False).resources()
    with pytest.raises(ItemError, match="service declared twice: web"):
        SwarmStack(NoEngine(), {"name": "s", "services": [{"name": "web"}, {"name": "web"}]}, False).resources()
    with pytest.raises(ItemError, match="secret db: .*exactly one of content"):
        SwarmStack(NoEngine(), {"name": "s", "secrets": [{"name": "db"}]}, False).resources()


def test_preflight_refuses_invalid_image_references_before_anything():
    stack = SwarmStack(NoEngine(), {"name": "s", "services": [
        {"name": "web", "image": "nc-busybox:"}, {"name": "api", "image": "Api:1"}, {"name": "ok", "image": "x:1"}]},
        False)
    result = stack.converge()  # NoEngine answers nothing a change needs: the pre-flight stops first
    assert result["failures"] == [
        "service api: image reference 'Api:1' is not valid: the repository name must be lowercase; write it as "
        "[registry[:port]/]name[:tag][@digest], e.g. busybox:1.36",
        "service web: image reference 'nc-busybox:' is not valid: it ends with ':' and no tag or digest after it; "
        "write it as [registry[:port]/]name[:tag][@digest], e.g. busybox:1.36"]
    assert not result["changed"]


@pytest.mark.parametrize("params, feature", [
    ({"networks": [{"name": "shop", "encrypted": True}]}, "esp"),
    ({"services": [{"name": "web", "image": "x", "networks": [{"name": "shop"}]}], "networks": [{"name": "shop"}]},
     "ip_vs"),
    ({"services": [{"name": "web", "image": "x", "endpoint_mode": "dnsrr", "ports": [{"target": 80}]}]}, "ip_vs"),
])
def test_kernel_pre_check_refuses(params, feature):
    stack = SwarmStack(NoEngine(nodes=LABELLED_NO), dict(name="s", **params), False)
    with pytest.raises(ItemError, match="%s.*nothing was changed" % feature):
        stack.check_kernel(stack.resources())


def test_kernel_pre_check_passes_dnsrr_host_and_uses_existing_service_spec():
    existing = {"ID": "w1", "Version": {"Index": 3}, "Spec": {"Name": "web", "TaskTemplate": {"ContainerSpec": {}},
                                                              "EndpointSpec": {"Mode": "dnsrr"}}}
    params = {"name": "s", "networks": [{"name": "shop"}], "services": [
        {"name": "web", "image": "x", "networks": [{"name": "shop"}],
         "ports": [{"target": 80, "published": 80, "publish_mode": "host"}]}]}
    stack = SwarmStack(NoEngine(services={"web": existing}, nodes=LABELLED_NO), params, False)
    stack.check_kernel(stack.resources())  # the service is dnsrr already: nothing needs IP_VS
    params["kernel_check"] = "skip"
    params["networks"] = [{"name": "shop", "encrypted": True}]
    stack = SwarmStack(NoEngine(nodes=LABELLED_NO), params, False)
    stack.check_kernel(stack.resources())


def test_prune_with_nothing_declared_is_refused_before_anything_is_read():
    from ansible_collections.berth.engine.plugins.module_utils.swarm_stack import refuse_empty_prune

    empty = {"networks": [], "secrets": [], "configs": [], "services": []}
    with pytest.raises(ValueError, match="use state: absent"):
        refuse_empty_prune("web", empty, True)
    refuse_empty_prune("web", empty, False)  # nothing declared, no prune: converges nothing
    refuse_empty_prune("web", dict(empty, services=["one"]), True)
