# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of one container: the container module's, the stack module's containers entries, and the
container options a swarm service shares (the service module).

Their text is written once, in the option table (plugins/module_utils/container_options.py TABLE), next to
each option's argument spec; this fragment renders it when ansible-doc or validate-modules load it (both
import the fragment and read its attributes). DOCUMENTATION is the container module's options;
STACK_ENTRY the same as the stack's containers suboptions (the stack's argument spec is the container's
plus depends_on: plugins/module_utils/stack.py CONTAINER_ENTRY_SPEC), with every O(option) reference
made O(containers[].option), the path ansible-doc and validate-modules resolve in the stack module, and
RV(...) references pointed at the container module. SERVICE is the rows that mean the same for a swarm
service (their `service` field), under the service's option names (container_options.service_documentation).

The texts are JSON, which YAML loaders read as it is. They are set after the class body: ansible-test's
yamllint reads a fragment's class attributes as string literals, and these are rendered, not literals.
"""

from __future__ import annotations

import json
import re

from ansible_collections.berth.engine.plugins.module_utils.container_options import (
    documentation,
    service_documentation,
)

# O(name) and RV(name) without a plugin of their own (O(fqcn#type:name) points elsewhere already).
_OPTION_REFERENCE = re.compile(r"\bO\((?![\w.]+#)")
_RETURN_REFERENCE = re.compile(r"\bRV\((?![\w.]+#)")

_DEPENDS_ON = {
    "description": "Names of containers of this stack that must converge first.",
    "type": "list",
    "elements": "str",
    "default": [],
}


def _as_stack_text(value):
    """`value` (a description, or a whole option) with its references made relative to a stack entry."""
    if isinstance(value, str):
        value = _OPTION_REFERENCE.sub("O(containers[].", value)
        return _RETURN_REFERENCE.sub("RV(berth.engine.container#module:", value)
    if isinstance(value, list):
        return [_as_stack_text(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_stack_text(item) if key in ("description", "suboptions") or isinstance(item, dict)
                else item for key, item in value.items()}
    return value


def _stack_entry(options):
    suboptions = {name: _as_stack_text(option) for name, option in options.items()}
    suboptions["depends_on"] = _DEPENDS_ON
    return {"options": {"containers": {"suboptions": suboptions}}}


class ModuleDocFragment:
    """DOCUMENTATION: the container module's options. STACK_ENTRY: the same as the stack's containers entries.
    SERVICE: the container options of a swarm service."""


ModuleDocFragment.DOCUMENTATION = json.dumps({"options": documentation()}, indent=1)
ModuleDocFragment.STACK_ENTRY = json.dumps(_stack_entry(documentation()), indent=1)
ModuleDocFragment.SERVICE = json.dumps({"options": service_documentation()}, indent=1)
