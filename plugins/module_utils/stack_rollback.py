# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""All or nothing for a host stack: what a run changed, and how to undo it when the run fails.

The Journal is pure data: the items append one entry per change as they make it (a container created,
recreated with its old one kept aside, updated in place, started or stopped; a network or volume
created). undo_steps() (pure) turns it into the undo order: the reverse of the changes, containers before
the networks and volumes they use. undo() executes the steps through the engine client and returns what
it restored, removed and kept, and every step that failed (never swallowed). finish() removes the old
containers kept aside once the whole stack is confirmed.

What cannot be undone is left as it is and said in the docs: data written into a volume, side effects
of a container that ran, pulled or built images, a network recreated in place.
"""

from __future__ import annotations

import os
import threading

from ansible_collections.berth.engine.plugins.module_utils.container_recovery import aside_name
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError

UNDO_ORDER = ("containers", "networks", "volumes")
CONTAINER_REMOVED = ("created", "recreated")  # changes whose undo removes the container this run made
REPORT_KEYS = ("restored", "removed", "reverted", "kept")


class Journal:
    """The changes one stack run made, in the order it made them (appended from the worker threads)."""

    def __init__(self):
        self.entries = []
        self._lock = threading.Lock()

    def record(self, kind, name, change, **details):
        with self._lock:
            self.entries.append(dict(details, kind=kind, name=name, change=change))

    def replace_id(self, old_id, new_id):
        """A start repair created the container again under a new ID."""
        with self._lock:
            for entry in self.entries:
                if entry.get("id") == old_id:
                    entry["id"] = new_id

    def kept_aside(self):
        """(name, ID) of every old container kept aside until the stack is confirmed."""
        return [(e["name"], e["old"]) for e in self.entries if e["change"] == "recreated"]


# --- pure parts ----------------------------------------------------------------------------------

def undo_steps(entries):
    """The journal's entries in the order to undo them: newest first, containers, then networks, then volumes.

    A start, stop or update of a container that the undo removes anyway (created or recreated by this
    run) is dropped; so is anything of a kind the rollback does not undo (images).
    """
    removed_ids = {e["id"] for e in entries if e["kind"] == "containers" and e["change"] in CONTAINER_REMOVED}
    steps = []
    for entry in reversed(entries):
        if entry["kind"] not in UNDO_ORDER:
            continue
        if entry["change"] in ("updated", "started", "stopped") and entry.get("id") in removed_ids:
            continue
        steps.append(entry)
    return sorted(steps, key=lambda e: UNDO_ORDER.index(e["kind"]))  # stable: newest first within a kind


def empty_report():
    report = {kind: {key: [] for key in REPORT_KEYS} for kind in UNDO_ORDER}
    report["failed"] = []
    return report


def rollback_summary(report):
    """One line: "rolled back: restored web (3f2a1b2c3d4e), removed db, network x[; not undone: ...]"."""
    parts = []
    for key in REPORT_KEYS:
        named = []
        for kind in UNDO_ORDER:
            prefix = "" if kind == "containers" else kind[:-1] + " "
            named.extend(prefix + item for item in report[kind][key])
        if named:
            parts.append("%s %s" % (key, ", ".join(named)))
    line = "rolled back: " + ("; ".join(parts) if parts else "nothing had changed")
    if report["failed"]:
        line += "; NOT undone: " + "; ".join(report["failed"])
    return line


def restore_body(previous):
    """POST /containers/{id}/update document that puts back the limits an update changed."""
    return {key: value for key, value in previous.items() if value is not None}


# --- executing the undo --------------------------------------------------------------------------

def undo(client, journal, local):
    """Undo the journal's changes; returns the report (empty_report's shape) of what was done and what failed.

    `local`: the engine runs on this host, so a new volume's emptiness can be checked through its Mountpoint.
    """
    report = empty_report()
    for step in undo_steps(journal.entries):
        try:
            _UNDO[(step["kind"], step["change"])](client, step, report, local)
        except EngineError as err:
            report["failed"].append("%s %s: %s" % (step["kind"][:-1], step["name"], _left_where(step, err)))
    return report


def finish(client, journal):
    """The stack is confirmed: remove the old containers kept aside; returns warnings for those that stay."""
    warnings = []
    for name, old_id in journal.kept_aside():
        try:
            client.remove("container", old_id, {"force": True, "v": False})
        except EngineError as err:
            warnings.append("container %s: removing the previous container %s failed (%s); the next run removes "
                            "it" % (name, aside_name(name, old_id), err))
    return warnings


def _left_where(step, err):
    if step["kind"] == "containers" and step["change"] == "recreated":
        return ("putting back the previous container failed (%s): it waits, stopped, as %s, and the next run "
                "finishes it" % (err, aside_name(step["name"], step["old"])))
    return "undoing its %s failed (%s): it is left as this run made it" % (step["change"], err)


def _remove_created_container(client, step, report, local):
    # v=true: its anonymous volumes were created with it, by this run.
    client.remove("container", step["id"], {"force": True, "v": True})
    report["containers"]["removed"].append(step["name"])


def _restore_recreated(client, step, report, local):
    holder = client.inspect("container", step["name"])
    if holder is not None and holder["Id"] != step["old"]:
        # v=false: the new container may carry the old one's anonymous volumes.
        client.remove("container", holder["Id"], {"force": True, "v": False})
    client.act("container", step["old"], "rename", {"name": step["name"]})
    if step["was_running"]:
        client.act("container", step["old"], "start")
    report["containers"]["restored"].append("%s (%s)" % (step["name"], step["old"][:12]))


def _restored_by_itself(client, step, report, local):
    report["containers"]["restored"].append("%s (%s)" % (step["name"], step["old"][:12]))


def _revert_update(client, step, report, local):
    client.act("container", step["id"], "update", body=restore_body(step["previous"]))
    now = (client.inspect("container", step["id"]) or {}).get("HostConfig") or {}
    differing = sorted(k for k, v in step["previous"].items() if now.get(k) != v)
    if differing:  # the engine reads 0 as "unchanged": a limit set where there was none stays
        raise EngineError("the engine kept %s as this run set them" % ", ".join(differing))
    report["containers"]["reverted"].append("%s (limits)" % step["name"])


def _revert_run_state(client, step, report, local):
    verb, now = ("stop", "stopped") if step["change"] == "started" else ("start", "started")
    client.act("container", step["id"], verb)
    report["containers"]["reverted"].append("%s (%s)" % (step["name"], now))


def _remove_network(client, step, report, local):
    client.remove("network", step["id"] or step["name"])
    report["networks"]["removed"].append(step["name"])


def _remove_volume_if_empty(client, step, report, local):
    document = client.inspect("volume", step["name"]) or {}
    mountpoint = document.get("Mountpoint") or ""
    if not local or document.get("Driver") != "local" or not os.path.isdir(mountpoint):
        report["volumes"]["kept"].append("%s (cannot see whether it is empty: the engine is not local)"
                                         % step["name"])
        return
    try:
        empty = not os.listdir(mountpoint)
    except OSError as err:
        report["volumes"]["kept"].append("%s (cannot read its mountpoint: %s)" % (step["name"], err.strerror))
        return
    if not empty:
        report["volumes"]["kept"].append("%s (not empty)" % step["name"])
        return
    client.remove("volume", step["name"])
    report["volumes"]["removed"].append(step["name"])


_UNDO = {
    ("containers", "created"): _remove_created_container,
    ("containers", "recreated"): _restore_recreated,
    ("containers", "restored"): _restored_by_itself,
    ("containers", "updated"): _revert_update,
    ("containers", "started"): _revert_run_state,
    ("containers", "stopped"): _revert_run_state,
    ("networks", "created"): _remove_network,
    ("volumes", "created"): _remove_volume_if_empty,
}
