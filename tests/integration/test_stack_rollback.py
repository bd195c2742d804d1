"""All or nothing: a failed stack run leaves the host as it was before it, observed with the Docker SDK.

A plain stack (3 containers, a network, a volume) and a three-service Compose project are deployed with
one container whose image exits at once (berth-test/failing): nothing of them is left. Deployed well,
then updated with one failing container: every old container is back, same ID, running. A good update
then succeeds and its rerun changes nothing. A daemon killed in the middle of an update (a private
daemon, tests/support/crash.py) is finished or undone by the next run, even when that run fails too.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import docker
import pytest

from tests.integration import test_stack
from tests.support.ansible import module_helpers, run_module
from tests.support.crash import crash_during, revive
from tests.support.private_daemon import private_daemons

MODULE = "berth.engine.stack"
COMPOSE = Path(__file__).resolve().parents[1] / "compose" / "rollback" / "compose.yaml"
ASIDE = "_berth_old_"

stack, ok, _unused = module_helpers(MODULE)
container, _unused, _unused = module_helpers("berth.engine.container")


def _gone(get, name):
    with pytest.raises(docker.errors.NotFound):
        get(name)


def _asides(client, prefix):
    return [c.name for c in client.containers.list(all=True) if c.name.startswith(prefix) and ASIDE in c.name]


def _running(client, names, running=True):
    """{name: (ID, GENERATION)} of the named containers, each asserted running (unless running=False)."""
    seen = {}
    for name in names:
        found = client.containers.get(name)
        assert found.status == "running" or not running, (name, found.status)
        env = dict(e.split("=", 1) for e in found.attrs["Config"]["Env"])
        seen[name] = (found.id, env.get("GENERATION"))
    return seen


# The 3-container stack of test_stack.py: a network, a volume, and a second depends_on wave (c2 on c0),
# so a failure in the second wave has the first one to undo.
app = test_stack.app


def _generation(app, generation, failing=None):
    containers = [dict(c, env={"GENERATION": generation}) for c in app["containers"]]
    if failing is not None:
        containers[failing]["image"] = "berth-test/failing:latest"
    return dict(app, containers=containers)


def test_a_stack_is_deployed_and_updated_all_or_nothing(docker_client, app, make_name):
    names = [c["name"] for c in app["containers"]]
    network, volume = app["networks"][0]["name"], app["volumes"][0]["name"]

    first = stack(_generation(app, "one", failing=2))
    assert first["failed"] and names[2] in first["msg"] and "exited right after it started" in first["msg"]
    assert "rolled back: " in first["msg"], first["msg"]
    assert sorted(first["rolled_back"]["containers"]["removed"]) == sorted(names)
    assert first["rolled_back"]["networks"]["removed"] == [network]
    assert first["rolled_back"]["volumes"]["removed"] == [volume]
    assert not [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(make_name())]
    _gone(docker_client.networks.get, network)
    _gone(docker_client.volumes.get, volume)

    ok(app)
    before = _running(docker_client, names)
    update = stack(_generation(app, "two", failing=2))
    assert update["failed"] and names[2] in update["msg"]
    assert _running(docker_client, names) == before, "every old container is back, same ID, running"
    restored = update["rolled_back"]["containers"]["restored"]
    assert sorted(restored) == sorted("%s (%s)" % (n, before[n][0][:12]) for n in names), restored
    assert update["msg"].endswith(". " + update["rolled_back"]["summary"])
    assert all(item in update["msg"] for item in restored), update["msg"]
    assert not update["rolled_back"]["failed"] and not _asides(docker_client, make_name())
    docker_client.networks.get(network)
    docker_client.volumes.get(volume)

    good = ok(_generation(app, "two"))
    assert "rolled_back" not in good
    after = _running(docker_client, names)
    assert all(after[n][1] == "two" and after[n][0] != before[n][0] for n in names), after
    assert not _asides(docker_client, make_name()), "the old containers go once the stack is confirmed"
    assert not ok(_generation(app, "two"))["changed"]


def test_a_compose_project_is_deployed_and_updated_all_or_nothing(docker_client, make_name, cleanup, test_images):
    project = make_name("p").replace("_", "-").lower()
    services = ["%s-%s-1" % (project, s) for s in ("db", "web", "worker")]

    labelled = {"label": "com.docker.compose.project=" + project}

    def sweep():
        for found in docker_client.containers.list(all=True, filters=labelled):
            found.remove(force=True, v=True)
        for network in docker_client.networks.list(names=[project + "_default"]):
            network.remove()
        for found in docker_client.volumes.list(filters={"name": project + "_data"}):
            found.remove(force=True)

    cleanup.callback(sweep)
    args = {"name": project, "compose_files": [str(COMPOSE)], "compose_env": {"GENERATION": "one"}}
    failing = {"GENERATION": "one", "WEB_IMAGE": test_images.failing}

    first = stack(dict(args, compose_env=failing))
    assert first["failed"] and services[1] in first["msg"] and "rolled back: " in first["msg"]
    assert not docker_client.containers.list(all=True, filters=labelled)
    _gone(docker_client.networks.get, project + "_default")
    _gone(docker_client.volumes.get, project + "_data")

    ok(args)
    before = _running(docker_client, services)
    update = stack(dict(args, compose_env=dict(failing, GENERATION="two")))
    assert update["failed"] and services[1] in update["msg"]
    assert _running(docker_client, services) == before
    assert "restored" in update["rolled_back"]["summary"] and not update["rolled_back"]["failed"]

    ok(dict(args, compose_env={"GENERATION": "two"}))
    assert {n: g for n, (_i, g) in _running(docker_client, services).items()} == dict.fromkeys(services, "two")
    assert not _asides(docker_client, project)
    assert not ok(dict(args, compose_env={"GENERATION": "two"}))["changed"]


def _bad_command(name, image):
    return {"name": name, "image": image, "command": ["/no/such/program"], "stop_timeout": 1}


def test_a_failed_first_start_leaves_no_created_container(docker_client, make_name, cleanup, test_images):
    name = make_name("c")
    cleanup.container(name)
    result = container(_bad_command(name, test_images.busybox))
    assert result["failed"] and "no such file" in result["msg"].lower(), result["msg"]
    assert "removed again" in result["msg"]
    _gone(docker_client.containers.get, name)

    kept = make_name("kept")
    cleanup.container(kept)
    for mode in ("none", "container"):
        within = stack({"name": make_name("stack"), "rollback": mode, "containers": [
            _bad_command(name, test_images.busybox),
            {"name": kept, "image": test_images.busybox, "stop_timeout": 1}]})
        assert within["failed"] and "rolled_back" not in within
        _gone(docker_client.containers.get, name)
        assert docker_client.containers.get(kept).status == "running", "rollback %s keeps what was reached" % mode


# --- a daemon crash in the middle of an update -----------------------------------------------------

CRASH_NAMES = ["rb-c%d" % i for i in range(3)]
EVENT_TIMEOUT = 120


@pytest.fixture(scope="module")
def daemon(test_images):
    with private_daemons(1, "rollback") as (private,):
        images = " ".join([test_images.busybox, test_images.failing])
        loaded = subprocess.run(f"docker save {images} | docker -H {private.docker_host} load",
                                shell=True, capture_output=True, text=True, check=False)
        assert loaded.returncode == 0, loaded.stderr
        yield private


def _crash_args(daemon, generation, failing=None):
    containers = [{"name": n, "image": "berth-test/busybox:latest", "stop_timeout": 1,
                   "env": {"GENERATION": generation}, "restart_policy": "unless-stopped"} for n in CRASH_NAMES]
    if failing is not None:
        containers[failing]["image"] = "berth-test/failing:latest"
    return {"name": "rollback", "docker_host": daemon.docker_host, "parallel": 1, "containers": containers}


def _kill_after(daemon, args, event, nth):
    """Run the stack and SIGKILL the daemon once its events showed the `nth` container `event`."""
    result = crash_during(daemon, lambda: run_module(MODULE, args), event, nth, EVENT_TIMEOUT)
    assert result["failed"], "a crash mid-converge fails the run"
    revive(daemon)


def _one_generation(daemon, running=True):
    """{name: (ID, GENERATION)}: exactly the declared names, none aside, all running, never a mix."""
    client = daemon.client
    assert sorted(c.name for c in client.containers.list(all=True)) == CRASH_NAMES
    seen = _running(client, CRASH_NAMES, running)
    assert len({g for _i, g in seen.values()}) == 1, "a mix of generations: %s" % seen
    return seen


def test_a_crash_between_recreates_is_undone_or_finished_by_the_next_run(daemon):
    ok(_crash_args(daemon, "one"))
    original = _one_generation(daemon)

    # Killed once the 2nd replacement started (parallel 1): two old containers wait aside.
    _kill_after(daemon, _crash_args(daemon, "two"), "start", 2)
    left = [c.name for c in daemon.client.containers.list(all=True) if ASIDE in c.name]
    assert left, "the kill missed the recreates: nothing was left aside"
    # The engine came back without restarting them: start what holds the names, as a restart policy would,
    # so the next run keeps the running replacements (recovery "keep") and must still be able to undo them.
    for found in daemon.client.containers.list(all=True, filters={"name": "rb-c"}):
        if ASIDE not in found.name:
            found.start()

    # The next run fails too (its last container exits at once): it can still put the originals back.
    again = stack(_crash_args(daemon, "two", failing=2))
    assert again["failed"] and "rolled back: " in again["msg"], again["msg"]
    assert any("recover" in i["actions"] for i in again["containers"].values()), again["containers"]
    assert _one_generation(daemon) == original, again["rolled_back"]

    # Killed again, then a good run: the declared state, nothing aside; its rerun changes nothing.
    _kill_after(daemon, _crash_args(daemon, "two"), "start", 2)
    ok(_crash_args(daemon, "two"))
    assert {g for _i, g in _one_generation(daemon).values()} == {"two"}
    assert not ok(_crash_args(daemon, "two"))["changed"]
