"""Races on one container name against the real engine, staged at a fixed moment of a run.

Berth talks to dockerd through tests/support/engine_proxy.py, which lets the Docker SDK act (as
"another client") right before or after a chosen request of Berth's: the other client takes the name
between Berth's read and its create, or renames the container Berth is about to recreate. Berth then
has to read and plan again, once (container_resource.converge_container), and end in a state that the SDK
confirms. The pure decisions: tests/unit/test_container_replan.py.
"""
from __future__ import annotations

import re

import pytest

from tests.support.ansible import module_helpers
from tests.support.engine_proxy import EngineProxy

converge, ok, fails = module_helpers("berth.engine.container")


def create_of(name):
    """The path pattern of the create call for `name` (the name is a query parameter)."""
    return r"^/containers/create\?(.*&)?name=%s(&|$)" % re.escape(name)


def names_like(docker_client, name):
    return sorted(c.name for c in docker_client.containers.list(all=True, filters={"name": name})
                  if c.name.startswith(name))


@pytest.fixture
def task(unique_name, cleanup, test_images):
    cleanup.container(unique_name)
    # stop_timeout 1: busybox's sleep ignores SIGTERM, so each stop would otherwise wait the default 10 s.
    return {"name": unique_name, "image": test_images.busybox, "env": {"RACE": "berth"}, "stop_timeout": 1}


def another_client_creates(docker_client, task, made, env=None, start=False):
    """A hook: the Docker SDK creates (and starts) a container under the task's name, like another run would."""
    def create():
        created = docker_client.api.create_container(task["image"], name=task["name"], environment=env or task["env"],
                                                     stop_timeout=task["stop_timeout"])
        if start:
            docker_client.api.start(created["Id"])
        made.append(created["Id"])
    return create


def test_create_that_loses_the_name_to_an_equal_container_adopts_it(docker_client, task):
    made = []
    with EngineProxy() as proxy:
        proxy.before("POST", create_of(task["name"]), another_client_creates(docker_client, task, made))
        result = ok(dict(task, docker_host=proxy.docker_host))
    assert len(made) == 1, "the race was staged: the other client created the name before Berth's create"
    assert proxy.count("POST", create_of(task["name"])) == 1, "the re-plan does not create again"
    assert result["changed"] and result["actions"] == ["start"], result
    seen = docker_client.containers.get(task["name"])
    assert seen.id == made[0] and seen.status == "running"
    assert result["container"]["Id"] == made[0]
    assert names_like(docker_client, task["name"]) == [task["name"]]


def test_create_that_loses_the_name_to_a_different_container_recreates_it(docker_client, task):
    made = []
    other = another_client_creates(docker_client, task, made, env={"RACE": "other"}, start=True)
    with EngineProxy() as proxy:
        proxy.before("POST", create_of(task["name"]), other)
        result = ok(dict(task, docker_host=proxy.docker_host))
    assert len(made) == 1
    assert result["changed"] and result["actions"] == ["recreate"], result
    seen = docker_client.containers.get(task["name"])
    assert seen.id != made[0] and "RACE=berth" in seen.attrs["Config"]["Env"] and seen.status == "running"
    assert names_like(docker_client, task["name"]) == [task["name"]], "the other container went after the recreate"
    assert not ok(task)["changed"], "converged: a plain rerun finds nothing to do"


def test_a_second_race_fails_naming_the_container_and_leaves_the_name_to_the_other_client(docker_client, task):
    made = []

    def other_client_removes_its_container_again():
        docker_client.containers.get(made[-1]).remove(force=True)

    with EngineProxy() as proxy:
        proxy.before("POST", create_of(task["name"]), another_client_creates(docker_client, task, made), times=2)
        proxy.after("POST", create_of(task["name"]), other_client_removes_its_container_again, times=2)
        msg = fails(dict(task, docker_host=proxy.docker_host))
    assert len(made) == 2 and proxy.count("POST", create_of(task["name"])) == 2, "two races, no third try"
    assert "container %s changed again" % task["name"] in msg and "run the task again" in msg, msg
    assert names_like(docker_client, task["name"]) == []


def test_recreate_of_a_container_another_client_renamed_away_creates_it_anew(docker_client, task):
    ok(dict(task, env={"RACE": "before"}))
    old = docker_client.containers.get(task["name"])
    moved = task["name"] + "-moved"

    def other_client_renames_it():
        old.rename(moved)

    with EngineProxy() as proxy:
        # The recreate looks at the old container by ID right before it stops and renames it aside.
        proxy.before("GET", r"^/containers/%s/json" % old.id, other_client_renames_it)
        result = ok(dict(task, docker_host=proxy.docker_host))
    assert proxy.count("GET", r"^/containers/%s/json" % old.id) >= 1
    assert result["actions"] == ["create", "start"], result
    renamed = docker_client.containers.get(moved)
    assert renamed.id == old.id and renamed.status == "running", "the other client's container is left alone"
    seen = docker_client.containers.get(task["name"])
    assert seen.id != old.id and "RACE=berth" in seen.attrs["Config"]["Env"] and seen.status == "running"


def test_a_name_taken_while_the_old_container_is_aside_is_left_to_its_new_owner(docker_client, task):
    ok(dict(task, env={"RACE": "before"}))
    old = docker_client.containers.get(task["name"])
    made = []
    with EngineProxy() as proxy:
        # Berth's create of the replacement comes after it stopped the old container and renamed it aside.
        proxy.before("POST", create_of(task["name"]),
                     another_client_creates(docker_client, task, made, env={"RACE": "other"}, start=True))
        msg = fails(dict(task, docker_host=proxy.docker_host))
    assert "another run or tool created a container under its name" in msg and "run the task again" in msg, msg
    holder = docker_client.containers.get(task["name"])
    assert holder.id == made[0] and holder.status == "running", "the other client's container is not removed"
    aside = docker_client.containers.get(old.id)
    assert aside.name != task["name"] and aside.name in msg and aside.status == "exited"

    again = ok(task)  # the other client is done: the rerun finishes the replacement
    assert again["changed"], again
    seen = docker_client.containers.get(task["name"])
    assert "RACE=berth" in seen.attrs["Config"]["Env"] and seen.status == "running"
    assert names_like(docker_client, task["name"]) == [task["name"]], "the previous container went too"
