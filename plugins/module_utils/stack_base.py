# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host stack (stack.py) and the swarm stack (swarm_stack.py) share.

Both converge a named set of declared items and report each one by name. Here: the state of one run
(results per kind, diffs, warnings, the cache the items share), recording an item's outcome and a pruned
item (with the secret values masked), the checks every declared kind gets, the merge of a Compose
project into the declared entries, the module result and the modules' main(). What differs between the
two stacks (kinds, validation, order of the run, pruning) stays in each subclass.
"""

from __future__ import annotations

import json
import os

from ansible_collections.berth.engine.plugins.module_utils.common import run, validate_params
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError

MASK = "********"


class ItemError(Exception):
    """A declared item, or the declared set, that the stack cannot converge: reported by name."""


class StackBase:
    KINDS = ()  # the declared kinds, in the order of the results
    OWNER_LABEL = ""  # on everything the stack creates; pruning selects by it
    MODULE = ""  # the module's name, which starts the message of a failed task
    # How a kind with a name declared twice is refused (keys: item, kind, names).
    DECLARED_TWICE = "%(item)s declared twice: %(names)s"

    def __init__(self, client, params, check_mode, parallel):
        """`params` already with the Compose project merged in (each stack's with_compose)."""
        self.client = client
        self.name = params["name"]
        self.params = params
        self.check_mode = check_mode
        self.parallel = max(1, parallel)
        self.cache = {}  # shared by the items: what one of them looked up, the others need not
        self.results = {kind: {} for kind in self.KINDS}
        self.diffs = []
        self.warnings = list(params.get("compose_warnings") or [])
        self.secrets = []  # values never shown in results, diffs or messages (longest first)

    # --- declared items ------------------------------------------------------------------------------

    def check_unique(self, kind, entries):
        twice = duplicate_names(e["name"] for e in entries)
        if twice:
            raise ItemError(self.DECLARED_TWICE % {"item": kind[:-1], "kind": kind, "names": ", ".join(twice)})

    def owner_labels(self, labels):
        """`labels` plus the one that marks an object as this stack's."""
        return dict(labels or {}, **{self.OWNER_LABEL: self.name})

    def build(self, kind, cls, entry, **inputs):
        """The entry's Resource (with the kind's own constructor `inputs`); what it refuses stops the run
        before anything changes."""
        try:
            return cls(self.client, entry, self.check_mode, self.cache, **inputs)
        except ValueError as err:
            raise ItemError("%s %s: %s" % (kind[:-1], entry["name"], err)) from None

    # --- outcomes ------------------------------------------------------------------------------------

    def _record(self, kind, name, plan=None, error=None):
        """One item's outcome in the results, its diff and warnings; True when it succeeded."""
        self.results[kind][name] = scrub(item_result(plan, error), self.secrets)
        if plan is not None:
            if plan.changed:
                self.diffs.append(scrub(plan.diff(), self.secrets))
            self.warnings.extend(scrub(plan.warnings, self.secrets))
        return error is None

    def _prune_item(self, kind, name, remove, action="prune"):
        """Remove one object of this stack with remove() (not in check mode), and record it under `action`:
        prune (no longer declared) or remove (state absent)."""
        try:
            if not self.check_mode:
                remove()
            self.results[kind][name] = {"changed": True, "actions": [action]}
            self.diffs.append({"before": {"state": "present"}, "after": {"state": "absent"},
                               "before_header": "%s %s (engine)" % (kind[:-1], name),
                               "after_header": "%s %s (%s)" % (kind[:-1], name,
                                                               "pruned" if action == "prune" else "state absent")})
        except EngineError as err:
            self.results[kind][name] = {"changed": False, "actions": [action], "failed": True,
                                        "msg": scrub(str(err), self.secrets)}

    def result(self):
        counts = {kind: len(self.params.get(kind) or []) for kind in self.KINDS}
        return build_result(self.results, counts, self.KINDS)


# --- Compose ---------------------------------------------------------------------------------------

def merge_compose(params, kinds, module_name, load):
    """`params` with the entries of the Compose project that load(documents, directory) reads added to the
    declared ones, and the project's name; `params` itself when no Compose document is given."""
    if not params.get("compose"):
        if not params.get("name"):
            raise ItemError("%s: name is required (or give a Compose file, whose project name it takes)"
                            % module_name)
        return params
    # Imported only when a Compose document is given: the parser is most of the module's own import time.
    from ansible_collections.berth.engine.plugins.module_utils.compose import ComposeError

    documents = params["compose"] if isinstance(params["compose"], list) else [params["compose"]]
    try:
        project = load(documents, params.get("project_directory") or os.getcwd())
    except ComposeError as err:
        raise ItemError("compose: %s" % err) from None
    merged = dict(params, name=project["name"], compose_warnings=project.get("warnings") or [])
    for kind in kinds:
        merged[kind] = list(params.get(kind) or []) + project[kind]
    return merged


def read_host_text(path):
    """A file on the managed host (env_file, .env), or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ItemError("compose: cannot read %s: %s" % (path, err.strerror)) from None


# --- pure parts ----------------------------------------------------------------------------------

def validate_entry(kind, spec, entry):
    """One entry validated as its single-resource module validates its task: the same argument spec, the same
    validate_params (AnsibleModule's validation plus Berth's value checks: ranges, NUL bytes, finite numbers)."""
    if not isinstance(entry, dict):
        raise ItemError("%s entry %r is not a mapping" % (kind, entry))
    # Unset options arrive as None when the stack module has validated the entry already (its suboptions).
    try:
        return validate_params(spec, _without_none(entry))
    except ValueError as err:
        raise ItemError("%s entry %s: %s" % (kind, entry.get("name") or repr(entry), err)) from None


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def duplicate_names(names):
    names = list(names)
    return sorted({n for n in names if names.count(n) > 1})


def item_result(plan=None, error=None):
    """changed and actions; `reasons` (what differs) when the plan's recreate or update names them; failed
    and msg on error."""
    entry = {"changed": bool(plan and plan.changed), "actions": plan.action_names() if plan else []}
    reasons = plan_reasons(plan)
    if reasons:
        entry["reasons"] = reasons
    if error is not None:
        entry.update(failed=True, msg=str(error))
    return entry


def plan_reasons(plan):
    """The settings that make the plan recreate (or update) its object, in the plan's order, without repeats."""
    reasons = [reason for action in (plan.actions if plan else []) for reason in action.get("reasons") or []]
    return list(dict.fromkeys(reasons))


def build_result(results, declared_counts, kinds):
    """The module result: per-item entries, changed, one line per failure, and a summary per kind."""
    results = {kind: results.get(kind) or {} for kind in kinds}
    failures = [failure_line(kind[:-1], name, item["msg"])
                for kind in kinds for name, item in sorted(results[kind].items()) if item.get("failed")]
    result = {kind: dict(results[kind]) for kind in kinds}
    result["changed"] = any(item["changed"] for kind in kinds for item in results[kind].values())
    result["failures"] = failures
    result["summary"] = {kind: {"declared": declared_counts.get(kind, 0),
                                "changed": sorted(n for n, i in results[kind].items() if i["changed"])}
                         for kind in kinds}
    return result


def failure_line(kind, name, msg):
    """`<kind> <name>: <msg>`, once: the single-resource code names its object too (its module's message
    must), so a message that starts with the same prefix keeps it and gets no second one."""
    prefix = "%s %s: " % (kind, name)
    return msg if msg.startswith(prefix) else prefix + msg


def scrub(value, secrets):
    """`value` with every secret string replaced by a mask, at any depth."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, secrets) for v in value]
    return value


def compact_args(params, kinds):
    """The module's arguments as the result's invocation shows them, without the unset (None) options of each
    declared entry: Ansible would otherwise echo every suboption of every entry (about 2 KB per container),
    which the controller parses and copies for nothing. Secret values are still masked by exit_json."""
    return {k: _without_none(v) if k in kinds else v for k, v in params.items()}


def describe_failures(module_name, name, failures):
    return "%s %s: %d item(s) failed: %s" % (module_name, name, len(failures), json.dumps(failures)[1:-1])


# --- the modules' main() ---------------------------------------------------------------------------

def run_stack(module, stack_class):
    """Converge the stack the module's parameters declare; fail naming every item that failed."""

    def converge(client):
        try:
            stack = stack_class(client, module.params, module.check_mode)
            result = stack.converge()
        except ItemError as err:
            raise ValueError(str(err)) from None
        for warning in stack.warnings:
            module.warn(warning)
        if module._diff:
            result["diff"] = stack.diffs
        result["invocation"] = {"module_args": compact_args(module.params, stack_class.KINDS)}
        if result["failures"]:
            msg = describe_failures(stack_class.MODULE, stack.name, result["failures"])
            if result.get("rolled_back"):
                msg += ". " + result["rolled_back"]["summary"]
            module.fail_json(msg=msg, **result)
        return result

    run(module, converge)
