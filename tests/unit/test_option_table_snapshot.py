"""The argument specs users write against, compared with snapshots taken before the option table served the
service too (issue 22): a difference is deliberate only when the snapshot is updated with it.

The snapshots are the specs as Ansible receives them (tests/unit/fixtures/*_argument_spec.json); to take a
deliberate change, update the fixture and say why in the commit.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.berth.engine.plugins.module_utils import container_options, service_plan

FIXTURES = Path(__file__).parent / "fixtures"


def _plain(spec):
    """The spec as JSON holds it (tuples become lists), so it compares with the snapshot."""
    return json.loads(json.dumps(spec, sort_keys=True))


@pytest.mark.parametrize("name, spec", [
    ("service", service_plan.ARGUMENT_SPEC),
    ("container", container_options.ARGUMENT_SPEC),
])
def test_argument_spec_matches_snapshot(name, spec):
    snapshot = json.loads((FIXTURES / ("%s_argument_spec.json" % name)).read_text())
    actual = _plain(spec)
    assert sorted(actual) == sorted(snapshot), "options added or removed"
    for option in snapshot:
        assert actual[option] == snapshot[option], option
