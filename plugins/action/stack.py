# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads `compose_files` of stack and swarm_stack on the controller and passes the documents as `compose`.

Merging, interpolation and the translation into stack entries happen in the module (pure code in
module_utils/compose.py), so a file read here and a document given inline behave the same.
"""

from __future__ import annotations

import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    MODULE = "berth.engine.stack"

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        files = args.get("compose_files")
        if files:
            if args.get("compose"):
                raise AnsibleActionFail("%s: give compose or compose_files, not both" % self.MODULE)
            if isinstance(files, str):
                files = [files]
            paths = [self._find(path) for path in files]
            args["compose"] = [_load(path) for path in paths]
            args["compose_files"] = paths
            args.setdefault("project_directory", os.path.dirname(paths[0]))
        result.update(self._execute_module(self.MODULE, module_args=args, task_vars=task_vars))
        return result

    def _find(self, path):
        try:
            return os.path.abspath(self._find_needle("files", path))
        except Exception as err:
            raise AnsibleActionFail("compose file %s was not found on the controller: %s" % (path, err)) from None


def _load(path):
    try:
        with open(path, "rb") as handle:
            document = yaml.safe_load(handle)
    except yaml.YAMLError as err:
        raise AnsibleActionFail("compose file %s is not valid YAML: %s" % (path, err)) from None
    except OSError as err:
        raise AnsibleActionFail("cannot read compose file %s: %s" % (path, err.strerror)) from None
    if not isinstance(document, dict):
        raise AnsibleActionFail("%s does not hold a Compose document (a mapping with services)" % path)
    return document
