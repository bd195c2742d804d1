# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""swarm_stack reads its `compose_files` on the controller exactly as stack does."""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.action.stack import ActionModule as StackAction


class ActionModule(StackAction):
    MODULE = "berth.engine.swarm_stack"
