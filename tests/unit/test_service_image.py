"""service_resource.resolve_image against both image stores, with inspect documents from real engines.

The classic store (Docker 20.10) gives repo digests only to pulled or pushed images; the containerd
image store (Docker 28.5, captured at API 1.51) gives one to every tag, built or loaded alike, so a
repo digest there does not mean the registry has the image.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineClient
from ansible_collections.berth.engine.plugins.module_utils.service_resource import resolve_image
from tests.unit.fake_daemon import Reply

FIXTURES = Path(__file__).parent / "fixtures"
LOCAL_28 = json.loads((FIXTURES / "image_local_docker28.5_containerd.json").read_text())
DISTRIBUTION_28 = json.loads((FIXTURES / "distribution_docker28.5.json").read_text())
CLASSIC_LOCAL = json.loads((FIXTURES / "image_busybox.json").read_text())
HUB_DIGEST = "sha256:" + "ab" * 32
# Docker 28.5's answer when the registry cannot be reached (this machine has no route to Docker Hub).
UNREACHABLE = Reply(500, {"message": 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
                                     'registry-1.docker.io on 10.255.255.53:53: no such host'})


def engine(daemon, image, distribution):
    daemon.set_api_version("1.51")
    daemon.route("GET", "/v1.51/images/*", Reply(body=image))
    daemon.route("GET", "/v1.51/distribution/*", distribution)
    return EngineClient(docker_host=daemon.docker_host)


def asked_registry(daemon):
    return [s.path for s in daemon.seen if "/distribution/" in s.path]


def test_containerd_local_build_keeps_its_tag_silently_when_no_registry_answers(daemon):
    client = engine(daemon, LOCAL_28, UNREACHABLE)
    assert resolve_image(client, "berth-local/bx:1") == ("berth-local/bx:1", None)


def test_containerd_local_build_is_not_pinned_to_another_image_of_the_registry(daemon):
    client = engine(daemon, LOCAL_28, Reply(body={"Descriptor": {"digest": HUB_DIGEST}}))
    image, warning = resolve_image(client, "berth-local/bx:1")
    assert image == "berth-local/bx:1"
    assert LOCAL_28["Id"] in warning and HUB_DIGEST in warning and "pull the image" in warning


def test_containerd_image_the_registry_holds_is_pinned(daemon):
    client = engine(daemon, LOCAL_28, Reply(body=DISTRIBUTION_28))
    image, warning = resolve_image(client, "127.0.0.1:5917/bx:1")
    assert image == "127.0.0.1:5917/bx:1@" + LOCAL_28["Id"] and warning is None


def test_classic_store_local_build_asks_no_registry(daemon):
    client = engine(daemon, CLASSIC_LOCAL, UNREACHABLE)
    assert resolve_image(client, "berth-test/busybox") == ("berth-test/busybox", None)
    assert asked_registry(daemon) == []


def test_classic_store_pulled_image_follows_a_moved_tag_and_warns_when_unreachable(daemon):
    pulled = copy.deepcopy(CLASSIC_LOCAL)
    pulled["RepoDigests"] = ["berth-test/busybox@sha256:" + "cd" * 32]  # the pull's digest, not the ID
    client = engine(daemon, pulled, Reply(body={"Descriptor": {"digest": HUB_DIGEST}}))
    assert resolve_image(client, "berth-test/busybox") == ("berth-test/busybox@" + HUB_DIGEST, None)
    daemon.route("GET", "/v1.51/distribution/*", UNREACHABLE)
    image, warning = resolve_image(client, "berth-test/busybox:2")
    assert image == "berth-test/busybox:2" and "could not be read" in warning
