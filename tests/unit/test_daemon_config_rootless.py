"""daemon_config's refusals for a rootless engine's ~/.config/docker/daemon.json (pure part)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.berth.engine.plugins.module_utils import daemon_config as dc

PATH = "/home/alice/.config/docker/daemon.json"
DATA_ROOT = "/home/alice/.local/share/docker"


def params(config, rootless=True):
    return dict(path=PATH, defaults={"log-driver": "json-file"}, config=config, allow_unknown_keys=False,
                swarm_active=False, mode="0644", rootless=rootless)


def state(text=None, uid=1001, owner=1001):
    found = {"exists": text is not None, "text": text, "mode": 0o644 if text else None, "uid": uid if text else None,
             "owner_uid": 1001, "rootless": {"uid": 1001, "data_root_owner": owner}}
    return found


@pytest.mark.parametrize("key, value, words", [
    ("userns-remap", "default", "already runs in the user's own user namespace"),
    ("iptables", False, "RootlessKit's network namespace"),
    ("iptables", True, "slirp4netns"),
])
def test_settings_a_rootless_engine_cannot_honour_are_refused(key, value, words):
    with pytest.raises(ValueError, match="left unchanged") as err:
        dc.desire(params({key: value, "data-root": DATA_ROOT}))
    assert words in str(err.value) and PATH in str(err.value)


def test_the_same_settings_pass_for_a_rootful_engine():
    assert dc.desire(params({"userns-remap": "default", "iptables": False}, rootless=False))["config"][
        "userns-remap"] == "default"


def test_a_data_root_the_user_does_not_own_is_refused():
    desired = dc.desire(params({"data-root": "/srv/docker"}))
    with pytest.raises(ValueError, match="owned by uid 0, not by the engine's user \\(uid 1001\\)"):
        dc.plan(desired, state(owner=0))


def test_a_data_root_the_user_owns_is_written():
    desired = dc.desire(params({"data-root": DATA_ROOT}))
    assert dc.plan(desired, state()).action_names() == ["write"]


def test_the_users_own_file_is_not_chowned_to_root_on_every_run():
    desired = dc.desire(params({"data-root": DATA_ROOT}))
    current = json.dumps(desired["config"])
    assert dc.plan(desired, state(text=current, uid=1001)).actions == []
    assert dc.plan(desired, state(text=current, uid=0)).action_names() == ["set_attributes"]


def test_an_unchanged_file_is_not_refused_afterwards():
    desired = dc.desire(params({"data-root": "/srv/docker"}))
    assert dc.plan(desired, state(text=json.dumps(desired["config"]), owner=0)).actions == []


def test_rootless_data_root_refusal_is_none_when_unknown_or_owned():
    assert dc.rootless_data_root_refusal("/x", None, 1001) is None
    assert dc.rootless_data_root_refusal("/x", 1001, 1001) is None
