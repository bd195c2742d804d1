"""The container resource's image, on the one contract (no daemon): read() only reads, the plan says
whether a pull comes, and apply() pulls and plans the rest again from the pulled image.

The fake engine answers with documents captured from a real engine (tests/unit/fixtures) and records
every call, so a test can say that a read wrote nothing and that check mode predicted the real run.
"""
from __future__ import annotations

import copy

import pytest

from ansible_collections.berth.engine.plugins.module_utils.container_resource import ContainerResource
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.resource import converge
from tests.unit.test_container_plan import fixture
from tests.unit.test_container_replan import other_runs_container

PARAMS = {"name": "web", "image": "berth-test/busybox", "state": "started", "env": {"MODE": "prod"}}


class RecordingEngine:
    """Images by reference, containers by name; `registry` is the digest the registry reports (None: unknown).
    A pull makes `pulled` the reference's image; create and start make the container."""

    timeout = 60

    def __init__(self, image=None, container=None, registry=None, pulled=None):
        self.images = {"berth-test/busybox:latest": image} if image else {}
        self.containers = {"web": container} if container else {}
        self.registry, self.pulled = registry, pulled
        self.calls = []

    def inspect(self, kind, name):
        self.calls.append(("inspect", kind, name))
        if kind == "image":
            return copy.deepcopy(self.images.get(name))
        if kind == "container":
            return copy.deepcopy(self.containers.get(name) or next(
                (c for c in self.containers.values() if c["Id"] == name), None))
        return None

    def listing(self, kind, filters=None, all=False):
        self.calls.append(("listing", kind))
        return []

    def get(self, path, headers=None):
        self.calls.append(("get", path))
        if self.registry is None:
            raise EngineError("registry unreachable")
        return {"Descriptor": {"digest": self.registry}}

    def stream(self, method, path, query=None, headers=None, timeout=None):
        self.calls.append(("pull", query["fromImage"], query["tag"]))
        self.images["berth-test/busybox:latest"] = self.pulled

    def create(self, kind, body, params=None):
        self.calls.append(("create", kind))
        container = other_runs_container()
        container["Id"] = "new" + "0" * 61
        container["Image"] = body["Image"]
        self.containers[params["name"]] = container
        return {"Id": container["Id"]}

    def act(self, kind, container_id, action, params=None, body=None, timeout=None):
        self.calls.append((action, kind))
        if action == "rename":
            name = next(n for n, c in self.containers.items() if c["Id"] == container_id)
            self.containers[params["name"]] = self.containers.pop(name)

    def remove(self, kind, container_id, params=None):
        self.calls.append(("remove", kind))
        self.containers = {n: c for n, c in self.containers.items() if c["Id"] != container_id}

    def writes(self):
        return [call for call in self.calls if call[0] not in ("inspect", "listing", "get")]


def image(image_id="sha256:" + "1" * 64, digest=None):
    document = fixture("container_image.json")
    document["Id"] = image_id
    document["RepoDigests"] = ["berth-test/busybox@" + digest] if digest else []
    return document


def test_a_missing_image_is_read_without_a_pull_and_pulled_by_apply_as_check_mode_predicted():
    pulled = image()
    predicted, state, _doc = converge(ContainerResource(RecordingEngine(pulled=pulled), PARAMS, check_mode=True))
    assert predicted.action_names() == ["pull", "create", "start"] and state["pull"] == "predicted"

    engine = RecordingEngine(pulled=pulled)
    resource = ContainerResource(engine, PARAMS)
    state = resource.read()
    assert engine.writes() == [], "read() only reads"
    plan = resource.plan(state)
    assert plan.action_names() == predicted.action_names()
    resource.apply(plan, state)
    assert engine.writes() == [("pull", "berth-test/busybox", "latest"), ("create", "container"),
                               ("start", "container")], "the pull comes first, in apply"
    assert plan.action_names() == ["pull", "create", "start"], "the plan reported is what was done"
    assert plan.actions[1]["body"]["Image"] == "berth-test/busybox:latest"


def test_pull_always_asks_the_registry_and_pulls_only_for_another_digest():
    local = image(digest="sha256:" + "a" * 64)
    running = other_runs_container(running=True)
    running["Image"] = local["Id"]
    same = RecordingEngine(image=local, container=running, registry="sha256:" + "a" * 64)
    plan, _state, _doc = converge(ContainerResource(same, dict(PARAMS, pull="always")))
    assert plan.actions == [] and same.writes() == [], "the registry has the image the host has"

    moved = RecordingEngine(image=local, container=running, registry="sha256:" + "b" * 64,
                            pulled=image("sha256:" + "2" * 64, "sha256:" + "b" * 64))
    checked, _state, _doc = converge(ContainerResource(moved, dict(PARAMS, pull="always"), check_mode=True))
    assert checked.action_names() == ["pull", "recreate"] and moved.writes() == []
    plan, _state, _doc = converge(ContainerResource(moved, dict(PARAMS, pull="always")))
    assert plan.action_names() == checked.action_names()
    assert plan.actions[1]["reasons"] == ["image"]
    assert [call[0] for call in moved.writes()] == ["pull", "stop", "rename", "create", "start", "remove"]


def test_a_pull_that_brings_the_same_image_changes_nothing():
    """The registry could not be asked: the pull is planned, and once it brought the image the container
    runs, the plan made again from it has nothing left to do."""
    local = image()
    running = other_runs_container(running=True)
    running["Image"] = local["Id"]
    engine = RecordingEngine(image=local, container=running, registry=None, pulled=local)
    plan, _state, _doc = converge(ContainerResource(engine, dict(PARAMS, pull="always")))
    assert engine.writes() == [("pull", "berth-test/busybox", "latest")]
    assert plan.actions == [] and not plan.changed


def test_an_image_given_by_the_caller_is_not_read_again():
    """A stack's pre-flight obtained the image once for all its containers: read() takes it as given."""
    pulled = image()
    engine = RecordingEngine()
    state = ContainerResource(engine, PARAMS).read(None, asides=[], image=(pulled, "done"), networks={})
    assert state["image"] == pulled and state["pull"] == "done"
    assert engine.calls == [], "the container, its asides and its image were all given"


def test_pull_never_fails_in_read_naming_the_fix():
    with pytest.raises(EngineError, match="not on the host and pull is never"):
        ContainerResource(RecordingEngine(), dict(PARAMS, pull="never")).read()
