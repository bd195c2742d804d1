"""A module's documentation as ansible-doc and validate-modules see it: its doc fragments merged in.

The merge is ansible-core's own (ansible.utils.plugin_docs.add_fragments); only the loader is ours, a
stand-in that imports this collection's fragments from plugins/doc_fragments, so that a unit test needs
neither a collection path configured nor ansible-core's collection finder installed in pytest.
"""
from __future__ import annotations

import importlib

import yaml
from ansible.utils.plugin_docs import add_fragments

COLLECTION = "berth.engine"
PACKAGE = "ansible_collections.berth.engine.plugins"


class CollectionFragments:
    """The one call add_fragments makes of a fragment loader: get(name) -> fragment object or None."""

    def get(self, name):
        prefix = COLLECTION + "."
        short = name[len(prefix):] if name.startswith(prefix) else ""
        if not short or "." in short:
            return None  # add_fragments then retries with the last part as the variable (.stack_entry)
        try:
            module = importlib.import_module("%s.doc_fragments.%s" % (PACKAGE, short))
        except ModuleNotFoundError:
            return None
        fragment = module.ModuleDocFragment()
        fragment.ansible_name = name
        return fragment


def raw_documentation(name):
    """The module's own DOCUMENTATION, parsed, before any fragment is merged."""
    module = importlib.import_module("%s.modules.%s" % (PACKAGE, name))
    return yaml.safe_load(module.DOCUMENTATION)


def module_documentation(name):
    """DOCUMENTATION of plugins/modules/<name>.py with its extends_documentation_fragment merged in."""
    module = importlib.import_module("%s.modules.%s" % (PACKAGE, name))
    doc = yaml.safe_load(module.DOCUMENTATION)
    add_fragments(doc, module.__file__, CollectionFragments(), is_module=True)
    return doc


def own_options(name):
    """The module's documented options without the engine fragment's connection options."""
    connection = yaml.safe_load(CollectionFragments().get(COLLECTION + ".engine").DOCUMENTATION)["options"]
    options = module_documentation(name)["options"]
    return {key: value for key, value in options.items() if key not in connection}


SERVICE_TABLE_START = ("<!-- service-options: generated from container_options.TABLE (tests/support/docs.py "
                       "service_options_table; tests/unit/test_option_table_snapshot.py checks it) -->")
SERVICE_TABLE_END = "<!-- /service-options -->"


def service_options_table():
    """The docs/clusters.md table of the container options a service shares, rendered from the option table."""
    from ansible_collections.berth.engine.plugins.module_utils.compose_swarm import SWARM_KEYS
    from ansible_collections.berth.engine.plugins.module_utils.container_options import SERVICE_OPTIONS

    compose_key = {option: key for key, (option, _translate) in SWARM_KEYS.items()}
    lines = ["| `service` option | Engine field (`ContainerSpec`) | Compose key | Notes |", "|---|---|---|---|"]
    for name, field in SERVICE_OPTIONS.items():
        notes = ["`container`'s `%s`" % field.row.name]
        if field.doc:
            notes.append("the service's own description; type %s" % field.argument_spec()["type"])
        if field.min_api:
            notes.append("API %s or newer, refused by older engines" % field.min_api)
        key = compose_key.get(name)
        compose = "`%s`" % key if key else "(none)"
        lines.append("| `%s` | `%s` | %s | %s |" % (name, ".".join(field.path[2:]), compose, "; ".join(notes)))
    return "\n".join([SERVICE_TABLE_START] + lines + [SERVICE_TABLE_END])
