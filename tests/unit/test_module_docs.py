"""DOCUMENTATION, EXAMPLES and RETURN of the modules agree with their argument specs (no daemon).

The check ansible-test's validate-modules would make, kept small: every option documented with the
spec's type, required, default, choices, elements, aliases and suboptions (and nothing else), the
shared connection options documented by the doc fragment, and examples using only real options.
The modules are read from plugins/modules, so a new one cannot be left out, and README must list each.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.engine.plugins.module_utils.common import CONNECTION_ARGS
from tests.support.docs import module_documentation

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
SUPPORT = {"full", "partial", "none"}


def connection_args(doc):
    """The shared engine connection options, for modules that take them (the engine doc fragment)."""
    return CONNECTION_ARGS if "berth.engine.engine" in (doc.get("extends_documentation_fragment") or []) else {}


def load(name):
    module = importlib.import_module("ansible_collections.berth.engine.plugins.modules.%s" % name)
    return module, yaml.safe_load(module.DOCUMENTATION)


def compare(spec, docs, where):
    problems = []
    if set(spec) != set(docs):
        problems.append("%s: only in spec %s, only in docs %s" % (
            where, sorted(set(spec) - set(docs)), sorted(set(docs) - set(spec))))
    for name in sorted(set(spec) & set(docs)):
        s, d = spec[name], docs[name] or {}
        here = "%s.%s" % (where, name)
        if not d.get("description"):
            problems.append("%s: no description" % here)
        checks = {
            "type": (s.get("type", "str"), d.get("type", "str")),
            "required": (bool(s.get("required")), bool(d.get("required"))),
            "default": (s.get("default"), d.get("default")),
            "choices": (s.get("choices"), d.get("choices")),
            "elements": (s.get("elements"), d.get("elements")),
            "aliases": (sorted(s.get("aliases") or []), sorted(d.get("aliases") or [])),
        }
        for key, (in_spec, in_docs) in checks.items():
            if in_spec != in_docs:
                problems.append("%s: %s is %r in the spec but %r in the docs" % (here, key, in_spec, in_docs))
        if s.get("options") or d.get("suboptions"):
            problems.extend(compare(s.get("options") or {}, d.get("suboptions") or {}, here))
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_argument_spec(name):
    module, doc = load(name)
    assert doc["module"] == name
    merged = module_documentation(name)  # with its doc fragments merged in, as ansible-doc does
    for attribute in ("check_mode", "diff_mode"):
        assert merged["attributes"][attribute]["support"] in SUPPORT, (name, attribute)
    if merged["attributes"]["check_mode"]["support"] != "full":
        assert merged["attributes"]["check_mode"].get("details"), "%s: say what check mode does" % name
    spec = dict(module.ARGUMENT_SPEC, **connection_args(doc))
    assert compare(spec, merged["options"], name) == []


@pytest.mark.parametrize("name", MODULES)
def test_examples_and_return_parse_and_use_real_options(name):
    module, doc = load(name)
    assert isinstance(yaml.safe_load(module.RETURN), dict)
    valid = set()
    for option, spec in dict(module.ARGUMENT_SPEC, **connection_args(doc)).items():
        valid.add(option)
        valid.update(spec.get("aliases") or [])
    used = 0
    for task in yaml.safe_load(module.EXAMPLES):
        args = task.get("berth.engine.%s" % name)
        if args is None and "berth.engine.%s" % name in task:
            args = {}
        if args is None:
            continue
        used += 1
        assert set(args) <= valid, "example %r uses unknown options %s" % (task["name"], set(args) - valid)
    assert used, "no example uses berth.engine.%s" % name


def test_every_module_is_tested_and_listed_in_readme():
    assert {"container", "stack", "image", "engine_info", "prune", "login"} <= set(MODULES)
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("## Modules", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`berth\.engine\.([a-z_]+)`", table))
    assert listed == set(MODULES), "README's module table: missing %s, unknown %s" % (
        sorted(set(MODULES) - listed), sorted(listed - set(MODULES)))
