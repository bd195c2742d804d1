"""Plans stay exact on the documents Docker 28.5 (containerd image store) returns at API 1.51.

Captured from the real engine (scripts/engine28.sh) after berth.engine.network and berth.engine.container
made these objects with the arguments below. At 1.51 the image's Config leaves out its empty fields
(Hostname, Tty, OpenStdin, ...), images carry a Descriptor, containers an ImageManifestDescriptor,
endpoints a GwPriority and networks EnableIPv4; none of that may read as a change, and a real change
must still show.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from ansible_collections.berth.engine.plugins.module_utils.container_plan import desired_container, plan_container
from ansible_collections.berth.engine.plugins.module_utils.network_plan import (
    ARGUMENT_SPEC,
    desired_network,
    plan_network,
)

FIXTURES = Path(__file__).parent / "fixtures"
CONTAINER = json.loads((FIXTURES / "container_web_docker28.5_api1.51.json").read_text())
IMAGE = json.loads((FIXTURES / "image_busybox_docker28.5_api1.51.json").read_text())
NETWORK = json.loads((FIXTURES / "network_dual_stack_docker28.5_api1.51.json").read_text())

CONTAINER_ARGS = dict(
    name="berth-engcap-web", image="berth-test/busybox", command=["sleep", "3600"],
    ports=["127.0.0.1:8000-8010:8080", "127.0.0.1::9000-9001"], volumes=["/cache"], log_options={"max-size": "5m"},
    stop_signal="TERM", mac_address="02:42:AC:11:00:99", networks=[{"name": "berth-engcap-net", "aliases": ["web"]}],
    env={"A": "1"}, labels={"io.berth.x": "y"}, healthcheck={"test": ["CMD", "true"], "interval": "5s"},
    stop_timeout=1, state="started")
NETWORK_ARGS = dict(name="berth-engcap-net", enable_ipv6=True,
                    ipam={"config": [{"subnet": "fd00:beef:2::/64"}, {"subnet": "10.229.7.0/24"}]})


def container_plan(**overrides):
    return plan_container(desired_container(dict(CONTAINER_ARGS, **overrides)), CONTAINER, IMAGE)


def network_plan(document=NETWORK, **overrides):
    params = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    params.update(NETWORK_ARGS, **overrides)
    return plan_network(desired_network(params), document, [])


def test_the_documents_have_the_api_1_51_shape():
    assert "Descriptor" in IMAGE and "Tty" not in IMAGE["Config"] and "Hostname" not in IMAGE["Config"]
    assert "ImageManifestDescriptor" in CONTAINER
    assert "GwPriority" in CONTAINER["NetworkSettings"]["Networks"]["berth-engcap-net"]
    assert NETWORK["EnableIPv4"] is True


def test_a_container_made_by_berth_on_28_5_plans_no_change():
    assert container_plan().actions == []


def test_a_change_still_shows_on_28_5_documents():
    assert container_plan(tty=True).action_names() == ["recreate"]
    assert container_plan(mac_address="02:42:ac:11:00:98").action_names() == ["recreate"]
    assert container_plan(ports=["127.0.0.1:8000-8010:8080"]).action_names() == ["recreate"]
    assert container_plan(env={"A": "2"}).action_names() == ["recreate"]


def test_a_network_made_by_berth_on_28_5_plans_no_change_and_sees_a_change():
    assert network_plan().actions == []
    assert network_plan(labels={"team": "web"}).actions != []
    v4_only = copy.deepcopy(NETWORK)
    v4_only["EnableIPv6"] = False
    assert network_plan(v4_only).actions != []
