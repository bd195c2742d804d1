# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers shared by every resource plan: the Plan record and value parsers.

Nothing here talks to the engine, so all of it is unit-tested without a daemon.
"""

from __future__ import annotations

import math
import re
import shlex

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


# The engine stores sizes, durations and CPU counts as Go int64: nothing larger reaches it intact.
INT64_MAX = 2 ** 63 - 1
MAX_CPUS = 4096


def _finite(number, option, expected):
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("%s must be %s, got %r" % (option, expected, number))
    return number


def check_number(value, option, minimum, maximum, unit=""):
    """value if it is a finite number within [minimum, maximum]; else ValueError naming the option."""
    accepted = "a number from %s to %s%s" % (minimum, maximum, " (%s)" % unit if unit else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("%s must be %s, got %r" % (option, accepted, value))
    _finite(value, option, accepted)
    if not minimum <= value <= maximum:
        raise ValueError("%s must be %s, got %r" % (option, accepted, value))
    return value


def parse_int(value, option, minimum=-INT64_MAX - 1, maximum=INT64_MAX):
    """An integer option (also given as text, '10', or a whole float, 10.0) within [minimum, maximum]."""
    if value is None:
        return None
    expected = "a whole number from %s to %s" % (minimum, maximum)
    number = value
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError("%s must be %s, got %r" % (option, expected, value)) from None
    elif isinstance(value, float) and _is_whole(value):
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError("%s must be %s, got %r" % (option, expected, value))
    return check_number(number, option, minimum, maximum)


def _is_whole(number):
    return math.isfinite(number) and number.is_integer()


def parse_cpus(value, option="cpus"):
    """CPUs as a number (1.5) -> NanoCpus, the API's unit; 0 means no limit."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError("%s must be a number of CPUs from 0 to %d such as 1.5, got %r"
                             % (option, MAX_CPUS, value)) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ValueError("%s must not be negative, got %r" % (option, value))
    check_number(value, option, 0, MAX_CPUS, "CPUs, 0 for no limit")
    return int(round(float(value) * 1e9))


def parse_bytes(value, option):
    """'512m', '1g', 1048576 -> bytes. Raises ValueError naming the option."""
    if value is None:
        return None
    expected = "a size such as 512m, 1g or a number of bytes"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("%s must be %s, got %r" % (option, expected, value))
    if isinstance(value, (int, float)):
        number, unit = _finite(value, option, expected), ""
    else:
        match = re.match(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$", value)
        if not match or match.group(2).lower() not in _BYTE_UNITS:
            raise ValueError("%s must be %s, got %r" % (option, expected, value))
        number, unit = float(match.group(1)), match.group(2).lower()
    result = float(number) * _BYTE_UNITS[unit]
    if result < 0:
        raise ValueError("%s must not be negative, got %r" % (option, value))
    if result > INT64_MAX:
        raise ValueError("%s must be at most 8388607t (the engine's limit), got %r" % (option, value))
    return int(result)


def parse_duration(value, option):
    """'30s', '1m30s', '500ms', 10 (seconds) -> nanoseconds, as the Engine API wants."""
    if value is None:
        return None
    expected = "a duration such as 30s, 1m30s or 500ms"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("%s must be %s, got %r" % (option, expected, value))
    if isinstance(value, (int, float)):
        nanoseconds = _finite(value, option, expected) * 1000 ** 3
    else:
        text = value.strip()
        parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)", text)
        if re.match(r"^[0-9]+(\.[0-9]+)?$", text):
            nanoseconds = float(text) * 1000 ** 3
        elif parts and "".join(n + u for n, u in parts) == text:
            nanoseconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
        else:
            raise ValueError("%s must be %s, got %r" % (option, expected, value))
    if nanoseconds < 0:
        raise ValueError("%s must not be negative, got %r" % (option, value))
    if nanoseconds > INT64_MAX:
        raise ValueError("%s must be at most 2562047h (the engine's limit), got %r" % (option, value))
    return int(nanoseconds)


def as_text_list(value, option):
    """A list of plain values as strings; anything else (a number, a mapping, nested lists) is an error."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise ValueError("%s must be a list of strings, got %r" % (option, value))
    for item in value:
        if isinstance(item, (dict, list, tuple)) or item is None:
            raise ValueError("%s must be a list of strings, got %r in it" % (option, item))
    return [str(item) for item in value]


def as_words(value, option):
    """A command: a string split the way a shell would (without expansions), or a list of words."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as err:
            raise ValueError("%s could not be split into words: %s" % (option, err)) from None
    return as_text_list(value, option)


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
