"""Unit tests for the pure volume plan (no daemon)."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.berth.engine.plugins.module_utils.volume_plan import (
    ARGUMENT_SPEC,
    compare_volume,
    desired_volume,
    plan_volume,
    volume_body,
    volume_users_from_list,
)


def desired(**overrides):
    base = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    base.update(name="data")
    base.update(overrides)
    return desired_volume(base)


def inspect(**overrides):
    volume = {"Name": "data", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/data/_data",
              "Labels": {"team": "db", "com.docker.compose.project": "x"},
              "Options": {"type": "tmpfs", "device": "tmpfs", "o": "size=10m"}, "Scope": "local"}
    volume.update(overrides)
    return volume


OPTS = {"type": "tmpfs", "device": "tmpfs", "o": "size=10m"}


def test_desired_keeps_only_what_is_set():
    assert desired()["config"] == {}
    assert desired(driver_opts={"o": 1}, labels={"a": True})["config"] == {
        "driver_opts": {"o": "1"}, "labels": {"a": "true"}}
    with pytest.raises(ValueError, match="recreate must be one of never, options_changed"):
        desired(recreate="always")


def test_create_body_defaults_to_local():
    assert volume_body(desired()) == {"Name": "data", "Driver": "local", "DriverOpts": {}, "Labels": {}}
    plan = plan_volume(desired(driver_opts=OPTS, labels={"a": "b"}), None)
    assert plan.action_names() == ["create"]
    assert plan.actions[0]["body"] == {"Name": "data", "Driver": "local", "DriverOpts": OPTS, "Labels": {"a": "b"}}
    assert plan.diff()["before"] == {"state": "absent"}
    assert plan.diff()["after"] == {"state": "present", "driver_opts": OPTS, "labels": {"a": "b"}}


def test_unchanged_volume_plans_nothing():
    assert plan_volume(desired(), inspect()).actions == []
    same = desired(driver="local", driver_opts=OPTS, labels={"team": "db"})
    assert compare_volume(same, inspect()) == []
    assert plan_volume(same, inspect()).actions == []


@pytest.mark.parametrize("overrides, key", [
    ({"driver": "other"}, "driver"),
    ({"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=20m"}}, "driver_opts"),
    ({"driver_opts": {"type": "tmpfs", "device": "tmpfs"}}, "driver_opts"),  # removing an option is a change
    ({"driver_opts": {}}, "driver_opts"),
    ({"labels": {"team": "web"}}, "labels"),
    ({"labels": {"new": "x"}}, "labels"),
])
def test_drift_fails_without_recreate_and_keeps_the_data(overrides, key):
    assert [d[0] for d in compare_volume(desired(**overrides), inspect())] == [key]
    with pytest.raises(ValueError) as err:
        plan_volume(desired(**overrides), inspect())
    message = str(err.value)
    assert "volume data differs from the task in %s" % key in message
    assert "recreate: options_changed" in message and "nothing was changed" in message


def test_drift_message_shows_both_values():
    with pytest.raises(ValueError, match=r"driver_opts is \{.*size=10m.*\}, the task wants \{.*size=20m"):
        plan_volume(desired(driver_opts=dict(OPTS, o="size=20m")), inspect())


def test_options_changed_recreates_with_a_warning():
    plan = plan_volume(desired(driver_opts=dict(OPTS, o="size=20m"), recreate="options_changed"), inspect())
    assert plan.action_names() == ["recreate"]
    assert plan.actions[0]["reasons"] == ["driver_opts"]
    assert plan.actions[0]["body"]["DriverOpts"]["o"] == "size=20m"
    assert plan.diff()["before"] == {"driver_opts": OPTS}
    assert "deletes its data" in plan.warnings[0]


def test_absent():
    assert plan_volume(desired(state="absent"), None).actions == []
    plan = plan_volume(desired(state="absent"), inspect())
    assert plan.action_names() == ["remove"]
    assert plan.diff()["before"] == {"state": "present"} and plan.diff()["after"] == {"state": "absent"}


# --- VolumeResource.plan and the users read, with documents captured from the engine -------------

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def resource(**overrides):
    from ansible_collections.berth.engine.plugins.module_utils.volume_resource import VolumeResource

    return VolumeResource(None, dict({key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()},
                                     name="berth-fixture-data", **overrides))


def test_users_come_from_the_container_list():
    users = volume_users_from_list(fixture("volume_users_summaries"), "berth-fixture-data")
    assert users == ["berth-fixture-db (created)"]
    assert volume_users_from_list(fixture("volume_users_summaries"), "other") == []


def test_resource_plans_from_the_state_read():
    volume = fixture("volume_data")
    same = resource(driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=10m"}, labels={"team": "db"})
    assert same.plan({"current": volume, "users": []}).actions == []
    assert resource().plan({"current": None, "users": []}).action_names() == ["create"]
    users = ["berth-fixture-db (created)"]
    with pytest.raises(ValueError, match=r"berth-fixture-data cannot be removed: it is in use by container\(s\) "
                                         r"berth-fixture-db \(created\)"):
        resource(state="absent").plan({"current": volume, "users": users})
    with pytest.raises(ValueError, match="cannot be recreated: it is in use"):
        resource(labels={"team": "web"}, recreate="options_changed").plan({"current": volume, "users": users})
    recreate = resource(labels={"team": "web"}, recreate="options_changed").plan({"current": volume, "users": []})
    assert recreate.action_names() == ["recreate"]


def test_a_local_volume_name_longer_than_name_max_is_refused_before_anything():
    with pytest.raises(ValueError, match="is 305 bytes long: the local driver keeps a volume in a directory"):
        desired_volume({"name": "x" * 300 + "_data"})
    assert desired_volume({"name": "x" * 255})["name"] == "x" * 255
    assert desired_volume({"name": "x" * 300, "state": "absent"})["state"] == "absent"
    assert desired_volume({"name": "x" * 300, "driver": "rexray"})["config"] == {"driver": "rexray"}
