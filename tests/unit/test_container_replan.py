"""What a container run does when another run got to the container first (no daemon).

converge_container re-reads and re-plans once on a race (container_resource.Raced: a name conflict on
create, a rename that finds the container gone or renamed); these are the pure plans it then makes
from what the other run left, and the bound on how often it tries. Against the real engine:
tests/integration/test_container_race.py.
"""
from __future__ import annotations

import pytest

from ansible_collections.berth.engine.plugins.module_utils.container_resource import (
    ContainerResource,
    Raced,
    converge_container,
)
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.plan import Plan
from tests.unit.test_container_plan import fixture

PARAMS = {"name": "web", "image": "berth-test/busybox", "state": "started", "env": {"MODE": "prod"}}


def other_runs_container(env=None, running=False):
    """The inspect document of the container another run created under our name (a real engine's shape)."""
    image = fixture("container_image.json")
    document = fixture("container_web.json")
    document["Name"] = "/web"
    document["Image"] = image["Id"]
    document["Config"]["Image"] = "berth-test/busybox:latest"
    document["Config"]["Env"] = list(image["Config"].get("Env") or []) + [
        "%s=%s" % item for item in (env or PARAMS["env"]).items()]
    document["State"].update(Running=running, Status="running" if running else "created",
                             StartedAt="0001-01-01T00:00:00Z" if not running else "2026-12-01T10:00:00Z")
    return document


def state_with(current):
    return {"current": current, "image": fixture("container_image.json"), "pull": None, "networks": {},
            "network_mode_target": None, "asides": []}


def replan(current, **overrides):
    return ContainerResource(None, dict(PARAMS, **overrides)).plan(state_with(current)).action_names()


def test_the_first_plan_creates_and_the_replan_adopts_an_equal_container_the_other_run_created():
    assert replan(None) == ["create", "start"]
    assert replan(other_runs_container()) == ["start"], "created, not started, by the other run: just start it"
    assert replan(other_runs_container(running=True)) == [], "the other run started it too: nothing left to do"


def test_the_replan_recreates_a_container_the_other_run_created_differently():
    assert replan(other_runs_container(env={"MODE": "debug"}, running=True)) == ["recreate"]
    assert replan(other_runs_container(env={"MODE": "debug"}), recreate="never") == ["start"]


class ScriptedResource(ContainerResource):
    """The real desire and plan; read and apply replaced by a script (what each read finds, which applies race)."""

    def __init__(self, reads, races):
        super().__init__(None, dict(PARAMS))
        self.reads, self.races, self.applied = list(reads), races, []

    def read(self, known=None, **given):
        return state_with(self.reads.pop(0))

    def apply(self, plan, state):
        self.applied.append(plan.action_names())
        if len(self.applied) <= self.races:
            raise Raced("creating container web failed: Conflict. The container name \"/web\" is already in use",
                        409, "Conflict")
        return state["current"] or {"Id": "ours"}


def test_one_race_reads_and_plans_once_more_and_returns_the_second_plan():
    resource = ScriptedResource(reads=[None, other_runs_container()], races=1)
    plan, state, _document = converge_container(resource)
    assert resource.applied == [["create", "start"], ["start"]]
    assert isinstance(plan, Plan) and plan.action_names() == ["start"]
    assert state["current"]["Name"] == "/web"


def test_a_second_race_fails_naming_the_container_and_what_to_do():
    resource = ScriptedResource(reads=[None, None], races=2)
    with pytest.raises(EngineError) as caught:
        converge_container(resource)
    assert not isinstance(caught.value, Raced), "not retried a third time"
    assert resource.applied == [["create", "start"], ["create", "start"]]
    message = str(caught.value)
    assert "container web changed again" in message and "run the task again" in message
    assert "already in use" in message and caught.value.status == 409


def test_no_race_no_second_read():
    resource = ScriptedResource(reads=[None], races=0)
    assert converge_container(resource)[0].action_names() == ["create", "start"]
    assert resource.reads == [] and len(resource.applied) == 1
