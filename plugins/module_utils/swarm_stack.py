# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a named set of swarm services, overlay networks, secrets and configs in one task.

The same shape as the host `stack` (what both share is in stack_base.py): every entry is validated
with its single-resource module's own argument spec and planned by the same resource code; everything
the stack creates carries io.berth.swarm_stack=<name>; one item's failure is reported by name
(services that use a failed network, secret or config are not converged). A spec the nodes' kernels
cannot serve (ingress ports, VIPs, encrypted overlays without IP_VS/ESP) fails the whole task before
anything changes.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.network_resource import inspect_network
from ansible_collections.berth.engine.plugins.module_utils.plan import Plan, as_text_map
from ansible_collections.berth.engine.plugins.module_utils.preflight import image_reference_problems
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource, converge
from ansible_collections.berth.engine.plugins.module_utils.service_plan import ARGUMENT_SPEC as SERVICE_SPEC
from ansible_collections.berth.engine.plugins.module_utils.service_plan import (
    kernel_needs,
    kernel_refusal,
    new_spec,
    settings,
)
from ansible_collections.berth.engine.plugins.module_utils.service_resource import (
    ServiceResource,
    read_kernel,
    resolve_image,
    wait_all,
    wait_removed,
)
from ansible_collections.berth.engine.plugins.module_utils.stack_base import (
    ItemError,
    StackBase,
    merge_compose,
    read_host_text,
    validate_entry,
)
from ansible_collections.berth.engine.plugins.module_utils.swarm_objects import (
    LOGICAL_LABEL,
    ConfigResource,
    SecretResource,
    argument_spec,
)

OWNER_LABEL = "io.berth.swarm_stack"
KINDS = ("networks", "secrets", "configs", "services")

NETWORK_SPEC = dict(
    name=dict(type="str", required=True),
    driver=dict(type="str", default="overlay"),
    attachable=dict(type="bool", default=True),
    encrypted=dict(type="bool", default=False),
    internal=dict(type="bool", default=False),
    labels=dict(type="dict"),
    driver_options=dict(type="dict"),
)


# --- overlay networks: a resource on the one contract (resource.py) ----------------------------------------

def refuse_empty_prune(name, declared, prune):
    """Prune with nothing declared would remove the whole stack: far likelier a variable that came out empty
    than a wish (community.docker refuses a stack without compose), and `state: absent` says the wish plainly.
    Raised before anything is read or changed. The host `stack` keeps taking it: the workloads role empties
    its lists with berth_stack_prune to remove its workloads."""
    if prune and not any(declared.values()):
        raise ValueError("swarm_stack %s: prune is on and nothing is declared, which would remove everything the "
                         "stack owns; nothing was changed. To remove the stack, use state: absent" % name)


def desired_overlay(params):
    """A validated network entry (its labels with the owner label) as the desired network (pure)."""
    options = dict(as_text_map(params.get("driver_options"), "driver_options") or {})
    if params["encrypted"]:
        options["encrypted"] = ""
    return {"name": params["name"], "encrypted": params["encrypted"],
            "body": {"Name": params["name"], "Driver": params["driver"], "Attachable": params["attachable"],
                     "Internal": params["internal"], "Options": options,
                     "Labels": dict(as_text_map(params.get("labels"), "labels") or {}), "CheckDuplicate": True}}


def plan_network(desired, current):
    """Create when absent; an existing network that differs cannot change in place (services use it)."""
    plan = Plan("network", desired["name"])
    body = desired["body"]
    if current is None:
        plan.add("create", body=body)
        plan.differ("state", "absent", "present")
        return plan
    differences = []
    if current.get("Driver") != body["Driver"]:
        differences.append("driver is %s, declared %s" % (current.get("Driver"), body["Driver"]))
    for key in ("Attachable", "Internal"):
        if bool(current.get(key)) != body[key]:
            differences.append("%s is %s, declared %s" % (key.lower(), bool(current.get(key)), body[key]))
    if ("encrypted" in (current.get("Options") or {})) != desired["encrypted"]:
        differences.append("encrypted is %s, declared %s" % (not desired["encrypted"], desired["encrypted"]))
    if differences:
        raise ValueError("network %s differs: %s. A network cannot change in place; remove the services using it "
                         "and the network, then run again" % (desired["name"], "; ".join(differences)))
    return plan


class OverlayNetworkResource(Resource):
    """One of the stack's overlay networks: created when absent, never changed in place."""

    kind = "network"

    def desire(self, params):
        return desired_overlay(params)

    def read(self, known=UNREAD):
        return {"current": inspect_network(self.client, self.name) if known is UNREAD else known}

    def plan(self, state):
        return plan_network(self.desired, state["current"])

    def apply(self, plan, state):
        self.client.create("network", plan.actions[0]["body"])
        return inspect_network(self.client, self.name)

    def stand_in(self):
        """What the services of a check-mode run read instead of the network this run would create."""
        return {"Id": "(new network %s)" % self.name, "Name": self.name, "Scope": "swarm",
                "Options": self.desired["body"]["Options"]}


class StackService(ServiceResource):
    """A service of the stack: apply writes it and returns the Rollout, which the stack waits for together
    with the others' (one poll for all), so the wait costs the longest rollout, not their sum."""

    def apply(self, plan, state):
        return self.start(plan, state)


def with_compose(params):
    """The parameters with the Compose project's services, networks, secrets and configs added."""

    def load(documents, directory):
        # Imported only for Compose input (see merge_compose).
        from ansible_collections.berth.engine.plugins.module_utils.compose_swarm import load_swarm_project

        return load_swarm_project(documents, name=params.get("name"), directory=directory,
                                  environ=params.get("compose_env") or {}, profiles=params.get("profiles"),
                                  read_text=read_host_text)

    return merge_compose(params, KINDS, "swarm_stack", load)


class SwarmStack(StackBase):
    KINDS = KINDS
    OWNER_LABEL = OWNER_LABEL
    MODULE = "swarm_stack"

    def __init__(self, client, params, check_mode):
        params = with_compose(params)
        super().__init__(client, params, check_mode, parallel=params.get("parallel") or 4)
        # In check mode: {kind: {name: stand-in}} for what this run would create before the services read it.
        self.pending = {}
        self.known_services = {}  # name -> document, from the one listing of services (read_services)

    # --- declared items ----------------------------------------------------------------------------

    def resources(self):
        """Every declared item as its resource (which validates it), before anything is read or changed."""
        built = {}
        for kind, spec, cls in (("networks", NETWORK_SPEC, OverlayNetworkResource),
                                ("secrets", argument_spec("secret"), SecretResource),
                                ("configs", argument_spec("config"), ConfigResource),
                                ("services", SERVICE_SPEC, StackService)):
            items = [validate_entry(kind, spec, self.stack_wide(kind, entry)) for entry in self.params.get(kind) or []]
            self.check_unique(kind, items)
            built[kind] = [self.build(kind, cls, dict(item, labels=self.owner_labels(item.get("labels"))))
                           for item in items]
        return built

    def stack_wide(self, kind, entry):
        """A service entry with the stack's with_registry_auth, unless the entry sets its own."""
        if kind != "services" or not self.params.get("with_registry_auth") or not isinstance(entry, dict) \
                or entry.get("with_registry_auth") is not None:
            return entry
        return dict(entry, with_registry_auth=True)

    # --- the pre-flight, before any change (preflight.py) ----------------------------------------------

    def preflight(self, built):
        """True unless a service's image reference is invalid (recorded on it). Overlay networks declare
        no subnet here, so there is no overlap to check."""
        problems = image_reference_problems("service", {s.name: s.desired["image"] for s in built["services"]
                                                        if s.desired["state"] != "absent"})
        for name, message in problems.items():
            self._record("services", name, error=ItemError(message.split(": ", 1)[-1]))
        return not problems

    # --- the kernel check, before any change ---------------------------------------------------------

    def read_services(self, built):
        """{name: service document} of the declared services that exist, from one listing (not an inspect
        each); a name the listing does not hold is read by inspect (the engine also matches IDs)."""
        declared = {s.name for s in built["services"]}
        listed = {s["Spec"].get("Name"): s for s in self.client.listing("service") if s["Spec"].get("Name") in declared}
        self.known_services = listed
        return listed

    def prefetch(self, pool, services):
        """What the services' reads share, read once before they run in parallel (else each worker thread that
        misses the shared cache at the same moment reads it too): the nodes' kernel features and each image's
        digest. A failure is left for the service's own read, which reports it by name."""
        live = [s for s in services if s.desired["state"] != "absent"]
        if any(s.desired["kernel_check"] != "skip" for s in live):
            with contextlib.suppress(EngineError):
                read_kernel(self.client, self.cache)
        images = sorted({s.desired["image"] for s in live if s.desired["image"] and s.desired["resolve_image"]})
        with_auth = {s.desired["image"] for s in live if s.desired["with_registry_auth"]}

        def resolve(image):
            with contextlib.suppress(EngineError):
                self.cache[("image", image)] = resolve_image(self.client, image, image in with_auth)

        list(pool.map(resolve, images))

    def _known_service(self, name):
        return self.known_services.get(name, UNREAD)

    def check_kernel(self, built):
        if self.params.get("kernel_check") == "skip":
            return
        networks = {n.name: {"Name": n.name, "Options": {"encrypted": ""} if n.desired["encrypted"] else {}}
                    for n in built["networks"]}
        needs = [("esp", "network %s is an encrypted overlay (IPsec ESP)" % n) for n, d in networks.items()
                 if d["Options"]]
        for service in built["services"]:
            if service.desired["kernel_check"] == "skip" or service.desired["state"] == "absent":
                continue
            current = self.known_services.get(service.name) or self.client.inspect("service", service.name)
            needs.extend(self._service_needs(service, current, networks))
        if needs:
            refusal = kernel_refusal("swarm_stack %s" % self.name, needs, read_kernel(self.client, self.cache))
            if refusal:
                raise ItemError(refusal)

    def _service_needs(self, service, current, declared_networks):
        """The spec the service would get, with names standing in for IDs not created yet."""
        desired = service.desired
        names = [n["name"] for n in desired["networks"] or []]
        stand_in = {"networks": {n: {"Id": n} for n in names},
                    "secrets": {r["name"]: (r["name"], r["name"]) for r in desired["secrets"] or []},
                    "configs": {r["name"]: (r["name"], r["name"]) for r in desired["configs"] or []}}
        spec = new_spec(current["Spec"] if current else None, settings(desired, stand_in, current and current["Spec"]),
                        service.name)
        networks = {}
        for net in names:
            networks[net] = declared_networks.get(net) or self.client.inspect("network", net) or {"Name": net}
        return [(f, "service %s: %s" % (service.name, why)) for f, why in kernel_needs(spec, networks)]

    # --- running items -------------------------------------------------------------------------------

    def _run_resource(self, kind, resource):
        """Converge a network, secret or config (a rotation waits for the services it updates)."""
        try:
            plan, _state, _doc = converge(resource)
            if self.check_mode and plan.has("create"):
                self.pending.setdefault(kind[:-1], {})[resource.name] = self._stand_in(kind, resource, plan)
            return self._record(kind, resource.name, plan)
        except (EngineError, ValueError) as err:
            return self._record(kind, resource.name, error=err)

    @staticmethod
    def _stand_in(kind, resource, plan):
        if kind == "networks":
            return resource.stand_in()
        version = next(a["version"] for a in plan.actions if a["action"] == "create")
        return "(new version %s)" % version, version

    def _start_service(self, service, failed_inputs):
        """Converge one service without waiting: (plan, Rollout to wait for), or None when done."""
        blocked = self._blocked_by(service, failed_inputs)
        if blocked:
            self._record("services", service.name, error=ItemError(
                "not converged: it uses %s, which failed" % ", ".join(blocked)))
            return None
        try:
            plan, _state, rollout = converge(service, self._known_service(service.name), pending=self.pending)
        except (EngineError, ValueError) as err:
            self._record("services", service.name, error=err)
            return None
        if self.check_mode or not plan.actions or rollout is None or not service.desired["wait"]:
            self._record("services", service.name, plan)
            return None
        return plan, rollout

    def _run_services(self, pool, services, failed_inputs):
        """Write every service first, then wait for all of them together (one poll for all)."""
        started = [s for s in pool.map(lambda s: self._start_service(s, failed_inputs), services) if s]
        try:
            outcomes = wait_all(self.client, [rollout for _plan, rollout in started])
        except EngineError as err:  # the manager stopped answering: every written service is unconfirmed
            outcomes = {rollout.name: EngineError("written, but waiting for it failed: %s" % err)
                        for _plan, rollout in started}
        for plan, rollout in started:
            outcome = outcomes[rollout.name]
            self._record("services", rollout.name, plan,
                         error=outcome if isinstance(outcome, EngineError) else None)

    @staticmethod
    def _blocked_by(service, failed_inputs):
        desired = service.desired
        uses = ["network " + n["name"] for n in desired["networks"] or []]
        uses += ["secret " + r["name"] for r in desired["secrets"] or []]
        uses += ["config " + r["name"] for r in desired["configs"] or []]
        return [u for u in uses if u in failed_inputs]

    def _inputs_changed(self):
        return any(item.get("changed") for kind in ("networks", "secrets", "configs")
                   for item in self.results[kind].values())

    def _failed_inputs(self):
        return {"%s %s" % (kind[:-1], name) for kind in ("networks", "secrets", "configs")
                for name, item in self.results[kind].items() if item.get("failed")}

    # --- pruning -------------------------------------------------------------------------------------

    def _owned(self, kind):
        return self.client.listing(kind, {"label": ["%s=%s" % (OWNER_LABEL, self.name)]})

    def _remove_network(self, network_id, timeout=30):
        """The manager deletes a swarm network once the last task left it: wait until it is gone."""
        self.client.remove("network", network_id)
        deadline = time.monotonic() + timeout
        while self.client.inspect("network", network_id) is not None:
            if time.monotonic() > deadline:
                raise EngineError("network %s is still there %ss after its removal; tasks may still use it"
                                  % (network_id, timeout))
            time.sleep(0.5)

    def prune(self, built, action="prune"):
        """Remove this stack's services, then secrets, configs and networks not in `built` (all of them when
        it is empty, for state absent, as `docker stack rm`)."""
        declared = {kind: {r.name for r in built[kind]} for kind in KINDS}
        removed_services = []
        for service in self._owned("service"):
            name = service["Spec"]["Name"]
            if name not in declared["services"]:
                self._prune_item("services", name, lambda s=service: self.client.remove("service", s["ID"]), action)
                removed_services.append(service["ID"])
        if removed_services and not self.check_mode:  # their tasks hold network endpoints
            wait_removed(self.client, set(removed_services))
        for kind, singular in (("secrets", "secret"), ("configs", "config")):
            stale = {}
            for obj in self._owned(singular):
                logical = (obj["Spec"].get("Labels") or {}).get(LOGICAL_LABEL) or obj["Spec"]["Name"]
                if logical not in declared[kind]:
                    stale.setdefault(logical, []).append(obj["ID"])
            for logical, ids in sorted(stale.items()):
                self._prune_item(kind, logical, lambda k=singular, i=ids: [self.client.remove(k, x) for x in i],
                                 action)
        for network in self._owned("network"):
            if network["Name"] not in declared["networks"]:
                self._prune_item("networks", network["Name"], lambda n=network: self._remove_network(n["Id"]),
                                 action)

    # --- the whole run -------------------------------------------------------------------------------

    def converge(self):
        if self.params.get("state") == "absent":
            self.prune({kind: [] for kind in KINDS}, action="remove")
            return self.result()
        built = self.resources()
        refuse_empty_prune(self.name, built, self.params.get("prune"))
        if not self.preflight(built):
            return self.result()
        self.read_services(built)
        self.check_kernel(built)
        with ThreadPoolExecutor(self.parallel) as pool:
            for kind in ("networks", "secrets", "configs"):
                list(pool.map(lambda r, k=kind: self._run_resource(k, r), built[kind]))
            if not self.check_mode and self._inputs_changed():
                self.read_services(built)  # a secret or config rotation has updated services: their new version
            self.prefetch(pool, built["services"])
            self._run_services(pool, built["services"], self._failed_inputs())
        if self.params.get("prune"):
            self.prune(built)
        return self.result()


ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    compose=dict(type="raw"),
    compose_files=dict(type="list", elements="path"),
    project_directory=dict(type="path"),
    profiles=dict(type="list", elements="str"),
    compose_env=dict(type="dict"),
    networks=dict(type="list", elements="dict", default=[], options=NETWORK_SPEC),
    # With their suboptions, so Ansible hides exactly the secret values (content, content_base64, hash_key).
    secrets=dict(type="list", elements="dict", default=[], options=argument_spec("secret"), no_log=False),
    configs=dict(type="list", elements="dict", default=[], options=argument_spec("config")),
    services=dict(type="list", elements="dict", default=[]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    prune=dict(type="bool", default=False),
    parallel=dict(type="int", default=4),
    kernel_check=dict(type="str", default="auto", choices=["auto", "skip"]),
    with_registry_auth=dict(type="bool", default=False),
)
