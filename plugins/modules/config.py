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
  - berth.engine.swarm_object.config
options:
  template_driver:
    description:
      - C(golang) makes the engine render the content as a Go template for each task that mounts it, with the
        task's placeholders such as C({{ .Service.Name }}), C({{ .Task.Slot }}) or C({{ .Node.Hostname }}) (write
        them with C({% raw %}) or C(!unsafe) so Ansible leaves them alone).
      - Part of what names the version, so a change of driver is a new version, like new content.
    type: str
    choices: [golang]
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

- name: A file each task renders with its own service name and slot
  berth.engine.config:
    name: whoami
    content: "{% raw %}service={{ .Service.Name }} slot={{ .Task.Slot }}{% endraw %}"
    template_driver: golang
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
