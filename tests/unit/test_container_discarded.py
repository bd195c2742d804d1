"""Options the engine discards on hosts that cannot apply them are not compared (no daemon).

dockerd stores BlkioWeight 0 and MemorySwappiness null when the kernel lacks them; a plan comparing them
would update the container on every run. The /info answers below are shaped like dockerd 20.10's. Against
the real engine: tests/integration/test_container_race.py (test_discarded_...).
"""
from __future__ import annotations

import pytest

from ansible_collections.berth.engine.plugins.module_utils.container_plan import options_the_engine_discards
from ansible_collections.berth.engine.plugins.module_utils.container_resource import ContainerResource
from tests.unit.test_container_plan import fixture

V1_NEW_KERNEL = {"CgroupVersion": "1", "CgroupDriver": "cgroupfs", "KernelVersion": "6.1.0-18-amd64",
                 "Warnings": None}
V1_OLD_KERNEL = {"CgroupVersion": "1", "CgroupDriver": "cgroupfs", "KernelVersion": "3.10.0-1160.el7.x86_64",
                 "Warnings": None}
V2_NO_IO_WEIGHT = {"CgroupVersion": "2", "CgroupDriver": "systemd", "KernelVersion": "6.1.0-18-amd64",
                   "Warnings": ["WARNING: No io.weight support", "WARNING: No io.weight (per device) support"]}
V2_IO_WEIGHT = {"CgroupVersion": "2", "CgroupDriver": "systemd", "KernelVersion": "6.1.0-18-amd64",
                "Warnings": None}


@pytest.mark.parametrize("info, discarded", [
    (V1_NEW_KERNEL, ["blkio_weight"]),
    (V1_OLD_KERNEL, []),
    (V2_NO_IO_WEIGHT, ["blkio_weight", "memory_swappiness"]),
    (V2_IO_WEIGHT, ["memory_swappiness"]),
    ({}, []),
])
def test_which_options_the_engine_discards(info, discarded):
    assert sorted(options_the_engine_discards(info)) == discarded


def container_as_stored(blkio_weight, swappiness):
    image = fixture("container_image.json")
    document = fixture("container_web.json")
    document["Image"] = image["Id"]
    document["Config"]["Env"] = list(image["Config"].get("Env") or [])
    document["HostConfig"].update(BlkioWeight=blkio_weight, MemorySwappiness=swappiness)
    return document


def plan_for(stored, info, **params):
    resource = ContainerResource(None, dict({"name": "web", "image": "berth-test/busybox"}, **params))
    state = {"current": stored, "image": fixture("container_image.json"), "pull": None, "networks": {},
             "network_mode_target": None, "asides": []}
    if info is not None:
        state["discarded"] = options_the_engine_discards(info)
    return resource.plan(state)


def test_a_discarded_blkio_weight_is_not_a_difference_and_says_so():
    stored = container_as_stored(0, None)  # what dockerd keeps of blkio_weight 500 on such a host
    assert plan_for(stored, V1_OLD_KERNEL, blkio_weight=500).action_names() == ["update"], "kept there: compared"
    plan = plan_for(stored, V1_NEW_KERNEL, blkio_weight=500)
    assert plan.actions == []
    assert plan.warnings == ["container web: the engine discards blkio_weight on this host (cgroup v1 has no "
                             "blkio.weight since Linux 5.0), so it is not compared"]


def test_a_discarded_swappiness_is_not_a_difference_on_cgroup_v2_only():
    stored = container_as_stored(0, None)
    assert plan_for(stored, V1_NEW_KERNEL, memory_swappiness=10).action_names() == ["recreate"]
    assert plan_for(stored, V2_IO_WEIGHT, memory_swappiness=10).actions == []


def test_the_other_options_are_still_compared_where_something_is_discarded():
    stored = container_as_stored(0, None)
    plan = plan_for(stored, V2_NO_IO_WEIGHT, blkio_weight=500, memory_swappiness=10, env={"NEW": "1"})
    assert plan.action_names() == ["recreate"] and len(plan.warnings) == 2


def test_options_not_set_are_neither_compared_nor_warned_about():
    plan = plan_for(container_as_stored(0, None), V2_NO_IO_WEIGHT)
    assert plan.actions == [] and plan.warnings == []
