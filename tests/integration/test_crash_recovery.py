"""A daemon crash at any point of a stack converge: the rerun repairs what the crash left, loses nothing.

A private dockerd (tests/support/private_daemon.py: its own network namespace and bridge, data root,
exec root, pidfile and socket) runs a 20-container stack through berth.engine.stack. dockerd and its
containerd are SIGKILLed (tests/support/crash.py) when the private daemon's event stream has shown
the Nth create, start or rename of the run, so the kill lands mid-converge on a fast or a loaded
machine alike. After each crash the daemon is started again and the stack rerun; the engine is then
observed with the Docker SDK: one container per declared name, none renamed aside, all running with
the declared env, the named volume's data intact, and a further rerun changes nothing.
"""
from __future__ import annotations

import subprocess

import docker
import pytest

from tests.support import crash
from tests.support.ansible import module_helpers, run_module
from tests.support.crash import revive
from tests.support.private_daemon import private_daemons

MODULE = "berth.engine.stack"
COUNT = 20
EVENT_TIMEOUT = 180
IMAGES = ["berth-test/busybox:latest", "berth-test/http:v1", "berth-test/http:v2"]
VOLUME = "crash-data"
PAYLOAD = "written before the crashes"


@pytest.fixture(scope="module")
def daemon(test_images):
    with private_daemons(1, "crash") as (private,):
        loaded = subprocess.run(f"docker save {' '.join(IMAGES)} | docker -H {private.docker_host} load",
                                shell=True, capture_output=True, text=True, check=False)
        assert loaded.returncode == 0, loaded.stderr
        yield private


def stack_args(daemon, generation):
    containers = [{"name": "crash-c%02d" % i, "image": "berth-test/busybox:latest", "stop_timeout": 1,
                   "env": {"GENERATION": generation}, "restart_policy": "unless-stopped"}
                  for i in range(COUNT)]
    containers[0]["volumes"] = ["%s:/data" % VOLUME]
    for entry in containers[10:]:
        entry["depends_on"] = [containers[0]["name"]]
    return {"name": "crash", "docker_host": daemon.docker_host, "volumes": [{"name": VOLUME}],
            "containers": containers}


def converge(args):
    result = run_module(MODULE, args)
    assert "Traceback" not in (result["msg"] or "") and not result["exception"], result["msg"]
    return result


def crash_during(daemon, args, event, nth):
    """Run the stack and SIGKILL the daemon once its events showed the `nth` container `event`."""
    result = crash.crash_during(daemon, lambda: run_module(MODULE, args), event, nth, EVENT_TIMEOUT)
    assert result["failed"], "a crash mid-converge fails the run"
    revive(daemon)
    return [c.name for c in daemon.client.containers.list(all=True) if "_berth_old_" in c.name]


def assert_converged(daemon, generation):
    client = daemon.client
    containers = client.containers.list(all=True)
    names = sorted(c.name for c in containers)
    assert not [n for n in names if "_berth_old_" in n], "containers renamed aside were left: %s" % names
    assert names == ["crash-c%02d" % i for i in range(COUNT)], "one container per declared name: %s" % names
    for container in containers:
        assert container.status == "running", (container.name, container.status)
        assert "GENERATION=%s" % generation in container.attrs["Config"]["Env"], container.name
    data = client.containers.run("berth-test/busybox:latest", ["cat", "/data/payload"], remove=True,
                                 volumes={VOLUME: {"bind": "/data", "mode": "ro"}})
    assert data.decode().strip() == PAYLOAD, "the named volume kept its data"


def rerun_until_quiet(args, generation, daemon, quiet_check=True):
    """The rerun after a crash converges (repairing), and the one after it changes nothing."""
    repaired = converge(args)
    assert not repaired["failed"], repaired["msg"]
    print("rerun after the crash:", {n: i["actions"] for n, i in repaired["containers"].items() if i["changed"]},
          repaired.get("warnings"))
    assert_converged(daemon, generation)
    if not quiet_check:
        return repaired
    quiet = converge(args)
    assert not quiet["failed"], quiet["msg"]
    assert not quiet["changed"], {n: i["actions"] for n, i in quiet["containers"].items() if i["changed"]}
    return repaired


def test_crashes_during_first_converge_and_recreates_leave_nothing_behind(daemon):
    daemon.client.volumes.create(VOLUME)
    daemon.client.containers.run("berth-test/busybox:latest", ["sh", "-c", "echo '%s' > /data/payload" % PAYLOAD],
                                 remove=True, volumes={VOLUME: {"bind": "/data", "mode": "rw"}})

    # 1. The first converge, killed while containers are being started (stale containerd tasks).
    first = stack_args(daemon, "one")
    crash_during(daemon, first, "start", 6)
    rerun_until_quiet(first, "one", daemon)

    # 2. A recreate of all 20, killed after some were renamed aside.
    second = stack_args(daemon, "two")
    left_aside = crash_during(daemon, second, "rename", 5)
    repaired = rerun_until_quiet(second, "two", daemon, quiet_check=False)  # step 3 shows it converged
    recovered = [n for n, i in repaired["containers"].items() if "recover" in i["actions"]]

    # 3. Another recreate, killed while the replacements are being created.
    third = stack_args(daemon, "three")
    left_aside += crash_during(daemon, third, "create", 9)
    repaired = rerun_until_quiet(third, "three", daemon)
    recovered += [n for n, i in repaired["containers"].items() if "recover" in i["actions"]]
    # Each kill lands while up to `parallel` (4) recreates are between their rename and their end.
    assert left_aside, "the crashes left no container renamed aside: the kill points missed the recreates"
    assert sorted(set(recovered)) == sorted({n.split("_berth_old_")[0] for n in left_aside})


# --- the container module, on the shared daemon: what a crash leaves, laid out by hand ---------------

container, container_ok, _unused = module_helpers("berth.engine.container")


def _leave_aside(docker_client, name, image, env):
    """A container renamed aside as a recreate does it just before the crash (stopped, marker name)."""
    old = docker_client.containers.run(image, name=name, detach=True, environment=env, stop_signal="SIGKILL")
    old.stop(timeout=1)
    old.rename("%s_berth_old_%s" % (name, old.id[:12]))
    return old.id


def test_container_puts_back_the_old_one_when_the_crash_came_before_the_new_one(docker_client, unique_name,
                                                                                cleanup, test_images):
    args = {"name": unique_name, "image": test_images.busybox, "env": {"V": "1"}}
    old_id = _leave_aside(docker_client, unique_name, test_images.busybox, {"V": "1"})
    cleanup.container(old_id)
    predicted = container_ok(args, check=True)
    assert predicted["actions"] == ["recover"], "the old one is put back and started: nothing else differs"
    assert docker_client.containers.get(old_id).name != unique_name, "check mode changed nothing"
    result = container_ok(args)
    assert result["actions"] == ["recover"]
    assert any("interrupted" in w for w in result.get("warnings") or [])
    held = docker_client.containers.get(unique_name)
    assert held.id == old_id and held.status == "running", "the old container is back, same ID, running"
    assert not docker_client.containers.list(all=True, filters={"name": unique_name + "_berth_old_"})
    assert not container_ok(args)["changed"]


def test_container_keeps_a_running_replacement_and_removes_the_old_one(docker_client, unique_name, cleanup,
                                                                       test_images):
    args = {"name": unique_name, "image": test_images.busybox, "env": {"V": "2"}, "stop_timeout": 1}
    old_id = _leave_aside(docker_client, unique_name, test_images.busybox, {"V": "1"})
    cleanup.container(old_id)
    first = container_ok(dict(args, env={"V": "2"}))  # creates the replacement; the old one is still aside
    new_id = docker_client.containers.get(unique_name).id
    assert first["actions"][0] == "recover", first["actions"]
    assert new_id != old_id
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(old_id)
    assert not container_ok(args)["changed"]
