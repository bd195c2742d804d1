# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every berth.engine module shares: connection options, the client, and error handling."""

from __future__ import annotations

import math
import os
import re
import traceback

from ansible.module_utils import basic
from ansible.module_utils.basic import AnsibleFallbackNotFound, AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.berth.engine.plugins.module_utils.engine_client import (
    DEFAULT_HOST,
    EngineClient,
    EngineError,
    environment_settings,
)
from ansible_collections.berth.engine.plugins.module_utils.value_parsers import (
    INT64_MAX,
    MAX_CPUS,
    InputError,
    check_number,
    judged,
)


def engine_env_fallback(option):
    """An option's value from the environment (engine.environment_settings: Berth's, then the CLI's)."""
    settings = environment_settings()
    if option not in settings:
        raise AnsibleFallbackNotFound
    return settings[option]


# Documented once in plugins/doc_fragments/engine.py; keep the two in step.
CONNECTION_ARGS = dict(
    docker_host=dict(type="str", default=DEFAULT_HOST, aliases=["docker_url"],
                     fallback=(engine_env_fallback, ["docker_host"])),
    tls=dict(type="bool", default=False, fallback=(engine_env_fallback, ["tls"])),
    ca_path=dict(type="path", aliases=["ca_cert"], fallback=(engine_env_fallback, ["ca_path"])),
    client_cert=dict(type="path", fallback=(engine_env_fallback, ["client_cert"])),
    client_key=dict(type="path", fallback=(engine_env_fallback, ["client_key"])),
    validate_certs=dict(type="bool", default=True, aliases=["tls_verify"]),
    timeout=dict(type="int", default=60),
    api_version=dict(type="str", default="auto"),
)


# The range of every numeric option of the modules, checked right after argument parsing:
# option -> (minimum, maximum, unit). Options of the same name mean the same thing in every module.
OPTION_RANGES = {
    "timeout": (1, 86400, "seconds"),
    "healthy_timeout": (0, 86400, "seconds"),
    "stop_timeout": (0, 86400, "seconds"),
    "restart_retries": (0, 2 ** 31 - 1, ""),
    "cpus": (0, MAX_CPUS, "CPUs, 0 for no limit"),
    "cpu_shares": (0, 262144, ""),
    "pids_limit": (-1, INT64_MAX, "-1 or 0 for no limit"),
    "parallel": (1, 64, "items at a time"),
    "lock_timeout": (0, 86400, "seconds"),
    "wait_timeout": (0, 86400, "seconds"),
    "exec_timeout": (1, 86400, "seconds"),
}
API_VERSION_RE = re.compile(r"^(auto|[0-9]{1,3}\.[0-9]{1,3})$")
_NUMBER_TYPES = ("int", "float")
_TEXT_TYPES = ("str", "path")


def _given(spec, params):
    """(name, option spec, value) of each option present in params, under its name or an alias."""
    for name, option in spec.items():
        for key in [name] + list(option.get("aliases") or []):
            if key in params:
                yield name, option, params[key]
                break


def _nested(option, value, where):
    """(where, params) of each dict below an option with suboptions."""
    if not option.get("options"):
        return
    if isinstance(value, dict):
        yield where, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield "%s[%d]" % (where, index), item


def _is_non_finite(value):
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return False
    return isinstance(value, float) and not math.isfinite(value)


def _crashing_value(option, value, where):
    """Why AnsibleModule's own parsing would crash on this value (ansible-core 2.19), or None."""
    if option.get("type") in _NUMBER_TYPES and _is_non_finite(value):
        return "%s must be a finite number, got %r" % (where, value)
    if value is None or not option.get("options") or option.get("type", "str") != "dict":
        return None
    # A string may be key=value pairs, which ansible turns into a mapping; a list it rejects by itself.
    if not isinstance(value, (dict, str)):
        return "%s must be a mapping of its suboptions (%s), got %r" % (where, ", ".join(option["options"]), value)
    return None


def unparseable_option(spec, params, prefix=""):
    """The message for the first option that AnsibleModule's parsing would crash on, or None.

    Checked before AnsibleModule parses the options: its int conversion raises OverflowError on
    infinity, and its suboption handling a TypeError on a number or boolean where a mapping belongs.
    """
    for name, option, value in _given(spec, params):
        where = prefix + name
        found = _crashing_value(option, value, where)
        for sub_where, sub_params in _nested(option, value, where):
            found = found or unparseable_option(option["options"], sub_params, sub_where + ".")
        if found:
            return found
    return None


def _check_text(name, option, value):
    values = value if option.get("type") == "list" and isinstance(value, list) else [value]
    kind = option.get("elements") if option.get("type") == "list" else option.get("type")
    if kind in _TEXT_TYPES and any(isinstance(v, str) and "\x00" in v for v in values):
        raise InputError("%s must not contain a NUL byte" % name)


def check_values(spec, params, prefix=""):
    """After parsing: ranges of numbers, the API version's form, no NUL bytes. Raises InputError."""
    for name, option, value in _given(spec, params):
        where = prefix + name
        if value is None:
            continue
        _check_text(where, option, value)
        if not prefix and name in OPTION_RANGES and option.get("type") in _NUMBER_TYPES:
            check_number(value, where, *OPTION_RANGES[name])
        for sub_where, sub_params in _nested(option, value, where):
            check_values(option["options"], sub_params, sub_where + ".")
    version = params.get("api_version") if "api_version" in spec and not prefix else None
    if version is not None and not API_VERSION_RE.match(str(version)):
        raise InputError("api_version must be auto or an API version such as 1.43, got %r" % (version,))


@judged
def validate_params(spec, params):
    """The pure form of what engine_module checks: the validated parameters, or InputError."""
    problem = unparseable_option(spec, params)
    if problem:
        raise InputError(problem)
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        raise InputError("; ".join(result.error_messages))
    check_values(spec, result.validated_parameters)
    return result.validated_parameters


def checked_module(argument_spec, **kwargs):
    """AnsibleModule plus the checks its argument spec cannot express (see check_values)."""
    spec = argument_spec
    problem = unparseable_option(spec, basic._load_params() or {})
    if problem:
        # Parsing would crash, so fail from a module that takes every option as it is.
        untyped = {name: dict(type="raw", aliases=option.get("aliases") or [], no_log=option.get("no_log", False))
                   for name, option in spec.items()}
        AnsibleModule(argument_spec=untyped, supports_check_mode=True).fail_json(msg=problem)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    try:
        check_values(spec, module.params)
    except ValueError as err:
        problem = str(err)
    if problem:
        module.fail_json(msg=problem)
    return module


def engine_module(argument_spec, **kwargs):
    """An AnsibleModule with the connection options merged in and every option checked."""
    spec = dict(CONNECTION_ARGS)
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return checked_module(argument_spec=spec, **kwargs)


def client_for(params):
    return EngineClient(
        docker_host=params["docker_host"],
        tls=params["tls"],
        ca_path=params["ca_path"],
        client_cert=params["client_cert"],
        client_key=params["client_key"],
        validate_certs=params["validate_certs"],
        timeout=params["timeout"],
        api_version=params["api_version"],
    )


def run(module, body, connect=True):
    """Call body(client) and turn every failure into fail_json with a message, never a traceback.

    connect=False for a module that works on the host, not the engine (daemon_config): body(None).
    """
    failure = None
    try:
        client = client_for(module.params) if connect else None
        result = body(client)
        # For bench/: how many Engine API calls this task made.
        if client is not None and os.environ.get("BERTH_DEBUG_CALLS"):
            result["api_calls"] = client.calls
    except EngineError as err:
        details = {k: v for k, v in (("daemon_message", err.daemon_message), ("status", err.status)) if v}
        failure = dict(msg=str(err), **details)
    except ValueError as err:  # an InputError, or a plan refusing what it was asked: the message says why
        failure = dict(msg=str(err))
    except Exception as err:  # a bug of ours: still a message, with the trace for the report
        failure = dict(msg="berth.engine internal error: %s" % err, exception=traceback.format_exc())
    if failure:
        # Outside the except block, so ansible-core does not attach the handled exception as a trace.
        module.fail_json(**failure)
    module.exit_json(**result)


def plan_result(module, plan, key, document):
    """The result every resource module returns: changed, actions, the object, warnings and diff."""
    for warning in plan.warnings:
        module.warn(warning)
    result = dict(changed=plan.changed, actions=plan.action_names())
    result[key] = document or {}
    if module._diff:
        result["diff"] = plan.diff()
    return result
