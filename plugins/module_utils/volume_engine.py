# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin part of the volume resource: read the volume, check who uses it, execute a plan."""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.engine import Conflict, EngineError, quote_path
from ansible_collections.berth.engine.plugins.module_utils.volume_plan import desired_volume, plan_volume


def inspect_volume(client, name):
    return client.get("/volumes/%s" % quote_path(name), missing_ok=True)


def volume_users(client, name):
    """Names of the containers (running or not) that mount the volume."""
    summaries = client.get("/containers/json", {"all": True, "filters": {"volume": [name]}}) or []
    users = []
    for summary in summaries:
        if any(m.get("Name") == name for m in summary.get("Mounts") or []):
            state = summary.get("State") or "?"
            users.append("%s (%s)" % ((summary.get("Names") or ["/" + summary["Id"][:12]])[0].lstrip("/"), state))
    return sorted(users)


def _in_use_error(name, users, doing):
    return EngineError("volume %s cannot be %s: it is in use by container(s) %s. Remove those containers first "
                       "(berth.engine.container state=absent); the engine never removes a volume in use"
                       % (name, doing, ", ".join(users)))


def converge_volume(client, params, check_mode=False, actual=None, read=True):
    """Plan, and apply unless check_mode. Returns (plan, volume inspect document or None)."""
    desired = desired_volume(params)
    name = desired["name"]
    if read:
        actual = inspect_volume(client, name)
    plan = plan_volume(desired, actual)
    destructive = plan.has("remove") or plan.has("recreate")
    if destructive:
        users = volume_users(client, name)
        if users:
            raise _in_use_error(name, users, "removed" if plan.has("remove") else "recreated")
    if check_mode or not plan.actions:
        return plan, actual
    for action in plan.actions:
        if action["action"] in ("remove", "recreate"):
            try:
                client.delete("/volumes/%s" % quote_path(name), missing_ok=True)
            except Conflict:  # a container started using it since we looked
                raise _in_use_error(name, volume_users(client, name) or ["?"], "removed") from None
        if action["action"] in ("create", "recreate"):
            try:
                client.post("/volumes/create", body=action["body"])
            except EngineError as err:
                raise EngineError("creating volume %s failed: %s" % (name, err.daemon_message or err),
                                  err.status, err.daemon_message) from None
    if plan.has("remove"):
        return plan, None
    return plan, inspect_volume(client, name)
