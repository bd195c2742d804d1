# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin part of the volume resource: read the volume and who uses it, execute a plan."""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.engine_client import Conflict, EngineError
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource
from ansible_collections.berth.engine.plugins.module_utils.volume_plan import (
    compare_volume,
    desired_volume,
    in_use_message,
    plan_volume,
    volume_users_from_list,
)


def inspect_volume(client, name):
    return client.inspect("volume", name)


def volume_users(client, name):
    """Names of the containers (running or not) that mount the volume, as 'name (state)'."""
    return volume_users_from_list(client.listing("container", {"volume": [name]}, all=True), name)


class VolumeResource(Resource):
    """One named volume. A difference is an error unless recreate=options_changed; data is never lost by surprise."""

    kind = "volume"

    def desire(self, params):
        return desired_volume(params)

    def read(self, known=UNREAD):
        """{'current': inspect document or None, 'users': containers mounting it (read when it could be removed)}."""
        current = inspect_volume(self.client, self.name) if known is UNREAD else known
        state = {"current": current, "users": []}
        desired = self.desired
        if current is not None and (desired["state"] == "absent" or (
                desired["recreate"] == "options_changed" and compare_volume(desired, current))):
            state["users"] = volume_users(self.client, self.name)
        return state

    def plan(self, state):
        return plan_volume(self.desired, state["current"], state["users"])

    def apply(self, plan, state):
        for action in plan.actions:
            if action["action"] in ("remove", "recreate"):
                self._remove(action["action"])
            if action["action"] in ("create", "recreate"):
                self._create(action["body"])
        if plan.has("remove"):
            return None
        return inspect_volume(self.client, self.name)

    def _remove(self, doing):
        try:
            self.client.remove("volume", self.name)
        except Conflict:  # a container started using it since it was read
            users = volume_users(self.client, self.name) or ["?"]
            raise EngineError(in_use_message(self.name, users, doing + "d")) from None

    def _create(self, body):
        try:
            self.client.create("volume", body)
        except EngineError as err:
            raise EngineError("creating volume %s failed: %s" % (self.name, err.daemon_message or err),
                              err.status, err.daemon_message) from None
