"""berth.engine.volume against the real engine; state is read back through the Docker SDK."""
from __future__ import annotations

import docker
import pytest

from tests.support.ansible import module_helpers

MODULE = "berth.engine.volume"


converge, ok, fails = module_helpers(MODULE)


def in_volume(docker_client, image, volume, script):
    """Run a shell script in a throw-away container with the volume on /v; returns its output."""
    output = docker_client.containers.run(image, ["sh", "-c", script], remove=True,
                                          volumes={volume: {"bind": "/v", "mode": "rw"}})
    return output.decode().strip()


@pytest.fixture
def vol(unique_name, cleanup):
    cleanup.volume(unique_name)
    return {"name": unique_name, "labels": {"io.berth.test": "one"}}


def test_lifecycle_create_idempotent_drift_check_diff_absent(docker_client, vol, test_images):
    created = ok(vol, diff=True)
    assert created["changed"] and created["actions"] == ["create"]
    assert created["diff"]["after"] == {"state": "present", "labels": {"io.berth.test": "one"}}
    seen = docker_client.volumes.get(vol["name"])
    assert seen.attrs["Driver"] == "local" and seen.attrs["Labels"] == {"io.berth.test": "one"}
    assert created["volume"]["Name"] == vol["name"]

    assert not ok(vol)["changed"]
    assert not ok({"name": vol["name"], "driver": "local"})["changed"], "unset settings are not compared"
    in_volume(docker_client, test_images.busybox, vol["name"], "echo precious > /v/data")

    # A drift fails, in check mode too, and leaves volume and data alone.
    drifted = dict(vol, labels={"io.berth.test": "two"})
    for check in (True, False):
        msg = fails(drifted, check=check)
        assert "volume %s differs from the task in labels" % vol["name"] in msg
        assert "recreate: options_changed" in msg
    assert docker_client.volumes.get(vol["name"]).attrs["Labels"] == {"io.berth.test": "one"}
    assert in_volume(docker_client, test_images.busybox, vol["name"], "cat /v/data") == "precious"

    # Asked for explicitly, the drift is corrected by a recreate (the data goes).
    wanted = dict(drifted, recreate="options_changed")
    predicted = ok(wanted, check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["recreate"]
    assert predicted["diff"]["before"] == {"labels": {"io.berth.test": "one"}}
    assert predicted["diff"]["after"] == {"labels": {"io.berth.test": "two"}}
    assert docker_client.volumes.get(vol["name"]).attrs["Labels"] == {"io.berth.test": "one"}
    assert in_volume(docker_client, test_images.busybox, vol["name"], "cat /v/data") == "precious"

    applied = ok(wanted, diff=True)
    assert applied["actions"] == ["recreate"] and applied["diff"] == predicted["diff"]
    assert any("deletes its data" in w for w in applied["warnings"]), applied.get("warnings")
    assert docker_client.volumes.get(vol["name"]).attrs["Labels"] == {"io.berth.test": "two"}
    assert in_volume(docker_client, test_images.busybox, vol["name"], "ls /v") == ""
    assert not ok(wanted)["changed"]

    assert ok({"name": vol["name"], "state": "absent"}, check=True)["actions"] == ["remove"]
    docker_client.volumes.get(vol["name"])
    removed = ok({"name": vol["name"], "state": "absent"}, diff=True)
    assert removed["changed"] and removed["diff"]["after"] == {"state": "absent"}
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.get(vol["name"])
    assert not ok({"name": vol["name"], "state": "absent"})["changed"]


def test_driver_opts_drift_fails_and_data_survives(docker_client, vol, test_images):
    source = {"name": vol["name"], "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}}
    ok(source)
    assert docker_client.volumes.get(vol["name"]).attrs["Options"] == source["driver_opts"]
    assert not ok(source)["changed"]
    msg = fails(dict(source, driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=16m"}))
    assert "differs from the task in driver_opts" in msg and "size=8m" in msg and "size=16m" in msg
    assert docker_client.volumes.get(vol["name"]).attrs["Options"]["o"] == "size=8m"


def test_volume_in_use_is_never_removed(docker_client, vol, make_name, cleanup, test_images):
    ok(vol)
    user = make_name("user")
    cleanup.container(user)
    docker_client.containers.create(test_images.busybox, ["sleep", "3600"], name=user,
                                    volumes={vol["name"]: {"bind": "/v", "mode": "rw"}})
    for check in (True, False):
        msg = fails({"name": vol["name"], "state": "absent"}, check=check)
        assert "volume %s cannot be removed: it is in use by container(s) %s (created)" % (vol["name"], user) in msg
    msg = fails(dict(vol, labels={"io.berth.test": "two"}, recreate="options_changed"))
    assert "cannot be recreated" in msg and user in msg
    assert docker_client.volumes.get(vol["name"]).attrs["Labels"] == {"io.berth.test": "one"}
