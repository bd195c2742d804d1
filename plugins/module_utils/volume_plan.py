# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of the volume resource: desired state, comparison and the action list.

A volume cannot change in place and recreating it deletes its data, so a difference is an error
unless the user asked for `recreate: options_changed`.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.plan import Plan, as_text_map

RECREATE_CHOICES = ("never", "options_changed")


NAME_MAX = 255  # bytes of a file name on Linux file systems


def desired_volume(params):
    """Validate the module parameters: {'name', 'state', 'config' (only what the user set), 'recreate'}."""
    name = params.get("name")
    if not name:
        raise ValueError("name is required")
    config = {}
    if params.get("driver"):
        config["driver"] = params["driver"]
    if params.get("driver_opts") is not None:
        config["driver_opts"] = as_text_map(params["driver_opts"], "driver_opts")
    if params.get("labels") is not None:
        config["labels"] = as_text_map(params["labels"], "labels")
    state = params.get("state") or "present"
    if state == "present" and config.get("driver", "local") == "local" and len(name.encode("utf-8")) > NAME_MAX:
        raise ValueError("volume name %s... is %d bytes long: the local driver keeps a volume in a directory of that "
                         "name, at most %d bytes; shorten it (from a Compose file: the project name, the volume is "
                         "<project>_<volume>)" % (name[:40], len(name.encode("utf-8")), NAME_MAX))
    recreate = params.get("recreate") or "never"
    if recreate not in RECREATE_CHOICES:
        raise ValueError("recreate must be one of %s, got %r" % (", ".join(RECREATE_CHOICES), recreate))
    return {"name": name, "state": state, "config": config, "recreate": recreate}


def compare_volume(desired, volume):
    """[(setting, engine value, declared value)] for every user-set setting that differs.

    driver_opts are compared whole (they are all the user's); labels only by the keys given.
    """
    differences = []
    config = desired["config"]
    if "driver" in config and volume.get("Driver") != config["driver"]:
        differences.append(("driver", volume.get("Driver"), config["driver"]))
    if "driver_opts" in config and (volume.get("Options") or {}) != config["driver_opts"]:
        differences.append(("driver_opts", volume.get("Options") or {}, config["driver_opts"]))
    if "labels" in config:
        labels = volume.get("Labels") or {}
        current = {k: labels[k] for k in config["labels"] if k in labels}
        if current != config["labels"]:
            differences.append(("labels", current, config["labels"]))
    return differences


def volume_body(desired):
    config = desired["config"]
    return {"Name": desired["name"], "Driver": config.get("driver") or "local",
            "DriverOpts": dict(config.get("driver_opts") or {}), "Labels": dict(config.get("labels") or {})}


def volume_users_from_list(summaries, name):
    """'name (state)' of each container summary (GET /containers/json) that mounts volume `name`."""
    users = []
    for summary in summaries or []:
        if any(m.get("Name") == name for m in summary.get("Mounts") or []):
            container = (summary.get("Names") or ["/" + summary["Id"][:12]])[0].lstrip("/")
            users.append("%s (%s)" % (container, summary.get("State") or "?"))
    return sorted(users)


def in_use_message(name, users, doing):
    return ("volume %s cannot be %s: it is in use by container(s) %s. Remove those containers first "
            "(berth.engine.container state=absent); the engine never removes a volume in use"
            % (name, doing, ", ".join(users)))


def plan_volume(desired, actual, users=()):
    """The actions that take `actual` (volume inspect document or None) to `desired`.

    Raises ValueError on a difference unless desired['recreate'] is options_changed: the data stays.
    `users` are the containers that mount the volume ('name (state)'); they block remove and recreate.
    """
    name = desired["name"]
    plan = Plan("volume", name)
    if desired["state"] == "absent":
        if actual is not None:
            if users:
                raise ValueError(in_use_message(name, users, "removed"))
            plan.add("remove")
            plan.differ("state", "present", "absent")
        return plan
    if actual is None:
        plan.add("create", body=volume_body(desired))
        plan.differ("state", "absent", "present")
        plan.after.update(desired["config"])
        return plan
    differences = compare_volume(desired, actual)
    if not differences:
        return plan
    if desired["recreate"] != "options_changed":
        raise ValueError(
            "volume %s differs from the task in %s, and a volume cannot change in place: recreating it would "
            "delete its data, so nothing was changed. Set recreate: options_changed to delete and recreate it "
            "(its data is lost), or make the task match the volume. Differences: %s"
            % (name, ", ".join(d[0] for d in differences),
               "; ".join("%s is %r, the task wants %r" % d for d in differences)))
    if users:
        raise ValueError(in_use_message(name, users, "recreated"))
    for key, before, after in differences:
        plan.differ(key, before, after)
    plan.add("recreate", reasons=[d[0] for d in differences], body=volume_body(desired))
    plan.warnings.append("recreating volume %s (%s changed, recreate=options_changed) deletes its data"
                         % (name, ", ".join(d[0] for d in differences)))
    return plan


ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    driver=dict(type="str"),
    driver_opts=dict(type="dict"),
    labels=dict(type="dict"),
    recreate=dict(type="str", default="never", choices=list(RECREATE_CHOICES)),
)
