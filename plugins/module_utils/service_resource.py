# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin part of the swarm service resource: read what the plan needs, write the spec, wait.

Waiting is part of applying: a create or update is done when every desired task of the new spec
runs (swarm reports a task with a healthcheck as running only once it is healthy). A paused update,
or one the engine rolled back, is a failure that names the tasks' errors.
"""

from __future__ import annotations

import time

from ansible_collections.berth.engine.plugins.module_utils import kernel_features
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError, endpoint
from ansible_collections.berth.engine.plugins.module_utils.image_calls import (
    auth_header,
    content_digests,
    origin_unknown,
    registry_credentials,
    registry_of,
)
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource
from ansible_collections.berth.engine.plugins.module_utils.service_plan import (
    JOB_MODES,
    desired_service,
    job_failure,
    job_outcome,
    job_run,
    mode_kind,
    plan_service,
    task_errors,
    tasks_converged,
)
from ansible_collections.berth.engine.plugins.module_utils.swarm_objects import current_version

POLL_SECONDS = 0.5
# How long an update whose tasks the engine does not replace may go without an update status.
NO_ROLLOUT_GRACE = 5


def resolve_image(client, image, with_registry_auth=False):
    """The image pinned to its registry digest, so a moved tag updates the service.

    with_registry_auth: ask the registry with the login stored for it (berth.engine.login), as the
    service's nodes will pull with it.

    An image that exists here without a registry digest was built or loaded locally: its tag stays
    (there is nothing to ask, and every node must have it by that tag). A registry that cannot be
    asked leaves the tag too, with a warning. Under the containerd image store every local image has
    repo digests, so one is pinned only when the registry holds that very image: a local build the
    registry does not have (or knows another image by that name) keeps its tag, as on the classic store.
    """
    if not image or "@" in image:
        return image, None
    local = client.inspect("image", image)
    if local is not None and not local.get("RepoDigests"):
        return image, None
    unknown_origin = local is not None and origin_unknown(local)
    try:
        info = client.get(endpoint("distribution", image, "json"),
                          headers=auth_header(image, None, None) if with_registry_auth else None)
    except EngineError as err:
        if unknown_origin:
            return image, None
        return image, ("image %s: its registry digest could not be read (%s); the service uses the tag, so nodes "
                       "may run different images if the tag moves" % (image, err.daemon_message or err))
    digest = ((info or {}).get("Descriptor") or {}).get("digest")
    if unknown_origin and digest and digest not in content_digests(local):
        return image, ("image %s here (%s) is not the registry's (%s): the service uses the local image by its tag; "
                       "pull the image to follow the registry" % (image, local.get("Id"), digest))
    return ("%s@%s" % (image, digest) if digest else image), None


def spec_image(spec):
    return (((spec or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")


def registry_auth(spec, with_registry_auth):
    """X-Registry-Auth for a service write when with_registry_auth asks: the login berth.engine.login stored for
    the registry of the spec's image (the engine hands it to the nodes that pull it). Never logged or returned."""
    image = spec_image(spec)
    if not with_registry_auth or not image:
        return {}
    return auth_header(image, None, None)


def missing_login_warning(image):
    """A warning when with_registry_auth is asked but no login is stored for the image's registry."""
    if not image or registry_credentials(image)[0]:
        return None
    return ("with_registry_auth: no login for registry %s is stored on this host (berth.engine.login), so the "
            "service is written without credentials and each node pulls %s with its own" % (registry_of(image), image))


def read_networks(client, wanted, current_spec, pending=None):
    """Declared networks by name (and those the service is on, by ID): {name or id: inspect document}.

    pending: stand-ins for networks a check-mode swarm_stack run would create first.
    """
    networks = {}
    for net in wanted or []:
        document = client.inspect("network", net["name"]) or (pending or {}).get(net["name"])
        if document is None:
            raise ValueError("network %s does not exist: create it first (an overlay network, e.g. with "
                             "berth.engine.swarm_stack or berth.engine.network driver: overlay)" % net["name"])
        if document.get("Scope") != "swarm":
            raise ValueError("network %s is a %s-scoped %s network; services need a swarm-scoped (overlay) network"
                             % (net["name"], document.get("Scope"), document.get("Driver")))
        networks[net["name"]] = document
    if wanted is None:
        for entry in ((current_spec or {}).get("TaskTemplate") or {}).get("Networks") or []:
            document = client.inspect("network", entry["Target"])
            if document is not None:
                networks[entry["Target"]] = document
    return networks


def read_references(client, kind, references, pending=None):
    resolved = {}
    for ref in references or []:
        version = (pending or {}).get(ref["name"]) or current_version(client, kind, ref["name"])
        if version is None:
            raise ValueError("%s %s does not exist: create it with berth.engine.%s (services refer to it by that "
                             "logical name)" % (kind, ref["name"], kind))
        resolved[ref["name"]] = version
    return resolved


def read_kernel(client, cache):
    """Kernel features of the swarm's nodes, once per run."""
    if "kernel" not in cache:
        cache["kernel"] = kernel_features.detect(client.listing("node"))
    return cache["kernel"]


class ServiceResource(Resource):
    kind = "service"

    def desire(self, params):
        return desired_service(params)

    def read(self, known=UNREAD, pending=None):
        """`pending`: {kind: {name: stand-in}} for the networks, secrets and configs a check-mode swarm_stack
        run would create before this service (they are not there to read)."""
        desired = self.desired
        current = self.client.inspect("service", self.name) if known is UNREAD else known
        if current is not None and self.name not in (current["Spec"].get("Name"), current.get("ID")):
            current = None  # the engine also matches ID prefixes; only the name counts here
        state = {"current": current, "warnings": []}
        if desired["state"] == "absent":
            return state
        if desired.get("needs_api"):  # the plan refuses an option this engine would drop
            state["api_version"] = self.client.api_version
        spec = current["Spec"] if current else None
        image = desired["image"]
        if image and desired["resolve_image"]:
            image, warning = self.cached(("image", image), lambda: resolve_image(
                self.client, desired["image"], desired["with_registry_auth"]))
            if warning:
                state["warnings"].append(warning)
        state["image"] = image
        if desired["with_registry_auth"]:
            warning = missing_login_warning(desired["image"] or spec_image(spec))
            if warning:
                state["warnings"].append(warning)
        pending = pending or {}
        state["networks"] = read_networks(self.client, desired["networks"], spec, pending.get("network"))
        state["secrets"] = read_references(self.client, "secret", desired["secrets"], pending.get("secret"))
        state["configs"] = read_references(self.client, "config", desired["configs"], pending.get("config"))
        state["kernel"] = read_kernel(self.client, self.cache) if desired["kernel_check"] != "skip" else {}
        return state

    def plan(self, state):
        plan = plan_service(self.desired, state)
        plan.warnings.extend(state.get("warnings") or [])
        return plan

    def apply(self, plan, state):
        rollout = self.start(plan, state)
        if rollout is None:
            return None
        if not self.desired["wait"]:
            return self.client.inspect("service", rollout.service_id)
        return wait_for(self.client, rollout)

    def start(self, plan, state):
        """Write the plan (create, update or remove) without waiting; the Rollout to wait for, None after a removal."""
        action = plan.actions[0]
        if action["action"] == "remove":
            self.client.remove("service", action["id"])
            return None
        timeout = self.desired["wait_timeout"]
        auth = registry_auth(action["spec"], self.desired["with_registry_auth"])
        if action["action"] == "recreate":
            return Rollout(self.name, recreate(self.client, state["current"], action["spec"], auth), False, None,
                           timeout)
        if action["action"] == "update":
            current = state["current"]
            write_update(self.client, current, action["spec"], auth)
            return Rollout(self.name, current["ID"], action["rollout"], current.get("UpdateStatus"), timeout)
        try:
            service_id = create_service(self.client, action["spec"], auth)
        except EngineError as err:
            raise EngineError("creating service %s failed: %s" % (self.name, err.daemon_message or err),
                              err.status, err.daemon_message) from None
        return Rollout(self.name, service_id, False, None, timeout)


def create_service(client, spec, auth=None):
    """POST /services/create; the new service's ID. auth: the X-Registry-Auth header, or none."""
    if auth:
        return client.post(endpoint("services", "create"), None, spec, headers=auth)["ID"]
    return client.create("service", spec, headers=auth or None)["ID"]


def recreate(client, current, spec, auth=None):
    """Remove the service and create it from `spec` (a mode change); the new service's ID.

    The plan validated the spec; should the engine still refuse it, the previous spec is created again,
    so the service is not left missing.
    """
    name = current["Spec"]["Name"]
    client.remove("service", current["ID"])
    wait_removed(client, [current["ID"]])  # its tasks hold the published host ports and network endpoints
    try:
        return create_service(client, spec, auth)
    except EngineError as err:
        reason = err.daemon_message or str(err)
    try:
        create_service(client, current["Spec"], auth)
    except EngineError as again:
        raise EngineError("recreating service %s in mode %s failed (%s), and creating it again as it was failed too "
                          "(%s): the service is gone; run the task again once the cause is fixed"
                          % (name, mode_kind(spec.get("Mode")), reason, again.daemon_message or again)) from None
    raise EngineError("recreating service %s in mode %s failed: %s. The service was created again as it was "
                      "(mode %s), with a new ID"
                      % (name, mode_kind(spec.get("Mode")), reason, mode_kind(current["Spec"].get("Mode"))))


class JobFailed(Exception):
    """A job's run failed (raised by the pure wait step; wait_all names the nodes)."""

    def __init__(self, failed):
        super().__init__("job failed")
        self.failed = failed


class Rollout:
    """A create or update the engine is carrying out, with what waiting for it needs to know."""

    def __init__(self, name, service_id, rollout, previous_status, timeout):
        self.name = name
        self.service_id = service_id
        # The update replaces tasks (image, env ...), so only tasks created since it count.
        self.rollout = rollout
        # The update status before the write: an equal one is not this update's.
        self.previous_status = previous_status or {}
        self.timeout = timeout
        self.started = time.monotonic()
        self.since = None  # the service's UpdatedAt, from the first poll after the write


def write_update(client, service, spec, auth=None):
    """POST the spec over the service at the version read (the engine refuses a stale version).

    auth: the X-Registry-Auth header; without one the engine keeps the credentials the service was given before.
    """
    try:
        client.post(endpoint("services", service["ID"], "update"), {"version": service["Version"]["Index"]}, spec,
                    headers=auth or None)
    except EngineError as err:
        raise EngineError("updating service %s failed: %s" % (service["Spec"]["Name"], err.daemon_message or err),
                          err.status, err.daemon_message) from None


def update_and_wait(client, service, spec, rollout, timeout, wait=True):
    """Write `spec` over the service (at the version read) and wait for it; also used by secret rotation."""
    write_update(client, service, spec)
    if not wait:
        return client.inspect("service", service["ID"])
    return wait_for(client, Rollout(service["Spec"]["Name"], service["ID"], rollout, service.get("UpdateStatus"),
                                    timeout))


def wait_for(client, rollout):
    """The converged service's document; raises the EngineError that says why it did not converge."""
    outcome = wait_all(client, [rollout])[rollout.name]
    if isinstance(outcome, EngineError):
        raise outcome
    return outcome


def wait_all(client, rollouts):
    """Wait for every rollout at once: {name: converged service document, or the EngineError that ended it}.

    Each poll is two calls however many services there are: the services and their tasks, listed by ID.
    """
    outcomes = {}
    waiting = {r.service_id: r for r in rollouts}
    while waiting:
        services = {s["ID"]: s for s in client.listing("service", {"id": sorted(waiting)})}
        for service_id in [i for i in waiting if i not in services]:
            gone = waiting.pop(service_id)
            outcomes[gone.name] = EngineError("service %s disappeared while Berth waited for it to converge"
                                              % gone.name)
        tasks = list_tasks(client, sorted(waiting))
        for service_id, rollout in list(waiting.items()):
            service = services[service_id]
            rollout.since = rollout.since or service.get("UpdatedAt")
            mine = None if tasks is None else [t for t in tasks if t.get("ServiceID") == service_id]
            try:
                converged = rollout_converged(rollout, service, mine, time.monotonic() - rollout.started)
            except EngineError as err:
                outcomes[waiting.pop(service_id).name] = err
                continue
            except JobFailed as failed:
                nodes = {n["ID"]: (n.get("Description") or {}).get("Hostname") or n["ID"]
                         for n in client.listing("node")}
                outcomes[waiting.pop(service_id).name] = EngineError(job_failure(rollout.name, failed.failed, nodes))
                continue
            if converged:
                service["Tasks"] = job_run(service, mine) if _is_job(service) else mine
                outcomes[waiting.pop(service_id).name] = service
        if waiting:
            time.sleep(POLL_SECONDS)
    return outcomes


def list_tasks(client, service_ids):
    """The tasks of these services, or None when the listing fails this time (a service removed meanwhile
    makes the engine refuse the filter; the next poll no longer asks for it)."""
    if not service_ids:
        return []
    try:
        return client.listing("task", {"service": service_ids})
    except EngineError:
        return None


def rollout_converged(rollout, service, tasks, elapsed):
    """Pure: True once every desired task of the new spec runs, False while not yet (tasks None: unknown).

    Raises EngineError, naming the tasks' errors, for an update the engine paused or rolled back, and
    once `elapsed` passes the rollout's timeout.
    """
    name = rollout.name
    if _is_job(service):
        return _job_converged(rollout, service, tasks, elapsed)
    status = service.get("UpdateStatus") or {}
    fresh = status if status and status.get("StartedAt") != rollout.previous_status.get("StartedAt") else {}
    state = fresh.get("State")
    if state in ("paused", "rollback_paused"):
        raise EngineError("service %s: the update is %s by the engine (%s). Task errors: %s. Fix the spec and run "
                          "again, or roll back with `docker service rollback %s`"
                          % (name, state, fresh.get("Message") or "", task_errors(tasks or []), name))
    if state == "rollback_completed":
        # The engine marks the rollback complete before the restored tasks run: fail once they do (or
        # at the timeout), so the message says what is true.
        restored = tasks is not None and tasks_converged(service, tasks)
        if not restored and elapsed <= rollout.timeout:
            return False
        image = (((service["Spec"].get("TaskTemplate") or {}).get("ContainerSpec")) or {}).get("Image")
        raise EngineError("service %s: the update failed and the engine rolled it back (failure_action: rollback); "
                          "the previous spec (image %s) %s. Task errors: %s"
                          % (name, image, "is running again" if restored else
                             "is restored but its tasks did not all run within %ss" % rollout.timeout,
                             task_errors(tasks or [])))
    # An update the engine rolls out shows a fresh update status at once; one whose tasks it keeps shows none.
    require_new = rollout.rollout and (bool(fresh) or elapsed <= NO_ROLLOUT_GRACE)
    if tasks is not None and state in (None, "completed") and \
            tasks_converged(service, tasks, rollout.since if require_new else None):
        return True
    if elapsed > rollout.timeout:
        raise EngineError("service %s did not converge within %ss (wait_timeout): %s. Task errors: %s"
                          % (name, rollout.timeout, fresh.get("Message") or "tasks are not all running",
                             task_errors(tasks or [])))
    return False


def _is_job(service):
    return mode_kind((service.get("Spec") or {}).get("Mode")) in JOB_MODES


def _job_converged(rollout, service, tasks, elapsed):
    """Pure: True once the job's current run completed; JobFailed once a task failed for good."""
    if tasks is not None:
        outcome, found = job_outcome(service, tasks)
        if outcome == "complete":
            return True
        if outcome == "failed":
            raise JobFailed(found)
    if elapsed > rollout.timeout:
        raise EngineError("job %s did not complete within %ss (wait_timeout). Task errors: %s"
                          % (rollout.name, rollout.timeout, task_errors(job_run(service, tasks or []))))
    return False


def wait_removed(client, service_ids, timeout=60):
    """Until the removed services' tasks are gone (their containers hold network endpoints).

    All tasks are listed: a filter on a removed service's ID is refused (the service is unknown).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(t.get("ServiceID") in service_ids for t in client.listing("task")):
            return
        time.sleep(POLL_SECONDS)


def task_summary(tasks):
    """What the module returns about tasks: one line per task of the current spec."""
    return [{"id": t.get("ID"), "slot": t.get("Slot"), "node": t.get("NodeID"), "state": (t.get("Status") or {}).get(
        "State"), "desired_state": t.get("DesiredState"), "error": (t.get("Status") or {}).get("Err")} for t in tasks
        if t.get("DesiredState") in ("running", "complete")]
