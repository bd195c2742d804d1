# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin part of the container resource: read actual state, execute a plan's actions.

converge_container() is what the container and stack modules call: read, plan (pure), and
unless in check mode apply. A recreate never leaves the host without the service: the old
container is only removed once the new one runs, and is put back if the new one fails.
"""

from __future__ import annotations

import time

from ansible_collections.berth.engine.plugins.module_utils.container_plan import (
    carried_volumes,
    create_body,
    desired_container,
    endpoint_config,
    plan_container,
    update_body,
)
from ansible_collections.berth.engine.plugins.module_utils.engine import EngineError, NotFound, quote_path
from ansible_collections.berth.engine.plugins.module_utils.images import (
    has_digest,
    inspect_image,
    pull_image,
    remote_digest,
)

START_GRACE_SECONDS = 1.0


def inspect_container(client, name):
    return client.get("/containers/%s/json" % quote_path(name), missing_ok=True)


class Converger:
    """Converges one container; keeps the client and the module's non-comparable settings.

    `cache` may be shared between convergers (the stack module does) so that an image is
    resolved or pulled, and a network looked up, once per run rather than once per container.
    """

    def __init__(self, client, params, check_mode=False, cache=None):
        self.client = client
        self.params = params
        self.check_mode = check_mode
        self.cache = cache if cache is not None else {}
        self.desired = desired_container(params)
        self.stop_timeout = params.get("stop_timeout")
        self.healthy_timeout = params.get("healthy_timeout") or 60
        self.log_lines = []

    # --- read + plan -------------------------------------------------------------------------------

    def plan(self, container=None, read=True):
        """Read the container and its image, then plan. Pulls only outside check mode."""
        desired = self.desired
        if read:
            container = inspect_container(self.client, desired["name"])
        if desired["state"] == "absent":
            return plan_container(desired, container, None), container
        image, pulled = self._image()
        # In check mode a predicted pull means an image we cannot inspect yet: assume it differs.
        plan = plan_container(desired, container, image, image_changed=pulled and self.check_mode)
        if pulled:
            plan.actions.insert(0, {"action": "pull", "image": desired["image"]})
        self._check_networks(plan, container)
        return plan, container

    def _image(self):
        """(inspect document of the image to run, whether this run pulls a new one), cached per run."""
        key = ("image", self.desired["image"], self.params.get("pull") or "missing")
        if key not in self.cache:
            self.cache[key] = self._resolve_image(key[1], key[2])
        return self.cache[key]

    def _resolve_image(self, reference, pull):
        username, password = self.params.get("registry_username"), self.params.get("registry_password")
        image = inspect_image(self.client, reference)
        if image is None and pull == "never":
            raise EngineError("image %s is not on the host and pull is never: load or build it first "
                              "(berth.engine.image)" % reference)
        if image is not None and pull != "always":
            return image, False
        if self.check_mode:
            if image is None:
                return None, True
            digest = remote_digest(self.client, reference, username, password)
            return image, not (digest and has_digest(image, digest))
        pulled = pull_image(self.client, reference, username, password)
        return pulled, image is None or pulled["Id"] != image["Id"]

    def _check_networks(self, plan, container):
        """Fail early, in check mode too, when a network the plan needs does not exist."""
        networks = self.desired["networks"] or []
        wanted = [a["network"] for a in plan.actions if a["action"] == "connect"]
        if plan.has("create") or plan.has("recreate"):
            wanted = [n["name"] for n in networks]
        for name in wanted:
            key = ("network", name)
            if key not in self.cache:
                self.cache[key] = self.client.get("/networks/%s" % quote_path(name), missing_ok=True) is not None
            if not self.cache[key]:
                raise EngineError("container %s: network %s does not exist; create it first with "
                                  "berth.engine.network (or fix the name)" % (self.desired["name"], name))

    # --- apply -------------------------------------------------------------------------------------

    def apply(self, plan, container):
        """Execute the plan's actions in order; returns the container's final inspect document."""
        container_id = container["Id"] if container else None
        for action in plan.actions:
            kind = action["action"]
            if kind == "pull":
                continue  # done while planning: the comparison needed the new image ID
            if kind == "create":
                container_id = self._create(self.desired["name"])
            elif kind == "start":
                self._start(container_id)
            elif kind == "stop":
                self._stop(container_id)
            elif kind == "restart":
                self.client.post("/containers/%s/restart" % container_id, self._stop_params())
            elif kind == "remove":
                self._remove(container_id)
                return None
            elif kind == "update":
                self._update(container_id)
            elif kind == "connect":
                self._connect(container_id, action["network"], action["endpoint"])
            elif kind == "disconnect":
                self.client.post("/networks/%s/disconnect" % quote_path(action["network"]),
                                 body={"Container": container_id, "Force": True})
            elif kind == "recreate":
                container_id = self._safe_recreate(container, action)
            elif kind == "wait_healthy":
                self._wait_healthy(container_id)
        return inspect_container(self.client, container_id)

    def _stop_params(self):
        return {"t": self.stop_timeout} if self.stop_timeout is not None else None

    def _create(self, name, carried=None):
        body = create_body(self.desired, carried)
        try:
            created = self.client.post("/containers/create", {"name": name}, body)
        except NotFound as err:
            raise EngineError("creating container %s failed: %s. Does the network or volume exist?"
                              % (name, err.daemon_message), err.status, err.daemon_message) from None
        except EngineError as err:
            raise EngineError("creating container %s failed: %s" % (name, err.daemon_message or err),
                              err.status, err.daemon_message) from None
        container_id = created["Id"]
        for network in (self.desired["networks"] or [])[1:]:
            self._connect(container_id, network["name"], endpoint_config(network))
        return container_id

    def _connect(self, container_id, network, endpoint):
        try:
            self.client.post("/networks/%s/connect" % quote_path(network),
                             body={"Container": container_id, "EndpointConfig": endpoint})
        except NotFound:
            raise EngineError("container %s: network %s does not exist; create it first with berth.engine.network"
                              % (self.desired["name"], network)) from None

    def _start(self, container_id):
        try:
            self.client.post("/containers/%s/start" % container_id)
        except EngineError as err:
            raise EngineError("starting container %s failed: %s%s" % (
                self.desired["name"], err.daemon_message or err, _privilege_hint(err.daemon_message)),
                err.status, err.daemon_message) from None

    def _stop(self, container_id):
        self.client.post("/containers/%s/stop" % container_id, self._stop_params(),
                         timeout=self.client.timeout + (self.stop_timeout or 10))

    def _remove(self, container_id):
        # v=false: anonymous volumes outlive the container, so no data goes with it.
        self.client.delete("/containers/%s" % container_id, {"force": True, "v": False}, missing_ok=True)

    def _update(self, container_id):
        try:
            self.client.post("/containers/%s/update" % container_id, body=update_body(self.desired))
        except EngineError as err:
            raise EngineError("updating container %s in place failed: %s"
                              % (self.desired["name"], err.daemon_message or err), err.status) from None

    def _safe_recreate(self, old, action):
        """Stop and rename the old container aside, bring the new one up, roll back on failure."""
        name = self.desired["name"]
        old_id = old["Id"]
        aside = "%s_berth_old_%s" % (name, old_id[:12])
        if action["was_running"]:
            self._stop(old_id)
        self.client.post("/containers/%s/rename" % old_id, {"name": aside})
        new_id = None
        try:
            new_id = self._create(name, carried_volumes(old))
            if action["start"]:
                self._start(new_id)
                self._confirm_running(new_id)
            if self.desired["state"] == "healthy":
                self._wait_healthy(new_id)
        except EngineError as err:
            self._roll_back(name, old_id, new_id, action["was_running"], err)
        self._remove(old_id)
        return new_id

    def _roll_back(self, name, old_id, new_id, was_running, cause):
        logs = ""
        problems = []
        if new_id:
            try:
                logs = self.client.logs(new_id, tail=50).strip()
                self._remove(new_id)
            except EngineError as err:
                problems.append("removing the failed new container: %s" % err)
        try:
            self.client.post("/containers/%s/rename" % old_id, {"name": name})
            if was_running:
                self.client.post("/containers/%s/start" % old_id)
        except EngineError as err:
            problems.append("restoring the previous container: %s" % err)
        if problems:
            raise EngineError("recreating container %s failed (%s) and the rollback failed too (%s); the "
                              "previous container is %s" % (name, cause, "; ".join(problems), old_id))
        self.log_lines = logs.splitlines()
        raise EngineError("recreating container %s failed: %s. Rolled back: the previous container %s is %s "
                          "again under its name.%s" % (name, cause, old_id[:12],
                                                       "running" if was_running else "in place",
                                                       ("\nNew container output:\n" + logs) if logs else ""))

    def _confirm_running(self, container_id):
        """Watch a freshly started replacement briefly: an entrypoint that dies at once is a failure.

        With a restart policy the engine restarts it at once, so a restart counts as a death too.
        """
        deadline = time.monotonic() + START_GRACE_SECONDS
        while True:
            inspect = inspect_container(self.client, container_id) or {}
            state = inspect.get("State") or {}
            if inspect.get("RestartCount") or state.get("Restarting") or (
                    not state.get("Running") and (state.get("ExitCode") or state.get("Error"))):
                raise EngineError("the new container exited right after it started (exit code %s, restarted %s "
                                  "times)%s" % (state.get("ExitCode"), inspect.get("RestartCount") or 0,
                                                (": " + state["Error"]) if state.get("Error") else ""))
            if not state.get("Running") or time.monotonic() >= deadline:
                return
            time.sleep(0.1)

    def _wait_healthy(self, container_id):
        deadline = time.monotonic() + self.healthy_timeout
        while True:
            state = (inspect_container(self.client, container_id) or {}).get("State") or {}
            health = (state.get("Health") or {}).get("Status")
            if health is None:
                raise EngineError("container %s has no health check, so state healthy cannot be reached; "
                                  "set healthcheck or use state started" % self.desired["name"])
            if health == "healthy":
                return
            if not state.get("Running"):
                raise EngineError("container %s stopped (exit code %s) while waiting for it to become healthy"
                                  % (self.desired["name"], state.get("ExitCode")))
            if health == "unhealthy" or time.monotonic() >= deadline:
                log = (state.get("Health") or {}).get("Log") or []
                last = (log[-1].get("Output") or "").strip() if log else ""
                raise EngineError("container %s is %s after %ss (healthy_timeout)%s" % (
                    self.desired["name"], health, self.healthy_timeout,
                    ("; last check said: " + last) if last else ""))
            time.sleep(0.5)


def _privilege_hint(message):
    if message and "unable to apply caps" in message:
        return (" (the host's capability bounding set lacks a capability that privileged or cap_add ALL "
                "asks for; this happens on hosts that are themselves containers or sandboxes: use cap_add "
                "with the capabilities you need, or cap_drop the missing one, instead of privileged)")
    return ""


def converge_container(client, params, check_mode=False, container=None, read=True, cache=None):
    """Plan, and apply unless check_mode. Returns (plan, final inspect document, converger)."""
    converger = Converger(client, params, check_mode, cache)
    plan, container = converger.plan(container, read=read)
    if check_mode or not plan.actions:
        return plan, container, converger
    return plan, converger.apply(plan, container), converger
