#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_copy
short_description: Put a file into a container, only when its content, owner or mode differ
version_added: 0.2.0
description:
  - Writes O(content), or a file or directory O(src) from the controller, to O(dest) in a running or stopped
    container through the engine's archive API (no shell or tools needed in the image).
  - Idempotent by content - the file in the container is read back and compared (SHA-256, mode, owner, group), and
    nothing is written when they are equal.
  - Diff mode shows the change of a text file. Check mode reports whether the file would change.
extends_documentation_fragment:
  - berth.engine.engine
options:
  container:
    description: Name or ID of the container.
    type: str
    required: true
  dest:
    description:
      - Absolute path of the file in the container. With a directory O(src), the directory to copy into.
      - Missing parent directories are created (mode 0755, owned by O(owner) and O(group)) in the same write as the
        file, so a directory O(src) with sub-directories is copied whole.
    type: str
    required: true
  content:
    description: The file's content, as text. One of O(content), O(content_base64) and O(src) is required.
    type: str
  content_base64:
    description: The file's content, base64-encoded (binary files).
    type: str
  src:
    description:
      - A file or directory on the controller (relative paths as for M(ansible.builtin.copy)), read by the action
        plugin. A directory's files are copied below O(dest) with their relative paths.
    type: path
  mode:
    description: Permissions, as an octal string such as C('0644').
    type: str
    default: '0644'
  owner:
    description: Owner, a user name of the container's C(/etc/passwd) or a numeric UID. Root when not given.
    type: str
  group:
    description: Group, a name of the container's C(/etc/group) or a numeric GID. The owner's group when not given.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  action:
    description: Has an action plugin that runs part of the task on the controller.
    support: full
    details: The action plugin reads O(src) on the controller.
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Drop a config file into the web container
  berth.engine.container_copy:
    container: shop-web
    dest: /etc/nginx/conf.d/shop.conf
    content: "{{ lookup('template', 'shop.conf.j2') }}"
    owner: nginx
    mode: '0640'
  register: conf

- name: Reload when it changed
  berth.engine.container_exec:
    container: shop-web
    command: [nginx, -s, reload]
  when: conf.changed

- name: Ship static files from the controller
  berth.engine.container_copy:
    container: shop-web
    src: files/static/
    dest: /usr/share/nginx/html
"""

RETURN = r"""
dest:
  description: The path written (or compared).
  returned: always
  type: str
checksum:
  description: SHA-256 of the content.
  returned: with O(content), O(content_base64) or a file O(src)
  type: str
files:
  description: With a directory O(src), per file C(dest) and C(changed).
  returned: with a directory src
  type: list
  elements: dict
"""

import base64  # noqa: E402
import hashlib  # noqa: E402
import posixpath  # noqa: E402

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.container_ops import (  # noqa: E402
    find_container,
    put_file,
    read_file,
)

ARGUMENT_SPEC = dict(
    container=dict(type="str", required=True),
    dest=dict(type="str", required=True),
    content=dict(type="str"),
    content_base64=dict(type="str"),
    src=dict(type="path"),
    mode=dict(type="str", default="0644"),
    owner=dict(type="str"),
    group=dict(type="str"),
)
TEXT_DIFF_LIMIT = 64 * 1024


def parse_mode(value):
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise ValueError("mode must be an octal string such as '0644', got %r" % value) from None
    if not 0 <= mode <= 0o7777:
        raise ValueError("mode must be between 0000 and 7777, got %r" % value)
    return mode


def lookup_id(client, container_id, name, table):
    """(ID, primary group ID or None) of a user or group name, from the container's /etc/passwd or /etc/group."""
    if str(name).isdigit():
        return int(name), None
    content, _unused = read_file(client, container_id, table)
    for line in (content or b"").decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) > 3 and fields[0] == name and fields[2].isdigit():
            return int(fields[2]), int(fields[3]) if table == "/etc/passwd" and fields[3].isdigit() else None
    raise ValueError("%s is not in the container's %s: give a numeric ID or create it in the image" % (name, table))


def owner_ids(client, container_id, owner, group):
    """(uid, gid): root by default, the owner's primary group when only the owner is given."""
    uid, gid = 0, 0
    if owner is not None:
        uid, primary = lookup_id(client, container_id, owner, "/etc/passwd")
        gid = primary if primary is not None else uid
    if group is not None:
        gid = lookup_id(client, container_id, group, "/etc/group")[0]
    return uid, gid


def _text(data):
    if data is None or len(data) > TEXT_DIFF_LIMIT:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def main():
    module = engine_module(ARGUMENT_SPEC, required_one_of=[("content", "content_base64", "src")],
                           mutually_exclusive=[("content", "content_base64", "src")])
    params = module.params

    def copy(client):
        if params["src"] is not None:
            raise ValueError("src is read by the berth.engine.container_copy action plugin on the controller; "
                             "call the module by its name, not through a raw module runner")
        dest = params["dest"]
        if not dest.startswith("/") or dest.endswith("/") or "\0" in dest:
            raise ValueError("dest must be an absolute path of a file in the container, got %r" % dest)
        content = params["content"].encode("utf-8") if params["content"] is not None else \
            _decode(params["content_base64"])
        mode = parse_mode(params["mode"])
        container = find_container(client, params["container"])
        uid, gid = owner_ids(client, container["Id"], params["owner"], params["group"])
        current, stat = read_file(client, container["Id"], dest)
        same = current == content and stat and (stat.get("mode", 0) & 0o7777) == mode and \
            (stat.get("uid"), stat.get("gid")) == (uid, gid)
        result = dict(changed=not same, dest=dest, checksum=hashlib.sha256(content).hexdigest())
        if not same and module._diff:
            result["diff"] = {"before_header": "%s:%s (container)" % (params["container"], dest),
                              "after_header": "%s:%s (declared)" % (params["container"], dest),
                              "before": _text(current) if current is not None else "",
                              "after": _text(content) or "(binary content, %d bytes)" % len(content)}
        if not same and not module.check_mode:
            put_file(client, container["Id"], posixpath.dirname(dest) or "/", posixpath.basename(dest), content,
                     mode, uid, gid)
        return result

    run(module, copy)


def _decode(value):
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError("content_base64 is not valid base64") from None


if __name__ == "__main__":
    main()
