# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads container_copy's `src` on the controller and hands the module the content, one file a call."""

from __future__ import annotations

import base64
import os
import posixpath

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

# A file larger than this is refused: it travels base64-encoded inside the module's arguments.
MAX_FILE_BYTES = 32 * 1024 * 1024


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        src = args.pop("src", None)
        if src is None:
            return self._run("berth.engine.container_copy", args, task_vars, result)
        try:
            source = self._find_needle("files", src)
        except Exception as err:
            raise AnsibleActionFail("container_copy: src %s was not found on the controller: %s" % (src, err)) from None
        if not os.path.isdir(source):
            return self._run("berth.engine.container_copy", dict(args, content_base64=_read(source)), task_vars,
                             result)
        return self._copy_tree(source, args, task_vars, result)

    def _copy_tree(self, source, args, task_vars, result):
        files = []
        for directory, _unused, names in sorted(os.walk(source)):
            for name in sorted(names):
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, source).replace(os.sep, "/")
                dest = posixpath.join(args["dest"], relative)
                one = self._execute_module("berth.engine.container_copy",
                                           module_args=dict(args, dest=dest, content_base64=_read(path)),
                                           task_vars=task_vars)
                if one.get("failed"):
                    one["msg"] = "%s: %s" % (dest, one.get("msg"))
                    return dict(result, **one)
                files.append({"dest": dest, "changed": one.get("changed", False)})
                for key in ("diff",):
                    if one.get(key):
                        result.setdefault("diff", []).append(one[key])
        result.update(changed=any(f["changed"] for f in files), files=files, dest=args["dest"])
        return result

    def _run(self, module, args, task_vars, result):
        result.update(self._execute_module(module, module_args=args, task_vars=task_vars))
        return result


def _read(path):
    if os.path.getsize(path) > MAX_FILE_BYTES:
        raise AnsibleActionFail("container_copy: %s is larger than %d MiB; copy it with a bind mount or an image "
                                "instead" % (path, MAX_FILE_BYTES // (1024 * 1024)))
    with open(path, "rb") as handle:
        return base64.b64encode(handle.read()).decode("ascii")
