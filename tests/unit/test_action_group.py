"""meta/runtime.yml's action group `docker` holds exactly the modules that speak to the engine (no daemon).

A module speaks to the engine when its argument spec has docker_host. The spec is the one the module
really builds: main() runs with AnsibleModule stopped at its constructor, the way ansible-test's
validate-modules reads argument specs.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from ansible.module_utils import basic

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "plugins" / "modules"
# Names listed in the group before their module exists (ansible-core skips names that resolve to no
# module). Remove a name here once its module lands: from then on its argument spec decides.
PLANNED: set[str] = set()


class _SpecCaptured(Exception):
    def __init__(self, argument_spec):
        super().__init__("argument spec captured")
        self.argument_spec = argument_spec


def argument_spec(name, monkeypatch):
    """The argument spec module `name` passes to AnsibleModule when it runs."""
    def stop(self, argument_spec=None, *args, **kwargs):
        raise _SpecCaptured(argument_spec or {})

    monkeypatch.setattr(basic.AnsibleModule, "__init__", stop)
    monkeypatch.setattr(basic, "_load_params", lambda: {})
    module = importlib.import_module("ansible_collections.berth.engine.plugins.modules.%s" % name)
    with pytest.raises(_SpecCaptured) as captured:
        module.main()
    return captured.value.argument_spec


def module_names():
    return sorted(p.stem for p in MODULES_DIR.glob("*.py") if p.stem != "__init__")


def docker_group():
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())
    return runtime["action_groups"]["docker"]


@pytest.mark.parametrize("name", module_names())
def test_module_is_in_the_group_exactly_when_it_speaks_to_the_engine(name, monkeypatch):
    speaks_to_engine = "docker_host" in argument_spec(name, monkeypatch)
    in_group = name in docker_group()
    assert speaks_to_engine == in_group, (
        "%s: docker_host in its argument spec is %s but its membership of group/berth.engine.docker is %s; "
        "list it in (or drop it from) meta/runtime.yml action_groups.docker" % (name, speaks_to_engine, in_group))


def test_engine_fragment_documents_the_group():
    """Modules document their membership through the engine doc fragment, with the standard attributes."""
    from ansible_collections.berth.engine.plugins.doc_fragments import attributes, engine

    documented = yaml.safe_load(engine.ModuleDocFragment.DOCUMENTATION)["attributes"]
    standard = yaml.safe_load(attributes.ModuleDocFragment.DOCUMENTATION)["attributes"]
    assert documented["action_group"]["membership"] == ["berth.engine.docker"]
    assert "docker" in yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())["action_groups"]
    for name in ("check_mode", "diff_mode"):
        assert documented[name] == standard[name], "engine_client.py and attributes.py describe %s differently" % name


def test_group_names_are_modules_or_announced():
    group = docker_group()
    assert len(group) == len(set(group)), "meta/runtime.yml lists a module twice in action_groups.docker"
    unknown = set(group) - set(module_names()) - PLANNED
    assert not unknown, "action_groups.docker lists %s, which is neither a module nor planned" % sorted(unknown)
    landed = PLANNED & set(module_names())
    assert not landed, "%s exist now: remove them from PLANNED in this test" % sorted(landed)
    assert all(isinstance(entry, str) and "." not in entry for entry in group), "use short module names"
