# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every berth.engine module shares: connection options, the client, and error handling."""

from __future__ import annotations

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.berth.engine.plugins.module_utils.engine import (
    DEFAULT_HOST,
    EngineClient,
    EngineError,
)

# Documented once in plugins/doc_fragments/engine.py; keep the two in step.
CONNECTION_ARGS = dict(
    docker_host=dict(type="str", default=DEFAULT_HOST, aliases=["docker_url"],
                     fallback=(env_fallback, ["DOCKER_HOST"])),
    tls=dict(type="bool", default=False, fallback=(env_fallback, ["DOCKER_TLS"])),
    ca_path=dict(type="path", aliases=["ca_cert"], fallback=(env_fallback, ["DOCKER_CA_PATH"])),
    client_cert=dict(type="path", fallback=(env_fallback, ["DOCKER_CLIENT_CERT"])),
    client_key=dict(type="path", fallback=(env_fallback, ["DOCKER_CLIENT_KEY"])),
    validate_certs=dict(type="bool", default=True, aliases=["tls_verify"]),
    timeout=dict(type="int", default=60),
    api_version=dict(type="str", default="auto"),
)


def engine_module(argument_spec, **kwargs):
    """An AnsibleModule with the connection options merged in."""
    spec = dict(CONNECTION_ARGS)
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return AnsibleModule(argument_spec=spec, **kwargs)


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


def run(module, body):
    """Call body(client) and turn every failure into fail_json with a message, never a traceback."""
    failure = None
    try:
        client = client_for(module.params)
        result = body(client)
        if os.environ.get("BERTH_DEBUG_CALLS"):  # for bench/: how many Engine API calls this task made
            result["api_calls"] = client.calls
    except EngineError as err:
        details = {k: v for k, v in (("daemon_message", err.daemon_message), ("status", err.status)) if v}
        failure = dict(msg=str(err), **details)
    except ValueError as err:  # invalid user input found while planning
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
