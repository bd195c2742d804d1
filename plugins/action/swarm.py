# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of berth.engine.swarm: hide a result that carries join tokens from every output.

A module cannot mark its own result no_log (ansible-core strips _ansible_* keys modules return), and
masking the tokens with no_log_values would make them useless to the next task. So when the module
returns tokens, this marks the result as no_log: callbacks and -vvv show it censored, while the
registered variable keeps the values for the join tasks (which take them as no_log options).
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    MODULE = "berth.engine.swarm"

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name=self.MODULE, module_args=self._task.args,
                                           task_vars=task_vars))
        if "tokens" in result:
            result["_ansible_no_log"] = True
        return result
