# Test-only notification callback for the ported peer cases (tests/integration/test_peer_cases.py):
# right after each case's task ends, it reads the object that case names from the engine through the
# Docker SDK - an independent path, at the moment the case ends, without an extra Ansible process -
# and writes every reading to one JSON file at the end of the run.
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: peer_observer
    type: notification
    short_description: Docker SDK readings after each ported peer case (Berth tests)
    description:
      - Reads BERTH_PEER_OBSERVE (a JSON file mapping task names to an object kind, name and docker_host);
        writes the readings to BERTH_PEER_READINGS.
"""


def _service(client, name):
    import docker

    try:
        return client.services.get(name).attrs
    except docker.errors.NotFound:
        return None


def _versions(collection, name):
    """Every version of a logical secret/config (Berth names them <name>_<hex>), oldest first."""
    found = collection.list(filters={"label": f"io.berth.logical_name={name}"})
    return sorted((obj.attrs for obj in found), key=lambda attrs: attrs["CreatedAt"])


def _swarm(client):
    """The swarm as a manager reads it (GET /swarm), with the unlock key when autolock is on; None when the
    daemon is in no swarm. The node's side (the Swarm part of /info) is under LocalNode."""
    local = client.info()["Swarm"]
    if local.get("LocalNodeState") == "inactive":
        return None
    attrs = dict(client.api.inspect_swarm()) if local.get("ControlAvailable") else {}
    if ((attrs.get("Spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers"):
        attrs["UnlockKey"] = client.api.get_unlock_key().get("UnlockKey")
    return dict(attrs, LocalNode=local)


def read(client, kind, name):
    if kind == "service":
        return _service(client, name)
    if kind == "secret":
        return _versions(client.secrets, name)
    if kind == "config":
        return _versions(client.configs, name)
    if kind == "node":
        return client.nodes.list()[0].attrs
    if kind == "swarm":
        return _swarm(client)
    if kind == "network":
        found = client.networks.list(names=[name])
        return found[0].attrs if found else None
    if kind == "stack":
        return [s.attrs for s in client.services.list(filters={"label": f"io.berth.swarm_stack={name}"})]
    raise ValueError(f"unknown kind {kind!r}")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "peer_observer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display)
        self._readings = {}
        self._wanted = {}
        self._clients = {}
        plan = os.environ.get("BERTH_PEER_OBSERVE")
        if plan:
            with open(plan) as fh:
                self._wanted = json.load(fh)

    def _observe(self, result):
        target = self._wanted.get(result.task_name)
        if not target:
            return
        host = target["docker_host"]
        if host not in self._clients:
            import docker

            self._clients[host] = docker.DockerClient(base_url=host, version="1.41")
        try:
            self._readings[result.task_name] = {"value": read(self._clients[host], target["kind"], target["name"])}
        except Exception as err:  # noqa: BLE001 - recorded, so the case fails with the reason
            self._readings[result.task_name] = {"error": f"{type(err).__name__}: {err}"}

    def v2_runner_on_ok(self, result):
        self._observe(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._observe(result)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["BERTH_PEER_READINGS"], "w") as fh:
            json.dump(self._readings, fh, default=str)
