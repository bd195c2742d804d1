"""state: absent of berth.engine.stack (docker compose down [-v]) and berth.engine.swarm_stack (docker stack rm),
and the stack lock run by an unprivileged user of the docker group; observed with the Docker SDK."""
from __future__ import annotations

import glob
import grp
import os
import pwd
import secrets
import subprocess

import docker
import pytest

from tests.support.ansible import module_helpers, run_playbook
from tests.support.swarm_daemon import swarm_fixture

swarm = swarm_fixture()
_converge, ok, _unused = module_helpers("berth.engine.stack")
_unused, swarm_ok, _unused = module_helpers("berth.engine.swarm_stack")
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]


def labelled(docker_client, name):
    label = {"label": "io.berth.stack=" + name}
    return {"containers": sorted(c.name for c in docker_client.containers.list(all=True, filters=label)),
            "networks": sorted(n.name for n in docker_client.networks.list(filters=label)),
            "volumes": sorted(v.name for v in docker_client.volumes.list(filters=label))}


def removed(result):
    """{kind: {name: actions}} of a stack result, the kinds with items only."""
    return {kind: {n: i["actions"] for n, i in result[kind].items()}
            for kind in ("containers", "networks", "volumes", "services", "secrets", "configs") if result.get(kind)}


def absent_twice_with_check_first(args, kinds):
    """Check mode predicts exactly what the real run removes; a second run changes nothing."""
    predicted = ok(dict(args, state="absent"), check=True, diff=True)
    applied = ok(dict(args, state="absent"), diff=True)
    assert predicted["changed"] and removed(predicted) == removed(applied), (predicted, applied)
    assert sorted(d["after_header"] for d in predicted["diff"]) == sorted(d["after_header"] for d in applied["diff"])
    assert set(removed(applied)) == set(kinds)
    again = ok(dict(args, state="absent"))
    assert not again["changed"] and removed(again) == {}
    return applied


def test_plain_stack_down_keeps_volumes_then_down_v(docker_client, make_name, cleanup, test_images):
    name, net, vol = make_name("stack"), make_name("net"), make_name("vol")
    web, db = make_name("web"), make_name("db")
    for container in (web, db):
        cleanup.container(container)
    cleanup.network(net)
    cleanup.volume(vol)
    common = dict(image=test_images.busybox, command=SLEEP, stop_timeout=1, networks=[{"name": net}])
    args = {"name": name, "networks": [{"name": net}], "volumes": [{"name": vol}],
            "containers": [dict(common, name=db, volumes=["%s:/data" % vol]), dict(common, name=web, depends_on=[db])]}
    ok(args)
    # A container an interrupted recreate of web left renamed aside (not labelled: found by its name).
    aside = docker_client.containers.create(test_images.busybox, SLEEP, name=make_name("aside-tmp"))
    aside.rename("%s_berth_old_%s" % (web, aside.id[:12]))
    cleanup.container("%s_berth_old_%s" % (web, aside.id[:12]))
    assert labelled(docker_client, name) == {"containers": sorted([web, db]), "networks": [net], "volumes": [vol]}

    applied = absent_twice_with_check_first({"name": name}, ["containers", "networks"])
    assert sorted(applied["containers"]) == sorted([web, db, "%s_berth_old_%s" % (web, aside.id[:12])])
    assert all(i["actions"] == ["remove"] for i in applied["containers"].values())
    assert labelled(docker_client, name) == {"containers": [], "networks": [], "volumes": [vol]}, "down keeps volumes"
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(aside.id)

    down_v = absent_twice_with_check_first({"name": name, "prune_volumes": True}, ["volumes"])
    assert list(down_v["volumes"]) == [vol]
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.get(vol)


def test_compose_project_down_takes_the_name_from_the_file(docker_client, make_name, cleanup, test_images):
    project = make_name()
    compose = {"name": project, "services": {
        "app": {"image": test_images.busybox, "command": SLEEP, "stop_grace_period": "1s",
                "volumes": ["data:/data"], "environment": {"MODE": "${BERTH_T_UNSET_MODE}"}},
        "side": {"image": test_images.busybox, "command": SLEEP, "stop_grace_period": "1s"}},
        "volumes": {"data": {}}}
    up = ok({"compose": compose})
    assert any('"BERTH_T_UNSET_MODE" variable is not set' in w and "app" in w for w in up.get("warnings") or []), \
        up.get("warnings")
    assert docker_client.containers.get(project + "-app-1").attrs["Config"]["Labels"]["io.berth.stack"] == project
    assert labelled(docker_client, project)["volumes"] == [project + "_data"]

    applied = absent_twice_with_check_first({"compose": compose}, ["containers", "networks"])
    assert sorted(applied["containers"]) == [project + "-app-1", project + "-side-1"]
    assert list(applied["networks"]) == [project + "_default"]
    assert labelled(docker_client, project) == {"containers": [], "networks": [], "volumes": [project + "_data"]}
    absent_twice_with_check_first({"compose": compose, "prune_volumes": True}, ["volumes"])
    assert labelled(docker_client, project) == {"containers": [], "networks": [], "volumes": []}


def test_swarm_stack_absent_is_docker_stack_rm(swarm, make_name):
    name, net = make_name(), make_name("net")
    secret, config = make_name("pw").replace("-", "_"), make_name("conf").replace("-", "_")
    declared = dict(docker_host=swarm.host, name=name, networks=[{"name": net}],
                    secrets=[{"name": secret, "content": "pw"}], configs=[{"name": config, "content": "c\n"}],
                    services=[dict(name=make_name("web"), image="berth-test/busybox:latest", args=SLEEP,
                                   endpoint_mode="dnsrr", networks=[{"name": net}], secrets=[{"name": secret}],
                                   configs=[{"name": config, "target": "/c"}])])
    swarm_ok(declared)
    gone = dict(docker_host=swarm.host, name=name, state="absent")
    predicted = swarm_ok(gone, check=True, diff=True)
    assert swarm.client.services.list(filters={"name": make_name("web")}), "check mode removed nothing"
    applied = swarm_ok(gone, diff=True)
    assert removed(predicted) == removed(applied) == {
        "services": {make_name("web"): ["remove"]}, "secrets": {secret: ["remove"]},
        "configs": {config: ["remove"]}, "networks": {net: ["remove"]}}
    label = {"label": "io.berth.swarm_stack=" + name}
    assert not swarm.client.services.list(filters=label) and not swarm.client.networks.list(filters=label)
    assert not swarm.client.secrets.list(filters=label) and not swarm.client.configs.list(filters=label)
    again = swarm_ok(gone)
    assert not again["changed"] and removed(again) == {}


# --- the lock, for an unprivileged user of the docker group and a 300-character stack name ----------------

@pytest.fixture
def docker_user():
    """A user in the docker group (the socket is group docker), removed at teardown with its lock directory."""
    user = "berthlk" + secrets.token_hex(3)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-G", "docker", user], check=True)
    uid = pwd.getpwnam(user).pw_uid
    yield user, uid
    subprocess.run(["userdel", "-r", user], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", "/tmp/berth-%d" % uid], check=False)


def test_an_unprivileged_docker_user_converges_a_stack_with_a_300_character_name(
        docker_client, docker_user, make_name, cleanup, test_images):
    user, uid = docker_user
    assert "docker" in [g.gr_name for g in grp.getgrall() if user in g.gr_mem]
    os.makedirs("/run/berth", exist_ok=True)  # as a root run leaves it: not writable by the user
    name = (make_name() + "-" + "x" * 300)[:300]
    web = make_name("web")
    cleanup.container(web)
    playbook = """
- hosts: localhost
  gather_facts: false
  become: true
  become_method: su
  become_user: %s
  vars:
    ansible_python_interpreter: /usr/bin/python3
  tasks:
    - name: converge
      berth.engine.stack:
        name: %s
        containers:
          - {name: %s, image: %s, command: [sleep, "600"], stop_timeout: 1}
    - name: down
      berth.engine.stack:
        name: %s
        state: absent
""" % (user, name, web, test_images.busybox, name)
    run = run_playbook(playbook, extra_env={"ANSIBLE_PIPELINING": "1"})
    converged, down = run.task("converge"), run.task("down")
    assert not converged["failed"] and converged["changed"], run.describe()
    assert not down["failed"] and list(down["result"]["containers"]) == [web], run.describe()
    locks = glob.glob("/tmp/berth-%d/stack-*.lock" % uid) + glob.glob("/run/user/%d/berth/stack-*.lock" % uid)
    assert len(locks) == 1, locks
    assert os.stat(os.path.dirname(locks[0])).st_uid == uid
    assert oct(os.stat(os.path.dirname(locks[0])).st_mode & 0o777) == "0o700"
    assert len(os.path.basename(locks[0])) < 100 and os.path.basename(locks[0]).startswith("stack-" + name[:20])
    with open(locks[0]) as handle:
        assert "user %s" % user in handle.read()
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(web)


def test_a_300_character_compose_project_is_refused_before_anything_when_a_volume_name_cannot_be(
        docker_client, make_name, test_images):
    """Containers and networks take such names; a local volume's directory name cannot (NAME_MAX 255)."""
    project = (make_name() + "-" + "x" * 300)[:300]
    compose = {"name": project, "services": {"app": {"image": test_images.busybox, "command": SLEEP,
                                                     "volumes": ["data:/data"]}}, "volumes": {"data": {}}}
    result = _converge({"compose": compose})
    assert result["failed"] and "is 305 bytes long: the local driver keeps a volume in a directory" in result["msg"]
    assert labelled(docker_client, project) == {"containers": [], "networks": [], "volumes": []}
