"""The watch on a started replacement (_confirm_running): it ends after START_GRACE_SECONDS of one
unrestarted run, and a replacement that dies or is restarted within it is rolled back."""
from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils import container_resource
from tests.support.ansible import module_helpers

converge, ok, fails = module_helpers("berth.engine.container")


def _web(name, image):
    return {"name": name, "image": image, "env": {"MODE": "a"}, "restart_policy": "unless-stopped",
            "stop_timeout": 1}


def test_grace_is_short_but_not_zero():
    assert 0.1 <= container_resource.START_GRACE_SECONDS <= 0.5


def test_replacement_restarted_by_its_policy_within_the_grace_rolls_back(docker_client, unique_name, cleanup,
                                                                         test_images):
    cleanup.container(unique_name)
    ok(_web(unique_name, test_images.busybox))
    original = docker_client.containers.get(unique_name)
    # Runs a moment, then dies; unless-stopped restarts it: a start that does not hold is a failure.
    dying = dict(_web(unique_name, test_images.busybox), env={"MODE": "b"},
                 command=["sh", "-c", "sleep 0.05; echo dying >&2; exit 4"])
    msg = fails(dying)
    assert "rolled back" in msg.lower() and original.id[:12] in msg
    survivor = docker_client.containers.get(unique_name)
    assert survivor.id == original.id and survivor.status == "running"
    assert "MODE=a" in survivor.attrs["Config"]["Env"]
    assert [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(unique_name)] == [
        unique_name]


def test_replacement_that_keeps_running_replaces_the_old_one(docker_client, unique_name, cleanup, test_images):
    cleanup.container(unique_name)
    ok(_web(unique_name, test_images.busybox))
    original = docker_client.containers.get(unique_name)
    changed = ok(dict(_web(unique_name, test_images.busybox), env={"MODE": "b"}))
    assert changed["actions"] == ["recreate"]
    new = docker_client.containers.get(unique_name)
    assert new.id != original.id and new.status == "running"
    assert new.attrs["RestartCount"] == 0 and "MODE=b" in new.attrs["Config"]["Env"]
    assert [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(unique_name)] == [
        unique_name]
