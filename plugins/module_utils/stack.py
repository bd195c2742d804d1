# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a named set of networks, volumes and containers in one task.

Reads the engine once (a labelled list, then inspects), plans every item with the same plan code
as the single-resource modules, then applies with a bounded pool of workers: networks and volumes
first, containers in depends_on order. One item's failure is reported by name and does not stop
the others (except the containers that depend on it).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.berth.engine.plugins.module_utils.container_engine import Converger
from ansible_collections.berth.engine.plugins.module_utils.container_plan import (
    ARGUMENT_SPEC as CONTAINER_SPEC,
)
from ansible_collections.berth.engine.plugins.module_utils.container_plan import desired_container
from ansible_collections.berth.engine.plugins.module_utils.engine import EngineError, quote_path
from ansible_collections.berth.engine.plugins.module_utils.network_engine import converge_network
from ansible_collections.berth.engine.plugins.module_utils.network_plan import ARGUMENT_SPEC as NETWORK_SPEC
from ansible_collections.berth.engine.plugins.module_utils.volume_engine import converge_volume
from ansible_collections.berth.engine.plugins.module_utils.volume_plan import ARGUMENT_SPEC as VOLUME_SPEC

OWNER_LABEL = "io.berth.stack"
KINDS = ("networks", "volumes", "containers")


class ItemError(Exception):
    pass


def _validate(kind, spec, entry, extra=None):
    """Validate one entry with the single-resource module's own argument spec."""
    spec = dict(spec)
    spec.update(extra or {})
    result = ArgumentSpecValidator(spec).validate(entry)
    if result.error_messages:
        name = entry.get("name") if isinstance(entry, dict) else None
        raise ItemError("%s entry %s: %s" % (kind, name or repr(entry), "; ".join(result.error_messages)))
    return result.validated_parameters


class Stack:
    def __init__(self, client, params, check_mode):
        self.client = client
        self.name = params["name"]
        self.params = params
        self.check_mode = check_mode
        self.parallel = max(1, params["parallel"])
        self.cache = {}
        self.results = {kind: {} for kind in KINDS}
        self.diffs = []
        self.warnings = []

    # --- declared items ------------------------------------------------------------------------------

    def _declared(self, kind, spec, extra=None):
        items = []
        for entry in self.params.get(kind) or []:
            item = _validate(kind, spec, entry, extra)
            if kind == "containers":
                item["labels"] = dict(item.get("labels") or {}, **{OWNER_LABEL: self.name})
            for option in ("docker_host", "tls", "ca_path", "client_cert", "client_key", "validate_certs",
                           "timeout", "api_version"):
                item.pop(option, None)
            items.append(item)
        names = [i["name"] for i in items]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ItemError("%s declared twice in %s: %s" % (kind[:-1], kind, ", ".join(twice)))
        return items

    def declared(self):
        containers = self._declared("containers", CONTAINER_SPEC,
                                    {"depends_on": dict(type="list", elements="str", default=[])})
        known = {c["name"] for c in containers}
        for container in containers:
            try:
                desired_container(container)  # bad input stops the run before anything changes
            except ValueError as err:
                raise ItemError("container %s: %s" % (container["name"], err)) from None
            unknown = [d for d in container["depends_on"] if d not in known]
            if unknown:
                raise ItemError("container %s depends_on %s, which this stack does not declare"
                                % (container["name"], ", ".join(unknown)))
        return self._declared("networks", NETWORK_SPEC), self._declared("volumes", VOLUME_SPEC), containers

    # --- reading -------------------------------------------------------------------------------------

    def _owned(self, path, list_key=None):
        found = self.client.get(path, {"all": True, "filters": {"label": ["%s=%s" % (OWNER_LABEL, self.name)]}})
        if list_key:
            found = found.get(list_key) or []
        return found or []

    def read_containers(self, declared):
        """One list of all containers (names to IDs), then one inspect per declared or owned container."""
        listing = self.client.get("/containers/json", {"all": True})
        by_name = {}
        for entry in listing:
            for name in entry.get("Names") or []:
                by_name[name.lstrip("/")] = entry
        wanted = {c["name"] for c in declared}
        owned = {n for n, e in by_name.items() if (e.get("Labels") or {}).get(OWNER_LABEL) == self.name}
        present = sorted(n for n in wanted | owned if n in by_name)
        with ThreadPoolExecutor(self.parallel) as pool:
            documents = pool.map(lambda n: self.client.get("/containers/%s/json" % by_name[n]["Id"],
                                                           missing_ok=True), present)
            inspects = dict(zip(present, documents))
        return inspects, sorted(owned - wanted)

    # --- running items -------------------------------------------------------------------------------

    def _record(self, kind, name, plan=None, error=None):
        entry = {"changed": bool(plan and plan.changed), "actions": plan.action_names() if plan else []}
        if error is not None:
            entry.update(failed=True, msg=str(error))
        self.results[kind][name] = entry
        if plan is not None and plan.changed:
            self.diffs.append(plan.diff())
        if plan is not None:
            self.warnings.extend(plan.warnings)
        return error is None

    def _run_simple(self, kind, converge, items):
        def one(item):
            try:
                # Label only what the stack creates: labels of an existing network or volume cannot
                # change in place, and adopting one must not recreate it (or refuse, for a volume).
                path = "/%s/%s" % (kind, quote_path(item["name"]))
                actual = self.client.get(path, missing_ok=True)
                if actual is None:
                    item = dict(item, labels=dict(item.get("labels") or {}, **{OWNER_LABEL: self.name}))
                plan, _ = converge(self.client, item, self.check_mode, actual=actual, read=False)
                return self._record(kind, item["name"], plan)
            except (EngineError, ValueError) as err:
                return self._record(kind, item["name"], error=err)
        with ThreadPoolExecutor(self.parallel) as pool:
            list(pool.map(one, items))

    def _run_containers(self, containers, inspects):
        """Plan and apply containers in waves: a container goes once all it depends on succeeded."""
        pending = {c["name"]: c for c in containers}
        done, failed = set(), set()

        def one(item):
            name = item["name"]
            try:
                converger = Converger(self.client, item, self.check_mode, self.cache)
                plan, container = converger.plan(inspects.get(name), read=False)
                if plan.actions and not self.check_mode:
                    converger.apply(plan, container)
                return self._record("containers", name, plan)
            except (EngineError, ValueError) as err:
                return self._record("containers", name, error=err)

        with ThreadPoolExecutor(self.parallel) as pool:
            while pending:
                blocked = [n for n, c in pending.items() if set(c["depends_on"]) & failed]
                for name in blocked:
                    failed.add(name)
                    self._record("containers", name, error=ItemError(
                        "not converged: it depends on %s, which failed"
                        % ", ".join(sorted(set(pending[name]["depends_on"]) & failed))))
                    del pending[name]
                ready = [c for c in pending.values() if set(c["depends_on"]) <= done]
                if not ready:
                    if pending:
                        raise ItemError("depends_on has a cycle among: %s" % ", ".join(sorted(pending)))
                    break
                for item, succeeded in zip(ready, pool.map(one, ready)):
                    (done if succeeded else failed).add(item["name"])
                    del pending[item["name"]]

    # --- pruning -------------------------------------------------------------------------------------

    def _prune(self, kind, names, remove):
        for name in names:
            try:
                if not self.check_mode:
                    remove(name)
                self.results[kind][name] = {"changed": True, "actions": ["prune"]}
                self.diffs.append({"before": {"state": "present"}, "after": {"state": "absent"},
                                   "before_header": "%s %s (engine)" % (kind[:-1], name),
                                   "after_header": "%s %s (pruned)" % (kind[:-1], name)})
            except EngineError as err:
                self.results[kind][name] = {"changed": False, "actions": ["prune"], "failed": True,
                                            "msg": str(err)}

    def _remove_container(self, name):
        self.client.delete("/containers/%s" % quote_path(name), {"force": True, "v": False}, missing_ok=True)

    def _remove_network(self, name):
        self.client.delete("/networks/%s" % quote_path(name), missing_ok=True)

    def _remove_volume(self, name):
        self.client.delete("/volumes/%s" % quote_path(name), missing_ok=True)

    # --- the whole run -------------------------------------------------------------------------------

    def converge(self):
        networks, volumes, containers = self.declared()
        inspects, stale_containers = self.read_containers(containers)
        self._run_simple("networks", converge_network, networks)
        self._run_simple("volumes", converge_volume, volumes)
        self._run_containers(containers, inspects)
        if self.params["prune"]:
            self._prune("containers", stale_containers, self._remove_container)
            declared_networks = {n["name"] for n in networks}
            stale = sorted(n["Name"] for n in self._owned("/networks") if n["Name"] not in declared_networks)
            self._prune("networks", stale, self._remove_network)
            if self.params["prune_volumes"]:
                declared_volumes = {v["name"] for v in volumes}
                stale = sorted(v["Name"] for v in self._owned("/volumes", "Volumes")
                               if v["Name"] not in declared_volumes)
                self._prune("volumes", stale, self._remove_volume)
        return self.result()

    def result(self):
        failures = ["%s %s: %s" % (kind[:-1], name, item["msg"])
                    for kind in KINDS for name, item in sorted(self.results[kind].items()) if item.get("failed")]
        result = dict(self.results)
        result["changed"] = any(item["changed"] for kind in KINDS for item in self.results[kind].values())
        result["failures"] = failures
        result["summary"] = {kind: {"declared": len(self.params.get(kind) or []),
                                    "changed": sorted(n for n, i in self.results[kind].items() if i["changed"])}
                             for kind in KINDS}
        return result


def describe_failures(name, failures):
    return "stack %s: %d item(s) failed: %s" % (name, len(failures), json.dumps(failures)[1:-1])
