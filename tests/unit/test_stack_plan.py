"""The pure parts of the stack: validation of the declared set, depends_on waves, pruning, results."""
from __future__ import annotations

import os
import pwd
import re
import stat
import threading
import time

import pytest

from ansible_collections.berth.engine.plugins.module_utils.container_resource import ContainerResource
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.plan import Plan
from ansible_collections.berth.engine.plugins.module_utils.stack import (
    CONTAINER_ENTRY_SPEC,
    ItemError,
    build_result,
    check_depends_on,
    depends_on_waves,
    lock_directory,
    lock_file_name,
    prune_selection,
    secret_values,
    stack_lock,
    validate_entry,
)
from ansible_collections.berth.engine.plugins.module_utils.stack_base import duplicate_names, item_result, scrub


def test_waves_follow_depends_on():
    waves = depends_on_waves({"web": ["api"], "api": ["db", "cache"], "db": [], "cache": [], "worker": ["db"]})
    assert waves == [["cache", "db"], ["api", "worker"], ["web"]]
    assert depends_on_waves({}) == []


def test_a_cycle_is_refused_naming_its_members():
    with pytest.raises(ItemError, match="cycle among: a, b"):
        depends_on_waves({"a": ["b"], "b": ["a"], "c": []})
    with pytest.raises(ItemError, match="cycle among: self"):
        check_depends_on([{"name": "self", "depends_on": ["self"]}])


def test_unknown_dependencies_are_refused():
    with pytest.raises(ItemError, match="web depends_on nobody, which this stack does not declare"):
        check_depends_on([{"name": "web", "depends_on": ["nobody"]}, {"name": "db", "depends_on": []}])
    check_depends_on([{"name": "web", "depends_on": ["db"]}, {"name": "db", "depends_on": []}])


def test_duplicate_names():
    assert duplicate_names(["a", "b", "a", "c", "b"]) == ["a", "b"]
    assert duplicate_names(["a"]) == []


def test_entries_are_validated_with_the_container_spec():
    entry = validate_entry("containers", CONTAINER_ENTRY_SPEC, {"name": "web", "image": "x"})
    assert entry["state"] == "started" and entry["depends_on"] == []
    with pytest.raises(ItemError, match="containers entry web: .*state"):
        validate_entry("containers", CONTAINER_ENTRY_SPEC, {"name": "web", "state": "sideways"})
    with pytest.raises(ItemError, match="not a mapping"):
        validate_entry("containers", CONTAINER_ENTRY_SPEC, "web")


def test_prune_selection():
    owned = ["a", "b", "c"]
    assert prune_selection("containers", ["a"], owned, prune=True, prune_volumes=False) == ["b", "c"]
    assert prune_selection("networks", ["a", "b", "c"], owned, prune=True, prune_volumes=False) == []
    assert prune_selection("containers", [], owned, prune=False, prune_volumes=True) == []
    assert prune_selection("volumes", [], owned, prune=True, prune_volumes=False) == [], "data kept by default"
    assert prune_selection("volumes", ["c"], owned, prune=True, prune_volumes=True) == ["a", "b"]
    assert prune_selection("volumes", [], owned, prune=False, prune_volumes=True) == []


def test_an_item_result_says_why_its_plan_recreates():
    plan = Plan("container", "web")
    plan.add("stop")
    plan.add("recreate", reasons=["image", "env"])
    plan.add("recreate", reasons=["env", "ports"])
    assert item_result(plan) == {"changed": True, "actions": ["stop", "recreate", "recreate"],
                                 "reasons": ["image", "env", "ports"]}
    updated = Plan("container", "db")
    updated.add("update", options=["memory"])
    assert "reasons" not in item_result(updated), "only a recreate has reasons"
    assert "reasons" not in item_result(error=ItemError("failed"))


def test_results_and_summary():
    plan = Plan("container", "web")
    plan.add("recreate")
    waiting = Plan("container", "db")
    waiting.add("wait_healthy")
    results = {"networks": {"net": item_result(Plan("network", "net"))},
               "volumes": {},
               "containers": {"web": item_result(plan), "db": item_result(waiting),
                              "api": item_result(error=ItemError("not converged: it depends on web, which failed"))}}
    assert results["containers"]["web"] == {"changed": True, "actions": ["recreate"]}
    assert results["containers"]["db"] == {"changed": False, "actions": ["wait_healthy"]}
    result = build_result(results, {"networks": 1, "containers": 3})
    assert result["changed"]
    assert result["failures"] == ["container api: not converged: it depends on web, which failed"]
    assert result["summary"] == {"images": {"declared": 0, "changed": []},
                                 "networks": {"declared": 1, "changed": []},
                                 "volumes": {"declared": 0, "changed": []},
                                 "containers": {"declared": 3, "changed": ["web"]}}
    assert not build_result({"networks": {}, "volumes": {}, "containers": {}}, {})["changed"]


def test_secrets_are_scrubbed_at_every_depth():
    containers = [{"name": "a", "registry_password": "s3cret-long"}, {"name": "b", "registry_password": None},
                  {"name": "c", "registry_password": "s3cret"}]
    secrets = secret_values(containers)
    assert secrets == ["s3cret-long", "s3cret"], "longest first, so no secret is left half-masked"
    value = {"msg": "pull with s3cret-long failed", "diff": [{"after": {"env": {"X": "s3cret"}}}], "n": 1}
    assert scrub(value, secrets) == {"msg": "pull with ******** failed",
                                     "diff": [{"after": {"env": {"X": "********"}}}], "n": 1}
    assert scrub(value, []) is value


def test_the_stack_lock_waits_then_times_out_clearly(tmp_path):
    first = stack_lock("shop/1", timeout=5, directory=str(tmp_path))
    with first:
        assert os.path.dirname(first.path) == str(tmp_path), "the name cannot leave the lock directory"
        holder = "pid %d, user %s, since 20" % (os.getpid(), pwd.getpwuid(os.getuid()).pw_name)
        with pytest.raises(ItemError, match="another run is converging this stack on this host: %s.*holds %s.*"
                           "lock_timeout" % (re.escape(holder), re.escape(first.path))), \
                stack_lock("shop/1", timeout=0.5, directory=str(tmp_path)):
            pass
        with stack_lock("shop/1", timeout=0, skip=True, directory=str(tmp_path)):
            pass  # check mode does not wait
    released = threading.Event()

    def hold():
        with stack_lock("shop/1", timeout=5, directory=str(tmp_path)):
            released.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.3)
    threading.Timer(0.5, released.set).start()
    started = time.monotonic()
    with stack_lock("shop/1", timeout=10, directory=str(tmp_path)):
        waited = time.monotonic() - started
    holder.join()
    assert waited > 0.1, "the second converge waited for the first to release the lock"


def test_lock_file_names_are_safe_short_and_distinct_for_any_stack_name():
    assert re.fullmatch(r"stack-shop_1-[0-9a-f]{12}\.lock", lock_file_name("shop/1"))
    names = ["shop/1", "shop_1", "shop", "..", "../../etc/passwd", "", "é" * 300, "a" * 300, "a" * 299 + "b",
             "x\0y", "caf\u00e9"]
    files = [lock_file_name(n) for n in names]
    assert len(set(files)) == len(names), "different names never share a lock"
    for file_name in files:
        assert "/" not in file_name and "\0" not in file_name and file_name not in (".", "..")
        assert len(file_name.encode()) <= 100, "far below NAME_MAX (255 bytes)"
        assert re.fullmatch(r"stack-[A-Za-z0-9_.-]*-[0-9a-f]{12}\.lock", file_name)
    assert lock_file_name("a" * 300).startswith("stack-" + "a" * 64 + "-"), "a readable prefix of the name"


def test_the_lock_directory_is_the_first_the_user_can_use(tmp_path):
    shared, private = tmp_path / "run" / "berth", tmp_path / "tmp" / "berth-1"
    assert lock_directory([str(shared), str(private)]) == str(shared)
    shared.chmod(0o500)
    try:
        expected = str(private) if os.getuid() else str(shared)  # root writes anywhere
        assert lock_directory([str(shared), str(private)]) == expected
    finally:
        shared.chmod(0o700)
    if os.getuid() == 0:
        return
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def test_a_private_lock_directory_must_be_the_users_own(tmp_path):
    """Under a shared temp directory another user may have made the path first: it is not used."""
    loose, link = tmp_path / "loose", tmp_path / "link"
    loose.mkdir(mode=0o777)
    loose.chmod(0o777)
    link.symlink_to(loose)
    (tmp_path / "file").write_text("")
    with pytest.raises(ItemError, match="no directory for the stack lock"):
        lock_directory([str(tmp_path / "file" / "berth"), str(loose), str(link)])


def test_an_entry_the_module_validated_already_validates_again():
    once = validate_entry("containers", CONTAINER_ENTRY_SPEC, {"name": "web", "image": "x",
                                                               "networks": [{"name": "n"}]})
    assert once["cgroupns_mode"] is None and once["networks"][0]["aliases"] is None
    assert validate_entry("containers", CONTAINER_ENTRY_SPEC, once) == once


class _NoSuchImageEngine:
    """Just enough engine for a container's image resolution: no image, and a pull the registry refuses."""

    def inspect(self, kind, name):
        return None

    def stream(self, *args, **kwargs):
        raise EngineError("pull access denied for nc-noimg, repository does not exist", 404, "denied")


def test_no_stack_failure_line_repeats_its_prefix():
    entry = validate_entry("containers", CONTAINER_ENTRY_SPEC, {"name": "nc-noimg-b-1", "image": "nc-noimg:1"})
    container = ContainerResource(_NoSuchImageEngine(), entry)
    with pytest.raises(EngineError) as raised:
        container.pull_image(None)  # the message the container module fails with names the container
    assert str(raised.value).startswith("container nc-noimg-b-1: pulling image nc-noimg:1 failed")
    results = {"containers": {"nc-noimg-b-1": item_result(error=raised.value),
                              "web": item_result(error=ItemError("not converged: it depends on db, which failed"))},
               "networks": {"net": item_result(error=EngineError("network net: the pool overlaps"))}}
    failures = build_result(results, {})["failures"]
    assert failures[0] == "network net: the pool overlaps"
    assert failures[1].startswith("container nc-noimg-b-1: pulling image nc-noimg:1 failed: pull access denied")
    assert failures[2] == "container web: not converged: it depends on db, which failed"
    for line in failures:
        kind, name = line.split(" ", 2)[:2]
        prefix = "%s %s" % (kind, name)
        assert line.count(prefix) == 1, line
