#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume
short_description: Manage a Docker volume without ever losing its data by surprise
version_added: 0.1.0
description:
  - Creates and removes one named volume.
  - Only the settings you give are compared. O(driver_opts) are compared whole; for O(labels) only the keys you list.
  - A volume cannot change in place and recreating it deletes its data. So when an existing volume differs from the
    task, the task fails, says what differs and changes nothing, unless O(recreate=options_changed).
  - A volume in use by a container (running or stopped) is never removed or recreated; the task fails naming the
    containers.
  - Check mode reports exactly the actions a real run would take, and fails where a real run would fail;
    diff mode shows what differs.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  name:
    description: Volume name.
    type: str
    required: true
  state:
    description: C(present) the volume exists. C(absent) it does not exist (its data is deleted).
    type: str
    default: present
    choices: [present, absent]
  driver:
    description: Volume driver. A new volume uses C(local) when it is not given; an existing one is then not compared.
    type: str
  driver_opts:
    description:
      - Driver options, for example C(type), C(device) and C(o) of the C(local) driver (like C(mount -t TYPE -o O DEVICE)).
    type: dict
  labels:
    description: Labels of the volume. Labels not listed are not compared.
    type: dict
  recreate:
    description:
      - What to do when the volume exists but differs from the task.
      - C(never) fails and leaves the volume and its data alone.
      - C(options_changed) removes the volume, deleting its data, and creates it as declared.
    type: str
    default: never
    choices: [never, options_changed]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A volume for the database
  berth.engine.volume:
    name: pgdata
    labels:
      org.example.backup: daily

- name: A tmpfs-backed volume, recreated if its options change (its content is disposable)
  berth.engine.volume:
    name: scratch
    driver_opts:
      type: tmpfs
      device: tmpfs
      o: size=64m
    recreate: options_changed

- name: Remove it (fails while a container uses it)
  berth.engine.volume:
    name: scratch
    state: absent
"""

RETURN = r"""
volume:
  description: The volume's inspect document after the task (before it, in check mode); empty when removed.
  returned: success
  type: dict
actions:
  description: What was done (in check mode, would be done), like C(create), C(recreate), C(remove).
  returned: always
  type: list
  elements: str
  sample: [create]
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, plan_result, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.resource import converge  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.volume_plan import ARGUMENT_SPEC  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.volume_resource import VolumeResource  # noqa: E402


def main():
    module = engine_module(ARGUMENT_SPEC)

    def body(client):
        plan, _unused, volume = converge(VolumeResource(client, module.params, module.check_mode))
        return plan_result(module, plan, "volume", volume)

    run(module, body)


if __name__ == "__main__":
    main()
