# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container resource on the one contract (resource.py): read the engine, execute a plan.

The plan itself is pure (container_plan.plan_from_state). A recreate never leaves the host without
the service: the old container is only removed once the new one runs, and is put back if the new
one fails; one a crash interrupted is finished by the next run (container_recovery.py).
"""

from __future__ import annotations

import time

from ansible_collections.berth.engine.plugins.module_utils.container_plan import (
    DISCARD_PROBED_OPTIONS,
    desired_container,
    ignore_discarded,
    options_the_engine_discards,
    plan_from_state,
    update_body,
)
from ansible_collections.berth.engine.plugins.module_utils.container_recovery import (
    ASIDE_INFIX,
    aside_name,
    aside_of,
    attach_repairs,
    is_stale_task_error,
    killed_by_stale_task,
    never_started,
    plan_recovery,
)
from ansible_collections.berth.engine.plugins.module_utils.engine_client import (
    Conflict,
    EngineError,
    NotFound,
    endpoint,
)
from ansible_collections.berth.engine.plugins.module_utils.image_calls import (
    credentials_hint,
    has_digest,
    inspect_image,
    pull_image,
    remote_digest,
)
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource, converge

# How long a started replacement must stay up, on one start and unrestarted, before the old container is
# removed: an entrypoint that fails at once (bad command, missing file, crash on its config) dies well
# within it; a later death is the restart policy's and the health check's business, not the recreate's.
START_GRACE_SECONDS = 0.25
# How long the first start of a never-run container that predates this run is watched: Docker 28 kills
# one whose containerd task survived an engine crash about 2 s after the start (killed_by_stale_task).
STALE_TASK_WATCH_SECONDS = 4


class Raced(EngineError):
    """Another run changed the container between our read and our apply (a name conflict, a rename)."""


class ContainerResource(Resource):
    kind = "container"

    def __init__(self, client, params, check_mode=False, cache=None, journal=None):
        """`journal`: a stack with rollback "stack" records every change there (stack_rollback.Journal);
        old containers then stay aside until the whole stack is confirmed, and every start is confirmed."""
        self.params = params
        self.healthy_timeout = params.get("healthy_timeout") or 60
        self.journal = journal
        self.confirm_starts = journal is not None
        self.pulled = None  # (image, pull state) once apply() pulled: a second read after a race reuses it
        super().__init__(client, params, check_mode, cache)
        values = self.desired["values"]
        self.stop_timeout = values.get("stop_timeout", values.get("stop_grace_period"))

    def desire(self, params):
        return desired_container(params)

    # --- read --------------------------------------------------------------------------------------

    def read(self, known=UNREAD, asides=None, image=None, networks=None):
        """Everything plan_from_state needs: the container, its image, the networks, network_mode's target.

        Reads only: an image to pull is planned (state["pull"] "predicted") and pulled by apply(). What
        the caller knows already is given: `asides`, the containers a crashed recreate of this one left
        renamed aside (with `known`); `image`, (inspect document, pull state) as obtain_image() returned
        it (a stack's pre-flight); `networks`, {name: exists} for networks the caller creates first.
        """
        desired = self.desired
        current = self.client.inspect("container", self.name) if known is UNREAD else known
        state = {"current": current, "image": None, "pull": None, "networks": {}, "network_mode_target": None,
                 "asides": asides if asides is not None and known is not UNREAD else self._read_asides()}
        if desired["state"] == "absent":
            return state
        if desired.get("needs_api"):  # the plan refuses an option this engine would drop
            state["api_version"] = self.client.api_version
        if desired["image"]:
            state["image"], state["pull"] = image or self.resolve_image()
        elif current is not None:
            state["image"] = self.cached(("image-id", current["Image"]),
                                         lambda: inspect_image(self.client, current["Image"]))
        for network in desired["networks"] or []:
            name = network["name"]
            state["networks"][name] = (networks or {}).get(name)
            if state["networks"][name] is None:
                state["networks"][name] = self.cached(
                    ("network", name), lambda name=name: self.client.inspect("network", name) is not None)
        state.update(self._read_targets())
        if any(desired["values"].get(option) is not None for option in DISCARD_PROBED_OPTIONS):
            state["discarded"] = self.cached(("discarded-options",), lambda: options_the_engine_discards(
                self.client.get(endpoint("info")) or {}))
        return state

    def _read_targets(self):
        """The IDs of the containers network_mode, pid_mode and ipc_mode name (container:<name>)."""
        targets = {"network_mode_target": None}
        mode = self.desired["values"].get("network_mode") or ""
        if mode.startswith("container:"):
            target = self.client.inspect("container", mode[len("container:"):])
            targets["network_mode_target"] = target["Id"] if target else None
        for option in ("pid_mode", "ipc_mode"):  # the engine stores container:<ID> for these too
            value = self.desired["values"].get(option) or ""
            if value.startswith("container:"):
                target = self.client.inspect("container", value[len("container:"):])
                targets.setdefault("container_targets", {})[value] = target["Id"] if target else None
        return targets

    def _read_asides(self):
        """Inspect documents of the containers a recreate of this name renamed aside and left behind."""
        entries = self.client.listing("container", {"name": [self.name + ASIDE_INFIX]}, all=True)
        documents = [self.client.inspect("container", e["Id"]) for e in entries if aside_of(e) == self.name]
        return [d for d in documents if d is not None]

    def image_key(self):
        """What decides the image this container runs: its reference and pull mode (a stack resolves each once)."""
        return self.desired["image"], self.params.get("pull") or "missing"

    def resolve_image(self):
        """(inspect document of the image to run or None, None | "predicted" for a pull apply() will make).

        Reads only. pull always compares the registry's digest with the local image's: a pull is planned
        when they differ or the registry cannot tell, as the pull itself would bring a different image.
        """
        reference, pull = self.image_key()
        image = inspect_image(self.client, reference)
        if image is None and pull == "never":
            raise EngineError("image %s is not on the host and pull is never: load or build it first "
                              "(berth.engine.image)" % reference)
        if image is not None and pull != "always":
            return image, None
        if image is None:
            return None, "predicted"
        digest = remote_digest(self.client, reference, self.params.get("registry_username"),
                               self.params.get("registry_password"))
        return image, None if digest and has_digest(image, digest) else "predicted"

    def pull_image(self, before):
        """Pull the image (apply, or a stack's pre-flight): (its inspect document, "done" when that brought
        an image other than `before`, the one resolve_image found, else None)."""
        reference = self.desired["image"]
        username, password = self.params.get("registry_username"), self.params.get("registry_password")
        try:
            pulled = pull_image(self.client, reference, username, password)
        except EngineError as err:
            who = " as registry user %s" % username if username else ""
            raise EngineError("container %s: %s%s%s" % (self.name, err, who,
                                                        credentials_hint(str(err), reference, username)),
                              err.status, err.daemon_message) from None
        return pulled, "done" if before is None or pulled["Id"] != before["Id"] else None

    def obtain_image(self):
        """resolve_image(), and outside check mode the pull it plans: what a stack's pre-flight gives read()."""
        image, pull = self.resolve_image()
        if pull == "predicted" and not self.check_mode:
            return self.pull_image(image)
        return image, pull

    # --- plan --------------------------------------------------------------------------------------

    def plan(self, state):
        """Finish a recreate a crash interrupted (container_recovery.py), then plan from what that leaves.

        Options the engine discards on this host are not compared (they could never converge).
        """
        desired, ignored = ignore_discarded(self.desired, state.get("discarded") or {})
        recovery, current, warnings = plan_recovery(desired, state["current"], state.get("asides"))
        plan = plan_from_state(desired, dict(state, current=current))
        attach_repairs(plan, desired, current, state.get("image"))
        plan.actions[:0] = recovery
        plan.warnings.extend(warnings + ignored)
        return plan

    # --- apply -------------------------------------------------------------------------------------

    def apply(self, plan, state):
        """Pull first when the plan says so, then execute the plan's actions in order; returns the container's
        final inspect document.

        The plan was made before the pull, for the image as predicted; the create document needs the
        pulled image (its ID, healthcheck, volumes), so the rest is planned again (plan() is pure) from
        the pulled image, and `plan` is updated in place to what was done.
        """
        if state.get("pull") == "predicted":
            state = dict(state)
            state["image"], state["pull"] = self.pulled = self.pull_image(state["image"])
            replanned = self.plan(state)
            plan.actions[:], plan.warnings[:] = replanned.actions, replanned.warnings
            plan.before, plan.after = replanned.before, replanned.after
        return self._execute(plan, state)

    def _execute(self, plan, state):
        current = state["current"]
        container_id = current["Id"] if current else None
        created = None  # the create action, for a start that has to create the container again
        repairs = []
        for action in plan.actions:
            kind = action["action"]
            if kind == "recover":
                container_id = self._recover(action)
                current = self.client.inspect("container", container_id) if container_id else None
            elif kind == "create":
                container_id, created = self._create(action), action
                self._journal("created", id=container_id)
            elif kind == "recreate":
                container_id = self._safe_recreate(current, action, repairs)
            elif kind == "remove":
                self._remove(container_id)
                return None
            elif kind == "start":
                container_id = self._start_step(container_id, created, action.get("repair"), repairs)
            elif kind == "stop":
                self._stop(container_id)
                if created is None:
                    self._journal("stopped", id=container_id)
            elif kind == "restart":
                self.client.act("container", container_id, "restart", self._stop_params())
            elif kind == "update":
                self._update(container_id, current)
            elif kind == "connect":
                self._connect(container_id, action["network"], action["endpoint"])
            elif kind == "disconnect":
                self.client.disconnect(action["network"], container_id)
            elif kind == "wait_healthy":
                self._wait_healthy(container_id)
            elif kind == "wait_exit":
                self._wait_exit(container_id)
            # "pull" was done before the plan's other actions were planned again (apply).
        self._report_repairs(plan, repairs)
        return self.client.inspect("container", container_id)

    def _report_repairs(self, plan, repairs):
        for old_id in repairs:
            plan.actions.append({"action": "repair", "id": old_id})
            plan.warnings.append("container %s: its start failed (or the engine killed it just after) on a "
                                 "containerd task left over from an engine crash; the container had never run, "
                                 "so it was removed and created again (was %s)" % (self.name, old_id[:12]))

    def _journal(self, change, **details):
        if self.journal is not None:
            self.journal.record("containers", self.name, change, **details)

    def _start_step(self, container_id, created, repair, repairs):
        """Start; a container this run created whose first start fails is removed, never left Created.

        In a stack that rolls back as a whole the rollback removes it (and names it); the start is then
        also confirmed (the new container stays up START_GRACE_SECONDS).
        """
        try:
            started_id = self._start_or_repair(container_id, created or repair, repairs)
            if repair and started_id == container_id:
                started_id = self._watch_first_start(container_id, repair, repairs)
        except EngineError as err:
            if created is None or self.journal is not None:
                raise
            raise self._discard_unstarted(container_id, err) from None
        if self.journal is not None:
            if started_id != container_id:
                self.journal.replace_id(container_id, started_id)
            if created is None:
                self._journal("started", id=started_id)
        if self.confirm_starts:
            try:
                self._confirm_running(started_id)
            except EngineError as err:
                raise EngineError("container %s: %s%s" % (self.name, err, self._output_of(started_id))) from None
        return started_id

    def _output_of(self, container_id):
        """The tail of a failed container's output, for its error message ("" when there is none to read)."""
        try:
            logs = self.client.logs(container_id, tail=50).strip()
        except EngineError:
            return ""
        return ("\nIts output:\n" + logs) if logs else ""

    def _discard_unstarted(self, container_id, cause):
        """The error for a failed first start, once the container this run created for it is removed."""
        output = self._output_of(container_id)
        try:
            # v=true: its anonymous volumes were created with it, and it never ran.
            self.client.remove("container", container_id, {"force": True, "v": True})
        except EngineError as err:
            return EngineError("%s; removing the container this run created for it failed too (%s): it is left, "
                               "never started, as %s" % (cause, err, container_id[:12]), cause.status,
                               cause.daemon_message)
        return EngineError("%s. The container this run created was removed again, so none is left half-made.%s"
                           % (cause, output), cause.status, cause.daemon_message)

    def _stop_params(self):
        return {"t": self.stop_timeout} if self.stop_timeout is not None else None

    def _create(self, action):
        name = self.name
        try:
            created = self.client.create("container", action["body"], dict(action.get("params") or {}, name=name))
        except Conflict as err:
            raise Raced("creating container %s failed: %s" % (name, err.daemon_message), err.status,
                        err.daemon_message) from None
        except NotFound as err:
            raise EngineError("creating container %s failed: %s. Does the network or volume exist?"
                              % (name, err.daemon_message), err.status, err.daemon_message) from None
        except EngineError as err:
            raise EngineError("creating container %s failed: %s" % (name, err.daemon_message or err),
                              err.status, err.daemon_message) from None
        for network, endpoint_config in action["connect"]:
            self._connect(created["Id"], network, endpoint_config)
        return created["Id"]

    def _connect(self, container_id, network, endpoint):
        try:
            self.client.connect(network, container_id, endpoint)
        except NotFound:
            raise EngineError("container %s: network %s does not exist; create it first with berth.engine.network"
                              % (self.name, network)) from None

    def _start(self, container_id):
        try:
            self.client.act("container", container_id, "start")  # a 304 (already running) is success
        except EngineError as err:
            raise EngineError("starting container %s failed: %s%s" % (
                self.name, err.daemon_message or err, _privilege_hint(err.daemon_message)),
                err.status, err.daemon_message) from None

    def _start_or_repair(self, container_id, create_action, repairs):
        """Start; a container that never ran and fails on a stale containerd task is created again first.

        `create_action` holds the create document (the plan's create, recreate or start repair);
        without one, or for a container that has run, the error stands. Returns the container's ID.
        """
        try:
            self._start(container_id)
            return container_id
        except EngineError as err:
            if not (create_action and is_stale_task_error(err.daemon_message)):
                raise
            if not never_started(self.client.inspect("container", container_id)):
                raise
        return self._create_again(container_id, create_action, repairs)

    def _watch_first_start(self, container_id, repair, repairs):
        """Watch the first start of a never-run container; one killed by a stale task is created again.

        On Docker 20.10 such a start fails at once (_start_or_repair); Docker 28 starts it and kills
        it a little later, so the start is watched for STALE_TASK_WATCH_SECONDS. Any other outcome
        (running on, or exiting by itself) is left to the usual confirmation.
        """
        deadline = time.monotonic() + STALE_TASK_WATCH_SECONDS
        while time.monotonic() < deadline:
            inspect = self.client.inspect("container", container_id) or {}
            if killed_by_stale_task(inspect):
                return self._create_again(container_id, repair, repairs)
            if not (inspect.get("State") or {}).get("Running"):
                return container_id
            time.sleep(0.1)
        return container_id

    def _create_again(self, container_id, create_action, repairs):
        """Replace a never-run container whose containerd task a crash left behind; returns the new ID."""
        self._remove(container_id)
        new_id = self._create(create_action)
        self._start(new_id)
        repairs.append(container_id)
        return new_id

    def _recover(self, action):
        """Execute plan_recovery's decision; returns the ID of the container that holds the name after it."""
        verdict, new_id, aside_id = action["verdict"], action["new"], action["aside"]
        if verdict == "confirm":
            try:
                self._wait_healthy(new_id)
                verdict = "keep"
            except EngineError:
                verdict = "restore"
        if verdict == "keep":
            # In a stack that rolls back as a whole, the old one stays aside until the stack is confirmed.
            keep_aside = self.journal is not None and new_id and action.get("restorable")
            for container_id in action["remove"]:
                if not (keep_aside and container_id == aside_id):
                    self._remove(container_id)
            if keep_aside:
                self._journal("recreated", id=new_id, old=aside_id, was_running=action["start"])
            return new_id
        if new_id:
            self._remove(new_id)
        self._rename(aside_id, self.name)
        if action["start"]:
            self._start(aside_id)
        for container_id in action["remove"]:
            self._remove(container_id)
        if action["verdict"] == "confirm":
            # The plan after a confirm was made for the new container: plan again from the old one.
            raise Raced("container %s: the interrupted replacement failed its health check; planning again"
                        % self.name)
        return aside_id

    def _stop(self, container_id):
        self.client.act("container", container_id, "stop", self._stop_params(),
                        timeout=self.client.timeout + (self.stop_timeout or 10))

    def _remove(self, container_id):
        # v=false: anonymous volumes outlive the container, so no data goes with it.
        self.client.remove("container", container_id, {"force": True, "v": False})

    def _update(self, container_id, current):
        body = update_body(self.desired)
        try:
            self.client.act("container", container_id, "update", body=body)
        except EngineError as err:
            raise EngineError("updating container %s in place failed: %s"
                              % (self.name, err.daemon_message or err), err.status) from None
        host_config = (current or {}).get("HostConfig") or {}
        self._journal("updated", id=container_id, previous={key: host_config.get(key) for key in body})

    def _rename(self, container_id, new_name):
        try:
            self.client.act("container", container_id, "rename", {"name": new_name})
        except (NotFound, Conflict) as err:
            raise Raced("renaming container %s to %s failed: %s" % (self.name, new_name, err.daemon_message),
                        err.status, err.daemon_message) from None

    def _safe_recreate(self, old, action, repairs):
        """Stop and rename the old container aside, bring the new one up, roll back on failure.

        The aside name is the marker by which a later run finishes this after a crash (container_recovery.py).
        """
        name = self.name
        old_id = old["Id"]
        aside = aside_name(name, old_id)
        now = self.client.inspect("container", old_id)
        if now is None or now["Name"].lstrip("/") != name:
            # Another run removed or renamed it since we read: re-read instead of renaming it onto itself.
            raise Raced("container %s changed while this run was planning" % name)
        if action["was_running"]:
            self._stop(old_id)
        self._rename(old_id, aside)
        new_id = None
        try:
            new_id = self._create(action)
            if action["start"]:
                new_id = self._start_or_repair(new_id, action, repairs)
                self._confirm_running(new_id)
            if self.desired["state"] == "healthy":
                self._wait_healthy(new_id)
        except Raced as err:
            # The name is another's now: a roll-back would have to remove its container to rename ours back.
            raise EngineError(
                "recreating container %s: another run or tool created a container under its name while this run "
                "had the previous one (%s) renamed aside (%s). Nothing was removed: the previous container waits, "
                "stopped, as %s; run the task again once the other is done, and it finishes the replacement like one "
                "a crash interrupted" % (name, old_id[:12], err, aside), err.status, err.daemon_message) from None
        except EngineError as err:
            self._roll_back(old_id, new_id, action["was_running"], err)
        if self.journal is None:
            self._remove(old_id)
        else:  # kept aside (stopped) until the whole stack is confirmed, then removed (stack_rollback.finish)
            self._journal("recreated", id=new_id, old=old_id, was_running=action["was_running"])
        return new_id

    def _roll_back(self, old_id, new_id, was_running, cause):
        name = self.name
        logs = ""
        problems = []
        try:
            holder = self.client.inspect("container", name)
        except EngineError:
            holder = None
        if holder is not None and holder["Id"] != old_id:
            new_id = holder["Id"]  # also one a start repair created again under the name
        if new_id:
            try:
                logs = self.client.logs(new_id, tail=50).strip()
                self._remove(new_id)
            except EngineError as err:
                problems.append("removing the failed new container: %s" % err)
        try:
            self.client.act("container", old_id, "rename", {"name": name})
            if was_running:
                self.client.act("container", old_id, "start")
        except EngineError as err:
            problems.append("restoring the previous container: %s" % err)
        if not problems:
            self._journal("restored", old=old_id)
        if problems:
            raise EngineError("recreating container %s failed (%s) and the rollback failed too (%s); the "
                              "previous container is %s" % (name, cause, "; ".join(problems), old_id))
        raise EngineError("recreating container %s failed: %s. Rolled back: the previous container %s is %s "
                          "again under its name.%s" % (name, cause, old_id[:12],
                                                       "running" if was_running else "in place",
                                                       ("\nNew container output:\n" + logs) if logs else ""))

    def _confirm_running(self, container_id):
        """Watch a freshly started replacement until it has run START_GRACE_SECONDS on one start.

        A death counts as a failure, and so does a restart (a restart policy revives it at once): a
        RestartCount, Restarting, or a StartedAt other than the first one seen. The time is counted on our
        clock from the first inspect that sees it running, so a skewed engine clock cannot shorten it.
        A container that exits 0 at once (a one-shot command) is not a failure.
        """
        started_at = deadline = None
        while True:
            inspect = self.client.inspect("container", container_id) or {}
            state = inspect.get("State") or {}
            restarted = started_at is not None and state.get("StartedAt") != started_at
            if inspect.get("RestartCount") or state.get("Restarting") or restarted or (
                    not state.get("Running") and (state.get("ExitCode") or state.get("Error"))):
                raise EngineError("the new container exited right after it started (exit code %s, restarted %s "
                                  "times)%s" % (state.get("ExitCode"), inspect.get("RestartCount") or int(restarted),
                                                (": " + state["Error"]) if state.get("Error") else ""))
            if not state.get("Running"):
                return
            now = time.monotonic()
            if deadline is None:
                started_at, deadline = state.get("StartedAt"), now + START_GRACE_SECONDS
            elif now >= deadline:
                return
            time.sleep(min(0.05, max(0.0, deadline - now)))

    def _wait_exit(self, container_id):
        """state completed: wait for the one-shot container to exit; a non-zero code fails with its output."""
        try:
            reply = self.client.act("container", container_id, "wait", {"condition": "not-running"},
                                    timeout=self.healthy_timeout)
        except EngineError as err:
            if "timed out" not in str(err) and "did not answer" not in str(err):
                raise
            raise EngineError("container %s was still running after %ss (healthy_timeout) waiting for it to "
                              "complete" % (self.name, self.healthy_timeout)) from None
        code = (reply or {}).get("StatusCode")
        if code:
            logs = self.client.logs(container_id, tail=50).strip()
            raise EngineError("container %s completed with exit code %s%s" % (
                self.name, code, ("\nIts output:\n" + logs) if logs else ""))

    def _wait_healthy(self, container_id):
        deadline = time.monotonic() + self.healthy_timeout
        while True:
            state = (self.client.inspect("container", container_id) or {}).get("State") or {}
            health = (state.get("Health") or {}).get("Status")
            if health is None:
                raise EngineError("container %s has no health check, so state healthy cannot be reached; "
                                  "set healthcheck or use state started" % self.name)
            if health == "healthy":
                return
            if not state.get("Running"):
                raise EngineError("container %s stopped (exit code %s) while waiting for it to become healthy"
                                  % (self.name, state.get("ExitCode")))
            if health == "unhealthy" or time.monotonic() >= deadline:
                log = (state.get("Health") or {}).get("Log") or []
                last = (log[-1].get("Output") or "").strip() if log else ""
                raise EngineError("container %s is %s after %ss (healthy_timeout)%s" % (
                    self.name, health, self.healthy_timeout, ("; last check said: " + last) if last else ""))
            time.sleep(0.5)


def _privilege_hint(message):
    if message and "unable to apply caps" in message:
        return (" (the host's capability bounding set lacks a capability that privileged or cap_add ALL "
                "asks for; this happens on hosts that are themselves containers or sandboxes: use cap_add "
                "with the capabilities you need, or cap_drop the missing one, instead of privileged)")
    return ""


def converge_container(resource, known=UNREAD, asides=None, image=None, networks=None):
    """converge(), once more from a fresh read when another run got to the container first.

    Once: a second race means something keeps changing the container, and a loop would fight it.
    The inputs are read()'s; the second read reads the container and its asides itself, and takes the
    image given or pulled in this run (so the pull stays in the plan that is reported).
    """
    try:
        return converge(resource, known, asides=asides, image=image, networks=networks)
    except Raced as first:
        try:
            return converge(resource, image=image or resource.pulled, networks=networks)
        except Raced as second:
            raise EngineError(
                "container %s changed again while this run applied its plan, after it had read and planned once "
                "more (first: %s; then: %s). Another run or tool is changing it at the same time: run the task "
                "again once that is done" % (resource.name, first, second), second.status,
                second.daemon_message) from None
