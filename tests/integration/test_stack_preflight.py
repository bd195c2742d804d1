"""The stack's pre-flight (issue 19) against the real engine, observed through the Docker SDK.

Every problem is found before the first change: on a first deploy nothing of the project exists
afterwards, on an update every container keeps its ID and runs, check mode reports the same. Images
that cannot be pulled are on 127.0.0.1:1 only (no traffic beyond loopback).
"""
from __future__ import annotations

import ipaddress
import os
import random
import shutil
import socket
from pathlib import Path

import docker
import pytest

from tests.support.ansible import module_helpers

stack, ok, _unused = module_helpers("berth.engine.stack")
COMPOSE = Path(__file__).resolve().parents[1] / "compose" / "preflight" / "compose.yaml"
UNPULLABLE = "127.0.0.1:1/berth-nope/never:1"


def fails(args, **kwargs):
    """The result of a run that failed (handled), with its per-item failures."""
    result = stack(args, **kwargs)
    assert result["failed"] and "failures" in result, result
    return result


def free_subnet(docker_client, avoid=()):
    """A /24 in 10.0.0.0/8 that no network of the engine (nor `avoid`) overlaps."""
    used = [ipaddress.ip_network(c["Subnet"]) for n in docker_client.networks.list(greedy=False)
            for c in (n.attrs.get("IPAM") or {}).get("Config") or [] if c.get("Subnet")]
    used += [ipaddress.ip_network(s) for s in avoid]
    while True:
        subnet = ipaddress.ip_network("10.%d.%d.0/24" % (random.randint(100, 250), random.randint(0, 255)))
        if not any(subnet.overlaps(u) for u in used if u.version == 4):
            return str(subnet)


@pytest.fixture
def hazards(docker_client, make_name, cleanup, test_images):
    """A port a plain socket holds, a port another container publishes, a network owning a subnet."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    cleanup.callback(listener.close)
    squatter = docker_client.containers.run(test_images.http, name=make_name("squatter"), detach=True,
                                            ports={"8080/tcp": ("127.0.0.1", None)})
    cleanup.container(squatter.name)
    squatter.reload()
    taken_subnet = free_subnet(docker_client)
    cleanup.network(make_name("taken"))
    docker_client.networks.create(make_name("taken"), ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=taken_subnet)]))
    scratch = Path("/tmp") / make_name("binds")
    scratch.mkdir()
    cleanup.callback(shutil.rmtree, scratch, True)
    return {"socket_port": listener.getsockname()[1], "squatter": squatter.name,
            "container_port": int(squatter.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]),
            "subnet": taken_subnet, "scratch": scratch}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_each_problem_reported(failures, expected):
    """One message per item, each naming its cause."""
    joined = "\n".join(failures)
    for item, words in expected.items():
        line = next((f for f in failures if f.startswith(item + ":")), None)
        assert line is not None, "no failure for %s in:\n%s" % (item, joined)
        assert all(w in line for w in words), (item, words, line)


# --- a plain containers: stack -------------------------------------------------------------------

def plain_stack(make_name, images, hazards, bad=False, generation="1"):
    scratch = hazards["scratch"]
    network = {"name": make_name("net"), "ipam": {"config": [{"subnet": hazards["subnet"] if bad
                                                              else hazards["good_subnet"]}]}}
    web_port = hazards["socket_port"] if bad else hazards["web_port"]
    worker_port = hazards["container_port"] if bad else hazards["worker_port"]
    common = {"stop_timeout": 1, "env": {"GENERATION": generation}, "networks": [{"name": network["name"]}]}
    db_bind = {"type": "bind", "source": str(scratch / ("missing" if bad else "conf")), "target": "/etc/db"}
    containers = [
        dict(common, name=make_name("web"), image=images.http, ports=["127.0.0.1:%d:8080" % web_port],
             volumes=["%s:/data" % (scratch / "short" / "web")]),
        dict(common, name=make_name("worker"), image=UNPULLABLE if bad else images.busybox,
             ports=["127.0.0.1:%d:8080" % worker_port]),
        dict(common, name=make_name("db"), image=images.busybox, volumes=["%s:/var/lib/db" % make_name("dbdata")],
             mounts=[db_bind]),
    ]
    return {"name": make_name("stack"), "networks": [network], "volumes": [{"name": make_name("dbdata")}],
            "containers": containers}


def test_plain_stack_preflight(docker_client, make_name, test_images, hazards):
    hazards.update(web_port=free_port(), worker_port=free_port(), good_subnet=free_subnet(
        docker_client, [hazards["subnet"]]))
    scratch = hazards["scratch"]
    names = [make_name(n) for n in ("web", "worker", "db")]
    bad = plain_stack(make_name, test_images, hazards, bad=True)
    expected = {
        "container " + names[0]: ["127.0.0.1:%d/tcp" % hazards["socket_port"], "process on the host"],
        "container " + names[1]: ["127.0.0.1:%d/tcp" % hazards["container_port"], hazards["squatter"]],
        "container " + names[2]: [str(scratch / "missing"), "does not exist", "create_host_path"],
        "network " + make_name("net"): [hazards["subnet"], make_name("taken")],
    }

    def nothing_exists():
        assert not docker_client.containers.list(all=True, filters={"label": "io.berth.stack=" + bad["name"]})
        assert not docker_client.networks.list(names=[make_name("net")])
        assert not docker_client.volumes.list(filters={"name": make_name("dbdata")})
        assert not (scratch / "short").exists()

    checked = fails(bad, check=True)
    assert_each_problem_reported(checked["failures"], expected)
    nothing_exists()
    failed = fails(bad)
    assert_each_problem_reported(failed["failures"], expected)
    assert len(failed["failures"]) == 4, failed["failures"]  # all problems at once, one line per item
    nothing_exists()

    # An unpullable image alone also stops a first deploy before anything is created.
    only_image = plain_stack(make_name, test_images, hazards)
    only_image["containers"][1]["image"] = UNPULLABLE
    (scratch / "conf").mkdir()
    failed = fails(only_image)
    assert_each_problem_reported(failed["failures"], {"container " + names[1]: [UNPULLABLE]})
    nothing_exists()

    good = plain_stack(make_name, test_images, hazards)
    deployed = ok(good)
    assert deployed["containers"][names[0]]["actions"][0] == "create_bind_source"
    assert (scratch / "short" / "web").is_dir()
    ids = {n: docker_client.containers.get(n).id for n in names}
    assert all(docker_client.containers.get(n).status == "running" for n in names)

    # An update of every service with a problem in each: nothing is recreated, everything runs.
    update = plain_stack(make_name, test_images, hazards, bad=True, generation="2")
    update["networks"].append({"name": make_name("net2"), "ipam": {"config": [{"subnet": hazards["subnet"]}]}})
    update["networks"][0] = good["networks"][0]
    expected.pop("network " + make_name("net"))
    expected["network " + make_name("net2")] = [hazards["subnet"], make_name("taken")]
    for check in (True, False):
        failed = fails(update, check=check)
        assert_each_problem_reported(failed["failures"], expected)
        assert {n: docker_client.containers.get(n).id for n in names} == ids
        assert all(docker_client.containers.get(n).status == "running" for n in names)
        assert not docker_client.networks.list(names=[make_name("net2")])
    assert not ok(good)["changed"]


# --- a Compose project ----------------------------------------------------------------------------

def test_compose_preflight(docker_client, project, make_name, hazards, cleanup):
    # `project` (tests/integration/conftest.py): a unique Compose project name, swept at teardown
    scratch = hazards["scratch"]
    home_source = "~/%s-home" % make_name("bind")
    home_path = Path(os.path.expanduser(home_source))
    cleanup.callback(shutil.rmtree, home_path, True)
    good_env = {"GENERATION": "1", "WEB_PORT": str(free_port()), "HOME_SOURCE": home_source,
                "WORKER_IMAGE": "berth-test/busybox:latest", "DB_CONFIG": str(scratch),
                "SUBNET": free_subnet(docker_client, [hazards["subnet"]])}
    bad_env = dict(good_env, WEB_PORT=str(hazards["socket_port"]), WORKER_IMAGE=UNPULLABLE,
                   DB_CONFIG=str(scratch / "missing"), SUBNET=hazards["subnet"])
    params = {"compose_files": [str(COMPOSE)], "name": project}

    def owned():
        return {c.name: c for c in docker_client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project}"})}

    expected = {"container %s-web-1" % project: ["127.0.0.1:%s/tcp" % hazards["socket_port"]],
                "container %s-db-1" % project: [str(scratch / "missing"), "does not exist"],
                "network %s_backend" % project: [hazards["subnet"], make_name("taken")]}
    assert_each_problem_reported(fails(dict(params, compose_env=bad_env), check=True)["failures"], expected)
    expected["container %s-worker-1" % project] = [UNPULLABLE]
    assert_each_problem_reported(fails(dict(params, compose_env=bad_env))["failures"], expected)
    assert owned() == {}
    assert not docker_client.networks.list(filters={"label": f"com.docker.compose.project={project}"})
    assert not docker_client.volumes.list(filters={"label": f"com.docker.compose.project={project}"})
    assert not home_path.exists()

    ok(dict(params, compose_env=good_env))
    containers = owned()
    assert sorted(containers) == ["%s-%s-1" % (project, s) for s in ("db", "web", "worker")]
    assert all(c.status == "running" for c in containers.values())
    web = containers["%s-web-1" % project]
    assert home_path.is_dir(), "the short-syntax ~ source was created in the module user's home"
    assert [m["Source"] for m in web.attrs["Mounts"] if m["Destination"] == "/home-data"] == [str(home_path)]
    ids = {n: c.id for n, c in containers.items()}

    update = dict(bad_env, GENERATION="2", SUBNET=good_env["SUBNET"])
    expected.pop("network %s_backend" % project)
    for check in (True, False):
        assert_each_problem_reported(fails(dict(params, compose_env=update), check=check)["failures"],
                                     expected if not check else {k: v for k, v in expected.items()
                                                                 if "worker" not in k})
        assert {n: c.id for n, c in owned().items()} == ids
        assert all(c.status == "running" for c in owned().values())


# --- the container module's bind sources -----------------------------------------------------------------

container_module, _unused, _unused = module_helpers("berth.engine.container")


def test_container_module_bind_sources(docker_client, make_name, cleanup, test_images, tmp_path):
    name = cleanup.container(make_name("binds"))
    long_source, short_source = tmp_path / "long", tmp_path / "short" / "deep"
    task = {"name": name, "image": test_images.busybox, "stop_timeout": 1, "volumes": ["%s:/short" % short_source],
            "mounts": [{"type": "bind", "source": str(long_source), "target": "/long"}]}
    refused = container_module(task)
    assert refused["failed"] and "bind source %s does not exist" % long_source in refused["msg"], refused["msg"]
    assert not docker_client.containers.list(all=True, filters={"name": name}) and not short_source.exists()

    task["mounts"][0]["create_host_path"] = True
    created = container_module(task)
    assert not created["failed"], created["msg"]
    assert created["actions"][0] == "create_bind_source"
    assert long_source.is_dir() and short_source.is_dir()
    mounts = {m["Destination"]: m["Source"] for m in docker_client.containers.get(name).attrs["Mounts"]}
    assert (mounts["/long"], mounts["/short"]) == (str(long_source), str(short_source))
    assert docker_client.containers.get(name).status == "running"
