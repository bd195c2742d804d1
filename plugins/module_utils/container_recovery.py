# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finishing a container replacement that a crash interrupted (pure: unit-tested without a daemon).

A recreate renames the old container to ``<name>_berth_old_<first 12 hex digits of its own ID>``
before the new one is created, and removes it only once the new one runs. A crash of the engine,
the host or Berth in between leaves that container behind. The rename is the marker, checked
against the container's own ID: a name that embeds the ID of the container carrying it is not
something a user or another tool picks by chance. It is chosen over the alternatives because it
is written in the same engine call that moves the container aside, so it cannot get out of step:
a label cannot be added to an existing container (it would have to be put on every container at
creation, and then be ignored by every comparison), and a state file on the managed node can be
lost, stale, or left half-written by the very crash it is meant to survive.

The next run finishes the interrupted step before planning as usual:

- the new container runs (and is healthy when state is healthy): the old one goes;
- the new one is missing, or not running, or unhealthy: it goes, and the old one gets its name
  back (and is started when the task wants it running); the normal plan then replaces it again
  through the safe recreate, rollback included;
- an old container the crash caught while it was being removed is dead (the engine only removes
  it): the new one stays, or is created afresh when it is missing;
- the new one is running and still starting its health check: wait for it, then one of the above.

Either way exactly one container holds the name afterwards, and the plan goes on from it (a
restored old container is then recreated again, safely, if it still differs from the task).
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.container_plan import (
    RUNNING_STATES,
    carried_volumes,
    create_body,
    create_params,
    endpoint_config,
)

ASIDE_INFIX = "_berth_old_"
# What the engine reports as StartedAt for a container that has never been started.
NEVER_STARTED = ("", "0001-01-01T00:00:00Z")
TASK_EXISTS = "already exists"
RUNC_ID_IN_USE = "id already in use"


def aside_name(name, container_id):
    """The name a recreate of `name` gives the old container while the new one is brought up."""
    return "%s%s%s" % (name, ASIDE_INFIX, container_id[:12])


def _names(document):
    if document.get("Name"):
        return [document["Name"].lstrip("/")]
    return [n.lstrip("/") for n in document.get("Names") or []]


def aside_of(document):
    """The name whose replacement renamed this container (inspect or listing entry) aside, or None."""
    short_id = (document.get("Id") or "")[:12]
    if len(short_id) < 12:
        return None
    for name in _names(document):
        base, infix, suffix = name.rpartition(ASIDE_INFIX)
        if infix and base and suffix == short_id:
            return base
    return None


def never_started(container):
    """Whether the engine has never run this container (so it holds no data or work of the user's)."""
    return ((container or {}).get("State") or {}).get("StartedAt") in NEVER_STARTED + (None,)


def is_dead(container):
    """A container the engine will only remove (a removal was under way when the engine crashed)."""
    state = _state(container)
    return bool(state.get("Dead")) or state.get("Status") in ("dead", "removing")


def is_stale_task_error(message):
    """A start error of a container whose containerd task or runc state survived a crash of the engine.

    containerd says "task <id>: already exists", runc "id already in use" (both seen after a SIGKILL
    of dockerd and containerd while containers were starting).
    """
    message = (message or "").strip()
    return (message.startswith("task ") and message.endswith(TASK_EXISTS)) or message.endswith(RUNC_ID_IN_USE)


def killed_by_stale_task(container):
    """Whether a never-run container's first start was undone by a containerd task a crash left behind.

    Docker 28 (containerd 2) starts such a container without an error, then kills it about two
    seconds later when it fails to delete the leftover task ("cannot delete running task"), and
    again after every restart. Seen from the API: exit code 137 without an OOM kill, on a container
    that is no longer running or is being restarted by its policy.
    """
    state = _state(container)
    if state.get("ExitCode") != 137 or state.get("OOMKilled"):
        return False
    return not state.get("Running") or bool(state.get("Restarting"))


def _state(container):
    return (container or {}).get("State") or {}


def _health(container):
    return (_state(container).get("Health") or {}).get("Status")


def _should_run(desired, aside):
    """Whether the finished replacement runs: from the task, or for `present` from the old container.

    The old container was stopped by the recreate itself, so its state cannot tell whether it ran
    before; one that has ever run is taken as running (a service back up beats one left down).
    """
    state = desired["state"]
    return state in RUNNING_STATES or (state == "present" and not never_started(aside))


def _new_verdict(desired, new, should_run):
    """"keep", "restore" or "confirm" (wait for the health check) for the replacement `new`."""
    if new is None:
        return "restore"
    if not should_run or desired["state"] in ("stopped", "absent", "completed"):
        return "keep"
    if not _state(new).get("Running") or _state(new).get("Restarting"):
        return "restore"
    if desired["state"] != "healthy":
        return "keep"
    health = _health(new)
    if health == "healthy" or health is None:  # no health check: the normal plan says so
        return "keep"
    return "confirm" if health == "starting" else "restore"


def plan_recovery(desired, current, asides):
    """(actions, effective current, warnings) for the containers a crashed recreate left aside.

    `current` is the container holding the name (None if none does), `asides` the inspect
    documents of the containers renamed aside for it. The effective current is the container the
    normal plan starts from once the actions ran: the new one, or the old one under its name again.
    """
    name = desired["name"]
    asides = sorted(asides or [], key=lambda c: c.get("Created") or "")
    if not asides:
        return [], current, []
    # One the crash caught while it was being removed is dead: the engine can only remove it.
    usable = [c for c in asides if not is_dead(c)] or asides
    newest = usable[-1]
    older = [c["Id"] for c in asides if c is not newest]
    should_run = _should_run(desired, newest)
    verdict = "keep" if desired["state"] == "absent" or is_dead(newest) else _new_verdict(
        desired, current, should_run)
    action = {"action": "recover", "verdict": verdict, "name": name, "aside": newest["Id"],
              "new": (current or {}).get("Id"), "remove": older, "start": should_run,
              "restorable": not is_dead(newest)}
    if verdict == "keep":
        action["remove"] = older + [newest["Id"]]
        how = "kept the new container %s and removed the previous one" % action["new"][:12] if current else (
            "removed the previous container")
        effective = current
    else:
        how = ("putting the previous container %s back under its name unless the new one becomes healthy"
               if verdict == "confirm" else "put the previous container %s back under its name") % newest["Id"][:12]
        effective = current if verdict == "confirm" else _restored(newest, name, should_run)
    warning = ("container %s: finished a replacement interrupted earlier (the engine or the host crashed "
               "during a recreate): %s" % (name, how))
    return [action], effective, [warning]


def _restored(aside, name, running):
    """The old container's document as it is once renamed back (and started when it should run)."""
    state = dict(_state(aside))
    if running:
        state.update(Running=True, Status="running")
    return dict(aside, Name="/" + name, State=state)


def attach_repairs(plan, desired, current, image):
    """Give every start of a container that never ran what it takes to create it again.

    A crash of the engine between creating and starting a container can leave its containerd task
    behind, and every later start then fails with "task <id>: already exists". Such a container has
    never run, so nothing of the user's is lost by creating it again; apply does that only on that
    error. Creates and recreates carry their own create document already.
    """
    if current is None or not never_started(current):
        return plan
    image_ref = None if desired["image"] else current.get("Image")
    for action in plan.actions:
        if action["action"] == "start":
            action["repair"] = {
                "body": create_body(desired, carried_volumes(current, desired, image), image_ref, image),
                "params": create_params(desired),
                "connect": [(n["name"], endpoint_config(n)) for n in (desired["networks"] or [])[1:]],
            }
    return plan
