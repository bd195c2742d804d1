# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of berth.engine.swarm_info: a result carrying join tokens is hidden, as for swarm."""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.action.swarm import ActionModule as SwarmActionModule


class ActionModule(SwarmActionModule):
    MODULE = "berth.engine.swarm_info"
