#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: secret
short_description: Manage a versioned swarm secret and roll the services that use it
version_added: 0.2.0
description:
  - A swarm secret cannot change. This module keeps one engine secret per content, named
    C(<name>_<12 hex>), where the hex is an HMAC-SHA256 of the content keyed by the swarm's cluster ID (or by
    O(hash_key)), so the name never reveals a guessable value. Each version carries the label
    C(io.berth.logical_name=<name>).
  - Services (M(berth.engine.service), M(berth.engine.swarm_stack)) refer to the logical O(name) and get its newest
    version, as C(/run/secrets/<name>) by default.
  - New content creates the next version, updates every service that used an older version (a rolling update,
    waited for like the service module does), then removes unused old versions beyond O(keep_versions).
  - The value never appears in the result, the diff or the logs; the diff says only that the content changed.
  - Check mode reports exactly the actions a real run would take; diff mode shows which version changes.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.swarm_object.secret
options:
  hash_key:
    description:
      - Key of the HMAC that names the versions. Defaults to the swarm's cluster ID. Give the same key on every
        cluster that should name versions alike; changing it creates a new version.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The database password; services refer to it as db_password
  berth.engine.secret:
    name: db_password
    content: "{{ vault_db_password }}"

- name: A TLS key from a file on the manager, keeping two old versions
  berth.engine.secret:
    name: tls_key
    src: /etc/ssl/private/shop.key
    keep_versions: 2
"""

RETURN = r"""
secret:
  description: The current version (never the value).
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
    SecretResource,
    argument_spec,
    run_object_module,
)

ARGUMENT_SPEC = argument_spec("secret")


def main():
    module = engine_module(ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE)
    run_object_module(module, SecretResource)


if __name__ == "__main__":
    main()
