# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """What the check_mode and diff_mode attributes mean, for modules that do not speak to the engine.

    The engine fragment carries the same descriptions; each module gives its own support and details.
    """

    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return the changed status it would have without changing anything.
  diff_mode:
    description: Returns the before and after state of what it changes when run with C(--diff).
"""
