# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers shared by every resource plan: the Plan record and value parsers.

Nothing here talks to the engine, so all of it is unit-tested without a daemon.
"""

from __future__ import annotations

import re

_BYTE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024 ** 2, "mb": 1024 ** 2,
               "g": 1024 ** 3, "gb": 1024 ** 3, "t": 1024 ** 4, "tb": 1024 ** 4}
_DURATION_UNITS = {"ns": 1, "us": 1000, "ms": 1000 ** 2, "s": 1000 ** 3, "m": 60 * 1000 ** 3,
                   "h": 3600 * 1000 ** 3}


class Plan:
    """What a resource needs: an ordered list of actions and the before/after of what differs.

    `actions` are dicts with at least an "action" key; the apply side executes them in order.
    Check mode stops here, so whatever goes into `actions` is exactly what a real run does.
    """

    # Actions that wait or read but leave the resource as it was: they never count as a change.
    PASSIVE = frozenset(["wait_healthy"])

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


def parse_bytes(value, option):
    """'512m', '1g', 1048576 -> bytes. Raises ValueError naming the option."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("%s must be a size such as 512m or 1g, got %r" % (option, value))
    if isinstance(value, (int, float)):
        number, unit = value, ""
    else:
        match = re.match(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$", str(value))
        if not match or match.group(2).lower() not in _BYTE_UNITS:
            raise ValueError("%s must be a size such as 512m, 1g or a number of bytes, got %r" % (option, value))
        number, unit = float(match.group(1)), match.group(2).lower()
    result = int(float(number) * _BYTE_UNITS[unit])
    if result < 0:
        raise ValueError("%s must not be negative, got %r" % (option, value))
    return result


def parse_duration(value, option):
    """'30s', '1m30s', '500ms', 10 (seconds) -> nanoseconds, as the Engine API wants."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("%s must be a duration such as 30s, got %r" % (option, value))
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("%s must not be negative, got %r" % (option, value))
        return int(value * 1000 ** 3)
    text = str(value).strip()
    if re.match(r"^[0-9]+(\.[0-9]+)?$", text):
        return int(float(text) * 1000 ** 3)
    parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("%s must be a duration such as 30s, 1m30s or 500ms, got %r" % (option, value))
    return int(sum(float(n) * _DURATION_UNITS[u] for n, u in parts))


def as_text_map(value, option):
    """A dict of strings: what env, labels, sysctls and options are in the Engine API."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("%s must be a mapping, got %r" % (option, value))
    result = {}
    for key, item in value.items():
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif item is None:
            item = ""
        elif isinstance(item, (dict, list)):
            raise ValueError("%s.%s must be a plain value, got %r" % (option, key, item))
        result[str(key)] = str(item)
    return result
