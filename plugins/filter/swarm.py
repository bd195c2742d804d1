# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the swarm role plans with: the pure code of plugins/module_utils/swarm_plan.py."""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.swarm_plan import membership_plan, swarm_layout


def _declared_role(host, managers, workers):
    if host in (managers or ()):
        return "manager"
    if host in (workers or ()):
        return "worker"
    return None


def swarm_layout_of(hosts, facts, managers, workers):
    """swarm_layout for the play: hosts in order, each one's swarm module facts, the two groups' hosts.
    Declared managers outside the play are those that did not answer (down, unreachable or limited out)."""
    view = {host: {"declared": _declared_role(host, managers, workers), "swarm": fact or {}}
            for host, fact in zip(hosts, facts)}
    return swarm_layout(view, [h for h in managers or () if h not in hosts])


def _short(name):
    return str(name or "").split(".", maxsplit=1)[0]


def swarm_membership(nodes, hosts, node_ids, managers, workers, force=False, remove_undeclared=False):
    """The role's membership plan (promote, demote, remove, refusal) for the cluster's node summaries.

    hosts and node_ids: the play's hosts and each one's node ID. A node of a play host is declared by the
    groups. A node of no play host is kept when its hostname is that of a declared host outside the play
    (unreachable, or limited out: never retired by accident); otherwise it is undeclared, or the stale
    entry of a rebuilt host. The down entry a rebuilt play host left behind is always removed; without
    remove_undeclared, the other undeclared nodes are left alone.
    """
    declared = {}
    play_ids = set()
    for host, node_id in zip(hosts, node_ids):
        if not node_id:
            continue
        play_ids.add(node_id)
        role = _declared_role(host, managers, workers)
        if role:
            declared[node_id] = role
    outside_play = {_short(h) for h in list(managers or []) + list(workers or [])} - {_short(h) for h in hosts}
    # A rebuilt host joined again under a new ID: the down entry with its hostname is stale.
    rejoined = {_short(h) for h, node_id in zip(hosts, node_ids) if node_id}
    for node in nodes:
        if node["id"] in play_ids:
            continue
        if node.get("state") == "down" and _short(node.get("hostname")) in rejoined:
            continue
        if not remove_undeclared or _short(node.get("hostname")) in outside_play:
            declared[node["id"]] = node["role"]
    return membership_plan(nodes, declared, bool(force))


class FilterModule:
    def filters(self):
        return {"swarm_layout": swarm_layout_of, "swarm_membership": swarm_membership}
