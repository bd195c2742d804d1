# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options the secret and config modules share (plugins/module_utils/swarm_objects.py argument_spec).

One text, worded for each kind: berth.engine.swarm_object.secret and berth.engine.swarm_object.config.
What only one kind has (the secret's hash_key) stays in its module.
"""

_OPTIONS = r"""
options:
  name:
    description: Logical name of the %(kind)s (at most 51 characters).
    type: str
    required: true
  state:
    description:
      - C(present) the current content is the newest version.
      - C(absent) no version exists (fails while a service uses one).
    type: str
    default: present
    choices: [present, absent]
  content:
    description:
      - The %(kind)s's %(value)s.
      - One of O(content), O(content_base64) or O(src) is required with O(state=present).
    type: str
  content_base64:
    description: The %(value)s, base64-encoded (for binary data).
    type: str
  src:
    description: A file on the managed host (the manager) holding the %(value)s.
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
"""


class ModuleDocFragment:
    """SECRET and CONFIG: the shared options, each in its kind's words (a secret holds a value)."""

    SECRET = _OPTIONS % {"kind": "secret", "value": "value"}
    CONFIG = _OPTIONS % {"kind": "config", "value": "content"}
