# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The value formats every Berth entry point reads, each parsed in one place.

Numbers, sizes (512m), durations (1m30s), commands, text lists and maps, Compose's ${VAR}
interpolation, env files and `environment` lists. The container module, the stack, Compose (host and
swarm targets) and swarm_stack all call these, so one input means one thing everywhere.

A value the user got wrong raises InputError, a ValueError whose message names the option and says
what is expected: common.run reports it as it is, never as a crash of Berth.
"""

from __future__ import annotations

import functools
import math
import re
import shlex

_BYTE_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}
_SIZE_RE = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(?:([kmgtp]?)i?b?)\s*$", re.I)
_DURATION_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 1000 ** 2, "s": 1000 ** 3,
                   "m": 60 * 1000 ** 3, "h": 3600 * 1000 ** 3, "d": 86400 * 1000 ** 3}
_DURATION_PART = re.compile("([0-9]+(?:\\.[0-9]+)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d)")

# The engine stores sizes, durations and CPU counts as Go int64: nothing larger reaches it intact.
INT64_MAX = 2 ** 63 - 1
MAX_CPUS = 4096


class InputError(ValueError):
    """The user's input is wrong; the message names the option and what it takes."""


def judged(function):
    """`function` judges user input: Python's own complaints about a value's type or size (a TypeError,
    an OverflowError) are the input's fault, and become an InputError saying so."""
    @functools.wraps(function)
    def judge(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (OverflowError, TypeError) as err:
            raise InputError("an option has a value of the wrong type or size (%s): check the options against "
                             "ansible-doc for their types and ranges" % err) from None
    return judge


# --- numbers, sizes, durations -------------------------------------------------------------------

def _finite(number, option, expected):
    if isinstance(number, float) and not math.isfinite(number):
        raise InputError("%s must be %s, got %r" % (option, expected, number))
    return number


def check_number(value, option, minimum, maximum, unit=""):
    """value if it is a finite number within [minimum, maximum]; else InputError naming the option."""
    accepted = "a number from %s to %s%s" % (minimum, maximum, " (%s)" % unit if unit else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError("%s must be %s, got %r" % (option, accepted, value))
    _finite(value, option, accepted)
    if not minimum <= value <= maximum:
        raise InputError("%s must be %s, got %r" % (option, accepted, value))
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
            raise InputError("%s must be %s, got %r" % (option, expected, value)) from None
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        raise InputError("%s must be %s, got %r" % (option, expected, value))
    return check_number(number, option, minimum, maximum)


def parse_cpus(value, option="cpus"):
    """CPUs as a number (1.5) -> NanoCpus, the API's unit; 0 means no limit."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InputError("%s must be a number of CPUs from 0 to %d such as 1.5, got %r"
                             % (option, MAX_CPUS, value)) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise InputError("%s must not be negative, got %r" % (option, value))
    check_number(value, option, 0, MAX_CPUS, "CPUs, 0 for no limit")
    return int(round(float(value) * 1e9))


def parse_bytes(value, option):
    """'512m', '1g', '1.5GiB', 1048576 -> bytes (units of 1024, as the docker CLI and Compose read them)."""
    if value is None:
        return None
    expected = "a size such as 512m, 1g or a number of bytes"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError("%s must be %s, got %r" % (option, expected, value))
    if isinstance(value, (int, float)):
        number, unit = _finite(value, option, expected), ""
    else:
        match = _SIZE_RE.match(value)
        if not match:
            raise InputError("%s must be %s, got %r" % (option, expected, value))
        number, unit = float(match.group(1)), match.group(2).lower()
    result = float(number) * _BYTE_UNITS[unit]
    if result < 0:
        raise InputError("%s must not be negative, got %r" % (option, value))
    if result > INT64_MAX:
        raise InputError("%s must be at most 8388607t (the engine's limit), got %r" % (option, value))
    return int(result)


def parse_duration(value, option):
    """'30s', '1m30s', '500ms', '1d', 10 (seconds) -> nanoseconds, as the Engine API wants."""
    if value is None:
        return None
    expected = "a duration such as 30s, 1m30s or 500ms"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError("%s must be %s, got %r" % (option, expected, value))
    if isinstance(value, (int, float)):
        nanoseconds = _finite(value, option, expected) * 1000 ** 3
    else:
        text = value.strip()
        parts = _DURATION_PART.findall(text)
        if re.match(r"^[0-9]+(\.[0-9]+)?$", text):
            nanoseconds = float(text) * 1000 ** 3
        elif parts and "".join(n + u for n, u in parts) == text:
            nanoseconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
        else:
            raise InputError("%s must be %s, got %r" % (option, expected, value))
    if nanoseconds < 0:
        raise InputError("%s must not be negative, got %r" % (option, value))
    if nanoseconds > INT64_MAX:
        raise InputError("%s must be at most 2562047h (the engine's limit), got %r" % (option, value))
    return int(nanoseconds)


def parse_seconds(value, option):
    """A duration in whole seconds, rounded down as Compose does for stop_grace_period ('500ms' is 0)."""
    nanoseconds = parse_duration(value, option)
    return None if nanoseconds is None else nanoseconds // 1000 ** 3


# --- text lists and maps -------------------------------------------------------------------------

def as_text_list(value, option):
    """A list of plain values as strings; anything else (a number, a mapping, nested lists) is an error."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise InputError("%s must be a list of strings, got %r" % (option, value))
    for item in value:
        if isinstance(item, (dict, list, tuple)) or item is None:
            raise InputError("%s must be a list of strings, got %r in it" % (option, item))
    return [str(item) for item in value]


def as_words(value, option):
    """A command: a string split the way a shell would (without expansions), or a list of words."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as err:
            raise InputError("%s could not be split into words: %s" % (option, err)) from None
    return as_text_list(value, option)


def as_text_map(value, option):
    """A dict of strings: what env, labels, sysctls and options are in the Engine API."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError("%s must be a mapping, got %r" % (option, value))
    result = {}
    for key, item in value.items():
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif item is None:
            item = ""
        elif isinstance(item, (dict, list)):
            raise InputError("%s.%s must be a plain value, got %r" % (option, key, item))
        result[str(key)] = str(item)
    return result


def as_mapping(value, key):
    """A Compose mapping given either way: `{K: v}` or `[K=v, ...]` (extra_hosts also `host:ip`,
    depends_on a list of names). A list item without a value (`- K`) maps to None."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    result = {}
    for item in value:
        text = str(item)
        if key == "depends_on":
            result[text] = {"condition": "service_started"}
            continue
        sep = ":" if key == "extra_hosts" and "=" not in text else "="
        name, has_value, rest = text.partition(sep)
        result[name] = rest if has_value else None
    return result


def volume_spec(text):
    """A short-syntax volumes entry, `[source:]target[:mode,...]`, in the long syntax's terms: type, source,
    target, read_only and the mode's options. A source starting with . / or ~ is a host path (a bind)."""
    parts = str(text).split(":")
    if len(parts) == 1:
        return {"type": "volume", "source": None, "target": parts[0], "read_only": False, "options": []}
    if len(parts) > 3:
        raise InputError("volumes entry %r is not of the form [source:]target[:mode]" % (text,))
    options = parts[2].split(",") if len(parts) == 3 else []
    return {"type": "bind" if parts[0].startswith((".", "/", "~")) else "volume", "source": parts[0],
            "target": parts[1], "read_only": "ro" in options, "options": options}


def environment_values(value, environ, keep_unset=False):
    """An `environment` section (mapping or list) as Compose resolves it: a variable without a value
    (`- KEY`, or `KEY:` in a mapping) takes the project's variable, and is left out when there is none
    (kept as None with keep_unset: Compose's canonical form, which its config hash is taken of, keeps it)."""
    declared = as_mapping(value, "environment")
    resolved = {str(key): environ.get(key) if item is None else item for key, item in declared.items()}
    return {key: item for key, item in resolved.items() if keep_unset or item is not None}


# --- Compose's ${VAR} interpolation ----------------------------------------------------------------

_PLAIN_VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.S)


def _substitute(expression, environ, where, unset=None):
    match = _BRACED_RE.match(expression)
    if not match:
        raise InputError("%s: invalid interpolation ${%s}" % (where, expression))
    name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
    value = environ.get(name)
    unset_or_empty = value is None or (operator is not None and operator.startswith(":") and value == "")
    if operator in ("-", ":-"):
        return interpolate(argument, environ, where, unset) if unset_or_empty else value
    if operator in ("?", ":?"):
        if unset_or_empty:
            raise InputError("%s: required variable %s is missing a value: %s"
                             % (where, name, argument or "set it in the environment or .env"))
        return value
    if operator in ("+", ":+"):
        return "" if unset_or_empty else interpolate(argument, environ, where, unset)
    return _blank_if_unset(name, value, where, unset)


def _blank_if_unset(name, value, where, unset):
    """An unset variable without a default is a blank string, as in Compose, which warns: `unset` collects
    (variable, where) for that warning."""
    if value is None:
        if unset is not None:
            unset.append((name, where))
        return ""
    return value


def _braced_end(text, start):
    """Index of the } closing the ${ that opens at `start`, allowing nested ${...} in defaults."""
    depth, pos = 0, start
    while pos < len(text):
        if text.startswith("${", pos):
            depth, pos = depth + 1, pos + 2
            continue
        if text[pos] == "}":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return -1


def interpolate(text, environ, where="compose", unset=None):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR:+alt}, $VAR and $$."""
    out, pos = [], 0
    while True:
        dollar = text.find("$", pos)
        if dollar < 0:
            return "".join(out) + text[pos:]
        out.append(text[pos:dollar])
        if text.startswith("$$", dollar):
            out.append("$")
            pos = dollar + 2
        elif text.startswith("${", dollar):
            end = _braced_end(text, dollar)
            if end < 0:
                raise InputError("%s: unclosed ${ in %r" % (where, text))
            out.append(_substitute(text[dollar + 2:end], environ, where, unset))
            pos = end + 1
        else:
            match = _PLAIN_VAR_RE.match(text, dollar + 1)
            out.append(_blank_if_unset(match.group(0), environ.get(match.group(0)), where, unset) if match else "$")
            pos = match.end() if match else dollar + 1


def interpolate_tree(value, environ, where="compose", unset=None):
    if isinstance(value, str):
        return interpolate(value, environ, where, unset)
    if isinstance(value, dict):
        return {key: interpolate_tree(item, environ, "%s.%s" % (where, key), unset) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate_tree(item, environ, where, unset) for item in value]
    return value


# --- env files --------------------------------------------------------------------------------------

_ENV_KEY_RE = re.compile(r"^[A-Za-z0-9_.\[\]-]+$")
# Escapes a double-quoted value takes (others stay as written); \$ is a literal $, kept from interpolation.
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "a": "\a", "\\": "\\", '"': '"',
            "$": "$$"}


def _closing_quote(text, quote):
    """Index of the quote that ends a value opened by `quote` at text[0], or -1 (backslash escapes it)."""
    pos = 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == quote:
            return pos
        pos += 1
    return -1


def _unescape(body, quote):
    if quote == "'":
        return body.replace("\\'", "'")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body, flags=re.S)


def _env_value(rest, lines, where, number):
    """(value, needs interpolation, lines it took) of what follows KEY=: quoted values may span lines."""
    if rest[:1] not in ("'", '"'):
        value = re.split(r"\s#", rest, maxsplit=1)[0].strip()
        return value, True, 0
    quote, text, taken = rest[0], rest, 0
    while _closing_quote(text, quote) < 0:
        if taken == len(lines):
            raise InputError("%s line %d: unterminated quoted value %s" % (where, number, rest))
        text, taken = text + "\n" + lines[taken], taken + 1
    return _unescape(text[1:_closing_quote(text, quote)], quote), quote == '"', taken


def parse_env_file(text, where, environ=None, unset=None):
    """An env file (an env_file, .env, the container module's env_file) read as Compose reads one.

    KEY=VALUE or KEY: VALUE lines, optionally after `export`; blank lines and # comments are skipped,
    and so is ` # comment` after an unquoted value. 'single quotes' keep the value as written;
    "double quotes" take \\n-style escapes and may span lines. Unquoted and double-quoted values are
    interpolated (${VAR}, $VAR, $$): from `environ` first, then the keys defined earlier in the file.
    A line holding only KEY takes the variable from `environ`, and is left out when there is none.
    """
    environ = environ or {}
    result, lines, index = {}, text.splitlines(), 0
    while index < len(lines):
        number, line = index + 1, lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        if re.match(r"^export\s", line):
            line = line[len("export"):].lstrip()
        found = re.search(r"[=:]", line)
        key = (line[:found.start()] if found else line).strip()
        if not _ENV_KEY_RE.match(key):
            raise InputError("%s line %d is not KEY=VALUE: %r" % (where, number, line))
        if not found:
            if environ.get(key) is not None:
                result[key] = environ[key]
            continue
        value, expand, taken = _env_value(line[found.end():].strip(), lines[index:], where, number)
        index += taken
        if expand:
            value = interpolate(value, dict(result, **environ), "%s line %d" % (where, number), unset)
        result[key] = value
    return result
