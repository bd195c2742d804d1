"""Options this host's engine may discard (blkio_weight, memory_swappiness): a rerun changes nothing.

dockerd keeps BlkioWeight 0 where the kernel has no block IO weight (cgroup v1 on Linux 5.0 or later,
cgroup v2 without io.weight) and MemorySwappiness null on cgroup v2. What it stored is read back with
the Docker SDK; whatever that is here, the second run must find nothing to do, and say why when the
engine dropped a value. The pure rules: tests/unit/test_container_discarded.py.
"""
from __future__ import annotations

import pytest

from tests.support.ansible import module_helpers

converge, ok, fails = module_helpers("berth.engine.container")


@pytest.fixture
def task(unique_name, cleanup, test_images):
    cleanup.container(unique_name)
    return {"name": unique_name, "image": test_images.busybox, "blkio_weight": 500, "memory_swappiness": 60}


def test_a_rerun_with_options_the_engine_may_discard_reports_no_change(docker_client, task):
    first = ok(task)
    assert first["changed"] and first["actions"] == ["create", "start"]
    stored = docker_client.api.inspect_container(task["name"])["HostConfig"]
    container_id = docker_client.containers.get(task["name"]).id

    predicted = ok(task, check=True)
    again = ok(task)
    assert not predicted["changed"] and predicted["actions"] == []
    assert not again["changed"] and again["actions"] == [], (stored, again)
    assert docker_client.containers.get(task["name"]).id == container_id

    warnings = " ".join(again.get("warnings") or [])
    for option, key, kept in (("blkio_weight", "BlkioWeight", 500), ("memory_swappiness", "MemorySwappiness", 60)):
        if stored[key] == kept:
            assert option not in warnings, "the engine kept %s, so it is compared without a warning" % option
        else:
            assert "the engine discards %s on this host" % option in warnings, (stored, warnings)


def test_a_kept_option_is_still_compared(docker_client, task):
    ok(task)
    stored = docker_client.api.inspect_container(task["name"])["HostConfig"]
    changed = ok(dict(task, memory_swappiness=30))
    if stored["MemorySwappiness"] == 60:  # kept here (cgroup v1): a different value is a change
        assert changed["changed"] and changed["actions"] == ["recreate"]
        assert docker_client.api.inspect_container(task["name"])["HostConfig"]["MemorySwappiness"] == 30
    else:
        assert not changed["changed"]
