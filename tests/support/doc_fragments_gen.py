"""The doc fragments that are generated text: the secret and config options.

ansible-test's yamllint reads a fragment's class attributes as plain string literals, so the generated
texts are written out in plugins/doc_fragments; this file is their source. (The container options are
not generated here: plugins/doc_fragments/container_options.py renders them from the option table.)
`python -m tests.support.doc_fragments_gen --write` rewrites them; tests/unit/test_doc_sources.py fails
when a fragment differs from what this generates.
"""
from __future__ import annotations

import pathlib
import re
import sys

import yaml

FRAGMENTS = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "doc_fragments"


# The secret and config options, worded for each kind.
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

KINDS = {"SECRET": {"kind": "secret", "value": "value"}, "CONFIG": {"kind": "config", "value": "content"}}


WIDTH = 118  # the collection's line length (ruff: 120) less the indentation slack


def _wrap_line(line):
    """`line` split at spaces into lines of at most WIDTH, continued where its text starts (a YAML plain scalar)."""
    match = re.match(r"^(\s*)(- |[\w-]+: )?", line)
    indent = len(match.group(1))
    if match.group(2) == "- ":
        indent += 2
    elif match.group(2):
        indent += 2  # a mapping value continues deeper than its key
    lines = []
    while len(line) > WIDTH:
        cut = line.rfind(" ", indent + 10, WIDTH + 1)
        if cut < 0:
            break
        lines.append(line[:cut])
        line = " " * indent + line[cut + 1:]
    return lines + [line]


def _wrapped(text):
    """`text` (YAML) with its long lines wrapped; the same YAML, checked."""
    wrapped = "".join("\n".join(_wrap_line(line)) + "\n" for line in text.split("\n")[:-1]) + text.split("\n")[-1]
    if yaml.safe_load(wrapped) != yaml.safe_load(text):
        raise ValueError("wrapping changed the YAML of a generated fragment")
    return wrapped


def expected():
    """{(file name, attribute): text} for every generated fragment attribute."""
    texts = {}
    for attribute, words in KINDS.items():
        texts[("swarm_object.py", attribute)] = _wrapped(_OPTIONS % words)
    return texts


def _literal_re(attribute):
    return re.compile(r'(\n    %s = r""")(.*?)(""")' % attribute, re.S)


def written(file_name, attribute):
    """The text of `attribute` as written in plugins/doc_fragments/<file_name>."""
    match = _literal_re(attribute).search((FRAGMENTS / file_name).read_text())
    return match.group(2) if match else None


def write():
    """Rewrite every generated attribute in plugins/doc_fragments."""
    for (file_name, attribute), text in expected().items():
        path = FRAGMENTS / file_name
        new, count = _literal_re(attribute).subn(lambda m, text=text: m.group(1) + text + m.group(3), path.read_text())
        if count != 1:
            raise SystemExit("%s: no single %s = r-string to rewrite" % (path, attribute))
        path.write_text(new)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    for (file_name, attribute), text in expected().items():
        print("%s %s: %s" % (file_name, attribute, "current" if written(file_name, attribute) == text else "STALE"))
