# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options the secret and config modules share (plugins/module_utils/swarm_objects.py argument_spec).

One text, worded for each kind: berth.engine.swarm_object.secret and berth.engine.swarm_object.config.
Both texts are generated from one template by tests/support/doc_fragments_gen.py (`python -m
tests.support.doc_fragments_gen --write`); tests/unit/test_doc_sources.py fails when they drift.
What only one kind has (the secret's hash_key) stays in its module.
"""


class ModuleDocFragment:
    """SECRET and CONFIG: the shared options, each in its kind's words (a secret holds a value)."""

    SECRET = r"""
options:
  name:
    description: Logical name of the secret (at most 51 characters).
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
      - The secret's value.
      - One of O(content), O(content_base64) or O(src) is required with O(state=present).
    type: str
  content_base64:
    description: The value, base64-encoded (for binary data).
    type: str
  src:
    description: A file on the managed host (the manager) holding the value.
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

    CONFIG = r"""
options:
  name:
    description: Logical name of the config (at most 51 characters).
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
      - The config's content.
      - One of O(content), O(content_base64) or O(src) is required with O(state=present).
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
"""
