#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: login
short_description: Log in to a registry once, for the docker CLI and every later berth.engine task
version_added: 0.2.0
description:
  - Checks the credentials with the registry through the engine (C(POST /auth)), then stores them where the docker
    CLI keeps them, C(~/.docker/config.json) of the user the task runs as (or O(config_path)), in the configured
    credential helper (C(credHelpers), C(credsStore)) when there is one.
  - M(berth.engine.image), M(berth.engine.container) and M(berth.engine.stack) use the stored login for a registry
    when a task gives no username and password.
  - Idempotent - when the same credentials are already stored nothing is sent or written, unless O(reauthorize=true).
  - O(state=absent) logs out (removes the stored login).
  - The password never appears in the output, the diff or the logs.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  registry:
    description: Registry host, C(host[:port]); Docker Hub when not given.
    type: str
    default: https://index.docker.io/v1/
    aliases: [registry_url]
  username:
    description: User name. Required with O(state=present).
    type: str
  password:
    description: Password or access token. Required with O(state=present).
    type: str
  state:
    description: C(present) logs in and stores the login; C(absent) removes it.
    type: str
    default: present
    choices: [present, absent]
  config_path:
    description: The docker CLI config file to use; C(~/.docker/config.json) (or E(DOCKER_CONFIG)) when not given.
    type: path
  reauthorize:
    description: Check the credentials with the registry and store them even when the same ones are stored already.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: In check mode the credentials are not sent to the registry; the result says whether they would be stored.
  diff_mode:
    support: none
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Log in to the company registry for the rest of the play
  berth.engine.login:
    registry: registry.example.com
    username: deploy
    password: "{{ vault_registry_token }}"

- name: Pull with the stored login
  berth.engine.image:
    name: registry.example.com/shop/web:2.3

- name: Log out
  berth.engine.login:
    registry: registry.example.com
    state: absent
"""

RETURN = r"""
registry:
  description: The key the login is stored under (Docker Hub's URL, or host[:port]).
  returned: always
  type: str
  sample: registry.example.com
config_path:
  description: The config file used.
  returned: always
  type: str
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.credentials import (  # noqa: E402
    default_config_path,
    erase_credentials,
    registry_key,
    store_credentials,
    stored_credentials,
)
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError, endpoint  # noqa: E402

ARGUMENT_SPEC = dict(
    registry=dict(type="str", default="https://index.docker.io/v1/", aliases=["registry_url"]),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    config_path=dict(type="path"),
    reauthorize=dict(type="bool", default=False),
)


def check_with_registry(client, key, username, password):
    try:
        client.post(endpoint("auth"), body={"username": username, "password": password, "serveraddress": key})
    except EngineError as err:
        raise EngineError("logging in to %s as %s failed: %s. Check the user name and password (or token) and that "
                          "the registry is reachable from the Docker host" % (key, username, err.daemon_message or err),
                          err.status) from None


def main():
    module = engine_module(ARGUMENT_SPEC, required_if=[("state", "present", ("username", "password"))])
    params = module.params

    def login(client):
        path = params["config_path"] or default_config_path()
        key = registry_key(params["registry"])
        result = dict(registry=key, config_path=path)
        if params["state"] == "absent":
            if module.check_mode:
                return dict(result, changed=stored_credentials(key, path)[0] is not None)
            return dict(result, changed=erase_credentials(path, key))
        wanted = (params["username"], params["password"])
        if stored_credentials(key, path) == wanted and not params["reauthorize"]:
            return dict(result, changed=False)
        if module.check_mode:
            return dict(result, changed=True)
        check_with_registry(client, key, *wanted)
        store_credentials(path, key, *wanted)
        return dict(result, changed=True)

    run(module, login)


if __name__ == "__main__":
    main()
