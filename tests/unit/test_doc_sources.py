"""Option docs written once: the container options (container and stack), the secret and config options.

The container options' text lives in the option table (plugins/module_utils/container_options.py), which
the doc fragment plugins/doc_fragments/container_options.py renders for both modules; the secret and config
texts in the generated fragment swarm_object.py. These tests fail when a module grows its own copy again,
when the copies drift from each other or from the argument specs, or when a reference in the shared text
points at no option of the module it ends up in.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.engine.plugins.module_utils.container_options import ARGUMENT_SPEC as CONTAINER_SPEC
from ansible_collections.berth.engine.plugins.module_utils.stack import CONTAINER_ENTRY_SPEC
from ansible_collections.berth.engine.plugins.module_utils.swarm_objects import argument_spec
from tests.support.docs import module_documentation, own_options, raw_documentation
from tests.unit.test_module_docs import compare

# O(name), O(a[].b), O(a.b=value); references into another plugin (O(fqcn#type:name)) are that plugin's business.
REFERENCE = re.compile(r"\b(O|RV)\(([^)#]+?)(?:=[^)]*)?\)")
SPEC_KEYS = ("type", "required", "default", "choices", "elements", "aliases")


def stack_entry_options():
    return module_documentation("stack")["options"]["containers"]["suboptions"]


def as_container_text(text):
    """A stack entry's description as the container module words it: its references relative again."""
    return text.replace("O(containers[].", "O(").replace("RV(berth.engine.container#module:", "RV(")


def descriptions(options, prefix=()):
    """((path...), description lines) of every option and suboption."""
    for name, option in options.items():
        lines = option.get("description")
        yield prefix + (name,), lines if isinstance(lines, list) else [lines]
        yield from descriptions(option.get("suboptions") or {}, prefix + (name,))


def option_paths(options, prefix=()):
    for name, option in options.items():
        for key in [name] + list(option.get("aliases") or []):
            yield prefix + (key,)
            yield from option_paths(option.get("suboptions") or {}, prefix + (key,))


def documented_returns(name):
    return yaml.safe_load(importlib.import_module("ansible_collections.berth.engine.plugins.modules." + name).RETURN)


def return_paths(returns, prefix=()):
    for name, value in (returns or {}).items():
        yield prefix + (name,)
        yield from return_paths(value.get("contains"), prefix + (name,))


# --- container and stack --------------------------------------------------------------------------


def test_neither_module_keeps_its_own_copy_of_the_container_options():
    assert "options" not in raw_documentation("container")
    assert "berth.engine.container_options" in raw_documentation("container")["extends_documentation_fragment"]
    stack = raw_documentation("stack")
    assert "berth.engine.container_options.stack_entry" in stack["extends_documentation_fragment"]
    # A suboptions key here would replace the fragment's entries wholesale (ansible-core merges one level deep).
    assert "suboptions" not in stack["options"]["containers"]


def test_the_container_option_text_is_written_once_in_the_repository():
    plugins = Path(__file__).resolve().parents[2] / "plugins"
    sources = {path: path.read_text() for path in plugins.rglob("*.py")}
    for path, lines in descriptions(own_options("container")):
        opening = lines[0][:60]
        holders = [str(p.relative_to(plugins)) for p, text in sources.items() if opening in text]
        copies = [h for h in holders if h.startswith(("doc_fragments/", "module_utils/")) or h in (
            "modules/container.py", "modules/stack.py")]
        assert copies == ["module_utils/container_options.py"], "%s: %r is in %s" % (".".join(path), opening, copies)


def test_every_container_option_is_a_stack_entry_option_with_the_same_spec_and_text():
    container = own_options("container")
    entries = stack_entry_options()
    assert set(entries) == set(container) | {"depends_on"}
    for name, option in container.items():
        entry = entries[name]
        for key in SPEC_KEYS:
            assert entry.get(key) == option.get(key), "%s: %s differs between container and stack" % (name, key)
        assert as_container_text(repr(entry)) == repr(option), "%s is worded differently in the stack" % name


def test_both_documentations_match_the_argument_specs():
    assert compare(CONTAINER_SPEC, own_options("container"), "container") == []
    assert compare(CONTAINER_ENTRY_SPEC, stack_entry_options(), "stack.containers") == []
    assert set(CONTAINER_ENTRY_SPEC) - set(CONTAINER_SPEC) == {"depends_on"}


@pytest.mark.parametrize("name", ["container", "stack", "secret", "config"])
def test_every_reference_in_the_option_docs_names_an_option_of_that_module(name):
    doc = module_documentation(name)
    options = {".".join(path) for path in option_paths(doc["options"])}
    returns = {".".join(path) for path in return_paths(documented_returns(name))}
    wrong = []
    for path, lines in descriptions(doc["options"]):
        for kind, target in REFERENCE.findall(" ".join(str(line) for line in lines)):
            known = options if kind == "O" else returns
            if target.replace("[]", "") not in known:
                wrong.append("%s: %s(%s)" % (".".join(path), kind, target))
    assert wrong == []


def test_stack_entry_references_point_into_the_stack_or_at_the_container_module():
    text = repr(stack_entry_options())
    assert "O(containers[].cpus)" in text and "Not with O(cpus)" not in text
    assert "RV(berth.engine.container#module:logs)" in text


# --- secret and config ----------------------------------------------------------------------------


def kind_neutral(option):
    """The option's documentation with the words that name the kind (secret/config, value/content) masked."""
    text = re.sub(r"\b(secret|config)\b", "KIND", repr(option))
    return re.sub(r"\b(the|The|'s) (value|content)\b", r"\1 VALUE", text)


def test_secret_and_config_share_their_options_word_for_word_but_for_the_kind():
    secret, config = own_options("secret"), own_options("config")
    assert set(secret) - {"hash_key"} == set(config) - {"template_driver"}
    for name, option in config.items():
        if name == "template_driver":  # what only one kind has stays in its module
            continue
        assert kind_neutral(secret[name]) == kind_neutral(option), name
    assert "The secret's value." in repr(secret["content"]) and "The config's content." in repr(config["content"])


@pytest.mark.parametrize("kind", ["secret", "config"])
def test_secret_and_config_documentation_match_their_argument_spec(kind):
    assert compare(argument_spec(kind), own_options(kind), kind) == []
    own = {"hash_key", "template_driver"}  # what only one kind has stays in its module
    assert "options" not in raw_documentation(kind) or set(raw_documentation(kind)["options"]) <= own


def test_generated_fragments_are_current():
    """The written-out fragment texts are what tests/support/doc_fragments_gen.py makes of their sources."""
    from tests.support.doc_fragments_gen import expected, written

    stale = [name for name, text in expected().items() if written(*name) != text]
    assert not stale, "stale doc fragments %s: run python -m tests.support.doc_fragments_gen --write" % stale
