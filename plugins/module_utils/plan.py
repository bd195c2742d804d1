# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Plan record every resource's pure plan returns.

Nothing here talks to the engine, so all of it is unit-tested without a daemon. The value parsers the
plans use live in value_parsers.py; they are importable from here too, as before.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.value_parsers import (
    INT64_MAX,
    MAX_CPUS,
    InputError,
    as_text_list,
    as_text_map,
    as_words,
    check_number,
    parse_bytes,
    parse_cpus,
    parse_duration,
    parse_int,
)

# The plans import the value parsers from here too.
__all__ = ["INT64_MAX", "MAX_CPUS", "InputError", "Plan", "as_text_list", "as_text_map", "as_words", "check_number",
           "parse_bytes", "parse_cpus", "parse_duration", "parse_int"]


class Plan:
    """What a resource needs: an ordered list of actions and the before/after of what differs.

    `actions` are dicts with at least an "action" key; the apply side executes them in order.
    Check mode stops here, so whatever goes into `actions` is exactly what a real run does.
    """

    # Actions that wait or read but leave the resource as it was: they never count as a change.
    PASSIVE = frozenset(["wait_healthy", "wait_exit"])

    def __init__(self, kind, name):
        self.kind = kind
        self.name = name
        self.actions = []
        self.before = {}
        self.after = {}
        self.warnings = []

    def add(self, action, **details):
        entry = dict(action=action)
        entry.update(details)
        self.actions.append(entry)
        return entry

    def differ(self, key, before, after):
        self.before[key] = before
        self.after[key] = after

    def has(self, action):
        return any(a["action"] == action for a in self.actions)

    @property
    def changed(self):
        return any(a["action"] not in self.PASSIVE for a in self.actions)

    def diff(self):
        return {"before": self.before, "after": self.after,
                "before_header": "%s %s (engine)" % (self.kind, self.name),
                "after_header": "%s %s (declared)" % (self.kind, self.name)}

    def action_names(self):
        return [a["action"] for a in self.actions]
