#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: config
short_description: Manage a versioned swarm config and roll the services that use it
version_added: 0.2.0
description:
  - A swarm config cannot change. This module keeps one engine config per content, named
    C(<name>_<12 hex of its SHA-256 HMAC>), labelled C(io.berth.logical_name=<name>).
  - Services (M(berth.engine.service), M(berth.engine.swarm_stack)) refer to the logical O(name) and get its newest
    version, as the file C(/<name>) by default.
  - New content creates the next version, updates every service that used an older version (a rolling update,
    waited for like the service module does), then removes unused old versions beyond O(keep_versions).
  - Check mode reports exactly the actions a real run would take; diff mode shows which version changes.
extends_documentation_fragment:
  - berth.engine.engine
options:
  name:
    description: Logical name of the config (at most 51 characters).
    type: str
    required: true
  state:
    description: C(present) the current content is the newest version. C(absent) no version exists (fails while a service uses one).
    type: str
    default: present
    choices: [present, absent]
  content:
    description: The config's content. One of O(content), O(content_base64) or O(src) is required with O(state=present).
    type: str
  content_base64:
    description: The content, base64-encoded (for binary data).
    type: str
  src:
    description: A file on the managed host (the manager) holding the content.
    type: path
  labels:
    description: Labels of a version this task creates.
    type: dict
  keep_versions:
    description: How many old versions to keep after a change (unused ones beyond that are removed).
    type: int
    default: 1
  update_services:
    description: Roll the services that use an older version over to the new one.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each updated service to converge.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The web server's configuration; services refer to it as nginx_conf
  berth.engine.config:
    name: nginx_conf
    src: files/nginx.conf
"""

RETURN = r"""
config:
  description: The current version.
  returned: success
  type: dict
  contains:
    id:
      description: Engine ID of the current version.
      type: str
    name:
      description: Engine name of the current version, C(<logical name>_<12 hex>).
      type: str
    logical_name:
      description: O(name).
      type: str
    services_updated:
      description: Services rolled over to the new version.
      type: list
      elements: str
    removed_versions:
      description: Engine names of the versions removed.
      type: list
      elements: str
actions:
  description: What was done (in check mode, would be done), like C(create), C(update_services), C(remove).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.swarm_objects import (  # noqa: E402
    MUTUALLY_EXCLUSIVE,
    ConfigResource,
    argument_spec,
    run_object_module,
)

ARGUMENT_SPEC = argument_spec("config")


def main():
    module = engine_module(ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE)
    run_object_module(module, ConfigResource)


if __name__ == "__main__":
    main()
