"""with_registry_auth on berth.engine.service and berth.engine.swarm_stack: a private single-node swarm (its own
network namespace) pulls an image that only an htpasswd registry in that namespace holds, with the login that
berth.engine.login stored on the manager. Observed with the Docker SDK on that daemon; the credentials must
appear nowhere in the modules' results or output."""
from __future__ import annotations

import base64
import json

import pytest

from tests.integration.test_swarm import wait_for
from tests.support.ansible import module_helpers, run_module
from tests.support.registry import start_registry
from tests.support.swarm_daemon import swarm_fixture

_unused, service_ok, _service_fails = module_helpers("berth.engine.service")
_unused, stack_ok, _stack_fails = module_helpers("berth.engine.swarm_stack")

swarm = swarm_fixture(images=lambda test_images: [test_images.busybox])


@pytest.fixture(scope="module")
def private_image(swarm, test_images):
    """(registry, reference for the service, reference for the stack): the busybox image pushed to a registry in
    the daemon's namespace as two repositories, then removed from the daemon, so a task can only run once the
    engine pulled it with credentials (a pull by another repository's name asks the registry again)."""
    registry = start_registry(netns=swarm.netns)
    try:
        refs = [registry.push(swarm.client, test_images.busybox, repository, "1")
                for repository in ("berth-private", "berth-stack")]
        swarm.client.images.remove(test_images.busybox, force=True)
        yield (registry, *refs)
    finally:
        registry.stop()


def running(swarm, service):
    tasks = swarm.client.api.tasks(filters={"service": service, "desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"]


def test_services_pull_a_private_image_with_the_stored_login(swarm, private_image, unique_name, tmp_path):
    registry, ref, stack_ref = private_image
    env = {"HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / ".docker")}
    login = run_module("berth.engine.login", {"docker_host": swarm.host, "registry": registry.host,
                                              "username": registry.username, "password": registry.password},
                       extra_env=env)
    assert login["changed"] and not login["failed"], login["msg"]
    host = dict(docker_host=swarm.host)
    service = dict(host, name=unique_name, image=ref, command=["sleep", "600"], endpoint_mode="dnsrr")

    # Without it the node has no credentials: the pull fails and the task cannot start.
    plain = service_ok(dict(service, wait=False), extra_env=env)
    assert any("could not be read" in w for w in plain.get("warnings") or []), "the digest needs the login too"
    wait_for(lambda: [t for t in swarm.client.api.tasks(filters={"service": unique_name})
                      if t["Status"]["State"] in ("rejected", "failed")], timeout=60, what="the refused pull")
    assert not running(swarm, unique_name)

    updated = service_ok(dict(service, with_registry_auth=True, wait_timeout=90), extra_env=env)
    assert updated["changed"] and not updated.get("warnings")
    images = [t["Spec"]["ContainerSpec"]["Image"] for t in running(swarm, unique_name)]
    assert images and all(i.startswith(ref + "@sha256:") for i in images), "pinned with the login's digest"

    stacked = unique_name + "-stack"
    stack = stack_ok(dict(host, name=stacked, with_registry_auth=True, services=[
        {"name": stacked + "-web", "image": stack_ref, "command": ["sleep", "600"], "endpoint_mode": "dnsrr",
         "wait_timeout": 90}]), extra_env=env)
    assert stack["changed"] and running(swarm, stacked + "-web")

    encoded = base64.urlsafe_b64encode(json.dumps(registry.auth_config).encode()).decode()
    for result in (updated, stack):
        shown = json.dumps(result["_entry"]) + result["_stdout"] + result["_stderr"]
        assert registry.password not in shown and encoded not in shown
