"""berth.engine.stack against the real engine, observed through the Docker SDK."""
from __future__ import annotations

import json
import threading

import docker
import pytest
import yaml

from tests.support.ansible import module_helpers, run_playbook

MODULE = "berth.engine.stack"


stack, ok, _unused = module_helpers(MODULE)


@pytest.fixture
def app(make_name, cleanup, test_images):
    names = [make_name("c%d" % i) for i in range(3)]
    for name in names:
        cleanup.container(name)
    network, volume = make_name("net"), make_name("vol")
    cleanup.network(network)
    cleanup.volume(volume)
    containers = [{"name": n, "image": test_images.busybox, "stop_timeout": 1, "env": {"INDEX": str(i)},
                   "labels": {"role": "worker"}, "restart_policy": "unless-stopped",
                   "networks": [{"name": network}], "ports": ["127.0.0.1::8080"]}
                  for i, n in enumerate(names)]
    containers[1]["volumes"] = ["%s:/data" % volume]
    containers[2]["depends_on"] = [names[0]]
    return {"name": make_name("stack"), "networks": [{"name": network}], "volumes": [{"name": volume}],
            "containers": containers}


def owned(docker_client, stack_name):
    return sorted(c.name for c in docker_client.containers.list(all=True, filters={"label": "io.berth.stack=" +
                                                                                   stack_name}))


def test_converge_idempotent_check_diff(docker_client, app):
    first = ok(app)
    assert first["changed"]
    names = [c["name"] for c in app["containers"]]
    assert owned(docker_client, app["name"]) == sorted(names)
    for name in names:
        seen = docker_client.containers.get(name)
        assert seen.status == "running"
        assert app["networks"][0]["name"] in seen.attrs["NetworkSettings"]["Networks"]
    assert docker_client.networks.get(app["networks"][0]["name"]).attrs["Labels"]["io.berth.stack"] == app["name"]
    assert docker_client.volumes.get(app["volumes"][0]["name"]).attrs["Labels"]["io.berth.stack"] == app["name"]

    again = ok(app)
    assert not again["changed"]
    assert all(item["actions"] == [] for item in again["containers"].values())

    ids = {n: docker_client.containers.get(n).id for n in names}
    app["containers"][1]["env"] = {"INDEX": "changed"}
    app["containers"][0]["memory"] = "64m"
    predicted = ok(app, check=True, diff=True)
    assert predicted["containers"][names[1]]["actions"] == ["recreate"]
    assert predicted["containers"][names[0]]["actions"] == ["update"]
    assert predicted["containers"][names[2]]["actions"] == []
    assert predicted["containers"][names[1]]["reasons"] == ["env"], "why it is recreated, without --diff"
    assert "reasons" not in predicted["containers"][names[0]], "an update in place recreates nothing"
    assert {n: docker_client.containers.get(n).id for n in names} == ids, "check mode changed nothing"
    assert any(d["after"].get("env", {}).get("INDEX") == "changed" for d in predicted["diff"])

    applied = ok(app, diff=True)
    assert {n: i["actions"] for n, i in applied["containers"].items()} == {
        n: i["actions"] for n, i in predicted["containers"].items()}
    assert applied["containers"][names[1]]["reasons"] == ["env"]
    assert docker_client.containers.get(names[0]).id == ids[names[0]]
    assert docker_client.containers.get(names[0]).attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert docker_client.containers.get(names[1]).id != ids[names[1]]
    assert "INDEX=changed" in docker_client.containers.get(names[1]).attrs["Config"]["Env"]
    assert not ok(app)["changed"]


def test_prune_removes_what_is_no_longer_declared(docker_client, app):
    ok(app)
    dropped = app["containers"].pop(2)
    volume = app["volumes"][0]["name"]
    app["containers"][1]["volumes"] = []  # declared empty: unset options are not compared
    app["volumes"] = []
    check = ok(dict(app, prune=True), check=True)
    assert check["containers"][dropped["name"]]["actions"] == ["prune"]
    docker_client.containers.get(dropped["name"])  # still there after check mode
    result = ok(dict(app, prune=True))
    assert result["containers"][dropped["name"]]["actions"] == ["prune"]
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(dropped["name"])
    # Volumes are kept unless prune_volumes is set: data is never removed by accident.
    assert result["volumes"] == {}
    docker_client.volumes.get(volume)
    pruned = ok(dict(app, prune=True, prune_volumes=True))
    assert pruned["volumes"][volume]["actions"] == ["prune"]
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.get(volume)
    assert sorted(owned(docker_client, app["name"])) == sorted(c["name"] for c in app["containers"])


def test_partial_failure_names_the_item_and_keeps_the_others(docker_client, app, test_images):
    ok(app)
    names = [c["name"] for c in app["containers"]]
    original = docker_client.containers.get(names[0]).id
    app["containers"][0]["image"] = test_images.failing  # its replacement dies: rolled back
    app["containers"][1]["env"] = {"INDEX": "still-applied"}
    result = stack(dict(app, rollback="container"))  # the per-container rollback of earlier releases
    assert result["failed"]
    assert names[0] in result["msg"] and "rolled back" in result["msg"].lower()
    assert result["containers"][names[0]]["failed"]
    assert result["containers"][names[1]]["actions"] == ["recreate"]
    assert "INDEX=still-applied" in docker_client.containers.get(names[1]).attrs["Config"]["Env"]
    # names[2] depends on names[0], so it was not touched.
    assert "depends on" in result["containers"][names[2]]["msg"]
    survivor = docker_client.containers.get(names[0])
    assert survivor.id == original and survivor.status == "running"


def test_bad_entry_is_rejected_before_anything_changes(docker_client, app):
    app["containers"][1]["ports"] = ["not-a-port"]
    result = stack(app)
    assert result["failed"] and "ports entry" in result["msg"]
    app["containers"][1]["ports"] = []
    app["containers"][2]["depends_on"] = ["nobody"]
    result = stack(app)
    assert result["failed"] and "nobody" in result["msg"]
    assert owned(docker_client, app["name"]) == []


def _pushed_image(docker_client, local_registry, test_images, cleanup, repository):
    ref = "%s/%s:1" % (local_registry.host, repository)
    docker_client.images.get(test_images.busybox).tag(ref)
    docker_client.images.push(ref, auth_config={"username": local_registry.username,
                                                "password": local_registry.password})
    docker_client.images.remove(ref)
    cleanup.image(ref)
    return ref


def test_registry_password_never_shows_at_vvv_diff(docker_client, make_name, cleanup, test_images, local_registry):
    name = make_name("c")
    cleanup.container(name)
    ref = _pushed_image(docker_client, local_registry, test_images, cleanup, make_name("img"))
    secret = local_registry.password
    play = yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "stack with a secret", "register": "out", "berth.engine.stack": {
            "name": make_name("stack"), "containers": [
                {"name": name, "image": ref, "registry_username": local_registry.username,
                 "registry_password": secret, "stop_timeout": 1, "env": {"MODE": "first"}}]}},
        {"name": "show it", "ansible.builtin.debug": {"var": "out"}},
    ]}])
    run = run_playbook(play, diff=True, extra_env={"ANSIBLE_VERBOSITY": "3"})
    assert not run.failed, run.describe()
    assert docker_client.containers.get(name).status == "running", "the pull with the password worked"
    result = run.task("stack with a secret")
    assert result["changed"]
    everything = run.stdout + run.stderr + json.dumps(run.tasks)
    assert "ESTABLISH" in everything, "the output is really -vvv"
    assert secret not in everything
    assert secret not in json.dumps(docker_client.containers.get(name).attrs)


def test_two_concurrent_runs_of_one_stack_both_succeed(docker_client, make_name, cleanup, test_images):
    names = [make_name("c%d" % i) for i in range(10)]
    for name in names:
        cleanup.container(name)
    stack_name = make_name("stack")
    play = yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "the stack", "berth.engine.stack": {"name": stack_name, "parallel": 4, "containers": [
            {"name": n, "image": test_images.busybox, "stop_timeout": 1, "env": {"INDEX": str(i)}}
            for i, n in enumerate(names)]}}]}])
    runs = []
    threads = [threading.Thread(target=lambda: runs.append(run_playbook(play))) for _unused in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for run in runs:
        assert not run.failed, run.describe()
        assert not run.exceptions
        assert "the engine answered" not in run.stdout
    assert sorted(r.task("the stack")["changed"] for r in runs) == [False, True], "the second waited, then had nothing"
    assert owned(docker_client, stack_name) == sorted(names)
    everything = [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(make_name())]
    assert sorted(everything) == sorted(names), "no duplicates or containers left aside"


def test_wrong_registry_password_in_a_stack_gives_the_hint(docker_client, make_name, cleanup, test_images,
                                                           local_registry):
    name = make_name("c")
    cleanup.container(name)
    ref = _pushed_image(docker_client, local_registry, test_images, cleanup, make_name("img"))
    result = stack({"name": make_name("stack"), "containers": [
        {"name": name, "image": ref, "registry_username": local_registry.username,
         "registry_password": "wrong-" + name}]})
    assert result["failed"]
    item = result["containers"][name]
    for text in (result["msg"], item["msg"]):
        assert local_registry.host in text and local_registry.username in text
        assert "registry_username and registry_password" in text
    assert "wrong-" + name not in json.dumps({k: v for k, v in result.items() if not k.startswith("_")})


def test_check_mode_of_a_new_stack_counts_on_its_own_networks(docker_client, app):
    predicted = ok(app, check=True)
    assert predicted["networks"][app["networks"][0]["name"]]["actions"] == ["create"]
    assert {n: i["actions"] for n, i in predicted["containers"].items()} == {
        c["name"]: ["create", "start"] for c in app["containers"]}
    assert owned(docker_client, app["name"]) == []
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(app["networks"][0]["name"])
