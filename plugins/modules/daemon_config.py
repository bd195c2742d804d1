#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: daemon_config
short_description: Write the Docker daemon's daemon.json, checked, atomically and with a backup
version_added: 0.2.0
description:
  - Merges O(config) over O(defaults) (mappings merge key by key, other values replace, C(null) removes a key),
    checks every key against the daemon.json settings dockerd knows and the JSON type each must have, and writes
    the result to O(path).
  - Unknown keys fail with the closest known key (unless O(allow_unknown_keys=true)); a value of the wrong type
    fails naming the key, its value and the type dockerd expects. Nothing is written then.
  - The file is compared by content, not by text, so a file that says the same in another layout is left alone.
  - A new file is written to a temporary file next to O(path), checked with C(dockerd --validate) where the
    installed dockerd has it (23.0 and later), then the old file is copied to a backup and the new one renamed
    over it.
  - Refuses a new file, or one that changes C(data-root) or C(storage-driver), when the storage driver is
    C(overlay2) (also when unset, as dockerd then picks it) and the data root's filesystem cannot carry it
    (overlayfs, xfs formatted with C(ftype=0), or another filesystem without d_type). dockerd would not fail
    there; it would start on C(vfs) and an empty data root.
  - Never restarts the daemon; RV(restart_needed) says whether a restart is due.
author:
  - Berth maintainers (!UNKNOWN)
extends_documentation_fragment:
  - berth.engine.attributes
options:
  path:
    description: The daemon's configuration file.
    type: path
    default: /etc/docker/daemon.json
  defaults:
    description: Settings the file has unless O(config) overrides them.
    type: dict
    default: {}
  config:
    description:
      - Settings merged over O(defaults). A key set to C(null) removes that default.
    type: dict
    default: {}
  allow_unknown_keys:
    description:
      - Pass keys that are not in Berth's table of dockerd settings through (for a dockerd newer than the table).
        dockerd still refuses keys it does not know.
    type: bool
    default: false
  swarm_active:
    description:
      - The daemon is a swarm node. dockerd refuses C(live-restore) there, so a C(live-restore) from O(defaults)
        is dropped and one set in O(config) fails.
    type: bool
    default: false
  validate_with:
    description:
      - The dockerd binary that checks the new file with C(--validate --config-file) before it replaces O(path).
      - V(auto) looks for dockerd and uses it when its C(--help) lists C(--validate); an empty string skips it.
    type: str
    default: auto
  backup:
    description: Copy the file being replaced to C(<path>.<pid>.<date>~) first.
    type: bool
    default: true
  mode:
    description: Permissions of the file (an octal string).
    type: str
    default: "0644"
  restart_marker:
    description:
      - A file to create just before a changed O(path) is put in place, so that a run interrupted before it
        restarts the daemon still leaves a trace that a restart is due (the runtime role removes it after the
        restart). Not created when only the file's attributes change.
    type: path
  rootless:
    description:
      - O(path) is the daemon.json of a rootless engine (C(~/.config/docker/daemon.json)), written as its user
        (C(become_user)). Refuses C(userns-remap) and C(iptables), which a rootless engine cannot honour, and a
        C(data-root) (default C(~/.local/share/docker)) whose nearest existing directory the user does not own.
      - The file belongs to the user running the module instead of root.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reports what would be written; C(dockerd --validate) is not run.
  diff_mode:
    support: full
    details: Before and after are the file's JSON text, keys sorted.
"""

EXAMPLES = r"""
- name: Secure defaults with the user's settings over them
  berth.engine.daemon_config:
    defaults:
      log-driver: json-file
      log-opts: {max-size: 10m, max-file: "3"}
      live-restore: true
    config:
      log-opts: {max-size: 50m}
      registry-mirrors: [https://mirror.example.com]
  register: daemon_json

- name: Restart the daemon when the file changed
  ansible.builtin.service:
    name: docker
    state: restarted
  when: daemon_json.restart_needed
"""

RETURN = r"""
config:
  description: The configuration the file holds after the task (would hold, in check mode).
  returned: success
  type: dict
  sample: {"live-restore": true, "log-driver": "json-file", "log-opts": {"max-file": "3", "max-size": "10m"}}
path:
  description: The file.
  returned: always
  type: str
actions:
  description: What was done (in check mode, would be done), C(write) or C(set_attributes).
  returned: success
  type: list
  elements: str
changed_keys:
  description: Top-level keys whose value changes.
  returned: success
  type: list
  elements: str
restart_needed:
  description: The content changed, so the daemon must be restarted to use it.
  returned: success
  type: bool
existed:
  description: Whether the file existed before the task.
  returned: success
  type: bool
backup_file:
  description: The copy of the previous file; empty when there was nothing to back up.
  returned: success
  type: str
  sample: /etc/docker/daemon.json.1234.2026-01-01@12:00:00~
validated:
  description: Whether C(dockerd --validate) accepted the new file (false when it was not run).
  returned: success
  type: bool
"""

from ansible_collections.berth.engine.plugins.module_utils.common import checked_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.daemon_config_resource import (  # noqa: E402
    converge_daemon_json,
)

ARGUMENT_SPEC = dict(
    path=dict(type="path", default="/etc/docker/daemon.json"),
    defaults=dict(type="dict", default={}),
    config=dict(type="dict", default={}),
    allow_unknown_keys=dict(type="bool", default=False),
    swarm_active=dict(type="bool", default=False),
    validate_with=dict(type="str", default="auto"),
    backup=dict(type="bool", default=True),
    mode=dict(type="str", default="0644"),
    restart_marker=dict(type="path"),
    rootless=dict(type="bool", default=False),
)


def main():
    module = checked_module(ARGUMENT_SPEC, supports_check_mode=True)
    run(module, lambda _no_engine: converge_daemon_json(module), connect=False)


if __name__ == "__main__":
    main()
