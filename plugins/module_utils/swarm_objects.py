# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swarm secrets and configs as versioned objects under one logical name.

Their content cannot change in place, so each content is its own engine object named
<logical name>_<12 hex of a keyed hash>, labelled io.berth.logical_name=<logical name>. For secrets
the hash is an HMAC keyed by the swarm's cluster ID (or an explicit hash_key), so the name reveals
nothing about the value to someone who can guess values. Services refer to the logical name; the
newest version is the current one. Changing the content creates the next version, rolls the services
that use an older one over to it (the service module's own update-and-wait), and removes unused old
versions beyond keep_versions.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError, endpoint
from ansible_collections.berth.engine.plugins.module_utils.plan import Plan, as_text_map
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource

LOGICAL_LABEL = "io.berth.logical_name"
HASH_HEX = 12
MAX_NAME = 64
CONFIG_KEY = b"berth.engine config"  # configs are not secret: a fixed key makes the name a content hash
REFERENCE_KEYS = {"secret": ("Secrets", "SecretID", "SecretName"), "config": ("Configs", "ConfigID", "ConfigName")}


# --- pure -------------------------------------------------------------------------------------------


def load_content(params, kind):
    """The content as bytes, from exactly one of content, content_base64, src."""
    given = [k for k in ("content", "content_base64", "src") if params.get(k) is not None]
    if params.get("state", "present") == "absent":
        return None
    if len(given) != 1:
        raise ValueError("%s %s needs exactly one of content, content_base64 or src (got %s)"
                         % (kind, params.get("name"), ", ".join(given) or "none"))
    if given[0] == "content":
        return str(params["content"]).encode("utf-8")
    if given[0] == "content_base64":
        try:
            return base64.b64decode(params["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("%s %s: content_base64 is not valid base64" % (kind, params.get("name"))) from None
    try:
        with open(params["src"], "rb") as handle:
            return handle.read()
    except OSError as err:
        raise ValueError("%s %s: cannot read src %s: %s" % (kind, params.get("name"), params["src"],
                                                            err.strerror)) from None


def desired_object(params, kind):
    name = params.get("name")
    if not name:
        raise ValueError("name is required")
    if len(name) > MAX_NAME - HASH_HEX - 1:
        raise ValueError("%s name %s is too long: at most %d characters (the engine object adds _<%d hex>)"
                         % (kind, name, MAX_NAME - HASH_HEX - 1, HASH_HEX))
    keep = params.get("keep_versions")
    keep = 1 if keep is None else int(keep)
    if keep < 0:
        raise ValueError("keep_versions must not be negative, got %r" % keep)
    return {"name": name, "kind": kind, "state": params.get("state") or "present",
            "content": load_content(params, kind), "labels": as_text_map(params.get("labels"), "labels") or {},
            "hash_key": params.get("hash_key"), "keep_versions": keep,
            "update_services": params.get("update_services", True) is not False,
            "wait_timeout": int(params.get("wait_timeout") or 300),
            "template_driver": params.get("template_driver") if kind == "config" else None}


def version_name(logical, content, key, template_driver=None):
    """<logical>_<12 hex>; a template driver is part of what is hashed, so a change of driver is a new version
    like new content (without one, the names stay those of plain content)."""
    if template_driver:
        content = content + b"\0template_driver=" + template_driver.encode("utf-8")
    digest = hmac.new(key, content, hashlib.sha256).hexdigest()
    return "%s_%s" % (logical, digest[:HASH_HEX])


def _created(obj):
    return obj.get("CreatedAt") or ""


def users_of(services, kind, object_ids):
    """{object id: [service names]} for the services whose spec refers to one of object_ids."""
    field, id_key, _name_key = REFERENCE_KEYS[kind]
    users = {}
    for service in services:
        refs = ((service["Spec"].get("TaskTemplate") or {}).get("ContainerSpec") or {}).get(field) or []
        for ref in refs:
            if ref.get(id_key) in object_ids:
                users.setdefault(ref[id_key], []).append(service["Spec"]["Name"])
    return users


def plan_object(desired, state):
    """Actions for one logical secret/config: create the version, roll services over, prune old versions.

    state: versions (engine objects with the logical label), key (hash key bytes), services (all services).
    """
    kind, logical = desired["kind"], desired["name"]
    plan = Plan(kind, logical)
    versions = sorted(state["versions"], key=_created)
    ids = {v["ID"] for v in versions}
    users = users_of(state["services"], kind, ids)
    if desired["state"] == "absent":
        used = sorted({s for v in versions for s in users.get(v["ID"], [])})
        if used:
            raise ValueError("%s %s is in use by service(s) %s: remove it from them first, nothing was changed"
                             % (kind, logical, ", ".join(used)))
        for version in versions:
            plan.add("remove", id=version["ID"], version=version["Spec"]["Name"])
        if versions:
            plan.differ("state", "present", "absent")
        return plan
    target = version_name(logical, desired["content"], state["key"], desired["template_driver"])
    existing = [v for v in versions if v["Spec"]["Name"] == target]
    newest = versions[-1] if versions else None
    if not existing or existing[0] is not newest:
        if existing:  # back to an older content: it becomes the newest again
            if users.get(existing[0]["ID"]):
                raise ValueError("%s %s: version %s is in use by %s and cannot be made current again; give new "
                                 "content or remove it from those services" % (kind, logical, target,
                                                                               ", ".join(users[existing[0]["ID"]])))
            plan.add("remove", id=existing[0]["ID"], version=target)
        labels = dict(desired["labels"], **{LOGICAL_LABEL: logical})
        plan.add("create", version=target, labels=labels)
        plan.differ("content", "version %s" % newest["Spec"]["Name"] if newest else "absent",
                    "changed (version %s)" % target)
    old = [v for v in versions if v["Spec"]["Name"] != target]
    rolled = set()
    if desired["update_services"] and (plan.has("create")):
        rolled = {s for v in old for s in users.get(v["ID"], [])}
        if rolled:
            plan.add("update_services", services=sorted(rolled), old_ids=sorted(v["ID"] for v in old))
    keep = desired["keep_versions"]
    stale = list(reversed(old))[keep:]
    for version in stale:
        still = [s for s in users.get(version["ID"], []) if s not in rolled]
        if still:
            plan.warnings.append("%s %s: old version %s is kept, service(s) %s still use it"
                                 % (kind, logical, version["Spec"]["Name"], ", ".join(still)))
            continue
        plan.add("remove", id=version["ID"], version=version["Spec"]["Name"])
    return plan


def rolled_spec(spec, kind, old_ids, new_id, new_name):
    """A service spec whose references to any of old_ids point at the new version (same file target)."""
    field, id_key, name_key = REFERENCE_KEYS[kind]
    spec = copy.deepcopy(spec)
    refs = spec["TaskTemplate"]["ContainerSpec"].get(field) or []
    for ref in refs:
        if ref.get(id_key) in old_ids:
            ref[id_key], ref[name_key] = new_id, new_name
    return spec


# --- engine -----------------------------------------------------------------------------------------


def versions_of(client, kind, logical):
    return client.listing(kind, {"label": ["%s=%s" % (LOGICAL_LABEL, logical)]})


def current_version(client, kind, logical):
    """(id, engine name) of the newest version of `logical`, or of an unversioned object of exactly that name."""
    versions = sorted(versions_of(client, kind, logical), key=_created)
    if versions:
        return versions[-1]["ID"], versions[-1]["Spec"]["Name"]
    for obj in client.listing(kind, {"name": [logical]}):
        if obj["Spec"]["Name"] == logical:
            return obj["ID"], logical
    return None


def cluster_key(client):
    swarm = client.get(endpoint("swarm"), missing_ok=True)
    if not swarm or not swarm.get("ID"):
        raise EngineError("the engine at %s is not a swarm manager: secrets live in a swarm; run this on a manager "
                          "(or give docker_host of one)" % client.docker_host)
    return swarm["ID"].encode("utf-8")


class SwarmObject(Resource):
    """A secret or config; subclasses set kind."""

    def desire(self, params):
        return desired_object(params, self.kind)

    def read(self, known=UNREAD):
        state = {"versions": versions_of(self.client, self.kind, self.name),
                 "services": self.cached("services", lambda: self.client.listing("service"))}
        state["current"] = sorted(state["versions"], key=_created)[-1] if state["versions"] else None
        if self.desired["state"] == "present":
            state["key"] = self.hash_key()
        return state

    def hash_key(self):
        return CONFIG_KEY

    def plan(self, state):
        return plan_object(self.desired, state)

    def apply(self, plan, state):
        from ansible_collections.berth.engine.plugins.module_utils.service_resource import update_and_wait

        # Imported here: the service engine resolves secrets and configs through this module.
        created = None
        for action in plan.actions:
            if action["action"] == "remove":
                self._remove(action)
            elif action["action"] == "create":
                body = {"Name": action["version"], "Labels": action["labels"],
                        "Data": base64.b64encode(self.desired["content"]).decode("ascii")}
                if self.desired["template_driver"]:
                    body["Templating"] = {"Name": self.desired["template_driver"]}
                created = self.client.create(self.kind, body)["ID"]
            elif action["action"] == "update_services":
                by_name = {s["Spec"]["Name"]: s for s in state["services"]}
                for service_name in action["services"]:
                    service = self.client.inspect("service", by_name[service_name]["ID"])
                    spec = rolled_spec(service["Spec"], self.kind, set(action["old_ids"]), created,
                                       action_version(plan))
                    update_and_wait(self.client, service, spec, True, self.desired["wait_timeout"])
        return self.client.inspect(self.kind, created) if created else state.get("current")

    def _remove(self, action):
        try:
            self.client.remove(self.kind, action["id"])
        except EngineError as err:
            raise EngineError("removing %s version %s failed: %s" % (self.kind, action["version"],
                                                                     err.daemon_message or err)) from None


def action_version(plan):
    return next(a["version"] for a in plan.actions if a["action"] == "create")


class SecretResource(SwarmObject):
    kind = "secret"

    def hash_key(self):
        if self.desired["hash_key"]:
            return str(self.desired["hash_key"]).encode("utf-8")
        return self.cached("cluster_key", lambda: cluster_key(self.client))


class ConfigResource(SwarmObject):
    kind = "config"


def object_result(plan, document, desired):
    """What the secret/config modules return: never the content."""
    spec = (document or {}).get("Spec") or {}
    result = {"id": (document or {}).get("ID"), "name": spec.get("Name"), "logical_name": desired["name"]}
    for action in plan.actions:
        if action["action"] == "update_services":
            result["services_updated"] = action["services"]
    result["removed_versions"] = [a["version"] for a in plan.actions if a["action"] == "remove"]
    return result


def argument_spec(kind):
    spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        content=dict(type="str", no_log=kind == "secret"),
        content_base64=dict(type="str", no_log=kind == "secret"),
        src=dict(type="path"),
        labels=dict(type="dict"),
        keep_versions=dict(type="int", default=1),
        update_services=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    if kind == "secret":
        spec["hash_key"] = dict(type="str", no_log=True)
    else:
        spec["template_driver"] = dict(type="str", choices=["golang"])
    return spec


MUTUALLY_EXCLUSIVE = [("content", "content_base64", "src")]


def run_object_module(module, resource_class):
    """main() of the secret and config modules: converge, and return names, never the content."""
    from ansible_collections.berth.engine.plugins.module_utils.common import run
    from ansible_collections.berth.engine.plugins.module_utils.resource import converge

    def body(client):
        resource = resource_class(client, module.params, module.check_mode)
        plan, _state, document = converge(resource)
        for warning in plan.warnings:
            module.warn(warning)
        result = dict(changed=plan.changed, actions=plan.action_names())
        result[resource.kind] = object_result(plan, document, resource.desired)
        if module._diff:
            result["diff"] = plan.diff()
        return result

    run(module, body)
