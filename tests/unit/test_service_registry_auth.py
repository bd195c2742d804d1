"""with_registry_auth: the service writes carry berth.engine.login's stored login as X-Registry-Auth (the header
the image pulls build), and nothing else does. The login is read from a config.json under a temporary
DOCKER_CONFIG, as berth.engine.login writes it; the engine is a recorder of the calls (no daemon)."""
from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.berth.engine.plugins.module_utils.credentials import store_credentials
from ansible_collections.berth.engine.plugins.module_utils.plan import Plan
from ansible_collections.berth.engine.plugins.module_utils.service_plan import ARGUMENT_SPEC
from ansible_collections.berth.engine.plugins.module_utils.service_resource import (
    ServiceResource,
    missing_login_warning,
    registry_auth,
)

REGISTRY = "127.0.0.1:5917"
IMAGE = REGISTRY + "/app:1"
SPEC = {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": IMAGE}}}


@pytest.fixture
def stored_login(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    store_credentials(str(tmp_path / "config.json"), REGISTRY, "deploy", "s3cret")


def decoded(headers):
    return json.loads(base64.urlsafe_b64decode(headers["X-Registry-Auth"]))


def test_the_stored_login_of_the_images_registry_only_when_asked(stored_login):
    assert decoded(registry_auth(SPEC, True)) == {"username": "deploy", "password": "s3cret",
                                                  "serveraddress": REGISTRY}
    assert registry_auth(SPEC, False) == {}
    other = {"TaskTemplate": {"ContainerSpec": {"Image": "other.example:5000/app:1"}}}
    assert registry_auth(other, True) == {}, "no login for that registry: no header"
    assert missing_login_warning(IMAGE) is None
    warning = missing_login_warning("other.example:5000/app:1")
    assert "no login for registry other.example:5000" in warning and "berth.engine.login" in warning


class Recorder:
    """Records POSTs with their headers and answers a create with an ID."""

    docker_host = "unix:///fake.sock"

    def __init__(self):
        self.posts = []

    def post(self, path, params=None, body=None, timeout=None, headers=None):
        self.posts.append((path, headers))
        return {"ID": "new-service"}

    def create(self, kind, body, headers=None):
        return self.post("/services/create", None, body, headers=headers)


def service(with_registry_auth):
    params = {k: v.get("default") for k, v in ARGUMENT_SPEC.items() if isinstance(v, dict)}
    params.update(name="web", image=IMAGE, with_registry_auth=with_registry_auth, wait=False)
    return ServiceResource(Recorder(), params)


@pytest.mark.parametrize("asked", [True, False])
def test_create_and_update_send_the_header_when_asked(stored_login, asked):
    resource = service(asked)
    plan = Plan("service", "web")
    plan.add("create", spec=SPEC)
    resource.start(plan, {})
    current = {"ID": "s1", "Version": {"Index": 7}, "Spec": SPEC}
    update = Plan("service", "web")
    update.add("update", spec=SPEC, rollout=False)
    resource.start(update, {"current": current})
    [(create_path, create_headers), (update_path, update_headers)] = resource.client.posts
    assert create_path.endswith("/services/create") and update_path.endswith("/services/s1/update")
    if asked:
        assert decoded(create_headers)["password"] == "s3cret" and decoded(update_headers)["username"] == "deploy"
    else:
        assert create_headers is None and update_headers is None
