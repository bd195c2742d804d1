"""Stored registry logins: berth.engine.login once, then image and container pull without credentials.

The login goes to a config.json under a temporary HOME (HOME and DOCKER_CONFIG of the ansible run), so the
tests never touch the real ~/.docker. State is observed with the Docker SDK and the registry's HTTP API.
"""
from __future__ import annotations

import base64
import json

import docker
import pytest

from tests.support.ansible import module_helpers, run_module
from tests.support.registry import v2_status

_unused, image_ok, image_fails = module_helpers("berth.engine.image")
_unused, container_ok, container_fails = module_helpers("berth.engine.container")
_unused, stack_ok, stack_fails = module_helpers("berth.engine.stack")


def image_id(docker_client, ref):
    try:
        return docker_client.images.get(ref).id
    except docker.errors.ImageNotFound:
        return None


@pytest.fixture
def docker_home(tmp_path):
    """(environment for the ansible run, path of its config.json): a HOME with no login yet."""
    home = tmp_path / "home"
    home.mkdir()
    config = home / ".docker" / "config.json"
    return {"HOME": str(home), "DOCKER_CONFIG": str(config.parent)}, config


@pytest.fixture
def pushed(docker_client, unique_name, cleanup, test_images, local_registry):
    """An image only in the registry (its local tag removed): HOST/<unique>:1."""
    ref = cleanup.image(local_registry.push(docker_client, test_images.busybox, unique_name, "1"))
    assert image_id(docker_client, ref) is None
    return ref


def log_in(env, config, registry, password=None):
    result = run_module("berth.engine.login", {"registry": registry.host, "username": registry.username,
                                               "password": password or registry.password,
                                               "config_path": str(config)}, extra_env=env)
    assert not result["failed"] and result["changed"], result["msg"]
    assert registry.host in json.loads(config.read_text())["auths"]


def test_without_a_stored_login_pulls_fail_with_the_hint(docker_client, unique_name, cleanup, pushed, docker_home,
                                                         test_images):
    env, _unused = docker_home
    host = pushed.split("/", 1)[0]
    msg = image_fails({"name": pushed}, extra_env=env)
    assert "pulling image %s failed" % pushed in msg
    assert "registry %s wants credentials" % host in msg and "berth.engine.login" in msg
    name = cleanup.container(unique_name)
    msg = container_fails({"name": name, "image": pushed, "command": ["sleep", "600"]}, extra_env=env)
    assert "container %s" % name in msg and "registry %s wants credentials" % host in msg
    assert image_id(docker_client, pushed) is None
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(name)
    msg = stack_fails(stack_args(unique_name, name, pushed), extra_env=env)
    assert "registry %s wants credentials" % host in msg


def stack_args(stack, container, image):
    return {"name": stack, "containers": [{"name": container, "image": image, "command": ["sleep", "600"],
                                           "stop_timeout": 1}]}


def test_image_and_container_use_the_stored_login(docker_client, unique_name, make_name, cleanup, pushed,
                                                  docker_home, local_registry, test_images):
    env, config = docker_home
    log_in(env, config, local_registry)
    busybox = image_id(docker_client, test_images.busybox)

    assert image_ok({"name": pushed}, check=True, extra_env=env)["actions"] == ["pull"]
    pulled = image_ok({"name": pushed}, extra_env=env)
    assert pulled["changed"] and pulled["actions"] == ["pull"] and image_id(docker_client, pushed) == busybox
    assert not image_ok({"name": pushed}, extra_env=env)["changed"]
    forced = image_ok({"name": pushed, "force": True}, extra_env=env)
    assert not forced["changed"], "the registry digest was read with the stored login"

    docker_client.images.remove(pushed)
    name = cleanup.container(unique_name)
    started = container_ok({"name": name, "image": pushed, "command": ["sleep", "600"]}, extra_env=env)
    assert started["changed"]
    container = docker_client.containers.get(name)
    assert container.status == "running" and container.image.id == busybox

    # So does a stack's pull.
    docker_client.images.remove(pushed)
    member = cleanup.container(make_name("member"))
    assert stack_ok(stack_args(make_name("stack"), member, pushed), extra_env=env)["changed"]
    assert docker_client.containers.get(member).image.id == busybox

    # Pushes use it too.
    target = cleanup.image("%s/%s:1" % (local_registry.host, make_name("pushed")))
    docker_client.images.get(test_images.busybox).tag(target)
    push = {"name": target, "source": "local", "push": True}
    assert image_ok(push, extra_env=env)["actions"] == ["push"]
    manifest = "%s/v2/%s/manifests/1" % (local_registry.url, make_name("pushed"))
    assert v2_status(manifest, (local_registry.username, local_registry.password)) == 200
    assert not image_ok(push, extra_env=env)["changed"]


def test_a_refused_stored_login_says_so(docker_client, pushed, docker_home, local_registry):
    env, config = docker_home
    config.parent.mkdir()
    token = base64.b64encode(("%s:wrong" % local_registry.username).encode()).decode()
    config.write_text(json.dumps({"auths": {local_registry.host: {"auth": token}}}))
    msg = image_fails({"name": pushed}, extra_env=env)
    assert "refused the login stored by berth.engine.login" in msg and "wrong" not in msg
    # Credentials given to the task win over the stored ones.
    given = {"registry_username": local_registry.username, "registry_password": local_registry.password}
    assert image_ok({"name": pushed, **given}, extra_env=env)["changed"]
