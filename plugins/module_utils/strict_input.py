# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input strictness: where the engine wants text, a YAML boolean or a float is refused, naming the option.

YAML turns `yes`, `on` and `true` into a boolean and `1.10` into the float 1.1; written as text they
would become `True` and `1.1`, which is rarely what the user meant. Integers are kept (as decimal
text): a template such as "{{ port }}" renders to an integer in ansible-core 2.19.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.plan import as_words


def plain_text(value, option):
    """A string, or an integer as decimal text; anything else raises ValueError naming `option`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError("%s must be a string, got the boolean %r (YAML reads yes/no/on/off/true/false as booleans): "
                         "quote it, e.g. \"%s\"" % (option, value, str(value).lower()))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise ValueError("%s must be a string, got the number %r (YAML reads 1.10 as 1.1): quote it" % (option, value))
    raise ValueError("%s must be a string, got %r" % (option, value))


def words(value, option):
    """A command: a string split as a shell would (without expansions), or a list of plain values."""
    if value is None:
        return None
    if isinstance(value, str):
        return as_words(value, option)
    if not isinstance(value, (list, tuple)):
        return [plain_text(value, option)]
    return [plain_text(item, "%s[%d]" % (option, index)) for index, item in enumerate(value)]


def text_list(value, option):
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise ValueError("%s must be a list of strings, got %r" % (option, value))
    return [plain_text(item, "%s[%d]" % (option, index)) for index, item in enumerate(value)]


def text_map(value, option):
    """{name: text}; a missing value (None) is the empty string, as for `docker run -e A=`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("%s must be a mapping, got %r" % (option, value))
    return {str(key): "" if item is None else plain_text(item, "%s.%s" % (option, key)) for key, item in value.items()}


def check_container_input(params):
    """The container module's text options (command, entrypoint, env values, network aliases) checked;
    the parameters with the aliases as text."""
    for option in ("command", "entrypoint"):
        words(params.get(option), option)
    text_map(params.get("env"), "env")
    networks = []
    for index, network in enumerate(params.get("networks") or []):
        if isinstance(network, dict) and network.get("aliases") is not None:
            network = dict(network, aliases=text_list(network["aliases"], "networks[%d].aliases" % index))
        networks.append(network)
    return dict(params, networks=networks) if params.get("networks") is not None else params
