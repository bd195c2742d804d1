"""Unit tests for the pure part of versioned secrets and configs (no daemon).

Fixtures are shaped like `GET /secrets` and `GET /services` output of Docker 20.10.
"""
from __future__ import annotations

import hashlib
import hmac

import pytest

from ansible_collections.berth.engine.plugins.module_utils.swarm_objects import (
    argument_spec,
    desired_object,
    plan_object,
    rolled_spec,
    version_name,
)
from tests.support.docs import own_options
from tests.unit.test_module_docs import compare as compare_docs

KEY = b"cluster-id-7c2f"


def secret(name, object_id, created):
    return {"ID": object_id, "Version": {"Index": 11}, "CreatedAt": created, "UpdatedAt": created,
            "Spec": {"Name": name, "Labels": {"io.berth.logical_name": "db"}}}


def service(name, secret_id, secret_name):
    return {"ID": "svc-" + name, "Version": {"Index": 20}, "Spec": {"Name": name, "TaskTemplate": {"ContainerSpec": {
        "Image": "web:1", "Secrets": [{"File": {"Name": "db", "UID": "0", "GID": "0", "Mode": 292},
                                       "SecretID": secret_id, "SecretName": secret_name}]}}}}


def desired(**overrides):
    params = {k: v.get("default") for k, v in argument_spec("secret").items()}
    params.update(name="db", content="hunter2")
    params.update(overrides)
    return desired_object(params, "secret")


V1 = version_name("db", b"old", KEY)
V2 = version_name("db", b"older", KEY)
NEW = version_name("db", b"hunter2", KEY)


@pytest.mark.parametrize("module", ["secret", "config"])
def test_documentation_matches_argument_spec(module):
    assert compare_docs(argument_spec(module), own_options(module), module) == []  # doc fragments merged in


def test_version_name_is_a_keyed_hash_never_a_plain_one():
    name = version_name("db", b"hunter2", KEY)
    assert name == "db_" + hmac.new(KEY, b"hunter2", hashlib.sha256).hexdigest()[:12]
    assert name != "db_" + hashlib.sha256(b"hunter2").hexdigest()[:12]
    assert version_name("db", b"hunter2", b"other") != name


def test_first_version_is_created():
    plan = plan_object(desired(), {"versions": [], "services": [], "key": KEY})
    assert plan.action_names() == ["create"]
    assert plan.actions[0]["labels"] == {"io.berth.logical_name": "db"}
    assert "hunter2" not in repr(plan.actions) + repr(plan.diff())


def test_same_content_no_change():
    state = {"versions": [secret(NEW, "s3", "2026-12-01T10:00:03Z")], "services": [], "key": KEY}
    assert plan_object(desired(), state).actions == []


def test_rotation_updates_users_and_prunes_beyond_keep():
    state = {"versions": [secret(V2, "s1", "2026-12-01T10:00:01Z"), secret(V1, "s2", "2026-12-01T10:00:02Z")],
             "services": [service("web", "s2", V1), service("other", "x", "unrelated")], "key": KEY}
    plan = plan_object(desired(), state)
    assert plan.action_names() == ["create", "update_services", "remove"]
    assert plan.actions[1]["services"] == ["web"] and plan.actions[1]["old_ids"] == ["s1", "s2"]
    assert plan.actions[2]["version"] == V2  # the newest old one (V1) is kept
    assert plan.diff()["after"] == {"content": "changed (version %s)" % NEW}
    assert [a["version"] for a in plan_object(desired(keep_versions=0), state).actions if a["action"] == "remove"] \
        == [V1, V2]


def test_old_version_still_used_is_kept_with_a_warning():
    state = {"versions": [secret(V2, "s1", "2026-12-01T10:00:01Z"), secret(V1, "s2", "2026-12-01T10:00:02Z")],
             "services": [service("pinned", "s1", V2)], "key": KEY}
    plan = plan_object(desired(update_services=False, keep_versions=0), state)
    assert [a["version"] for a in plan.actions if a["action"] == "remove"] == [V1]
    assert "pinned" in plan.warnings[0]


def test_absent_refuses_while_used():
    state = {"versions": [secret(V1, "s2", "2026-12-01T10:00:02Z")], "services": [service("web", "s2", V1)],
             "key": KEY}
    with pytest.raises(ValueError, match="in use by service"):
        plan_object(desired(state="absent"), state)
    state["services"] = []
    assert plan_object(desired(state="absent"), state).action_names() == ["remove"]


def test_back_to_an_older_content_makes_it_newest_again():
    older = version_name("db", b"hunter2", KEY)
    state = {"versions": [secret(older, "s1", "2026-12-01T10:00:01Z"), secret(V1, "s2", "2026-12-01T10:00:02Z")],
             "services": [], "key": KEY}
    assert plan_object(desired(), state).action_names() == ["remove", "create"]


def test_rolled_spec_keeps_the_file_target():
    spec = service("web", "s2", V1)["Spec"]
    new = rolled_spec(spec, "secret", {"s2"}, "s9", NEW)
    assert new["TaskTemplate"]["ContainerSpec"]["Secrets"] == [
        {"File": {"Name": "db", "UID": "0", "GID": "0", "Mode": 292}, "SecretID": "s9", "SecretName": NEW}]
    assert spec["TaskTemplate"]["ContainerSpec"]["Secrets"][0]["SecretID"] == "s2"


def test_input_validation():
    with pytest.raises(ValueError, match="exactly one of content"):
        desired(content=None)
    with pytest.raises(ValueError, match="too long"):
        desired(name="x" * 52)
    with pytest.raises(ValueError, match="keep_versions"):
        desired(keep_versions=-1)
    assert desired(content=None, content_base64="aHVudGVyMg==")["content"] == b"hunter2"


def config(**overrides):
    params = {k: v.get("default") for k, v in argument_spec("config").items()}
    params.update(name="app", content="service={{ .Service.Name }}")
    params.update(overrides)
    return desired_object(params, "config")


def test_a_template_driver_is_part_of_the_version_like_content():
    plain = version_name("app", b"x", KEY)
    templated = version_name("app", b"x", KEY, "golang")
    assert plain == version_name("app", b"x", KEY, None) and templated != plain
    assert config(template_driver="golang")["template_driver"] == "golang" and config()["template_driver"] is None
    assert "template_driver" not in argument_spec("secret")
    content = b"service={{ .Service.Name }}"
    current = {"ID": "c1", "CreatedAt": "2026-12-01T10:00:00Z",
               "Spec": {"Name": version_name("app", content, KEY), "Labels": {"io.berth.logical_name": "app"}}}
    state = {"versions": [current], "services": [], "key": KEY}
    assert plan_object(config(), state).actions == []
    plan = plan_object(config(template_driver="golang"), state)
    assert plan.action_names() == ["create"], "the old version is kept (keep_versions: 1)"
    assert plan.actions[0]["version"] == version_name("app", content, KEY, "golang")
    templated_state = dict(state, versions=[dict(current, Spec=dict(current["Spec"], Name=plan.actions[0]["version"]))])
    assert plan_object(config(template_driver="golang"), templated_state).actions == []
