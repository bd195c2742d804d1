# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one contract every Berth resource follows: read -> plan -> apply.

- ``desire(params)`` (pure) validates the module parameters into the desired state and raises
  InputError (a ValueError) naming the option; it runs in the constructor, so bad input fails
  before any call, and a TypeError or OverflowError it meets is the input's fault too (judged).
- ``read(known, **given)`` asks the engine for everything the plan needs (the object, its image, the
  containers attached to it, names resolved to IDs ...) and returns it as a dict, the *state*.
  ``known`` is the object's inspect document when the caller already has it (the stack reads
  many at once), or None when the caller knows it is absent; UNREAD means read it here. ``given``
  are further inputs a caller has already (the image a stack's pre-flight resolved, the networks it
  creates first): explicit read() arguments, never entries planted in the shared cache.
- ``plan(state)`` is pure: desired + state in, a Plan out (actions, before/after). Check mode
  stops after it, and diff mode shows its before/after, so both are exact by construction.
- ``apply(plan, state)`` executes the actions, nothing else, and returns the object's document.

converge() runs the three in order; the single-resource modules and the stacks all call it.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.value_parsers import judged

UNREAD = object()


class Resource:
    """Base of every resource kind. Subclasses set ``kind`` and implement the four steps."""

    kind = "resource"

    def __init__(self, client, params, check_mode=False, cache=None):
        self.client = client
        self.check_mode = check_mode
        # Shared between resources of one run (the stack passes one), so an image is resolved or a
        # network looked up once per run rather than once per item.
        self.cache = cache if cache is not None else {}
        self.desired = judged(self.desire)(params)
        self.name = self.desired["name"]

    def desire(self, params):
        raise NotImplementedError

    def read(self, known=UNREAD):
        raise NotImplementedError

    def plan(self, state):
        raise NotImplementedError

    def apply(self, plan, state):
        raise NotImplementedError

    def cached(self, key, compute):
        """compute() once per run for `key` (in the shared cache)."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


def converge(resource, known=UNREAD, **given):
    """read -> plan -> apply (unless check mode or nothing to do). Returns (plan, state, document).

    `given`: what the caller knows that read() would otherwise look up (a resource's read names these
    inputs explicitly, such as the image a stack's pre-flight resolved); passed to read() as they are.
    """
    state = resource.read(known, **given)
    plan = resource.plan(state)
    if resource.check_mode or not plan.actions:
        return plan, state, state.get("current")
    return plan, state, resource.apply(plan, state)
