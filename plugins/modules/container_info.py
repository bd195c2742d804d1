#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_info
short_description: Read one container's state and, on request, its logs
version_added: 0.2.0
description:
  - Returns whether a container exists, its inspect document, and with O(logs=true) its output with stdout and stderr
    kept apart (a container with a TTY has everything on stdout).
  - Safe on a missing container - RV(exists) is false and the task does not fail.
  - Changes nothing, so it runs the same in check mode.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  name:
    description: Name or ID of the container.
    type: str
    required: true
  logs:
    description: Also return the container's output.
    type: bool
    default: false
  tail:
    description: With O(logs=true), only this many of the last lines of each stream (all when not given).
    type: int
  since:
    description:
      - With O(logs=true), only output since this time, as a UNIX timestamp or an RFC 3339 date such as
        C(2026-12-01T10:00:00Z).
    type: str
  timestamps:
    description: With O(logs=true), prefix every line with the time the engine received it.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Why did the web container stop?
  berth.engine.container_info:
    name: shop-web
    logs: true
    tail: 50
  register: web

- name: Show the last errors
  ansible.builtin.debug:
    var: web.stderr_lines
  when: web.exists and not web.container.State.Running
"""

RETURN = r"""
exists:
  description: Whether the container exists.
  returned: always
  type: bool
container:
  description: The container's inspect document (empty when it does not exist).
  returned: always
  type: dict
stdout:
  description: The container's stdout (all of its output when it has a TTY).
  returned: with O(logs=true) and an existing container
  type: str
stderr:
  description: The container's stderr.
  returned: with O(logs=true) and an existing container
  type: str
stdout_lines:
  description: RV(stdout) split into lines.
  returned: with O(logs=true) and an existing container
  type: list
  elements: str
stderr_lines:
  description: RV(stderr) split into lines.
  returned: with O(logs=true) and an existing container
  type: list
  elements: str
"""

import calendar  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.container_ops import read_logs  # noqa: E402

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    logs=dict(type="bool", default=False),
    tail=dict(type="int"),
    since=dict(type="str"),
    timestamps=dict(type="bool", default=False),
)


def since_timestamp(value):
    """A UNIX timestamp (as the engine wants it) from a number or an RFC 3339 UTC date."""
    if value is None:
        return None
    if re.match(r"^[0-9]+(\.[0-9]+)?$", value):
        return value
    match = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$", value)
    if not match:
        raise ValueError("since must be a UNIX timestamp or a UTC date such as 2026-12-01T10:00:00Z, got %r" % value)
    return str(calendar.timegm(time.strptime(match.group(1) + " " + match.group(2), "%Y-%m-%d %H:%M:%S")))


def main():
    module = engine_module(ARGUMENT_SPEC)
    params = module.params

    def read(client):
        if params["tail"] is not None and params["tail"] < 0:
            raise ValueError("tail must be 0 or more lines, got %s" % params["tail"])
        since = since_timestamp(params["since"])
        container = client.inspect("container", params["name"])
        result = dict(changed=False, exists=container is not None, container=container or {})
        if container is not None and params["logs"]:
            stdout, stderr = read_logs(client, container, params["tail"], since, params["timestamps"])
            result.update(stdout=stdout, stderr=stderr, stdout_lines=stdout.splitlines(),
                          stderr_lines=stderr.splitlines())
        return result

    run(module, read)


if __name__ == "__main__":
    main()
